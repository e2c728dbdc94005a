package gateway_test

import (
	"bufio"
	"strings"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
)

// The sink buffers its writes and flushes when the pool waits for the
// upstream: a delta must still reach the client when it arrives, not with
// the next one or at the end of the answer.
func TestDeltasReachTheClientAsTheyArrive(t *testing.T) {
	const gap = 150 * time.Millisecond
	h := newHarness(t, harnessOpts{fake: fakeupstream.Options{DefaultScenario: fakeupstream.ScenarioBench, BenchDeltas: 4, ElementDelay: gap}})
	resp := h.do("POST", "/v1/chat/completions", `{"model":"gemini-auto","stream":true,"messages":[{"role":"user","content":"x"}]}`, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var at []time.Time
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.Contains(sc.Text(), `"content":"hello "`) {
			at = append(at, time.Now())
		}
	}
	if len(at) != 4 {
		t.Fatalf("%d deltas", len(at))
	}
	for i := 1; i < len(at); i++ {
		// The fake sleeps gap between elements; a delta held back until
		// the next one would arrive with it, almost no time apart.
		if d := at[i].Sub(at[i-1]); d < gap/2 {
			t.Errorf("delta %d arrived %v after delta %d: it was held back", i, d, i-1)
		}
	}
}
