package ui

import (
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
)

// TrayActions are what the tray menu's items do. The UI fills them in
// (see UI.TrayMenu); they run on the Fyne goroutine, as Fyne calls tray
// actions there.
type TrayActions struct {
	StartStop   func()
	CopyBaseURL func()
	CopyKey     func()
	// Toggle enables (on) or disables an account.
	Toggle func(id int64, on bool)
	// SignIn starts the browser sign-in of an account that needs it.
	SignIn   func(id int64)
	CheckAll func()
	Open     func()
	Quit     func()
}

// TrayMenu builds the tray menu for a state. It is a pure function of its
// arguments (now is taken from time.Now only for cooldown labels, see
// trayMenuAt) so the menu can be tested without a tray.
//
// Over D-Bus (StatusNotifierItem menus) an unchecked item loses its
// checkbox look, so every account label also says its state in words.
func TrayMenu(st Status, accounts []Account, act TrayActions) *fyne.Menu {
	return trayMenuAt(st, accounts, act, time.Now())
}

func trayMenuAt(st Status, accounts []Account, act TrayActions, now time.Time) *fyne.Menu {
	head := fyne.NewMenuItem(trayHeadline(st), nil)
	head.Disabled = true

	startStop := "Start gateway"
	if st.Running {
		startStop = "Stop gateway"
	}
	items := []*fyne.MenuItem{
		head,
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem(startStop, act.StartStop),
		fyne.NewMenuItem("Copy base URL", act.CopyBaseURL),
		fyne.NewMenuItem("Copy API key", act.CopyKey),
		fyne.NewMenuItemSeparator(),
	}
	if len(accounts) == 0 {
		none := fyne.NewMenuItem("No accounts yet — open the window to add one", nil)
		none.Disabled = true
		items = append(items, none)
	}
	for _, a := range accounts {
		it := fyne.NewMenuItem(trayAccountLabel(a, now), nil)
		it.Checked = a.Enabled
		if a.ReadOnly {
			// The environment account cannot be switched from here; the
			// item still shows its state.
			it.Disabled = true
		} else if act.Toggle != nil {
			id, on := a.ID, !a.Enabled
			it.Action = func() { act.Toggle(id, on) }
		}
		items = append(items, it)
	}
	for _, a := range accounts {
		if !a.NeedsSignIn() || a.ReadOnly {
			continue
		}
		it := fyne.NewMenuItem("Sign in again — "+a.Name+"…", nil)
		if act.SignIn != nil {
			id := a.ID
			it.Action = func() { act.SignIn(id) }
		}
		items = append(items, it)
	}
	quit := fyne.NewMenuItem("Quit", act.Quit)
	quit.IsQuit = true
	items = append(items,
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Check health now", act.CheckAll),
		fyne.NewMenuItem("Open window", act.Open),
		fyne.NewMenuItemSeparator(),
		quit,
	)
	return fyne.NewMenu("Gemini Gateway", items...)
}

// trayHeadline is the menu's first, disabled line.
func trayHeadline(st Status) string {
	if !st.Running {
		if st.PortInUse {
			return "Stopped — port in use"
		}
		return "Stopped"
	}
	line := "Serving on " + st.Addr
	switch st.State {
	case StateDegraded:
		line += fmt.Sprintf(" — %d of %d accounts usable", st.Usable, st.Total)
	case StateNoUsable:
		line += " — no usable account"
	}
	return line
}

// trayAccountLabel is "name — state", with the cooldown left when cooling.
func trayAccountLabel(a Account, now time.Time) string {
	state := stateLabel(a)
	if a.Enabled && cooling(a, now) {
		state = "cooling down " + coarseCountdown(a.CooldownUntil.Sub(now))
	}
	if life := lifeLabel(a, now); life != "" && !a.NeedsSignIn() {
		state += ", " + life
	}
	if a.ReadOnly {
		state += " (from environment)"
	}
	return a.Name + " — " + state
}

// menuSignature captures what a rendered tray menu shows, so the UI
// rebuilds the real tray (a full D-Bus menu reset) only when it would look
// different.
func menuSignature(m *fyne.Menu) string {
	var b strings.Builder
	for _, it := range m.Items {
		if it.IsSeparator {
			b.WriteString("---\n")
			continue
		}
		fmt.Fprintf(&b, "%s|%t|%t\n", it.Label, it.Checked, it.Disabled)
	}
	return b.String()
}
