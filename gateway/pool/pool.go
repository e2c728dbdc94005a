// Package pool decides which Gemini Business account serves each request
// and keeps the accounts honest: selection (least recently used, or round
// robin), failover inside a request until the answer has started,
// cooldowns, expiry and ban states with reasons, the conversation→session
// map that lets multi-turn chats continue upstream, health checks, and the
// events the UI subscribes to.
//
// The pool's in-memory view of the accounts is authoritative for selection;
// every state change is written to the account store first (so other
// processes sharing a PostgreSQL pool see it) and then applied in memory.
package pool

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/gateway/events"
	"github.com/gemgate/gemini-gateway/gateway/upstream"
)

// Strategies of account selection.
const (
	// StrategyFailover picks the least recently used account, as the Python
	// gateway did ("always the first available account", ordered by last use).
	StrategyFailover = "failover"
	// StrategyRoundRobin cycles through the usable accounts in id order.
	StrategyRoundRobin = "round-robin"
)

// Config tunes the pool. Zero values take the defaults of DefaultConfig.
type Config struct {
	Strategy string
	// MaxAttempts bounds the accounts tried for one request.
	MaxAttempts int
	// QuotaCooldown applies when a 429 does not say how long to wait.
	QuotaCooldown time.Duration
	// NetworkErrorThreshold consecutive transient failures mark an account
	// unhealthy (and disable it when AutoDisable).
	NetworkErrorThreshold int
	// AutoDisable turns accounts off when they expire, are banned or pass
	// the network-error threshold (HEALTH_CHECK_AUTO_DISABLE).
	AutoDisable bool
	// SessionCacheSize and SessionTTL bound the conversation→session map.
	SessionCacheSize int
	SessionTTL       time.Duration
	// StateWriteTimeout bounds store writes made on the request path.
	StateWriteTimeout time.Duration
	// UnauthorizedCooldown keeps an account aside after the API refused
	// fresh tokens even after a cookie refresh (UNAUTHORIZED_COOLDOWN).
	UnauthorizedCooldown time.Duration
	// TextDaily bounds text turns per account and day (0 = no limit);
	// Image and Video are the media quotas (see quota.go).
	TextDaily int
	Image     MediaLimits
	Video     MediaLimits
}

// DefaultConfig is what the Python gateway did, where it did something.
func DefaultConfig() Config {
	return Config{
		Strategy:              StrategyFailover,
		MaxAttempts:           3,
		QuotaCooldown:         10 * time.Minute,
		NetworkErrorThreshold: 3,
		AutoDisable:           true,
		SessionCacheSize:      10000,
		SessionTTL:            2 * time.Hour,
		StateWriteTimeout:     5 * time.Second,
		UnauthorizedCooldown:  2 * time.Hour,
		Image:                 MediaLimits{Daily: 2, Cooldown: 4 * time.Hour},
		Video:                 MediaLimits{Daily: 1, Cooldown: 4 * time.Hour},
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Strategy == "" {
		c.Strategy = d.Strategy
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = d.MaxAttempts
	}
	if c.QuotaCooldown <= 0 {
		c.QuotaCooldown = d.QuotaCooldown
	}
	if c.NetworkErrorThreshold <= 0 {
		c.NetworkErrorThreshold = d.NetworkErrorThreshold
	}
	if c.SessionCacheSize <= 0 {
		c.SessionCacheSize = d.SessionCacheSize
	}
	if c.SessionTTL <= 0 {
		c.SessionTTL = d.SessionTTL
	}
	if c.StateWriteTimeout <= 0 {
		c.StateWriteTimeout = d.StateWriteTimeout
	}
	if c.UnauthorizedCooldown <= 0 {
		c.UnauthorizedCooldown = d.UnauthorizedCooldown
	}
	if c.Image.Cooldown <= 0 {
		c.Image.Cooldown = d.Image.Cooldown
	}
	if c.Video.Cooldown <= 0 {
		c.Video.Cooldown = d.Video.Cooldown
	}
	return c
}

// Source lists accounts and reads their secrets; *accounts.Manager is one.
type Source interface {
	List(ctx context.Context) ([]accounts.Account, error)
	Get(ctx context.Context, id int64) (accounts.Account, error)
	Secrets(ctx context.Context, a accounts.Account) (accounts.Secrets, error)
}

// Upstream is the part of *upstream.Client the pool uses.
type Upstream interface {
	CreateSession(ctx context.Context, cr upstream.Credentials) (string, error)
	AddContextFile(ctx context.Context, cr upstream.Credentials, session string, up upstream.Upload) (string, error)
	StreamAssist(ctx context.Context, cr upstream.Credentials, ar upstream.AssistRequest) (*upstream.Stream, error)
	CheckAccount(ctx context.Context, cr upstream.Credentials) (upstream.CheckResult, error)
	Forget(accountID string)
	// GetOXSRF and RefreshCookies serve Refresh.
	GetOXSRF(ctx context.Context, cr upstream.Credentials) (upstream.SigningKey, error)
	RefreshCookies(ctx context.Context, cr upstream.Credentials, refreshURL string) (upstream.Rotation, error)
}

// Pool serves requests from a set of accounts. Safe for concurrent use.
type Pool struct {
	upMu   sync.RWMutex
	up     Upstream
	source Source
	store  accounts.Store // may be nil when there is only the env account
	bus    *events.Bus
	log    *slog.Logger
	now    func() time.Time

	mu      sync.Mutex
	cfg     Config
	members map[int64]*member
	order   []*member // members by id; nil after the set changed
	rr      uint64

	sessions *sessionCache
	usage    *usageWriter

	lc    Lifecycle
	gates map[int64]chan struct{} // refresh locks by account; p.mu guards the map
	mq    mediaQuotas
}

// member is the pool's view of one account.
type member struct {
	acct     accounts.Account
	creds    *upstream.Credentials // loaded lazily; nil until first use
	lastPick time.Time
	inflight int
	// failedAt marks the last request-path failure, to prefer other
	// accounts for a moment without a stored cooldown.
	failedAt time.Time
}

// Options are the pool's collaborators.
type Options struct {
	Upstream Upstream
	Source   Source
	Store    accounts.Store // an accounts.QuotaStore too keeps quotas per kind (quota.go)
	Bus      *events.Bus
	Log      *slog.Logger
	Now      func() time.Time
	// Lifecycle saves refreshed cookies and dead sign-ins; nil uses Source
	// when it implements Lifecycle.
	Lifecycle Lifecycle
}

// New builds a pool and loads the accounts.
func New(ctx context.Context, cfg Config, o Options) (*Pool, error) {
	cfg = cfg.withDefaults()
	p := &Pool{
		up: o.Upstream, source: o.Source, store: o.Store, bus: o.Bus, log: o.Log, now: o.Now, lc: o.Lifecycle,
		cfg:      cfg,
		members:  make(map[int64]*member),
		sessions: newSessionCache(cfg.SessionCacheSize, cfg.SessionTTL),
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.now == nil {
		p.now = time.Now
	}
	if o.Store != nil {
		p.usage = newUsageWriter(o.Store, p.log)
	}
	if err := p.ReloadAll(ctx); err != nil {
		return nil, err
	}
	p.mq.log, p.mq.now, p.mq.timeout = p.log, p.now, cfg.StateWriteTimeout
	if qs, ok := o.Store.(accounts.QuotaStore); ok {
		p.mq.store = qs
	}
	p.mq.start(ctx)
	return p, nil
}

// Close flushes pending usage counters and counts per kind.
func (p *Pool) Close() {
	if p.usage != nil {
		p.usage.Close()
	}
	p.mq.close()
}

// SetUpstream switches to a new upstream client (its settings changed).
func (p *Pool) SetUpstream(up Upstream) {
	p.upMu.Lock()
	p.up = up
	p.upMu.Unlock()
}

func (p *Pool) upstream() Upstream {
	p.upMu.RLock()
	defer p.upMu.RUnlock()
	return p.up
}

// SetConfig applies new settings without a restart.
func (p *Pool) SetConfig(cfg Config) {
	cfg = cfg.withDefaults()
	p.mu.Lock()
	p.cfg = cfg
	p.mu.Unlock()
	p.sessions.Resize(cfg.SessionCacheSize, cfg.SessionTTL)
}

func (p *Pool) config() Config {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg
}

// ReloadAll re-reads every account from the source.
func (p *Pool) ReloadAll(ctx context.Context) error {
	list, err := p.source.List(ctx)
	if err != nil {
		return fmt.Errorf("load accounts: %w", err)
	}
	p.mu.Lock()
	seen := make(map[int64]bool, len(list))
	for _, a := range list {
		seen[a.ID] = true
		p.apply(a)
	}
	var gone []int64
	for id := range p.members {
		if !seen[id] {
			gone = append(gone, id)
		}
	}
	for _, id := range gone {
		delete(p.members, id)
		p.order = nil
	}
	p.mu.Unlock()
	for _, id := range gone {
		p.forget(id)
	}
	p.publish(events.Event{Kind: events.AccountChanged, AccountID: -1})
	return nil
}

// Reload re-reads one account (it changed, or was deleted).
func (p *Pool) Reload(ctx context.Context, id int64) error {
	if id < 0 {
		return p.ReloadAll(ctx)
	}
	a, err := p.source.Get(ctx, id)
	if errors.Is(err, accounts.ErrNotFound) {
		p.mu.Lock()
		_, had := p.members[id]
		delete(p.members, id)
		p.order = nil
		p.mu.Unlock()
		if had {
			p.forget(id)
		}
		p.publish(events.Event{Kind: events.AccountChanged, AccountID: id})
		return nil
	}
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.apply(a)
	p.mu.Unlock()
	p.publish(events.Event{Kind: events.AccountChanged, AccountID: id})
	return nil
}

// apply merges a fresh record; p.mu held.
func (p *Pool) apply(a accounts.Account) {
	m := p.members[a.ID]
	if m == nil {
		p.members[a.ID] = &member{acct: a, lastPick: a.LastUsedAt}
		p.order = nil
		return
	}
	if m.acct.SecretRef != a.SecretRef || m.acct.ConfigID != a.ConfigID || m.acct.UserAgent != a.UserAgent {
		m.creds = nil
		if !rotated(m.acct, a) {
			// New credentials: the token and the sessions belong to the
			// old sign-in.
			go p.forget(a.ID)
		}
	}
	if p.usage != nil {
		// Counts not yet flushed are still ours to show.
		a.RequestCount += p.usage.pending(a.ID)
	}
	if m.lastPick.After(a.LastUsedAt) {
		a.LastUsedAt = m.lastPick
	}
	m.acct = a
}

// rotated reports whether b differs from a only by cookies a refresh
// re-issued (a later LastRefreshAt, the same sign-in): the upstream
// sessions stay valid, and the token cache, keyed by credentials, mints a
// new token by itself.
func rotated(a, b accounts.Account) bool {
	return b.LastRefreshAt.After(a.LastRefreshAt) && b.LastSignInAt.Equal(a.LastSignInAt) &&
		a.ConfigID == b.ConfigID && a.UserAgent == b.UserAgent && a.SecretHints.CSESIDX == b.SecretHints.CSESIDX
}

func (p *Pool) forget(id int64) {
	p.upstream().Forget(accountKey(id))
	p.sessions.DropAccount(id)
}

// recovered, deferred at the top of a background goroutine, logs a panic
// (redacted, like every log line) instead of letting it end the process.
func (p *Pool) recovered(where string) {
	if v := recover(); v != nil {
		p.log.Error("panic recovered", "where", where, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	}
}

func accountKey(id int64) string { return fmt.Sprintf("acct-%d", id) }

func (p *Pool) publish(ev events.Event) { p.bus.Publish(ev) }

// credentials returns (and caches) an account's upstream credentials.
func (p *Pool) credentials(ctx context.Context, id int64) (upstream.Credentials, error) {
	p.mu.Lock()
	m := p.members[id]
	if m == nil {
		p.mu.Unlock()
		return upstream.Credentials{}, accounts.ErrNotFound
	}
	if m.creds != nil {
		cr := *m.creds
		p.mu.Unlock()
		return cr, nil
	}
	a := m.acct
	p.mu.Unlock()
	s, err := p.source.Secrets(ctx, a)
	if errors.Is(err, accounts.ErrSecretNotFound) {
		// Another process sharing the store (a second instance, -signin)
		// may have replaced the secrets and deleted the old ones before
		// its change reached this pool: read the account again.
		if fresh, gerr := p.source.Get(ctx, id); gerr == nil && fresh.SecretRef != a.SecretRef {
			if rerr := p.Reload(ctx, id); rerr == nil {
				a = fresh
				s, err = p.source.Secrets(ctx, a)
			}
		}
	}
	if err != nil {
		return upstream.Credentials{}, err
	}
	cr := upstream.Credentials{
		AccountID: accountKey(a.ID), SecureCSES: s.SecureCSES, HostCOSES: s.HostCOSES,
		CSESIDX: s.CSESIDX, ConfigID: a.ConfigID, UserAgent: a.UserAgent,
	}
	p.mu.Lock()
	if m := p.members[id]; m != nil && m.acct.SecretRef == a.SecretRef {
		m.creds = &cr
	}
	p.mu.Unlock()
	return cr, nil
}

// usable reports whether m may serve a request at now; p.mu held.
func usable(m *member, now time.Time) bool {
	a := &m.acct
	return a.Enabled && a.Status.Usable() && !a.Cooling(now)
}

// pick chooses an account for a request. prefer, when usable, wins (the
// account holding the conversation's session). exclude lists accounts that
// already failed this request in a way that rules them out; soft lists
// accounts that failed transiently and are used only if nothing else is.
func (p *Pool) pick(prefer int64, exclude, soft map[int64]bool) (int64, error) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if m := p.members[prefer]; m != nil && prefer >= 0 && !exclude[prefer] && !soft[prefer] && usable(m, now) {
		m.lastPick, m.inflight = now, m.inflight+1
		return prefer, nil
	}
	// Candidates are the usable accounts not ruled out; accounts that failed
	// this request transiently serve only when nothing else can. One pass
	// in id order, no allocation: this runs for every request.
	order := p.sortedLocked()
	var best, bestSoft *member
	n, nSoft := 0, 0
	for _, m := range order {
		if exclude[m.acct.ID] || !usable(m, now) {
			continue
		}
		if soft[m.acct.ID] {
			nSoft++
			if bestSoft == nil || lessRecent(m, bestSoft, now) {
				bestSoft = m
			}
			continue
		}
		n++
		if best == nil || lessRecent(m, best, now) {
			best = m
		}
	}
	useSoft := n == 0
	if useSoft {
		best, n = bestSoft, nSoft
	}
	if best == nil {
		return 0, p.noAccountError(now)
	}
	m := best // least recently used; an account that just failed goes last
	if p.cfg.Strategy == StrategyRoundRobin {
		k := int(p.rr % uint64(n))
		p.rr++
		for _, c := range order {
			if exclude[c.acct.ID] || !usable(c, now) || soft[c.acct.ID] != useSoft {
				continue
			}
			if k == 0 {
				m = c
				break
			}
			k--
		}
	}
	m.lastPick, m.inflight = now, m.inflight+1
	return m.acct.ID, nil
}

// sortedLocked returns the members in id order, rebuilt only after the set
// changed; p.mu held.
func (p *Pool) sortedLocked() []*member {
	if p.order == nil {
		p.order = make([]*member, 0, len(p.members))
		for _, m := range p.members {
			p.order = append(p.order, m)
		}
		slices.SortFunc(p.order, func(a, b *member) int { return cmp.Compare(a.acct.ID, b.acct.ID) })
	}
	return p.order
}

func lessRecent(a, b *member, now time.Time) bool {
	af, bf := now.Sub(a.failedAt) < time.Minute, now.Sub(b.failedAt) < time.Minute
	if af != bf {
		return bf
	}
	if !a.lastPick.Equal(b.lastPick) {
		return a.lastPick.Before(b.lastPick)
	}
	return a.acct.ID < b.acct.ID
}

func (p *Pool) release(id int64) {
	p.mu.Lock()
	if m := p.members[id]; m != nil && m.inflight > 0 {
		m.inflight--
	}
	p.mu.Unlock()
}

// NoAccountError says why no account can serve, and when one will.
type NoAccountError struct {
	// RetryAfter is when the first cooling account frees up; 0 when none will
	// by itself.
	RetryAfter time.Duration
	Reason     string
}

func (e *NoAccountError) Error() string { return e.Reason }

// noAccountError explains the empty selection; p.mu held. With a few
// accounts it names each one and why it cannot serve; with many it counts.
func (p *Pool) noAccountError(now time.Time) error {
	if len(p.members) == 0 {
		return &NoAccountError{Reason: "no Gemini Business account is configured: add one in the app or through /api/admin/accounts"}
	}
	var earliest time.Time
	counts := map[State]int{}
	ms := make([]*member, 0, len(p.members))
	for _, m := range p.members {
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b *member) int { return cmp.Compare(a.acct.ID, b.acct.ID) })
	var each []string
	for _, m := range ms {
		a := &m.acct
		st, why := StateOf(*a, now)
		if usable(m, now) {
			st, why = "already tried", ""
		}
		counts[st]++
		if a.Cooling(now) && a.Enabled && a.Status.Usable() && (earliest.IsZero() || a.CooldownUntil.Before(earliest)) {
			earliest = a.CooldownUntil
		}
		line := fmt.Sprintf("%s: %s", a.Name, st)
		if why != "" {
			line += " (" + why + ")"
		}
		each = append(each, line)
	}
	var reason string
	if len(each) <= 5 {
		reason = "no usable account: " + strings.Join(each, "; ")
	} else {
		keys := make([]string, 0, len(counts))
		for k := range counts {
			keys = append(keys, string(k))
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%d %s", counts[State(k)], k)
		}
		reason = fmt.Sprintf("no usable account (%d in all: %s)", len(p.members), strings.Join(parts, ", "))
	}
	if !earliest.IsZero() {
		d := earliest.Sub(now).Round(time.Second)
		if d < time.Second {
			d = time.Second
		}
		return &NoAccountError{RetryAfter: d, Reason: reason + fmt.Sprintf("; the first frees up in %s", d)}
	}
	if counts[StateNeedsSignIn] > 0 {
		reason += "; sign in again to the accounts that need it"
	}
	if counts[StateExpired] > 0 || counts[StateDisabled] > 0 {
		reason += "; renew expired accounts' cookies or turn accounts back on"
	}
	return &NoAccountError{Reason: reason}
}
