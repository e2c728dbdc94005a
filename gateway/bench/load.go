package bench

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Load is one measured run: Streams workers at once, each running Rounds
// streams back to back.
type Load struct {
	Streams int
	Rounds  int
	// Ramp spreads the workers' first requests evenly over this interval,
	// as independent clients would; 0 starts them all at once.
	Ramp time.Duration
	// Record keeps every delta's arrival time (for lateness).
	Record bool
	// WantDeltas, when > 0, makes a stream with another number of deltas an
	// error: a silently shortened answer must not look fast.
	WantDeltas int
	// Control, when set, runs ControlStreams more workers (one round each)
	// with this Streamer, interleaved with the others over the same ramp:
	// a control group that shares the run's moment, upstream and client
	// process, so that its figures are what the main streams would have
	// seen without the path under test.
	Control        Streamer
	ControlStreams int
}

// Outcome is every stream of a run and how long the run took.
type Outcome struct {
	Results []StreamResult
	Wall    time.Duration
	// Control are the control group's streams (Load.Control).
	Control []StreamResult
}

// Run executes l against s. open, if not nil, counts the main streams in
// progress, so that a caller can sample memory while all are open.
func Run(ctx context.Context, s Streamer, l Load, open *atomic.Int64) Outcome {
	res := make([]StreamResult, l.Streams*l.Rounds)
	var wg sync.WaitGroup
	start := time.Now()
	wait := func(at time.Time) {
		select {
		case <-time.After(time.Until(at)):
		case <-ctx.Done():
		}
	}
	one := func(s Streamer) StreamResult {
		r := s.Stream(ctx, l.Record)
		if r.Err == nil && l.WantDeltas > 0 && r.Deltas != l.WantDeltas {
			r.Err = fmt.Errorf("got %d deltas, want %d", r.Deltas, l.WantDeltas)
		}
		return r
	}
	for w := range l.Streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if l.Ramp > 0 {
				wait(start.Add(time.Duration(int64(l.Ramp) * int64(w) / int64(l.Streams))))
			}
			for i := range l.Rounds {
				if open != nil {
					open.Add(1)
				}
				res[w*l.Rounds+i] = one(s)
				if open != nil {
					open.Add(-1)
				}
			}
		}()
	}
	var ctl []StreamResult
	if l.Control != nil && l.ControlStreams > 0 {
		ctl = make([]StreamResult, l.ControlStreams)
		for w := range l.ControlStreams {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Half a slot later than main worker w·Streams/ControlStreams,
				// so the two groups interleave evenly.
				slot := (float64(w) + 0.5) / float64(l.ControlStreams)
				wait(start.Add(time.Duration(slot * float64(l.Ramp))))
				ctl[w] = one(l.Control)
			}()
		}
	}
	wg.Wait()
	return Outcome{Results: res, Wall: time.Since(start), Control: ctl}
}

// Summary condenses an Outcome.
type Summary struct {
	Streams int      `json:"streams"`
	Errors  int      `json:"errors"`
	ErrorEx []string `json:"error_examples,omitempty"`
	Deltas  int      `json:"deltas"`
	WallS   float64  `json:"wall_s"`

	TTFTP50 float64 `json:"ttft_p50_ms"`
	TTFTP99 float64 `json:"ttft_p99_ms"`
	// DeltasPerSec is every delta received divided by the wall time.
	DeltasPerSec float64 `json:"deltas_per_s"`

	// Lateness (slow streams only): how far each delta i ≥ 1 arrived behind
	// its ideal time, the stream's first delta + i × element delay. The
	// first delta's own delay is the time to first token.
	LatenessP50 float64 `json:"lateness_p50_ms,omitempty"`
	LatenessP99 float64 `json:"lateness_p99_ms,omitempty"`
	// GapP99 is the 99th percentile of the gap between consecutive deltas
	// minus the element delay: the jitter one delta adds after another.
	GapP99 float64 `json:"gap_excess_p99_ms,omitempty"`
	// DelayP50/P99 (slow streams only) are percentiles of each delta's
	// transit delay beyond the stream's own best: its lateness minus the
	// lowest lateness of any later delta of the same stream. The fake's
	// timer drift only ever adds up, so this removes it, and what remains
	// is the time a delta spent queued somewhere on its way (see
	// bench/README.md). Blind spot: a hold-up that lasts to the end of a
	// stream raises every later lateness alike, cancels like drift and
	// shows as 0 here; LatenessP99 against a control group that shares
	// the drift (Case.AddedLatenessP99Ms) sees it.
	DelayP50 float64 `json:"delay_p50_ms,omitempty"`
	DelayP99 float64 `json:"delay_p99_ms,omitempty"`
}

// Summarize computes percentiles over the streams without error. delay is
// the element delay of slow streams (0 for none).
func Summarize(o Outcome, delay time.Duration) Summary {
	s := Summary{Streams: len(o.Results), WallS: o.Wall.Seconds()}
	var ttft, late, gap, excess []time.Duration
	seen := map[string]bool{}
	for _, r := range o.Results {
		s.Deltas += r.Deltas
		if r.Err != nil {
			s.Errors++
			if msg := r.Err.Error(); !seen[msg] && len(s.ErrorEx) < 3 {
				seen[msg] = true
				s.ErrorEx = append(s.ErrorEx, msg)
			}
			continue
		}
		ttft = append(ttft, r.TTFT)
		if delay > 0 {
			n := len(r.Arrivals)
			lat := make([]time.Duration, n)
			for i, at := range r.Arrivals {
				lat[i] = at - r.Arrivals[0] - time.Duration(i)*delay
				if i > 0 {
					late = append(late, lat[i])
					gap = append(gap, at-r.Arrivals[i-1]-delay)
				}
			}
			low := time.Duration(math.MaxInt64)
			for i := n - 1; i >= 0; i-- {
				low = min(low, lat[i])
				excess = append(excess, lat[i]-low)
			}
		}
	}
	sort.Strings(s.ErrorEx)
	s.TTFTP50, s.TTFTP99 = Ms(Percentile(ttft, 50)), Ms(Percentile(ttft, 99))
	if o.Wall > 0 {
		s.DeltasPerSec = float64(s.Deltas) / o.Wall.Seconds()
	}
	if delay > 0 {
		s.LatenessP50, s.LatenessP99 = Ms(Percentile(late, 50)), Ms(Percentile(late, 99))
		s.GapP99 = Ms(Percentile(gap, 99))
		s.DelayP50, s.DelayP99 = Ms(Percentile(excess, 50)), Ms(Percentile(excess, 99))
	}
	return s
}

// Paired runs n streams on a and n on b, alternating a, b, b, a, … one at a
// time, so that whatever else the machine does in the meantime weighs on
// both alike: the fair way to compare latencies of two paths on a shared
// machine. It returns the two outcomes.
func Paired(ctx context.Context, a, b Streamer, n, wantDeltas int) (Outcome, Outcome) {
	var oa, ob Outcome
	one := func(s Streamer, o *Outcome) {
		t := time.Now()
		r := s.Stream(ctx, false)
		o.Wall += time.Since(t)
		if r.Err == nil && wantDeltas > 0 && r.Deltas != wantDeltas {
			r.Err = fmt.Errorf("got %d deltas, want %d", r.Deltas, wantDeltas)
		}
		o.Results = append(o.Results, r)
	}
	for i := range n {
		if i%2 == 0 {
			one(a, &oa)
			one(b, &ob)
		} else {
			one(b, &ob)
			one(a, &oa)
		}
	}
	return oa, ob
}
