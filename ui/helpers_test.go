package ui

import (
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// fakeClock is a deterministic env: dispatch and async run inline on the
// test goroutine and timers fire only when the test advances the clock, so
// no widget is ever touched from two goroutines.
type fakeClock struct {
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	due     time.Time
	period  time.Duration
	f       func()
	stopped bool
}

func newClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) env() env {
	return env{
		dispatch: func(f func()) { f() },
		async:    func(f func()) { f() },
		every: func(d time.Duration, f func()) func() {
			t := &fakeTimer{due: c.now.Add(d), period: d, f: f}
			c.timers = append(c.timers, t)
			return func() { t.stopped = true }
		},
		after: func(d time.Duration, f func()) func() {
			t := &fakeTimer{due: c.now.Add(d), f: f}
			c.timers = append(c.timers, t)
			return func() { t.stopped = true }
		},
		now: func() time.Time { return c.now },
	}
}

// advance moves the clock, firing due timers in order.
func (c *fakeClock) advance(d time.Duration) {
	end := c.now.Add(d)
	for {
		var next *fakeTimer
		for _, t := range c.timers {
			if !t.stopped && !t.due.After(end) && (next == nil || t.due.Before(next.due)) {
				next = t
			}
		}
		if next == nil {
			break
		}
		c.now = next.due
		if next.period > 0 {
			next.due = next.due.Add(next.period)
		} else {
			next.stopped = true
		}
		next.f()
	}
	c.now = end
}

// running counts timers with the given period that are still active.
func (c *fakeClock) running(period time.Duration) int {
	n := 0
	for _, t := range c.timers {
		if !t.stopped && t.period == period {
			n++
		}
	}
	return n
}

// newTestUI builds the whole UI on the test driver with a fake clock.
func newTestUI(t *testing.T, fc *fakeController, opts Options) (*UI, *fakeClock) {
	t.Helper()
	test.NewTempApp(t)
	clock := newClock()
	u := newUI(fyne.CurrentApp(), fc, clock.env(), opts)
	u.Window().Resize(fyne.NewSize(1000, 680))
	t.Cleanup(func() {
		u.Close()
		u.Window().Close()
	})
	return u, clock
}

// walk visits o and everything rendered under it, using the renderers the
// canvas already has (so the objects found are the ones on screen).
func walk(o fyne.CanvasObject, fn func(fyne.CanvasObject)) {
	if o == nil {
		return
	}
	fn(o)
	switch c := o.(type) {
	case fyne.Widget:
		for _, ch := range test.WidgetRenderer(c).Objects() {
			walk(ch, fn)
		}
	case *fyne.Container:
		for _, ch := range c.Objects {
			walk(ch, fn)
		}
	}
}

// find returns every visible object of type T under o.
func find[T fyne.CanvasObject](o fyne.CanvasObject) []T {
	var out []T
	walk(o, func(c fyne.CanvasObject) {
		if v, ok := c.(T); ok && c.Visible() {
			out = append(out, v)
		}
	})
	return out
}

// button finds a visible button by its text under o.
func button(t *testing.T, o fyne.CanvasObject, text string) *widget.Button {
	t.Helper()
	var texts []string
	for _, b := range find[*widget.Button](o) {
		if b.Text == text {
			return b
		}
		texts = append(texts, b.Text)
	}
	t.Fatalf("no button %q; have %q", text, texts)
	return nil
}

// overlay is the top dialog of the window, failing if none is open.
func overlay(t *testing.T, w fyne.Window) fyne.CanvasObject {
	t.Helper()
	o := w.Canvas().Overlays().Top()
	if o == nil {
		t.Fatal("no dialog is open")
	}
	return o
}

// labels returns the text of every visible label under o.
func labels(o fyne.CanvasObject) []string {
	var out []string
	for _, l := range find[*widget.Label](o) {
		out = append(out, l.Text)
	}
	return out
}

// hasLabel reports whether a visible label under o contains s.
func hasLabel(o fyne.CanvasObject, s string) bool {
	for _, l := range labels(o) {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// tapCheck taps a check box on its box: test.Tap aims at (1,1), which
// misses the box when the row is taller than the check.
func tapCheck(c *widget.Check) {
	test.TapAt(c, fyne.NewPos(8, c.Size().Height/2))
}

// accountRows maps account names to the rows the list shows.
func accountRows(p *accountsPanel) map[string]*accountRow {
	m := map[string]*accountRow{}
	for _, r := range find[*accountRow](p.list) {
		m[r.acct.Name] = r
	}
	return m
}

// lockedDispatch serialises UI work from several goroutines for tests that
// use real goroutines and tickers: every widget access, the test's own
// included, happens under mu.
type lockedDispatch struct{ mu sync.Mutex }

func (d *lockedDispatch) dispatch(f func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f()
}

// eventually polls cond (under the dispatcher's lock) until it holds.
func (d *lockedDispatch) eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		var ok bool
		d.dispatch(func() { ok = cond() })
		if ok {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// richText is all visible text under o (labels, and the canvas texts that
// rich text, cards and dialogs draw), one piece per line.
func richText(o fyne.CanvasObject) string {
	var b strings.Builder
	walk(o, func(c fyne.CanvasObject) {
		if !c.Visible() {
			return
		}
		switch w := c.(type) {
		case *canvas.Text:
			b.WriteString(w.Text)
			b.WriteString("\n")
		case *widget.Label:
			b.WriteString(w.Text)
			b.WriteString("\n")
		}
	})
	return b.String()
}
