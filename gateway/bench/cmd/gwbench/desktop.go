//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/bench"
	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
)

// desktopReport is what -desktop measures (bench/desktop.json).
type desktopReport struct {
	Date    string            `json:"date"`
	Machine map[string]string `json:"machine"`
	// Headless and GUI are exec → first 200 from /healthz, one per start.
	Headless startTimes `json:"headless_start"`
	GUI      startTimes `json:"gui_start"`
	// Idle is each binary left alone for IdleS seconds after start-up (the
	// GUI with its window hidden).
	IdleS        float64  `json:"idle_window_s"`
	IdleHeadless *idleUse `json:"idle_headless,omitempty"`
	IdleGUI      *idleUse `json:"idle_gui,omitempty"`
	GUINote      string   `json:"gui_note,omitempty"`
	Targets      []struct {
		Name  string  `json:"name"`
		Value float64 `json:"value"`
		Limit string  `json:"limit"`
		Pass  bool    `json:"pass"`
	} `json:"targets"`
}

type startTimes struct {
	Ms       []float64 `json:"ms"`
	MedianMs float64   `json:"median_ms"`
	MaxMs    float64   `json:"max_ms"`
}

// idleUse is what an idle process cost over the window.
type idleUse struct {
	CPUPercent float64 `json:"cpu_percent"` // of one core
	RSSMB      float64 `json:"rss_mb"`
	// WakeupsPerS are context switches of all its threads per second: a
	// busy-polling loop shows as hundreds or thousands.
	WakeupsPerS float64 `json:"wakeups_per_s"`
	Threads     int     `json:"threads"`
}

func (t *startTimes) add(ms float64) {
	t.Ms = append(t.Ms, ms)
	xs := slices.Sorted(slices.Values(t.Ms))
	t.MedianMs = xs[len(xs)/2]
	if len(xs)%2 == 0 {
		t.MedianMs = (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
	}
	t.MaxMs = xs[len(xs)-1]
}

// runDesktop measures start-up and idle cost of the headless and the GUI
// binary. The GUI part needs an X display and a D-Bus session
// (bench/desktop.sh runs this under xvfb-run and dbus-run-session).
func runDesktop(o options, guiBin string, starts int, idle time.Duration) error {
	tmp, err := os.MkdirTemp("", "gwbench-desktop-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	d := &driver{o: o, tmp: tmp, gwBin: o.gatewayBin, rep: nil}
	d.phaseLog = func(format string, args ...any) { fmt.Fprintf(os.Stderr, "gwbench: "+format+"\n", args...) }
	root := ""
	if d.gwBin == "" || guiBin == "" {
		if root, err = moduleRoot(); err != nil {
			return err
		}
	}
	if d.gwBin == "" {
		d.phaseLog("building the headless gateway")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		d.gwBin, _, err = bench.Build(ctx, root, tmp)
		cancel()
		if err != nil {
			return err
		}
	}
	var r desktopReport
	r.Date = time.Now().UTC().Format(time.RFC3339)
	d.rep = &bench.Report{}
	d.describe()
	r.Machine = d.rep.Machine
	r.IdleS = idle.Seconds()

	if os.Getenv("DISPLAY") == "" {
		r.GUINote = "no X display: GUI not measured (run bench/desktop.sh, which provides Xvfb and D-Bus)"
	} else if guiBin == "" {
		d.phaseLog("building the desktop app (cgo, Fyne)")
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		guiBin = filepath.Join(tmp, "gemini-gateway")
		cmd := exec.CommandContext(ctx, "go", "build", "-tags", "migrated_fynedo", "-trimpath", "-o", guiBin, ".")
		cmd.Dir = root
		out, berr := cmd.CombinedOutput()
		cancel()
		if berr != nil {
			r.GUINote = "the desktop app did not build: " + strings.TrimSpace(string(out))
			guiBin = ""
		}
	}

	d.phaseLog("timing %d headless starts", starts)
	for i := range starts {
		c, _, err := startDesktopBinary(d.gwBin, filepath.Join(tmp, fmt.Sprintf("h%d", i)), true, false)
		if err != nil {
			return err
		}
		r.Headless.add(bench.Ms(c.Ready.Sub(c.Started)))
		c.Stop(10 * time.Second)
	}
	if guiBin != "" && r.GUINote == "" {
		d.phaseLog("timing %d GUI starts (window shown)", starts)
		for i := range starts {
			c, log, err := startDesktopBinary(guiBin, filepath.Join(tmp, fmt.Sprintf("g%d", i)), false, false)
			if err != nil {
				r.GUINote = "the desktop app did not start: " + err.Error()
				break
			}
			c.Stop(10 * time.Second)
			if strings.Contains(log.String(), "serving headless") {
				r.GUINote = "this build has no GUI (it says: " + firstLine(log.String(), "serving headless") + ")"
				break
			}
			r.GUI.add(bench.Ms(c.Ready.Sub(c.Started)))
		}
	}

	// Idle: both binaries at once, so the window costs one wait.
	d.phaseLog("idle CPU and RSS over %s", idle)
	type idler struct {
		c   *bench.Child
		dst **idleUse
	}
	var idlers []idler
	h, _, err := startDesktopBinary(d.gwBin, filepath.Join(tmp, "idle-h"), true, true)
	if err != nil {
		return err
	}
	defer h.Stop(10 * time.Second)
	idlers = append(idlers, idler{h, &r.IdleHeadless})
	if guiBin != "" && r.GUINote == "" {
		g, _, err := startDesktopBinary(guiBin, filepath.Join(tmp, "idle-g"), false, true)
		if err != nil {
			r.GUINote = "the desktop app did not start: " + err.Error()
		} else {
			defer g.Stop(10 * time.Second)
			idlers = append(idlers, idler{g, &r.IdleGUI})
		}
	}
	// Let start-up work (first GC, font caches, the first frame) settle.
	time.Sleep(5 * time.Second)
	var wg sync.WaitGroup
	for _, it := range idlers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u, err := measureIdle(it.c.Pid(), idle)
			if err == nil {
				*it.dst = &u
			} else {
				fmt.Fprintln(os.Stderr, "gwbench: idle:", err)
			}
		}()
	}
	wg.Wait()

	addT := func(name string, v float64, limit string, pass bool) {
		r.Targets = append(r.Targets, struct {
			Name  string  `json:"name"`
			Value float64 `json:"value"`
			Limit string  `json:"limit"`
			Pass  bool    `json:"pass"`
		}{name, v, limit, pass})
	}
	addT("headless exec → /healthz, median (ms)", r.Headless.MedianMs, "≤ 300", r.Headless.MedianMs <= 300)
	if r.IdleGUI != nil {
		addT("GUI idle CPU, window hidden (% of a core)", r.IdleGUI.CPUPercent, "≤ 1", r.IdleGUI.CPUPercent <= 1)
		addT("GUI idle wake-ups per second (busy polling: hundreds)", r.IdleGUI.WakeupsPerS, "< 100", r.IdleGUI.WakeupsPerS < 100)
	} else {
		// A target that could not be measured fails; it must not vanish.
		// -1 stands for "no value" (JSON has no NaN).
		addT("GUI idle CPU, window hidden (% of a core): not measured", -1, "≤ 1", false)
		addT("GUI idle wake-ups per second: not measured", -1, "< 100", false)
	}
	printDesktop(&r)
	if o.out != "" {
		b, _ := json.MarshalIndent(&r, "", "  ")
		if err := os.WriteFile(o.out, append(b, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "gwbench: wrote", o.out)
	}
	return nil
}

func firstLine(s, with string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, with) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// startDesktopBinary starts a gateway binary the way a user would (the
// GUI without -headless), with one account from the environment pointing
// at a closed port and health checks off, so that nothing but start-up
// and idling is measured. It returns once /healthz answers.
func startDesktopBinary(bin, dir string, headless, hidden bool) (*bench.Child, *bytes.Buffer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	port, err := bench.FreePort()
	if err != nil {
		return nil, nil, err
	}
	a := fakeupstream.DemoAccount(1)
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "XDG_CONFIG_HOME=" + dir, "XDG_CACHE_HOME=" + dir,
		"LANG=en_US.UTF-8", "HOST=127.0.0.1", "PORT=" + strconv.Itoa(port), "GATEWAY_DATA_DIR=" + filepath.Join(dir, "data"),
		"HEALTH_CHECK_ENABLED=false", "GEMINI_BUSINESS_URL=http://127.0.0.1:9/business",
		"GEMINI_AUTH_URL=http://127.0.0.1:9/auth", "GEMINI_API_URL=http://127.0.0.1:9/api",
		"SECURE_C_SES=" + a.SecureCSES, "HOST_C_OSES=" + a.HostCOSES, "CSESIDX=" + a.CSESIDX, "CONFIG_ID=" + a.ConfigID,
	}
	// The GUI's own environment: display, session bus, runtime dir.
	for _, k := range []string{"DISPLAY", "XAUTHORITY", "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"} {
		if v, ok := os.LookupEnv(k); ok && !headless {
			env = append(env, k+"="+v)
		}
	}
	if hidden {
		env = append(env, "GATEWAY_UI_HIDDEN=1")
	}
	args := []string{}
	if headless {
		args = append(args, "-headless")
	}
	var log bytes.Buffer
	c, err := bench.StartChild("gateway", bin, args, env, dir, &lockedWriter{w: &log}, &lockedWriter{w: &log})
	if err != nil {
		return nil, nil, err
	}
	if err := bench.WaitHealthy(c, fmt.Sprintf("http://127.0.0.1:%d/healthz", port), 60*time.Second); err != nil {
		c.Stop(5 * time.Second)
		return nil, &log, fmt.Errorf("%w; its output: %s", err, strings.TrimSpace(log.String()))
	}
	return c, &log, nil
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// measureIdle samples a process's CPU, RSS and context switches over d.
func measureIdle(pid int, d time.Duration) (idleUse, error) {
	c0, err := bench.CPUTime(pid)
	if err != nil {
		return idleUse{}, err
	}
	s0, _ := bench.ContextSwitches(pid)
	t0 := time.Now()
	time.Sleep(d)
	c1, err := bench.CPUTime(pid)
	if err != nil {
		return idleUse{}, err
	}
	s1, threads := bench.ContextSwitches(pid)
	el := time.Since(t0)
	m, _ := bench.ReadMem(pid)
	return idleUse{
		CPUPercent:  100 * (c1 - c0).Seconds() / el.Seconds(),
		RSSMB:       float64(m.RSS) / (1 << 20),
		WakeupsPerS: float64(s1-s0) / el.Seconds(),
		Threads:     threads,
	}, nil
}

func printDesktop(r *desktopReport) {
	fmt.Printf("gemini-gateway desktop figures, %s, %s cores (%s)\n\n", r.Date, r.Machine["cores"], r.Machine["cpu"])
	fmt.Printf("headless exec → /healthz: median %.1f ms, max %.1f ms (%d starts)\n", r.Headless.MedianMs, r.Headless.MaxMs, len(r.Headless.Ms))
	// The GUI figure times the gateway inside the GUI binary answering
	// /healthz while the window is shown; it does not time the window.
	if len(r.GUI.Ms) > 0 {
		fmt.Printf("GUI      exec → /healthz: median %.1f ms, max %.1f ms (%d starts; the gateway inside the GUI binary, window shown)\n", r.GUI.MedianMs, r.GUI.MaxMs, len(r.GUI.Ms))
	} else {
		fmt.Println("GUI      exec → /healthz: not measured (FAIL)")
	}
	for _, x := range []struct {
		name string
		u    *idleUse
	}{{"headless", r.IdleHeadless}, {"GUI (window hidden)", r.IdleGUI}} {
		if x.u != nil {
			fmt.Printf("idle %-20s over %.0f s: CPU %.3f %% of a core, RSS %.1f MB, %.1f wake-ups/s, %d threads\n",
				x.name, r.IdleS, x.u.CPUPercent, x.u.RSSMB, x.u.WakeupsPerS, x.u.Threads)
		}
	}
	if r.GUINote != "" {
		fmt.Println("GUI:", r.GUINote)
	}
	fmt.Println()
	for _, t := range r.Targets {
		res := "PASS"
		if !t.Pass {
			res = "FAIL"
		}
		fmt.Printf("%-55s %10.2f  %-6s %s\n", t.Name, t.Value, t.Limit, res)
	}
}
