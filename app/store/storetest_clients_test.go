package store

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/clients"
	"github.com/gemgate/gemini-gateway/gateway/usage"
)

func testClientKeys(t *testing.T, e engine) {
	s := freshStore(t, e)
	ctx := t.Context()
	if list, err := s.ListClientKeys(ctx); err != nil || len(list) != 0 {
		t.Fatalf("empty store: %v %v", list, err)
	}
	_, hash, hint := clients.Generate()
	k, err := s.CreateClientKey(ctx, clients.Key{Name: "Open WebUI", Hash: hash, Hint: hint, RequestsPerMinute: 60, Models: []string{"gemini-2.5-pro", "gemini-auto"}})
	if err != nil {
		t.Fatal(err)
	}
	if k.ID == 0 || k.Name != "Open WebUI" || !bytes.Equal(k.Hash, hash) || k.RequestsPerMinute != 60 ||
		len(k.Models) != 2 || k.Models[1] != "gemini-auto" || time.Since(k.CreatedAt) > time.Minute {
		t.Fatalf("created %+v", k)
	}
	// Names are unique among live keys, case-insensitively.
	_, h2, _ := clients.Generate()
	if _, err := s.CreateClientKey(ctx, clients.Key{Name: "open webui", Hash: h2}); !errors.Is(err, clients.ErrDuplicate) {
		t.Fatalf("duplicate name: %v", err)
	}
	// Rotation replaces the hash, keeps the rest.
	_, h3, hint3 := clients.Generate()
	r, err := s.RotateClientKey(ctx, k.ID, h3, hint3)
	if err != nil || !bytes.Equal(r.Hash, h3) || r.Hint != hint3 || r.Name != k.Name || r.RequestsPerMinute != 60 || r.RotatedAt.IsZero() {
		t.Fatalf("rotate: %+v %v", r, err)
	}
	list, err := s.ListClientKeys(ctx)
	if err != nil || len(list) != 1 || !bytes.Equal(list[0].Hash, h3) {
		t.Fatalf("list after rotate: %+v %v", list, err)
	}
	// Revoked keys leave the list; their name is free again.
	if err := s.RevokeClientKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeClientKey(ctx, k.ID); !errors.Is(err, clients.ErrNotFound) {
		t.Fatalf("second revoke: %v", err)
	}
	if _, err := s.RotateClientKey(ctx, k.ID, h2, "x"); !errors.Is(err, clients.ErrNotFound) {
		t.Fatalf("rotate a revoked key: %v", err)
	}
	if list, _ := s.ListClientKeys(ctx); len(list) != 0 {
		t.Fatalf("revoked key still listed: %+v", list)
	}
	if _, err := s.CreateClientKey(ctx, clients.Key{Name: "Open WebUI", Hash: h2}); err != nil {
		t.Fatalf("reuse a revoked name: %v", err)
	}
}

// Two Stores on one database (two instances of a shared pool) add their
// usage concurrently: every sum, the histogram included, adds up.
func testUsageDays(t *testing.T, e engine) {
	open := e.newDB(t)
	stores := []*Store{openStore(t, open), openStore(t, open)}
	ctx := t.Context()
	const workers, each = 6, 20
	one := usage.Counts{Requests: 1, PromptTokens: 10, CompletionTokens: 3, ImagesIn: 1}
	one.ObserveTTFT(250 * time.Millisecond)
	bad := usage.Counts{Requests: 1, Errors: 1}
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			for range each {
				batch := map[usage.Key]usage.Counts{
					{Day: "2026-12-01", Client: "Open WebUI", Account: "work", Model: "gemini-2.5-pro"}: one,
					{Day: "2026-12-01", Client: "VS Code", Account: "work", Model: "gemini-auto"}:       bad,
				}
				if err := stores[i%2].AddUsageDays(ctx, batch); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := stores[1].AddUsageDays(ctx, map[usage.Key]usage.Counts{{Day: "2026-12-03", Client: "", Account: "home", Model: "gemini-auto"}: one}); err != nil {
		t.Fatal(err)
	}
	rows, err := stores[0].UsageDays(ctx, "2026-12-01", "2026-12-02")
	if err != nil || len(rows) != 2 {
		t.Fatalf("rows %+v %v", rows, err)
	}
	n := int64(workers * each)
	w := rows[0]
	if w.Client != "Open WebUI" || w.Requests != n || w.PromptTokens != 10*n || w.CompletionTokens != 3*n || w.ImagesIn != n ||
		w.TTFT[usage.BucketOf(250)] != n || w.Errors != 0 {
		t.Errorf("Open WebUI row %+v", w)
	}
	if v := rows[1]; v.Client != "VS Code" || v.Requests != n || v.Errors != n {
		t.Errorf("VS Code row %+v", v)
	}
	if rows, _ := stores[1].UsageDays(ctx, "2026-12-03", "2026-12-03"); len(rows) != 1 || rows[0].Account != "home" || rows[0].Requests != 1 {
		t.Errorf("2026-12-03: %+v", rows)
	}
}
