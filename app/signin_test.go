package app

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/app/internal/pgtest"
	"github.com/gemgate/gemini-gateway/gateway/signin"
	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
)

const (
	signinEmail    = "bob@example.com"
	signinConfigID = "6f1d0c3a-2b4e-4c8d-9e7f-1a2b3c4d5e6f"
)

// needBrowserDisplay skips (fails in strict mode) without a browser or an
// X display: the windowed sign-in needs both.
func needBrowserDisplay(t *testing.T) {
	t.Helper()
	if _, err := signin.FindBrowser(os.Getenv("BROWSER_PATH")); err != nil {
		unavailable(t, "no browser for the sign-in tests: "+err.Error()+" (make setup installs chromium)")
	}
	if os.Getenv("DISPLAY") == "" {
		unavailable(t, "no DISPLAY: the browser sign-in tests run under .ci/with-services (Xvfb)")
	}
}

// runSignInCmd runs gemini-gateway -signin NAME as a person at a desktop
// would; the fake site fills its login page in by itself (AutoFill).
func runSignInCmd(t *testing.T, name string, env []string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(headlessBinary(t), "-signin", name)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "DISPLAY=" + os.Getenv("DISPLAY"), "XAUTHORITY=" + os.Getenv("XAUTHORITY"), "LOG_LEVEL=debug"}, env...)
	cmd.Dir = t.TempDir()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("-signin did not finish in 90 s; stderr:\n%s", errb.String())
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// TestSignInCommandIntoPostgres: gemini-gateway -signin NAME on a desktop
// signs in with the browser and saves the account into a shared
// PostgreSQL pool, where a running instance picks it up and serves with
// it; signing in again later updates the same account in place.
func TestSignInCommandIntoPostgres(t *testing.T) {
	needBrowserDisplay(t)
	u, _ := pgtest.Schema(t)
	fake := fakeupstream.Start(fakeupstream.Options{})
	defer fake.Close()
	site, err := fake.StartSignInSite(fakeupstream.SignInSiteOptions{AutoFill: signinEmail})
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	site.AddUser(signinEmail, signinConfigID)

	key := "shared pool key for the sign-in test"
	b := startApp(t, fake, map[string]string{"DATABASE_URL": u, "GATEWAY_SECRET_KEY": key})
	env := []string{"DATABASE_URL=" + u, "GATEWAY_SECRET_KEY=" + key, "GATEWAY_DATA_DIR=" + t.TempDir(), "BROWSER_ARGS=" + site.BrowserArgs()}

	start := time.Now()
	code, stdout, stderr := runSignInCmd(t, "work", env)
	if code != 0 {
		t.Fatalf("-signin exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	t.Logf("-signin (process start to exit): %v", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(stdout, `Signed in: account "work"`) || !strings.Contains(stdout, "PostgreSQL") {
		t.Fatalf("stdout: %s", stdout)
	}
	findWork := func() (int64, bool) {
		for _, v := range b.Pool.Snapshot() {
			if v.Name == "work" {
				return v.ID, true
			}
		}
		return 0, false
	}
	waitUntil(t, 5*time.Second, "the running instance to see the signed-in account", func() bool { _, ok := findWork(); return ok })
	id, _ := findWork()
	if c, out := b.call(t, "POST", "/v1/chat/completions", fmt.Sprintf(chatBody, false, "hello from the signed-in account")); c != 200 {
		t.Fatalf("chat with the signed-in account: %d %s", c, out)
	}

	// The sign-in ends and the running instance notices (a refresh finds
	// the account needs sign-in); -signin again updates the same account in
	// place and brings it back.
	site.EndSignIns(signinEmail)
	if c, out := b.call(t, "POST", fmt.Sprintf("/api/admin/accounts/%d/refresh", id), ""); c != 200 || !strings.Contains(out, `"needs_sign_in"`) {
		t.Fatalf("refresh of an ended sign-in: %d %s", c, out)
	}
	code, stdout2, stderr2 := runSignInCmd(t, "work", env)
	if code != 0 {
		t.Fatalf("second -signin exit %d\nstdout: %s\nstderr: %s", code, stdout2, stderr2)
	}
	if !strings.Contains(stdout2, fmt.Sprintf("(id %d)", id)) {
		t.Fatalf("the second sign-in did not update account %d in place: %s", id, stdout2)
	}
	if site.SignInCount() != 2 {
		t.Fatalf("sign-ins on the site: %d", site.SignInCount())
	}
	waitUntil(t, 5*time.Second, "the chat to work with the new sign-in", func() bool {
		c, _ := b.call(t, "POST", "/v1/chat/completions", fmt.Sprintf(chatBody, false, "again"))
		return c == 200
	})

	// Nothing secret on the terminal or in the log of either process.
	for _, s := range []string{stdout, stderr, stdout2, stderr2, b.log.String()} {
		for _, acc := range fakeAccounts(fake) {
			for _, v := range []string{acc.SecureCSES, acc.HostCOSES, acc.CSESIDX} {
				if v != "" && strings.Contains(s, v) {
					t.Fatalf("a secret was printed or logged")
				}
			}
		}
	}

	// No browser: a clear message and a non-zero exit.
	code, _, stderr3 := runSignInCmd(t, "other", append(env, "BROWSER_PATH=/nonexistent/browser"))
	if code == 0 || !strings.Contains(stderr3, "BROWSER_PATH") {
		t.Fatalf("missing browser: exit %d, %s", code, stderr3)
	}
}

// fakeAccounts lists the accounts the sign-in site created on the fake.
func fakeAccounts(fake *fakeupstream.Server) []fakeupstream.Account {
	var out []fakeupstream.Account
	seen := map[string]bool{}
	for _, r := range fake.Requests() {
		if r.Path != "/auth/getoxsrf" {
			continue
		}
		idx := strings.TrimPrefix(r.RawQuery, "csesidx=")
		if i := strings.IndexByte(idx, '&'); i >= 0 {
			idx = idx[:i]
		}
		if a, ok := fake.Account(idx); ok && !seen[idx] {
			seen[idx] = true
			out = append(out, a)
		}
	}
	return out
}
