package pool

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
)

// usageWriter batches request counts and last-use times into the store off
// the request path. Counters are added in SQL, so batches from several
// processes sharing one database never overwrite each other.
type usageWriter struct {
	store accounts.Store
	log   *slog.Logger

	mu      sync.Mutex
	pend    map[int64]*usageDelta
	wake    chan struct{}
	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

type usageDelta struct {
	n    int64
	last time.Time
}

// usageFlushEvery bounds how stale stored counters may be.
const usageFlushEvery = time.Second

func newUsageWriter(s accounts.Store, log *slog.Logger) *usageWriter {
	w := &usageWriter{
		store: s, log: log, pend: make(map[int64]*usageDelta),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{}),
	}
	go w.run()
	return w
}

// Add counts one request served at t.
func (w *usageWriter) Add(id int64, t time.Time) {
	w.mu.Lock()
	d := w.pend[id]
	if d == nil {
		d = &usageDelta{}
		w.pend[id] = d
	}
	d.n++
	if t.After(d.last) {
		d.last = t
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// pending is the count not yet written for id.
func (w *usageWriter) pending(id int64) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if d := w.pend[id]; d != nil {
		return d.n
	}
	return 0
}

func (w *usageWriter) run() {
	defer close(w.stopped)
	t := time.NewTicker(usageFlushEvery)
	defer t.Stop()
	dirty := false
	for {
		select {
		case <-w.wake:
			dirty = true
		case <-t.C:
			if dirty {
				w.flush()
				dirty = false
			}
		case <-w.stop:
			w.flush()
			return
		}
	}
}

func (w *usageWriter) flush() {
	defer func() {
		// A panic loses this batch of counters, not the process.
		if v := recover(); v != nil {
			w.log.Error("panic recovered", "where", "usage counters", "panic", fmt.Sprint(v))
		}
	}()
	w.mu.Lock()
	batch := w.pend
	w.pend = make(map[int64]*usageDelta)
	w.mu.Unlock()
	for id, d := range batch {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := w.store.AddUsage(ctx, id, d.n, d.last)
		cancel()
		if err != nil && err != accounts.ErrNotFound {
			w.log.Error("store usage counters", "account_id", id, "err", err)
		}
	}
}

// Close writes what is pending and stops.
func (w *usageWriter) Close() {
	w.once.Do(func() { close(w.stop) })
	<-w.stopped
}
