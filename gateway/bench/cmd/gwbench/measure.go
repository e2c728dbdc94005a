//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/bench"
)

// measurement is one measured load and the probes that run beside it.
type measurement struct {
	p          *phase
	l          bench.Load
	viaGateway bool
	ctx        context.Context
	pid        int // the gateway's
	// Idle baselines for per-stream memory (slow streams only).
	heap0 bench.Heap
	rss0  int64
	self0 runtime.MemStats
	peak  atomic.Int64 // highest sampled gateway RSS
	open  atomic.Int64 // main streams in progress
	stop  chan struct{}
	wg    sync.WaitGroup
	mode  bench.Mode
	// sampleErr is the per-stream sample's failure (set before wg.Done).
	sampleErr error
}

// measure runs one load and collects CPU, memory and the summary.
func (p *phase) measure(s bench.Streamer, l bench.Load, viaGateway, profile bool) (bench.Mode, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	m := &measurement{p: p, l: l, viaGateway: viaGateway, ctx: ctx, pid: p.gw.Pid(), stop: make(chan struct{})}
	if l.Record {
		if err := m.baseline(); err != nil {
			return bench.Mode{}, err
		}
	}
	// Peak RSS: VmHWM reset at the start, and sampling in case the
	// kernel does not support the reset.
	_ = bench.ResetPeak(m.pid)
	m.wg.Go(m.samplePeakRSS)
	if l.Record {
		m.wg.Go(m.sampleOpen)
	}
	if profile {
		m.wg.Go(m.profile)
	}
	u0 := p.usage()
	out := bench.Run(ctx, s, l, &m.open)
	u1 := p.usage()
	close(m.stop)
	m.wg.Wait()
	if m.sampleErr != nil {
		return m.mode, m.sampleErr
	}
	m.finish(out, u0, u1)
	return m.mode, nil
}

// baseline records the idle memory the per-stream figures subtract: the
// gateway's heap and RSS, or this process's heap after a GC.
func (m *measurement) baseline() error {
	if !m.viaGateway {
		runtime.GC()
		runtime.ReadMemStats(&m.self0)
		return nil
	}
	var err error
	if m.heap0, err = bench.ReadHeap(m.ctx, m.p.gwURL, m.p.admin); err != nil {
		return fmt.Errorf("gateway heap: %w", err)
	}
	mem, _ := bench.ReadMem(m.pid)
	m.rss0 = mem.RSS
	return nil
}

// samplePeakRSS samples the gateway's RSS every 20 ms until stop.
func (m *measurement) samplePeakRSS() {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if mem, err := bench.ReadMem(m.pid); err == nil && mem.RSS > m.peak.Load() {
			m.peak.Store(mem.RSS)
		}
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
	}
}

// sampleOpen waits until every stream of the load is open, then measures
// the steady CPU and, once, the memory per open stream.
func (m *measurement) sampleOpen() {
	p, l := m.p, m.l
	deadline := time.Now().Add(l.Ramp + time.Duration(p.deltas)*p.delay)
	for m.open.Load() < int64(l.Streams) && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	if m.open.Load() == int64(l.Streams) {
		m.steady()
	}
	n := m.open.Load()
	m.mode.OpenAtSample = int(n)
	if !m.viaGateway {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		m.mode.HeapPerStreamKB = (float64(ms.HeapAlloc) - float64(m.self0.HeapAlloc)) / 1024 / float64(n)
		m.mode.StackPerStrKB = (float64(ms.StackInuse) - float64(m.self0.StackInuse)) / 1024 / float64(n)
		m.mode.Goroutines = runtime.NumGoroutine()
		return
	}
	if p.d.o.keep {
		if g, err := bench.GetText(m.ctx, p.gwURL+"/debug/pprof/goroutine?debug=1", p.admin); err == nil {
			_ = os.WriteFile(filepath.Join(p.dir, "goroutines.txt"), []byte(g), 0o644)
		}
	}
	h, err := bench.ReadHeap(m.ctx, p.gwURL, p.admin)
	if err != nil {
		m.sampleErr = err
		return
	}
	mem, _ := bench.ReadMem(m.pid)
	m.mode.HeapPerStreamKB = float64(h.HeapAlloc-m.heap0.HeapAlloc) / 1024 / float64(n)
	m.mode.StackPerStrKB = float64(h.StackInuse-m.heap0.StackInuse) / 1024 / float64(n)
	m.mode.RSSPerStreamKB = float64(mem.RSS-m.rss0) / 1024 / float64(n)
	m.mode.Goroutines = h.Goroutines
}

// steady measures CPU over a window in which every stream is open and
// none is being set up, so it is the cost of holding and relaying them,
// not of accepting them. It keeps the figure only if all stayed open.
func (m *measurement) steady() {
	ta, ua := time.Now(), m.p.usage()
	time.Sleep(steadyWindow)
	tb, ub := time.Now(), m.p.usage()
	if m.open.Load() != int64(m.l.Streams) {
		return
	}
	w := tb.Sub(ta).Seconds()
	m.mode.Steady = &bench.Steady{WindowS: w, From: ta, To: tb,
		GatewayCores: (ub.gw - ua.gw).Seconds() / w,
		ClientCores:  (ub.self - ua.self).Seconds() / w,
		FakeCores:    (ub.fake - ua.fake).Seconds() / w}
}

// profile saves a CPU profile of the gateway under this load.
func (m *measurement) profile() {
	path := m.p.d.o.cpuProfile
	if err := bench.SaveCPUProfile(m.ctx, m.p.gwURL, m.p.admin, 5*time.Second, path); err != nil {
		fmt.Fprintln(os.Stderr, "gwbench: cpu profile:", err)
		return
	}
	fmt.Fprintln(os.Stderr, "gwbench: wrote", path)
}

// finish fills the mode from the outcome and the CPU used between u0 and
// u1: the summary, the steady window's deltas, the control group, CPU per
// 1,000 deltas and the gateway's peak RSS.
func (m *measurement) finish(out bench.Outcome, u0, u1 usage) {
	delay := m.p.delay
	sum := bench.Summarize(out, delay)
	m.mode.Summary = sum
	if st := m.mode.Steady; st != nil {
		// Deltas of the main streams that arrived inside the window.
		for _, r := range out.Results {
			for _, at := range r.Arrivals {
				if t := r.Start.Add(at); !t.Before(st.From) && t.Before(st.To) {
					st.Deltas++
				}
			}
		}
		if st.Deltas > 0 {
			cpu := st.ClientCores
			if m.viaGateway {
				cpu = st.GatewayCores
			}
			st.CPUPerDeltaUs = cpu * st.WindowS * 1e6 / float64(st.Deltas)
		}
	}
	all := sum.Deltas
	if out.Control != nil {
		ctl := bench.Summarize(bench.Outcome{Results: out.Control, Wall: out.Wall}, delay)
		m.mode.Control = &ctl
		all += ctl.Deltas
	}
	if sum.Deltas > 0 {
		// The client and the fake also served the control group.
		per := func(d time.Duration, n int) float64 { return d.Seconds() * 1000 / float64(n) }
		m.mode.ClientCPUPer1k = per(u1.self-u0.self, all)
		m.mode.FakeCPUPer1k = per(u1.fake-u0.fake, all)
		m.mode.CPUPer1k = m.mode.ClientCPUPer1k
		if m.viaGateway {
			m.mode.CPUPer1k = per(u1.gw-u0.gw, sum.Deltas)
		}
	}
	if m.viaGateway {
		mem, _ := bench.ReadMem(m.pid)
		m.mode.PeakRSSMB = float64(max(m.peak.Load(), mem.Peak)) / (1 << 20)
	}
}
