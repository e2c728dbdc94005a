package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/gateway"
	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/gateway/pool"
)

func errorCode(t *testing.T, r io.Reader) string {
	t.Helper()
	var e struct {
		Error struct{ Code string }
	}
	json.NewDecoder(r).Decode(&e)
	return e.Error.Code
}

// A web page the user opens can reach 127.0.0.1. DNS rebinding gives it
// a name of its own that resolves there; cross-origin requests carry its
// Origin. Both are refused.
func TestHostAllowList(t *testing.T) {
	h := newHarness(t, harnessOpts{gw: func(c *gateway.Config) { c.AllowedHosts = []string{"gateway.lan"} }})
	port := h.srv.Addr()[strings.LastIndex(h.srv.Addr(), ":"):]
	tests := []struct {
		host string
		ok   bool
	}{
		{"127.0.0.1" + port, true},
		{"localhost" + port, true},
		{"localhost", true},
		{"[::1]" + port, true},
		{"gateway.lan" + port, true},
		{"GATEWAY.LAN", true},
		{"attacker.example" + port, false}, // rebinding: loopback address, foreign name
		{"127.0.0.1.nip.io" + port, false},
	}
	for _, tc := range tests {
		t.Run(tc.host, func(t *testing.T) {
			req, _ := http.NewRequest("GET", h.base+"/v1/models", nil)
			req.Host = tc.host
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if tc.ok && resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if !tc.ok && (resp.StatusCode != 403 || errorCode(t, resp.Body) != "host_not_allowed") {
				t.Fatalf("status %d", resp.StatusCode)
			}
		})
	}
}

func TestCORS(t *testing.T) {
	t.Run("off by default: foreign origins refused", func(t *testing.T) {
		h := newHarness(t, harnessOpts{})
		resp := h.do("POST", "/v1/chat/completions", `{"model":"gemini-auto","messages":[{"role":"user","content":"x"}]}`,
			map[string]string{"Origin": "https://evil.example"})
		if resp.StatusCode != 403 || errorCode(t, resp.Body) != "origin_not_allowed" || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if n := len(h.fake.Sessions(h.accts[0].CSESIDX)); n != 0 {
			t.Fatalf("the refused request reached the upstream (%d sessions)", n)
		}
	})
	h := newHarness(t, harnessOpts{key: "sk-cors", gw: func(c *gateway.Config) {
		c.CORSOrigins = []string{"chrome-extension://*", "moz-extension://*", "app://obsidian.md", "http://localhost:3000"}
	}})
	for _, origin := range []string{"chrome-extension://abcdefghijklmnop", "moz-extension://1234-5678", "app://obsidian.md", "http://localhost:3000"} {
		t.Run("preflight "+origin, func(t *testing.T) {
			req, _ := http.NewRequest("OPTIONS", h.base+"/v1/chat/completions", nil)
			req.Header.Set("Origin", origin)
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "authorization, content-type, x-stainless-os, dangerously-allow-browser")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != origin ||
				!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "dangerously-allow-browser") ||
				!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") {
				t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
			}
			// The real request gets the header too; without a key it is
			// still refused: CORS is not authentication.
			resp = h.do("GET", "/v1/models", "", map[string]string{"Origin": origin})
			if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != origin {
				t.Fatalf("request: %d %v", resp.StatusCode, resp.Header)
			}
			resp = h.do("GET", "/v1/models", "", map[string]string{"Origin": origin, "Authorization": ""})
			if resp.StatusCode != 401 {
				t.Fatalf("no key: %d", resp.StatusCode)
			}
		})
	}
	resp := h.do("GET", "/v1/models", "", map[string]string{"Origin": "chrome-extension-evil://x"})
	if resp.StatusCode != 403 {
		t.Errorf("lookalike origin: %d", resp.StatusCode)
	}
}

func TestBindingBeyondLoopbackNeedsKey(t *testing.T) {
	for _, host := range []string{"0.0.0.0", "192.168.1.10", "::"} {
		if err := (gateway.Config{Host: host}).Validate(); err == nil || !strings.Contains(err.Error(), "API_KEY") {
			t.Errorf("%s without a key: %v", host, err)
		}
		if err := (gateway.Config{Host: host, APIKey: "k"}).Validate(); err != nil {
			t.Errorf("%s with a key: %v", host, err)
		}
	}
	for _, host := range []string{"127.0.0.1", "localhost", "::1", "127.0.0.2"} {
		if err := (gateway.Config{Host: host}).Validate(); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
}

// Hostile requests: each gets its expected status and an OpenAI-shaped
// error, and the gateway keeps serving.
func TestHostileRequests(t *testing.T) {
	h := newHarness(t, harnessOpts{gw: func(c *gateway.Config) { c.MaxBodyBytes = 4 << 20 }})
	gif := "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=="
	imgPart := `{"type":"image_url","image_url":{"url":"` + gif + `"}}`
	var msgs []string
	for i := range 1000 {
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		msgs = append(msgs, fmt.Sprintf(`{"role":%q,"content":"message %d"}`, role, i))
	}
	tests := []struct {
		name        string
		body        string
		contentType string
		status      int
		code        string
	}{
		{"huge body", `{"model":"gemini-auto","messages":[{"role":"user","content":"` + strings.Repeat("x", 5<<20) + `"}]}`, "", 413, "request_too_large"},
		{"deep JSON", strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000), "", 400, "invalid_json"},
		{"deep arrays in content", `{"model":"gemini-auto","messages":[{"role":"user","content":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}]}`, "", 400, "invalid_json"},
		{"invalid UTF-8", "{\"model\":\"gemini-auto\",\"messages\":[{\"role\":\"user\",\"content\":\"\xc3\x28\"}]}", "", 400, "invalid_utf8"},
		{"invalid base64 image", `{"model":"gemini-auto","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,%%%%"}}]}]}`, "", 400, "invalid_base64"},
		{"100 images", `{"model":"gemini-auto","messages":[{"role":"user","content":[` + strings.TrimSuffix(strings.Repeat(imgPart+",", 100), ",") + `]}]}`, "", 400, "too_many_images"},
		{"1000 messages", `{"model":"gemini-auto","messages":[` + strings.Join(msgs, ",") + `]}`, "", 200, ""},
		{"form encoded", `model=gemini-auto&messages=hi`, "application/x-www-form-urlencoded", 400, "invalid_json"},
		{"JSON sent as text/plain", `{"model":"gemini-auto","messages":[{"role":"user","content":"x"}]}`, "text/plain", 200, ""},
		{"empty body", ``, "", 400, "invalid_json"},
		{"null", `null`, "", 400, "missing_messages"},
		{"array", `[1,2]`, "", 400, "invalid_type"},
		{"messages not objects", `{"model":"gemini-auto","messages":[1,2]}`, "", 400, "invalid_type"},
		{"NUL bytes in content", "{\"model\":\"gemini-auto\",\"messages\":[{\"role\":\"user\",\"content\":\"a\\u0000b\"}]}", "", 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.contentType != "" {
				hdr["Content-Type"] = tc.contentType
			}
			resp := h.do("POST", "/v1/chat/completions", tc.body, hdr)
			if resp.StatusCode != tc.status {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 500))
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, b)
			}
			if tc.code != "" {
				if code := errorCode(t, resp.Body); code != tc.code {
					t.Fatalf("code %q, want %q", code, tc.code)
				}
			}
		})
	}
	// Still serving.
	if resp := h.do("POST", "/v1/chat/completions", `{"model":"gemini-auto","messages":[{"role":"user","content":"x"}]}`, nil); resp.StatusCode != 200 {
		t.Fatalf("after the hostile requests: %d", resp.StatusCode)
	}
	// The 1000-message history arrived flattened, whole.
	found := false
	for _, s := range h.fake.Sessions(h.accts[0].CSESIDX) {
		if q := s.Turns[0].Query; strings.HasPrefix(q, "User: message 0") && strings.Contains(q, "message 999") {
			found = true
		}
	}
	if !found {
		t.Error("1000 messages did not reach the upstream")
	}
}

func TestHeaderLimitsAndSlowloris(t *testing.T) {
	h := newHarness(t, harnessOpts{gw: func(c *gateway.Config) {
		c.ReadHeaderTimeout = 300 * time.Millisecond
		c.MaxHeaderBytes = 4 << 10
	}})
	resp := h.do("GET", "/v1/models", "", map[string]string{"X-Big": strings.Repeat("a", 16<<10)})
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("16 KiB header: %d", resp.StatusCode)
	}
	// Slowloris: headers dribbled in; the server hangs up instead of waiting.
	conn, err := net.Dial("tcp", h.srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n")
	closed := make(chan struct{})
	go func() {
		io.Copy(io.Discard, conn)
		close(closed)
	}()
	for i := 0; i < 20; i++ {
		select {
		case <-closed:
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("closed only after %v", d)
			}
			return
		case <-time.After(100 * time.Millisecond):
			fmt.Fprintf(conn, "X-Slow-%d: 1\r\n", i)
		}
	}
	t.Fatal("the server waited 2 s for headers")
}

func TestConcurrencyPerClient(t *testing.T) {
	h := newHarness(t, harnessOpts{gw: func(c *gateway.Config) { c.MaxConcurrentPerClient = 2 }})
	h.queue(0, "stall", "stall")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, "POST", h.base+"/v1/chat/completions",
				strings.NewReader(`{"model":"gemini-auto","stream":true,"messages":[{"role":"user","content":"x"}]}`))
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	waitFor(t, "two stalled streams", func() bool { return h.fake.ActiveStreams() == 2 })
	resp := h.do("GET", "/v1/models", "", nil)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || errorCode(t, resp.Body) != "too_many_concurrent_requests" {
		t.Fatalf("third request: %d", resp.StatusCode)
	}
	cancel()
	wg.Wait()
	waitFor(t, "the slots freed", func() bool {
		r, err := http.Get(h.base + "/v1/models")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == 200
	})
}

// panicSource makes the pool panic while it reads an account's secrets.
type panicSource struct {
	*accounts.Manager
	secret string
}

func (p panicSource) Secrets(ctx context.Context, a accounts.Account) (accounts.Secrets, error) {
	panic("keychain exploded while holding " + p.secret)
}

// A panic in a handler or in the pool is logged (redacted), answered with a
// 500 in OpenAI shape, and the gateway keeps serving.
func TestPanicSafety(t *testing.T) {
	bad := newHarness(t, harnessOpts{source: func(h *harness) pool.Source { return panicSource{h.mgr, h.accts[0].SecureCSES} }})
	for _, stream := range []bool{false, true} {
		resp := bad.do("POST", "/v1/chat/completions", fmt.Sprintf(`{"model":"gemini-auto","stream":%v,"messages":[{"role":"user","content":"x"}]}`, stream), nil)
		if resp.StatusCode != 500 || errorCode(t, resp.Body) != "internal_error" {
			t.Fatalf("stream=%v: status %d", stream, resp.StatusCode)
		}
	}
	logs := bad.logs.String()
	if !strings.Contains(logs, "panic in handler") || !strings.Contains(logs, "keychain exploded") {
		t.Fatalf("panic not logged: %s", logs)
	}
	if strings.Contains(logs, bad.accts[0].SecureCSES) {
		t.Fatal("the panic log carries the cookie")
	}
	if resp := bad.do("GET", "/v1/models", "", nil); resp.StatusCode != 200 {
		t.Fatalf("after the panic: %d", resp.StatusCode)
	}
}
