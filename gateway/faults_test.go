package gateway_test

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/gateway/pool"
	"github.com/gemgate/gemini-gateway/gateway/upstream"
	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
)

// faultProxy sits between the gateway and the fake upstream. It passes
// everything through, except widgetStreamAssist calls of the victim
// account (by configId), which it answers with the fault.
type faultProxy struct {
	victim string
	fault  func(w http.ResponseWriter, r *http.Request)
	hits   atomic.Int64
	rp     *httputil.ReverseProxy
	srv    *httptest.Server
}

func newFaultProxy(h *harness, victim string, fault func(w http.ResponseWriter, r *http.Request)) *faultProxy {
	target := h.fake.URL()
	u, _ := url.Parse(target)
	p := &faultProxy{victim: victim, fault: fault, rp: httputil.NewSingleHostReverseProxy(u)}
	p.rp.FlushInterval = -1
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "widgetStreamAssist") {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if bytes.Contains(body, []byte(p.victim)) {
				p.hits.Add(1)
				p.fault(w, r)
				return
			}
		}
		p.rp.ServeHTTP(w, r)
	}))
	h.extraClose = append(h.extraClose, func() {
		p.srv.CloseClientConnections()
		p.srv.Close()
		p.rp.Transport = nil
	})
	return p
}

// rawResponse hijacks the connection and writes bytes as they are, then
// hangs up: resets and broken framing no handler could produce.
func rawResponse(w http.ResponseWriter, raw string) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	buf.WriteString(raw)
	buf.Flush()
	conn.Close()
}

func chunk(s string) string { return strconv.FormatInt(int64(len(s)), 16) + "\r\n" + s + "\r\n" }

const okHead = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"

func textElement(s string) string {
	return `{"streamAssistResponse":{"answer":{"state":"IN_PROGRESS","replies":[{"groundedContent":{"content":{"role":"model","text":` + jsonString(s) + `}}}]}}}`
}

func googleError(code int, status string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if code == 429 {
			w.Header().Set("Retry-After", "45")
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"error":{"code":%d,"message":"injected %s","status":%q}}`, code, status, status)
	}
}

// TestFaultMatrix injects every upstream fault on the first account. The
// client always gets one clean answer from the second account (or, for a
// well-formed huge answer, the answer itself), the first account's state
// says what happened, nothing panics and no goroutine is left behind.
func TestFaultMatrix(t *testing.T) {
	big := strings.Repeat("大", 10<<20/3) // a 10 MB element
	bigBody := []byte("[" + textElement(big) + `,{"streamAssistResponse":{"answer":{"state":"SUCCEEDED"}}}]`)
	tests := []struct {
		name     string
		fault    func(w http.ResponseWriter, r *http.Request)
		served   int        // which account answers
		state    pool.State // account 0 afterwards
		status   accounts.Status
		netErrs  int
		cooling  bool
		wantText string
		// streamErr: in a stream, answer text arrived before the failure,
		// so the client sees that text and an error instead of a failover.
		streamErr bool
		// idle is the upstream's first-byte and idle timeout (700 ms when
		// zero, so that the silent faults end fast). The 10 MB element is
		// no silence fault: on a loaded machine, with -race, reading it can
		// outlast 700 ms, and the failover that follows is not under test.
		idle time.Duration
	}{
		{name: "reset before headers", fault: func(w http.ResponseWriter, r *http.Request) { rawResponse(w, "") },
			served: 1, state: pool.StateUnknown, netErrs: 1},
		{name: "reset mid-element", fault: func(w http.ResponseWriter, r *http.Request) {
			rawResponse(w, okHead+chunk("[")+chunk(`{"streamAssistResponse":{"answer":{"state":"IN_PR`))
		}, served: 1, state: pool.StateUnknown, netErrs: 1},
		{name: "slow first byte past the timeout", fault: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, served: 1, state: pool.StateUnknown, netErrs: 1},
		{name: "stalled stream", fault: func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("[" + `{"uToken":"x"}`))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}, served: 1, state: pool.StateUnknown, netErrs: 1},
		// A 401 that survives a fresh token and a refresh: a cooldown, not
		// a disabled account.
		{name: "HTTP 401", fault: googleError(401, "UNAUTHENTICATED"), served: 1, state: pool.StateCooling, cooling: true, status: accounts.StatusUnknown},
		{name: "HTTP 403", fault: googleError(403, "PERMISSION_DENIED"), served: 1, state: pool.StateDisabled, status: accounts.StatusBanned},
		{name: "HTTP 404", fault: googleError(404, "NOT_FOUND"), served: 1, state: pool.StateUnknown, netErrs: 1},
		{name: "HTTP 429", fault: googleError(429, "RESOURCE_EXHAUSTED"), served: 1, state: pool.StateCooling, cooling: true},
		{name: "HTTP 500", fault: googleError(500, "INTERNAL"), served: 1, state: pool.StateUnknown, netErrs: 1},
		{name: "HTTP 502", fault: googleError(502, "UNAVAILABLE"), served: 1, state: pool.StateUnknown, netErrs: 1},
		{name: "garbage body", fault: func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("<html><body>Service temporarily unavailable</body></html>"))
		}, served: 1, state: pool.StateUnknown, netErrs: 1},
		{name: "truncated array", fault: func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("[" + textElement("Half an ans")))
		}, served: 1, state: pool.StateUnknown, netErrs: 1, streamErr: true},
		{name: "gzip-broken body", fault: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write([]byte("\x1f\x8b\x08\x00 definitely not deflate data"))
		}, served: 1, state: pool.StateUnknown, netErrs: 1},
		{name: "10 MB element", fault: func(w http.ResponseWriter, r *http.Request) {
			w.Write(bigBody)
		}, served: 0, state: pool.StateHealthy, wantText: big, idle: 15 * time.Second},
	}
	for _, tc := range tests {
		for _, stream := range []bool{false, true} {
			t.Run(tc.name+"/stream="+strconv.FormatBool(stream), func(t *testing.T) {
				defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
				func() {
					var proxy *faultProxy
					h := newHarness(t, harnessOpts{accounts: 2, up: func(c *upstream.Config) {
						idle := cmp.Or(tc.idle, 700*time.Millisecond)
						c.FirstByteTimeout, c.IdleTimeout = idle, idle
					}, rewire: func(h *harness) string {
						proxy = newFaultProxy(h, h.accts[0].ConfigID, tc.fault)
						return proxy.srv.URL
					}})
					defer h.close()
					want := fakeupstream.NormalAnswer
					if tc.wantText != "" {
						want = tc.wantText
					}
					var content string
					c := h.client()
					if stream && tc.streamErr {
						got := streamChat(t, c, userParams("gemini-2.5-pro", "hi"))
						if got.err == nil || got.content != "Half an ans" {
							t.Fatalf("content %q, err %v: want the partial text and an error", got.content, got.err)
						}
						return
					}
					content = answer(t, c, stream, userParams("gemini-2.5-pro", "hi"))
					if content != want {
						t.Fatalf("content (%d bytes) is not the clean answer (%d bytes)", len(content), len(want))
					}
					if proxy.hits.Load() == 0 {
						t.Fatal("the fault was never injected")
					}
					if n := len(h.fake.Sessions(h.accts[1].CSESIDX)); (n > 0) != (tc.served == 1) {
						t.Fatalf("account 1 served %d sessions", n)
					}
					v := h.account(0)
					if v.State != tc.state || v.NetworkErrors != tc.netErrs || (v.CooldownRemaining > 0) != tc.cooling ||
						(tc.status != "" && v.Status != tc.status) {
						t.Errorf("account 0: state %s (%s) status %s network errors %d cooling %v", v.State, v.Reason, v.Status, v.NetworkErrors, v.CooldownRemaining > 0)
					}
				}()
			})
		}
	}
}

// With the upstream unreachable and one account, the client gets a
// well-formed error and the account is not poisoned by one failure.
func TestUpstreamConnectionRefused(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	func() {
		h := newHarness(t, harnessOpts{rewire: func(h *harness) string {
			srv := httptest.NewServer(http.NotFoundHandler())
			u := srv.URL
			srv.Close() // a port nobody listens on
			return u
		}})
		defer h.close()
		for _, stream := range []bool{false, true} {
			resp := h.do("POST", "/v1/chat/completions", fmt.Sprintf(`{"model":"gemini-auto","stream":%v,"messages":[{"role":"user","content":"x"}]}`, stream), nil)
			code := errorCode(t, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 502 || code != "upstream_error" {
				t.Fatalf("stream=%v: status %d %s", stream, resp.StatusCode, code)
			}
		}
		v := h.account(0)
		// Two failed requests (each retried) count two network errors:
		// below the threshold of three, the account stays in service.
		if !v.Enabled || v.Status != accounts.StatusUnknown || v.NetworkErrors != 2 {
			t.Errorf("after refused connections: %+v", v)
		}
	}()
}
