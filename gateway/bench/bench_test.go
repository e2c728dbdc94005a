//go:build linux

package bench

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	xs := []time.Duration{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	for p, want := range map[float64]time.Duration{50: 5, 99: 10, 10: 1, 100: 10, 0: 1} {
		if got := Percentile(xs, p); got != want {
			t.Errorf("p%.0f = %d, want %d", p, got, want)
		}
	}
	if Percentile(nil, 50) != 0 {
		t.Error("empty")
	}
}

func TestParseStatCPU(t *testing.T) {
	// Field 2 may hold spaces and parentheses; utime and stime are fields 14, 15.
	line := "1234 (a (weird) name) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0"
	got, err := parseStatCPU([]byte(line))
	if err != nil || got != 3*time.Second {
		t.Fatalf("%v %v, want 3s", got, err)
	}
	if _, err := parseStatCPU([]byte("garbage")); err == nil {
		t.Error("garbage accepted")
	}
}

func TestReadOwnProcess(t *testing.T) {
	if _, err := CPUTime(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	m, err := ReadMem(os.Getpid())
	if err != nil || m.RSS <= 0 || m.Peak < m.RSS {
		t.Fatalf("%+v %v", m, err)
	}
	if n, threads := ContextSwitches(os.Getpid()); n <= 0 || threads <= 0 {
		t.Fatalf("%d switches, %d threads", n, threads)
	}
	if SelfCPUTime() <= 0 {
		t.Fatal("no CPU time")
	}
}

func TestParseSSE(t *testing.T) {
	var got []string
	body := "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n" +
		"data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"hm\"}}]}\r\n\r\n" +
		": comment\n\n" +
		"data:{\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n" +
		"data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n" +
		"data: [DONE]\n\n"
	if err := parseSSE(strings.NewReader(body), func(s string) { got = append(got, s) }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "|") != "a|b" {
		t.Fatalf("deltas %q", got)
	}
	err := parseSSE(strings.NewReader("data: {\"choices\":[]}\n\n"), func(string) {})
	if !errors.Is(err, errNoDone) {
		t.Fatalf("no [DONE]: %v", err)
	}
	err = parseSSE(strings.NewReader("data: {\"error\":{\"message\":\"boom\"}}\n\ndata: [DONE]\n\n"), func(string) {})
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("error event: %v", err)
	}
}

// The per-delta delay removes the upstream's cumulative drift and keeps a
// delta's own queueing.
func TestSummarizeDelay(t *testing.T) {
	const d = 50 * time.Millisecond
	ms := time.Millisecond
	// Drift of 1 ms per element; delta 3 held up 30 ms on its way.
	arr := []time.Duration{0, 51 * ms, 102 * ms, 183 * ms, 204 * ms, 255 * ms}
	s := Summarize(Outcome{Results: []StreamResult{{Arrivals: arr, Deltas: len(arr)}}, Wall: time.Second}, d)
	if s.DelayP99 < 29 || s.DelayP99 > 31 {
		t.Errorf("delay p99 %.1f ms, want 30", s.DelayP99)
	}
	if s.DelayP50 != 0 {
		t.Errorf("delay p50 %.1f ms, want 0", s.DelayP50)
	}
	if s.LatenessP99 < 32 {
		t.Errorf("lateness p99 %.1f ms keeps the drift and the hold-up", s.LatenessP99)
	}
}

type fixed struct{ ttft time.Duration }

func (f fixed) Stream(ctx context.Context, record bool) StreamResult {
	return StreamResult{TTFT: f.ttft, Deltas: 1}
}

func TestPairedAlternates(t *testing.T) {
	a, b := Paired(context.Background(), fixed{time.Millisecond}, fixed{2 * time.Millisecond}, 5, 1)
	if len(a.Results) != 5 || len(b.Results) != 5 || Summarize(b, 0).TTFTP50 != 2 || Summarize(a, 0).Errors != 0 {
		t.Fatalf("%+v %+v", a, b)
	}
}
