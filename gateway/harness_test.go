package gateway_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	openai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/gemgate/gemini-gateway/app/store"
	"github.com/gemgate/gemini-gateway/gateway"
	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/gateway/events"
	"github.com/gemgate/gemini-gateway/gateway/logging"
	"github.com/gemgate/gemini-gateway/gateway/pool"
	"github.com/gemgate/gemini-gateway/gateway/upstream"
	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
	"github.com/gemgate/gemini-gateway/gateway/usage"
	"github.com/gemgate/gemini-gateway/internal/keystoretest"
)

// harness is a real gateway on a loopback port in front of the fake
// upstream, with accounts in a real SQLite store and secrets in memory.
type harness struct {
	t       *testing.T
	fake    *fakeupstream.Server
	srv     *gateway.Server
	base    string
	key     string
	admin   string
	usage   *usage.Recorder
	up      *upstream.Client
	pool    *pool.Pool
	checker *pool.Checker
	mgr     *accounts.Manager
	store   *store.Store
	secrets *keystoretest.Memory
	bus     *events.Bus
	accts   []fakeupstream.Account
	ids     []int64
	logs    *syncBuffer

	closeOnce  sync.Once
	closeFn    func()
	extraClose []func()
}

type harnessOpts struct {
	accounts int
	fake     fakeupstream.Options
	key      string
	admin    string // default adminKey
	gw       func(*gateway.Config)
	pool     func(*pool.Config)
	up       func(*upstream.Config)
	// source replaces the pool's account source (default: the Manager).
	source func(*harness) pool.Source
	// rewire returns the base URL the upstream client uses instead of the
	// fake's own (a fault-injecting proxy in front of it, or a fake in
	// another process).
	rewire func(*harness) string
	// logTail keeps only the last bytes of the log (long runs).
	logTail int
}

type syncBuffer struct {
	mu  sync.Mutex
	b   strings.Builder
	max int // > 0: keep only about the last max bytes (long runs)
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.max > 0 && s.b.Len() > 2*s.max {
		tail := s.b.String()[s.b.Len()-s.max:]
		s.b.Reset()
		s.b.WriteString(tail)
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newHarness(t *testing.T, o harnessOpts) *harness {
	t.Helper()
	if o.accounts == 0 {
		o.accounts = 1
	}
	if o.fake.Seed == 0 {
		o.fake.Seed = time.Now().UnixNano()
	}
	t.Logf("fake seed %d", o.fake.Seed)
	if o.admin == "" {
		o.admin = adminKey
	}
	h := &harness{t: t, key: o.key, admin: o.admin, logs: &syncBuffer{max: o.logTail}, bus: &events.Bus{}}
	h.fake = fakeupstream.Start(o.fake)
	for i := 1; i <= o.accounts; i++ {
		a := fakeupstream.DemoAccount(i)
		h.fake.AddAccount(a)
		h.accts = append(h.accts, a)
	}
	base := h.fake.URL()
	if o.rewire != nil {
		base = o.rewire(h)
	}
	ucfg := upstream.Config{BusinessURL: base + "/business", AuthURL: base + "/auth", APIURL: base + "/api"}
	if o.up != nil {
		o.up(&ucfg)
	}
	up, err := upstream.New(ucfg)
	if err != nil {
		t.Fatal(err)
	}
	h.up = up
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, t.TempDir()+"/gateway.db")
	if err != nil {
		t.Fatal(err)
	}
	h.store = st
	h.secrets = keystoretest.NewMemory()
	h.mgr = &accounts.Manager{Store: st, Backends: map[string]accounts.SecretStore{accounts.BackendKeychain: h.secrets}, Default: accounts.BackendKeychain}
	for i, a := range h.accts {
		acct, err := h.mgr.Create(ctx, accounts.Input{Name: fmt.Sprintf("acct-%d", i+1), SecureCSES: a.SecureCSES, HostCOSES: a.HostCOSES, CSESIDX: a.CSESIDX, ConfigID: a.ConfigID})
		if err != nil {
			t.Fatal(err)
		}
		h.ids = append(h.ids, acct.ID)
	}
	redactor := &logging.Redactor{}
	for _, a := range h.accts {
		redactor.Add(a.SecureCSES, a.HostCOSES, a.CSESIDX)
	}
	log := slog.New(logging.NewHandler(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}), redactor))
	pcfg := pool.DefaultConfig()
	if o.pool != nil {
		o.pool(&pcfg)
	}
	var src pool.Source = h.mgr
	if o.source != nil {
		src = o.source(h)
	}
	h.pool, err = pool.New(ctx, pcfg, pool.Options{Upstream: up, Source: src, Store: st, Bus: h.bus, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	h.mgr.OnChange = func(id int64) { h.pool.Reload(context.Background(), id) }
	hc := pool.DefaultHealthConfig()
	hc.Timeout = 5 * time.Second
	h.checker = pool.NewChecker(h.pool, hc)
	gcfg := gateway.DefaultConfig()
	gcfg.Port = 0 // a free port
	gcfg.APIKey = o.key
	gcfg.AdminKey = o.admin
	gcfg.AllowKeylessLoopback = o.key == ""
	if o.gw != nil {
		o.gw(&gcfg)
	}
	h.usage = &usage.Recorder{Store: st}
	h.srv = gateway.New(gcfg, gateway.Deps{Pool: h.pool, Checker: h.checker, Accounts: h.mgr, Upstream: up, Bus: h.bus, Log: log,
		ImportPython: store.ReadPythonAccounts, ClientKeys: st, Usage: h.usage})
	if err := h.srv.Listen(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- h.srv.Serve() }()
	h.base = "http://" + h.srv.Addr()
	h.closeFn = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		h.srv.Shutdown(ctx)
		<-served
		h.pool.Close()
		h.up.CloseIdleConnections()
		st.Close()
		h.fake.Close()
		for _, f := range h.extraClose {
			f()
		}
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
		if t.Failed() {
			t.Logf("gateway log:\n%s", h.logs.String())
		}
	}
	t.Cleanup(h.close)
	return h
}

// close shuts everything down (idempotent; tests that check for leaked
// goroutines call it before their check).
func (h *harness) close() { h.closeOnce.Do(h.closeFn) }

// client is the official OpenAI Go SDK pointed at the gateway.
func (h *harness) client(opts ...option.RequestOption) openai.Client {
	base := []option.RequestOption{option.WithBaseURL(h.base + "/v1/"), option.WithMaxRetries(0)}
	if h.key != "" {
		base = append(base, option.WithAPIKey(h.key))
	} else {
		base = append(base, option.WithAPIKey("unused"))
	}
	return openai.NewClient(append(base, opts...)...)
}

func (h *harness) queue(i int, scenarios ...string) {
	h.fake.QueueScenario(h.accts[i].CSESIDX, scenarios...)
}

func (h *harness) account(i int) pool.AccountView {
	for _, v := range h.pool.Snapshot() {
		if v.ID == h.ids[i] {
			return v
		}
	}
	h.t.Fatalf("account %d not in the pool", i)
	return pool.AccountView{}
}

func (h *harness) do(method, path, body string, hdr map[string]string) *http.Response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.base+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/debug/") {
		req.Header.Set("Authorization", "Bearer "+h.admin) // admin routes take the admin key
	} else if h.key != "" {
		req.Header.Set("Authorization", "Bearer "+h.key)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// adminKey is the harness's default admin credential.
const adminKey = "gg-admin-test-credential"

func strict() bool { return os.Getenv("GATEWAY_TEST_STRICT") != "" }

// skipOrFail skips a test whose tool (node, an npm package, an agent) is
// missing, and fails it under GATEWAY_TEST_STRICT, as in CI.
func skipOrFail(t *testing.T, msg string) {
	t.Helper()
	if strict() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func newLocalServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

type (
	upstreamConfig = upstream.Config
	gatewayConfig  = gateway.Config
)

func upstreamCreds(a fakeupstream.Account, id int64) upstream.Credentials {
	return upstream.Credentials{AccountID: fmt.Sprintf("test-%d", id), SecureCSES: a.SecureCSES, HostCOSES: a.HostCOSES, CSESIDX: a.CSESIDX, ConfigID: a.ConfigID}
}
