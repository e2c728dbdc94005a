package gateway_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/gateway"
)

type newKeyJSON struct {
	ID                int64    `json:"id"`
	Name              string   `json:"name"`
	Key               string   `json:"key"`
	Hint              string   `json:"hint"`
	RequestsPerMinute int      `json:"requests_per_minute"`
	Models            []string `json:"models"`
	Builtin           bool     `json:"builtin"`
}

func (h *harness) createKey(body string) newKeyJSON {
	h.t.Helper()
	resp := h.do("POST", "/api/admin/keys", body, nil)
	var k newKeyJSON
	raw := decodeBody(h.t, resp.Body, &k)
	if resp.StatusCode != 201 || k.Key == "" || k.ID == 0 {
		h.t.Fatalf("create key: %d %s", resp.StatusCode, raw)
	}
	return k
}

func bearer(k string) map[string]string { return map[string]string{"Authorization": "Bearer " + k} }

const chatX = `{"model":"gemini-auto","messages":[{"role":"user","content":"x"}]}`

// F1 and F3: the admin API takes only the admin key — even on loopback,
// even when clients need no key at all — and a valid client key gets 403
// there, so a client holding its key cannot export the cookies.
func TestAdminKeyRequired(t *testing.T) {
	h := newHarness(t, harnessOpts{key: "sk-client-api-key", accounts: 1})
	paths := []struct{ method, path string }{
		{"GET", "/api/admin/accounts/export?include_secrets=true&confirm=yes"},
		{"GET", "/api/admin/accounts"},
		{"DELETE", fmt.Sprintf("/api/admin/accounts/%d", h.ids[0])},
		{"POST", "/api/admin/keys"},
		{"GET", "/api/admin/usage"},
	}
	for _, p := range paths {
		for name, hdr := range map[string]map[string]string{
			"no key":       {"Authorization": ""},
			"wrong key":    bearer("gg-admin-guess"),
			"X-Api-Key":    {"Authorization": "", "X-Api-Key": "wrong"},
			"client key":   bearer(h.key),
			"client key 2": {"Authorization": "", "X-Api-Key": h.key},
		} {
			resp := h.do(p.method, p.path, "", hdr)
			raw := decodeBody(t, resp.Body, nil)
			want := 401
			if strings.HasPrefix(name, "client key") {
				want = 403
			}
			if resp.StatusCode != want || strings.Contains(raw, h.accts[0].SecureCSES) {
				t.Errorf("%s %s with %s: %d %s", p.method, p.path, name, resp.StatusCode, raw)
			}
		}
	}
	if len(h.pool.Snapshot()) != 1 {
		t.Fatal("the account was deleted without the admin key")
	}
	// The admin key is not a client key either.
	if resp := h.do("GET", "/v1/models", "", bearer(adminKey)); resp.StatusCode != 401 {
		t.Errorf("admin key on /v1: %d", resp.StatusCode)
	}
	// Keyless use on loopback (the owner's choice) never opens the admin API.
	open := newHarness(t, harnessOpts{})
	if resp := open.do("GET", "/v1/models", "", nil); resp.StatusCode != 200 {
		t.Fatalf("keyless loopback: %d", resp.StatusCode)
	}
	if resp := open.do("GET", "/api/admin/accounts/export?include_secrets=true&confirm=yes", "", map[string]string{"Authorization": ""}); resp.StatusCode != 401 {
		t.Fatalf("keyless gateway, admin export without the admin key: %d", resp.StatusCode)
	}
	// ADMIN_KEY equal to API_KEY (the Python gateway's single key) works for both.
	same := newHarness(t, harnessOpts{key: "sk-single-key-0123456789", admin: "sk-single-key-0123456789"})
	if resp := same.do("GET", "/api/admin/accounts", "", nil); resp.StatusCode != 200 {
		t.Errorf("single key on admin: %d", resp.StatusCode)
	}
	if resp := same.do("GET", "/v1/models", "", nil); resp.StatusCode != 200 {
		t.Errorf("single key on /v1: %d", resp.StatusCode)
	}
}

// Without any client key and without ALLOW_KEYLESS_LOOPBACK, clients are
// refused with a message that says what to do.
func TestNoClientKeyRefusesClients(t *testing.T) {
	h := newHarness(t, harnessOpts{gw: func(c *gateway.Config) { c.AllowKeylessLoopback = false }})
	resp := h.do("POST", "/v1/chat/completions", chatX, nil)
	raw := decodeBody(t, resp.Body, nil)
	if resp.StatusCode != 401 || !strings.Contains(raw, "POST /api/admin/keys") || !strings.Contains(raw, "ALLOW_KEYLESS_LOOPBACK") {
		t.Fatalf("%d %s", resp.StatusCode, raw)
	}
	k := h.createKey(`{"name":"first"}`)
	if resp := h.do("POST", "/v1/chat/completions", chatX, bearer(k.Key)); resp.StatusCode != 200 {
		t.Fatalf("with the new key: %d", resp.StatusCode)
	}
}

// F6: pprof needs the admin key; its cmdline would show -set API_KEY=….
func TestPprofNeedsAdminKey(t *testing.T) {
	h := newHarness(t, harnessOpts{key: "sk-client", gw: func(c *gateway.Config) { c.Pprof = true }})
	for _, p := range []string{"/debug/pprof/cmdline", "/debug/pprof/", "/debug/pprof/goroutine?debug=1"} {
		if resp := h.do("GET", p, "", map[string]string{"Authorization": ""}); resp.StatusCode != 401 {
			t.Errorf("%s without a key: %d", p, resp.StatusCode)
		}
		if resp := h.do("GET", p, "", bearer(h.key)); resp.StatusCode != 403 {
			t.Errorf("%s with a client key: %d", p, resp.StatusCode)
		}
		if resp := h.do("GET", p, "", nil); resp.StatusCode != 200 {
			t.Errorf("%s with the admin key: %d", p, resp.StatusCode)
		}
	}
}

// The lifecycle of a client key through the admin API: created (shown
// once), listed without key material, used, rotated (the old key stops at
// once), revoked; limits on rate and models.
func TestClientKeyLifecycle(t *testing.T) {
	h := newHarness(t, harnessOpts{key: "sk-env-api-key-value"})
	k := h.createKey(`{"name":"Open WebUI"}`)
	if !strings.HasPrefix(k.Key, "sk-gg-") || len(k.Key) < 40 || k.Name != "Open WebUI" || !strings.HasPrefix(k.Key, strings.TrimSuffix(k.Hint, "…")) {
		t.Fatalf("created %+v", k)
	}
	resp := h.do("GET", "/api/admin/keys", "", nil)
	raw := decodeBody(t, resp.Body, nil)
	if resp.StatusCode != 200 || strings.Contains(raw, k.Key) || strings.Contains(raw, h.key) || strings.Contains(raw, `"key"`) ||
		!strings.Contains(raw, `"name":"Open WebUI"`) || !strings.Contains(raw, `"name":"API_KEY"`) {
		t.Fatalf("list: %d %s", resp.StatusCode, raw)
	}
	if resp := h.do("POST", "/v1/chat/completions", chatX, bearer(k.Key)); resp.StatusCode != 200 {
		t.Fatalf("chat with the key: %d", resp.StatusCode)
	}
	if resp := h.do("POST", "/v1/chat/completions", chatX, nil); resp.StatusCode != 200 {
		t.Fatalf("API_KEY still works: %d", resp.StatusCode)
	}
	// Duplicate and bad requests.
	for _, body := range []string{`{"name":"open webui"}`, `{"name":""}`, `{"name":"API_KEY"}`, `{"name":"x","models":["gpt-4"]}`, `{"name":"x","requests_per_minute":-1}`, `{"name":"x","bogus":1}`} {
		if resp := h.do("POST", "/api/admin/keys", body, nil); resp.StatusCode != 400 {
			t.Errorf("%s: %d", body, resp.StatusCode)
		}
	}
	// Rotate: new key works, old one does not.
	resp = h.do("POST", fmt.Sprintf("/api/admin/keys/%d/rotate", k.ID), "", nil)
	var rot newKeyJSON
	decodeBody(t, resp.Body, &rot)
	if resp.StatusCode != 200 || rot.Key == "" || rot.Key == k.Key || rot.ID != k.ID {
		t.Fatalf("rotate: %d %+v", resp.StatusCode, rot)
	}
	if resp := h.do("GET", "/v1/models", "", bearer(k.Key)); resp.StatusCode != 401 {
		t.Errorf("old key after rotation: %d", resp.StatusCode)
	}
	if resp := h.do("GET", "/v1/models", "", bearer(rot.Key)); resp.StatusCode != 200 {
		t.Errorf("new key after rotation: %d", resp.StatusCode)
	}
	// Revoke.
	if resp := h.do("DELETE", fmt.Sprintf("/api/admin/keys/%d", k.ID), "", nil); resp.StatusCode != 200 {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if resp := h.do("GET", "/v1/models", "", bearer(rot.Key)); resp.StatusCode != 401 {
		t.Errorf("revoked key: %d", resp.StatusCode)
	}
	if resp := h.do("DELETE", fmt.Sprintf("/api/admin/keys/%d", k.ID), "", nil); resp.StatusCode != 404 {
		t.Errorf("second revoke: %d", resp.StatusCode)
	}
	if resp := h.do("DELETE", "/api/admin/keys/0", "", nil); resp.StatusCode != 409 {
		t.Errorf("revoke API_KEY: %d", resp.StatusCode)
	}
	// The key never reached the log.
	if logs := h.logs.String(); strings.Contains(logs, k.Key) || strings.Contains(logs, rot.Key) {
		t.Fatal("a client key is in the log")
	}
}

func TestClientKeyLimits(t *testing.T) {
	h := newHarness(t, harnessOpts{key: "sk-env"})
	k := h.createKey(`{"name":"VS Code","requests_per_minute":2,"models":["gemini-2.5-flash"]}`)
	// Only the allowed model is listed and served.
	resp := h.do("GET", "/v1/models", "", bearer(k.Key))
	raw := decodeBody(t, resp.Body, nil)
	if resp.StatusCode != 200 || !strings.Contains(raw, "gemini-2.5-flash") || strings.Contains(raw, "gemini-2.5-pro") {
		t.Fatalf("models: %s", raw)
	}
	resp = h.do("POST", "/v1/chat/completions", `{"model":"gemini-2.5-pro","messages":[{"role":"user","content":"x"}]}`, bearer(k.Key))
	raw = decodeBody(t, resp.Body, nil)
	if resp.StatusCode != 403 || !strings.Contains(raw, "model_not_allowed") || !strings.Contains(raw, "gemini-2.5-flash") {
		t.Fatalf("other model: %d %s", resp.StatusCode, raw)
	}
	// That was request 2 of 2 this minute; the third is refused.
	resp = h.do("POST", "/v1/chat/completions", `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"x"}]}`, bearer(k.Key))
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || errorCode(t, resp.Body) != "rate_limit_exceeded" {
		t.Fatalf("over the rate: %d %v", resp.StatusCode, resp.Header)
	}
	// Other clients are not affected.
	if resp := h.do("POST", "/v1/chat/completions", chatX, nil); resp.StatusCode != 200 {
		t.Fatalf("API_KEY: %d", resp.StatusCode)
	}
}

// F8: the concurrency limit follows the client key, so a second loopback
// address (127.0.0.2) does not escape it; another key has its own.
func TestConcurrencyPerClientKey(t *testing.T) {
	h := newHarness(t, harnessOpts{key: "sk-env", gw: func(c *gateway.Config) { c.MaxConcurrentPerClient = 1 }})
	other := h.createKey(`{"name":"other"}`)
	h.queue(0, "stall")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		req, _ := http.NewRequestWithContext(ctx, "POST", h.base+"/v1/chat/completions", strings.NewReader(`{"model":"gemini-auto","stream":true,"messages":[{"role":"user","content":"x"}]}`))
		req.Header.Set("Authorization", "Bearer "+h.key)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	waitFor(t, "a stalled stream", func() bool { return h.fake.ActiveStreams() == 1 })
	port := h.srv.Addr()[strings.LastIndex(h.srv.Addr(), ":")+1:]
	from2 := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext}}
	req, _ := http.NewRequest("GET", "http://127.0.0.1:"+port+"/v1/models", nil)
	req.Header.Set("Authorization", "Bearer "+h.key)
	resp, err := from2.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("same key from 127.0.0.2: %d", resp.StatusCode)
	}
	if resp := h.do("GET", "/v1/models", "", bearer(other.Key)); resp.StatusCode != 200 {
		t.Fatalf("another key: %d", resp.StatusCode)
	}
	cancel()
	wg.Wait()
}

// F8: a body that trickles in is cut off after READ_BODY_TIMEOUT, and the
// bodies held at once stay within MAX_BODY_BYTES_IN_FLIGHT.
func TestBodyDeadlineAndBudget(t *testing.T) {
	h := newHarness(t, harnessOpts{gw: func(c *gateway.Config) {
		c.ReadBodyTimeout = 300 * time.Millisecond
		c.MaxBodyBytes = 64 << 10
		c.MaxBodyBytesInFlight = 128 << 10
	}})
	slow := func(n int) (net.Conn, *http.Response, error) {
		conn, err := net.Dial("tcp", h.srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{\"mo", n)
		return conn, nil, nil
	}
	start := time.Now()
	conn, _, _ := slow(1000)
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(conn)
	if d := time.Since(start); d > 3*time.Second || !strings.Contains(string(b), "408") || !strings.Contains(string(b), "READ_BODY_TIMEOUT") {
		t.Fatalf("after %v: %q", d, b)
	}
	// Two 64 KiB bodies on the way fill the 128 KiB budget; a third waits
	// its turn with a 503.
	h2 := newHarness(t, harnessOpts{gw: func(c *gateway.Config) {
		c.ReadBodyTimeout = 5 * time.Second
		c.MaxBodyBytes = 64 << 10
		c.MaxBodyBytesInFlight = 128 << 10
	}})
	var conns []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", h2.srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n{", 64<<10)
		conns = append(conns, c)
	}
	waitFor(t, "two bodies held", func() bool { return h2.srv.InFlightBodyBytes() == 128<<10 })
	resp := h2.do("POST", "/v1/chat/completions", chatX, nil)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || errorCode(t, resp.Body) != "server_busy" {
		t.Fatalf("third body: %d", resp.StatusCode)
	}
	for _, c := range conns {
		c.Close()
	}
	waitFor(t, "the budget given back", func() bool { return h2.srv.InFlightBodyBytes() == 0 })
	if resp := h2.do("POST", "/v1/chat/completions", chatX, nil); resp.StatusCode != 200 {
		t.Fatalf("after: %d", resp.StatusCode)
	}
}

// F7: a 1 MiB model name and a forged request id do not reach the log as
// sent.
func TestClientStringsCutInLog(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	model := strings.Repeat("m", 1<<20)
	resp := h.do("POST", "/v1/chat/completions", `{"model":"`+model+`","messages":[{"role":"user","content":"x"}]}`,
		map[string]string{"X-Request-Id": "x\" level=ERROR msg=forged"})
	if resp.StatusCode != 404 || strings.Contains(resp.Header.Get("X-Request-Id"), "forged") {
		t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("X-Request-Id"))
	}
	logs := h.logs.String()
	if strings.Contains(logs, strings.Repeat("m", 300)) || strings.Contains(logs, "forged") || len(logs) > 64<<10 {
		t.Fatalf("log has %d bytes", len(logs))
	}
}

// Usage per client key, account and model through the admin API, JSON
// and CSV.
func TestUsageAPI(t *testing.T) {
	h := newHarness(t, harnessOpts{key: "sk-env"})
	k := h.createKey(`{"name":"Open WebUI"}`)
	for range 3 {
		if resp := h.do("POST", "/v1/chat/completions", `{"model":"gemini-2.5-pro","stream":true,"messages":[{"role":"user","content":"hello"}]}`, bearer(k.Key)); resp.StatusCode != 200 {
			t.Fatal(resp.StatusCode)
		} else {
			io.Copy(io.Discard, resp.Body)
		}
	}
	h.do("POST", "/v1/chat/completions", `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"x"}]}`, nil)
	h.do("POST", "/v1/chat/completions", `{"model":"no-such-model","messages":[{"role":"user","content":"x"}]}`, nil)
	type row struct {
		Day              string  `json:"day"`
		Client           *string `json:"client"`
		Model            *string `json:"model"`
		Requests         int64   `json:"requests"`
		Errors           int64   `json:"errors"`
		PromptTokens     int64   `json:"prompt_tokens"`
		CompletionTokens int64   `json:"completion_tokens"`
		P50              int64   `json:"ttft_ms_p50"`
		P95              int64   `json:"ttft_ms_p95"`
	}
	var out struct {
		GroupBy string `json:"group_by"`
		Rows    []row  `json:"rows"`
	}
	today := time.Now().Format(time.DateOnly)
	// The log line (and so the usage record) is written after the answer.
	waitFor(t, "usage of 5 requests", func() bool {
		resp := h.do("GET", "/api/admin/usage?from="+today+"&to="+today+"&group_by=client", "", nil)
		out.Rows = nil
		decodeBody(t, resp.Body, &out)
		var n int64
		for _, r := range out.Rows {
			n += r.Requests
		}
		return n == 5
	})
	by := map[string]row{}
	for _, r := range out.Rows {
		by[*r.Client] = r
	}
	w := by["Open WebUI"]
	if out.GroupBy != "client" || w.Requests != 3 || w.Errors != 0 || w.PromptTokens == 0 || w.CompletionTokens == 0 || w.P50 <= 0 || w.P95 < w.P50 || w.Day != today {
		t.Errorf("Open WebUI: %+v", w)
	}
	if e := by["API_KEY"]; e.Requests != 2 || e.Errors != 1 {
		t.Errorf("API_KEY: %+v", e)
	}
	resp := h.do("GET", "/api/admin/usage?group_by=model", "", nil)
	decodeBody(t, resp.Body, &out)
	models := map[string]int64{}
	for _, r := range out.Rows {
		models[*r.Model] += r.Requests
	}
	if models["gemini-2.5-pro"] != 3 || models["gemini-2.5-flash"] != 1 || models["(other)"] != 1 {
		t.Errorf("by model: %v", models)
	}
	resp = h.do("GET", "/api/admin/usage?group_by=client&format=csv", "", nil)
	recs, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" || len(recs) != 3 ||
		strings.Join(recs[0], ",") != "day,client,requests,errors,prompt_tokens,completion_tokens,images_in,files_out,ttft_ms_p50,ttft_ms_p95" {
		t.Fatalf("csv: %v %v", recs, err)
	}
	for _, bad := range []string{"?group_by=user", "?from=yesterday", "?from=2026-12-09&to=2026-12-01", "?format=xml"} {
		if resp := h.do("GET", "/api/admin/usage"+bad, "", nil); resp.StatusCode != 400 {
			t.Errorf("%s: %d", bad, resp.StatusCode)
		}
	}
}
