package pool

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
)

// listSource serves a fixed list of accounts.
type listSource []accounts.Account

func (l listSource) List(context.Context) ([]accounts.Account, error) { return l, nil }

func (l listSource) Get(_ context.Context, id int64) (accounts.Account, error) {
	for _, a := range l {
		if a.ID == id {
			return a, nil
		}
	}
	return accounts.Account{}, accounts.ErrNotFound
}

func (l listSource) Secrets(context.Context, accounts.Account) (accounts.Secrets, error) {
	return accounts.Secrets{}, nil
}

// BenchmarkPick1000Accounts is account selection with 1,000 accounts, a
// tenth of them cooling down or expired, for both strategies.
func BenchmarkPick1000Accounts(b *testing.B) {
	now := time.Now()
	var list listSource
	for i := range 1000 {
		a := accounts.Account{ID: int64(i + 1), Name: fmt.Sprintf("acct-%d", i+1), Enabled: true,
			Status: accounts.StatusHealthy, LastUsedAt: now.Add(-time.Duration(i) * time.Second)}
		switch i % 20 {
		case 7:
			a.CooldownUntil = now.Add(time.Hour)
		case 13:
			a.Status = accounts.StatusExpired
		}
		list = append(list, a)
	}
	for _, strategy := range []string{StrategyFailover, StrategyRoundRobin} {
		b.Run(strategy, func(b *testing.B) {
			p, err := New(context.Background(), Config{Strategy: strategy}, Options{Source: list})
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			b.ReportAllocs()
			for b.Loop() {
				id, err := p.pick(-1, nil, nil)
				if err != nil {
					b.Fatal(err)
				}
				p.release(id)
			}
		})
	}
}
