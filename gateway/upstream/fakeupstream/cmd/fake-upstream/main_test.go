package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
)

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:8790", true},
		{"localhost:8790", true},
		{"[::1]:8790", true},
		{"127.0.0.2:0", true},
		{":8790", false},
		{"0.0.0.0:8790", false},
		{"192.168.1.10:8790", false},
		{"example.com:8790", false},
		{"no-port", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if err := checkLoopback(tt.addr); (err == nil) != tt.ok {
				t.Fatalf("checkLoopback(%q) = %v, want ok=%v", tt.addr, err, tt.ok)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		ok   bool
	}{
		{"defaults", nil, true},
		{"remote refused", []string{"-addr", "0.0.0.0:8790"}, false},
		{"remote allowed", []string{"-addr", "0.0.0.0:8790", "-allow-remote"}, true},
		{"unknown scenario", []string{"-scenario", "nope"}, false},
		{"known scenario", []string{"-scenario", "echo"}, true},
		{"zero accounts", []string{"-accounts", "0"}, false},
		{"stray argument", []string{"extra"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseFlags(tt.args, io.Discard)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if tt.name == "defaults" && (c.addr != "127.0.0.1:8790" || c.accounts != 1 || !c.split) {
				t.Errorf("defaults = %+v", c)
			}
		})
	}
}

// syncBuffer lets the test read what run prints while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunPrintsEnvironmentAndServes(t *testing.T) {
	env, stop := startRun(t, "-accounts", "2", "-seed", "1")
	for _, k := range []string{"GEMINI_BUSINESS_URL", "GEMINI_AUTH_URL", "GEMINI_API_URL", "SECURE_C_SES", "HOST_C_OSES", "CSESIDX", "CONFIG_ID"} {
		if env[k] == "" {
			t.Errorf("%s not printed", k)
		}
	}
	if !strings.HasPrefix(env["SECURE_C_SES"], "CSE.fake-1") || !strings.HasPrefix(env["HOST_C_OSES"], "COS.fake-1") || !strings.HasSuffix(env["GEMINI_BUSINESS_URL"], "/business") {
		t.Errorf("env = %v", env)
	}
	if code, body := getoxsrf(t, env); code != 200 || !strings.Contains(body, "xsrfToken") {
		t.Fatalf("getoxsrf with the printed credentials: %d %s", code, body)
	}
	stop()
}

// -cookie-stale-after makes getoxsrf send a client through refreshcookies,
// as a live sign-in with old cookies does (the screenshots use it).
func TestRunCookieLifecycleFlags(t *testing.T) {
	env, stop := startRun(t, "-cookie-stale-after", "1ns", "-sign-in-lifetime", "24h")
	defer stop()
	time.Sleep(time.Millisecond)
	code, _ := getoxsrf(t, env)
	if code != http.StatusFound {
		t.Fatalf("getoxsrf with stale cookies: %d, want 302 to refreshcookies", code)
	}
}

func getoxsrf(t *testing.T, env map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, env["GEMINI_BUSINESS_URL"]+"/auth/getoxsrf?csesidx="+env["CSESIDX"], nil)
	req.Header.Set("Cookie", "__Secure-C_SES="+env["SECURE_C_SES"]+"; __Host-C_OSES="+env["HOST_C_OSES"])
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusFound && !strings.Contains(resp.Header.Get("Location"), "refreshcookies") {
		t.Fatalf("redirected to %q", resp.Header.Get("Location"))
	}
	return resp.StatusCode, string(body)
}

// startRun runs the command on a free port until stop, and returns the
// environment it printed.
func startRun(t *testing.T, args ...string) (map[string]string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), &stdout, &stderr)
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Fatalf("exit code %d; stderr %s", code, stderr.String())
			}
		case <-time.After(10 * time.Second):
			t.Fatal("run did not stop after cancellation")
		}
	}
	t.Cleanup(stop)
	env := map[string]string{}
	deadline := time.Now().Add(5 * time.Second)
	for len(env) < 7 {
		if time.Now().After(deadline) {
			t.Fatalf("environment not printed; stdout %q stderr %q", stdout.String(), stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
		env = map[string]string{}
		for _, line := range strings.Split(stdout.String(), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				env[k] = v
			}
		}
	}
	return env, stop
}

func TestStatsCountsGetoxsrf(t *testing.T) {
	fake := fakeupstream.New(fakeupstream.Options{Seed: 1})
	for i := 1; i <= 2; i++ {
		fake.AddAccount(fakeupstream.DemoAccount(i))
	}
	srv := httptest.NewServer(withStats(fake.Handler(), fake, 2))
	defer srv.Close()
	a := fakeupstream.DemoAccount(2)
	for range 3 {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/business/auth/getoxsrf?csesidx="+a.CSESIDX, nil)
		req.Header.Set("Cookie", "__Secure-C_SES="+a.SecureCSES)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(srv.URL + statsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if st.Getoxsrf[a.CSESIDX] != 3 || st.Getoxsrf[fakeupstream.DemoAccount(1).CSESIDX] != 0 || len(st.Getoxsrf) != 2 {
		t.Fatalf("stats %+v", st)
	}
}
