package app

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/gemgate/gemini-gateway/gateway"
	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/gateway/events"
	"github.com/gemgate/gemini-gateway/gateway/logging"
	"github.com/gemgate/gemini-gateway/gateway/signin"
)

// BrowserRefresher is the Refresher behind POST
// /api/admin/accounts/{id}/refresh and the refresh schedule: first the
// browserless refresh (getoxsrf, following a refreshcookies redirect),
// then, when that cannot keep the account alive and the account was signed
// in with the browser, a silent refresh of its browser profile.
type BrowserRefresher struct {
	HTTP     gateway.Refresher
	Signer   *signin.Signer
	Accounts *accounts.Manager
	Redactor *logging.Redactor
	Bus      *events.Bus
}

// Refresh implements gateway.Refresher.
func (r *BrowserRefresher) Refresh(ctx context.Context, id int64) (gateway.RefreshOutcome, error) {
	out, httpErr := r.HTTP.Refresh(ctx, id)
	if httpErr == nil && out.Result != gateway.RefreshNeedsSignIn {
		return out, nil
	}
	if r.Signer == nil || !r.Signer.HasProfile(signin.ProfileName(id)) {
		return out, httpErr
	}
	return r.browser(ctx, id)
}

// RefreshWithBrowser runs the silent browser refresh of one account now.
func (r *BrowserRefresher) browser(ctx context.Context, id int64) (gateway.RefreshOutcome, error) {
	cur, err := r.Accounts.Get(ctx, id)
	if err != nil {
		return gateway.RefreshOutcome{}, err
	}
	res, err := r.Signer.Refresh(ctx, signin.ProfileName(id))
	if errors.Is(err, signin.ErrNeedsSignIn) {
		a, merr := r.Accounts.MarkNeedsSignIn(ctx, id, "the sign-in is over: the site asks to sign in again")
		if merr != nil {
			return gateway.RefreshOutcome{}, merr
		}
		if cur.Status != accounts.StatusNeedsSignIn {
			r.Bus.Publish(events.Event{Kind: events.AccountNeedsSignIn, AccountID: id, Reason: "the sign-in is over"})
		}
		return gateway.RefreshOutcome{Result: gateway.RefreshNeedsSignIn, ExpiresAt: a.ExpiresAt}, nil
	}
	if err != nil {
		return gateway.RefreshOutcome{}, err
	}
	if r.Redactor != nil {
		r.Redactor.Add(res.Secrets.SecureCSES, res.Secrets.HostCOSES, res.Secrets.CSESIDX)
	}
	old, _ := r.Accounts.Secrets(ctx, cur)
	var a accounts.Account
	if cur.Status == accounts.StatusNeedsSignIn {
		// The browser still had a live sign-in the stored cookies lost:
		// that is as good as signing in again.
		a, err = r.Accounts.SaveSignIn(ctx, id, "", res.SignInResult())
	} else {
		a, err = r.Accounts.SaveRefresh(ctx, id, res.SignInResult())
	}
	if err != nil {
		return gateway.RefreshOutcome{}, err
	}
	result := gateway.RefreshRefreshed
	if old == res.Secrets {
		result = gateway.RefreshUnchanged
	}
	return gateway.RefreshOutcome{Result: result, ExpiresAt: a.ExpiresAt}, nil
}

// jitter returns d spread by ±20 %, so instances and accounts do not all
// refresh at the same moment.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// runRefreshes keeps browser-signed-in accounts alive: a silent refresh of
// each on a jittered schedule (BROWSER_REFRESH_INTERVAL), and at once when
// the upstream says an account's cookies are stale and the browserless
// refresh could not renew them (AccountNeedsRefresh).
func (a *App) runRefreshes(ctx context.Context) {
	sub := a.Bus.Subscribe(64)
	defer sub.Close()
	interval := func() time.Duration { return a.Config().Browser.RefreshInterval }
	next := func() <-chan time.Time {
		if interval() <= 0 {
			return nil
		}
		return time.After(jitter(interval()))
	}
	tick := next()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-sub.C:
			if !ok {
				return
			}
			if ev.Kind == events.AccountNeedsRefresh && a.Signer.HasProfile(signin.ProfileName(ev.AccountID)) {
				a.refreshOne(ctx, ev.AccountID, "the upstream asked for fresh cookies")
			}
		case <-tick:
			list, err := a.Accounts.List(ctx)
			if err == nil {
				for _, acc := range list {
					if acc.ReadOnly || !acc.Enabled || acc.Status == accounts.StatusNeedsSignIn || !a.Signer.HasProfile(signin.ProfileName(acc.ID)) {
						continue
					}
					a.refreshOne(ctx, acc.ID, "scheduled")
				}
			}
			tick = next()
		}
	}
}

func (a *App) refreshOne(ctx context.Context, id int64, why string) {
	start := time.Now()
	out, err := a.Refresher.Refresh(ctx, id)
	if err != nil {
		if ctx.Err() == nil {
			a.Log.Warn("account refresh failed", "account_id", id, "why", why, "err", err)
		}
		return
	}
	a.Log.Info("account refreshed", "account_id", id, "why", why, "result", out.Result, "elapsed_ms", time.Since(start).Milliseconds())
}
