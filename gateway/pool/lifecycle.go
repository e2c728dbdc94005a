package pool

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/gateway/events"
	"github.com/gemgate/gemini-gateway/gateway/upstream"
)

// Lifecycle persists what a cookie refresh or a dead sign-in changes.
// *accounts.Manager implements it; Options.Lifecycle sets it, and a Source
// that implements it is used when that is nil.
type Lifecycle interface {
	SaveRefresh(ctx context.Context, id int64, r accounts.SignInResult) (accounts.Account, error)
	MarkNeedsSignIn(ctx context.Context, id int64, reason string) (accounts.Account, error)
}

// RefreshResult says what Refresh did.
type RefreshResult string

// Results of Refresh.
const (
	RefreshRefreshed   RefreshResult = "refreshed"     // cookies re-issued and saved
	RefreshUnchanged   RefreshResult = "unchanged"     // the cookies sign in as they are
	RefreshNeedsSignIn RefreshResult = "needs_sign_in" // the sign-in is over
)

// RefreshOutcome is the result of Refresh.
type RefreshOutcome struct {
	Result RefreshResult
	// ExpiresAt is the session cookie's expiry afterwards; zero when unknown.
	ExpiresAt time.Time
}

// gate returns the account's refresh lock, a one-slot channel so a waiter
// can give up with its context. One refresh per account at a time: two
// requests that find the cookies stale together refresh them once.
func (p *Pool) gate(id int64) chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gates == nil {
		p.gates = map[int64]chan struct{}{}
	}
	g := p.gates[id]
	if g == nil {
		g = make(chan struct{}, 1)
		p.gates[id] = g
	}
	return g
}

// Refresh asks the upstream whether the account's cookies still sign in
// and, when it offers a refreshcookies redirect, follows it and saves the
// re-issued cookies (through the crash journal, via Lifecycle) before
// using them. A sign-in that is over marks the account needs_sign_in. An
// error means nothing could be learned (network, keychain, unknown id).
func (p *Pool) Refresh(ctx context.Context, id int64) (RefreshOutcome, error) {
	if _, ok := p.view(id); !ok {
		return RefreshOutcome{}, fmt.Errorf("refresh account %d: %w", id, accounts.ErrNotFound)
	}
	g := p.gate(id)
	select {
	case g <- struct{}{}:
	case <-ctx.Done():
		return RefreshOutcome{}, ctx.Err()
	}
	defer func() { <-g }()

	cr, err := p.credentials(ctx, id)
	if err != nil {
		return RefreshOutcome{}, secretsError(err)
	}
	up := p.upstream()
	_, err = up.GetOXSRF(ctx, cr)
	if err == nil {
		p.confirmed(id)
		a, _ := p.view(id)
		return RefreshOutcome{Result: RefreshUnchanged, ExpiresAt: a.ExpiresAt}, nil
	}
	var ue *upstream.Error
	if !errors.As(err, &ue) {
		return RefreshOutcome{}, err
	}
	switch ue.Kind {
	case upstream.KindStale:
		rot, err := up.RefreshCookies(ctx, cr, ue.RefreshURL())
		if err != nil {
			return p.refreshFailed(id, err)
		}
		p.saveRotation(id, rot)
		return RefreshOutcome{Result: RefreshRefreshed, ExpiresAt: rot.ExpiresAt}, nil
	case upstream.KindSignIn, upstream.KindExpired:
		p.signInOver(id, ue.Message)
		return RefreshOutcome{Result: RefreshNeedsSignIn}, nil
	}
	return RefreshOutcome{}, err
}

// refreshFailed turns a failed refreshcookies follow into an outcome.
func (p *Pool) refreshFailed(id int64, err error) (RefreshOutcome, error) {
	var ue *upstream.Error
	if errors.As(err, &ue) && (ue.Kind == upstream.KindSignIn || ue.Kind == upstream.KindExpired) {
		p.signInOver(id, ue.Message)
		return RefreshOutcome{Result: RefreshNeedsSignIn}, nil
	}
	p.needsRefresh(id, err.Error())
	return RefreshOutcome{}, err
}

// needsRefresh tells subscribers that only a refresh outside the HTTP path
// (a browser) may still save the account.
func (p *Pool) needsRefresh(id int64, reason string) {
	p.log.Warn("account cookies need a refresh the gateway could not do", "account", p.name(id), "reason", reason)
	p.publish(events.Event{Kind: events.AccountNeedsRefresh, AccountID: id, Reason: reason})
}

// lifecycle is the persister of refreshes, nil when there is none.
func (p *Pool) lifecycle() Lifecycle {
	if p.lc != nil {
		return p.lc
	}
	if lc, ok := p.source.(Lifecycle); ok {
		return lc
	}
	return nil
}

// confirmed records that the stored cookies still sign in.
func (p *Pool) confirmed(id int64) {
	lc := p.lifecycle()
	if !p.persisted(id) || lc == nil {
		return
	}
	ctx, cancel := p.writeCtx()
	a, err := lc.SaveRefresh(ctx, id, accounts.SignInResult{})
	cancel()
	if err != nil {
		p.log.Error("store account refresh time", "account", p.name(id), "err", err)
		return
	}
	p.mu.Lock()
	p.apply(a)
	p.mu.Unlock()
	p.publish(accountEvent(id))
}

// saveRotation puts re-issued cookies to use at once and saves them. Saving
// can fail (a locked keychain, a lost database); the cookies are used
// anyway, because after a rotation the old ones may stop working.
func (p *Pool) saveRotation(id int64, rot upstream.Rotation) {
	cr := rot.Credentials
	p.mu.Lock()
	if m := p.members[id]; m != nil {
		m.creds = &cr
	}
	p.mu.Unlock()
	p.log.Info("account cookies refreshed", "account", p.name(id), "expires_at", rot.ExpiresAt.UTC().Format(time.RFC3339))
	lc := p.lifecycle()
	if p.persisted(id) && lc != nil {
		ctx, cancel := p.writeCtx()
		a, err := lc.SaveRefresh(ctx, id, accounts.SignInResult{
			Secrets:   accounts.Secrets{SecureCSES: cr.SecureCSES, HostCOSES: cr.HostCOSES},
			ExpiresAt: rot.ExpiresAt,
		})
		cancel()
		if err == nil {
			p.mu.Lock()
			p.apply(a)
			p.mu.Unlock()
			p.publish(accountEvent(id))
			return
		}
		p.log.Error("could not save the refreshed cookies; they are used until the gateway stops", "account", p.name(id), "err", err)
	}
	p.mu.Lock()
	if m := p.members[id]; m != nil {
		m.creds = &cr
		m.acct.LastRefreshAt = p.now()
		if !rot.ExpiresAt.IsZero() {
			m.acct.ExpiresAt = rot.ExpiresAt
		}
	}
	p.mu.Unlock()
	p.publish(accountEvent(id))
}

// signInOver marks the account needs_sign_in: never chosen, not disabled,
// back once signed in again.
func (p *Pool) signInOver(id int64, reason string) {
	reason = "needs sign-in: " + reason
	p.mu.Lock()
	m := p.members[id]
	already := m != nil && m.acct.Status == accounts.StatusNeedsSignIn
	p.mu.Unlock()
	if m == nil {
		return
	}
	if p.persisted(id) && p.signedInElsewhere(id) {
		return // another process saved a new sign-in: use it, do not write it off
	}
	if p.persisted(id) {
		ctx, cancel := p.writeCtx()
		var err error
		if lc := p.lifecycle(); lc != nil {
			_, err = lc.MarkNeedsSignIn(ctx, id, reason)
		} else {
			err = p.store.SetStatus(ctx, id, accounts.StatusNeedsSignIn, reason, false)
		}
		cancel()
		if err != nil {
			p.log.Error("store account status", "account", p.name(id), "err", err)
		}
	}
	p.mu.Lock()
	if m := p.members[id]; m != nil {
		m.acct.Status, m.acct.StatusReason = accounts.StatusNeedsSignIn, reason
	}
	p.mu.Unlock()
	if !already {
		p.log.Warn("account needs sign-in", "account", p.name(id), "reason", reason)
		p.publish(events.Event{Kind: events.AccountNeedsSignIn, AccountID: id, Reason: reason})
	}
	p.publish(accountEvent(id))
}

// signedInElsewhere reports whether the stored account points at other
// secrets than the ones this pool failed with — another instance sharing
// the store (or -signin) saved a new sign-in meanwhile — and if so reloads
// the account so the next request uses them.
func (p *Pool) signedInElsewhere(id int64) bool {
	p.mu.Lock()
	m := p.members[id]
	var ref string
	if m != nil {
		ref = m.acct.SecretRef
	}
	p.mu.Unlock()
	ctx, cancel := p.writeCtx()
	defer cancel()
	a, err := p.source.Get(ctx, id)
	if err != nil || ref == "" || a.SecretRef == ref {
		return false
	}
	p.log.Info("account was signed in again elsewhere; using the new sign-in", "account", p.name(id))
	if err := p.Reload(ctx, id); err != nil {
		p.log.Warn("reload account", "account", p.name(id), "err", err)
	}
	return true
}

// view returns one account's current view.
func (p *Pool) view(id int64) (accounts.Account, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.members[id]
	if m == nil {
		return accounts.Account{}, false
	}
	return m.acct, true
}

// recoverable reports whether a failure may go away with a cookie refresh.
// A dead sign-in is among them because the cookies that met it may be ones
// another request has just rotated away: Refresh asks again with the
// current cookies before the account is written off.
func recoverable(k upstream.Kind) bool {
	return k == upstream.KindStale || k == upstream.KindUnauthorized || k == upstream.KindSignIn
}

// refreshForRetry runs a refresh after a request failed with a recoverable
// kind and reports whether the same account deserves one more try, or
// whether its sign-in turned out to be over (already recorded).
func (p *Pool) refreshForRetry(ctx context.Context, id int64) (retry, signedOut bool) {
	o, err := p.Refresh(ctx, id)
	if err != nil {
		return false, false
	}
	switch o.Result {
	case RefreshRefreshed:
		return true, false
	case RefreshUnchanged:
		// The cookies sign in: a stale answer was already refreshed by
		// another request; a refused token gets one more with a new key.
		p.upstream().Forget(accountKey(id))
		return true, false
	}
	return false, true
}
