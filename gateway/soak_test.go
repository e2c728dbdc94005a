package gateway_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/gateway/events"
	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
)

// soakPlan sizes the load test: a short form for every `make test`, the
// full one (1,000 streams, 30 minutes) with SOAK=full (`make soak`).
type soakPlan struct {
	burst    int           // concurrent streams in phase 1
	duration time.Duration // steady phase
	rate     int           // requests per second in the steady phase
}

func plan() soakPlan {
	p := soakPlan{burst: 250, duration: 20 * time.Second, rate: 15}
	if os.Getenv("SOAK") == "full" {
		p = soakPlan{burst: 1000, duration: 30 * time.Minute, rate: 20}
	}
	// The race detector allows ~8k goroutines; 250 streams stay well below.
	if d, err := time.ParseDuration(os.Getenv("SOAK_DURATION")); err == nil && d > 0 {
		p.duration = d
	}
	return p
}

// startFakeProcess builds and starts the fake-upstream command with n demo
// accounts, streaming the bench answer, and returns its base URL.
func startFakeProcess(t *testing.T, n int) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fake-upstream")
	if out, err := exec.Command("go", "build", "-o", bin, "./upstream/fakeupstream/cmd/fake-upstream").CombinedOutput(); err != nil {
		t.Fatalf("build the fake: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "-addr", addr, "-accounts", strconv.Itoa(n), "-scenario", "bench", "-bench-deltas", "20",
		"-element-delay", "5ms", "-split=false")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	base := "http://" + addr
	waitFor(t, "the fake upstream process", func() bool {
		resp, err := http.Get(base + "/business/auth/getoxsrf?csesidx=1")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	return base
}

// TestLoadAndSoak runs a burst of concurrent streams, then steady traffic
// while accounts are disabled, enabled, deleted and added underneath. It
// checks: no request error the plan did not cause, no lost or duplicated
// account update, request counters that add up, and memory and goroutines
// back to where they were.
func TestLoadAndSoak(t *testing.T) {
	p := plan()
	// The fake upstream runs in a process of its own, so this process's
	// heap is the gateway's (and the client's): the fake keeps every
	// session it ever served.
	h := newHarness(t, harnessOpts{accounts: 4, logTail: 256 << 10, rewire: func(h *harness) string {
		return startFakeProcess(t, 20000)
	}})
	// Counters: what each account served, from the request log.
	served := map[string]int64{}
	var servedMu sync.Mutex
	sub := h.bus.Subscribe(1 << 16)
	go func() {
		for ev := range sub.C {
			if ev.Kind == events.RequestFinished && ev.Request.Status == 200 {
				servedMu.Lock()
				served[ev.Request.Account]++
				servedMu.Unlock()
			}
		}
	}()
	defer sub.Close()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: p.burst, MaxConnsPerHost: 0}}
	defer client.CloseIdleConnections()
	want := fakeupstream.BenchAnswer(20, "hello ")
	var sent, failed atomic.Int64
	var firstErr atomic.Value
	ask := func(stream bool) {
		sent.Add(1)
		body := fmt.Sprintf(`{"model":"gemini-2.5-flash","stream":%v,"messages":[{"role":"user","content":"load %d"}]}`, stream, rand.Int())
		req, _ := http.NewRequest("POST", h.base+"/v1/chat/completions", strings.NewReader(body))
		resp, err := client.Do(req)
		if err != nil {
			failed.Add(1)
			firstErr.CompareAndSwap(nil, err.Error())
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ok := resp.StatusCode == 200
		if ok && stream {
			ok = strings.HasSuffix(string(b), "data: [DONE]\n\n") && !strings.Contains(string(b), `"error"`) &&
				strings.Count(string(b), `"content":"hello "`) == 20
		} else if ok {
			ok = strings.Contains(string(b), want)
		}
		if !ok {
			failed.Add(1)
			firstErr.CompareAndSwap(nil, fmt.Sprintf("status %d: %.300s", resp.StatusCode, b))
		}
	}

	// Phase 1: the burst.
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < p.burst; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); ask(true) }()
	}
	wg.Wait()
	if f := failed.Load(); f != 0 {
		t.Fatalf("burst: %d of %d failed; first: %v", f, p.burst, firstErr.Load())
	}
	t.Logf("burst of %d concurrent streams in %v, 0 errors", p.burst, time.Since(start).Round(time.Millisecond))
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	baseGoroutines := runtime.NumGoroutine()

	// Phase 2: steady traffic while the account set changes.
	ctx, cancel := context.WithTimeout(context.Background(), p.duration)
	defer cancel()
	type state struct {
		enabled bool
		deleted bool
	}
	model := map[int64]*state{}
	for _, id := range h.ids {
		model[id] = &state{enabled: true}
	}
	var mutations atomic.Int64
	var mwg sync.WaitGroup
	mwg.Add(1)
	go func() {
		defer mwg.Done()
		rng := rand.New(rand.NewPCG(1, 2))
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		next := 100
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			var live, on []int64
			for id, s := range model {
				if !s.deleted {
					live = append(live, id)
					if s.enabled {
						on = append(on, id)
					}
				}
			}
			switch op := rng.IntN(4); {
			case op == 0 && len(on) > 2: // disable one, keeping two in service
				id := on[rng.IntN(len(on))]
				if _, err := h.mgr.SetEnabled(context.Background(), id, false); err == nil {
					model[id].enabled = false
					mutations.Add(1)
				}
			case op == 1: // enable one
				for _, id := range live {
					if !model[id].enabled {
						if _, err := h.mgr.SetEnabled(context.Background(), id, true); err == nil {
							model[id].enabled = true
							mutations.Add(1)
						}
						break
					}
				}
			case op == 2 && len(on) > 2: // delete one
				id := on[rng.IntN(len(on))]
				if err := h.mgr.Delete(context.Background(), id); err == nil {
					model[id].deleted = true
					mutations.Add(1)
				}
			default: // add one (a demo account the fake knows)
				next++
				d := fakeupstream.DemoAccount(next) // the fake process knows it
				a, err := h.mgr.Create(context.Background(), accounts.Input{Name: fmt.Sprintf("soak-%d", next), SecureCSES: d.SecureCSES, CSESIDX: d.CSESIDX, ConfigID: d.ConfigID})
				if err == nil {
					model[a.ID] = &state{enabled: true}
					mutations.Add(1)
				}
			}
		}
	}()
	every := time.Second / time.Duration(p.rate)
	tick := time.NewTicker(every)
	var steady int64
loop:
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
		}
		steady++
		wg.Add(1)
		go func() { defer wg.Done(); ask(i%3 != 0) }()
	}
	tick.Stop()
	wg.Wait()
	mwg.Wait()
	if f := failed.Load(); f != 0 {
		t.Fatalf("steady phase: %d of %d failed; first: %v", f, sent.Load(), firstErr.Load())
	}
	if mutations.Load() < int64(p.duration/time.Second) {
		t.Fatalf("only %d account changes: the account set barely moved", mutations.Load())
	}

	// The store holds exactly what was acknowledged.
	stored, err := h.store.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for _, a := range stored {
		if seen[a.ID] {
			t.Errorf("account %d stored twice", a.ID)
		}
		seen[a.ID] = true
		m := model[a.ID]
		if m == nil || m.deleted {
			t.Errorf("account %d (%s) should not exist", a.ID, a.Name)
			continue
		}
		if a.Enabled != m.enabled {
			t.Errorf("account %s: enabled %v, last acknowledged %v", a.Name, a.Enabled, m.enabled)
		}
	}
	for id, m := range model {
		if !m.deleted && !seen[id] {
			t.Errorf("acknowledged account %d lost", id)
		}
	}
	// Request counters add up for the accounts that still exist.
	waitFor(t, "usage counters flushed", func() bool {
		stored, _ = h.store.List(context.Background())
		servedMu.Lock()
		defer servedMu.Unlock()
		for _, a := range stored {
			if a.RequestCount != served[a.Name] {
				return false
			}
		}
		return true
	})
	// Memory and goroutines return to where they were after the burst.
	client.CloseIdleConnections()
	h.up.CloseIdleConnections()
	var after runtime.MemStats
	waitFor(t, "goroutines back to the baseline", func() bool {
		runtime.GC()
		return runtime.NumGoroutine() <= baseGoroutines+10
	})
	runtime.ReadMemStats(&after)
	growth := int64(after.HeapAlloc) - int64(base.HeapAlloc)
	t.Logf("steady phase: %d requests, %d account changes, %d accounts at the end; heap %d → %d KB, goroutines %d → %d",
		steady, mutations.Load(), len(stored), base.HeapAlloc>>10, after.HeapAlloc>>10, baseGoroutines, runtime.NumGoroutine())
	if growth > 16<<20 {
		t.Errorf("heap grew by %d MB over the steady phase", growth>>20)
	}
}
