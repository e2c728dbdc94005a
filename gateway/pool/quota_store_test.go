package pool

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/gateway/events"
	"github.com/gemgate/gemini-gateway/gateway/upstream"
)

// memQuotaStore is a database of quotas per kind shared by the pools of
// one test, as a PostgreSQL database is shared by gateways (app/store runs
// the same contract on both real engines). Only the quota methods and
// AddUsage are implemented; any other accounts.Store call panics.
type memQuotaStore struct {
	accounts.Store

	mu     sync.Mutex
	turns  map[[3]string]int64 // day, account id, kind
	cools  map[[2]string]accounts.KindCooldown
	writes int   // AddKindTurns calls
	fail   error // returned by AddKindTurns while set

	prunedBefore string
}

func newMemQuotaStore() *memQuotaStore {
	return &memQuotaStore{turns: map[[3]string]int64{}, cools: map[[2]string]accounts.KindCooldown{}}
}

func idKey(id int64) string { return strconv.FormatInt(id, 10) }

func (s *memQuotaStore) AddUsage(context.Context, int64, int64, time.Time) error { return nil }

func (s *memQuotaStore) AddKindTurns(_ context.Context, day string, id int64, kind string, n int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	if s.fail != nil {
		return 0, s.fail
	}
	k := [3]string{day, idKey(id), kind}
	s.turns[k] += n
	return s.turns[k], nil
}

func (s *memQuotaStore) KindTurns(_ context.Context, day string) ([]accounts.KindTurns, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []accounts.KindTurns
	for k, n := range s.turns {
		if k[0] == day {
			id, _ := strconv.ParseInt(k[1], 10, 64)
			out = append(out, accounts.KindTurns{AccountID: id, Kind: k[2], Turns: n})
		}
	}
	return out, nil
}

func (s *memQuotaStore) SetKindCooldown(_ context.Context, id int64, kind string, until time.Time, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cools[[2]string{idKey(id), kind}] = accounts.KindCooldown{AccountID: id, Kind: kind, Until: until, Reason: reason}
	return nil
}

func (s *memQuotaStore) KindCooldowns(_ context.Context, now time.Time) ([]accounts.KindCooldown, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []accounts.KindCooldown
	for _, c := range s.cools {
		if c.Until.After(now) {
			out = append(out, c)
		}
	}
	return out, nil
}

func (s *memQuotaStore) PruneKindQuotas(_ context.Context, beforeDay string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prunedBefore = beforeDay
	for k := range s.turns {
		if k[0] < beforeDay {
			delete(s.turns, k)
		}
	}
	return nil
}

func (s *memQuotaStore) stored(day string, id int64, kind string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.turns[[3]string{day, idKey(id), kind}]
}

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// newQuotaPool is one gateway on st: two accounts, 2 images and 1 video a
// day.
func newQuotaPool(t *testing.T, st *memQuotaStore, clock *testClock) *Pool {
	t.Helper()
	src := listSource{{ID: 1, Name: "one", Enabled: true}, {ID: 2, Name: "two", Enabled: true}}
	cfg := DefaultConfig()
	p, err := New(t.Context(), cfg, Options{Source: src, Store: st, Bus: &events.Bus{}, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func quotaOf(p *Pool, id int64, m Media) KindQuota { return p.Quotas(id)[m] }

func TestKindQuotasSurviveRestart(t *testing.T) {
	st := newMemQuotaStore()
	clock := &testClock{t: time.Date(2026, 12, 7, 15, 0, 0, 0, time.Local)}
	day := clock.Now().Format(time.DateOnly)
	a := newQuotaPool(t, st, clock)
	a.mq.count(1, MediaImage, clock.Now())
	// A media count is in the store when count returns.
	if n := st.stored(day, 1, "image"); n != 1 {
		t.Fatalf("stored image count %d right after the turn, want 1", n)
	}
	a.mq.count(1, MediaImage, clock.Now())
	writes := st.writes
	for range 5 {
		a.mq.count(1, MediaText, clock.Now())
	}
	// Text turns never wait on the store.
	if st.writes != writes {
		t.Errorf("text turns wrote to the store on the request path (%d writes)", st.writes-writes)
	}
	if q := quotaOf(a, 1, MediaText); q.Used != 5 {
		t.Errorf("text used %d before the write, want 5", q.Used)
	}
	a.Close() // the restart: Close writes what is pending
	if n := st.stored(day, 1, "text"); n != 5 {
		t.Fatalf("stored text count %d after Close, want 5", n)
	}

	b := newQuotaPool(t, st, clock)
	if st.prunedBefore != "2026-11-06" {
		t.Errorf("pruned before %q at start, want a month back (2026-11-06)", st.prunedBefore)
	}
	if q := quotaOf(b, 1, MediaImage); q.Used != 2 || q.Limit != 2 || q.Available() {
		t.Errorf("image quota after the restart %+v, want 2/2 and unavailable", q)
	}
	if q := quotaOf(b, 1, MediaText); q.Used != 5 {
		t.Errorf("text used %d after the restart, want 5", q.Used)
	}
	blocked, _ := b.mediaBlocked(MediaImage)
	if blocked[1] == "" || blocked[2] != "" {
		t.Errorf("after the restart blocked %v, want account 1 only", blocked)
	}
}

func TestKindQuotasOneCountForTwoInstances(t *testing.T) {
	st := newMemQuotaStore()
	clock := &testClock{t: time.Date(2026, 12, 7, 15, 0, 0, 0, time.Local)}
	a, b := newQuotaPool(t, st, clock), newQuotaPool(t, st, clock)
	a.mq.count(2, MediaImage, clock.Now())
	b.mq.count(2, MediaImage, clock.Now())
	// Each instance served one image; both see two, and neither serves a third.
	for name, p := range map[string]*Pool{"A": a, "B": b} {
		blocked, free := p.mediaBlocked(MediaImage)
		if blocked[2] == "" || blocked[1] != "" {
			t.Errorf("%s: blocked %v, want account 2 only", name, blocked)
		}
		if want := time.Date(2026, 12, 8, 0, 0, 0, 0, time.Local); !free.Equal(want) {
			t.Errorf("%s: frees at %v, want local midnight %v", name, free, want)
		}
		if q := quotaOf(p, 2, MediaImage); q.Used != 2 {
			t.Errorf("%s: image used %d, want 2", name, q.Used)
		}
	}
	// A quota error on A cools videos of account 1 on B too, and only videos.
	qe := &upstream.Error{Kind: upstream.KindQuota, Status: "RESOURCE_EXHAUSTED"}
	if !a.kindQuotaFailure(1, MediaVideo, qe) {
		t.Fatal("a video quota error was not handled as one")
	}
	blocked, _ := b.mediaBlocked(MediaVideo)
	if blocked[1] != "video quota: RESOURCE_EXHAUSTED" {
		t.Errorf("B: video blocked %v, want account 1 cooling", blocked)
	}
	if q := quotaOf(b, 1, MediaVideo); q.CooldownRemaining != 4*time.Hour {
		t.Errorf("B: video cooldown %v, want the 4 h default", q.CooldownRemaining)
	}
	if blocked, _ := b.mediaBlocked(MediaImage); blocked[1] != "" {
		t.Errorf("a video cooldown blocked images: %v", blocked)
	}
}

func TestKindQuotasDayRollover(t *testing.T) {
	st := newMemQuotaStore()
	clock := &testClock{t: time.Date(2026, 12, 7, 23, 59, 0, 0, time.Local)}
	a := newQuotaPool(t, st, clock)
	a.mq.count(1, MediaVideo, clock.Now())
	a.kindQuotaFailure(1, MediaImage, &upstream.Error{Kind: upstream.KindQuota})
	if blocked, _ := a.mediaBlocked(MediaVideo); blocked[1] == "" {
		t.Fatal("the one video of the day did not block account 1")
	}
	clock.Set(time.Date(2026, 12, 8, 0, 1, 0, 0, time.Local))
	if blocked, _ := a.mediaBlocked(MediaVideo); blocked[1] != "" {
		t.Errorf("after midnight videos still blocked: %v", blocked)
	}
	if q := quotaOf(a, 1, MediaVideo); q.Used != 0 || !q.Available() {
		t.Errorf("video quota after midnight %+v", q)
	}
	// Cooldowns keep running across midnight.
	if blocked, _ := a.mediaBlocked(MediaImage); blocked[1] == "" {
		t.Error("the image cooldown ended at midnight")
	}
	// A restarted gateway on the new day starts from zero too, and the
	// old day's count stays where it was.
	b := newQuotaPool(t, st, clock)
	if q := quotaOf(b, 1, MediaVideo); q.Used != 0 {
		t.Errorf("new day after a restart: video used %d", q.Used)
	}
	b.mq.count(1, MediaVideo, clock.Now())
	if st.stored("2026-12-07", 1, "video") != 1 || st.stored("2026-12-08", 1, "video") != 1 {
		t.Errorf("stored per day: %v", st.turns)
	}
}

func TestKindQuotasStoreFailureKeepsCounting(t *testing.T) {
	st := newMemQuotaStore()
	clock := &testClock{t: time.Date(2026, 12, 7, 12, 0, 0, 0, time.Local)}
	a := newQuotaPool(t, st, clock)
	st.mu.Lock()
	st.fail = errors.New("database is down")
	st.mu.Unlock()
	a.mq.count(1, MediaImage, clock.Now())
	a.mq.count(1, MediaImage, clock.Now())
	// Unwritten counts still count here (the re-read must not drop them).
	if blocked, _ := a.mediaBlocked(MediaImage); blocked[1] == "" {
		t.Error("two images counted while the store failed did not block")
	}
	st.mu.Lock()
	st.fail = nil
	st.mu.Unlock()
	a.mq.flush()
	if n := st.stored(clock.Now().Format(time.DateOnly), 1, "image"); n != 2 {
		t.Errorf("stored %d once the store came back, want 2", n)
	}
	if q := quotaOf(a, 1, MediaImage); q.Used != 2 {
		t.Errorf("used %d after the late write, want 2 (not counted twice)", q.Used)
	}
}
