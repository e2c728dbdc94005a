package pool

import (
	"errors"
	"fmt"
	"sync"
	"time"

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
// The counts live in memory: they reset at local midnight and at a
// restart, which at worst lets an account try once more and get a 429.
type mediaQuotas struct {
	mu  sync.Mutex
	day string
	by  map[int64]*[3]kindState
}

type kindState struct {
	used   int
	until  time.Time
	reason string
}

func (q *mediaQuotas) stateLocked(id int64, now time.Time) *[3]kindState {
	if d := now.Format(time.DateOnly); d != q.day {
		// A new day: counts start again, cooldowns keep running.
		for _, st := range q.by {
			for k := range st {
				st[k].used = 0
			}
		}
		q.day = d
	}
	if q.by == nil {
		q.by = map[int64]*[3]kindState{}
	}
	st := q.by[id]
	if st == nil {
		st = &[3]kindState{}
		q.by[id] = st
	}
	return st
}

// blocked reports why account id cannot serve a turn of kind m now, or "".
func (q *mediaQuotas) blocked(id int64, m Media, lim MediaLimits, now time.Time) (string, time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	st := &q.stateLocked(id, now)[m]
	if now.Before(st.until) {
		return st.reason, st.until
	}
	if lim.Daily > 0 && st.used >= lim.Daily {
		return fmt.Sprintf("daily %s limit reached (%d/%d)", m, st.used, lim.Daily), nextDay(now)
	}
	return "", time.Time{}
}

func (q *mediaQuotas) count(id int64, m Media, now time.Time) {
	q.mu.Lock()
	q.stateLocked(id, now)[m].used++
	q.mu.Unlock()
}

func (q *mediaQuotas) cool(id int64, m Media, now, until time.Time, reason string) {
	q.mu.Lock()
	st := &q.stateLocked(id, now)[m]
	st.until, st.reason = until, reason
	q.mu.Unlock()
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

func (q *mediaQuotas) view(id int64, cfg Config, now time.Time) []KindQuota {
	q.mu.Lock()
	defer q.mu.Unlock()
	st := q.stateLocked(id, now)
	out := make([]KindQuota, 0, 3)
	for _, m := range []Media{MediaText, MediaImage, MediaVideo} {
		k := KindQuota{Kind: m, Used: st[m].used, Limit: cfg.limits(m).Daily}
		if now.Before(st[m].until) {
			k.CooldownRemaining, k.Reason = st[m].until.Sub(now), st[m].reason
		}
		out = append(out, k)
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
// now, with the earliest time one frees up.
func (p *Pool) mediaBlocked(m Media) (map[int64]string, time.Time) {
	cfg := p.config()
	lim := cfg.limits(m)
	if m == MediaText && lim.Daily == 0 {
		// Text has no cooldown of its own (the account's is used) and no
		// daily limit: nothing to look up on the hot path.
		return nil, time.Time{}
	}
	now := p.now()
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
