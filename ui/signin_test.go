package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

func TestLifeLabel(t *testing.T) {
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		a    Account
		want string
	}{
		{Account{}, ""},
		{Account{State: AccountNeedsSignIn, ExpiresAt: now.Add(time.Hour)}, "needs sign-in"},
		{Account{ExpiresAt: now.Add(9*time.Hour + 20*time.Minute), LastRefreshAt: now.Add(-12 * time.Minute)}, "expires in 9 h · refreshed 12 min ago"},
		{Account{ExpiresAt: now.Add(45 * time.Minute), LastSignInAt: now.Add(-23 * time.Hour)}, "expires in 45 min · signed in 23 h ago"},
		{Account{ExpiresAt: now.Add(-time.Minute)}, "sign-in expired"},
		{Account{ExpiresAt: now.Add(72 * time.Hour)}, "expires in 3 days"},
	}
	for _, c := range cases {
		if got := lifeLabel(c.a, now); got != c.want {
			t.Errorf("lifeLabel(%+v) = %q, want %q", c.a, got, c.want)
		}
	}
}

// Add account offers the browser sign-in first; it asks the controller to
// sign in a new account with the name typed.
func TestAddAccountSignsInWithTheBrowser(t *testing.T) {
	fc := newFake()
	fc.addAccount(Account{Name: "work", State: AccountHealthy, Enabled: true, Usable: true})
	u, _ := newTestUI(t, fc, Options{StartPanel: PanelAccounts})
	p := u.accounts
	test.Tap(p.addBtn)
	if p.chooser == nil {
		t.Fatal("Add account opened no choice")
	}
	var order []string
	for _, b := range find[*widget.Button](overlay(t, u.Window())) {
		order = append(order, b.Text)
	}
	if len(order) < 2 || order[0] != "Sign in with browser" {
		t.Fatalf("the first choice is not the browser sign-in: %q", order)
	}
	test.Type(p.chooser.name, "personal")
	test.Tap(p.chooser.browser)
	if len(fc.signIns) != 1 || fc.signIns[0] != (signInCall{id: 0, name: "personal"}) {
		t.Fatalf("SignIn calls %+v", fc.signIns)
	}
	if _, ok := accountRows(p)["personal"]; !ok {
		t.Fatal("the signed-in account is not listed")
	}
	if !strings.Contains(u.status.Text, "Signed in: personal") {
		t.Fatalf("status %q", u.status.Text)
	}
}

// No browser: the message says so and the manual paste is one click away.
func TestNoBrowserOffersThePaste(t *testing.T) {
	fc := newFake()
	fc.signInErr = fmt.Errorf("%w: no Chrome, Edge, Chromium or Brave browser was found", ErrNoBrowser)
	u, _ := newTestUI(t, fc, Options{StartPanel: PanelAccounts})
	p := u.accounts
	test.Tap(p.addBtn)
	test.Tap(p.chooser.browser)
	if p.noBrowserPaste == nil {
		t.Fatal("no message with the manual paste")
	}
	if !hasLabel(overlay(t, u.Window()), "no Chrome, Edge, Chromium or Brave") {
		t.Fatalf("the message does not say what is missing: %q", labels(overlay(t, u.Window())))
	}
	test.Tap(p.noBrowserPaste)
	if p.form == nil {
		t.Fatal("Paste cookies did not open the form")
	}
}

// An account whose sign-in is over says so in the list, the health table
// and the tray; the tray item and the row button start the sign-in; the
// person is notified once.
func TestNeedsSignInIsVisibleAndOneClickAway(t *testing.T) {
	fc := newFake()
	work := fc.addAccount(Account{Name: "work", Enabled: true, Usable: true, State: AccountHealthy})
	fc.addAccount(Account{Name: "home", Enabled: true, Usable: true, State: AccountHealthy})
	u, clock := newTestUI(t, fc, Options{Notify: true, StartPanel: PanelAccounts})
	now := clock.now
	fc.mutate(work.ID, func(a *Account) {
		a.ExpiresAt, a.LastRefreshAt = now.Add(9*time.Hour), now.Add(-12*time.Minute)
	})
	fc.publish(Event{Kind: EventAccounts})
	row := accountRows(u.accounts)["work"]
	if !strings.Contains(row.detail.Text, "expires in 9 h · refreshed 12 min ago") {
		t.Fatalf("row detail %q", row.detail.Text)
	}
	if got := trayAccountLabel(fc.Accounts()[0], now); got != "work — healthy, expires in 9 h · refreshed 12 min ago" {
		t.Fatalf("tray label %q", got)
	}
	if got := u.health.cell(0, hState); got != "healthy · expires in 9 h · refreshed 12 min ago" {
		t.Fatalf("health state %q", got)
	}
	// The Health table's State column is wide enough to read it whole.
	if need := widget.NewLabel(u.health.cell(0, hState)).MinSize().Width; u.health.widths[hState] < need {
		t.Fatalf("State column %v wide, its text needs %v", u.health.widths[hState], need)
	}

	test.AssertNotificationSent(t, &fyne.Notification{Title: "Gemini account needs attention",
		Content: `"work" needs you to sign in again: use "Sign in again — work" in the tray or the Accounts panel.`}, func() {
		fc.mutate(work.ID, func(a *Account) { a.State, a.Usable = AccountNeedsSignIn, false })
		fc.publish(Event{Kind: EventAccounts})
		fc.publish(Event{Kind: EventAccounts})
		clock.advance(2 * time.Second)
	})
	row = accountRows(u.accounts)["work"]
	if !strings.Contains(row.detail.Text, "needs sign-in") || row.badge.Text != "needs sign-in" || row.badge.Kind != kindBad {
		t.Fatalf("row: badge %q, detail %q", row.badge.Text, row.detail.Text)
	}

	var asked []int64
	m := TrayMenu(fc.Status(), fc.Accounts(), TrayActions{SignIn: func(id int64) { asked = append(asked, id) }})
	item := itemsByLabel(m)["Sign in again — work…"]
	if item == nil {
		t.Fatalf("no tray item to sign in again; items %v", itemsByLabel(m))
	}
	item.Action()
	if len(asked) != 1 || asked[0] != work.ID {
		t.Fatalf("tray sign-in asked for %v", asked)
	}

	test.Tap(row.signIn)
	if len(fc.signIns) != 1 || fc.signIns[0].id != work.ID {
		t.Fatalf("Sign in again called %+v", fc.signIns)
	}
	if d := accountRows(u.accounts)["work"].detail.Text; strings.Contains(d, "needs sign-in") {
		t.Fatalf("the row still says %q after signing in again", d)
	}
}

// The person hears once, ahead of time, that a sign-in is about to expire.
func TestExpiryNoticeAhead(t *testing.T) {
	fc := newFake()
	fc.status.ExpiryNotice = time.Hour
	work := fc.addAccount(Account{Name: "work", Enabled: true, Usable: true, State: AccountHealthy})
	u, clock := newTestUI(t, fc, Options{Notify: true})
	_ = u
	fc.mutate(work.ID, func(a *Account) { a.ExpiresAt = clock.now.Add(90 * time.Minute) })
	test.AssertNotificationSent(t, nil, func() { clock.advance(time.Minute) })
	test.AssertNotificationSent(t, &fyne.Notification{Title: "Gemini account expires soon",
		Content: `"work": the sign-in expires in 1 h. Sign in again from the tray or the Accounts panel to keep it working.`}, func() {
		clock.advance(31 * time.Minute)
	})
	test.AssertNotificationSent(t, nil, func() { clock.advance(10 * time.Minute) })
}
