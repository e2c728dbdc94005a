package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/app/internal/pgtest"
	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
)

// Two instances on one PostgreSQL: a client key made on one works on the
// other, and the usage both record adds up in the admin API of either.
func TestUsageAddsUpAcrossInstancesOnPostgres(t *testing.T) {
	u, _ := pgtest.Schema(t)
	fake := fakeupstream.Start(fakeupstream.Options{})
	defer fake.Close()
	d := fakeupstream.DemoAccount(41)
	fake.AddAccount(d)
	vars := map[string]string{"DATABASE_URL": u, "GATEWAY_SECRET_KEY": "shared pool key for usage test"}
	a := startApp(t, fake, vars)
	b := startApp(t, fake, vars)
	addAccount(t, a, "shared", d)
	ctx := context.Background()
	if err := b.Pool.ReloadAll(ctx); err != nil {
		t.Fatal(err)
	}
	code, out := a.call(t, "POST", "/api/admin/keys", `{"name":"Open WebUI"}`)
	if code != 201 {
		t.Fatalf("create key: %d %s", code, out)
	}
	var k struct{ Key string }
	json.Unmarshal([]byte(out), &k)
	if err := b.Server.ReloadClientKeys(ctx); err != nil { // the 10 s refresh, now
		t.Fatal(err)
	}
	chat := func(x *testApp, n int) {
		for range n {
			req, _ := http.NewRequest("POST", x.base+"/v1/chat/completions", strings.NewReader(fmt.Sprintf(chatBody, false, "usage")))
			req.Header.Set("Authorization", "Bearer "+k.Key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("chat on %s: %d", x.base, resp.StatusCode)
			}
		}
	}
	chat(a, 3)
	chat(b, 2)
	sum := func(x *testApp) (req, tok int64) {
		_, out := x.call(t, "GET", "/api/admin/usage?group_by=client", "")
		var res struct {
			Rows []struct {
				Client           string `json:"client"`
				Requests         int64  `json:"requests"`
				PromptTokens     int64  `json:"prompt_tokens"`
				CompletionTokens int64  `json:"completion_tokens"`
			} `json:"rows"`
		}
		json.Unmarshal([]byte(out), &res)
		for _, r := range res.Rows {
			if r.Client == "Open WebUI" {
				req += r.Requests
				tok += r.PromptTokens + r.CompletionTokens
			}
		}
		return
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		// Each instance writes its tallies every 5 s (and when asked).
		b.Usage.Flush(ctx)
		ra, ta := sum(a)
		rb, tb := sum(b)
		if ra == 5 && rb == 5 && ta == tb && ta > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("usage: A sees %d requests (%d tokens), B sees %d (%d), want 5 on both", ra, ta, rb, tb)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
