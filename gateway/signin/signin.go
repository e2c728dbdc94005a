// Package signin signs a person in to Gemini Business with the browser
// installed on their machine (Chrome, Edge, Chromium or Brave) and reads
// the account's cookies over the DevTools protocol, and later refreshes
// them silently by reopening the same profile without a window.
//
// Each account gets its own browser profile directory under the data
// directory, named from the account id (never an email or a secret), so
// the person's everyday browser profile is never touched and a later
// sign-in remembers the email. A profile is used by at most one browser
// at a time, and every browser this package starts is gone — its whole
// process group — when a call returns, whichever way it returns.
//
// Nothing here downloads a browser, and the app never ignores certificate
// errors; tests reach a local fake site by passing flags in BROWSER_ARGS.
package signin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
)

// Defaults of Config.
const (
	DefaultSignInTimeout  = 10 * time.Minute
	DefaultRefreshTimeout = 90 * time.Second
	DefaultBusinessURL    = "https://business.gemini.google"
)

// Errors a caller tells apart.
var (
	// ErrCancelled: the person closed the browser window before the
	// sign-in finished.
	ErrCancelled = errors.New("sign-in cancelled: the browser window was closed before the sign-in finished")
	// ErrTimedOut: the sign-in did not finish within the limit.
	ErrTimedOut = errors.New("sign-in not finished in time; start it again when you are ready")
	// ErrNeedsSignIn: a silent refresh landed on a sign-in page, so the
	// sign-in is over and the person must sign in again.
	ErrNeedsSignIn = errors.New("the sign-in has ended: the site asks to sign in again")
	// ErrNoProfile: a silent refresh needs a profile an earlier browser
	// sign-in created.
	ErrNoProfile = errors.New("this account was not signed in with the browser, so it has no browser profile to refresh from")
	// ErrProfileInUse: another browser (in another process) has the
	// account's profile open.
	ErrProfileInUse = errors.New("the account's browser profile is open in another browser or process; close it and try again")
	// ErrNoCookies: the home page was reached but the browser holds no
	// __Secure-C_SES cookie for the business host.
	ErrNoCookies = errors.New("signed in, but the browser has no __Secure-C_SES cookie for the business site")
)

// Config is what a Signer needs; app fills it from the settings.
type Config struct {
	// BusinessURL is GEMINI_BUSINESS_URL: the start page and the origin of
	// the home page a sign-in lands on.
	BusinessURL string
	// BrowserPath is BROWSER_PATH; empty means find one.
	BrowserPath string
	// BrowserArgs is BROWSER_ARGS: split on white space and appended after
	// the app's own flags.
	BrowserArgs string
	// ProfilesDir holds one profile directory per account.
	ProfilesDir string
	// SignInTimeout limits a windowed sign-in (default 10 minutes);
	// RefreshTimeout a silent refresh (default 90 s).
	SignInTimeout  time.Duration
	RefreshTimeout time.Duration
	// Log receives one line per browser start and end, never a URL or a
	// cookie. nil discards.
	Log *slog.Logger
}

// Result is what a sign-in or refresh read from the browser.
type Result struct {
	ConfigID string
	// Secrets are the two cookies and the csesidx of the home page.
	Secrets accounts.Secrets
	// ExpiresAt is the __Secure-C_SES cookie's own expiry (zero for a
	// session cookie).
	ExpiresAt time.Time
	// UserAgent is the browser's user agent (windowed sign-in only; a
	// headless refresh leaves it empty, as its agent says "Headless").
	UserAgent string
	// Elapsed is how long the browser ran.
	Elapsed time.Duration
}

// String keeps the secrets out of formatted output.
func (r Result) String() string {
	return fmt.Sprintf("signin.Result{ConfigID:%q ExpiresAt:%s}", r.ConfigID, r.ExpiresAt.UTC().Format(time.RFC3339))
}

// GoString hides the secrets from %#v.
func (r Result) GoString() string { return r.String() }

// SignInResult is the result as the account manager stores it.
func (r Result) SignInResult() accounts.SignInResult {
	return accounts.SignInResult{Secrets: r.Secrets, ConfigID: r.ConfigID, UserAgent: r.UserAgent, ExpiresAt: r.ExpiresAt}
}

// Signer runs browser sign-ins and refreshes. It is safe for concurrent
// use; calls on one profile run one after the other.
type Signer struct {
	cfg Config

	mu    sync.Mutex
	locks map[string]chan struct{} // profile dir → held while a browser runs on it

	// started, when set, sees the browser context once it runs (tests).
	started func(ctx context.Context)
}

// New returns a Signer.
func New(cfg Config) *Signer {
	if cfg.BusinessURL == "" {
		cfg.BusinessURL = DefaultBusinessURL
	}
	if cfg.SignInTimeout <= 0 {
		cfg.SignInTimeout = DefaultSignInTimeout
	}
	if cfg.RefreshTimeout <= 0 {
		cfg.RefreshTimeout = DefaultRefreshTimeout
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Signer{cfg: cfg, locks: map[string]chan struct{}{}}
}

// ProfileName is the profile directory name of an account: from its id,
// never from its name, email or secrets.
func ProfileName(accountID int64) string { return "account-" + strconv.FormatInt(accountID, 10) }

var profileRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// ProfileDir is the directory of a profile name.
func (s *Signer) ProfileDir(profile string) (string, error) {
	if !profileRE.MatchString(profile) {
		return "", fmt.Errorf("invalid browser profile name %q", profile)
	}
	if s.cfg.ProfilesDir == "" {
		return "", errors.New("no directory for browser profiles is configured")
	}
	return filepath.Join(s.cfg.ProfilesDir, profile), nil
}

// HasProfile reports whether a browser sign-in created the profile.
func (s *Signer) HasProfile(profile string) bool {
	dir, err := s.ProfileDir(profile)
	if err != nil {
		return false
	}
	st, err := os.Stat(dir)
	return err == nil && st.IsDir()
}

// RenameProfile moves a profile to a new name (a sign-in for an account
// that had no id yet). Neither may be in use.
func (s *Signer) RenameProfile(from, to string) error {
	src, err := s.ProfileDir(from)
	if err != nil {
		return err
	}
	dst, err := s.ProfileDir(to)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, d := range []string{src, dst} {
		unlock, err := s.lock(ctx, d)
		if err != nil {
			return err
		}
		defer unlock()
	}
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	return os.Rename(src, dst)
}

// RemoveProfile deletes a profile (the account was deleted).
func (s *Signer) RemoveProfile(profile string) error {
	dir, err := s.ProfileDir(profile)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	unlock, err := s.lock(ctx, dir)
	if err != nil {
		return err
	}
	defer unlock()
	return os.RemoveAll(dir)
}

// SignIn opens the browser with a window on the account's profile at
// GEMINI_BUSINESS_URL and waits until the person has signed in and the
// home page (…/home/cid/<config_id>?csesidx=<n>) shows; then it reads the
// cookies and the user agent and closes the browser. Closing the window
// returns ErrCancelled; the limit ErrTimedOut; no browser ErrNoBrowser.
func (s *Signer) SignIn(ctx context.Context, profile string) (Result, error) {
	return s.run(ctx, profile, false)
}

// Refresh reopens the account's profile without a window and visits
// GEMINI_BUSINESS_URL + "/". Landing on the home page returns the
// (possibly rotated) cookies and the csesidx; landing on a sign-in page
// returns ErrNeedsSignIn.
func (s *Signer) Refresh(ctx context.Context, profile string) (Result, error) {
	if !s.HasProfile(profile) {
		return Result{}, ErrNoProfile
	}
	return s.run(ctx, profile, true)
}

// run is one browser session on the profile: SignIn with a window,
// Refresh without. It opens the profile (openProfile), starts the browser
// (startBrowser), opens the start page (openStartPage) and waits for the
// home page (waitForHome); the deferred stop leaves no browser process
// behind, whatever happened.
func (s *Signer) run(ctx context.Context, profile string, headless bool) (res Result, err error) {
	site, exe, dir, unlock, err := s.openProfile(ctx, profile)
	if err != nil {
		return Result{}, err
	}
	defer unlock()

	limit := s.cfg.SignInTimeout
	mode := "sign-in"
	if headless {
		limit, mode = s.cfg.RefreshTimeout, "refresh"
	}
	start := time.Now()
	ctx, cancelLimit := context.WithTimeout(ctx, limit)
	defer cancelLimit()

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, s.allocOptions(exe, dir, headless)...)
	quiet := func(string, ...any) {}
	bctx, cancelBrowser := chromedp.NewContext(allocCtx,
		chromedp.WithLogf(quiet), chromedp.WithErrorf(quiet), chromedp.WithDebugf(quiet))

	pid := 0
	defer func() {
		p := recover()
		s.stop(bctx, cancelBrowser, cancelAlloc, pid, dir)
		if p != nil {
			panic(p)
		}
		s.cfg.Log.Info("browser "+mode+" ended", "profile", profile, "elapsed_ms", time.Since(start).Milliseconds(), "ok", err == nil)
	}()

	pid, err = s.startBrowser(ctx, bctx, exe, headless)
	if err != nil {
		return Result{}, err
	}
	s.cfg.Log.Info("browser "+mode+" started", "profile", profile, "browser", filepath.Base(exe), "pid", pid)
	w, err := s.openStartPage(ctx, bctx, site)
	if err != nil {
		return Result{}, err
	}
	res, err = s.waitForHome(ctx, bctx, site, w, headless)
	if err != nil {
		return Result{}, err
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// openProfile finds the site, the browser and the profile's directory,
// and takes the profile (see lock); the caller runs unlock.
func (s *Signer) openProfile(ctx context.Context, profile string) (site Site, exe, dir string, unlock func(), err error) {
	site, err = ParseSite(s.cfg.BusinessURL)
	if err != nil {
		return Site{}, "", "", nil, err
	}
	exe, err = FindBrowser(s.cfg.BrowserPath)
	if err != nil {
		return Site{}, "", "", nil, err
	}
	dir, err = s.ProfileDir(profile)
	if err != nil {
		return Site{}, "", "", nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Site{}, "", "", nil, fmt.Errorf("create the browser profile: %w", err)
	}
	unlock, err = s.lock(ctx, dir)
	if err != nil {
		return Site{}, "", "", nil, err
	}
	return site, exe, dir, unlock, nil
}

// allocOptions are the browser's command line: the profile, no first-run
// or background traffic, BROWSER_ARGS, and a window or none.
func (s *Signer) allocOptions(exe, dir string, headless bool) []chromedp.ExecAllocatorOption {
	extra := SplitArgs(s.cfg.BrowserArgs)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(dir),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-features", "Translate"),
		chromedp.ModifyCmdFunc(func(cmd *exec.Cmd) { prepareCmd(cmd, extra) }),
	}
	if headless {
		return append(opts, chromedp.Headless, chromedp.Flag("disable-gpu", true))
	}
	return append(opts, chromedp.WindowSize(1100, 860), chromedp.VisibleWindow)
}

// startBrowser starts the browser of bctx and returns its process id (0
// if it did not start). ctx is the session's limit.
func (s *Signer) startBrowser(ctx, bctx context.Context, exe string, headless bool) (int, error) {
	if err := chromedp.Do(bctx); err != nil {
		if errors.Is(err, chromedp.ErrNoDisplay) {
			return 0, errors.New("sign-in needs a display: run it on a machine with a desktop session (DISPLAY or WAYLAND_DISPLAY is not set)")
		}
		if ctx.Err() != nil {
			return 0, s.ctxErr(ctx, headless)
		}
		return 0, fmt.Errorf("start the browser %s: %w", filepath.Base(exe), err)
	}
	if p := chromedp.FromContext(bctx).Browser.Process(); p != nil {
		return p.Pid, nil
	}
	return 0, nil
}

// openStartPage starts watching the browser's pages, then opens the
// site's start page in the first one.
func (s *Signer) openStartPage(ctx, bctx context.Context, site Site) (*watcher, error) {
	w := newWatcher()
	if err := chromedp.ListenBrowser(bctx, w.event); err != nil {
		return nil, err
	}
	if infos, err := chromedp.Targets(bctx); err == nil {
		for _, ti := range infos {
			w.event(&target.EventTargetInfoChanged{TargetInfo: ti})
		}
	}
	if _, err := chromedp.Call(bctx, page.Navigate, page.NavigateParams{URL: site.StartURL()}); err != nil && ctx.Err() == nil {
		return nil, fmt.Errorf("open the sign-in page: %w", errors.New(scrub(err.Error())))
	}
	if s.started != nil {
		s.started(bctx)
	}
	return w, nil
}

// waitForHome follows the pages' addresses until one is the home page
// (then it reads the account) or, without a window, a sign-in page
// (ErrNeedsSignIn); a closed browser or window is ErrCancelled.
func (s *Signer) waitForHome(ctx, bctx context.Context, site Site, w *watcher, headless bool) (Result, error) {
	c := chromedp.FromContext(bctx)
	for {
		select {
		case <-ctx.Done():
			return Result{}, s.ctxErr(ctx, headless)
		case <-c.Browser.LostConnection:
			return Result{}, ErrCancelled
		case <-w.gone:
			return Result{}, ErrCancelled
		case <-w.changed:
		}
		for _, u := range w.take() {
			if cid, idx, ok := site.MatchHome(u); ok {
				res, err := s.read(bctx, site, cid, idx, !headless)
				if err != nil {
					if ctx.Err() != nil {
						return Result{}, s.ctxErr(ctx, headless)
					}
					return Result{}, err
				}
				return res, nil
			}
			if headless && site.IsSignInPage(u) {
				return Result{}, ErrNeedsSignIn
			}
		}
	}
}

func (s *Signer) ctxErr(ctx context.Context, headless bool) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		if headless {
			return fmt.Errorf("silent refresh: the site did not show the home page or a sign-in page within %s", s.cfg.RefreshTimeout)
		}
		return fmt.Errorf("%w (limit %s)", ErrTimedOut, s.cfg.SignInTimeout)
	}
	return fmt.Errorf("sign-in stopped: %w", ctx.Err())
}

// read collects the cookies (at browser level: HttpOnly ones included) and
// the user agent.
func (s *Signer) read(ctx context.Context, site Site, configID, csesidx string, withUA bool) (Result, error) {
	got, err := chromedp.CallBrowser(ctx, storage.GetCookies, storage.GetCookiesParams{})
	if err != nil {
		return Result{}, fmt.Errorf("read the browser's cookies: %w", errors.New(scrub(err.Error())))
	}
	all := make([]Cookie, 0, len(got.Cookies))
	for _, c := range got.Cookies {
		ck := Cookie{Name: c.Name, Value: c.Value, Domain: c.Domain, Path: c.Path}
		if !c.Session && c.Expires > 0 {
			sec := int64(c.Expires)
			ck.Expires = time.Unix(sec, int64((c.Expires-float64(sec))*1e9)).UTC()
		}
		all = append(all, ck)
	}
	ses, oses, ok := site.SelectCookies(all)
	if !ok {
		return Result{}, ErrNoCookies
	}
	res := Result{
		ConfigID:  configID,
		Secrets:   accounts.Secrets{SecureCSES: ses.Value, HostCOSES: oses.Value, CSESIDX: csesidx},
		ExpiresAt: ses.Expires,
	}
	if withUA {
		if v, err := chromedp.CallBrowser(ctx, browser.GetVersion, cdp.Empty{}); err == nil {
			res.UserAgent = v.UserAgent
		}
	}
	return res, nil
}

// stop closes the browser gracefully (so the profile keeps its cookies),
// then makes sure no process of it is left: the process group and any
// process still using the profile directory are killed.
func (s *Signer) stop(bctx context.Context, cancelBrowser, cancelAlloc context.CancelFunc, pid int, dir string) {
	if pid != 0 && bctx.Err() == nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(bctx), 10*time.Second)
		_ = chromedp.Cancel(cctx)
		cancel()
	}
	cancelBrowser()
	cancelAlloc()
	killBrowser(pid, dir)
}

// lock gives the caller the profile: one browser per profile in this
// process (waiting for the one before), none while another process holds
// it (ErrProfileInUse).
func (s *Signer) lock(ctx context.Context, dir string) (func(), error) {
	for {
		s.mu.Lock()
		ch, busy := s.locks[dir]
		if !busy {
			ch = make(chan struct{})
			s.locks[dir] = ch
			s.mu.Unlock()
			break
		}
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the account's browser profile: %w", ctx.Err())
		}
	}
	release := func() {
		s.mu.Lock()
		ch := s.locks[dir]
		delete(s.locks, dir)
		s.mu.Unlock()
		close(ch)
	}
	unlockFile, err := lockProfile(dir)
	if err != nil {
		release()
		return nil, err
	}
	return func() { unlockFile(); release() }, nil
}

// watcher follows the browser's page targets: every URL a page shows, and
// when the last page is gone (the window was closed).
type watcher struct {
	mu      sync.Mutex
	pages   map[target.ID]string
	urls    []string
	seen    bool
	changed chan struct{}
	gone    chan struct{}
	goneSet bool
}

func newWatcher() *watcher {
	return &watcher{pages: map[target.ID]string{}, changed: make(chan struct{}, 1), gone: make(chan struct{})}
}

// event runs in chromedp's read loop: it must be quick and never block.
func (w *watcher) event(ev any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var info *target.Info
	switch ev := ev.(type) {
	case *target.EventTargetCreated:
		info = ev.TargetInfo
	case *target.EventTargetInfoChanged:
		info = ev.TargetInfo
	case *target.EventTargetDestroyed:
		if _, ok := w.pages[ev.TargetID]; ok {
			delete(w.pages, ev.TargetID)
			if len(w.pages) == 0 && w.seen && !w.goneSet {
				w.goneSet = true
				close(w.gone)
			}
		}
		return
	default:
		return
	}
	if info == nil || info.Type != "page" {
		return
	}
	w.seen = true
	if w.pages[info.TargetID] != info.URL {
		w.pages[info.TargetID] = info.URL
		w.urls = append(w.urls, info.URL)
		select {
		case w.changed <- struct{}{}:
		default:
		}
	}
}

func (w *watcher) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.urls
	w.urls = nil
	return out
}

var secretRE = regexp.MustCompile(`(?i)(csesidx=)[0-9]+|(C_O?SES[^=]*=)[^;&\s"]+`)

// scrub removes what could be a secret from a browser error message.
func scrub(s string) string { return secretRE.ReplaceAllString(s, "$1$2…") }
