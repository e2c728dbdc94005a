// Package app is the composition root: it reads the configuration, opens
// the account store and the keystore, builds the upstream client, the pool,
// the health checker and the HTTP server, and runs them — with the desktop
// GUI or headless. Nothing else knows how the pieces are wired.
package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/gemgate/gemini-gateway/app/store"
	"github.com/gemgate/gemini-gateway/gateway"
	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/gateway/events"
	"github.com/gemgate/gemini-gateway/gateway/logging"
	"github.com/gemgate/gemini-gateway/gateway/pool"
	"github.com/gemgate/gemini-gateway/gateway/signin"
	"github.com/gemgate/gemini-gateway/gateway/upstream"
	"github.com/gemgate/gemini-gateway/gateway/usage"
	"github.com/gemgate/gemini-gateway/internal/daycount"
	"github.com/gemgate/gemini-gateway/keystore"
)

// Version is set at build time (-ldflags "-X …/app.Version=…").
var Version = "0.1.0-dev"

// App is one running gateway with everything it needs.
type App struct {
	// cfg is the current configuration (the desktop Settings panel may
	// change it): read it with Config, replace it with SetConfig.
	cfg      *Config
	cfgMu    sync.RWMutex
	Log      *slog.Logger
	Redactor *logging.Redactor
	Bus      *events.Bus

	Store    *store.Store
	Accounts *accounts.Manager
	upClient *upstream.Client // replaced by swapUpstream; read only under upMu
	upMu     sync.Mutex
	Pool     *pool.Pool
	Checker  *pool.Checker
	Server   *gateway.Server
	// Requests counts chat requests per day in the database.
	Requests *daycount.Counter
	// Signer runs browser sign-ins and silent refreshes; Refresher keeps
	// accounts alive (HTTP refresh, then the browser profile).
	Signer    *signin.Signer
	Refresher *BrowserRefresher
	// Usage records usage per day, client key, account and model.
	Usage *usage.Recorder
	// AdminKeyPath is the admin.key file in use ("" with ADMIN_KEY);
	// AdminKeyCreated says this start made it.
	AdminKeyPath    string
	AdminKeyCreated bool

	// SecretBackend describes where new secrets go, for the UI.
	SecretBackend string
	// SecretWarning explains a missing secret store, for the UI and logs.
	SecretWarning string

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	srvMu   sync.Mutex
	serving chan error // result of the running Serve, nil when stopped
}

// NewLogger builds the redacting logger the whole process uses.
func NewLogger(w io.Writer, level, format string, r *logging.Redactor) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(logging.NewHandler(h, r))
}

// redactingSource registers every secret it hands out with the log
// redactor before anyone can log it.
type redactingSource struct {
	*accounts.Manager
	r *logging.Redactor
}

func (s redactingSource) Secrets(ctx context.Context, a accounts.Account) (accounts.Secrets, error) {
	sec, err := s.Manager.Secrets(ctx, a)
	if err == nil {
		s.r.Add(sec.SecureCSES, sec.HostCOSES, sec.CSESIDX)
	}
	return sec, err
}

// SaveRefresh registers re-issued cookies with the log redactor before
// they are stored, so they are hidden even when storing fails.
func (s redactingSource) SaveRefresh(ctx context.Context, id int64, r accounts.SignInResult) (accounts.Account, error) {
	s.r.Add(r.Secrets.SecureCSES, r.Secrets.HostCOSES, r.Secrets.CSESIDX)
	return s.Manager.SaveRefresh(ctx, id, r)
}

// Build wires everything from cfg; logOut receives the log.
func Build(ctx context.Context, cfg *Config, logOut io.Writer) (*App, error) {
	r := &logging.Redactor{}
	r.Add(cfg.Gateway.APIKey, cfg.SecretKey)
	if cfg.EnvAccount != nil {
		r.Add(cfg.EnvAccount.SecureCSES, cfg.EnvAccount.HostCOSES, cfg.EnvAccount.CSESIDX)
	}
	a := &App{cfg: cfg, Redactor: r, Bus: &events.Bus{}}
	a.Log = NewLogger(logOut, cfg.LogLevel, cfg.LogFormat, r)
	a.ctx, a.cancel = context.WithCancel(context.Background())

	if err := a.prepareDataDir(); err != nil {
		return nil, err
	}
	mgr, err := a.openAccounts(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.buildGateway(ctx, mgr); err != nil {
		a.Store.Close()
		return nil, err
	}
	a.startBackground()
	return a, nil
}

// prepareDataDir makes the data directory private, logs the .env files
// read, and loads or creates the admin key.
func (a *App) prepareDataDir() error {
	cfg := a.cfg
	if err := privateDataDir(cfg.DataDir, a.Log); err != nil {
		return err
	}
	for _, p := range cfg.EnvFiles {
		a.Log.Info("read .env file", "path", p)
	}
	keyPath, created, err := ensureAdminKey(cfg)
	if err != nil {
		return fmt.Errorf("admin key: %w", err)
	}
	a.Redactor.Add(cfg.Gateway.AdminKey)
	a.AdminKeyPath, a.AdminKeyCreated = keyPath, created
	if keyPath != "" {
		a.Log.Info("admin key", "file", keyPath, "created", created)
	}
	if cfg.Gateway.APIKey != "" && cfg.Gateway.APIKey == cfg.Gateway.AdminKey {
		a.Log.Warn("ADMIN_KEY equals API_KEY: every client holding the key can also use the admin API (export cookies, delete accounts); give clients their own keys")
	}
	return nil
}

// openAccounts opens the account database and the secret stores, adds the
// account from the environment, and finishes a clean-up an earlier crash
// left. On error nothing stays open.
func (a *App) openAccounts(ctx context.Context) (*accounts.Manager, error) {
	cfg := a.cfg
	st, err := store.Open(ctx, cfg.DataDir, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("open the account database: %w", err)
	}
	a.Store = st
	mgr := &accounts.Manager{Store: st, Backends: map[string]accounts.SecretStore{}}
	if err := a.openKeystores(ctx, mgr); err != nil {
		st.Close()
		return nil, err
	}
	if cfg.EnvAccount != nil {
		mgr.Env = envAccount(*cfg.EnvAccount)
	}
	a.Accounts = mgr
	if n, err := mgr.Recover(ctx); err != nil {
		a.Log.Warn("could not finish cleaning up secrets after an earlier crash; will retry at next start", "err", err)
	} else if n > 0 {
		a.Log.Info("removed secrets an earlier crash left without an account", "count", n)
	}
	return mgr, nil
}

// envAccount is the read-only account the environment defines.
func envAccount(in accounts.Input) *accounts.EnvAccount {
	return &accounts.EnvAccount{
		Account: accounts.Account{
			ID: accounts.EnvAccountID, Name: "environment", ConfigID: in.ConfigID, Enabled: true,
			Status: accounts.StatusUnknown, SecretBackend: accounts.BackendEnv, SecretRef: "env",
			SecretHints: accounts.Hints(in.Secrets()), ReadOnly: true,
		},
		Secrets: in.Secrets(),
	}
}

// buildGateway builds the engine over the accounts: upstream client, pool,
// health checker, sign-in and refresh, usage, the HTTP server and the day
// counter. The caller closes the store on error.
func (a *App) buildGateway(ctx context.Context, mgr *accounts.Manager) error {
	cfg, r, st := a.cfg, a.Redactor, a.Store
	up, err := upstream.New(cfg.Upstream)
	if err != nil {
		return err
	}
	a.upClient = up
	p, err := pool.New(ctx, cfg.Pool, pool.Options{
		Upstream: up, Source: redactingSource{mgr, r}, Store: st, Bus: a.Bus, Log: a.Log,
	})
	if err != nil {
		return err
	}
	a.Pool = p
	mgr.OnChange = func(id int64) {
		if err := p.Reload(context.Background(), id); err != nil {
			a.Log.Warn("reload account", "account_id", id, "err", err)
		}
	}
	a.Checker = pool.NewChecker(p, cfg.Health)
	sc := cfg.SignerConfig()
	sc.Log = a.Log
	a.Signer = signin.New(sc)
	a.Refresher = &BrowserRefresher{HTTP: gateway.PoolRefresher{Pool: p}, Signer: a.Signer, Accounts: mgr, Redactor: r, Bus: a.Bus}
	a.Usage = &usage.Recorder{Store: st}
	a.Server = gateway.New(cfg.Gateway, gateway.Deps{
		Pool: p, Checker: a.Checker, Accounts: mgr, Upstream: up, Bus: a.Bus, Log: a.Log,
		ImportPython: store.ReadPythonAccounts, Refresher: a.Refresher,
		ClientKeys: st,
		Usage:      a.Usage,
	})
	a.Requests = &daycount.Counter{
		Store: st, Total: a.Server.RequestsTotal, Counted: a.Server.RequestCounted(),
		Now: time.Now, Log: a.Log, FlushGap: time.Second,
	}
	if st.Dialect() == store.DialectPostgres {
		a.Requests.Refresh = 30 * time.Second // other instances count too
	}
	return nil
}

// openKeystores decides where secrets live: sealed in the database when
// GATEWAY_SECRET_KEY is set, else the OS keychain when it answers, else
// nowhere (accounts from the environment still work).
func (a *App) openKeystores(ctx context.Context, mgr *accounts.Manager) error {
	cfg := a.Config()
	if cfg.SecretKey != "" {
		sealed, err := keystore.OpenSealed(ctx, cfg.SecretKey, a.Store)
		if err != nil {
			return fmt.Errorf("GATEWAY_SECRET_KEY: %w", err)
		}
		mgr.Backends[accounts.BackendSealed] = sealed
		mgr.Default = accounts.BackendSealed
		a.SecretBackend = "sealed in the database with GATEWAY_SECRET_KEY"
	}
	kr, err := keystore.NewKeyring(AppID, keystore.WithTimeout(cfg.KeychainTimeout))
	if err == nil {
		pctx, cancel := context.WithTimeout(ctx, min(cfg.KeychainTimeout, 3*time.Second))
		err = kr.Probe(pctx)
		cancel()
	}
	if err == nil {
		mgr.Backends[accounts.BackendKeychain] = kr
		if mgr.Default == "" {
			mgr.Default = accounts.BackendKeychain
			a.SecretBackend = "the OS keychain"
		}
	} else if mgr.Default == "" {
		a.SecretWarning = "The OS keychain cannot be reached (" + err.Error() + ") and GATEWAY_SECRET_KEY is not set, so accounts cannot be added; accounts from the environment still work."
		a.Log.Warn("no secret store", "keychain", err.Error())
	}
	return nil
}

// startBackground runs the health checker and, on a shared PostgreSQL
// pool, follows other instances' account changes.
func (a *App) startBackground() {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.Checker.Run(a.ctx)
	}()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.Requests.Run(a.ctx)
	}()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.runRefreshes(a.ctx)
	}()
	if a.Store.Dialect() == store.DialectSQLite {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.followSQLite(a.ctx, 3*time.Second)
		}()
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.runClientWork()
	}()
	if ch, err := a.Store.Watch(a.ctx); err == nil && ch != nil {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			for id := range ch {
				if err := a.reloadSafely(id); err != nil && a.ctx.Err() == nil {
					a.Log.Warn("reload account after a change elsewhere", "account_id", id, "err", err)
				}
			}
		}()
	}
}

// Config returns the current configuration.
func (a *App) Config() *Config {
	a.cfgMu.RLock()
	defer a.cfgMu.RUnlock()
	return a.cfg
}

// SetConfig records a new configuration (its parts are applied by the
// caller: server, pool, checker, upstream).
func (a *App) SetConfig(c *Config) {
	a.cfgMu.Lock()
	a.cfg = c
	a.cfgMu.Unlock()
}

// reloadSafely reloads an account another process changed; a panic is
// logged and the watch goes on.
func (a *App) reloadSafely(id int64) (err error) {
	defer func() {
		if v := recover(); v != nil {
			a.Log.Error("panic recovered", "where", "account reload", "panic", fmt.Sprint(v))
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return a.Pool.Reload(a.ctx, id)
}

// StartGateway binds the port and serves in the background. A port held by
// another program is reported as *gateway.ErrPortInUse.
func (a *App) StartGateway() error {
	a.srvMu.Lock()
	defer a.srvMu.Unlock()
	if a.serving != nil {
		return nil
	}
	if err := a.Server.Listen(); err != nil {
		return err
	}
	done := make(chan error, 1)
	a.serving = done
	go func() { done <- a.Server.Serve() }()
	return nil
}

// StopGateway stops serving; open streams get the grace period.
func (a *App) StopGateway(ctx context.Context) error {
	a.srvMu.Lock()
	done := a.serving
	a.serving = nil
	a.srvMu.Unlock()
	if done == nil {
		return nil
	}
	err := a.Server.Shutdown(ctx)
	if serr := <-done; serr != nil && err == nil {
		err = serr
	}
	return err
}

// GatewayRunning reports whether the server is serving.
func (a *App) GatewayRunning() bool {
	a.srvMu.Lock()
	defer a.srvMu.Unlock()
	return a.serving != nil
}

// Close stops everything: the server (with its grace period), background
// work, pending counters, the database.
func (a *App) Close(ctx context.Context) error {
	err := a.StopGateway(ctx)
	a.cancel()
	a.wg.Wait()
	a.Pool.Close()
	a.upMu.Lock()
	a.upClient.CloseIdleConnections()
	a.upMu.Unlock()
	if cerr := a.Store.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}
