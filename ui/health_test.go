package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

func TestHealthCheckAllShowsProgressAndSummary(t *testing.T) {
	fc := newFake()
	for _, n := range []string{"a", "b", "c"} {
		fc.addAccount(Account{Name: n, State: AccountHealthy, Enabled: true})
	}
	fc.progress = make([]int, 3)
	fc.summary = HealthSummary{Checked: 3, Healthy: 2, Failed: 1, Took: 2300 * time.Millisecond}
	u, _ := newTestUI(t, fc, Options{StartPanel: PanelHealth})
	p := u.health

	type obs struct {
		value   float64
		visible bool
		text    string
		button  bool
	}
	var seen []obs
	fc.onProgress = func(done, total int) {
		seen = append(seen, obs{p.progress.Value, p.progRow.Visible(), p.progText.Text, p.checkAll.Disabled()})
	}
	test.Tap(p.checkAll)

	if fc.checkAlls != 1 {
		t.Fatalf("CheckAll calls = %d", fc.checkAlls)
	}
	want := []obs{
		{1.0 / 3, true, "1 of 3", true},
		{2.0 / 3, true, "2 of 3", true},
		{1, true, "3 of 3", true},
	}
	if len(seen) != len(want) {
		t.Fatalf("progress observations = %+v", seen)
	}
	for i := range want {
		if d := seen[i].value - want[i].value; d > 1e-9 || d < -1e-9 || seen[i].visible != want[i].visible || seen[i].text != want[i].text || seen[i].button != want[i].button {
			t.Errorf("progress %d = %+v, want %+v", i, seen[i], want[i])
		}
	}
	if p.summary.Text != "Checked 3: 2 healthy, 1 failed (took 2.3 s)." {
		t.Errorf("summary = %q", p.summary.Text)
	}
	if p.progRow.Visible() || p.checkAll.Disabled() {
		t.Error("progress bar or disabled button left after the round")
	}
}

func TestHealthCooldownCountsDownAndStops(t *testing.T) {
	fc := newFake()
	u, clock := newTestUI(t, fc, Options{StartPanel: PanelHealth})
	p := u.health
	if clock.running(time.Second) != 0 {
		t.Fatal("ticker runs with nothing cooling")
	}
	a := fc.addAccount(Account{Name: "work", Enabled: true, State: AccountCooling, Reason: "429", CooldownUntil: clock.now.Add(65 * time.Second)})
	fc.publish(Event{Kind: EventAccounts})
	if got := p.cell(0, hCooldown); got != "1:05" {
		t.Errorf("cooldown = %q", got)
	}
	if clock.running(time.Second) != 1 {
		t.Fatal("the one-second ticker did not start")
	}
	clock.advance(time.Second)
	if got := p.cell(0, hCooldown); got != "1:04" {
		t.Errorf("after 1 s: %q", got)
	}
	clock.advance(70 * time.Second)
	if got := p.cell(0, hCooldown); got != "" {
		t.Errorf("after the cooldown: %q", got)
	}
	if clock.running(time.Second) != 0 {
		t.Error("ticker still running after the last cooldown ended")
	}

	// Closing the panel stops a running ticker too.
	fc.mutate(a.ID, func(x *Account) { x.CooldownUntil = clock.now.Add(time.Hour) })
	p.reload()
	if clock.running(time.Second) != 1 {
		t.Fatal("ticker did not restart")
	}
	u.Close()
	if clock.running(time.Second) != 0 {
		t.Error("ticker survives Close")
	}
}

func TestHealthCells(t *testing.T) {
	fc := newFake()
	u, clock := newTestUI(t, fc, Options{StartPanel: PanelHealth})
	a := fc.addAccount(Account{Name: "work", Enabled: true, State: AccountUnhealthy, Reason: "cookie rejected",
		LastCheck: clock.now.Add(-2 * time.Minute), LastCheckOK: false, LastLatency: 840 * time.Millisecond, LastMessage: "401"})
	fc.addAccount(Account{Name: "new", Enabled: true, State: AccountUnchecked})
	p := u.health
	p.reload()
	got := []string{p.cell(0, hName), p.cell(0, hState), p.cell(0, hLastCheck), p.cell(0, hResult), p.cell(0, hLatency), p.cell(0, hReason)}
	want := []string{"work", "unhealthy", "2 min ago", "failed: 401", "840 ms", "cookie rejected"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("row = %q, want %q", got, want)
	}
	if p.cell(1, hLastCheck) != "never" || p.cell(1, hResult) != "–" {
		t.Errorf("unchecked row = %q %q", p.cell(1, hLastCheck), p.cell(1, hResult))
	}

	fc.checkRes[a.ID] = CheckResult{OK: true, Latency: 300 * time.Millisecond}
	p.checkOne(p.accounts[0])
	if len(fc.checked) != 1 || !strings.Contains(p.summary.Text, "work: check OK in 300 ms") {
		t.Errorf("check one: calls %v, summary %q", fc.checked, p.summary.Text)
	}
}

func TestHealthRoundFromElsewhere(t *testing.T) {
	fc := newFake()
	u, _ := newTestUI(t, fc, Options{})
	fc.publish(Event{Kind: EventHealth, Health: &HealthSummary{Checked: 2, Healthy: 2}})
	if u.health.summary.Text != "Last round: Checked 2: 2 healthy, 0 failed." {
		t.Errorf("summary = %q", u.health.summary.Text)
	}
}

func TestHealthShowsQuotasPerKind(t *testing.T) {
	fc := newFake()
	u, clock := newTestUI(t, fc, Options{StartPanel: PanelHealth})
	p := u.health
	fc.addAccount(Account{Name: "work", Enabled: true, State: AccountHealthy, Quotas: []Quota{
		{Kind: "text", Used: 3},
		{Kind: "image", Used: 2, Limit: 2, CoolUntil: clock.now.Add(time.Hour)},
		{Kind: "video", Used: 1, Limit: 1},
	}})
	fc.publish(Event{Kind: EventAccounts})
	if got, want := p.cell(0, hQuota), "3 · image 1:00:00 · 1/1 used up"; got != want {
		t.Errorf("quota cell %q, want %q", got, want)
	}
	if got := healthHeaders()[hQuota]; !strings.Contains(got, "image") {
		t.Errorf("header %q", got)
	}
}

// The columns fit their texts, and refit when the clock changes a text
// without an event ("signed in just now" becomes "signed in 30 s ago").
func TestHealthColumnsFitTheirText(t *testing.T) {
	fc := newFake()
	u, clock := newTestUI(t, fc, Options{StartPanel: PanelHealth})
	p := u.health
	fc.addAccount(Account{Name: "work", Enabled: true, Usable: true, State: AccountHealthy,
		ExpiresAt: clock.now.Add(19 * time.Hour), LastSignInAt: clock.now})
	fc.publish(Event{Kind: EventAccounts})
	need := func() float32 { return widget.NewLabel(p.cell(0, hState)).MinSize().Width + cellSlack }
	if p.cell(0, hState) != "healthy · expires in 19 h · signed in just now" || p.widths[hState] != need() {
		t.Fatalf("State %q in a column %v wide, needs %v", p.cell(0, hState), p.widths[hState], need())
	}
	before := p.cell(0, hState)
	clock.advance(30 * time.Second)
	if p.cell(0, hState) == before || p.widths[hState] != need() {
		t.Fatalf("after the clock: State %q in a column %v wide, needs %v", p.cell(0, hState), p.widths[hState], need())
	}
	// "checking…" fits its Result column while the check runs.
	p.checking[p.accounts[0].ID] = true
	p.redraw()
	if need := widget.NewLabel(p.cell(0, hResult)).MinSize().Width + cellSlack; p.widths[hResult] < need {
		t.Fatalf("Result %q in a column %v wide, needs %v", p.cell(0, hResult), p.widths[hResult], need)
	}
	if p.widths[hState] > healthMaxWidths[hState] || p.widths[hLatency] < healthMinWidths[hLatency] {
		t.Fatalf("widths %v outside their bounds", p.widths)
	}
}
