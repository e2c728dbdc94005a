// Package usage counts what clients did, per day, client key, account and
// model: requests, errors, estimated tokens, media and the time to first
// token as a histogram. The gateway records each chat request into a
// Recorder, which adds its tallies to a Store (app/store) every few
// seconds; the store adds them up in SQL, so gateways sharing one
// PostgreSQL database add up too. Histograms with fixed bucket bounds add
// like counters, which is what keeps the percentiles right across
// instances.
package usage

import (
	"context"
	"sort"
	"sync"
	"time"
)

// TTFTBounds are the upper bounds, in milliseconds, of the time-to-first-
// token buckets; one more bucket holds everything above the last. The
// database has one column per bucket (migration 0004), so these never
// change; a change is a new migration.
var TTFTBounds = [...]int64{100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 8000, 13000, 20000, 30000, 60000}

// Buckets is the number of histogram buckets.
const Buckets = len(TTFTBounds) + 1

// Key is what usage is counted by.
type Key struct {
	Day     string // YYYY-MM-DD, the gateway's local date
	Client  string // client key name; "" without a key
	Account string // account name; "" when no account served it
	Model   string // model served (else requested)
}

// Counts are the sums for one key.
type Counts struct {
	Requests         int64
	Errors           int64
	PromptTokens     int64
	CompletionTokens int64
	ImagesIn         int64
	FilesOut         int64
	TTFT             [Buckets]int64
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Requests += o.Requests
	c.Errors += o.Errors
	c.PromptTokens += o.PromptTokens
	c.CompletionTokens += o.CompletionTokens
	c.ImagesIn += o.ImagesIn
	c.FilesOut += o.FilesOut
	for i := range c.TTFT {
		c.TTFT[i] += o.TTFT[i]
	}
}

// ObserveTTFT adds one time to first token to the histogram.
func (c *Counts) ObserveTTFT(d time.Duration) {
	c.TTFT[BucketOf(d.Milliseconds())]++
}

// BucketOf is the histogram bucket of ms milliseconds.
func BucketOf(ms int64) int {
	return sort.Search(len(TTFTBounds), func(i int) bool { return ms <= TTFTBounds[i] })
}

// Percentile estimates the p-th percentile (0 < p ≤ 1) of the time to
// first token in milliseconds, interpolating inside its bucket; 0 when
// nothing was observed. Values above the last bound report that bound.
func (c Counts) Percentile(p float64) int64 {
	var total int64
	for _, n := range c.TTFT {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := p * float64(total)
	var seen float64
	for i, n := range c.TTFT {
		if n == 0 {
			continue
		}
		if seen+float64(n) >= rank {
			if i == len(TTFTBounds) {
				return TTFTBounds[len(TTFTBounds)-1]
			}
			lo := int64(0)
			if i > 0 {
				lo = TTFTBounds[i-1]
			}
			hi := TTFTBounds[i]
			frac := (rank - seen) / float64(n)
			return lo + int64(frac*float64(hi-lo)+0.5)
		}
		seen += float64(n)
	}
	return TTFTBounds[len(TTFTBounds)-1]
}

// Row is one key's sums.
type Row struct {
	Key
	Counts
}

// Store keeps the sums (implemented by app/store).
type Store interface {
	// AddUsageDays adds each key's counts to what is stored, in SQL.
	AddUsageDays(ctx context.Context, batch map[Key]Counts) error
	// UsageDays returns the rows of the days from..to (YYYY-MM-DD, inclusive).
	UsageDays(ctx context.Context, from, to string) ([]Row, error)
}

// Grouping of rows.
const (
	ByClient  = "client"
	ByAccount = "account"
	ByModel   = "model"
)

// Group sums rows per day and one dimension (ByClient, ByAccount or
// ByModel), the others left empty; rows come back by day, then name.
func Group(rows []Row, by string) []Row {
	m := map[Key]*Counts{}
	var keys []Key
	for _, r := range rows {
		k := Key{Day: r.Day}
		switch by {
		case ByClient:
			k.Client = r.Client
		case ByAccount:
			k.Account = r.Account
		case ByModel:
			k.Model = r.Model
		}
		c := m[k]
		if c == nil {
			c = &Counts{}
			m[k] = c
			keys = append(keys, k)
		}
		c.Add(r.Counts)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.Day != b.Day {
			return a.Day < b.Day
		}
		return a.Client+"\x00"+a.Account+"\x00"+a.Model < b.Client+"\x00"+b.Account+"\x00"+b.Model
	})
	out := make([]Row, len(keys))
	for i, k := range keys {
		out[i] = Row{Key: k, Counts: *m[k]}
	}
	return out
}

// Recorder gathers usage in memory and adds it to the store in batches.
type Recorder struct {
	Store Store
	Now   func() time.Time // default time.Now

	mu      sync.Mutex
	pending map[Key]Counts
}

// Record counts one request.
func (r *Recorder) Record(client, account, model string, c Counts) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	k := Key{Day: now().Format(time.DateOnly), Client: client, Account: account, Model: model}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending == nil {
		r.pending = map[Key]Counts{}
	}
	cur := r.pending[k]
	cur.Add(c)
	r.pending[k] = cur
}

// Flush adds what was recorded to the store; on failure it is kept for
// the next flush.
func (r *Recorder) Flush(ctx context.Context) error {
	r.mu.Lock()
	batch := r.pending
	r.pending = nil
	r.mu.Unlock()
	if len(batch) == 0 || r.Store == nil {
		return nil
	}
	if err := r.Store.AddUsageDays(ctx, batch); err != nil {
		r.mu.Lock()
		if r.pending == nil {
			r.pending = map[Key]Counts{}
		}
		for k, c := range batch {
			cur := r.pending[k]
			cur.Add(c)
			r.pending[k] = cur
		}
		r.mu.Unlock()
		return err
	}
	return nil
}

// Run flushes every interval until ctx ends, then once more.
func (r *Recorder) Run(ctx context.Context, every time.Duration, onErr func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := r.Flush(fctx); err != nil && onErr != nil {
				onErr(err)
			}
			cancel()
			return
		case <-t.C:
			if err := r.Flush(ctx); err != nil && onErr != nil && ctx.Err() == nil {
				onErr(err)
			}
		}
	}
}
