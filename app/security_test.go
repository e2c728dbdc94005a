package app

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
)

// otherUser makes a throwaway local user for the test (root only: CI runs
// as root) and returns a function that runs a command as that user.
func otherUser(t *testing.T) (name string, run func(args ...string) (string, error)) {
	t.Helper()
	if os.Geteuid() != 0 {
		unavailable(t, "acting as another local user needs root (useradd, runuser)")
	}
	for _, tool := range []string{"useradd", "userdel", "runuser", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			unavailable(t, tool+" not found")
		}
	}
	var b [4]byte
	rand.Read(b[:])
	name = "ggatk" + hex.EncodeToString(b[:])
	if out, err := exec.Command("useradd", "-M", "-N", "-s", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("userdel", name).Run() })
	return name, func(args ...string) (string, error) {
		out, err := exec.Command("runuser", append([]string{"-u", name, "--"}, args...)...).CombinedOutput()
		return string(out), err
	}
}

// F1 and F6, reproduced as the finding did: another local user, on
// loopback, against the headless binary started the way the README shows,
// tries to export the cookies, delete an account, read the admin key and
// read pprof's cmdline. Every attempt fails; the owner's admin key works.
func TestAnotherLocalUserCannotUseAdminAPI(t *testing.T) {
	_, as := otherUser(t)
	fake := fakeupstream.Start(fakeupstream.Options{})
	defer fake.Close()
	acct := fakeupstream.DemoAccount(1)
	fake.AddAccount(acct)
	port := freePort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	data := t.TempDir()
	os.Chmod(data, 0o755) // an existing, readable data directory: made private at start
	p := startHeadless(t, append(fakeEnv(fake, acct), "PORT="+strconv.Itoa(port), "GATEWAY_DATA_DIR="+data, "PPROF=true"))
	p.WaitServing(t, base)
	keyFile := filepath.Join(data, "admin.key")
	fi, err := os.Stat(keyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin.key: %v %v", fi, err)
	}
	if di, _ := os.Stat(data); di.Mode().Perm() != 0o700 {
		t.Errorf("data directory mode %#o, want 0700", di.Mode().Perm())
	}
	raw, _ := os.ReadFile(keyFile)
	admin := strings.TrimSpace(string(raw))
	out := p.Out.String()
	if !strings.Contains(out, keyFile) || strings.Contains(out, admin) {
		t.Fatalf("the log must name admin.key and never show the key:\n%s", out)
	}

	curl := func(args ...string) string {
		t.Helper()
		o, _ := as(append([]string{"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5"}, args...)...)
		return strings.TrimSpace(o)
	}
	attempts := map[string][]string{
		"export cookies":   {base + "/api/admin/accounts/export?include_secrets=true&confirm=yes"},
		"list accounts":    {base + "/api/admin/accounts"},
		"delete account":   {"-X", "DELETE", base + "/api/admin/accounts/-1"},
		"make a key":       {"-X", "POST", "-d", `{"name":"mine"}`, base + "/api/admin/keys"},
		"pprof cmdline":    {base + "/debug/pprof/cmdline"},
		"guessed key":      {"-H", "Authorization: Bearer sk-guess", base + "/api/admin/accounts"},
		"chat without key": {"-X", "POST", "-d", `{"messages":[{"role":"user","content":"x"}]}`, base + "/v1/chat/completions"},
	}
	for what, args := range attempts {
		if code := curl(args...); code != "401" {
			t.Errorf("%s as another user: HTTP %s, want 401", what, code)
		}
	}
	if o, err := as("cat", keyFile); err == nil || strings.Contains(o, admin) {
		t.Errorf("another user read admin.key: %q", o)
	}
	// The owner makes a client key; given to a client (which the other user
	// may be), it serves chat but still not the admin API.
	req, _ := http.NewRequest("POST", base+"/api/admin/keys", strings.NewReader(`{"name":"Open WebUI"}`))
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("owner makes a key: %v %v", resp, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	ck := jsonField(string(body), "key")
	if code := curl("-H", "Authorization: Bearer "+ck, base+"/api/admin/accounts/export?include_secrets=true&confirm=yes"); code != "403" {
		t.Errorf("client key on the export: HTTP %s, want 403", code)
	}
	if code := curl("-H", "Authorization: Bearer "+ck, base+"/debug/pprof/cmdline"); code != "403" {
		t.Errorf("client key on pprof: HTTP %s, want 403", code)
	}
	if code := curl("-H", "Authorization: Bearer "+ck, "-X", "POST", "-d", `{"messages":[{"role":"user","content":"x"}]}`, base+"/v1/chat/completions"); code != "200" {
		t.Errorf("client key on chat: HTTP %s, want 200", code)
	}
	if out := p.Out.String(); strings.Contains(out, ck) || strings.Contains(out, acct.SecureCSES) {
		t.Error("a key or cookie reached the log")
	}
}

func jsonField(s, name string) string {
	_, after, ok := strings.Cut(s, `"`+name+`":"`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, `"`)
	return v
}

// F4, reproduced: another local user plants a .env in a directory the
// gateway reads (here a shared, world-writable one) that would send the
// cookies to their server; start-up stops and names the file. A .env of
// ours that others may change is refused too; a private one is read and
// its path logged.
func TestDotEnvFromAnotherUserRefused(t *testing.T) {
	_, as := otherUser(t)
	shared, err := os.MkdirTemp("", "gg-shared-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(shared) })
	os.Chmod(shared, 0o1777)
	planted := filepath.Join(shared, ".env")
	if o, err := as("sh", "-c", "printf 'GEMINI_API_URL=http://attacker.example\\nCORS_ORIGINS=*\\n' > "+planted); err != nil {
		t.Fatalf("plant: %v %s", err, o)
	}
	_, err = DotEnvLayers(shared)
	if err == nil || !strings.Contains(err.Error(), planted) || !strings.Contains(err.Error(), "not to you") {
		t.Fatalf("planted .env: %v", err)
	}
	if _, err := Load(Options{EnvFile: planted}, nil); err == nil || !strings.Contains(err.Error(), planted) {
		t.Fatalf("-env-file of another user: %v", err)
	}

	mine := t.TempDir()
	p := filepath.Join(mine, ".env")
	os.WriteFile(p, []byte("LOG_LEVEL=debug\n"), 0o600)
	for _, mode := range []os.FileMode{0o666, 0o620, 0o602} {
		os.Chmod(p, mode)
		if _, err := DotEnvLayers(mine); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("mode %#o accepted: %v", mode, err)
		}
	}
	os.Chmod(p, 0o644)
	layers, err := DotEnvLayers(mine)
	if err != nil || len(layers) != 1 || layers[0].Vars["LOG_LEVEL"] != "debug" {
		t.Fatalf("a private .env: %v %v", layers, err)
	}
	// Accepted files are logged, path only.
	cfg, err := Resolve(append([]Layer{}, layers...))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir, cfg.EnvFiles, cfg.LogLevel = t.TempDir(), []string{p}, "info"
	logs := &lockedBuffer{}
	a, err := Build(t.Context(), cfg, logs)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(t.Context())
	if !strings.Contains(logs.String(), fmt.Sprintf("path=%s", p)) {
		t.Errorf("accepted .env not logged:\n%s", logs.String())
	}
}
