package ui

import (
	"fmt"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

func TestLogsNewestFirstAndFilter(t *testing.T) {
	fc := newFake()
	at := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	fc.recent = []RequestRow{
		recentRow("req-1", "gemini-2.5-pro", "work", 200, at),
		recentRow("req-2", "gemini-2.5-flash", "personal", 429, at.Add(time.Minute)),
	}
	u, _ := newTestUI(t, fc, Options{StartPanel: PanelLogs})
	p := u.logs

	r3 := recentRow("req-3", "gemini-2.5-pro", "personal", 502, at.Add(2*time.Minute))
	r3.Error = "upstream closed the stream"
	r3.Attempts = 2
	fc.publish(Event{Kind: EventRequest, Request: &r3})

	ids := func() []string {
		var out []string
		for i := range p.view {
			out = append(out, p.cell(i, lID))
		}
		return out
	}
	if got := fmt.Sprint(ids()); got != "[req-3 req-2 req-1]" {
		t.Fatalf("order = %s", got)
	}
	if p.cell(0, lStatus) != "502" || p.cell(0, lError) != "upstream closed the stream (after 2 attempts)" || p.cell(0, lTTFT) != "300 ms" || p.cell(0, lTokens) != "42" {
		t.Errorf("row 0 = %q %q %q %q", p.cell(0, lStatus), p.cell(0, lError), p.cell(0, lTTFT), p.cell(0, lTokens))
	}

	for _, tc := range []struct{ q, want string }{
		{"personal", "[req-3 req-2]"},
		{"429", "[req-2]"},
		{"REQ-1", "[req-1]"},
		{"pro personal", "[req-3]"},
		{"closed", "[req-3]"},
		{"nothing", "[]"},
		{"", "[req-3 req-2 req-1]"},
	} {
		p.filter.SetText(tc.q)
		if got := fmt.Sprint(ids()); got != tc.want {
			t.Errorf("filter %q = %s, want %s", tc.q, got, tc.want)
		}
	}
	p.filter.SetText("")
	test.Type(p.filter, "work")
	if p.count.Text != "1 of 3 requests" {
		t.Errorf("count = %q", p.count.Text)
	}
}

func TestLogsBoundedTo1000(t *testing.T) {
	fc := newFake()
	u, _ := newTestUI(t, fc, Options{StartPanel: PanelLogs})
	p := u.logs
	p.filter.SetText("alpha")
	at := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	for i := range 1005 {
		acct := "alpha"
		if i%3 == 0 {
			acct = "beta"
		}
		p.add(recentRow(fmt.Sprintf("r%d", i), "m", acct, 200, at))
	}
	if len(p.rows) != maxLogRows || p.rows[0].ID != "r5" {
		t.Errorf("kept %d rows from %s", len(p.rows), p.rows[0].ID)
	}
	// The incrementally kept view equals a fresh filtering.
	got := fmt.Sprint(p.view)
	p.applyFilter()
	if want := fmt.Sprint(p.view); got != want {
		t.Error("incremental view differs from a re-filter")
	}
	if p.view[0].ID != "r1004" || p.view[len(p.view)-1].ID != "r5" {
		t.Errorf("view runs %s..%s", p.view[0].ID, p.view[len(p.view)-1].ID)
	}
}

func TestStatusColours(t *testing.T) {
	for code, want := range map[int]widget.Importance{200: widget.MediumImportance, 404: widget.WarningImportance, 429: widget.WarningImportance, 500: widget.DangerImportance, 503: widget.DangerImportance} {
		if got := statusImportance(code); got != want {
			t.Errorf("statusImportance(%d) = %v, want %v", code, got, want)
		}
	}
}
