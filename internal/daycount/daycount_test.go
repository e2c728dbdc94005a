package daycount

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type fakeDayStore struct {
	mu   sync.Mutex
	days map[string]int64
	fail bool
}

func (s *fakeDayStore) AddDayRequests(_ context.Context, day string, n int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return errors.New("database is locked")
	}
	s.days[day] += n
	return nil
}

func (s *fakeDayStore) DayRequests(_ context.Context, day string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return 0, errors.New("database is locked")
	}
	return s.days[day], nil
}

func (s *fakeDayStore) get(day string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.days[day]
}

func (s *fakeDayStore) setFail(f bool) {
	s.mu.Lock()
	s.fail = f
	s.mu.Unlock()
}

func TestDayCounter(t *testing.T) {
	st := &fakeDayStore{days: map[string]int64{"2026-11-28": 40}}
	var total atomic.Int64
	var clock atomic.Pointer[time.Time]
	setNow := func(s string) {
		tm, _ := time.ParseInLocation(time.DateTime, s, time.Local)
		clock.Store(&tm)
	}
	setNow("2026-11-28 10:00:00")
	counted := make(chan struct{}, 1)
	d := &Counter{
		Store: st, Total: total.Load, Counted: counted, Now: func() time.Time { return *clock.Load() },
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), FlushGap: time.Millisecond, Refresh: 20 * time.Millisecond,
	}
	count := func(n int64) {
		total.Add(n)
		select {
		case counted <- struct{}{}:
		default:
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()

	// After a restart, the day's earlier requests are there.
	waitUntil(t, 5*time.Second, "the stored total", func() bool { return d.Today() == 40 })

	// Own requests show at once and reach the database.
	total.Add(3)
	if got := d.Today(); got != 43 {
		t.Errorf("Today before the write = %d, want 43", got)
	}
	count(0)
	waitUntil(t, 5*time.Second, "the write", func() bool { return st.get("2026-11-28") == 43 })
	if got := d.Today(); got != 43 {
		t.Errorf("Today after the write = %d, want 43", got)
	}

	// Another instance's requests arrive with the periodic re-read.
	st.AddDayRequests(ctx, "2026-11-28", 10)
	waitUntil(t, 5*time.Second, "the other instance's requests", func() bool { return d.Today() == 53 })

	// A failed write loses nothing: it is retried.
	st.setFail(true)
	count(2)
	time.Sleep(30 * time.Millisecond)
	if got := d.Today(); got != 55 {
		t.Errorf("Today while the database fails = %d, want 55", got)
	}
	st.setFail(false)
	waitUntil(t, 5*time.Second, "the retried write", func() bool { return st.get("2026-11-28") == 55 })

	// A new day starts from zero; yesterday keeps its total.
	setNow("2026-11-29 00:00:01")
	if got := d.Today(); got != 0 {
		t.Errorf("Today just after midnight = %d, want 0", got)
	}
	count(1)
	waitUntil(t, 5*time.Second, "the new day's write", func() bool { return st.get("2026-11-29") == 1 && d.Today() == 1 })
	if got := st.get("2026-11-28"); got != 55 {
		t.Errorf("yesterday = %d, want 55", got)
	}

	// Closing writes what is pending.
	total.Add(4) // not signalled
	cancel()
	<-done
	if got := st.get("2026-11-29"); got != 5 {
		t.Errorf("after close the day holds %d, want 5", got)
	}
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
