package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/gemgate/gemini-gateway/app/store"
	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/gateway/logging"
	"github.com/gemgate/gemini-gateway/gateway/signin"
)

// BrowserConfig configures the browser sign-in (BROWSER_PATH,
// BROWSER_ARGS) and what keeps a signed-in account alive.
type BrowserConfig struct {
	Path string
	Args string
	// RefreshInterval is about how often a silent refresh reopens an
	// account's profile (jittered); 0 turns the schedule off.
	RefreshInterval time.Duration
	// ExpiryNotice is how long before an account's cookies expire the
	// person is told; 0 turns the notice off.
	ExpiryNotice time.Duration
}

func defaultBrowserConfig() BrowserConfig {
	return BrowserConfig{RefreshInterval: time.Hour, ExpiryNotice: time.Hour}
}

// ProfilesDirName is the directory under the data directory that holds one
// browser profile per account.
const ProfilesDirName = "browser-profiles"

// SignerConfig is the browser sign-in's configuration: the start page from
// GEMINI_BUSINESS_URL, the browser from BROWSER_PATH/BROWSER_ARGS, the
// profiles under the data directory.
func (c *Config) SignerConfig() signin.Config {
	return signin.Config{
		BusinessURL: c.Upstream.BusinessURL,
		BrowserPath: c.Browser.Path,
		BrowserArgs: c.Browser.Args,
		ProfilesDir: filepath.Join(c.DataDir, ProfilesDirName),
	}
}

// SignInAccount runs the windowed browser sign-in for account id (0: a new
// account called name, or the existing one of that name) and saves the
// result, updating the account in place when it exists. The account keeps
// its browser profile for later silent refreshes.
func SignInAccount(ctx context.Context, s *signin.Signer, mgr *accounts.Manager, r *logging.Redactor, id int64, name string) (accounts.Account, signin.Result, error) {
	if id == 0 && name != "" {
		list, err := mgr.List(ctx)
		if err != nil {
			return accounts.Account{}, signin.Result{}, err
		}
		for _, a := range list {
			if strings.EqualFold(a.Name, name) && !a.ReadOnly {
				id = a.ID
				break
			}
		}
	}
	profile := signin.ProfileName(id)
	if id == 0 {
		var b [6]byte
		_, _ = rand.Read(b[:])
		profile = "new-" + hex.EncodeToString(b[:])
	}
	res, err := s.SignIn(ctx, profile)
	if err != nil {
		if id == 0 {
			_ = s.RemoveProfile(profile)
		}
		return accounts.Account{}, signin.Result{}, err
	}
	if r != nil {
		r.Add(res.Secrets.SecureCSES, res.Secrets.HostCOSES, res.Secrets.CSESIDX)
	}
	acct, err := saveSignIn(ctx, mgr, id, name, res)
	if err != nil {
		if id == 0 {
			_ = s.RemoveProfile(profile)
		}
		return accounts.Account{}, res, err
	}
	if id == 0 {
		if err := s.RenameProfile(profile, signin.ProfileName(acct.ID)); err != nil {
			return acct, res, fmt.Errorf("account saved, but its browser profile could not be kept for silent refreshes: %w", err)
		}
	}
	return acct, res, nil
}

// saveSignIn stores a sign-in: a new account, or the same account (id,
// name, counters) with the new cookies and csesidx, back in service.
func saveSignIn(ctx context.Context, mgr *accounts.Manager, id int64, name string, r signin.Result) (accounts.Account, error) {
	return mgr.SaveSignIn(ctx, id, name, r.SignInResult())
}

// RunSignIn is gemini-gateway -signin NAME: the browser sign-in on this
// machine, saved into the configured store (SQLite in the data directory
// or DATABASE_URL), whether or not a gateway runs on it. It prints no
// secret and returns the exit code.
func RunSignIn(cfg *Config, name string, out, errOut io.Writer) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(errOut, "gemini-gateway -signin: "+format+"\n", args...)
		return 1
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return fail("give the account's name: -signin NAME (at most 100 characters)")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	r := &logging.Redactor{}
	r.Add(cfg.Gateway.APIKey, cfg.SecretKey)
	a := &App{cfg: cfg, Redactor: r}
	a.Log = NewLogger(errOut, cfg.LogLevel, cfg.LogFormat, r)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fail("GATEWAY_DATA_DIR: cannot create %s: %v", cfg.DataDir, err)
	}
	st, err := store.Open(ctx, cfg.DataDir, cfg.DatabaseURL)
	if err != nil {
		return fail("open the account database: %v", err)
	}
	defer st.Close()
	a.Store = st
	mgr := &accounts.Manager{Store: st, Backends: map[string]accounts.SecretStore{}}
	if err := a.openKeystores(ctx, mgr); err != nil {
		return fail("%v", err)
	}
	if mgr.Default == "" {
		return fail("%s", a.SecretWarning)
	}
	sc := cfg.SignerConfig()
	sc.Log = a.Log
	s := signin.New(sc)
	fmt.Fprintf(out, "Sign in to Gemini Business in the browser window that opens (account %q).\n", name)
	acct, res, err := SignInAccount(ctx, s, mgr, r, 0, name)
	if err != nil {
		switch {
		case errors.Is(err, signin.ErrNoBrowser):
			return fail("%v", err)
		case ctx.Err() != nil:
			return fail("interrupted; nothing was saved")
		}
		return fail("%v", err)
	}
	where := "the SQLite database in " + cfg.DataDir
	if st.Dialect() == store.DialectPostgres {
		where = "the PostgreSQL pool (DATABASE_URL)"
	}
	exp := "when the browser session ends"
	if !res.ExpiresAt.IsZero() {
		exp = "at " + res.ExpiresAt.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(out, "Signed in: account %q (id %d) saved in %s in %s. Its sign-in cookie expires %s.\n",
		acct.Name, acct.ID, where, res.Elapsed.Round(time.Second), exp)
	return 0
}

// followSQLite notices account changes another process (a -signin, a
// second app on the same data directory) wrote to the SQLite database,
// which has no LISTEN/NOTIFY: it compares a fingerprint of the accounts
// every interval and reloads the pool when it changed.
func (a *App) followSQLite(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	last := uint64(0)
	for {
		list, err := a.Store.List(ctx)
		if err == nil {
			h := fnv.New64a()
			for _, acc := range list {
				fmt.Fprintf(h, "%d|%s|%s|%t|%d;", acc.ID, acc.Name, acc.SecretRef, acc.Enabled, acc.UpdatedAt.UnixNano())
			}
			if sum := h.Sum64(); sum != last {
				if last != 0 {
					if err := a.reloadSafely(-1); err != nil && ctx.Err() == nil {
						a.Log.Warn("reload accounts after a change elsewhere", "err", err)
					}
				}
				last = sum
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
