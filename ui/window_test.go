package ui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

func TestWindowTitlePanelsAndSize(t *testing.T) {
	fc := newFake()
	fc.addAccount(Account{Name: "work", State: AccountHealthy, Enabled: true, Usable: true})
	u, _ := newTestUI(t, fc, Options{})
	if u.Window().Title() != "Gemini Gateway" {
		t.Errorf("title = %q", u.Window().Title())
	}
	if u.names[u.tabs.SelectedIndex()] != PanelOverview {
		t.Errorf("with accounts the first panel is %q", u.names[u.tabs.SelectedIndex()])
	}
	for _, name := range []string{PanelAccounts, PanelHealth, PanelChat, PanelSettings, PanelLogs, PanelOverview} {
		u.SelectPanel(name)
		if got := u.names[u.tabs.SelectedIndex()]; got != name {
			t.Errorf("SelectPanel(%q) shows %q", name, got)
		}
	}
	u.SelectPanel("nope")
	if u.names[u.tabs.SelectedIndex()] != PanelOverview {
		t.Error("an unknown panel name changed the selection")
	}

	u.Window().Resize(fyne.NewSize(1200, 800))
	u.Close()
	prefs := fyne.CurrentApp().Preferences()
	if prefs.Float(prefWidth) != 1200 || prefs.Float(prefHeight) != 800 {
		t.Errorf("saved size %vx%v", prefs.Float(prefWidth), prefs.Float(prefHeight))
	}
	if fc.subscribers() != 0 {
		t.Error("Close did not cancel the subscription")
	}

	// A new UI on the same app restores it.
	u2 := newUI(fyne.CurrentApp(), fc, newClock().env(), Options{})
	defer u2.Close()
	if s := u2.Window().Canvas().Size(); s.Width != 1200 || s.Height != 800 {
		t.Errorf("restored size %v", s)
	}
}

func TestDefaultWindowSize(t *testing.T) {
	test.NewTempApp(t)
	u := newUI(fyne.CurrentApp(), newFake(), newClock().env(), Options{})
	defer u.Close()
	if s := u.Window().Canvas().Size(); s != defaultSize() {
		t.Errorf("size = %v", s)
	}
}

func TestEventsAfterCloseAreIgnored(t *testing.T) {
	fc := newFake()
	u, _ := newTestUI(t, fc, Options{StartPanel: PanelLogs})
	sub := fc.subs
	var deliver func(Event)
	for _, f := range sub {
		deliver = f
	}
	u.Close()
	deliver(Event{Kind: EventRequest, Request: &RequestRow{ID: "late"}})
	if len(u.logs.rows) != 0 {
		t.Error("an event after Close reached a panel")
	}
}

func TestToastClearsItself(t *testing.T) {
	fc := newFake()
	u, clock := newTestUI(t, fc, Options{})
	u.toast("Copied")
	if u.status.Text != "Copied" {
		t.Fatal("no toast")
	}
	clock.advance(5 * time.Second)
	if u.status.Text != "" {
		t.Errorf("toast stayed: %q", u.status.Text)
	}
}

func TestNotifications(t *testing.T) {
	fc := newFake()
	work := fc.addAccount(Account{Name: "work", Enabled: true, Usable: true, State: AccountHealthy})
	home := fc.addAccount(Account{Name: "home", Enabled: true, Usable: true, State: AccountHealthy})
	u, clock := newTestUI(t, fc, Options{Notify: true})
	_ = u

	// One account expires: one notification, once events settle.
	test.AssertNotificationSent(t, &fyne.Notification{Title: "Gemini account needs attention", Content: `"work" is expired: cookie rejected.`}, func() {
		fc.mutate(work.ID, func(a *Account) { a.State, a.Usable, a.Reason = AccountExpired, false, "cookie rejected" })
		fc.publish(Event{Kind: EventAccounts})
		fc.publish(Event{Kind: EventAccounts})
		clock.advance(2 * time.Second)
	})
	// Nothing new: nothing sent.
	test.AssertNotificationSent(t, nil, func() {
		fc.publish(Event{Kind: EventAccounts})
		clock.advance(2 * time.Second)
	})
	// The last usable one is disabled by the program.
	test.AssertNotificationSent(t, &fyne.Notification{Title: "No usable Gemini account", Content: `The gateway cannot answer requests until an account works again. "home" was disabled: banned.`}, func() {
		fc.mutate(home.ID, func(a *Account) { a.Enabled, a.Usable, a.Reason = false, false, "banned" })
		fc.publish(Event{Kind: EventAccounts})
		clock.advance(2 * time.Second)
	})
}

func TestNoNotificationForTheUsersOwnToggle(t *testing.T) {
	fc := newFake()
	fc.addAccount(Account{Name: "work", Enabled: true, Usable: true, State: AccountHealthy})
	fc.addAccount(Account{Name: "home", Enabled: true, Usable: true, State: AccountHealthy})
	u, clock := newTestUI(t, fc, Options{Notify: true, StartPanel: PanelAccounts})
	test.AssertNotificationSent(t, nil, func() {
		tapCheck(accountRows(u.accounts)["work"].enabled)
		fc.mutate(1, func(a *Account) { a.Usable = false })
		fc.publish(Event{Kind: EventAccounts})
		clock.advance(2 * time.Second)
	})
}

func TestNotifyOff(t *testing.T) {
	fc := newFake()
	a := fc.addAccount(Account{Name: "work", Enabled: true, Usable: true, State: AccountHealthy})
	_, clock := newTestUI(t, fc, Options{Notify: false})
	test.AssertNotificationSent(t, nil, func() {
		fc.mutate(a.ID, func(a *Account) { a.State, a.Usable = AccountBanned, false })
		fc.publish(Event{Kind: EventAccounts})
		clock.advance(2 * time.Second)
	})
}

// The window opens at its default size on a first run: no panel asks for
// more, even with every model the gateway lists in the Clients panel's
// picker (a horizontal check group once made the window 1768 px wide).
func TestEveryPanelFitsTheDefaultSize(t *testing.T) {
	fc := newFakeClients()
	fc.models = []string{
		"gemini-auto", "gemini-2.5-flash", "gemini-2.5-pro", "gemini-3-pro-preview",
		"gemini-3-flash-preview", "gemini-2.5-flash-lite", "gemini-imagen", "gemini-veo",
		"gemini-2.5-flash-image", "gemini-2.5-pro-search", "gemini-3-pro-image-preview", "gemini-deep-research",
	}
	test.NewTempApp(t)
	u := newUI(fyne.CurrentApp(), fc, newClock().env(), Options{})
	defer u.Close()
	if u.clients == nil {
		t.Fatal("no Clients panel")
	}
	max := defaultSize()
	for i, it := range u.tabs.Items {
		if w := it.Content.MinSize().Width; w > max.Width-150 {
			t.Errorf("panel %s asks for %.0f px, more than the window's %.0f less the tab bar", u.names[i], w, max.Width)
		}
	}
	if s := u.Window().Canvas().Size(); s != max {
		t.Errorf("first-run window size = %v, want %v", s, max)
	}
}
