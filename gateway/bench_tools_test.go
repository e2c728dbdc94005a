package gateway_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/app/store"
	"github.com/gemgate/gemini-gateway/gateway"
	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/gateway/bench"
	"github.com/gemgate/gemini-gateway/gateway/pool"
	"github.com/gemgate/gemini-gateway/gateway/upstream"
	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
	"github.com/gemgate/gemini-gateway/internal/keystoretest"
)

// BenchmarkGatewayStreamTools compares a plain-text streamed answer of 50
// deltas with and without tools declared (the tool parser in the path):
// ns/delta and the time to first token at p50 (ttft-p50-us).
func BenchmarkGatewayStreamTools(b *testing.B) {
	for _, tc := range []struct{ name, body string }{
		{"no-tools", `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"hi"}]}`},
		{"tools", `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"write","parameters":{"type":"object","properties":{"filePath":{"type":"string"},"content":{"type":"string"}},"required":["filePath","content"]}}},{"type":"function","function":{"name":"bash","parameters":{"type":"object","properties":{"command":{"type":"string"}}}}}]}`},
	} {
		b.Run(tc.name, func(b *testing.B) { benchStreamBody(b, tc.body) })
	}
}

func benchStreamBody(b *testing.B, body string) {
	const deltas = 50
	fake := fakeupstream.Start(fakeupstream.Options{Seed: 1, DefaultScenario: fakeupstream.ScenarioBench,
		BenchDeltas: deltas, PlainSeparators: true, MaxRecordedRequests: -1})
	defer fake.Close()
	a := fakeupstream.DemoAccount(1)
	fake.AddAccount(a)
	up, err := upstream.New(upstream.Config{BusinessURL: fake.BusinessURL(), AuthURL: fake.AuthURL(), APIURL: fake.APIURL()})
	if err != nil {
		b.Fatal(err)
	}
	defer up.CloseIdleConnections()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, b.TempDir()+"/gateway.db")
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	mgr := &accounts.Manager{Store: st, Backends: map[string]accounts.SecretStore{accounts.BackendKeychain: keystoretest.NewMemory()}, Default: accounts.BackendKeychain}
	if _, err := mgr.Create(ctx, accounts.Input{Name: "bench", SecureCSES: a.SecureCSES, HostCOSES: a.HostCOSES, CSESIDX: a.CSESIDX, ConfigID: a.ConfigID}); err != nil {
		b.Fatal(err)
	}
	p, err := pool.New(ctx, pool.DefaultConfig(), pool.Options{Upstream: up, Source: mgr, Store: st})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	cfg := gateway.DefaultConfig()
	cfg.Port = 0
	srv := gateway.New(cfg, gateway.Deps{Pool: p, Accounts: mgr, Upstream: up})
	if err := srv.Listen(); err != nil {
		b.Fatal(err)
	}
	go srv.Serve()
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	c := &bench.SSE{HTTP: &http.Client{}, URL: "http://" + srv.Addr() + "/v1/chat/completions", Body: []byte(body)}
	var ttft []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		r := c.Stream(ctx, false)
		if r.Err != nil || r.Deltas != deltas {
			b.Fatalf("%d deltas, %v", r.Deltas, r.Err)
		}
		ttft = append(ttft, r.TTFT)
	}
	slices.Sort(ttft)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*deltas), "ns/delta")
	b.ReportMetric(float64(ttft[len(ttft)/2].Microseconds()), "ttft-p50-us")
}
