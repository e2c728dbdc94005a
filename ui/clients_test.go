package ui

import (
	"errors"
	"fmt"
	"image/color"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// fakeClients adds client keys and usage to the fake controller, kept
// the way the gateway keeps them: keys by hash-like identity, shown once.
type fakeClients struct {
	*fakeController
	cmu   sync.Mutex
	keys  []ClientKey
	live  map[int64]string // id -> current key, to check rotation
	next  int64
	usage map[string][]UsageRow // by group
}

func newFakeClients() *fakeClients {
	return &fakeClients{fakeController: newFake(), live: map[int64]string{}, next: 1, usage: map[string][]UsageRow{}}
}

func (f *fakeClients) ClientKeys() ([]ClientKey, error) {
	f.cmu.Lock()
	defer f.cmu.Unlock()
	return append([]ClientKey(nil), f.keys...), nil
}

func (f *fakeClients) CreateClientKey(in NewClientKey) (ClientKey, string, error) {
	f.cmu.Lock()
	defer f.cmu.Unlock()
	for _, k := range f.keys {
		if strings.EqualFold(k.Name, in.Name) {
			return ClientKey{}, "", &FieldErrors{"name": "A client key with that name already exists."}
		}
	}
	k := ClientKey{ID: f.next, Name: in.Name, RequestsPerMinute: in.RequestsPerMinute, Models: in.Models, CreatedAt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	f.next++
	key := fmt.Sprintf("sk-gg-secret-%d-%d", k.ID, time.Now().UnixNano())
	k.Hint = key[:10] + "…"
	f.keys = append(f.keys, k)
	f.live[k.ID] = key
	return k, key, nil
}

func (f *fakeClients) RevokeClientKey(id int64) error {
	f.cmu.Lock()
	defer f.cmu.Unlock()
	for i, k := range f.keys {
		if k.ID == id {
			f.keys = append(f.keys[:i], f.keys[i+1:]...)
			delete(f.live, id)
			return nil
		}
	}
	return errors.New("no such key")
}

func (f *fakeClients) RotateClientKey(id int64) (ClientKey, string, error) {
	f.cmu.Lock()
	defer f.cmu.Unlock()
	for i, k := range f.keys {
		if k.ID == id {
			key := fmt.Sprintf("sk-gg-rotated-%d-%d", id, time.Now().UnixNano())
			f.keys[i].Hint = key[:10] + "…"
			f.live[id] = key
			return f.keys[i], key, nil
		}
	}
	return ClientKey{}, "", errors.New("no such key")
}

func (f *fakeClients) Usage(from, to time.Time, groupBy string) ([]UsageRow, error) {
	f.cmu.Lock()
	defer f.cmu.Unlock()
	return f.usage[groupBy], nil
}

func clientRowButton(t *testing.T, p *clientsPanel, name, text string) *widget.Button {
	t.Helper()
	for _, row := range p.list.Objects {
		if hasLabel(row, name) {
			return button(t, row, text)
		}
	}
	t.Fatalf("no row for %q; labels %q", name, labels(p.list))
	return nil
}

// The key lifecycle through the Clients panel: create (the key shown
// once, with Copy), list, rotate, revoke.
func TestClientsPanelLifecycle(t *testing.T) {
	fc := newFakeClients()
	u, _ := newTestUI(t, fc.fakeController, Options{})
	// newTestUI takes the plain fake; build the UI on the one with keys.
	u.Close()
	test.NewTempApp(t)
	u = newUI(fyne.CurrentApp(), fc, newClock().env(), Options{StartPanel: PanelClients})
	w := u.Window()
	w.Resize(fyne.NewSize(1000, 680))
	t.Cleanup(func() { u.Close(); w.Close() })
	p := u.clients
	if p == nil || u.usage == nil {
		t.Fatal("the Clients and Usage panels are missing")
	}
	if !hasLabel(p.list, "No client key yet") {
		t.Errorf("empty state: %q", labels(p.list))
	}

	test.Type(p.name, "Open WebUI")
	test.Type(p.rpm, "60")
	for _, c := range p.mods.checks {
		if c.Text == "gemini-2.5-pro" {
			test.Tap(c)
		}
	}
	test.Tap(button(t, p.content, "Create key"))
	fc.cmu.Lock()
	key := fc.live[1]
	fc.cmu.Unlock()
	if key == "" || p.shown != key {
		t.Fatalf("created key %q, shown %q", key, p.shown)
	}
	dlg := overlay(t, w)
	if !strings.Contains(richText(dlg), "shown only now") {
		t.Errorf("dialog text: %s", richText(dlg))
	}
	entries := find[*widget.Entry](dlg)
	if len(entries) != 1 || entries[0].Text != key {
		t.Fatalf("the dialog does not show the key")
	}
	test.Tap(button(t, dlg, "Copy"))
	if got := fyne.CurrentApp().Clipboard().Content(); got != key {
		t.Errorf("clipboard %q", got)
	}
	test.Tap(button(t, dlg, "Done"))
	if p.shown != "" || w.Canvas().Overlays().Top() != nil {
		t.Error("the key stays after the dialog closed")
	}
	// The list shows the name, the hint and the limits, never the key.
	if !hasLabel(p.list, "Open WebUI") || !hasLabel(p.list, "60 requests/min · models: gemini-2.5-pro") || strings.Contains(richText(p.content), key) {
		t.Fatalf("list: %q", labels(p.list))
	}
	if p.name.Text != "" || p.rpm.Text != "" {
		t.Error("the form was not cleared")
	}
	// A duplicate name is refused with the controller's message.
	test.Type(p.name, "open webui")
	test.Tap(button(t, p.content, "Create key"))
	if !strings.Contains(p.err.Text, "already exists") {
		t.Errorf("duplicate: %q", p.err.Text)
	}
	p.name.SetText("")
	test.Type(p.rpm, "many")
	test.Type(p.name, "x")
	test.Tap(button(t, p.content, "Create key"))
	if !strings.Contains(p.err.Text, "whole number") {
		t.Errorf("bad rpm: %q", p.err.Text)
	}

	// Rotate: confirm, a new key shown once.
	test.Tap(clientRowButton(t, p, "Open WebUI", "Rotate"))
	test.Tap(button(t, overlay(t, w), "Yes"))
	fc.cmu.Lock()
	rotated := fc.live[1]
	fc.cmu.Unlock()
	if rotated == key || p.shown != rotated {
		t.Fatalf("rotate: shown %q, live %q", p.shown, rotated)
	}
	test.Tap(button(t, overlay(t, w), "Done"))

	// Revoke: confirm, gone from the list.
	test.Tap(clientRowButton(t, p, "Open WebUI", "Revoke"))
	test.Tap(button(t, overlay(t, w), "Yes"))
	if keys, _ := fc.ClientKeys(); len(keys) != 0 || hasLabel(p.list, "Open WebUI") {
		t.Fatalf("after revoke: %v %q", keys, labels(p.list))
	}
}

// API_KEY from the configuration is listed but cannot be rotated or
// revoked from the panel.
func TestClientsPanelBuiltinKey(t *testing.T) {
	fc := newFakeClients()
	fc.keys = []ClientKey{{ID: 0, Name: "API_KEY", Hint: "sk-gg-0123…", Builtin: true}}
	test.NewTempApp(t)
	u := newUI(fyne.CurrentApp(), fc, newClock().env(), Options{StartPanel: PanelClients})
	t.Cleanup(func() { u.Close(); u.Window().Close() })
	if b := clientRowButton(t, u.clients, "API_KEY", "Revoke"); !b.Disabled() {
		t.Error("API_KEY can be revoked")
	}
	if !hasLabel(u.clients.list, "change it in Settings") {
		t.Errorf("labels %q", labels(u.clients.list))
	}
}

func usageFixture(fc *fakeClients, now time.Time) {
	names := []string{"Open WebUI", "VS Code", "", "scripts"}
	for d := 0; d < usageDays; d++ {
		day := now.AddDate(0, 0, -d).Format(time.DateOnly)
		var total UsageRow
		for i, n := range names {
			req := int64((d*7+i*13)%40 + 5*(len(names)-i))
			if d%9 == 4 && i == 1 {
				req = 0 // a quiet day
			}
			r := UsageRow{Day: day, Name: n, Requests: req, Errors: req / 10, PromptTokens: req * 300, CompletionTokens: req * 120}
			fc.usage[UsageByClient] = append(fc.usage[UsageByClient], r)
			total.Requests += r.Requests
			total.PromptTokens += r.PromptTokens
			total.CompletionTokens += r.CompletionTokens
		}
		total.Day = day
		total.TTFTP50 = int64(600 + (d*37)%400)
		total.TTFTP95 = total.TTFTP50 + int64(900+(d*53)%1500)
		fc.usage[""] = append(fc.usage[""], total)
	}
}

// The Usage panel stacks each day's requests by client and draws the
// latency percentiles; the numbers it draws are the controller's.
func TestUsagePanelCharts(t *testing.T) {
	fc := newFakeClients()
	clock := newClock()
	usageFixture(fc, clock.now)
	test.NewTempApp(t)
	u := newUI(fyne.CurrentApp(), fc, clock.env(), Options{StartPanel: PanelUsage})
	t.Cleanup(func() { u.Close(); u.Window().Close() })
	u.Window().Resize(fyne.NewSize(1000, 680))
	p := u.usage
	if got := p.requests.series; fmt.Sprint(got) != "[Open WebUI VS Code (no key) scripts]" {
		t.Fatalf("series %v", got)
	}
	var want, drawn int64
	for _, r := range fc.usage[UsageByClient] {
		want += r.Requests
	}
	for i := range p.requests.labels {
		drawn += int64(p.requests.total(i))
	}
	if drawn != want || !strings.Contains(p.summary.Text, fmt.Sprintf("%d requests", want)) {
		t.Fatalf("drawn %d, want %d; %q", drawn, want, p.summary.Text)
	}
	bars := 0
	for _, o := range test.WidgetRenderer(p.requests).Objects() {
		if r, ok := o.(*canvas.Rectangle); ok && r.Size().Height > 0 && r.FillColor != color.Transparent {
			bars++
		}
	}
	if bars < usageDays*3 {
		t.Errorf("only %d bar segments drawn", bars)
	}
	if p.latency.values[1][usageDays-1] <= p.latency.values[0][usageDays-1] {
		t.Errorf("p95 not above p50 today: %v", p.latency.values)
	}
}

// The charts as they look, checked against a reference picture
// (testdata/usage-panel.png; Fyne's test driver renders without a GPU).
func TestUsagePanelScreenshot(t *testing.T) {
	fc := newFakeClients()
	clock := newClock()
	usageFixture(fc, clock.now)
	test.NewTempApp(t)
	u := newUI(fyne.CurrentApp(), fc, clock.env(), Options{StartPanel: PanelUsage})
	t.Cleanup(func() { u.Close(); u.Window().Close() })
	w := u.Window()
	w.Resize(fyne.NewSize(1000, 680))
	test.AssertImageMatches(t, "usage-panel.png", w.Canvas().Capture())
}

// The Clients panel as it looks with a few keys (testdata/clients-panel.png).
func TestClientsPanelScreenshot(t *testing.T) {
	fc := newFakeClients()
	fc.keys = []ClientKey{{ID: 0, Name: "API_KEY", Hint: "sk-gg-0123…", Builtin: true}}
	for _, in := range []NewClientKey{{Name: "Open WebUI", RequestsPerMinute: 60}, {Name: "VS Code", Models: []string{"gemini-2.5-pro", "gemini-2.5-flash"}}, {Name: "scripts"}} {
		fc.CreateClientKey(in)
	}
	for i := range fc.keys[1:] {
		fc.keys[i+1].Hint = fmt.Sprintf("sk-gg-%c1b2…", 'A'+i)
	}
	test.NewTempApp(t)
	u := newUI(fyne.CurrentApp(), fc, newClock().env(), Options{StartPanel: PanelClients})
	t.Cleanup(func() { u.Close(); u.Window().Close() })
	w := u.Window()
	w.Resize(fyne.NewSize(1000, 680))
	test.AssertImageMatches(t, "clients-panel.png", w.Canvas().Capture())
}
