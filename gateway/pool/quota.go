package pool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/gateway/upstream"
)

// MediaLimits are the per-account daily counts and cooldowns of one kind
// of turn. Zero Daily means no daily limit.
type MediaLimits struct {
	Daily    int
	Cooldown time.Duration
}

// mediaQuotas keeps, per account and kind of turn, how many turns of that
// kind were served today and how long the kind is cooling down. Text uses
// the account's own stored cooldown (a 429 on a text turn means the account
// is rate limited as a whole); images and videos have scarcer quotas of
// their own, so running out of them must never take text away.
//
// With a store (accounts.QuotaStore) the counts and cooldowns live in the
// database, so a restart, or another gateway sharing a PostgreSQL pool,
// never spends quota the upstream has already refused. The book in memory
// is a cache of it, so text turns never wait on the database:
//   - a media turn re-reads the day's counts and the cooldowns before it
//     picks an account (media turns are rare and take seconds to minutes),
//     and writes its count at once when it succeeds;
//   - text counts are written in the background (about once a second) and
//     the book is re-read every quotaRefreshEvery, for the UI;
//   - a media cooldown is written at once.
//
// Counts are added in SQL, so instances add up. Two instances that check
// the same last free slot at the same moment may both use it: the limit is
// a guard against spending refused quota, and the upstream still has the
// last word (its 429 cools the kind down everywhere).
//
// The day is the gateway's local date, as for "requests today"
// (internal/daycount): counts start again at local midnight, cooldowns
// keep running. Without a store the book is memory only.
type mediaQuotas struct {
	store   accounts.QuotaStore // nil: memory only
	log     *slog.Logger
	now     func() time.Time
	timeout time.Duration // bounds each store call

	// io serialises store calls, so a re-read never sees a write half
	// done (counts being written stay in pend until their write returns).
	io sync.Mutex

	mu     sync.Mutex
	day    string
	stored map[quotaKey]int // today's counts in the store, as last known
	pend   map[dayKey]int   // counted here, not yet in the store
	cools  map[quotaKey]kindCool

	wake    chan struct{}
	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

type quotaKey struct {
	id   int64
	kind Media
}

type dayKey struct {
	day string
	quotaKey
}

type kindCool struct {
	until  time.Time
	reason string
}

// quotaFlushEvery and quotaRefreshEvery bound how stale the stored text
// counts and this gateway's view of other instances' counts may be.
const (
	quotaFlushEvery   = time.Second
	quotaRefreshEvery = 30 * time.Second
	// quotaKeepDays of counts stay in the store (pruned at start).
	quotaKeepDays = 31
)

// start loads the book from the store and keeps writing and re-reading it
// until close.
func (q *mediaQuotas) start(ctx context.Context) {
	if q.store == nil {
		return
	}
	q.wake, q.stop, q.stopped = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
	now := q.now()
	if err := q.store.PruneKindQuotas(ctx, now.AddDate(0, 0, -quotaKeepDays).Format(time.DateOnly), now); err != nil {
		q.log.Warn("prune old quotas per kind", "err", err)
	}
	if err := q.refresh(ctx, now); err != nil {
		q.log.Warn("read quotas per kind; counting from zero until the next read", "err", err)
	}
	go q.run()
}

func (q *mediaQuotas) run() {
	defer close(q.stopped)
	flush := time.NewTicker(quotaFlushEvery)
	defer flush.Stop()
	refresh := time.NewTicker(quotaRefreshEvery)
	defer refresh.Stop()
	dirty := false
	for {
		select {
		case <-q.wake:
			dirty = true
		case <-flush.C:
			if dirty {
				q.flush()
				dirty = false
			}
		case <-refresh.C:
			q.flush()
			ctx, cancel := context.WithTimeout(context.Background(), q.timeout)
			if err := q.refresh(ctx, q.now()); err != nil {
				q.log.Warn("re-read quotas per kind", "err", err)
			}
			cancel()
		case <-q.stop:
			q.flush()
			return
		}
	}
}

// close writes the counts not yet stored and stops.
func (q *mediaQuotas) close() {
	if q.stop == nil {
		return
	}
	q.once.Do(func() { close(q.stop) })
	<-q.stopped
}

// rollLocked moves the book to now's day; q.mu held.
func (q *mediaQuotas) rollLocked(now time.Time) {
	if d := now.Format(time.DateOnly); d != q.day {
		// A new day: counts start again, cooldowns keep running.
		q.day, q.stored = d, nil
	}
}

// usedLocked is today's count of k; q.mu held, the book rolled.
func (q *mediaQuotas) usedLocked(k quotaKey) int {
	return q.stored[k] + q.pend[dayKey{q.day, k}]
}

// blocked reports why account id cannot serve a turn of kind m now, or "".
func (q *mediaQuotas) blocked(id int64, m Media, lim MediaLimits, now time.Time) (string, time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.rollLocked(now)
	k := quotaKey{id, m}
	if c := q.cools[k]; now.Before(c.until) {
		return c.reason, c.until
	}
	if used := q.usedLocked(k); lim.Daily > 0 && used >= lim.Daily {
		return fmt.Sprintf("daily %s limit reached (%d/%d)", m, used, lim.Daily), nextDay(now)
	}
	return "", time.Time{}
}

// count records one turn of kind m served by account id. A media count is
// written to the store before it returns; text counts are written in the
// background.
func (q *mediaQuotas) count(id int64, m Media, now time.Time) {
	q.mu.Lock()
	q.rollLocked(now)
	k := quotaKey{id, m}
	if q.store == nil {
		if q.stored == nil {
			q.stored = map[quotaKey]int{}
		}
		q.stored[k]++
		q.mu.Unlock()
		return
	}
	if q.pend == nil {
		q.pend = map[dayKey]int{}
	}
	q.pend[dayKey{q.day, k}]++
	q.mu.Unlock()
	if m != MediaText {
		q.flush()
		return
	}
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// flush writes the counts not yet stored. A count whose write fails stays
// pending (and counted) for the next try.
func (q *mediaQuotas) flush() {
	if q.store == nil {
		return
	}
	q.io.Lock()
	defer q.io.Unlock()
	q.mu.Lock()
	batch := make(map[dayKey]int, len(q.pend))
	for k, n := range q.pend {
		batch[k] = n
	}
	q.mu.Unlock()
	for k, n := range batch {
		ctx, cancel := context.WithTimeout(context.Background(), q.timeout)
		total, err := q.store.AddKindTurns(ctx, k.day, k.id, k.kind.String(), int64(n))
		cancel()
		if err != nil {
			q.log.Warn("store turns per kind; will retry", "account_id", k.id, "kind", k.kind.String(), "err", err)
			continue
		}
		q.mu.Lock()
		if q.pend[k] -= n; q.pend[k] <= 0 {
			delete(q.pend, k)
		}
		if k.day == q.day {
			// The store's total counts every instance's turns, ours included.
			if q.stored == nil {
				q.stored = map[quotaKey]int{}
			}
			q.stored[k.quotaKey] = int(total)
		}
		q.mu.Unlock()
	}
}

// refresh re-reads now's day's counts and the running cooldowns.
func (q *mediaQuotas) refresh(ctx context.Context, now time.Time) error {
	if q.store == nil {
		return nil
	}
	q.io.Lock()
	defer q.io.Unlock()
	day := now.Format(time.DateOnly)
	turns, err := q.store.KindTurns(ctx, day)
	if err != nil {
		return err
	}
	cools, err := q.store.KindCooldowns(ctx, now)
	if err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.rollLocked(now)
	if day == q.day {
		q.stored = make(map[quotaKey]int, len(turns))
		for _, t := range turns {
			if m, ok := mediaNamed(t.Kind); ok {
				q.stored[quotaKey{t.AccountID, m}] = int(t.Turns)
			}
		}
	}
	for _, c := range cools {
		m, ok := mediaNamed(c.Kind)
		if !ok {
			continue
		}
		// The later end wins: one kept here whose write failed is not lost.
		k := quotaKey{c.AccountID, m}
		if c.Until.After(q.cools[k].until) {
			q.setCoolLocked(k, kindCool{c.Until, c.Reason})
		}
	}
	return nil
}

func (q *mediaQuotas) setCoolLocked(k quotaKey, c kindCool) {
	if q.cools == nil {
		q.cools = map[quotaKey]kindCool{}
	}
	q.cools[k] = c
}

// cool keeps account id from kind m until the given time, in the store too.
func (q *mediaQuotas) cool(id int64, m Media, now, until time.Time, reason string) {
	q.mu.Lock()
	q.rollLocked(now)
	q.setCoolLocked(quotaKey{id, m}, kindCool{until, reason})
	q.mu.Unlock()
	if q.store == nil {
		return
	}
	q.io.Lock()
	defer q.io.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), q.timeout)
	defer cancel()
	if err := q.store.SetKindCooldown(ctx, id, m.String(), until, reason); err != nil {
		q.log.Warn("store a cooldown per kind; this gateway keeps it", "account_id", id, "kind", m.String(), "err", err)
	}
}

func mediaNamed(s string) (Media, bool) {
	for i, n := range mediaNames {
		if n == s {
			return Media(i), true
		}
	}
	return 0, false
}

func nextDay(now time.Time) time.Time {
	y, mo, d := now.Date()
	return time.Date(y, mo, d+1, 0, 0, 0, 0, now.Location())
}

// KindQuota is one kind's quota of an account, for the UI and the admin API.
type KindQuota struct {
	Kind  Media
	Used  int // served today
	Limit int // 0 = no daily limit
	// CooldownRemaining is how long this kind still cools down.
	CooldownRemaining time.Duration
	Reason            string
}

// Available reports whether the kind can be served now.
func (k KindQuota) Available() bool {
	return k.CooldownRemaining <= 0 && (k.Limit == 0 || k.Used < k.Limit)
}

// view is account id's quotas from the book in memory (no store call: the
// UI and Snapshot call it under the pool's lock).
func (q *mediaQuotas) view(id int64, cfg Config, now time.Time) []KindQuota {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.rollLocked(now)
	out := make([]KindQuota, 0, 3)
	for _, m := range []Media{MediaText, MediaImage, MediaVideo} {
		k := quotaKey{id, m}
		kq := KindQuota{Kind: m, Used: q.usedLocked(k), Limit: cfg.limits(m).Daily}
		if c := q.cools[k]; now.Before(c.until) {
			kq.CooldownRemaining, kq.Reason = c.until.Sub(now), c.reason
		}
		out = append(out, kq)
	}
	return out
}

// limits returns the configured limits of a kind.
func (c Config) limits(m Media) MediaLimits {
	switch m {
	case MediaImage:
		return c.Image
	case MediaVideo:
		return c.Video
	}
	return MediaLimits{Daily: c.TextDaily, Cooldown: c.QuotaCooldown}
}

// Quotas returns account id's quotas per kind.
func (p *Pool) Quotas(id int64) []KindQuota {
	return p.mq.view(id, p.config(), p.now())
}

// mediaBlocked lists the accounts that cannot serve a turn of kind m
// now, with the earliest time one frees up. For a media turn it first
// re-reads the store, so counts another instance (or this one before a
// restart) stored are seen.
func (p *Pool) mediaBlocked(m Media) (map[int64]string, time.Time) {
	cfg := p.config()
	lim := cfg.limits(m)
	if m == MediaText && lim.Daily == 0 {
		// Text has no cooldown of its own (the account's is used) and no
		// daily limit: nothing to look up on the hot path.
		return nil, time.Time{}
	}
	now := p.now()
	if m != MediaText {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.StateWriteTimeout)
		if err := p.mq.refresh(ctx, now); err != nil {
			p.log.Warn("re-read quotas per kind; using the last known", "err", err)
		}
		cancel()
	}
	p.mu.Lock()
	ids := make([]int64, 0, len(p.members))
	for id := range p.members {
		ids = append(ids, id)
	}
	p.mu.Unlock()
	var out map[int64]string
	var earliest time.Time
	for _, id := range ids {
		why, until := p.mq.blocked(id, m, lim, now)
		if why == "" {
			continue
		}
		if out == nil {
			out = map[int64]string{}
		}
		out[id] = why
		if earliest.IsZero() || until.Before(earliest) {
			earliest = until
		}
	}
	return out, earliest
}

// kindQuotaFailure records a 429 on a turn of kind m: for media, a
// cooldown of that kind only. It reports whether it handled the failure.
func (p *Pool) kindQuotaFailure(id int64, m Media, err error) bool {
	var ue *upstream.Error
	if m == MediaText || !errors.As(err, &ue) || ue.Kind != upstream.KindQuota {
		return false
	}
	d := ue.RetryAfter
	if lim := p.config().limits(m); d <= 0 || d < lim.Cooldown {
		d = lim.Cooldown
	}
	reason := m.String() + " quota"
	if ue.Status != "" {
		reason += ": " + ue.Status
	}
	p.log.Info("account media quota exhausted", "account", p.name(id), "kind", m.String(), "cooldown", d.String())
	now := p.now()
	p.mq.cool(id, m, now, now.Add(d), reason)
	p.publish(accountEvent(id))
	return true
}

// mediaNoAccount explains that every account has used up kind m.
func mediaNoAccount(m Media, blocked map[int64]string, earliest time.Time, now time.Time) *NoAccountError {
	e := &NoAccountError{Reason: fmt.Sprintf("every account that could serve has used up its %s quota or is cooling down for %s (%d account(s))", m, m, len(blocked))}
	if !earliest.IsZero() {
		d := earliest.Sub(now).Round(time.Second)
		if d < time.Second {
			d = time.Second
		}
		e.RetryAfter = d
		e.Reason += fmt.Sprintf("; the first frees up in %s", d)
	}
	return e
}
