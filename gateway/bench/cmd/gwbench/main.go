//go:build linux

// Command gwbench is `make bench`'s load comparison: in one run and one
// process tree it starts the fake upstream and the headless gateway as
// child processes, streams the same answers directly from the fake (with
// the gateway's own upstream client, in this process) and through the
// gateway (real HTTP and SSE on loopback), and prints a table of time to
// first token, throughput, CPU and memory for 1, 100 and 1,000 concurrent
// streams and for 1,000 slow streams, with the ratios gateway/direct and a
// PASS/FAIL line per target (bench/README.md). It writes the same as JSON (-out).
//
// See bench/README.md for what each column means and how it is measured.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/bench"
	"github.com/gemgate/gemini-gateway/gateway/chat"
	"github.com/gemgate/gemini-gateway/gateway/upstream"
	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
)

type options struct {
	out        string
	deltas     int
	text       string
	slowDelay  time.Duration
	slowDeltas int
	slowRamp   time.Duration
	accounts   int
	quick      bool
	gatewayBin string
	fakeBin    string
	cpuProfile string
	profCase   string
	keep       bool
	starts     int
	cases      string
	pairs      int
	control    int
}

func main() {
	var o options
	flag.StringVar(&o.out, "out", "bench/results.json", "write the results as JSON here (empty: do not)")
	flag.IntVar(&o.deltas, "deltas", 50, "answer deltas per stream")
	flag.StringVar(&o.text, "text", "hello ", "text of each delta")
	flag.DurationVar(&o.slowDelay, "slow-delay", 50*time.Millisecond, "element delay of the slow-streams case")
	flag.IntVar(&o.slowDeltas, "slow-deltas", 120, "answer deltas per slow stream (their span must exceed -slow-ramp, so that all are open at once)")
	flag.DurationVar(&o.slowRamp, "slow-ramp", 5*time.Second, "the slow streams start spread over this interval")
	flag.IntVar(&o.accounts, "accounts", 4, "accounts in the gateway (the env account plus ones added through the admin API)")
	flag.BoolVar(&o.quick, "quick", false, "a smoke run: fewer rounds, 100 slow streams")
	flag.StringVar(&o.gatewayBin, "gateway-bin", "", "use this headless gateway binary instead of building one")
	flag.StringVar(&o.fakeBin, "fake-bin", "", "use this fake-upstream binary instead of building one")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "save a 5 s CPU profile of the gateway under load here")
	flag.StringVar(&o.profCase, "profile-case", "1000", "the case -cpuprofile profiles (its gateway run)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (binaries, logs)")
	flag.IntVar(&o.starts, "starts", 10, "headless gateway starts timed for exec → /healthz")
	flag.StringVar(&o.cases, "cases", "1,100,1000,slow", "which cases to run")
	flag.IntVar(&o.control, "control", 100, "direct streams run alongside the slow gateway streams as a control group")
	flag.IntVar(&o.pairs, "pairs", 400, "direct/gateway stream pairs, alternating, for the 1-stream time to first token")
	desktop := flag.Bool("desktop", false, "measure the desktop figures instead (start-up, idle CPU and RSS; see bench/desktop.sh)")
	guiBin := flag.String("gui-bin", "", "with -desktop: the desktop app binary (default: build it)")
	dstarts := flag.Int("desktop-starts", 20, "with -desktop: starts timed per binary")
	idle := flag.Duration("idle", 60*time.Second, "with -desktop: the idle window")
	flag.Parse()
	if *desktop {
		if err := runDesktop(o, *guiBin, *dstarts, *idle); err != nil {
			fmt.Fprintln(os.Stderr, "gwbench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "gwbench:", err)
		os.Exit(1)
	}
}

type driver struct {
	o        options
	tmp      string
	gwBin    string
	fakeBin  string
	rep      *bench.Report
	query    string
	body     []byte
	modelID  string
	phaseLog func(string, ...any)
}

func run(o options) error {
	if runtime.GOOS != "linux" {
		return errors.New("the benchmark reads /proc: Linux only")
	}
	limit, err := bench.RaiseFileLimit()
	if err != nil {
		return fmt.Errorf("raise the open-file limit: %w", err)
	}
	if limit < 4500 {
		fmt.Fprintf(os.Stderr, "gwbench: warning: only %d open files allowed; 1,000 streams need about 4,000\n", limit)
	}
	tmp, err := os.MkdirTemp("", "gwbench-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintln(os.Stderr, "gwbench: keeping", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	d := &driver{o: o, tmp: tmp, gwBin: o.gatewayBin, fakeBin: o.fakeBin, rep: &bench.Report{}}
	d.phaseLog = func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "gwbench: "+format+"\n", args...)
	}
	if d.gwBin == "" || d.fakeBin == "" {
		root, err := moduleRoot()
		if err != nil {
			return err
		}
		d.phaseLog("building the headless gateway and the fake upstream")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		gw, fake, err := bench.Build(ctx, root, tmp)
		cancel()
		if err != nil {
			return err
		}
		d.gwBin = cmp(d.gwBin, gw)
		d.fakeBin = cmp(d.fakeBin, fake)
	}
	msgs := []chat.Message{{Role: chat.RoleUser, Text: "Say hello, many times."}}
	d.query = chat.Flatten(msgs)
	d.modelID = "gemini-2.5-flash"
	d.body, _ = json.Marshal(map[string]any{
		"model": d.modelID, "stream": true,
		"messages": []map[string]string{{"role": "user", "content": msgs[0].Text}},
	})
	d.describe()

	if err := d.startupTimes(); err != nil {
		return err
	}
	want := map[string]bool{}
	for _, c := range strings.Split(o.cases, ",") {
		want[strings.TrimSpace(c)] = true
	}
	rounds := map[int]int{1: 400, 100: 20, 1000: 5}
	if o.quick {
		rounds = map[int]int{1: 50, 100: 2, 1000: 1}
	}
	var fast []int
	for _, n := range []int{1, 100, 1000} {
		if want[strconv.Itoa(n)] {
			fast = append(fast, n)
		}
	}
	if len(fast) > 0 {
		if err := d.phase("fast", 0, o.deltas, func(p *phase) error {
			for _, n := range fast {
				if err := p.runCase(strconv.Itoa(n), bench.Load{Streams: n, Rounds: rounds[n], WantDeltas: o.deltas}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	if want["slow"] {
		n := 1000
		if o.quick {
			n = 100
		}
		name := fmt.Sprintf("%d slow", n)
		if err := d.phase("slow", o.slowDelay, o.slowDeltas, func(p *phase) error {
			return p.runCase(name, bench.Load{Streams: n, Rounds: 1, Ramp: o.slowRamp, Record: true, WantDeltas: o.slowDeltas})
		}); err != nil {
			return err
		}
	}
	d.targets()
	d.rep.Print(os.Stdout)
	if o.out != "" {
		b, _ := json.MarshalIndent(d.rep, "", "  ")
		if err := os.WriteFile(o.out, append(b, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "gwbench: wrote", o.out)
	}
	return nil
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run gwbench inside the gemini-gateway module")
	}
	return filepath.Dir(mod), nil
}

func (d *driver) describe() {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(b))
	}
	d.rep.Date = time.Now().UTC().Format(time.RFC3339)
	d.rep.Machine = map[string]string{
		"cores": strconv.Itoa(runtime.NumCPU()), "cpu": cpu, "go": runtime.Version(),
		"os": runtime.GOOS + "/" + runtime.GOARCH, "kernel": kernel,
	}
	d.rep.Config = map[string]any{
		"deltas_per_stream": d.o.deltas, "delta_text": d.o.text,
		"slow_element_delay_ms": bench.Ms(d.o.slowDelay), "slow_deltas_per_stream": d.o.slowDeltas,
		"slow_ramp_ms": bench.Ms(d.o.slowRamp), "gateway_accounts": d.o.accounts, "quick": d.o.quick,
		"model": d.modelID, "fake_split_writes": false,
	}
}

// startupTimes starts the headless gateway o.starts times with the env
// account only (no secret key, so no key derivation) and records exec →
// /healthz.
func (d *driver) startupTimes() error {
	if d.o.starts <= 0 {
		return nil
	}
	d.phaseLog("timing %d headless starts", d.o.starts)
	a := fakeupstream.DemoAccount(1)
	for i := range d.o.starts {
		dir := filepath.Join(d.tmp, fmt.Sprintf("start-%d", i))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		port, err := bench.FreePort()
		if err != nil {
			return err
		}
		log, err := os.Create(filepath.Join(dir, "gateway.log"))
		if err != nil {
			return err
		}
		base := fmt.Sprintf("http://127.0.0.1:%d", port)
		// The upstream URLs point at a closed port: start-up must not
		// depend on the upstream (health checks are off).
		c, err := bench.StartGateway(d.gwBin, []string{
			"HOST=127.0.0.1", "PORT=" + strconv.Itoa(port), "GATEWAY_DATA_DIR=" + filepath.Join(dir, "data"),
			"HEALTH_CHECK_ENABLED=false", "GEMINI_BUSINESS_URL=http://127.0.0.1:9/business",
			"GEMINI_AUTH_URL=http://127.0.0.1:9/auth", "GEMINI_API_URL=http://127.0.0.1:9/api",
			"SECURE_C_SES=" + a.SecureCSES, "HOST_C_OSES=" + a.HostCOSES, "CSESIDX=" + a.CSESIDX, "CONFIG_ID=" + a.ConfigID,
		}, dir, base, log)
		if err != nil {
			log.Close()
			return err
		}
		d.rep.Startup.GatewayHealthzMs = append(d.rep.Startup.GatewayHealthzMs, bench.Ms(c.Ready.Sub(c.Started)))
		c.Stop(5 * time.Second)
		log.Close()
	}
	xs := slices.Clone(d.rep.Startup.GatewayHealthzMs)
	slices.Sort(xs)
	d.rep.Startup.MedianMs = xs[len(xs)/2]
	if len(xs)%2 == 0 {
		d.rep.Startup.MedianMs = (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
	}
	return nil
}

// phase is one fake upstream and one gateway process, fresh.
type phase struct {
	d       *driver
	name    string
	delay   time.Duration
	deltas  int
	fake    *bench.Child
	fakeURL string
	gw      *bench.Child
	gwURL   string
	key     string
	admin   string // ADMIN_KEY of the gateway under test (admin API, pprof)
	direct  *bench.Direct
	sse     *bench.SSE
	gwAccts []string // CSESIDX of the gateway's accounts
}

func (d *driver) phase(name string, delay time.Duration, deltas int, body func(*phase) error) error {
	p := &phase{d: d, name: name, delay: delay, deltas: deltas}
	dir := filepath.Join(d.tmp, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	d.phaseLog("phase %s: starting the fake upstream (element delay %s) and the gateway", name, delay)
	fakeLog, err := os.Create(filepath.Join(dir, "fake.log"))
	if err != nil {
		return err
	}
	defer fakeLog.Close()
	n := d.o.accounts
	fake, fenv, err := bench.StartFake(d.fakeBin, []string{
		"-scenario", fakeupstream.ScenarioBench, "-split=false", "-seed", "1",
		"-accounts", strconv.Itoa(2 * n), "-bench-deltas", strconv.Itoa(deltas), "-bench-text", d.o.text,
		"-element-delay", delay.String(),
	}, dir, fakeLog)
	if err != nil {
		return err
	}
	p.fake = fake
	defer fake.Stop(5 * time.Second)
	p.fakeURL = strings.TrimSuffix(fenv["GEMINI_API_URL"], "/api")

	port, err := bench.FreePort()
	if err != nil {
		return err
	}
	p.key = "gwbench-" + randHex(16)
	p.admin = "gwbench-admin-" + randHex(16)
	p.gwURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	gwLog, err := os.Create(filepath.Join(dir, "gateway.log"))
	if err != nil {
		return err
	}
	defer gwLog.Close()
	genv := []string{
		"HOST=127.0.0.1", "PORT=" + strconv.Itoa(port), "API_KEY=" + p.key, "ADMIN_KEY=" + p.admin,
		"GATEWAY_DATA_DIR=" + filepath.Join(dir, "data"), "GATEWAY_SECRET_KEY=" + randHex(16),
		"HEALTH_CHECK_ENABLED=false", "PPROF=true", "SHUTDOWN_GRACE=2s",
	}
	for _, k := range []string{"GEMINI_BUSINESS_URL", "GEMINI_AUTH_URL", "GEMINI_API_URL", "SECURE_C_SES", "HOST_C_OSES", "CSESIDX", "CONFIG_ID"} {
		genv = append(genv, k+"="+fenv[k])
	}
	gw, err := bench.StartGateway(d.gwBin, genv, dir, p.gwURL, gwLog)
	if err != nil {
		return err
	}
	p.gw = gw
	defer gw.Stop(10 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Accounts 1..n serve the gateway (1 from the environment), n+1..2n
	// the direct client, so that the fake's getoxsrf counts separate them.
	p.gwAccts = append(p.gwAccts, fakeupstream.DemoAccount(1).CSESIDX)
	for i := 2; i <= n; i++ {
		a := fakeupstream.DemoAccount(i)
		if err := bench.AddAccount(ctx, p.gwURL, p.admin, map[string]any{
			"name": fmt.Sprintf("bench-%d", i), "secure_c_ses": a.SecureCSES, "host_c_oses": a.HostCOSES,
			"csesidx": a.CSESIDX, "config_id": a.ConfigID,
		}); err != nil {
			return err
		}
		p.gwAccts = append(p.gwAccts, a.CSESIDX)
	}
	var creds []upstream.Credentials
	for i := n + 1; i <= 2*n; i++ {
		a := fakeupstream.DemoAccount(i)
		creds = append(creds, upstream.Credentials{AccountID: "direct-" + strconv.Itoa(i), SecureCSES: a.SecureCSES,
			HostCOSES: a.HostCOSES, CSESIDX: a.CSESIDX, ConfigID: a.ConfigID})
	}
	up, err := upstream.New(upstream.Config{BusinessURL: fenv["GEMINI_BUSINESS_URL"], AuthURL: fenv["GEMINI_AUTH_URL"], APIURL: fenv["GEMINI_API_URL"]})
	if err != nil {
		return err
	}
	defer up.CloseIdleConnections()
	p.direct = &bench.Direct{Client: up, Creds: creds, Query: d.query, ModelID: d.modelID}
	tr := &http.Transport{MaxIdleConns: 0, MaxIdleConnsPerHost: 4096, IdleConnTimeout: 90 * time.Second, DisableCompression: true}
	defer tr.CloseIdleConnections()
	p.sse = &bench.SSE{HTTP: &http.Client{Transport: tr}, URL: p.gwURL + "/v1/chat/completions", APIKey: p.key, Body: d.body}

	if err := body(p); err != nil {
		return fmt.Errorf("phase %s: %w (logs in %s; -keep keeps them)", name, err, dir)
	}
	return p.getoxsrf(ctx)
}

// getoxsrf records the gateway accounts' getoxsrf counts over the life of
// this phase's gateway.
func (p *phase) getoxsrf(ctx context.Context) error {
	st, err := bench.ReadFakeStats(ctx, p.fakeURL)
	if err != nil {
		return fmt.Errorf("fake stats: %w", err)
	}
	life := time.Since(p.gw.Started)
	// The gateway refreshes a token 270 s into its 300 s life.
	allowed := int(math.Ceil(life.Seconds() / 270))
	for _, idx := range p.gwAccts {
		p.d.rep.Getoxsrf = append(p.d.rep.Getoxsrf, bench.GetoxsrfCount{
			Phase: p.name, Account: idx, Count: st.Getoxsrf[idx], Allowed: allowed, LifetimeS: life.Seconds(),
		})
	}
	return nil
}

// steadyWindow is how long the slow case measures CPU with every stream
// open: the streams overlap for about a second.
const steadyWindow = 500 * time.Millisecond

// usage is CPU time of the three processes at one moment.
type usage struct{ self, gw, fake time.Duration }

func (p *phase) usage() usage {
	u := usage{self: bench.SelfCPUTime()}
	u.gw, _ = bench.CPUTime(p.gw.Pid())
	u.fake, _ = bench.CPUTime(p.fake.Pid())
	return u
}

// runCase runs one load directly and then through the gateway.
func (p *phase) runCase(name string, l bench.Load) error {
	profile := p.d.o.cpuProfile != "" && name == p.d.o.profCase
	c := &bench.Case{Name: name, Streams: l.Streams, Rounds: l.Rounds, DelayMs: bench.Ms(p.delay), Deltas: p.deltas}
	for _, mode := range []string{"direct", "gateway"} {
		var s bench.Streamer = p.direct
		if mode == "gateway" {
			s = p.sse
		}
		if p.delay == 0 {
			// Warm-up: connections, tokens, the runtimes' first GC cycles.
			p.d.phaseLog("%s: warm-up, %s", name, mode)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			w := bench.Run(ctx, s, bench.Load{Streams: l.Streams, Rounds: 1, WantDeltas: l.WantDeltas}, nil)
			cancel()
			if sum := bench.Summarize(w, 0); sum.Errors > 0 {
				return fmt.Errorf("%s %s warm-up: %d of %d streams failed: %v", name, mode, sum.Errors, sum.Streams, sum.ErrorEx)
			}
		}
		p.d.phaseLog("%s: measuring %s (%d streams × %d rounds)", name, mode, l.Streams, l.Rounds)
		lm := l
		if mode == "gateway" && l.Record && p.d.o.control > 0 {
			lm.Control, lm.ControlStreams = p.direct, p.d.o.control
		}
		m, err := p.measure(s, lm, mode == "gateway", profile && mode == "gateway")
		if err != nil {
			return err
		}
		if mode == "direct" {
			c.Direct = m
		} else {
			c.Gateway = m
		}
	}
	if l.Streams == 1 && p.delay == 0 && p.d.o.pairs > 0 {
		// Time to first token of one stream from the alternating run: the
		// separate runs above are minutes apart on a machine that may be
		// doing other things, which swamps a sub-millisecond difference.
		p.d.phaseLog("%s: time to first token, %d alternating pairs", name, p.d.o.pairs)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		od, og := bench.Paired(ctx, p.direct, p.sse, p.d.o.pairs, l.WantDeltas)
		cancel()
		sd, sg := bench.Summarize(od, 0), bench.Summarize(og, 0)
		c.Direct.TTFTOwnRunP50, c.Direct.TTFTOwnRunP99 = c.Direct.TTFTP50, c.Direct.TTFTP99
		c.Gateway.TTFTOwnRunP50, c.Gateway.TTFTOwnRunP99 = c.Gateway.TTFTP50, c.Gateway.TTFTP99
		c.Direct.TTFTP50, c.Direct.TTFTP99, c.Direct.PairErrors = sd.TTFTP50, sd.TTFTP99, sd.Errors
		c.Gateway.TTFTP50, c.Gateway.TTFTP99, c.Gateway.PairErrors = sg.TTFTP50, sg.TTFTP99, sg.Errors
		c.Direct.Errors += sd.Errors
		c.Gateway.Errors += sg.Errors
		c.Direct.ErrorEx = append(c.Direct.ErrorEx, sd.ErrorEx...)
		c.Gateway.ErrorEx = append(c.Gateway.ErrorEx, sg.ErrorEx...)
		c.TTFTFromPairs = p.d.o.pairs
	}
	c.Fill()
	p.d.rep.Cases = append(p.d.rep.Cases, c)
	return nil
}

// measure runs one load and collects CPU, memory and the summary.
func (p *phase) measure(s bench.Streamer, l bench.Load, viaGateway, profile bool) (bench.Mode, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	pid := p.gw.Pid()

	// Idle baselines for per-stream memory (slow streams only).
	var heap0 bench.Heap
	var rss0 int64
	var self0 runtime.MemStats
	if l.Record {
		if viaGateway {
			var err error
			if heap0, err = bench.ReadHeap(ctx, p.gwURL, p.admin); err != nil {
				return bench.Mode{}, fmt.Errorf("gateway heap: %w", err)
			}
			m, _ := bench.ReadMem(pid)
			rss0 = m.RSS
		} else {
			runtime.GC()
			runtime.ReadMemStats(&self0)
		}
	}

	// Peak RSS: VmHWM reset at the start, and sampling in case the
	// kernel does not support the reset.
	_ = bench.ResetPeak(pid)
	var peak atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if m, err := bench.ReadMem(pid); err == nil && m.RSS > peak.Load() {
				peak.Store(m.RSS)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()

	// Per-stream memory: sampled once, when every stream is open.
	var open atomic.Int64
	var mode bench.Mode
	var sampleErr error
	if l.Record {
		wg.Add(1)
		go func() {
			defer wg.Done()
			deadline := time.Now().Add(l.Ramp + time.Duration(p.deltas)*p.delay)
			for open.Load() < int64(l.Streams) && time.Now().Before(deadline) {
				time.Sleep(2 * time.Millisecond)
			}
			// Steady state: CPU over a window in which every stream is open
			// and none is being set up, so it is the cost of holding and
			// relaying them, not of accepting them.
			if open.Load() == int64(l.Streams) {
				ta, ua := time.Now(), p.usage()
				time.Sleep(steadyWindow)
				tb, ub := time.Now(), p.usage()
				if open.Load() == int64(l.Streams) {
					mode.Steady = &bench.Steady{WindowS: tb.Sub(ta).Seconds(), From: ta, To: tb,
						GatewayCores: (ub.gw - ua.gw).Seconds() / tb.Sub(ta).Seconds(),
						ClientCores:  (ub.self - ua.self).Seconds() / tb.Sub(ta).Seconds(),
						FakeCores:    (ub.fake - ua.fake).Seconds() / tb.Sub(ta).Seconds()}
				}
			}
			n := open.Load()
			mode.OpenAtSample = int(n)
			if viaGateway {
				if p.d.o.keep {
					if g, err := bench.GetText(ctx, p.gwURL+"/debug/pprof/goroutine?debug=1", p.admin); err == nil {
						_ = os.WriteFile(filepath.Join(p.d.tmp, p.name, "goroutines.txt"), []byte(g), 0o644)
					}
				}
				h, err := bench.ReadHeap(ctx, p.gwURL, p.admin)
				if err != nil {
					sampleErr = err
					return
				}
				m, _ := bench.ReadMem(pid)
				mode.HeapPerStreamKB = float64(h.HeapAlloc-heap0.HeapAlloc) / 1024 / float64(n)
				mode.StackPerStrKB = float64(h.StackInuse-heap0.StackInuse) / 1024 / float64(n)
				mode.RSSPerStreamKB = float64(m.RSS-rss0) / 1024 / float64(n)
				mode.Goroutines = h.Goroutines
			} else {
				var ms runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&ms)
				mode.HeapPerStreamKB = (float64(ms.HeapAlloc) - float64(self0.HeapAlloc)) / 1024 / float64(n)
				mode.StackPerStrKB = (float64(ms.StackInuse) - float64(self0.StackInuse)) / 1024 / float64(n)
				mode.Goroutines = runtime.NumGoroutine()
			}
		}()
	}
	if profile {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := bench.SaveCPUProfile(ctx, p.gwURL, p.admin, 5*time.Second, p.d.o.cpuProfile); err != nil {
				fmt.Fprintln(os.Stderr, "gwbench: cpu profile:", err)
			} else {
				fmt.Fprintln(os.Stderr, "gwbench: wrote", p.d.o.cpuProfile)
			}
		}()
	}

	u0 := p.usage()
	out := bench.Run(ctx, s, l, &open)
	u1 := p.usage()
	close(stop)
	wg.Wait()
	if sampleErr != nil {
		return mode, sampleErr
	}
	sum := bench.Summarize(out, p.delay)
	mode.Summary = sum
	if st := mode.Steady; st != nil {
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
			if viaGateway {
				cpu = st.GatewayCores
			}
			st.CPUPerDeltaUs = cpu * st.WindowS * 1e6 / float64(st.Deltas)
		}
	}
	all := sum.Deltas
	if out.Control != nil {
		ctl := bench.Summarize(bench.Outcome{Results: out.Control, Wall: out.Wall}, p.delay)
		mode.Control = &ctl
		all += ctl.Deltas
	}
	if sum.Deltas > 0 {
		// The client and the fake also served the control group.
		per := func(d time.Duration, n int) float64 { return d.Seconds() * 1000 / float64(n) }
		mode.ClientCPUPer1k = per(u1.self-u0.self, all)
		mode.FakeCPUPer1k = per(u1.fake-u0.fake, all)
		if viaGateway {
			mode.CPUPer1k = per(u1.gw-u0.gw, sum.Deltas)
		} else {
			mode.CPUPer1k = mode.ClientCPUPer1k
		}
	}
	if viaGateway {
		m, _ := bench.ReadMem(pid)
		mode.PeakRSSMB = float64(max(peak.Load(), m.Peak)) / (1 << 20)
	}
	return mode, nil
}

// targets judges the run against the goals in bench/README.md.
func (d *driver) targets() {
	r := d.rep
	find := func(name string) *bench.Case {
		for _, c := range r.Cases {
			if c.Name == name {
				return c
			}
		}
		return nil
	}
	add := func(t bench.Target) { r.Targets = append(r.Targets, t) }
	if c := find("1"); c != nil {
		add(bench.Target{Name: "added time to first token, 1 stream, p50", Value: c.AddedTTFTP50Ms, Unit: "ms",
			Limit: "≤ 1 ms", Pass: c.AddedTTFTP50Ms <= 1 && c.Gateway.Errors == 0, Source: "case 1, alternating pairs: gateway p50 − direct p50"})
	}
	for _, c := range r.Cases {
		if c.DelayMs == 0 {
			continue
		}
		src := "case " + c.Name
		errs := c.Gateway.Errors + c.Direct.Errors
		if c.Gateway.Control != nil {
			errs += c.Gateway.Control.Errors
		}
		add(bench.Target{Name: "slow streams: errors", Value: float64(errs), Limit: "0",
			Pass: errs == 0, Source: src + " (gateway, direct and control)"})
		add(bench.Target{Name: "slow streams: gateway peak RSS", Value: c.Gateway.PeakRSSMB, Unit: "MB", Limit: "≤ 200 MB",
			Pass: c.Gateway.PeakRSSMB > 0 && c.Gateway.PeakRSSMB <= 200, Source: src})
		ref := "direct"
		if c.Gateway.Control != nil {
			ref = "control group"
		}
		add(bench.Target{Name: "slow streams: added delay per delta, p99", Value: c.AddedDelayP99Ms, Unit: "ms", Limit: "≤ 20 ms",
			Pass: c.Gateway.Errors == 0 && c.AddedDelayP99Ms <= 20, Source: src + ": delay p99, gateway − " + ref})
		if c.Streams < 1000 {
			r.Notes = append(r.Notes, "the slow case ran with fewer than 1,000 streams (-quick): its targets are indicative only")
		}
	}
	worst, src := 0.0, ""
	for _, c := range r.Cases {
		if c.DelayMs == 0 && c.Ratio.CPUPer1k > worst {
			worst, src = c.Ratio.CPUPer1k, "case "+c.Name
		}
	}
	if src != "" {
		add(bench.Target{Name: "gateway CPU per delta / direct client's", Value: worst, Unit: "x", Limit: "≤ 3x",
			Pass: worst <= 3, Source: "worst fast case (" + src + ")"})
	}
	if len(r.Getoxsrf) > 0 {
		most, ok := 0, true
		for _, g := range r.Getoxsrf {
			most = max(most, g.Count)
			ok = ok && g.Count <= g.Allowed && g.Count > 0
		}
		add(bench.Target{Name: "getoxsrf per account per JWT lifetime", Value: float64(most), Unit: "calls", Limit: "≤ 1 per 270 s",
			Pass: ok, Source: "fake's count per gateway account, each phase"})
	}
	if len(r.Startup.GatewayHealthzMs) > 0 {
		add(bench.Target{Name: "headless exec → /healthz, median", Value: r.Startup.MedianMs, Unit: "ms", Limit: "≤ 300 ms",
			Pass: r.Startup.MedianMs <= 300, Source: fmt.Sprintf("%d starts (GUI figures: bench/desktop.sh)", len(r.Startup.GatewayHealthzMs))})
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
