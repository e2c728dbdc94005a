package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/events"
	"github.com/gemgate/gemini-gateway/gateway/openai"
)

// requestInfo collects what the request's one log line says. Handlers fill
// it through infoFrom.
type requestInfo struct {
	events.RequestInfo
	start   time.Time
	logIt   bool // chat requests go to the request log/event stream
	errCode string
}

type ctxKey struct{}

func infoFrom(ctx context.Context) *requestInfo {
	if ri, ok := ctx.Value(ctxKey{}).(*requestInfo); ok {
		return ri
	}
	return &requestInfo{}
}

// statusWriter records the status and keeps http.ResponseController working.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// middleware wraps the mux, outermost first: panic recovery, request id
// and log line, Host allow-list, CORS, path normalisation, per-client
// concurrency, API key, body limit.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := &requestInfo{start: time.Now()}
		ri.ID = requestID(r.Header.Get("X-Request-Id"))
		ri.Path = r.URL.Path
		w.Header().Set("X-Request-Id", ri.ID)
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, ri))
		defer s.finish(sw, r, ri)
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic in handler", "request_id", ri.ID, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				ri.errCode = "internal_error"
				if !sw.wrote {
					openai.NewError(http.StatusInternalServerError, openai.TypeServer, "internal_error",
						"The gateway hit an internal error; it was logged with request id "+ri.ID+".").Write(sw)
				}
			}
		}()
		cfg := s.Config()
		if !hostAllowed(r.Host, cfg.AllowedHosts) {
			ri.errCode = "host_not_allowed"
			openai.NewError(http.StatusForbidden, openai.TypePermission, "host_not_allowed",
				fmt.Sprintf("Host %q is not allowed. Use http://127.0.0.1:%d or add the name to ALLOWED_HOSTS.", r.Host, cfg.Port)).Write(sw)
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" {
			if !originAllowed(origin, cfg.CORSOrigins) {
				ri.errCode = "origin_not_allowed"
				openai.NewError(http.StatusForbidden, openai.TypePermission, "origin_not_allowed",
					fmt.Sprintf("Browser origin %q is not allowed; add it to CORS_ORIGINS to let a web page or extension call the gateway.", origin)).Write(sw)
				return
			}
			h := sw.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Expose-Headers", "X-Request-Id, Retry-After")
			if r.Method == http.MethodOptions {
				h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
				if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
					h.Set("Access-Control-Allow-Headers", req)
				} else {
					h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
				}
				h.Set("Access-Control-Max-Age", "600")
				sw.WriteHeader(http.StatusNoContent)
				return
			}
		}
		r.URL.Path = normalizePath(r.URL.Path)
		ri.Path = r.URL.Path
		if release, ok := s.clients.acquire(clientIP(r), cfg.MaxConcurrentPerClient); !ok {
			ri.errCode = "too_many_requests"
			e := openai.NewError(http.StatusTooManyRequests, openai.TypeRateLimit, "too_many_concurrent_requests",
				fmt.Sprintf("More than %d requests at once from this client.", cfg.MaxConcurrentPerClient))
			e.RetryAfter = 1
			e.Write(sw)
			return
		} else {
			defer release()
		}
		if needsAuth(r.URL.Path) && !authorized(r, cfg.APIKey) {
			ri.errCode = "invalid_api_key"
			if strings.HasPrefix(r.URL.Path, "/v1/messages") {
				(&antError{Status: http.StatusUnauthorized, Type: "authentication_error", Message: "invalid x-api-key: send the gateway's API key as x-api-key or Authorization: Bearer"}).write(sw)
				return
			}
			sw.Header().Set("WWW-Authenticate", `Bearer realm="gemini-gateway"`)
			openai.NewError(http.StatusUnauthorized, openai.TypeInvalidRequest, "invalid_api_key",
				"Incorrect or missing API key. Send it as \"Authorization: Bearer <key>\"; the key is shown in the app's Overview.").Write(sw)
			return
		}
		r.Body = http.MaxBytesReader(sw, r.Body, cfg.MaxBodyBytes)
		next.ServeHTTP(sw, r)
	})
}

// finish writes the request's one log line and publishes it.
func (s *Server) finish(w *statusWriter, r *http.Request, ri *requestInfo) {
	ri.Status = w.status
	if !w.wrote {
		ri.Status = 499 // the client went away before any answer
	}
	ri.Duration = time.Since(ri.start)
	attrs := []any{
		"request_id", ri.ID, "method", r.Method, "path", ri.Path, "status", ri.Status,
		"duration_ms", ri.Duration.Milliseconds(),
	}
	if ri.logIt {
		attrs = append(attrs, "model_requested", ri.ModelRequested, "model_served", ri.ModelServed,
			"account", ri.Account, "stream", ri.Stream, "ttft_ms", ri.TTFT.Milliseconds(),
			"prompt_tokens", ri.PromptTokens, "completion_tokens", ri.OutputTokens, "attempts", ri.Attempts)
	}
	if ri.errCode != "" {
		attrs = append(attrs, "error", ri.errCode)
	}
	level := slog.LevelInfo
	if ri.Status >= 500 {
		level = slog.LevelWarn
	}
	if !ri.logIt && ri.Status < 400 && (ri.Path == "/healthz" || strings.HasPrefix(ri.Path, "/files/")) {
		level = slog.LevelDebug
	}
	s.log.Log(r.Context(), level, "request", attrs...)
	if ri.logIt {
		info := ri.RequestInfo
		if ri.errCode != "" {
			info.Error = ri.errCode
		}
		s.deps.Bus.Publish(events.Event{Kind: events.RequestFinished, Request: &info})
	}
}

// requestID keeps a sane client-supplied id, else makes one.
func requestID(in string) string {
	if n := len(in); n > 0 && n <= 128 {
		ok := true
		for i := 0; i < n; i++ {
			c := in[i]
			if c <= ' ' || c > '~' {
				ok = false
				break
			}
		}
		if ok {
			return in
		}
	}
	var b [8]byte
	rand.Read(b[:])
	return "req_" + hex.EncodeToString(b[:])
}

// hostAllowed defends against DNS rebinding: a web page on a foreign name
// that resolves to 127.0.0.1 sends its own name in Host. IP literals and
// localhost cannot be rebound.
func hostAllowed(hostport string, extra []string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if host == "" {
		return false
	}
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") || net.ParseIP(host) != nil {
		return true
	}
	for _, a := range extra {
		if a == "*" || strings.EqualFold(a, host) {
			return true
		}
	}
	return false
}

// originAllowed matches an Origin against the allow-list; a pattern
// ending in * matches any suffix (chrome-extension://*).
func originAllowed(origin string, allowed []string) bool {
	for _, a := range allowed {
		if a == "*" || a == origin {
			return true
		}
		if p, ok := strings.CutSuffix(a, "*"); ok && strings.HasPrefix(origin, p) {
			return true
		}
	}
	return false
}

// normalizePath tolerates what clients do to base URLs: doubled slashes,
// a trailing slash, a doubled /v1, and no /v1 at all.
func normalizePath(p string) string {
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	for strings.HasPrefix(p, "/v1/v1/") {
		p = strings.TrimPrefix(p, "/v1")
	}
	switch {
	case p == "/chat/completions", p == "/models", strings.HasPrefix(p, "/models/"):
		p = "/v1" + p
	}
	return p
}

func needsAuth(path string) bool {
	return strings.HasPrefix(path, "/v1/") || strings.HasPrefix(path, "/api/")
}

// authorized compares the presented key in constant time (hashing first so
// the length does not leak either).
func authorized(r *http.Request, key string) bool {
	if key == "" {
		return true
	}
	got := ""
	if h := r.Header.Get("Authorization"); h != "" {
		if v, ok := cutPrefixFold(h, "Bearer "); ok {
			got = strings.TrimSpace(v)
		}
	}
	if got == "" {
		got = strings.TrimSpace(r.Header.Get("X-Api-Key"))
	}
	if got == "" {
		return false
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(key))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// clientLimiter bounds concurrent requests per client address.
type clientLimiter struct {
	mu sync.Mutex
	n  map[string]int
}

func (l *clientLimiter) acquire(ip string, max int) (func(), bool) {
	if max <= 0 {
		return func() {}, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == nil {
		l.n = make(map[string]int)
	}
	if l.n[ip] >= max {
		return nil, false
	}
	l.n[ip]++
	return func() {
		l.mu.Lock()
		if l.n[ip]--; l.n[ip] <= 0 {
			delete(l.n, ip)
		}
		l.mu.Unlock()
	}, true
}
