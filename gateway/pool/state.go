package pool

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/gateway/events"
	"github.com/gemgate/gemini-gateway/gateway/upstream"
)

func accountEvent(id int64) events.Event {
	return events.Event{Kind: events.AccountChanged, AccountID: id}
}

// failed records what a request-path failure says about the account.
// Only credential failures count against credentials; transient failures
// count toward the network-error threshold; an empty answer, a bad request
// or a policy refusal say nothing about the account.
func (p *Pool) failed(id int64, err error) {
	ue, ok := err.(*upstream.Error)
	if !ok || ue.Op == opSecrets {
		return
	}
	p.mu.Lock()
	if m := p.members[id]; m != nil {
		m.failedAt = p.now()
	}
	p.mu.Unlock()
	switch ue.Kind {
	case upstream.KindSignIn:
		p.signInOver(id, ue.Message)
		return
	case upstream.KindUnauthorized:
		d := p.config().UnauthorizedCooldown
		p.log.Warn("account refused fresh tokens; cooling down", "account", p.name(id), "cooldown", d.String())
		p.setCooldown(id, p.now().Add(d), "unauthorized: "+ue.Message)
		p.needsRefresh(id, ue.Message)
	case upstream.KindStale:
		p.needsRefresh(id, ue.Message)
	case upstream.KindExpired:
		p.credentialFailure(id, accounts.StatusExpired, "expired: "+ue.Message)
	case upstream.KindBanned:
		p.credentialFailure(id, accounts.StatusBanned, "banned: "+ue.Message)
	case upstream.KindQuota:
		p.quota(id, ue)
	case upstream.KindTransient:
		p.networkError(id, ue.Message)
	default:
		return
	}
	p.publish(accountEvent(id))
}

func (p *Pool) credentialFailure(id int64, s accounts.Status, reason string) {
	cfg := p.config()
	p.log.Warn("account credentials rejected", "account", p.name(id), "status", string(s), "auto_disable", cfg.AutoDisable)
	p.setStatus(id, s, reason, cfg.AutoDisable)
}

func (p *Pool) quota(id int64, ue *upstream.Error) {
	d := ue.RetryAfter
	if d <= 0 {
		d = p.config().QuotaCooldown
	}
	reason := "quota"
	if ue.Status != "" {
		reason += ": " + ue.Status
	}
	p.log.Info("account rate limited", "account", p.name(id), "cooldown", d.String())
	p.setCooldown(id, p.now().Add(d), reason)
}

// networkError counts a transient failure; past the threshold the account
// is marked unhealthy (and disabled when AutoDisable).
func (p *Pool) networkError(id int64, msg string) {
	cfg := p.config()
	n := p.addNetworkError(id)
	if n >= cfg.NetworkErrorThreshold {
		p.log.Warn("account passed the network-error threshold", "account", p.name(id), "errors", n)
		p.setStatus(id, accounts.StatusUnhealthy, fmt.Sprintf("%d consecutive network errors, last: %s", n, msg), cfg.AutoDisable)
	}
}

// writeCtx bounds request-path store writes and detaches them from the
// request: a client hanging up must not lose the account's new state.
func (p *Pool) writeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), p.config().StateWriteTimeout)
}

// persisted reports whether id lives in the store (the environment account
// does not).
func (p *Pool) persisted(id int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.members[id]
	return p.store != nil && m != nil && !m.acct.ReadOnly
}

func (p *Pool) setStatus(id int64, s accounts.Status, reason string, disable bool) {
	if p.persisted(id) {
		ctx, cancel := p.writeCtx()
		err := p.store.SetStatus(ctx, id, s, reason, disable)
		cancel()
		if err != nil {
			p.log.Error("store account status", "account", p.name(id), "err", err)
		}
	}
	p.mu.Lock()
	if m := p.members[id]; m != nil {
		m.acct.Status, m.acct.StatusReason = s, reason
		if disable && !m.acct.ReadOnly {
			m.acct.Enabled, m.acct.DisabledReason = false, reason
		}
	}
	p.mu.Unlock()
}

func (p *Pool) setCooldown(id int64, until time.Time, reason string) {
	if p.persisted(id) {
		ctx, cancel := p.writeCtx()
		err := p.store.SetCooldown(ctx, id, until, reason)
		cancel()
		if err != nil {
			p.log.Error("store account cooldown", "account", p.name(id), "err", err)
		}
	}
	p.mu.Lock()
	if m := p.members[id]; m != nil {
		m.acct.CooldownUntil, m.acct.CooldownReason = until, reason
	}
	p.mu.Unlock()
}

func (p *Pool) addNetworkError(id int64) int {
	n := 0
	if p.persisted(id) {
		ctx, cancel := p.writeCtx()
		v, err := p.store.AddNetworkError(ctx, id)
		cancel()
		if err != nil {
			p.log.Error("store network error count", "account", p.name(id), "err", err)
		}
		n = v
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.members[id]
	if m == nil {
		return n
	}
	if n == 0 {
		n = m.acct.NetworkErrors + 1
	}
	m.acct.NetworkErrors = n
	return n
}

func (p *Pool) resetNetworkErrors(id int64) {
	if p.persisted(id) {
		ctx, cancel := p.writeCtx()
		err := p.store.ResetNetworkErrors(ctx, id)
		cancel()
		if err != nil {
			p.log.Error("store network error count", "account", p.name(id), "err", err)
		}
	}
	p.mu.Lock()
	if m := p.members[id]; m != nil {
		m.acct.NetworkErrors = 0
	}
	p.mu.Unlock()
}

// State is an account's condition as a person reads it.
type State string

const (
	StateHealthy   State = "healthy"
	StateUnknown   State = "unchecked"
	StateCooling   State = "cooling down"
	StateExpired   State = "expired"
	StateBanned    State = "banned"
	StateUnhealthy State = "unhealthy"
	StateDisabled  State = "disabled"
	// StateNeedsSignIn is exactly the admin API's "needs_sign_in".
	StateNeedsSignIn State = "needs_sign_in"
)

// StateOf derives the display state and its reason.
func StateOf(a accounts.Account, now time.Time) (State, string) {
	switch {
	case !a.Enabled:
		r := a.DisabledReason
		if r == "" {
			r = "disabled by user"
		}
		return StateDisabled, r
	case a.Status == accounts.StatusNeedsSignIn:
		return StateNeedsSignIn, a.StatusReason
	case a.Status == accounts.StatusExpired:
		return StateExpired, a.StatusReason
	case a.Status == accounts.StatusBanned:
		return StateBanned, a.StatusReason
	case a.Status == accounts.StatusUnhealthy:
		return StateUnhealthy, a.StatusReason
	case a.Cooling(now):
		return StateCooling, a.CooldownReason
	case a.Status == accounts.StatusHealthy:
		return StateHealthy, ""
	}
	return StateUnknown, ""
}

// AccountView is an account with its derived state, for the admin API and
// the UI.
type AccountView struct {
	accounts.Account
	State             State
	Reason            string
	CooldownRemaining time.Duration
	InFlight          int
	Usable            bool
	// Quotas are the account's daily counts and cooldowns per kind of
	// turn (text, image, video).
	Quotas []KindQuota
}

// Snapshot returns every account's current view, in id order.
func (p *Pool) Snapshot() []AccountView {
	now := p.now()
	cfg := p.config()
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]AccountView, 0, len(p.members))
	for _, m := range p.members {
		v := AccountView{Account: m.acct, InFlight: m.inflight, Usable: usable(m, now)}
		v.State, v.Reason = StateOf(m.acct, now)
		if m.acct.Cooling(now) {
			v.CooldownRemaining = m.acct.CooldownUntil.Sub(now)
		}
		v.Quotas = p.mq.view(m.acct.ID, cfg, now)
		if v.CooldownRemaining > 0 {
			// Text turns wait for the account's own cooldown.
			v.Quotas[MediaText].CooldownRemaining, v.Quotas[MediaText].Reason = v.CooldownRemaining, m.acct.CooldownReason
		}
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b AccountView) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
