package usage

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestPercentileFromHistogram(t *testing.T) {
	var c Counts
	if c.Percentile(0.5) != 0 {
		t.Fatal("empty histogram has a percentile")
	}
	for range 90 {
		c.ObserveTTFT(250 * time.Millisecond) // (200, 300]
	}
	for range 10 {
		c.ObserveTTFT(4 * time.Second) // (3000, 5000]
	}
	if p := c.Percentile(0.5); p <= 200 || p > 300 {
		t.Errorf("p50 = %d", p)
	}
	if p := c.Percentile(0.95); p <= 3000 || p > 5000 {
		t.Errorf("p95 = %d", p)
	}
	// Histograms add: two instances' halves give the whole's percentiles.
	var a, b Counts
	for i := range 100 {
		d := 250 * time.Millisecond
		if i >= 90 {
			d = 4 * time.Second
		}
		if i%2 == 0 {
			a.ObserveTTFT(d)
		} else {
			b.ObserveTTFT(d)
		}
	}
	a.Add(b)
	if a.Percentile(0.5) != c.Percentile(0.5) || a.Percentile(0.95) != c.Percentile(0.95) {
		t.Errorf("merged %d/%d, whole %d/%d", a.Percentile(0.5), a.Percentile(0.95), c.Percentile(0.5), c.Percentile(0.95))
	}
	var slow Counts
	slow.ObserveTTFT(10 * time.Minute)
	if slow.Percentile(0.5) != TTFTBounds[len(TTFTBounds)-1] {
		t.Errorf("beyond the last bound: %d", slow.Percentile(0.5))
	}
}

func TestGroup(t *testing.T) {
	rows := []Row{
		{Key{"2026-12-01", "a", "x", "m1"}, Counts{Requests: 1}},
		{Key{"2026-12-01", "a", "y", "m2"}, Counts{Requests: 2}},
		{Key{"2026-12-01", "b", "x", "m1"}, Counts{Requests: 4}},
		{Key{"2026-12-02", "a", "x", "m1"}, Counts{Requests: 8}},
	}
	g := Group(rows, ByClient)
	if len(g) != 3 || g[0].Client != "a" || g[0].Requests != 3 || g[1].Client != "b" || g[2].Day != "2026-12-02" || g[0].Account != "" {
		t.Errorf("by client: %+v", g)
	}
	if g := Group(rows, ByModel); len(g) != 3 || g[0].Model != "m1" || g[0].Requests != 5 {
		t.Errorf("by model: %+v", g)
	}
	if g := Group(rows, ""); len(g) != 2 || g[0].Requests != 7 {
		t.Errorf("by day: %+v", g)
	}
}

type failingStore struct {
	fail  bool
	added []map[Key]Counts
}

func (f *failingStore) AddUsageDays(_ context.Context, b map[Key]Counts) error {
	if f.fail {
		return errors.New("database down")
	}
	f.added = append(f.added, b)
	return nil
}
func (f *failingStore) UsageDays(context.Context, string, string) ([]Row, error) { return nil, nil }

// A failed flush keeps the tallies for the next one: nothing is lost.
func TestRecorderKeepsTalliesOnFailure(t *testing.T) {
	st := &failingStore{fail: true}
	r := &Recorder{Store: st, Now: func() time.Time { return time.Date(2026, 12, 7, 9, 0, 0, 0, time.Local) }}
	r.Record("a", "x", "m", Counts{Requests: 1})
	if err := r.Flush(context.Background()); err == nil {
		t.Fatal("no error")
	}
	r.Record("a", "x", "m", Counts{Requests: 1, Errors: 1})
	st.fail = false
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	k := Key{"2026-12-07", "a", "x", "m"}
	if len(st.added) != 1 || st.added[0][k].Requests != 2 || st.added[0][k].Errors != 1 {
		t.Fatalf("added %+v", st.added)
	}
}
