package gateway_test

import (
	"context"
	"net/http"
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

// benchDeltas is the answer length of every in-process stream benchmark.
const benchDeltas = 50

// benchStreamClient starts, in this process, a fake upstream answering
// benchDeltas deltas of "hello " and a gateway on a random loopback port
// with one account (SQLite store, in-memory keychain) and a client key,
// and returns an SSE client that posts body to its /v1/chat/completions
// with that key. Everything stops when b ends.
func benchStreamClient(b *testing.B, body string) *bench.SSE {
	b.Helper()
	fake := fakeupstream.Start(fakeupstream.Options{Seed: 1, DefaultScenario: fakeupstream.ScenarioBench,
		BenchDeltas: benchDeltas, PlainSeparators: true, MaxRecordedRequests: -1})
	b.Cleanup(fake.Close)
	a := fakeupstream.DemoAccount(1)
	fake.AddAccount(a)
	up, err := upstream.New(upstream.Config{BusinessURL: fake.BusinessURL(), AuthURL: fake.AuthURL(), APIURL: fake.APIURL()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(up.CloseIdleConnections)
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, b.TempDir()+"/gateway.db")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	mgr := &accounts.Manager{Store: st, Backends: map[string]accounts.SecretStore{accounts.BackendKeychain: keystoretest.NewMemory()}, Default: accounts.BackendKeychain}
	if _, err := mgr.Create(ctx, accounts.Input{Name: "bench", SecureCSES: a.SecureCSES, HostCOSES: a.HostCOSES, CSESIDX: a.CSESIDX, ConfigID: a.ConfigID}); err != nil {
		b.Fatal(err)
	}
	p, err := pool.New(ctx, pool.DefaultConfig(), pool.Options{Upstream: up, Source: mgr, Store: st})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.Close)
	const key = "sk-bench-client-key"
	cfg := gateway.DefaultConfig()
	cfg.Port = 0
	cfg.APIKey = key
	srv := gateway.New(cfg, gateway.Deps{Pool: p, Accounts: mgr, Upstream: up})
	if err := srv.Listen(); err != nil {
		b.Fatal(err)
	}
	go srv.Serve()
	b.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	})
	return &bench.SSE{HTTP: &http.Client{}, URL: "http://" + srv.Addr() + "/v1/chat/completions", APIKey: key, Body: []byte(body)}
}

// BenchmarkGatewayStream is one streamed chat completion of 50 deltas
// end to end on loopback — SSE client, gateway, fake upstream, all in this
// process — per stream; ns/delta divides by the deltas. Allocations count
// all three parties. cmd/gwbench measures the gateway alone, in its own
// process, against a direct client.
func BenchmarkGatewayStream(b *testing.B) {
	c := benchStreamClient(b, `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		r := c.Stream(ctx, false)
		if r.Err != nil || r.Deltas != benchDeltas {
			b.Fatalf("%d deltas, %v", r.Deltas, r.Err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchDeltas), "ns/delta")
}
