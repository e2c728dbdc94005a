package ui

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Errors a Controller's SignIn wraps so the UI can answer in kind.
var (
	// ErrNoBrowser: no Chrome, Edge, Chromium or Brave is installed.
	ErrNoBrowser = errors.New("no supported browser was found")
	// ErrSignInCancelled: the person closed the browser window.
	ErrSignInCancelled = errors.New("sign-in cancelled")
)

// lifeLabel says how long an account's sign-in has left and when it was
// last refreshed: "needs sign-in", "expires in 9 h · refreshed 12 min ago".
// It is "" for an account with no known lifecycle (cookies pasted before
// expiry was tracked).
func lifeLabel(a Account, now time.Time) string {
	if a.NeedsSignIn() {
		return "needs sign-in"
	}
	var parts []string
	if !a.ExpiresAt.IsZero() {
		if d := a.ExpiresAt.Sub(now); d > 0 {
			parts = append(parts, "expires in "+roughDuration(d))
		} else {
			parts = append(parts, "sign-in expired")
		}
	}
	if !a.LastRefreshAt.IsZero() {
		parts = append(parts, "refreshed "+ago(now, a.LastRefreshAt))
	} else if !a.LastSignInAt.IsZero() {
		parts = append(parts, "signed in "+ago(now, a.LastSignInAt))
	}
	return strings.Join(parts, " · ")
}

// roughDuration is a remaining time in one unit: "45 min", "9 h", "2 days".
func roughDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "under a minute"
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(math.Ceil(d.Minutes())))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d/time.Hour))
	default:
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	}
}

// openAddChoice is Add account: signing in with the browser first, pasting
// cookies by hand second.
func (p *accountsPanel) openAddChoice() {
	if p.blockedBySecrets() {
		return
	}
	name := widget.NewEntry()
	name.SetPlaceHolder("Name, e.g. work")
	var d dialog.Dialog
	browser := widget.NewButtonWithIcon("Sign in with browser", theme.LoginIcon(), func() {
		d.Hide()
		p.signIn(0, strings.TrimSpace(name.Text))
	})
	browser.Importance = widget.HighImportance
	paste := widget.NewButtonWithIcon("Paste cookies…", theme.ContentPasteIcon(), func() {
		d.Hide()
		p.openAdd()
	})
	note := widget.NewLabel("Your browser opens on a profile of its own for this account. Sign in as usual; the window closes by itself when you are in.")
	note.Wrapping = fyne.TextWrapWord
	body := container.NewVBox(name, browser, note, widget.NewSeparator(), paste)
	d = dialog.NewCustom("Add account", "Close", container.NewPadded(body), p.sh.win)
	d.Resize(fyne.NewSize(460, 300))
	p.chooser = &addChooser{name: name, browser: browser, paste: paste, d: d}
	d.Show()
}

// addChooser is the open Add account dialog (kept for tests).
type addChooser struct {
	name           *widget.Entry
	browser, paste *widget.Button
	d              dialog.Dialog
}

// signIn runs the browser sign-in for account id (0: a new account called
// name) in the background, with a dialog that says what is happening.
func (p *accountsPanel) signIn(id int64, name string) {
	if p.signingIn {
		p.sh.toast("A browser sign-in is already open")
		return
	}
	p.signingIn = true
	ctx, cancel := context.WithCancel(p.ctx)
	wait := dialog.NewCustom("Sign in with browser", "Cancel",
		widget.NewLabel("Sign in to Gemini Business in the browser window.\nIt closes by itself once you are signed in."), p.sh.win)
	wait.SetOnClosed(cancel)
	wait.Show()
	p.sh.env.async(func() {
		a, err := p.sh.c.SignIn(ctx, id, name)
		p.sh.env.dispatch(func() {
			p.signingIn = false
			wait.Hide()
			cancel()
			p.reload()
			switch {
			case err == nil:
				p.sh.toast("Signed in: " + a.Name)
			case errors.Is(err, ErrSignInCancelled), errors.Is(err, context.Canceled):
				p.sh.toast("Sign-in cancelled")
			case errors.Is(err, ErrNoBrowser):
				p.noBrowser(err)
			default:
				p.sh.showError(err)
			}
		})
	})
}

// noBrowser explains that no browser was found, with the manual paste one
// click away.
func (p *accountsPanel) noBrowser(err error) {
	msg := widget.NewLabel(err.Error() + "\n\nYou can still add the account by pasting its cookies from any browser.")
	msg.Wrapping = fyne.TextWrapWord
	var d dialog.Dialog
	paste := widget.NewButtonWithIcon("Paste cookies…", theme.ContentPasteIcon(), func() {
		d.Hide()
		p.openAdd()
	})
	paste.Importance = widget.HighImportance
	d = dialog.NewCustom("No browser found", "Close", container.NewVBox(msg, paste), p.sh.win)
	d.Resize(fyne.NewSize(460, 220))
	p.noBrowserPaste = paste
	d.Show()
}

// expiryNotices tells the person, once per sign-in, that an account's
// sign-in runs out within the notice period.
func (n *notifier) expiryNotices() {
	notice := n.sh.c.Status().ExpiryNotice
	if !n.enabled || notice <= 0 {
		return
	}
	now := n.sh.env.now()
	for _, a := range n.sh.c.Accounts() {
		if a.NeedsSignIn() || !a.Enabled || a.ExpiresAt.IsZero() {
			continue
		}
		left := a.ExpiresAt.Sub(now)
		if left <= 0 || left > notice || n.warned[a.ID].Equal(a.ExpiresAt) {
			continue
		}
		n.warned[a.ID] = a.ExpiresAt
		what := "Sign in again from the tray or the Accounts panel to keep it working."
		if a.BrowserProfile {
			what = "The app refreshes it silently; if that fails, sign in again from the tray."
		}
		n.send("Gemini account expires soon", fmt.Sprintf("%q: the sign-in expires in %s. %s", a.Name, roughDuration(left), what))
	}
}
