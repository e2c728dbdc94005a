//go:build wine_e2e

package wine

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
	"github.com/gemgate/gemini-gateway/internal/proctest"
)

// The packaged Windows build under Wine, against the fake upstream on
// 127.0.0.1, with the app's default data directory (%APPDATA%) and the
// real (Wine) Credential Manager:
//
//  1. gemini-gateway-headless.exe (console): an account added through the
//     admin API, a streamed chat, Ctrl-C (SIGINT) stops it gracefully.
//  2. "Gemini Gateway.exe" -headless (GUI subsystem, no console): the
//     account is still there, its secrets come back from Credential
//     Manager (a chat works, the database holds no secret), the log is in
//     %APPDATA%\gemini-gateway\gateway.log.
//  3. "Gemini Gateway.exe" (the desktop app) under Xvfb: its window is
//     captured (WINE_SCREENSHOT), a second launch is refused, and a "quit"
//     on the single-instance channel stops it gracefully.
//
// Environment: WINDOWS_ZIP (the dist zip), WINE_EXEC (.ci/wine/exec),
// WINEPREFIX (the prefix WINE_EXEC uses).
func TestPackagedWindowsBuild(t *testing.T) {
	zipPath, wineExec, prefix := os.Getenv("WINDOWS_ZIP"), os.Getenv("WINE_EXEC"), os.Getenv("WINEPREFIX")
	if zipPath == "" || wineExec == "" || prefix == "" {
		t.Fatal("WINDOWS_ZIP, WINE_EXEC and WINEPREFIX must be set (make test-windows sets them)")
	}
	dir := unzip(t, zipPath)
	headlessExe := findFile(t, dir, "gemini-gateway-headless.exe")
	guiExe := findFile(t, dir, "Gemini Gateway.exe")

	user := os.Getenv("USER")
	if user == "" {
		user = "root"
	}
	dataDir := filepath.Join(prefix, "drive_c", "users", user, "AppData", "Roaming", "gemini-gateway")
	os.RemoveAll(dataDir) // a previous run's, in the reused prefix
	t.Cleanup(func() { os.RemoveAll(dataDir) })

	fake := fakeupstream.Start(fakeupstream.Options{})
	defer fake.Close()
	acct := fakeupstream.DemoAccount(1)
	fake.AddAccount(acct)
	const apiKey, adminKey = "wine-e2e-key", "wine-e2e-admin-key"
	port := proctest.FreePort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	env := []string{
		"GEMINI_BUSINESS_URL=" + fake.BusinessURL(), "GEMINI_AUTH_URL=" + fake.AuthURL(), "GEMINI_API_URL=" + fake.APIURL(),
		"PORT=" + strconv.Itoa(port), "API_KEY=" + apiKey, "ADMIN_KEY=" + adminKey, "HEALTH_CHECK_ENABLED=false",
	}
	call := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		key := apiKey
		if strings.HasPrefix(path, "/api/admin/") {
			key = adminKey // the admin API takes the admin credential only
		}
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	chat := func(prompt string) string {
		t.Helper()
		code, body := call("POST", "/v1/chat/completions", `{"model":"gemini-2.5-pro","stream":true,"messages":[{"role":"user","content":"`+prompt+`"}]}`)
		if code != 200 || !strings.HasSuffix(strings.TrimSpace(body), "data: [DONE]") || strings.Count(body, "data: ") < 4 {
			t.Fatalf("chat stream: %d\n%s", code, body)
		}
		return body
	}

	// 1. The console build.
	p := start(t, wineExec, headlessExe, env)
	p.WaitServing(t, base)
	code, body := call("POST", "/api/admin/accounts", fmt.Sprintf(`{"name":"wine-e2e","secure_c_ses":%q,"host_c_oses":%q,"csesidx":%q,"config_id":%q}`,
		acct.SecureCSES, acct.HostCOSES, acct.CSESIDX, acct.ConfigID))
	if code != 201 {
		t.Fatalf("add account: %d %s", code, body)
	}
	chat("Hello from Wine")
	p.Cmd.Process.Signal(syscall.SIGINT)
	if code := p.Wait(t, 30*time.Second); code != 0 {
		t.Fatalf("console build after Ctrl-C: exit code %d", code)
	}
	if !strings.Contains(p.Out.String(), "shutting down") {
		t.Fatal("no graceful shutdown in the output")
	}

	// 2. The packaged GUI executable, headless.
	p = start(t, wineExec, guiExe, append(env, "-headless"))
	p.WaitServing(t, base)
	code, body = call("GET", "/api/admin/accounts", "")
	var list struct {
		Accounts []struct {
			Name          string `json:"name"`
			SecretBackend string `json:"secret_backend"`
		} `json:"accounts"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil || code != 200 {
		t.Fatalf("list accounts: %d %v %s", code, err, body)
	}
	if len(list.Accounts) != 1 || list.Accounts[0].Name != "wine-e2e" || list.Accounts[0].SecretBackend != "keychain" {
		t.Fatalf("after the restart: %s", body)
	}
	chat("Hello again") // needs the secrets, read back from Credential Manager
	for _, f := range []string{"gateway.db", "gateway.db-wal"} {
		b, _ := os.ReadFile(filepath.Join(dataDir, f))
		if bytes.Contains(b, []byte(acct.SecureCSES)) || bytes.Contains(b, []byte(acct.HostCOSES)) {
			t.Fatalf("%s holds a secret: they belong in Credential Manager", f)
		}
	}
	p.Kill()
	logged, err := os.ReadFile(filepath.Join(dataDir, "gateway.log"))
	if err != nil || !strings.Contains(string(logged), "ready") {
		t.Fatalf(`%%APPDATA%%\gemini-gateway\gateway.log: %v\n%s`, err, logged)
	}
	if strings.Contains(string(logged), acct.SecureCSES) {
		t.Fatal("the log holds a secret")
	}

	// 3. The desktop app.
	if os.Getenv("DISPLAY") == "" {
		t.Fatal("DISPLAY is not set: run under Xvfb (make test does)")
	}
	desktop(t, wineExec, guiExe, env, dataDir, os.Getenv("WINE_SCREENSHOT"))

	// Clean up the prefix's Credential Manager through the app itself.
	p = start(t, wineExec, headlessExe, env)
	p.WaitServing(t, base)
	if code, body := call("DELETE", "/api/admin/accounts/1", ""); code != 200 && code != 204 {
		t.Errorf("delete account: %d %s", code, body)
	}
	p.Kill()
}

// startDesktop starts the desktop app and waits for its window. Under
// Wine the app's first window was once refused as the app started, less
// than a second after the headless exe had ended ("PlatformError: Win32:
// Failed to create helper window", GLFW's hidden first window, then a
// panic; one CI run in about ten). Why Wine refuses it is not proven; the
// timing points at Wine's desktop process closing as the last Wine process
// ends. Such a start is logged and tried once more; any other exit fails.
func startDesktop(t *testing.T, wineExec, exe string, env []string) (*proctest.Proc, string) {
	t.Helper()
	deadline := proctest.Deadline(t)
	for attempt := 1; ; attempt++ {
		p := start(t, wineExec, exe, env)
		for {
			out, _ := exec.Command("xdotool", "search", "--onlyvisible", "--name", "^Gemini Gateway$").Output()
			if wid := strings.TrimSpace(strings.Split(string(out), "\n")[0]); wid != "" {
				return p, wid
			}
			if p.Exited() || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !p.Exited() {
			t.Fatal("timed out waiting for the desktop window")
		}
		if attempt == 1 && strings.Contains(p.Out.String(), "Failed to create helper window") {
			t.Logf("Wine refused the app's first window; starting it once more. Its output:\n%s", p.Out)
			time.Sleep(2 * time.Second)
			continue
		}
		t.Fatalf("%s exited (code %d) while the test waited for the desktop window", filepath.Base(exe), p.Cmd.ProcessState.ExitCode())
	}
}

func desktop(t *testing.T, wineExec, exe string, env []string, dataDir, shot string) {
	p, wid := startDesktop(t, wineExec, exe, env)
	time.Sleep(3 * time.Second) // let it draw
	if shot == "" {
		shot = filepath.Join(t.TempDir(), "desktop.png")
	}
	if out, err := exec.Command("import", "-window", "root", shot).CombinedOutput(); err != nil {
		t.Fatalf("screenshot: %v %s", err, out)
	}
	out, err := exec.Command("identify", "-format", "%w %h %k", shot).Output()
	if err != nil {
		t.Fatal(err)
	}
	var w, h, colours int
	fmt.Sscanf(string(out), "%d %d %d", &w, &h, &colours)
	t.Logf("desktop window %s: screenshot %s, %dx%d, %d colours", wid, shot, w, h, colours)
	if colours < 50 {
		t.Fatalf("the screenshot has %d colours: the window did not render", colours)
	}

	// A second launch is told the app runs, and exits.
	second := start(t, wineExec, exe, env)
	if code := second.Wait(t, 60*time.Second); code != 0 || !strings.Contains(second.Out.String(), "already running") {
		t.Fatalf("second launch: exit %d", code)
	}
	// A graceful stop through the instance channel.
	if err := sendInstance(filepath.Join(dataDir, "instance.lock"), "quit"); err != nil {
		t.Fatalf("quit: %v", err)
	}
	if code := p.Wait(t, 60*time.Second); code != 0 {
		t.Fatalf("desktop app after quit: exit %d", code)
	}
	if !strings.Contains(p.Out.String(), "desktop app quitting") {
		t.Fatal("no graceful shutdown in the output")
	}
}

// sendInstance speaks the single-instance channel of the Windows build
// (internal/instance/instance_windows.go): the lock file holds the
// loopback port and a token.
func sendInstance(lockFile, msg string) error {
	b, err := os.ReadFile(lockFile)
	if err != nil {
		return err
	}
	var port int
	var token string
	if _, err := fmt.Sscanf(string(b), "%d %s", &port, &token); err != nil {
		return fmt.Errorf("lock file %q: %v", b, err)
	}
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "%s %s\n", token, msg)
	reply, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(reply) != "ok" {
		return fmt.Errorf("answer %q", reply)
	}
	return nil
}

// start runs exe under Wine; args after the environment entries are the
// program's arguments (those starting with "-").
func start(t *testing.T, wineExec, exe string, envAndArgs []string) *proctest.Proc {
	t.Helper()
	var env, args []string
	for _, s := range envAndArgs {
		if strings.HasPrefix(s, "-") {
			args = append(args, s)
		} else {
			env = append(env, s)
		}
	}
	cmd := exec.Command(wineExec, append([]string{exe}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = t.TempDir()
	return proctest.Start(t, cmd, filepath.Base(exe))
}

func unzip(t *testing.T, path string) string {
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	dir := t.TempDir()
	for _, f := range zr.File {
		dst := filepath.Join(dir, filepath.FromSlash(f.Name))
		if !strings.HasPrefix(dst, dir+string(filepath.Separator)) {
			t.Fatalf("zip entry outside the folder: %s", f.Name)
		}
		if f.FileInfo().IsDir() {
			continue
		}
		os.MkdirAll(filepath.Dir(dst), 0o755)
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil || os.WriteFile(dst, b, 0o755) != nil {
			t.Fatalf("unzip %s: %v", f.Name, err)
		}
	}
	return dir
}

func findFile(t *testing.T, dir, name string) string {
	var found string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Name() == name {
			found = p
		}
		return nil
	})
	if found == "" {
		t.Fatalf("%s is not in the zip", name)
	}
	return found
}
