package store

import (
	"sync"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
)

// testKindQuotas: per-kind counts add up across two Stores on one
// database (as two processes would), are kept per day, survive a reopen,
// and cooldowns round-trip with the latest write winning.
func testKindQuotas(t *testing.T, e engine) {
	open := e.newDB(t)
	stores := []*Store{openStore(t, open), openStore(t, open)}
	ctx := t.Context()
	const day, next = "2026-12-07", "2026-12-08"
	if got, err := stores[0].KindTurns(ctx, day); err != nil || len(got) != 0 {
		t.Fatalf("a day without turns = %+v, %v", got, err)
	}
	const workers, each = 8, 20
	var wg sync.WaitGroup
	seen := make([]map[int64]bool, workers)
	for i := range workers {
		seen[i] = map[int64]bool{}
		wg.Go(func() {
			for range each {
				n, err := stores[i%2].AddKindTurns(ctx, day, 7, "image", 1)
				if err != nil {
					t.Error(err)
					return
				}
				seen[i][n] = true
			}
		})
	}
	wg.Wait()
	// Every increment returned a distinct total: none was lost or shared.
	all := map[int64]bool{}
	for _, s := range seen {
		for n := range s {
			if all[n] {
				t.Fatalf("two increments both returned %d", n)
			}
			all[n] = true
		}
	}
	if len(all) != workers*each {
		t.Errorf("%d distinct totals, want %d", len(all), workers*each)
	}
	if _, err := stores[1].AddKindTurns(ctx, day, 7, "text", 3); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[1].AddKindTurns(ctx, day, accounts.EnvAccountID, "video", 1); err != nil {
		t.Fatalf("the environment account (id 0) cannot be counted: %v", err)
	}
	if n, err := stores[0].AddKindTurns(ctx, next, 7, "image", 1); err != nil || n != 1 {
		t.Errorf("the next day starts at %d, %v; want 1", n, err)
	}
	want := []accounts.KindTurns{
		{AccountID: 0, Kind: "video", Turns: 1},
		{AccountID: 7, Kind: "image", Turns: workers * each},
		{AccountID: 7, Kind: "text", Turns: 3},
	}
	got, err := stores[0].KindTurns(ctx, day)
	if err != nil || len(got) != len(want) {
		t.Fatalf("KindTurns(%s) = %+v, %v; want %+v", day, got, err, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("KindTurns(%s)[%d] = %+v, want %+v", day, i, got[i], want[i])
		}
	}
	if _, err := stores[0].AddKindTurns(ctx, day, 7, "image", -1); err == nil {
		t.Error("a negative count was accepted")
	}
	if _, err := stores[0].AddKindTurns(ctx, day, 7, "audio", 1); err == nil {
		t.Error("an unknown kind was accepted")
	}

	now := time.Now().Truncate(time.Millisecond)
	if err := stores[0].SetKindCooldown(ctx, 7, "image", now.Add(time.Hour), "image quota: RESOURCE_EXHAUSTED"); err != nil {
		t.Fatal(err)
	}
	if err := stores[1].SetKindCooldown(ctx, 8, "video", now.Add(-time.Minute), "over"); err != nil {
		t.Fatal(err)
	}
	// The latest write wins, even when it ends sooner.
	if err := stores[1].SetKindCooldown(ctx, 7, "image", now.Add(30*time.Minute), "image quota"); err != nil {
		t.Fatal(err)
	}
	if err := stores[1].SetKindCooldown(ctx, 7, "image", time.Time{}, ""); err == nil {
		t.Error("a cooldown without an end was accepted")
	}
	cds, err := stores[0].KindCooldowns(ctx, now)
	if err != nil || len(cds) != 1 {
		t.Fatalf("KindCooldowns = %+v, %v; want the one still running", cds, err)
	}
	if c := cds[0]; c.AccountID != 7 || c.Kind != "image" || !c.Until.Equal(now.Add(30*time.Minute)) || c.Reason != "image quota" {
		t.Errorf("cooldown %+v", c)
	}

	// A reopened store (a restart) reads the same.
	s := openStore(t, open)
	if got, err := s.KindTurns(ctx, day); err != nil || len(got) != 3 || got[1].Turns != workers*each {
		t.Errorf("after reopening: %+v, %v", got, err)
	}
	if cds, err := s.KindCooldowns(ctx, now); err != nil || len(cds) != 1 {
		t.Errorf("cooldowns after reopening: %+v, %v", cds, err)
	}

	// Pruning drops the days before the one given and the cooldowns over.
	if err := s.PruneKindQuotas(ctx, next, now); err != nil {
		t.Fatal(err)
	}
	if got, err := s.KindTurns(ctx, day); err != nil || len(got) != 0 {
		t.Errorf("%s after pruning: %+v, %v", day, got, err)
	}
	if got, err := s.KindTurns(ctx, next); err != nil || len(got) != 1 {
		t.Errorf("%s after pruning: %+v, %v; want kept", next, got, err)
	}
	var rows int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM kind_cooldowns`).Scan(&rows); err != nil || rows != 1 {
		t.Errorf("cooldown rows after pruning: %d, %v; want the running one only", rows, err)
	}
}
