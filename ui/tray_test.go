package ui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2"
)

type trayCalls struct {
	toggles  []enableCall
	quit     int
	startRun int
	checkAll int
}

func (c *trayCalls) actions() TrayActions {
	return TrayActions{
		StartStop:   func() { c.startRun++ },
		CopyBaseURL: func() {},
		CopyKey:     func() {},
		Toggle:      func(id int64, on bool) { c.toggles = append(c.toggles, enableCall{id, on}) },
		CheckAll:    func() { c.checkAll++ },
		Open:        func() {},
		Quit:        func() { c.quit++ },
	}
}

func itemsByLabel(m *fyne.Menu) map[string]*fyne.MenuItem {
	out := map[string]*fyne.MenuItem{}
	for _, it := range m.Items {
		if !it.IsSeparator {
			out[it.Label] = it
		}
	}
	return out
}

func TestTrayMenuModel(t *testing.T) {
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	st := Status{Running: true, State: StateDegraded, Addr: "127.0.0.1:7860", Usable: 2, Total: 4}
	accts := []Account{
		{ID: 1, Name: "work", Enabled: true, State: AccountCooling, CooldownUntil: now.Add(3*time.Minute + 10*time.Second)},
		{ID: 2, Name: "personal", Enabled: true, State: AccountExpired},
		{ID: 3, Name: "spare", Enabled: false, State: AccountDisabled},
		{ID: 4, Name: "env", Enabled: true, State: AccountHealthy, ReadOnly: true, Usable: true},
	}
	var calls trayCalls
	m := trayMenuAt(st, accts, calls.actions(), now)

	head := m.Items[0]
	if head.Label != "Serving on 127.0.0.1:7860 — 2 of 4 accounts usable" || !head.Disabled {
		t.Errorf("first line %q disabled=%v", head.Label, head.Disabled)
	}
	if !m.Items[1].IsSeparator {
		t.Error("no separator after the first line")
	}
	items := itemsByLabel(m)
	for _, l := range []string{"Stop gateway", "Copy base URL", "Copy API key", "Check health now", "Open window"} {
		if items[l] == nil {
			t.Errorf("missing item %q", l)
		}
	}

	type want struct {
		label    string
		checked  bool
		disabled bool
	}
	wants := []want{
		{"work — cooling down 4m", true, false},
		{"personal — expired", true, false},
		{"spare — disabled", false, false},
		{"env — healthy (from environment)", true, true},
	}
	var got []*fyne.MenuItem
	for _, it := range m.Items {
		for _, w := range wants {
			if it.Label == w.label {
				got = append(got, it)
			}
		}
	}
	if len(got) != len(wants) {
		var ls []string
		for _, it := range m.Items {
			ls = append(ls, it.Label)
		}
		t.Fatalf("account items: got %d of %d; labels %q", len(got), len(wants), ls)
	}
	for i, w := range wants {
		if got[i].Label != w.label || got[i].Checked != w.checked || got[i].Disabled != w.disabled {
			t.Errorf("item %d = %q checked=%v disabled=%v, want %+v", i, got[i].Label, got[i].Checked, got[i].Disabled, w)
		}
	}

	got[0].Action()
	got[2].Action()
	if len(calls.toggles) != 2 || calls.toggles[0] != (enableCall{1, false}) || calls.toggles[1] != (enableCall{3, true}) {
		t.Errorf("toggles = %v, want work→off, spare→on", calls.toggles)
	}
	if got[3].Action != nil {
		t.Error("the environment account has a toggle action")
	}

	last := m.Items[len(m.Items)-1]
	if last.Label != "Quit" || !last.IsQuit {
		t.Fatalf("last item %q IsQuit=%v", last.Label, last.IsQuit)
	}
	last.Action()
	if calls.quit != 1 {
		t.Error("Quit did not call act.Quit")
	}
	if !m.Items[len(m.Items)-2].IsSeparator {
		t.Error("no separator before Quit")
	}
}

func TestTrayHeadlines(t *testing.T) {
	for _, tc := range []struct {
		name string
		st   Status
		want string
	}{
		{"serving", Status{Running: true, State: StateServing, Addr: "127.0.0.1:7860"}, "Serving on 127.0.0.1:7860"},
		{"no usable", Status{Running: true, State: StateNoUsable, Addr: "127.0.0.1:7860"}, "Serving on 127.0.0.1:7860 — no usable account"},
		{"stopped", Status{}, "Stopped"},
		{"port taken", Status{PortInUse: true}, "Stopped — port in use"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := TrayMenu(tc.st, nil, TrayActions{})
			if m.Items[0].Label != tc.want {
				t.Errorf("got %q, want %q", m.Items[0].Label, tc.want)
			}
			if !tc.st.Running && itemsByLabel(m)["Start gateway"] == nil {
				t.Error("no Start gateway item while stopped")
			}
		})
	}
}

func TestUITrayFollowsStateAndRebuildsOnlyOnChange(t *testing.T) {
	fc := newFake()
	a := fc.addAccount(Account{Name: "work", Enabled: true, Usable: true, State: AccountHealthy})
	u, clock := newTestUI(t, fc, Options{StartPanel: PanelOverview})

	m := u.TrayMenu()
	if itemsByLabel(m)["work — healthy"] == nil {
		t.Fatalf("tray lacks the account: %v", itemsByLabel(m))
	}
	first := &m.Items[0]

	// An event that changes nothing visible keeps the same items.
	fc.mutate(a.ID, func(x *Account) { x.Requests = 10 })
	fc.publish(Event{Kind: EventAccounts})
	if &u.TrayMenu().Items[0] != first {
		t.Error("tray items rebuilt although nothing shown changed")
	}

	// Cooling: the label changes and a two-second re-check runs while it
	// lasts.
	fc.mutate(a.ID, func(x *Account) {
		x.State, x.Usable, x.CooldownUntil = AccountCooling, false, clock.now.Add(90*time.Second)
	})
	fc.publish(Event{Kind: EventAccounts})
	if itemsByLabel(u.TrayMenu())["work — cooling down 2m"] == nil {
		t.Fatalf("tray labels: %v", itemsByLabel(u.TrayMenu()))
	}
	if clock.running(2*time.Second) != 1 {
		t.Fatalf("tray countdown ticker not running")
	}
	clock.advance(40 * time.Second)
	if itemsByLabel(u.TrayMenu())["work — cooling down <1m"] == nil {
		t.Fatalf("countdown did not move: %v", itemsByLabel(u.TrayMenu()))
	}
	fc.mutate(a.ID, func(x *Account) { x.State, x.Usable, x.CooldownUntil = AccountHealthy, true, time.Time{} })
	clock.advance(60 * time.Second)
	if clock.running(2*time.Second) != 0 {
		t.Error("tray ticker still running with nothing cooling")
	}

	// Toggling from the tray goes through SetEnabled.
	for _, it := range u.TrayMenu().Items {
		if it.Label == "work — healthy" {
			it.Action()
		}
	}
	if len(fc.enabled) != 1 || fc.enabled[0] != (enableCall{a.ID, false}) {
		t.Fatalf("SetEnabled calls = %v", fc.enabled)
	}
	if it := itemsByLabel(u.TrayMenu())["work — disabled"]; it == nil || it.Checked {
		t.Errorf("after toggling: %v", itemsByLabel(u.TrayMenu()))
	}

	// The state for the icon follows the gateway.
	if u.TrayState() != StateServing {
		t.Errorf("state = %v", u.TrayState())
	}
	test := itemsByLabel(u.TrayMenu())["Stop gateway"]
	test.Action()
	if fc.stops != 1 || u.TrayState() != StateStopped || itemsByLabel(u.TrayMenu())["Start gateway"] == nil {
		t.Errorf("stop from tray: stops=%d state=%v", fc.stops, u.TrayState())
	}
}

func TestUITrayQuitUsesOnQuit(t *testing.T) {
	fc := newFake()
	quits := 0
	u, _ := newTestUI(t, fc, Options{OnQuit: func() { quits++ }})
	items := u.TrayMenu().Items
	items[len(items)-1].Action()
	if quits != 1 {
		t.Error("Quit did not run Options.OnQuit")
	}
}
