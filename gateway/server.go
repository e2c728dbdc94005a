// Package gateway is the OpenAI-compatible HTTP server: routing, middleware
// (request ids, Host allow-list, CORS, API key, body limit, panic
// recovery, one log line per request), the chat completions and models
// endpoints, the admin API, and the generated-file store. It is a headless
// engine: no GUI, SQL or keychain types; those come in through interfaces.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/gateway/clients"
	"github.com/gemgate/gemini-gateway/gateway/events"
	"github.com/gemgate/gemini-gateway/gateway/openai"
	"github.com/gemgate/gemini-gateway/gateway/pool"
	"github.com/gemgate/gemini-gateway/gateway/upstream"
	"github.com/gemgate/gemini-gateway/gateway/usage"
)

// Reasoning output modes.
const (
	ReasoningField = "reasoning_content" // delta.reasoning_content
	ReasoningThink = "think"             // <think>…</think> inside content
	ReasoningOff   = "off"               // dropped
)

// Config is the server's behaviour. Fields marked live can change while
// serving through SetConfig; the others need a restart of the listener.
type Config struct {
	Host string // listener address, default 127.0.0.1
	Port int    // DefaultConfig: 7860; 0 picks a free port

	// APIKey is one more client key, named API_KEY (live; "" = none).
	APIKey string
	// AdminKey is the credential of /api/admin/* and /debug/pprof/* (live;
	// "" = the admin API refuses every call).
	AdminKey string
	// AllowKeylessLoopback serves /v1 without a key on a loopback listener
	// while no client key exists at all (live). Off, a gateway without
	// keys refuses clients until one is made.
	AllowKeylessLoopback bool
	// AllowedHosts are extra Host header names accepted besides localhost
	// and IP literals ("*" accepts any). Live.
	AllowedHosts []string
	// CORSOrigins are browser origins allowed to call the API; patterns may
	// end in "*" (chrome-extension://*). Live.
	CORSOrigins []string

	MaxBodyBytes int64 // live; default 20 MiB
	// MaxBodyBytesInFlight bounds the request-body bytes held at once by
	// all requests together (live; default 128 MiB, at least MaxBodyBytes).
	MaxBodyBytesInFlight int64
	// ReadBodyTimeout bounds reading one request body (live; default 30 s).
	ReadBodyTimeout time.Duration
	Models          []Model       // live
	DefaultModel    string        // live; used when a request names none
	Reasoning       string        // live; one of the Reasoning* modes
	KeepAlive       time.Duration // live; empty chunk after this much silence, default 10 s
	Limits          openai.Limits // live

	ImageFetchTimeout time.Duration // live; default 15 s
	// allowPrivateImageURLs lets image_url fetch loopback/private hosts.
	// Only tests set it (export_test.go): it would open the gateway to SSRF.
	allowPrivateImageURLs bool

	ModelStickiness  bool          // live
	StickinessWindow time.Duration // default 30 min

	// ToolsSpec is ToolsPerTurn (default) or ToolsAll. Live.
	ToolsSpec string
	// FilesDir keeps generated files (the data directory's "files");
	// "" keeps them in memory. FileTTL is how long they are served
	// (default 24 h). Both are read at New.
	FilesDir string
	FileTTL  time.Duration
	// PublicBaseURL is the scheme://host[:port] links to generated files
	// use; "" = the request's address, or a trusted proxy's
	// X-Forwarded-Proto/Host. Live.
	PublicBaseURL  string
	TrustedProxies []netip.Prefix // live
	// ModelFallback lets a request for a model the upstream refuses be
	// served by the nearest available one; ModelRecheck is how long a
	// refused model stays marked (default 1 h). Live.
	ModelFallback bool
	// ModelAliases map names clients hard-wire to this gateway's models
	// (MODEL_ALIASES; live).
	ModelAliases []ModelAlias
	ModelRecheck time.Duration

	ReadHeaderTimeout      time.Duration // default 10 s
	MaxHeaderBytes         int           // default 64 KiB
	MaxConcurrentPerClient int           // live; 0 = unlimited
	ShutdownGrace          time.Duration // default 30 s

	// Pprof serves /debug/pprof/ (loopback listeners only, admin key).
	Pprof bool
}

// Model maps an OpenAI-side model name to the upstream model id.
type Model struct {
	ID         string
	UpstreamID string // "" lets the upstream choose
	// Media marks a virtual model that generates images or videos.
	Media pool.Media
	// Fallbacks are the nearest models, in order, that serve a request
	// when the upstream refuses this one and ModelFallback allows it.
	Fallbacks []string
}

// DefaultConfig is the product's defaults.
func DefaultConfig() Config {
	return Config{
		Host: "127.0.0.1", Port: 7860,
		MaxBodyBytes:           20 << 20,
		MaxBodyBytesInFlight:   128 << 20,
		ReadBodyTimeout:        30 * time.Second,
		Models:                 DefaultModels,
		DefaultModel:           "gemini-auto",
		Reasoning:              ReasoningField,
		KeepAlive:              10 * time.Second,
		ImageFetchTimeout:      15 * time.Second,
		ModelStickiness:        true,
		StickinessWindow:       30 * time.Minute,
		ToolsSpec:              ToolsPerTurn,
		FileTTL:                24 * time.Hour,
		ModelRecheck:           time.Hour,
		ReadHeaderTimeout:      10 * time.Second,
		MaxHeaderBytes:         64 << 10,
		MaxConcurrentPerClient: 2048,
		ShutdownGrace:          30 * time.Second,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Host == "" {
		c.Host = d.Host
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = d.MaxBodyBytes
	}
	if c.MaxBodyBytesInFlight <= 0 {
		c.MaxBodyBytesInFlight = d.MaxBodyBytesInFlight
	}
	if c.MaxBodyBytesInFlight < c.MaxBodyBytes {
		c.MaxBodyBytesInFlight = c.MaxBodyBytes
	}
	if c.ReadBodyTimeout <= 0 {
		c.ReadBodyTimeout = d.ReadBodyTimeout
	}
	if len(c.Models) == 0 {
		c.Models = d.Models
	}
	if c.DefaultModel == "" {
		c.DefaultModel = c.Models[0].ID
	}
	if c.Reasoning == "" {
		c.Reasoning = d.Reasoning
	}
	if c.ToolsSpec == "" {
		c.ToolsSpec = d.ToolsSpec
	}
	if c.FileTTL <= 0 {
		c.FileTTL = d.FileTTL
	}
	if c.ModelRecheck <= 0 {
		c.ModelRecheck = d.ModelRecheck
	}
	if c.KeepAlive <= 0 {
		c.KeepAlive = d.KeepAlive
	}
	if c.ImageFetchTimeout <= 0 {
		c.ImageFetchTimeout = d.ImageFetchTimeout
	}
	if c.StickinessWindow <= 0 {
		c.StickinessWindow = d.StickinessWindow
	}
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = d.ReadHeaderTimeout
	}
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = d.ShutdownGrace
	}
	return c
}

// Addr is host:port of the listener.
func (c Config) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// IsLoopback reports whether host only accepts connections from this machine.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Validate reports settings that must not be combined.
func (c Config) Validate() error {
	c = c.withDefaults()
	if !IsLoopback(c.Host) && c.APIKey == "" {
		return fmt.Errorf("HOST=%s accepts connections from other machines, which needs an API key: set API_KEY (or bind to 127.0.0.1)", c.Host)
	}
	if err := ParseOrigins(c.CORSOrigins); err != nil {
		return err
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("PORT: want 1-65535, got %d", c.Port)
	}
	switch c.Reasoning {
	case ReasoningField, ReasoningThink, ReasoningOff:
	default:
		return fmt.Errorf("REASONING_OUTPUT: want %s, %s or %s, got %q", ReasoningField, ReasoningThink, ReasoningOff, c.Reasoning)
	}
	if c.ToolsSpec != ToolsPerTurn && c.ToolsSpec != ToolsAll {
		return fmt.Errorf("TOOLS_SPEC: want %s or %s, got %q", ToolsPerTurn, ToolsAll, c.ToolsSpec)
	}
	found := false
	for _, m := range c.Models {
		found = found || m.ID == c.DefaultModel
	}
	if !found {
		return fmt.Errorf("DEFAULT_MODEL: %q is not one of the served models", c.DefaultModel)
	}
	return nil
}

// Deps are the server's collaborators. Accounts.OnChange must reload the
// changed account in Pool (app.go and the tests' harness wire it): the
// admin handlers rely on it and do not reload again.
type Deps struct {
	Pool     *pool.Pool
	Checker  *pool.Checker
	Accounts *accounts.Manager // nil: account management is unavailable
	Upstream *upstream.Client  // for generated files
	Bus      *events.Bus
	Log      *slog.Logger
	// ImportPython reads accounts from a Python gateway's database (optional).
	ImportPython func(ctx context.Context, databaseURL string) ([]accounts.Input, error)
	// Refresher serves POST /api/admin/accounts/{id}/refresh; nil means
	// PoolRefresher{Pool} (no browser).
	Refresher Refresher
	// ClientKeys keeps the named client keys (nil: only API_KEY).
	ClientKeys clients.Store
	// Usage records chat requests per day, client, account and model (nil:
	// not recorded).
	Usage *usage.Recorder
}

// Server is the gateway's HTTP server.
type Server struct {
	deps    Deps
	log     *slog.Logger
	handler http.Handler
	sticky  *stickiness
	files   *fileStore
	drift   modelDrift

	mu  sync.RWMutex
	cfg Config

	clients clientLimiter
	keys    clients.Registry
	rate    clients.RateLimiter
	budget  bodyBudget

	active   atomic.Int64 // chat requests in progress
	streams  atomic.Int64 // streaming chat requests in progress
	reqTotal atomic.Int64 // chat requests since the server was made
	counted  chan struct{}

	srvMu sync.Mutex
	srv   *http.Server
	ln    net.Listener
	done  chan struct{}
}

// New builds a server; it does not listen yet.
func New(cfg Config, d Deps) *Server {
	cfg = cfg.withDefaults()
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{deps: d, log: d.Log, cfg: cfg, files: newFileStore(cfg.FilesDir, cfg.FileTTL, 256<<20), counted: make(chan struct{}, 1)}
	s.sticky = newStickiness(cfg.StickinessWindow)
	s.keys.SetBuiltin(cfg.APIKey)
	if err := s.ReloadClientKeys(context.Background()); err != nil {
		s.log.Warn("read client keys", "err", err)
	}
	s.handler = s.routes()
	return s
}

// Config returns the current configuration.
func (s *Server) Config() Config {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cfg
}

// SetConfig applies live settings at once (API key, models, limits …).
func (s *Server) SetConfig(cfg Config) error {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	s.cfg = cfg
	s.mu.Unlock()
	s.files.setup(cfg.FilesDir, cfg.FileTTL)
	s.keys.SetBuiltin(cfg.APIKey)
	return nil
}

// SetUpstream switches the client used for generated files.
func (s *Server) SetUpstream(up *upstream.Client) {
	s.mu.Lock()
	s.deps.Upstream = up
	s.mu.Unlock()
}

func (s *Server) upstreamClient() *upstream.Client {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.deps.Upstream
}

// Handler is the whole HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /v1/models", s.handleModels)
	mux.HandleFunc("GET /v1/models/{id}", s.handleModel)
	mux.HandleFunc("POST /v1/chat/completions", s.handleChat)
	mux.HandleFunc("POST /v1/responses", s.handleResponses)
	mux.HandleFunc("POST /v1/messages", s.handleMessages)
	mux.HandleFunc("POST /v1/messages/count_tokens", s.handleCountTokens)
	mux.HandleFunc("GET /files/{name}", s.handleFile)
	mux.HandleFunc("POST /v1/images/generations", s.handleImageGenerations)
	mux.HandleFunc("POST /v1/images/edits", s.handleImageEdits)
	s.adminRoutes(mux)
	mux.HandleFunc("/debug/pprof/", s.pprofGuard(pprof.Index))
	mux.HandleFunc("/debug/pprof/profile", s.pprofGuard(pprof.Profile))
	mux.HandleFunc("/debug/pprof/trace", s.pprofGuard(pprof.Trace))
	mux.HandleFunc("/debug/pprof/symbol", s.pprofGuard(pprof.Symbol))
	mux.HandleFunc("/debug/pprof/cmdline", s.pprofGuard(pprof.Cmdline))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		openai.NewError(http.StatusNotFound, openai.TypeNotFound, "not_found",
			fmt.Sprintf("No route for %s %s. The API is at /v1 (GET /v1/models, POST /v1/chat/completions).", r.Method, r.URL.Path)).Write(w)
	})
	return s.middleware(mux)
}

func (s *Server) pprofGuard(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cfg := s.Config()
		if !infoFrom(r.Context()).admin {
			openai.NewError(http.StatusUnauthorized, openai.TypeAuthentication, "invalid_admin_key", "pprof needs the admin key.").Write(w)
			return
		}
		if !cfg.Pprof || !IsLoopback(cfg.Host) {
			openai.NewError(http.StatusNotFound, openai.TypeNotFound, "not_found", "pprof is off (set PPROF=true; loopback listeners only; admin key).").Write(w)
			return
		}
		h(w, r)
	}
}

// ErrPortInUse is returned by Listen when another program holds the port.
type ErrPortInUse struct {
	Addr string
	Err  error
}

func (e *ErrPortInUse) Error() string {
	return fmt.Sprintf("port %s is already in use by another program (Stable Diffusion WebUI and Gradio apps also use 7860): choose another with PORT=", e.Addr)
}

func (e *ErrPortInUse) Unwrap() error { return e.Err }

// Listen binds the listener.
func (s *Server) Listen() error {
	cfg := s.Config()
	if err := cfg.Validate(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr())
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return &ErrPortInUse{Addr: cfg.Addr(), Err: err}
		}
		return fmt.Errorf("listen on %s: %w", cfg.Addr(), err)
	}
	s.srvMu.Lock()
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.done = make(chan struct{})
	s.srvMu.Unlock()
	return nil
}

// Addr is the bound address (useful with port 0).
func (s *Server) Addr() string {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Serve serves until Shutdown; it returns nil after a clean shutdown.
func (s *Server) Serve() error {
	s.srvMu.Lock()
	srv, ln, done := s.srv, s.ln, s.done
	s.srvMu.Unlock()
	if srv == nil {
		return errors.New("gateway: Serve before Listen")
	}
	s.deps.Bus.Publish(events.Event{Kind: events.GatewayState, Gateway: &events.GatewayInfo{Running: true, Addr: ln.Addr().String()}})
	s.log.Info("gateway serving", "addr", ln.Addr().String(), "base_url", "http://"+ln.Addr().String()+"/v1")
	err := srv.Serve(ln)
	close(done)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	info := &events.GatewayInfo{Running: false, Addr: ln.Addr().String()}
	if err != nil {
		info.Err = err.Error()
	}
	s.deps.Bus.Publish(events.Event{Kind: events.GatewayState, Gateway: info})
	return err
}

// Running reports whether the server is serving.
func (s *Server) Running() bool {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	if s.done == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// Shutdown stops accepting connections and lets open requests (streams
// included) finish within the grace period, then closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.srvMu.Lock()
	srv, done := s.srv, s.done
	s.srvMu.Unlock()
	if srv == nil {
		return nil
	}
	grace := s.Config().ShutdownGrace
	sctx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		s.log.Warn("grace period over, closing open streams", "grace", grace.String(), "active", s.active.Load())
		srv.Close()
	}
	<-done
	s.srvMu.Lock()
	s.srv, s.ln = nil, nil
	s.srvMu.Unlock()
	return nil
}

// Stats are the counters the Overview panel shows ("requests today" is
// kept per day in the database by package app, from RequestsTotal).
type Stats struct {
	ActiveRequests int64
	ActiveStreams  int64
	Sessions       int
}

// Stats returns current counters.
func (s *Server) Stats() Stats {
	st := Stats{ActiveRequests: s.active.Load(), ActiveStreams: s.streams.Load()}
	if s.deps.Pool != nil {
		st.Sessions = s.deps.Pool.SessionCount()
	}
	return st
}

func (s *Server) countRequest() {
	s.reqTotal.Add(1)
	select {
	case s.counted <- struct{}{}:
	default:
	}
}

// RequestsTotal is the number of chat requests since the server was made.
func (s *Server) RequestsTotal() int64 { return s.reqTotal.Load() }

// RequestCounted receives (coalesced) after RequestsTotal grew, for a
// consumer that keeps its own tally without polling.
func (s *Server) RequestCounted() <-chan struct{} { return s.counted }

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	usable, total := 0, 0
	if s.deps.Pool != nil {
		for _, v := range s.deps.Pool.Snapshot() {
			total++
			if v.Usable {
				usable++
			}
		}
	}
	fmt.Fprintf(w, `{"status":"ok","accounts_usable":%d,"accounts_total":%d}`+"\n", usable, total)
}
