package app

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
	"github.com/gemgate/gemini-gateway/internal/proctest"
)

// headlessBinary builds the real program once per test run (without the
// GUI, so it needs neither cgo nor a display).
var headlessBinary = builtOnce([]string{"CGO_ENABLED=0"}, "-tags", "nogui")

// builtOnce returns a function that builds the program with the given
// environment and go build flags the first time it is called, and gives
// the binary's path (or fails the test) every time.
func builtOnce(env []string, flags ...string) func(t *testing.T) string {
	build := sync.OnceValues(func() (string, error) {
		dir, err := os.MkdirTemp("", "gemini-gateway-bin-")
		if err != nil {
			return "", err
		}
		bin := filepath.Join(dir, "gemini-gateway")
		cmd := exec.Command("go", append(append([]string{"build"}, flags...), "-o", bin, "..")...)
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("go build: %v\n%s", err, out)
		}
		return bin, nil
	})
	return func(t *testing.T) string {
		t.Helper()
		bin, err := build()
		if err != nil {
			t.Fatal(err)
		}
		return bin
	}
}

func freePort(t *testing.T) int { return proctest.FreePort(t) }

// startHeadless runs the headless binary with a clean environment, a data
// directory of its own and no stray .env.
func startHeadless(t *testing.T, env []string) *proctest.Proc {
	t.Helper()
	cmd := exec.Command(headlessBinary(t), "-headless")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "GATEWAY_DATA_DIR=" + t.TempDir(), "HEALTH_CHECK_ENABLED=false"}, env...)
	cmd.Dir = t.TempDir() // no stray .env
	return proctest.Start(t, cmd, "gateway")
}

func fakeEnv(fake *fakeupstream.Server, a fakeupstream.Account) []string {
	return []string{
		"GEMINI_BUSINESS_URL=" + fake.BusinessURL(), "GEMINI_AUTH_URL=" + fake.AuthURL(), "GEMINI_API_URL=" + fake.APIURL(),
		"SECURE_C_SES=" + a.SecureCSES, "HOST_C_OSES=" + a.HostCOSES, "CSESIDX=" + a.CSESIDX, "CONFIG_ID=" + a.ConfigID,
	}
}

// The README's headless session: start, /healthz, a streamed chat token by
// token, then SIGTERM with a stream open: it finishes and the exit code is 0.
func TestHeadlessProcess(t *testing.T) {
	fake := fakeupstream.Start(fakeupstream.Options{SplitWrites: true})
	defer fake.Close()
	acct := fakeupstream.DemoAccount(1)
	fake.AddAccount(acct)
	port := freePort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	p := startHeadless(t, append(fakeEnv(fake, acct), "PORT="+strconv.Itoa(port), "SHUTDOWN_GRACE=10s", "API_KEY="+readmeKey))
	p.WaitServing(t, base)

	resp, err := postKey(base+"/v1/chat/completions", readmeKey,
		`{"model":"gemini-2.5-pro","stream":true,"messages":[{"role":"user","content":"Hello!"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	frames := 0
	var text strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			frames++
			if i := strings.Index(data, `"content":"`); i >= 0 && data != "[DONE]" {
				text.WriteString(data[i:])
			}
		}
	}
	resp.Body.Close()
	if frames < 8 || !strings.Contains(text.String(), "春风拂柳绿") {
		t.Fatalf("%d frames: %s", frames, text.String())
	}

	// A slow stream is open when SIGTERM arrives; it must complete.
	fake.QueueScenario(acct.CSESIDX, "slow-first-byte")
	resp, err = postKey(base+"/v1/chat/completions", readmeKey,
		`{"model":"gemini-auto","stream":true,"messages":[{"role":"user","content":"slow"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	p.Cmd.Process.Signal(syscall.SIGTERM)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasSuffix(strings.TrimSpace(string(body)), "data: [DONE]") || !strings.Contains(string(body), "façade") {
		t.Fatalf("stream cut by shutdown: %s", body)
	}
	if code := p.Wait(t, 15*time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	// New connections were refused while it drained.
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("still accepting after shutdown")
	}
}

// readmeKey is the API_KEY of the README's headless session.
const readmeKey = "sk-my-local-key"

// postKey POSTs JSON with a Bearer key.
func postKey(url, key, body string) (*http.Response, error) {
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	return http.DefaultClient.Do(req)
}

func TestHeadlessPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	p := startHeadless(t, []string{"PORT=" + port})
	if code := p.Wait(t, 10*time.Second); code != 1 {
		t.Fatalf("exit code %d", code)
	}
	if out := p.Out.String(); !strings.Contains(out, "port "+port+" is already in use") || !strings.Contains(out, "PORT=") {
		t.Fatalf("message: %s", out)
	}
}

func TestHeadlessRefusesOpenBindWithoutKey(t *testing.T) {
	p := startHeadless(t, []string{"HOST=0.0.0.0", "PORT=" + strconv.Itoa(freePort(t))})
	if code := p.Wait(t, 10*time.Second); code != 2 {
		t.Fatalf("exit code %d", code)
	}
	if out := p.Out.String(); !strings.Contains(out, "HOST=0.0.0.0") || !strings.Contains(out, "API_KEY") {
		t.Fatalf("message: %s", out)
	}
	p = startHeadless(t, []string{"PORT=notaport"})
	if code := p.Wait(t, 10*time.Second); code != 2 || !strings.Contains(p.Out.String(), "PORT") {
		t.Fatalf("bad PORT: %d %s", code, p.Out.String())
	}
}
