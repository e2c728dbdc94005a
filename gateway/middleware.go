package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/clients"
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
	sw      *statusWriter
	// client is the client key the request authenticated with; nil for a
	// keyless request (loopback with ALLOW_KEYLESS_LOOPBACK) and for admin
	// and unauthenticated routes.
	client *clients.Key
	admin  bool // authenticated with the admin key
	// body is the request body, read whole by the limits middleware.
	body []byte
	// imagesIn and filesOut are the media of a chat request (usage).
	imagesIn, filesOut int
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

// A middleware wraps a handler with one concern.
type middleware func(http.Handler) http.Handler

// chain composes middlewares, the first outermost.
func chain(h http.Handler, mws ...middleware) http.Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// middleware wraps the mux, outermost first: request id and log line, Host
// allow-list, CORS, path normalisation, authentication (client keys, admin
// key), the per-client limits (requests at once, requests per minute),
// the body (size, time and budget), panic recovery.
func (s *Server) middleware(next http.Handler) http.Handler {
	return chain(next, s.withRequestID, s.withHostCheck, s.withCORS, withNormalizedPath, s.withAuth,
		s.withConcurrencyLimit, s.withRateLimit, s.withBody, s.withRecover)
}

// withRequestID gives the request its id and, when it ends, its one log line.
func (s *Server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := &requestInfo{start: time.Now()}
		ri.ID = requestID(r.Header.Get("X-Request-Id"))
		ri.Path = r.URL.Path
		w.Header().Set("X-Request-Id", ri.ID)
		sw := &statusWriter{ResponseWriter: w}
		ri.sw = sw
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, ri))
		defer s.finish(sw, r, ri)
		next.ServeHTTP(sw, r)
	})
}

// withRecover turns a panic into a logged 500 in OpenAI shape.
func (s *Server) withRecover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := infoFrom(r.Context())
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic in handler", "request_id", ri.ID, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				ri.errCode = "internal_error"
				if ri.sw == nil || !ri.sw.wrote {
					openai.NewError(http.StatusInternalServerError, openai.TypeServer, "internal_error",
						"The gateway hit an internal error; it was logged with request id "+ri.ID+".").Write(w)
				}
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// withHostCheck refuses Host names that are not this machine's (DNS
// rebinding).
func (s *Server) withHostCheck(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cfg := s.Config()
		if !hostAllowed(r.Host, cfg.AllowedHosts) {
			infoFrom(r.Context()).errCode = "host_not_allowed"
			openai.NewError(http.StatusForbidden, openai.TypePermission, "host_not_allowed",
				fmt.Sprintf("Host %q is not allowed. Use http://127.0.0.1:%d or add the name to ALLOWED_HOSTS.", clip(r.Host, 256), cfg.Port)).Write(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// withCORS refuses browser origins not in CORS_ORIGINS and answers
// preflights for the ones that are.
func (s *Server) withCORS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		if !originAllowed(origin, s.Config().CORSOrigins) {
			infoFrom(r.Context()).errCode = "origin_not_allowed"
			openai.NewError(http.StatusForbidden, openai.TypePermission, "origin_not_allowed",
				fmt.Sprintf("Browser origin %q is not allowed; add it to CORS_ORIGINS to let a web page or extension call the gateway.", clip(origin, 256))).Write(w)
			return
		}
		h := w.Header()
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
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// withNormalizedPath tolerates what clients do to base URLs (see
// normalizePath) before anything looks at the path.
func withNormalizedPath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = normalizePath(r.URL.Path)
		infoFrom(r.Context()).Path = r.URL.Path
		next.ServeHTTP(w, r)
	})
}

// withAuth checks credentials: the admin key on admin routes (/api/…,
// /debug/pprof/…), a client key on /v1/…. A client key on an admin route
// is a 403: it is valid, but not for that.
func (s *Server) withAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok := true
		switch path := r.URL.Path; {
		case isAdminPath(path):
			ok = s.authAdmin(w, r)
		case strings.HasPrefix(path, "/v1/"):
			ok = s.authClient(w, r)
		}
		if ok {
			next.ServeHTTP(w, r)
		}
	})
}

// authAdmin accepts the admin key, or answers 403 (a client key) or 401.
func (s *Server) authAdmin(w http.ResponseWriter, r *http.Request) bool {
	ri := infoFrom(r.Context())
	cfg := s.Config()
	got := presentedKey(r)
	if cfg.AdminKey != "" && got != "" && equalKeys(got, cfg.AdminKey) {
		ri.admin = true
		return true
	}
	if _, ok := s.keys.Lookup(got); ok {
		ri.errCode = "admin_key_required"
		openai.NewError(http.StatusForbidden, openai.TypePermission, "admin_key_required",
			"This is a client key; the admin API needs the admin key (ADMIN_KEY, or admin.key in the data directory).").Write(w)
		return false
	}
	ri.errCode = "invalid_admin_key"
	w.Header().Set("WWW-Authenticate", `Bearer realm="gemini-gateway admin"`)
	openai.NewError(http.StatusUnauthorized, openai.TypeAuthentication, "invalid_admin_key",
		"Incorrect or missing admin key. Send it as \"Authorization: Bearer <admin key>\"; it is ADMIN_KEY, or the file admin.key in the data directory.").Write(w)
	return false
}

// authClient accepts a client key (noting it on the request), or no key
// on an open loopback gateway; else it answers 401, in Anthropic's shape
// on /v1/messages.
func (s *Server) authClient(w http.ResponseWriter, r *http.Request) bool {
	ri := infoFrom(r.Context())
	cfg := s.Config()
	if s.keys.Empty() && cfg.AllowKeylessLoopback && IsLoopback(cfg.Host) {
		return true // the owner chose an open gateway on this machine
	}
	k, ok := s.keys.Lookup(presentedKey(r))
	if ok {
		ri.client = &k
		ri.Client = k.Name
		return true
	}
	ri.errCode = "invalid_api_key"
	if strings.HasPrefix(r.URL.Path, "/v1/messages") {
		// Claude Code and the Anthropic SDKs read Anthropic's error shape.
		(&antError{Status: http.StatusUnauthorized, Type: "authentication_error", Message: "invalid x-api-key: send a client key of this gateway as x-api-key or Authorization: Bearer"}).write(w)
		return false
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="gemini-gateway"`)
	msg := "Incorrect or missing API key. Send it as \"Authorization: Bearer <key>\"; the key is shown in the app's Overview and Clients panels."
	if s.keys.Empty() {
		msg = "No client key is configured: create one (Clients panel, or POST /api/admin/keys with the admin key), set API_KEY, or allow keyless use on loopback (ALLOW_KEYLESS_LOOPBACK=true)."
	}
	openai.NewError(http.StatusUnauthorized, openai.TypeInvalidRequest, "invalid_api_key", msg).Write(w)
	return false
}

func isAdminPath(p string) bool {
	return strings.HasPrefix(p, "/api/") || p == "/debug/pprof" || strings.HasPrefix(p, "/debug/pprof/")
}

// presentedKey is the key in "Authorization: Bearer …" or X-Api-Key.
func presentedKey(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if v, ok := cutPrefixFold(h, "Bearer "); ok {
			if v = strings.TrimSpace(v); v != "" {
				return v
			}
		}
	}
	return strings.TrimSpace(r.Header.Get("X-Api-Key"))
}

// equalKeys compares in constant time (hashing first so the length does
// not leak either).
func equalKeys(got, want string) bool {
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// withConcurrencyLimit bounds the requests at once of a client: per
// client key, per address without one (MAX_CONCURRENT_PER_CLIENT).
func (s *Server) withConcurrencyLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := infoFrom(r.Context())
		limit := s.Config().MaxConcurrentPerClient
		who := "ip:" + clientIP(r)
		if ri.client != nil {
			who = fmt.Sprintf("key:%d", ri.client.ID)
		}
		release, ok := s.clients.acquire(who, limit)
		if !ok {
			ri.errCode = "too_many_requests"
			e := openai.NewError(http.StatusTooManyRequests, openai.TypeRateLimit, "too_many_concurrent_requests",
				fmt.Sprintf("More than %d requests at once from this client.", limit))
			e.RetryAfter = 1
			e.Write(w)
			return
		}
		defer release()
		next.ServeHTTP(w, r)
	})
}

// withRateLimit applies a client key's requests per minute.
func (s *Server) withRateLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := infoFrom(r.Context())
		if k := ri.client; k != nil && k.RequestsPerMinute > 0 {
			if ok, wait := s.rate.Allow(k.ID, k.RequestsPerMinute, time.Now()); !ok {
				ri.errCode = "rate_limit_exceeded"
				e := openai.NewError(http.StatusTooManyRequests, openai.TypeRateLimit, "rate_limit_exceeded",
					fmt.Sprintf("The client key %q is limited to %d requests per minute; try again in %d s.", k.Name, k.RequestsPerMinute, retrySeconds(wait)))
				e.RetryAfter = retrySeconds(wait)
				e.Write(w)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// withBody reads the body whole within its size limit, READ_BODY_TIMEOUT
// and the global budget of body bytes in flight (readBody); handlers find
// it in requestBody.
func (s *Server) withBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hasBody(r) {
			ri := infoFrom(r.Context())
			body, done, oerr := s.readBody(w, r, s.Config())
			defer done()
			if oerr != nil {
				ri.errCode = oerr.Code
				oerr.Write(w)
				return
			}
			ri.body = body
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		next.ServeHTTP(w, r)
	})
}

func retrySeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

// finish writes the request's one log line and publishes it. Strings that
// come from the client are cut to logFieldMax bytes.
func (s *Server) finish(w *statusWriter, r *http.Request, ri *requestInfo) {
	ri.Status = w.status
	if !w.wrote {
		ri.Status = 499 // the client went away before any answer
	}
	ri.Duration = time.Since(ri.start)
	ri.Path = clip(ri.Path, logFieldMax)
	ri.ModelRequested = clip(ri.ModelRequested, logFieldMax)
	attrs := []any{
		"request_id", ri.ID, "method", clip(r.Method, 32), "path", ri.Path, "status", ri.Status,
		"duration_ms", ri.Duration.Milliseconds(),
	}
	if ri.Client != "" {
		attrs = append(attrs, "client", ri.Client)
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
		s.recordUsage(ri)
		s.deps.Bus.Publish(events.Event{Kind: events.RequestFinished, Request: &info})
	}
}

// logFieldMax bounds a client-supplied string in the log.
const logFieldMax = 256

// clip cuts s to at most n bytes (on a rune boundary), marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && cut < len(s) && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + fmt.Sprintf("…(%d bytes)", len(s))
}

// requestID keeps a client-supplied id made of safe characters (letters,
// digits, "-", "_", ".", ":"; at most 64), else makes one: the id goes
// into logs and answers as is.
func requestID(in string) string {
	if n := len(in); n > 0 && n <= 64 {
		ok := true
		for i := 0; i < n; i++ {
			c := in[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
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

// normalizePath tolerates what clients do to base URLs: doubled slashes,
// a trailing slash, a doubled /v1, and no /v1 at all.
func normalizePath(p string) string {
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	if len(p) > 1 && p != "/debug/pprof/" { // pprof's index lives at the slash
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

// clientLimiter bounds concurrent requests per client (a client key, or an
// address when there is none).
type clientLimiter struct {
	mu sync.Mutex
	n  map[string]int
}

func (l *clientLimiter) acquire(who string, max int) (func(), bool) {
	if max <= 0 {
		return func() {}, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == nil {
		l.n = make(map[string]int)
	}
	if l.n[who] >= max {
		return nil, false
	}
	l.n[who]++
	return func() {
		l.mu.Lock()
		if l.n[who]--; l.n[who] <= 0 {
			delete(l.n, who)
		}
		l.mu.Unlock()
	}, true
}
