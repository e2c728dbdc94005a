package pool

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/gateway/events"
	"github.com/gemgate/gemini-gateway/gateway/upstream"
)

// HealthConfig has the Python gateway's HEALTH_CHECK_* settings; the
// defaults are DefaultHealthConfig's.
type HealthConfig struct {
	Enabled               bool          // HEALTH_CHECK_ENABLED
	Interval              time.Duration // HEALTH_CHECK_INTERVAL
	Timeout               time.Duration // HEALTH_CHECK_TIMEOUT, per check
	RetryCount            int           // HEALTH_CHECK_RETRY_COUNT: retries of a transient failure
	Concurrency           int           // HEALTH_CHECK_CONCURRENT_LIMIT
	AutoDisable           bool          // HEALTH_CHECK_AUTO_DISABLE (the pool's Config has the same)
	NetworkErrorThreshold int           // HEALTH_CHECK_NETWORK_ERROR_THRESHOLD (the pool's Config has the same)
}

// DefaultHealthConfig returns the Python gateway's defaults; AutoDisable
// and NetworkErrorThreshold are the pool's (DefaultConfig), which acts on
// the same settings.
func DefaultHealthConfig() HealthConfig {
	d := DefaultConfig()
	return HealthConfig{Enabled: true, Interval: 300 * time.Second, Timeout: 30 * time.Second,
		RetryCount: 2, Concurrency: 5, AutoDisable: d.AutoDisable, NetworkErrorThreshold: d.NetworkErrorThreshold}
}

// CheckOutcome is the result of checking one account.
type CheckOutcome struct {
	AccountID int64
	Name      string
	OK        bool
	Latency   time.Duration
	Kind      upstream.Kind // failure kind; 0 on success
	Message   string
	Disabled  bool // the check turned the account off
}

// Checker runs health checks on a schedule and on demand.
type Checker struct {
	pool *Pool

	mu      sync.Mutex
	cfg     HealthConfig
	running bool
	last    *events.HealthSummary
	kick    chan struct{}
}

// NewChecker creates a checker for p.
func NewChecker(p *Pool, cfg HealthConfig) *Checker {
	return &Checker{pool: p, cfg: cfg, kick: make(chan struct{}, 1)}
}

// SetConfig applies new settings; the schedule picks them up at once.
func (c *Checker) SetConfig(cfg HealthConfig) {
	c.mu.Lock()
	c.cfg = cfg
	c.mu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *Checker) config() HealthConfig {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cfg
}

// Last returns the summary of the last finished round, if any.
func (c *Checker) Last() *events.HealthSummary {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// Run checks every account at start and then every Interval until ctx
// ends. With checks disabled it only waits for its settings to change.
func (c *Checker) Run(ctx context.Context) {
	first := true
	for {
		cfg := c.config()
		var tick <-chan time.Time
		var t *time.Timer
		if cfg.Enabled {
			if first {
				c.checkAllSafely(ctx)
				first = false
			}
			t = time.NewTimer(max(cfg.Interval, time.Second))
			tick = t.C
		}
		select {
		case <-ctx.Done():
		case <-c.kick:
		case <-tick:
			c.checkAllSafely(ctx)
		}
		if t != nil {
			t.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// checkAllSafely runs a scheduled round; a panic ends the round, not the
// schedule.
func (c *Checker) checkAllSafely(ctx context.Context) {
	defer c.pool.recovered("health check round")
	c.CheckAll(ctx, nil)
}

// CheckAll checks every enabled account, oldest check first, at most
// Concurrency at a time. progress, if set, is called after each account.
// A round already running is not started twice: the call waits for nothing
// and returns an empty summary.
func (c *Checker) CheckAll(ctx context.Context, progress func(done, total int)) events.HealthSummary {
	c.mu.Lock()
	if c.running {
		c.mu.Unlock()
		return events.HealthSummary{}
	}
	c.running = true
	cfg := c.cfg
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.running = false
		c.mu.Unlock()
	}()

	start := time.Now()
	var targets []accounts.Account
	for _, v := range c.pool.Snapshot() {
		if v.Enabled {
			targets = append(targets, v.Account)
		}
	}
	slices.SortStableFunc(targets, func(a, b accounts.Account) int {
		return cmp.Compare(a.LastCheckAt.UnixNano(), b.LastCheckAt.UnixNano())
	})

	sum := events.HealthSummary{Checked: len(targets)}
	sem := make(chan struct{}, max(cfg.Concurrency, 1))
	var mu sync.Mutex
	var wg sync.WaitGroup
	done := 0
	for _, a := range targets {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			o := CheckOutcome{AccountID: a.ID, Name: a.Name, Message: "the check failed internally"}
			func() {
				defer c.pool.recovered("health check")
				o = c.check(ctx, a.ID, cfg)
			}()
			mu.Lock()
			defer mu.Unlock()
			done++
			if o.OK {
				sum.Healthy++
			} else {
				sum.Failed++
			}
			if o.Disabled {
				sum.Disabled++
			}
			if progress != nil {
				progress(done, len(targets))
			}
		}()
	}
	wg.Wait()
	sum.Took = time.Since(start)
	c.pool.log.Info("health check round finished", "checked", sum.Checked, "healthy", sum.Healthy,
		"failed", sum.Failed, "disabled", sum.Disabled, "took", sum.Took.Round(time.Millisecond).String())
	c.mu.Lock()
	c.last = &sum
	c.mu.Unlock()
	c.pool.publish(events.Event{Kind: events.HealthRound, Health: &sum})
	return sum
}

// CheckOne checks one account now, enabled or not.
func (c *Checker) CheckOne(ctx context.Context, id int64) CheckOutcome {
	return c.check(ctx, id, c.config())
}

// check proves an account works (fresh getoxsrf, open and delete a
// session), retrying transient failures, and records the outcome.
func (c *Checker) check(ctx context.Context, id int64, cfg HealthConfig) CheckOutcome {
	p := c.pool
	o := CheckOutcome{AccountID: id, Name: p.name(id)}
	res, err := c.probe(ctx, id, cfg)
	if ctx.Err() != nil {
		return o
	}
	if err == nil {
		c.passed(&o, res)
		return o
	}
	c.checkFailed(&o, err, cfg)
	return o
}

// probe runs the check, again while it fails transiently (RetryCount
// times), and once more after a cookie refresh when the cookies were
// stale or the token refused.
func (c *Checker) probe(ctx context.Context, id int64, cfg HealthConfig) (upstream.CheckResult, error) {
	p := c.pool
	var err error
	var res upstream.CheckResult
	for try := 0; try <= cfg.RetryCount; try++ {
		res, err = c.probeOnce(ctx, id, cfg)
		if err == nil || upstream.KindOf(err) != upstream.KindTransient || ctx.Err() != nil || isSecretsError(err) {
			break // a locked keychain is not retried either
		}
	}
	if k := upstream.KindOf(err); recoverable(k) && ctx.Err() == nil {
		// Stale cookies or a refused token: refresh, then check once more.
		if retry, _ := p.refreshForRetry(ctx, id); retry {
			cctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
			if cr, cerr := p.credentials(cctx, id); cerr != nil {
				err = secretsError(cerr)
			} else {
				res, err = p.upstream().CheckAccount(cctx, cr)
			}
			cancel()
		}
	}
	return res, err
}

// probeOnce is one try within cfg.Timeout; running out of it is a
// transient network failure.
func (c *Checker) probeOnce(ctx context.Context, id int64, cfg HealthConfig) (upstream.CheckResult, error) {
	p := c.pool
	cctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	cr, err := p.credentials(cctx, id)
	if err != nil {
		return upstream.CheckResult{}, secretsError(err)
	}
	res, err := p.upstream().CheckAccount(cctx, cr)
	if err != nil && cctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
		err = &upstream.Error{Op: "health check", Kind: upstream.KindTransient, Network: true, Message: "timed out after " + cfg.Timeout.String()}
	}
	return res, err
}

func isSecretsError(err error) bool {
	ue, ok := err.(*upstream.Error)
	return ok && ue.Op == opSecrets
}

// passed records a check that succeeded: healthy, network errors forgiven.
func (c *Checker) passed(o *CheckOutcome, res upstream.CheckResult) {
	p, id := c.pool, o.AccountID
	o.OK, o.Latency = true, res.Latency
	p.recordCheck(id, accounts.CheckRecord{At: p.now(), OK: true, Latency: res.Latency, Message: "ok"})
	p.setStatus(id, accounts.StatusHealthy, "", false)
	p.resetNetworkErrors(id)
	p.log.Info("health check passed", "account", o.Name, "latency", res.Latency.Round(time.Millisecond).String())
	p.publish(accountEvent(id))
}

// checkFailed records a failed check and what it means for the account:
// sign-in trouble, expired, banned, out of quota, or one more network
// error (which, past NetworkErrorThreshold, makes it unhealthy). A check
// that could not read the account's secrets says nothing of the account.
func (c *Checker) checkFailed(o *CheckOutcome, err error, cfg HealthConfig) {
	p, id := c.pool, o.AccountID
	now := p.now()
	ue, _ := err.(*upstream.Error)
	o.Message = err.Error()
	if ue != nil {
		o.Kind = ue.Kind
		o.Message = ue.Message
	}
	p.recordCheck(id, accounts.CheckRecord{At: now, OK: false, Message: o.Message})
	if ue != nil && ue.Op == opSecrets {
		// The keychain is locked or away: nothing is known about the account.
		p.log.Warn("health check could not read the account's secrets", "account", o.Name, "reason", o.Message)
		p.publish(accountEvent(id))
		return
	}
	if ue != nil && ue.Op == "getoxsrf" {
		p.log.Warn("JWT refresh failed", "account", o.Name, "error_kind", ue.Kind.String(), "reason", ue.Message)
	}
	switch o.Kind {
	case upstream.KindSignIn, upstream.KindStale, upstream.KindUnauthorized:
		p.failed(id, err)
	case upstream.KindExpired:
		p.setStatus(id, accounts.StatusExpired, "expired: "+o.Message, cfg.AutoDisable)
		o.Disabled = cfg.AutoDisable
	case upstream.KindBanned:
		p.setStatus(id, accounts.StatusBanned, "banned: "+o.Message, cfg.AutoDisable)
		o.Disabled = cfg.AutoDisable
	case upstream.KindQuota:
		p.quota(id, ue)
	default:
		n := p.addNetworkError(id)
		if n >= cfg.NetworkErrorThreshold {
			p.setStatus(id, accounts.StatusUnhealthy, o.Message, cfg.AutoDisable)
			o.Disabled = cfg.AutoDisable
		}
	}
	p.log.Warn("health check failed", "account", o.Name, "error_kind", o.Kind.String(), "reason", o.Message, "disabled", o.Disabled)
	p.publish(accountEvent(id))
}

func (p *Pool) recordCheck(id int64, rec accounts.CheckRecord) {
	if p.persisted(id) {
		ctx, cancel := p.writeCtx()
		err := p.store.RecordCheck(ctx, id, rec)
		cancel()
		if err != nil {
			p.log.Error("store health check", "account", p.name(id), "err", err)
		}
	}
	p.mu.Lock()
	if m := p.members[id]; m != nil {
		m.acct.LastCheckAt, m.acct.LastCheckOK = rec.At, rec.OK
		m.acct.LastCheckLatency, m.acct.LastCheckMessage = rec.Latency, rec.Message
	}
	p.mu.Unlock()
}
