//go:build linux

package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
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
	"time"
)

// Build compiles the gateway (headless, as `make build-headless` does) and
// the fake-upstream command from the module at root into dir.
func Build(ctx context.Context, root, dir string) (gateway, fake string, err error) {
	gateway, fake = filepath.Join(dir, "gemini-gateway-headless"), filepath.Join(dir, "fake-upstream")
	for _, b := range []struct{ out, pkg, tags string }{
		{gateway, ".", "nogui"},
		{fake, "./gateway/upstream/fakeupstream/cmd/fake-upstream", ""},
	} {
		args := []string{"build", "-trimpath", "-o", b.out}
		if b.tags != "" {
			args = append(args, "-tags", b.tags)
		}
		cmd := exec.CommandContext(ctx, "go", append(args, b.pkg)...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("go build %s: %v\n%s", b.pkg, err, out)
		}
	}
	return gateway, fake, nil
}

// Child is a process the driver started; it dies with the driver.
type Child struct {
	Name string
	Cmd  *exec.Cmd
	// Started is when exec was called; Ready when it first answered.
	Started, Ready time.Time
	done           chan struct{} // closed when the process has ended
	err            error         // Wait's result, once done is closed
}

// Pid is the child's process id.
func (c *Child) Pid() int { return c.Cmd.Process.Pid }

// StartChild starts bin with exactly env in dir; the child is killed if
// the driver dies.
func StartChild(name, bin string, args, env []string, dir string, stdout, stderr io.Writer) (*Child, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env, cmd.Dir = env, dir
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// Pdeathsig: a driver killed mid-run must not leave load processes
	// behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	c := &Child{Name: name, Cmd: cmd, done: make(chan struct{})}
	c.Started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// Exited reports whether the child has ended (and how), without waiting.
func (c *Child) Exited() (bool, error) {
	select {
	case <-c.done:
		return true, c.err
	default:
		return false, nil
	}
}

// Stop asks the child to end (SIGTERM), waits up to grace, then kills it.
func (c *Child) Stop(grace time.Duration) {
	if ok, _ := c.Exited(); ok {
		return
	}
	_ = c.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(grace):
		_ = c.Cmd.Process.Kill()
		<-c.done
	}
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// StartFake runs the fake-upstream command on a free loopback port and
// returns it with the environment it printed (GEMINI_*_URL and the demo
// account 1 variables). args are added to -addr, -stats.
func StartFake(bin string, args []string, dir string, log io.Writer) (*Child, map[string]string, error) {
	pr, pw := io.Pipe()
	c, err := StartChild("fake-upstream", bin, append([]string{"-addr", "127.0.0.1:0", "-stats"}, args...),
		[]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, dir, pw, log)
	if err != nil {
		return nil, nil, err
	}
	env := map[string]string{}
	got := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), "="); ok {
				env[k] = v
			}
			if len(env) == 7 {
				got <- nil
				// Keep draining so that the child never blocks on stdout.
				_, _ = io.Copy(log, pr)
				return
			}
		}
		got <- errors.New("fake-upstream ended before printing its environment")
	}()
	go func() {
		<-c.done
		pw.Close()
	}()
	select {
	case err = <-got:
	case <-time.After(10 * time.Second):
		err = errors.New("fake-upstream printed no environment within 10 s")
	}
	if err != nil {
		c.Stop(time.Second)
		return nil, nil, err
	}
	c.Ready = time.Now()
	return c, env, nil
}

// StartGateway runs the gateway binary headless with exactly env (nothing
// inherited but PATH, so a developer's settings cannot skew the run) in
// dir, which also becomes its data directory's parent and working
// directory (so no stray .env is read), and waits until /healthz answers.
func StartGateway(bin string, env []string, dir, base string, log io.Writer) (*Child, error) {
	env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "XDG_RUNTIME_DIR=" + dir, "XDG_CONFIG_HOME=" + dir}, env...)
	c, err := StartChild("gateway", bin, []string{"-headless"}, env, dir, log, log)
	if err != nil {
		return nil, err
	}
	if err := WaitHealthy(c, base+"/healthz", 30*time.Second); err != nil {
		c.Stop(time.Second)
		return nil, err
	}
	return c, nil
}

// WaitHealthy polls url every millisecond until it answers 200, and sets
// c.Ready to that moment.
func WaitHealthy(c *Child, url string, limit time.Duration) error {
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if ok, err := c.Exited(); ok {
			return fmt.Errorf("%s exited before answering: %v", c.Name, err)
		}
		resp, err := hc.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				c.Ready = time.Now()
				return nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("%s: %s did not answer within %s", c.Name, url, limit)
}

// FakeStats is the fake-upstream command's GET /_fake/stats.
type FakeStats struct {
	Getoxsrf      map[string]int `json:"getoxsrf"`
	ActiveStreams int            `json:"active_streams"`
}

// ReadFakeStats fetches the fake's counters.
func ReadFakeStats(ctx context.Context, base string) (FakeStats, error) {
	var st FakeStats
	err := getJSON(ctx, base+"/_fake/stats", "", &st)
	return st, err
}

func getJSON(ctx context.Context, url, key string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Heap is the part of runtime.MemStats the gateway's pprof endpoint
// reports that the benchmark uses.
type Heap struct {
	HeapAlloc  int64 // live objects (after the forced GC)
	HeapInuse  int64
	StackInuse int64 // goroutine stacks: not heap, but per-stream memory
	Sys        int64
	Goroutines int
}

// ReadHeap forces a GC in the gateway and reads its memory statistics from
// /debug/pprof/heap?debug=1 (the gateway must run with PPROF=true; pprof
// takes the admin key).
func ReadHeap(ctx context.Context, base, adminKey string) (Heap, error) {
	var h Heap
	body, err := GetText(ctx, base+"/debug/pprof/heap?debug=1&gc=1", adminKey)
	if err != nil {
		return h, err
	}
	for _, line := range strings.Split(body, "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "# "), " = ")
		if !ok {
			continue
		}
		// "Stack = inuse / sys": the first number is the one in use.
		v, _, _ = strings.Cut(v, " / ")
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "HeapAlloc":
			h.HeapAlloc = n
		case "HeapInuse":
			h.HeapInuse = n
		case "Stack":
			h.StackInuse = n
		case "Sys":
			h.Sys = n
		}
	}
	if h.HeapAlloc == 0 {
		return h, errors.New("no HeapAlloc in the heap profile")
	}
	g, err := GetText(ctx, base+"/debug/pprof/goroutine?debug=1", adminKey)
	if err == nil {
		first, _, _ := strings.Cut(g, "\n")
		h.Goroutines, _ = strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(first, "goroutine profile: total")))
	}
	return h, nil
}

// GetText fetches a URL's body as text, with a Bearer key when not "".
func GetText(ctx context.Context, url, key string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	return string(b), err
}

// SaveCPUProfile records the gateway's CPU profile for d into path.
func SaveCPUProfile(ctx context.Context, base, adminKey string, d time.Duration, path string) error {
	secs := max(1, int(d/time.Second))
	body, err := GetText(ctx, base+"/debug/pprof/profile?seconds="+strconv.Itoa(secs), adminKey)
	if err != nil {
		return err
	}
	return os.WriteFile(path, []byte(body), 0o644)
}

// AddAccount creates an account through the gateway's admin API (key is
// the admin key).
func AddAccount(ctx context.Context, base, key string, in map[string]any) error {
	b, _ := json.Marshal(in)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/admin/accounts", strings.NewReader(string(b)))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("add account: HTTP %d: %s", resp.StatusCode, msg)
	}
	return nil
}
