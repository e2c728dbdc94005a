//go:build !nogui

package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
	"github.com/gemgate/gemini-gateway/internal/proctest"
)

// guiBinary builds the desktop program once per test run.
var guiBinary = builtOnce(nil, "-tags", "migrated_fynedo")

// needDesktop skips (fails in strict mode) without an X server and a
// session bus: the tray is a D-Bus service of a real GUI process.
func needDesktop(t *testing.T) {
	t.Helper()
	if os.Getenv("DISPLAY") != "" && os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "" {
		if _, err := exec.LookPath("gdbus"); err == nil {
			return
		}
	}
	unavailable(t, "needs DISPLAY, a D-Bus session and gdbus (run inside `make test`)")
}

type trayItem struct {
	id      int
	label   string
	enabled bool
	toggle  string // "checkmark" or ""
	checked bool
}

var (
	itemRE   = regexp.MustCompile(`\((\d+), \{([^{}]*)\}`)
	labelRE  = regexp.MustCompile(`'label': <'((?:[^'\\]|\\.)*)'>`)
	enableRE = regexp.MustCompile(`'enabled': <(true|false)>`)
	toggleRE = regexp.MustCompile(`'toggle-type': <'([a-z]*)'>`)
	stateRE  = regexp.MustCompile(`'toggle-state': <(-?\d+)>`)
)

// tray talks to the app's StatusNotifierItem over the session bus, as a
// desktop panel does.
type tray struct {
	t    *testing.T
	dest string
	path string
}

func gdbus(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command("gdbus", append([]string{"call", "--session"}, args...)...).CombinedOutput()
	return string(out), err
}

// findTray waits for the app's tray on the session bus. The systray
// library asks for its bus name once Fyne's event loop has started, which
// on a loaded machine can take any time after /healthz answers: gdbus wait
// returns when the name appears, the app's exit fails the test at once,
// and otherwise the test's own deadline is the limit (proctest.Deadline).
func findTray(t *testing.T, app *desktopApp) *tray {
	t.Helper()
	dest := fmt.Sprintf("org.kde.StatusNotifierItem-%d-1", app.Cmd.Process.Pid)
	ctx, cancel := context.WithDeadline(context.Background(), proctest.Deadline(t))
	defer cancel()
	waited := make(chan error, 1)
	go func() {
		out, err := exec.CommandContext(ctx, "gdbus", "wait", "--session", "--timeout", "0", dest).CombinedOutput()
		if err != nil {
			err = fmt.Errorf("%w: %s", err, out)
		}
		waited <- err
	}()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("waiting for %s on the session bus: %v", dest, err)
		}
	case <-app.Done:
		cancel()
		<-waited
		t.Fatalf("the app exited (code %d) before its tray appeared", app.Cmd.ProcessState.ExitCode())
	}
	// The library exports the item's properties right after it takes the
	// name, on the same goroutine: a moment, no more.
	var out string
	app.Poll(t, "the tray's Menu property", func() bool {
		var err error
		out, err = gdbus(t, "--dest", dest, "--object-path", "/StatusNotifierItem",
			"--method", "org.freedesktop.DBus.Properties.Get", "org.kde.StatusNotifierItem", "Menu")
		return err == nil
	})
	m := regexp.MustCompile(`objectpath '([^']+)'`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("Menu property: %s", out)
	}
	return &tray{t: t, dest: dest, path: m[1]}
}

func (tr *tray) items() []trayItem {
	tr.t.Helper()
	out, err := gdbus(tr.t, "--dest", tr.dest, "--object-path", tr.path, "--method", "com.canonical.dbusmenu.GetLayout", "--", "0", "-1", "[]")
	if err != nil {
		tr.t.Fatalf("GetLayout: %v %s", err, out)
	}
	var items []trayItem
	for _, m := range itemRE.FindAllStringSubmatch(out, -1) {
		id, _ := strconv.Atoi(m[1])
		it := trayItem{id: id, enabled: true}
		if l := labelRE.FindStringSubmatch(m[2]); l != nil {
			it.label = l[1]
		}
		if e := enableRE.FindStringSubmatch(m[2]); e != nil {
			it.enabled = e[1] == "true"
		}
		if tt := toggleRE.FindStringSubmatch(m[2]); tt != nil {
			it.toggle = tt[1]
		}
		if s := stateRE.FindStringSubmatch(m[2]); s != nil {
			it.checked = s[1] == "1"
		}
		if id != 0 {
			items = append(items, it)
		}
	}
	return items
}

func (tr *tray) find(prefix string) (trayItem, bool) {
	for _, it := range tr.items() {
		if strings.HasPrefix(it.label, prefix) {
			return it, true
		}
	}
	return trayItem{}, false
}

func (tr *tray) click(it trayItem) {
	tr.t.Helper()
	if out, err := gdbus(tr.t, "--dest", tr.dest, "--object-path", tr.path, "--method", "com.canonical.dbusmenu.Event",
		"--", strconv.Itoa(it.id), "clicked", `<"">`, "0"); err != nil {
		tr.t.Fatalf("click %q: %v %s", it.label, err, out)
	}
}

// desktopApp is the real desktop binary running hidden (as after a log-in
// start) under the test's X server and session bus.
type desktopApp struct {
	*proctest.Proc
	data string
	port int
	base string
}

func startDesktopApp(t *testing.T, fake *fakeupstream.Server) *desktopApp {
	t.Helper()
	bin := guiBinary(t)
	port := freePort(t)
	data := t.TempDir()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "GATEWAY_DATA_DIR="+data, "PORT="+strconv.Itoa(port), "GATEWAY_UI_HIDDEN=1",
		"GEMINI_BUSINESS_URL="+fake.BusinessURL(), "GEMINI_AUTH_URL="+fake.AuthURL(), "GEMINI_API_URL="+fake.APIURL(),
		"HEALTH_CHECK_INTERVAL=3600", "XDG_RUNTIME_DIR="+t.TempDir())
	app := &desktopApp{Proc: proctest.Start(t, cmd, "app"), data: data, port: port, base: "http://127.0.0.1:" + strconv.Itoa(port)}
	app.WaitServing(t, app.base)
	return app
}

// mainThreadSwitches counts the context switches of the process's main
// thread, where Fyne's event loop runs: it wakes 60 times a second when
// the loop turns, and hardly ever when it sleeps.
func mainThreadSwitches(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/status", pid, pid))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 2 && strings.HasSuffix(f[0], "ctxt_switches:") {
			v, _ := strconv.Atoi(f[1])
			n += v
		}
	}
	return n
}

// quietestSecond is the fewest wake-ups of the main thread in one second,
// over up to three seconds: an app whose loop ticks wakes ~60 times in
// every one of them, a parked one hardly at all once the events of the
// moment (an account added, a check finished) have been handled.
func quietestSecond(t *testing.T, pid int) int {
	t.Helper()
	least := -1
	for range 3 {
		before := mainThreadSwitches(t, pid)
		time.Sleep(time.Second)
		n := mainThreadSwitches(t, pid) - before
		if least < 0 || n < least {
			least = n
		}
		if least <= 20 {
			break
		}
	}
	return least
}

// TestTrayMenuOverDBus runs the real desktop app under Xvfb and uses its
// tray menu the way a panel does: one checkable item per account, a click
// that disables the account (and persists), and Quit that exits cleanly.
func TestTrayMenuOverDBus(t *testing.T) {
	needDesktop(t)
	fake := fakeupstream.Start(fakeupstream.Options{})
	defer fake.Close()
	d1, d2 := fakeupstream.DemoAccount(31), fakeupstream.DemoAccount(32)
	fake.AddAccount(d1)
	fake.AddAccount(d2)
	app := startDesktopApp(t, fake)
	cmd, data, port, base := app.Cmd, app.data, app.port, app.base
	exited := app.Done
	// The desktop app made itself an API key on first run.
	saved, err := LoadSettings(data)
	if err != nil || !strings.HasPrefix(saved["API_KEY"], "sk-gg-") {
		t.Fatalf("no API key generated: %v %v", saved, err)
	}
	// It made its admin key too (admin.key, mode 0600), which the admin
	// API takes; the client key does not open it.
	keyFile := filepath.Join(data, "admin.key")
	fi, err := os.Stat(keyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin.key: %v %v", fi, err)
	}
	raw, _ := os.ReadFile(keyFile)
	key := strings.TrimSpace(string(raw))
	req, _ := http.NewRequest("GET", base+"/api/admin/accounts", nil)
	req.Header.Set("Authorization", "Bearer "+saved["API_KEY"])
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 403 {
		t.Fatalf("client key on the admin API: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	admin := func(method, path, body string) string {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	for i, d := range []fakeupstream.Account{d1, d2} {
		admin("POST", "/api/admin/accounts", fmt.Sprintf(`{"name":"tray-%d","secure_c_ses":%q,"csesidx":%q,"config_id":%q}`, i+1, d.SecureCSES, d.CSESIDX, d.ConfigID))
	}

	tr := findTray(t, app)
	var acct trayItem
	waitUntil(t, 10*time.Second, "both accounts in the tray, checked", func() bool {
		a, ok1 := tr.find("tray-1")
		b, ok2 := tr.find("tray-2")
		acct = a
		return ok1 && ok2 && a.checked && b.checked && a.toggle == "checkmark"
	})
	if status, ok := tr.find("Serving on 127.0.0.1:" + strconv.Itoa(port)); !ok || status.enabled {
		t.Errorf("status line: %+v (found %v) in %+v", status, ok, tr.items())
	}
	for _, want := range []string{"Stop gateway", "Copy base URL", "Copy API key", "Check health now", "Open window", "Quit"} {
		if _, ok := tr.find(want); !ok {
			t.Errorf("no %q item in %+v", want, tr.items())
		}
	}

	tr.click(acct)
	waitUntil(t, 5*time.Second, "the account disabled through the admin API", func() bool {
		var list struct {
			Accounts []struct {
				Name     string
				IsActive bool `json:"is_active"`
			}
		}
		json.Unmarshal([]byte(admin("GET", "/api/admin/accounts", "")), &list)
		for _, a := range list.Accounts {
			if a.Name == "tray-1" {
				return !a.IsActive
			}
		}
		return false
	})
	waitUntil(t, 5*time.Second, "the tray to show it off", func() bool {
		it, ok := tr.find("tray-1")
		return ok && !it.checked && strings.Contains(it.label, "disabled")
	})

	// With the window hidden the event loop sleeps (no 60 Hz ticker)...
	if n := quietestSecond(t, cmd.Process.Pid); n > 20 {
		t.Errorf("the hidden app's event loop woke %d times in a second", n)
	}
	// ...yet the clipboard it owns is served at once to another program.
	copyURL, _ := tr.find("Copy base URL")
	tr.click(copyURL)
	want := base + "/v1"
	var got string
	waitUntil(t, 10*time.Second, "the base URL on the clipboard", func() bool {
		got = pasteClipboard(t, 2*time.Second)
		return got == want
	})
	// Pasting again once the loop is back asleep is answered at once, not
	// at the next heartbeat (5 s).
	time.Sleep(300 * time.Millisecond)
	if got := pasteClipboard(t, time.Second); got != want {
		t.Errorf("second paste from the sleeping app = %q, want %q", got, want)
	}
	// And Open window brings it up.
	open, _ := tr.find("Open window")
	tr.click(open)
	waitUntil(t, 10*time.Second, "the window on screen", func() bool {
		out, _ := exec.Command("xdotool", "search", "--onlyvisible", "--name", "^Gemini Gateway$").Output()
		return strings.TrimSpace(string(out)) != ""
	})

	quit, _ := tr.find("Quit")
	tr.click(quit)
	select {
	case <-exited:
		if code := cmd.ProcessState.ExitCode(); code != 0 {
			t.Fatalf("exit code %d", code)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Quit did not end the app")
	}
}

// pasteClipboard reads the X clipboard as another program would, giving
// its owner wait to answer.
func pasteClipboard(t *testing.T, wait time.Duration) string {
	t.Helper()
	if _, err := exec.LookPath("xclip"); err != nil {
		t.Fatal("xclip is missing (make setup installs it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "xclip", "-selection", "clipboard", "-o").Output()
	return string(out)
}

// TestHiddenDesktopAppEndsOnSIGTERM: a signal reaches an app whose event
// loop is asleep, and it shuts down cleanly.
func TestHiddenDesktopAppEndsOnSIGTERM(t *testing.T) {
	needDesktop(t)
	fake := fakeupstream.Start(fakeupstream.Options{})
	defer fake.Close()
	app := startDesktopApp(t, fake)
	findTray(t, app)
	n := quietestSecond(t, app.Cmd.Process.Pid)
	t.Logf("main thread woke %d times in 1 s while hidden", n)
	if n > 20 {
		t.Errorf("the hidden app's event loop woke %d times in a second", n)
	}
	app.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-app.Done:
		if code := app.Cmd.ProcessState.ExitCode(); code != 0 {
			t.Fatalf("exit code %d", code)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("SIGTERM did not end the hidden app")
	}
}
