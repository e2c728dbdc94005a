package app

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// dayCounter is the Overview's "requests today": what the database holds
// for the local date (so it survives restarts and, on a shared PostgreSQL
// pool, sums every instance) plus what this gateway counted since it last
// wrote. It writes only after requests, at most once per flushGap, and on
// a shared pool re-reads every refresh to pick up the other instances.
// Requests counted in the last flushGap before midnight may land on the
// new day.
type dayCounter struct {
	store    dayStore
	total    func() int64    // the gateway's request count, never reset
	counted  <-chan struct{} // receives after total grew
	now      func() time.Time
	log      *slog.Logger
	flushGap time.Duration
	refresh  time.Duration // 0: no re-reading without own requests

	mu      sync.Mutex
	day     string // the date stored is for
	stored  int64  // the day's total in the database, as last known
	written int64  // total() as of the last write
}

type dayStore interface {
	AddDayRequests(ctx context.Context, day string, n int64) error
	DayRequests(ctx context.Context, day string) (int64, error)
}

// Today is the number of chat requests today.
func (d *dayCounter) Today() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	pending := max(d.total()-d.written, 0)
	if d.now().Format(time.DateOnly) != d.day {
		return pending
	}
	return d.stored + pending
}

// run keeps the count until ctx ends, then writes what is pending.
func (d *dayCounter) run(ctx context.Context) {
	d.sync(ctx)
	var tick <-chan time.Time
	if d.refresh > 0 {
		t := time.NewTicker(d.refresh)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			d.sync(fctx)
			cancel()
			return
		case <-d.counted:
			// One write for a burst of requests.
			select {
			case <-time.After(d.flushGap):
			case <-ctx.Done():
				continue
			}
			d.sync(ctx)
		case <-tick:
			d.sync(ctx)
		}
	}
}

// sync writes the requests counted since the last write onto today and
// reads today's total back.
func (d *dayCounter) sync(ctx context.Context) {
	day := d.now().Format(time.DateOnly)
	cur := d.total()
	d.mu.Lock()
	n := cur - d.written
	d.mu.Unlock()
	if n > 0 {
		if err := d.store.AddDayRequests(ctx, day, n); err != nil {
			d.log.Warn("store today's request count; will retry", "err", err)
			return
		}
		d.mu.Lock()
		d.written = cur
		if d.day == day {
			d.stored += n
		}
		d.mu.Unlock()
	}
	v, err := d.store.DayRequests(ctx, day)
	if err != nil {
		d.log.Warn("read today's request count", "err", err)
		return
	}
	d.mu.Lock()
	d.day, d.stored = day, v
	d.mu.Unlock()
}
