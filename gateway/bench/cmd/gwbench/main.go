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
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/bench"
	"github.com/gemgate/gemini-gateway/gateway/chat"
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
	var err error
	if *desktop {
		err = runDesktop(o, *guiBin, *dstarts, *idle)
	} else {
		err = run(o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gwbench:", err)
		os.Exit(1)
	}
}

// errTargets is returned, after the report is printed and written, when a
// target failed or could not be measured: `make bench` must not look green.
var errTargets = errors.New("targets FAIL")

// newDriver is a driver working in tmp with the binaries the options name.
func newDriver(o options, tmp string) *driver {
	return &driver{o: o, tmp: tmp, gwBin: o.gatewayBin, fakeBin: o.fakeBin, rep: &bench.Report{},
		phaseLog: func(format string, args ...any) { fmt.Fprintf(os.Stderr, "gwbench: "+format+"\n", args...) }}
}

// writeJSON writes v, indented, to path ("" = nowhere).
func writeJSON(path string, v any) error {
	if path == "" {
		return nil
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "gwbench: wrote", path)
	return nil
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
	d := newDriver(o, tmp)
	if err := d.build(); err != nil {
		return err
	}
	d.request()
	d.describe()
	if err := d.startupTimes(); err != nil {
		return err
	}
	if err := d.runCases(); err != nil {
		return err
	}
	d.targets()
	d.rep.Print(os.Stdout)
	if err := writeJSON(o.out, d.rep); err != nil {
		return err
	}
	if n := d.rep.Failed(); n > 0 {
		return fmt.Errorf("%w: %d of %d", errTargets, n, len(d.rep.Targets))
	}
	return nil
}

// build builds the binaries the options do not name.
func (d *driver) build() error {
	if d.gwBin != "" && d.fakeBin != "" {
		return nil
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	d.phaseLog("building the headless gateway and the fake upstream")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	gw, fake, err := bench.Build(ctx, root, d.tmp)
	if err != nil {
		return err
	}
	d.gwBin = cmp(d.gwBin, gw)
	d.fakeBin = cmp(d.fakeBin, fake)
	return nil
}

// request sets the one chat request every stream makes: the gateway's
// JSON body, and the flattened query the direct client sends upstream.
func (d *driver) request() {
	msgs := []chat.Message{{Role: chat.RoleUser, Text: "Say hello, many times."}}
	d.query = chat.Flatten(msgs)
	d.modelID = "gemini-2.5-flash"
	d.body, _ = json.Marshal(map[string]any{
		"model": d.modelID, "stream": true,
		"messages": []map[string]string{{"role": "user", "content": msgs[0].Text}},
	})
}

// runCases runs the cases -cases names: the fast ones in one phase, the
// slow one in a fresh phase.
func (d *driver) runCases() error {
	o := d.o
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
	if !want["slow"] {
		return nil
	}
	n := 1000
	if o.quick {
		n = 100
	}
	return d.phase("slow", o.slowDelay, o.slowDeltas, func(p *phase) error {
		return p.runCase(fmt.Sprintf("%d slow", n), bench.Load{Streams: n, Rounds: 1, Ramp: o.slowRamp, Record: true, WantDeltas: o.slowDeltas})
	})
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
		// Delay cannot see a hold-up that lasts to the end of a stream (it
		// cancels like drift); lateness can, drift included, which the
		// control group shares.
		add(bench.Target{Name: "slow streams: added lateness per delta, p99", Value: c.AddedLatenessP99Ms, Unit: "ms", Limit: "≤ 20 ms",
			Pass: c.Gateway.Errors == 0 && c.AddedLatenessP99Ms <= 20, Source: src + ": lateness p99, gateway − " + ref + " (sees hold-ups lasting to a stream's end)"})
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
