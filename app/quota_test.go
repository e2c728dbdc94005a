package app

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/app/internal/pgtest"
	"github.com/gemgate/gemini-gateway/gateway"
	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
)

// imageQuota is account name's image quota in x's /api/admin/health-status.
func imageQuota(t *testing.T, x *testApp, name string) gateway.QuotaJSON {
	t.Helper()
	code, out := x.call(t, "GET", "/api/admin/health-status", "")
	var hs struct {
		Accounts []struct {
			Name   string
			Quotas []gateway.QuotaJSON
		}
	}
	if err := json.Unmarshal([]byte(out), &hs); code != 200 || err != nil {
		t.Fatalf("health-status: %d %v %s", code, err, out)
	}
	for _, a := range hs.Accounts {
		for _, q := range a.Quotas {
			if a.Name == name && q.Kind == "image" {
				return q
			}
		}
	}
	t.Fatalf("no image quota for %q in %s", name, out)
	return gateway.QuotaJSON{}
}

// drawImage asks x for one image and returns the status and body.
func drawImage(t *testing.T, x *testApp) (int, string) {
	t.Helper()
	return x.call(t, "POST", "/v1/images/generations", `{"model":"gemini-imagen","prompt":"a paper boat","response_format":"b64_json"}`)
}

// quotaVars: two images a day per account, sealed secrets (no keychain).
func quotaVars(extra map[string]string) map[string]string {
	v := map[string]string{"IMAGE_DAILY_LIMIT": "2", "GATEWAY_SECRET_KEY": "quota test sealing key, long enough"}
	for k, x := range extra {
		v[k] = x
	}
	return v
}

// refusedByGateway checks that an image request was refused by the
// gateway's own count, before the upstream was asked.
func refusedByGateway(t *testing.T, x *testApp, fake *fakeupstream.Server, d fakeupstream.Account, who string) {
	t.Helper()
	before, _ := fake.MediaUsed(d.CSESIDX)
	sessions := len(fake.Sessions(d.CSESIDX))
	code, out := drawImage(t, x)
	out = out[:min(len(out), 300)]
	if code != 429 || !strings.Contains(out, "image quota") {
		t.Errorf("%s: third image of the day: %d %s; want 429 from the gateway's own count", who, code, out)
	}
	if after, _ := fake.MediaUsed(d.CSESIDX); after != before || len(fake.Sessions(d.CSESIDX)) != sessions {
		t.Errorf("%s: the upstream was asked for an image past the daily limit", who)
	}
}

// Image counts are in the database: a restarted app (SQLite) remembers
// that today's images are spent and does not ask the upstream again.
func TestKindQuotasSurviveRestartOnSQLite(t *testing.T) {
	fake := fakeupstream.Start(fakeupstream.Options{})
	defer fake.Close()
	d := fakeupstream.DemoAccount(43)
	fake.AddAccount(d)
	data := t.TempDir()
	a := startAppIn(t, data, fake, quotaVars(nil))
	addAccount(t, a, "drawer", d)
	for i := range 2 {
		if code, out := drawImage(t, a); code != 200 {
			t.Fatalf("image %d: %d %s", i+1, code, out)
		}
	}
	if q := imageQuota(t, a, "drawer"); q.UsedToday != 2 || q.Available {
		t.Fatalf("before the restart: %+v", q)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	b := startAppIn(t, data, fake, quotaVars(nil))
	if q := imageQuota(t, b, "drawer"); q.UsedToday != 2 || q.DailyLimit != 2 || q.Available {
		t.Errorf("after the restart: %+v, want 2 of 2 used", q)
	}
	refusedByGateway(t, b, fake, d, "restarted app")
}

// Two instances on one PostgreSQL share one count: each draws one image,
// both then see two and refuse a third, and so does a restarted instance.
func TestKindQuotasSharedOnPostgres(t *testing.T) {
	u, _ := pgtest.Schema(t)
	fake := fakeupstream.Start(fakeupstream.Options{})
	defer fake.Close()
	d := fakeupstream.DemoAccount(44)
	fake.AddAccount(d)
	vars := quotaVars(map[string]string{"DATABASE_URL": u})
	a := startApp(t, fake, vars)
	b := startApp(t, fake, vars)
	addAccount(t, a, "shared", d)
	ctx := context.Background()
	if err := b.Pool.ReloadAll(ctx); err != nil {
		t.Fatal(err)
	}
	for _, x := range []*testApp{a, b} {
		if code, out := drawImage(t, x); code != 200 {
			t.Fatalf("image on %s: %d %s", x.base, code, out)
		}
	}
	// B's view of A's image: B re-read the count before its own turn.
	if q := imageQuota(t, b, "shared"); q.UsedToday != 2 || q.Available {
		t.Errorf("B sees %+v, want 2 of 2 used", q)
	}
	refusedByGateway(t, a, fake, d, "A")
	refusedByGateway(t, b, fake, d, "B")
	if q := imageQuota(t, a, "shared"); q.UsedToday != 2 {
		t.Errorf("A sees %d images, want 2", q.UsedToday)
	}

	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := a.Close(cctx); err != nil {
		t.Fatal(err)
	}
	c := startApp(t, fake, vars)
	if q := imageQuota(t, c, "shared"); q.UsedToday != 2 || q.Available {
		t.Errorf("a restarted instance sees %+v, want 2 of 2 used", q)
	}
	refusedByGateway(t, c, fake, d, "restarted instance")
}
