// Package daycount keeps the desktop app's "requests today".
package daycount

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Counter is the Overview's "requests today": what the database holds
// for the local date (so it survives restarts and, on a shared PostgreSQL
// pool, sums every instance) plus what this gateway counted since it last
// wrote. It writes only after requests, at most once per FlushGap, and on
// a shared pool re-reads every refresh to pick up the other instances.
// Requests counted in the last FlushGap before midnight may land on the
// new day.
type Counter struct {
	Store    Store
	Total    func() int64    // the gateway's request count, never reset
	Counted  <-chan struct{} // receives after Total grew
	Now      func() time.Time
	Log      *slog.Logger
	FlushGap time.Duration
	Refresh  time.Duration // 0: no re-reading without own requests

	mu      sync.Mutex
	day     string // the date stored is for
	stored  int64  // the day's total in the database, as last known
	written int64  // total() as of the last write
}

// Store is where the day's count lives (app/store implements it).
type Store interface {
	AddDayRequests(ctx context.Context, day string, n int64) error
	DayRequests(ctx context.Context, day string) (int64, error)
}

// Today is the number of chat requests today.
func (d *Counter) Today() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	pending := max(d.Total()-d.written, 0)
	if d.Now().Format(time.DateOnly) != d.day {
		return pending
	}
	return d.stored + pending
}

// Run keeps the count until ctx ends, then writes what is pending.
func (d *Counter) Run(ctx context.Context) {
	d.Sync(ctx)
	var tick <-chan time.Time
	if d.Refresh > 0 {
		t := time.NewTicker(d.Refresh)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			d.Sync(fctx)
			cancel()
			return
		case <-d.Counted:
			// One write for a burst of requests.
			select {
			case <-time.After(d.FlushGap):
			case <-ctx.Done():
				continue
			}
			d.Sync(ctx)
		case <-tick:
			d.Sync(ctx)
		}
	}
}

// Sync writes the requests counted since the last write onto today and
// reads today's total back.
func (d *Counter) Sync(ctx context.Context) {
	day := d.Now().Format(time.DateOnly)
	cur := d.Total()
	d.mu.Lock()
	n := cur - d.written
	d.mu.Unlock()
	if n > 0 {
		if err := d.Store.AddDayRequests(ctx, day, n); err != nil {
			d.Log.Warn("store today's request count; will retry", "err", err)
			return
		}
		d.mu.Lock()
		d.written = cur
		if d.day == day {
			d.stored += n
		}
		d.mu.Unlock()
	}
	v, err := d.Store.DayRequests(ctx, day)
	if err != nil {
		d.Log.Warn("read today's request count", "err", err)
		return
	}
	d.mu.Lock()
	d.day, d.stored = day, v
	d.mu.Unlock()
}
