//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/bench"
	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
)

// desktopRun is one -desktop measurement: its temporary directory, the
// two binaries and the report being filled.
type desktopRun struct {
	d      *driver
	guiBin string // "" when the desktop app is not measured (r.GUINote says why)
	root   string
	r      bench.DesktopReport
}

// runDesktop measures start-up and idle cost of the headless and the GUI
// binary. The GUI part needs an X display and a D-Bus session
// (bench/desktop.sh runs this under xvfb-run and dbus-run-session). A GUI
// figure that cannot be measured is a failed target; failed targets make
// it return errTargets after the report is written.
func runDesktop(o options, guiBin string, starts int, idle time.Duration) error {
	tmp, err := os.MkdirTemp("", "gwbench-desktop-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	dr := &desktopRun{d: newDriver(o, tmp), guiBin: guiBin}
	if err := dr.buildHeadless(); err != nil {
		return err
	}
	dr.d.describe()
	dr.r.Date, dr.r.Machine, dr.r.IdleS = dr.d.rep.Date, dr.d.rep.Machine, idle.Seconds()
	dr.buildGUI()
	if err := dr.timeStarts(starts); err != nil {
		return err
	}
	if err := dr.measureIdle(idle); err != nil {
		return err
	}
	dr.r.Judge()
	dr.r.Print(os.Stdout)
	if err := writeJSON(o.out, &dr.r); err != nil {
		return err
	}
	if n := dr.r.Failed(); n > 0 {
		return fmt.Errorf("%w: %d of %d", errTargets, n, len(dr.r.Targets))
	}
	return nil
}

// buildHeadless builds the headless gateway unless -gateway-bin names one.
func (dr *desktopRun) buildHeadless() error {
	d := dr.d
	var err error
	if d.gwBin == "" || dr.guiBin == "" {
		if dr.root, err = moduleRoot(); err != nil {
			return err
		}
	}
	if d.gwBin != "" {
		return nil
	}
	d.phaseLog("building the headless gateway")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	d.gwBin, _, err = bench.Build(ctx, dr.root, d.tmp)
	return err
}

// buildGUI builds the desktop app unless -gui-bin names one; without an X
// display, or when it does not build, the GUI is not measured and
// r.GUINote says why.
func (dr *desktopRun) buildGUI() {
	if os.Getenv("DISPLAY") == "" {
		dr.r.GUINote = "no X display: GUI not measured (run bench/desktop.sh, which provides Xvfb and D-Bus)"
		dr.guiBin = ""
		return
	}
	if dr.guiBin != "" {
		return
	}
	dr.d.phaseLog("building the desktop app (cgo, Fyne)")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	bin := filepath.Join(dr.d.tmp, "gemini-gateway")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "migrated_fynedo", "-trimpath", "-o", bin, ".")
	cmd.Dir = dr.root
	if out, err := cmd.CombinedOutput(); err != nil {
		dr.r.GUINote = "the desktop app did not build: " + strings.TrimSpace(string(out))
		return
	}
	dr.guiBin = bin
}

// timeStarts times exec → /healthz of each binary, starts times.
func (dr *desktopRun) timeStarts(starts int) error {
	d, r := dr.d, &dr.r
	d.phaseLog("timing %d headless starts", starts)
	for i := range starts {
		c, _, err := startDesktopBinary(d.gwBin, filepath.Join(d.tmp, fmt.Sprintf("h%d", i)), true, false)
		if err != nil {
			return err
		}
		r.Headless.Add(bench.Ms(c.Ready.Sub(c.Started)))
		c.Stop(10 * time.Second)
	}
	if dr.guiBin == "" {
		return nil
	}
	d.phaseLog("timing %d desktop app starts (exec → its gateway's /healthz; the window is being shown)", starts)
	for i := range starts {
		c, log, err := startDesktopBinary(dr.guiBin, filepath.Join(d.tmp, fmt.Sprintf("g%d", i)), false, false)
		if err != nil {
			r.GUINote = "the desktop app did not start: " + err.Error()
			dr.guiBin = ""
			return nil
		}
		c.Stop(10 * time.Second)
		if strings.Contains(log.String(), "serving headless") {
			r.GUINote = "this build has no GUI (it says: " + firstLine(log.String(), "serving headless") + ")"
			dr.guiBin = ""
			return nil
		}
		r.GUI.Add(bench.Ms(c.Ready.Sub(c.Started)))
	}
	return nil
}

// measureIdle leaves both binaries idle at once, so the window costs one
// wait, and records each one's use.
func (dr *desktopRun) measureIdle(idle time.Duration) error {
	d, r := dr.d, &dr.r
	d.phaseLog("idle CPU and RSS over %s", idle)
	type idler struct {
		c   *bench.Child
		dst **bench.IdleUse
	}
	h, _, err := startDesktopBinary(d.gwBin, filepath.Join(d.tmp, "idle-h"), true, true)
	if err != nil {
		return err
	}
	defer h.Stop(10 * time.Second)
	idlers := []idler{{h, &r.IdleHeadless}}
	if dr.guiBin != "" {
		g, _, err := startDesktopBinary(dr.guiBin, filepath.Join(d.tmp, "idle-g"), false, true)
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
		wg.Go(func() {
			u, err := idleUse(it.c.Pid(), idle)
			if err != nil {
				fmt.Fprintln(os.Stderr, "gwbench: idle:", err)
				return
			}
			*it.dst = &u
		})
	}
	wg.Wait()
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

// idleUse samples a process's CPU, RSS and context switches over d.
func idleUse(pid int, d time.Duration) (bench.IdleUse, error) {
	c0, err := bench.CPUTime(pid)
	if err != nil {
		return bench.IdleUse{}, err
	}
	s0, _ := bench.ContextSwitches(pid)
	t0 := time.Now()
	time.Sleep(d)
	c1, err := bench.CPUTime(pid)
	if err != nil {
		return bench.IdleUse{}, err
	}
	s1, threads := bench.ContextSwitches(pid)
	el := time.Since(t0)
	m, _ := bench.ReadMem(pid)
	return bench.IdleUse{
		CPUPercent:  100 * (c1 - c0).Seconds() / el.Seconds(),
		RSSMB:       float64(m.RSS) / (1 << 20),
		WakeupsPerS: float64(s1-s0) / el.Seconds(),
		Threads:     threads,
	}, nil
}
