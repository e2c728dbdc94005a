package ui

import (
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
)

// notifyDelay is how long account events must be quiet before the
// notifier compares states: a health round changes many accounts in quick
// succession and should produce one look, not one per event.
const notifyDelay = 1500 * time.Millisecond

// notifier sends OS notifications when an account stops working (disabled
// by the program, expired, banned) and when no usable account is left. It
// compares snapshots of Accounts() taken after EventAccounts settle.
type notifier struct {
	sh      *shell
	enabled bool
	prev    map[int64]Account
	usable  int
	pending func() // stops the scheduled comparison, nil when none
	// userToggled are accounts the user switched in this window; switching
	// one off by hand is not news.
	userToggled map[int64]time.Time
	// warned holds the expiry each account was last warned about, so one
	// sign-in is announced once.
	warned map[int64]time.Time
}

func newNotifier(sh *shell, enabled bool) *notifier {
	n := &notifier{sh: sh, enabled: enabled, userToggled: map[int64]time.Time{}, warned: map[int64]time.Time{}}
	n.prev, n.usable = snapshot(sh.c.Accounts())
	return n
}

func snapshot(accts []Account) (map[int64]Account, int) {
	m := make(map[int64]Account, len(accts))
	usable := 0
	for _, a := range accts {
		m[a.ID] = a
		if a.Usable {
			usable++
		}
	}
	return m, usable
}

// toggledByUser records that the user switched id so that the change is
// not announced back to them.
func (n *notifier) toggledByUser(id int64) {
	n.userToggled[id] = n.sh.env.now()
}

// accountsChanged schedules a comparison once events have been quiet for
// notifyDelay.
func (n *notifier) accountsChanged() {
	if n.pending != nil {
		n.pending()
	}
	n.pending = n.sh.env.after(notifyDelay, func() {
		n.pending = nil
		n.compare()
	})
}

// compare announces what got worse since the last snapshot.
func (n *notifier) compare() {
	now, usable := snapshot(n.sh.c.Accounts())
	var lines []string
	for id, a := range now {
		before, ok := n.prev[id]
		if !ok {
			continue
		}
		if t, ok := n.userToggled[id]; ok && n.sh.env.now().Sub(t) < time.Minute {
			continue
		}
		if msg := worsened(before, a); msg != "" {
			lines = append(lines, msg)
		}
	}
	for id, t := range n.userToggled {
		if n.sh.env.now().Sub(t) >= time.Minute {
			delete(n.userToggled, id)
		}
	}
	wasUsable := n.usable
	n.prev, n.usable = now, usable
	if !n.enabled {
		return
	}
	if wasUsable > 0 && usable == 0 && len(now) > 0 {
		n.send("No usable Gemini account", "The gateway cannot answer requests until an account works again. "+strings.Join(lines, " "))
		return
	}
	switch len(lines) {
	case 0:
	case 1:
		n.send("Gemini account needs attention", lines[0])
	default:
		n.send(fmt.Sprintf("%d Gemini accounts need attention", len(lines)), strings.Join(lines, " "))
	}
}

// worsened says, in one sentence, how an account went from working to not
// (or "" if it did not).
func worsened(before, after Account) string {
	reason := ""
	if after.Reason != "" {
		reason = ": " + after.Reason
	}
	if before.Enabled && !after.Enabled {
		return fmt.Sprintf("%q was disabled%s.", after.Name, reason)
	}
	if after.NeedsSignIn() && !before.NeedsSignIn() {
		return fmt.Sprintf("%q needs you to sign in again: use \"Sign in again — %s\" in the tray or the Accounts panel.", after.Name, after.Name)
	}
	switch after.State {
	case AccountExpired, AccountBanned:
		if before.State != after.State {
			return fmt.Sprintf("%q is %s%s.", after.Name, after.State.Label(), reason)
		}
	}
	return ""
}

func (n *notifier) send(title, content string) {
	n.sh.app.SendNotification(fyne.NewNotification(title, content))
}

// stop cancels a scheduled comparison.
func (n *notifier) stop() {
	if n.pending != nil {
		n.pending()
		n.pending = nil
	}
}
