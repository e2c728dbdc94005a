package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	openai "github.com/openai/openai-go/v3"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/gateway/events"
	"github.com/gemgate/gemini-gateway/gateway/pool"
	"github.com/gemgate/gemini-gateway/gateway/upstream"
	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
)

// testClock is the one clock of the fake upstream and the client in
// lifecycle tests: hours pass in a call.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// lifecycleHarness is a gateway whose fake upstream lets sign-ins last 12 h
// and cookies go stale after an hour, on a clock the test moves.
func lifecycleHarness(t *testing.T, n int, fake func(*fakeupstream.Options)) (*harness, *testClock) {
	clk := &testClock{t: time.Now().Truncate(time.Second)}
	o := fakeupstream.Options{Now: clk.Now, SignInLifetime: 12 * time.Hour, CookieStaleAfter: time.Hour}
	if fake != nil {
		fake(&o)
	}
	h := newHarness(t, harnessOpts{accounts: n, fake: o, up: func(c *upstreamConfig) { c.Now = clk.Now }})
	return h, clk
}

type lifecycleJSON struct {
	ID            int64      `json:"id"`
	Name          string     `json:"name"`
	State         string     `json:"state"`
	IsActive      bool       `json:"is_active"`
	RequestCount  int64      `json:"request_count"`
	ExpiresAt     *time.Time `json:"expires_at"`
	LastSignInAt  *time.Time `json:"last_sign_in_at"`
	LastRefreshAt *time.Time `json:"last_refresh_at"`
}

func (h *harness) adminAccount(id int64) lifecycleJSON {
	h.t.Helper()
	resp := h.do("GET", "/api/admin/accounts", "", nil)
	var list struct{ Accounts []lifecycleJSON }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		h.t.Fatal(err)
	}
	for _, a := range list.Accounts {
		if a.ID == id {
			return a
		}
	}
	h.t.Fatalf("account %d not in the admin list", id)
	return lifecycleJSON{}
}

type refreshJSON struct {
	Result    string     `json:"result"`
	ExpiresAt *time.Time `json:"expires_at"`
}

func (h *harness) refresh(id int64) (int, refreshJSON, string) {
	h.t.Helper()
	resp := h.do("POST", fmt.Sprintf("/api/admin/accounts/%d/refresh", id), "", nil)
	b, _ := io.ReadAll(resp.Body)
	var r refreshJSON
	json.Unmarshal(b, &r)
	return resp.StatusCode, r, string(b)
}

// A conversation whose cookies go stale between turns, and a stream in
// flight while they rotate: both keep working, the rotated cookies are
// stored through the journal, the upstream session survives, and the fake
// no longer accepts the old cookies.
func TestChatSpansCookieRotation(t *testing.T) {
	h, clk := lifecycleHarness(t, 1, func(o *fakeupstream.Options) { o.ElementDelay = 20 * time.Millisecond })
	ctx := context.Background()
	orig := h.accts[0]
	before := h.account(0)

	q1 := "first [scenario:echo]"
	a1 := askHistory(t, h, openai.UserMessage(q1))

	// A stream is running when the cookies go stale and rotate.
	done := make(chan streamed, 1)
	go func() { done <- streamChat(t, h.client(), userParams("gemini-auto", "a long one")) }()
	waitFor(t, "the stream to start", func() bool { return h.fake.ActiveStreams() == 1 })
	clk.Add(61 * time.Minute)
	code, r, body := h.refresh(h.ids[0])
	if code != 200 || r.Result != "refreshed" || r.ExpiresAt == nil || !r.ExpiresAt.Equal(clk.Now().Add(11*time.Hour-time.Minute)) {
		t.Fatalf("refresh mid-stream: %d %s", code, body)
	}
	if got := <-done; got.err != nil || got.content != fakeupstream.NormalAnswer {
		t.Fatalf("stream across the rotation: %q, %v", got.content, got.err)
	}

	// The next turn continues the same upstream session with the new cookies.
	clk.Add(61 * time.Minute) // and they go stale once more: the request path refreshes by itself
	askHistory(t, h, openai.UserMessage(q1), openai.AssistantMessage(a1), openai.UserMessage("second [scenario:echo]"))
	fa, _ := h.fake.Account(orig.CSESIDX)
	if _, rot := h.fake.Lifecycle(orig.ConfigID); rot != 2 {
		t.Fatalf("%d rotations, want 2", rot)
	}
	ss := h.fake.Sessions(orig.CSESIDX)
	var turns int
	for _, s := range ss {
		if strings.Contains(s.Turns[0].Query, q1) {
			turns = len(s.Turns)
		}
	}
	if turns != 2 {
		t.Errorf("the conversation's session has %d turns, want 2 (the rotation must not drop sessions)", turns)
	}

	// Stored: the fake's current cookies, same id and name, times set.
	cur, err := h.mgr.Get(ctx, h.ids[0])
	if err != nil {
		t.Fatal(err)
	}
	sec, err := h.mgr.Secrets(ctx, cur)
	if err != nil {
		t.Fatal(err)
	}
	if sec.SecureCSES != fa.SecureCSES || sec.HostCOSES != fa.HostCOSES || sec.CSESIDX != orig.CSESIDX {
		t.Fatal("the stored cookies are not the rotated ones")
	}
	if cur.Name != before.Name || cur.LastRefreshAt.IsZero() || cur.ExpiresAt.IsZero() || !cur.LastSignInAt.IsZero() {
		t.Errorf("stored account: name %q refresh %v expires %v sign-in %v", cur.Name, cur.LastRefreshAt, cur.ExpiresAt, cur.LastSignInAt)
	}
	if n := h.account(0).RequestCount; n != 3 {
		t.Errorf("request count %d, want 3", n)
	}
	// Nothing left in the journal, and only the live secret in the store.
	if j, _ := h.store.JournalList(ctx); len(j) != 0 {
		t.Errorf("journal not empty: %v", j)
	}
	if n := h.secrets.Len(); n != 1 {
		t.Errorf("%d secrets in the keystore, want 1 (old ones deleted)", n)
	}
	// The old cookies are dead upstream.
	if _, err := h.up.GetOXSRF(ctx, upstreamCreds(orig, 99)); upstream.KindOf(err) == 0 {
		t.Fatal("the fake still accepts the rotated-away cookies")
	}
	// No cookie value, old or new, in the log or an admin answer.
	admin := h.do("GET", "/api/admin/accounts", "", nil)
	ab, _ := io.ReadAll(admin.Body)
	for _, secret := range []string{orig.SecureCSES, orig.HostCOSES, fa.SecureCSES, fa.HostCOSES} {
		if strings.Contains(h.logs.String(), secret) || strings.Contains(string(ab), secret) {
			t.Fatal("a cookie value leaked into the log or the admin API")
		}
	}
}

// Past the hard limit the account needs sign-in: the request is served by
// another account, the dead one is never chosen again, it is not
// disabled, subscribers hear of it, and a new sign-in brings it back with
// the same id and counters.
func TestHardLimitNeedsSignInThenSignInAgain(t *testing.T) {
	h, clk := lifecycleHarness(t, 2, nil)
	ctx := context.Background()
	sub := h.bus.Subscribe(256)
	defer sub.Close()

	// Account 2 signs in again 6 h in, so it outlives account 1.
	clk.Add(6 * time.Hour)
	cses, coses, idx, exp := h.fake.SignIn(h.accts[1].ConfigID)
	a2, err := h.mgr.SaveSignIn(ctx, h.ids[1], "", accounts.SignInResult{
		Secrets: accounts.Secrets{SecureCSES: cses, HostCOSES: coses, CSESIDX: idx}, ConfigID: h.accts[1].ConfigID, ExpiresAt: exp})
	if err != nil || a2.ID != h.ids[1] || a2.Name != "acct-2" || !a2.ExpiresAt.Equal(exp) || a2.LastSignInAt.IsZero() {
		t.Fatalf("SaveSignIn: %+v %v", a2, err)
	}
	// Account 1 serves once, so its counter has something to keep.
	h.pool.SetConfig(pool.Config{Strategy: pool.StrategyFailover})
	answer(t, h.client(), true, userParams("gemini-auto", "one"))
	countBefore := h.account(0).RequestCount + h.account(1).RequestCount

	clk.Add(7 * time.Hour) // account 1: 13 h, past its 12 h limit
	for i := 0; i < 3; i++ {
		if got := answer(t, h.client(), i%2 == 0, userParams("gemini-auto", "still served")); got != fakeupstream.NormalAnswer {
			t.Fatalf("request %d: %q", i, got)
		}
	}
	j := h.adminAccount(h.ids[0])
	if j.State != "needs_sign_in" || !j.IsActive {
		t.Fatalf("admin JSON of the dead account: %+v", j)
	}
	if v := h.account(0); v.Usable || v.Status != accounts.StatusNeedsSignIn {
		t.Fatalf("pool view: %+v", v)
	}
	n := h.fake.GetoxsrfCount(h.accts[0].CSESIDX)
	answer(t, h.client(), false, userParams("gemini-auto", "again"))
	if h.fake.GetoxsrfCount(h.accts[0].CSESIDX) != n {
		t.Fatal("an account that needs sign-in was tried again")
	}
	var heard bool
	for len(sub.C) > 0 {
		ev := <-sub.C
		if ev.Kind == events.AccountNeedsSignIn && ev.AccountID == h.ids[0] && ev.Reason != "" {
			heard = true
		}
	}
	if !heard {
		t.Fatal("no AccountNeedsSignIn event")
	}
	// The health status says so too, with the lifecycle fields.
	resp := h.do("GET", "/api/admin/health-status", "", nil)
	var hs struct {
		Accounts []map[string]any `json:"accounts"`
	}
	json.NewDecoder(resp.Body).Decode(&hs)
	for _, a := range hs.Accounts {
		if int64(a["id"].(float64)) == h.ids[1] {
			if _, ok := a["expires_at"].(string); !ok {
				t.Errorf("health status lacks expires_at: %v", a)
			}
			if _, ok := a["last_sign_in_at"].(string); !ok {
				t.Errorf("health status lacks last_sign_in_at: %v", a)
			}
		}
		if int64(a["id"].(float64)) == h.ids[0] && a["state"] != "needs_sign_in" {
			t.Errorf("health status state %v", a["state"])
		}
	}

	// Sign in again: same id, name and counters; it serves again.
	cses, coses, idx, exp = h.fake.SignIn(h.accts[0].ConfigID)
	a1, err := h.mgr.SaveSignIn(ctx, h.ids[0], "", accounts.SignInResult{
		Secrets: accounts.Secrets{SecureCSES: cses, HostCOSES: coses, CSESIDX: idx}, ConfigID: h.accts[0].ConfigID, ExpiresAt: exp, UserAgent: "Mozilla/5.0 Test"})
	if err != nil || a1.ID != h.ids[0] || a1.Name != "acct-1" || a1.Status != accounts.StatusUnknown || a1.UserAgent != "Mozilla/5.0 Test" {
		t.Fatalf("SaveSignIn again: %+v %v", a1, err)
	}
	if _, err := h.mgr.SetEnabled(ctx, h.ids[1], false); err != nil {
		t.Fatal(err)
	}
	if got := answer(t, h.client(), true, userParams("gemini-auto", "back")); got != fakeupstream.NormalAnswer {
		t.Fatalf("after sign-in: %q", got)
	}
	if len(h.fake.Sessions(idx)) == 0 {
		t.Fatal("the signed-in account did not serve")
	}
	if v := h.account(0); v.RequestCount < 1 || v.State != pool.StateHealthy {
		t.Errorf("after sign-in: %+v", v)
	}
	if total := h.account(0).RequestCount + h.account(1).RequestCount; total != countBefore+5 {
		t.Errorf("counters: %d, want %d (kept across the sign-in)", total, countBefore+5)
	}
	j = h.adminAccount(h.ids[0])
	if j.LastSignInAt == nil || j.ExpiresAt == nil || !j.ExpiresAt.Equal(exp) || j.ExpiresAt.Location() != time.UTC {
		t.Errorf("admin lifecycle fields: %+v", j)
	}
	// By name: id 0 finds the existing account, or creates a new one.
	cses, coses, idx, exp = h.fake.SignIn(h.accts[0].ConfigID)
	same, err := h.mgr.SaveSignIn(ctx, 0, "ACCT-1", accounts.SignInResult{Secrets: accounts.Secrets{SecureCSES: cses, HostCOSES: coses, CSESIDX: idx}, ExpiresAt: exp})
	if err != nil || same.ID != h.ids[0] {
		t.Fatalf("SaveSignIn by name: %+v %v", same, err)
	}
	fresh, err := h.mgr.SaveSignIn(ctx, 0, "brand-new", accounts.SignInResult{
		Secrets: accounts.Secrets{SecureCSES: "CSE.new", CSESIDX: "123"}, ConfigID: "d06739ca-6683-46db-bb51-07395a392439"})
	if err != nil || fresh.ID == 0 || fresh.Name != "brand-new" || fresh.LastSignInAt.IsZero() {
		t.Fatalf("SaveSignIn of a new name: %+v %v", fresh, err)
	}
	if _, err := h.mgr.SaveSignIn(ctx, 0, "", accounts.SignInResult{}); err == nil {
		t.Fatal("SaveSignIn without id or name succeeded")
	}
}

// The refresh endpoint's three answers, and its errors.
func TestAdminRefreshEndpoint(t *testing.T) {
	h, clk := lifecycleHarness(t, 1, nil)
	code, r, body := h.refresh(h.ids[0])
	if code != 200 || r.Result != "unchanged" || r.ExpiresAt != nil {
		t.Fatalf("fresh cookies: %d %s", code, body)
	}
	if j := h.adminAccount(h.ids[0]); j.LastRefreshAt == nil {
		t.Error("an unchanged refresh did not record its time")
	}
	clk.Add(90 * time.Minute)
	code, r, body = h.refresh(h.ids[0])
	if code != 200 || r.Result != "refreshed" || r.ExpiresAt == nil || !strings.Contains(body, `"expires_at":"`) || !strings.Contains(body, "Z\"") {
		t.Fatalf("stale cookies: %d %s", code, body)
	}
	if j := h.adminAccount(h.ids[0]); j.ExpiresAt == nil || !j.ExpiresAt.Equal(*r.ExpiresAt) {
		t.Errorf("expires_at after refresh: %+v", j)
	}
	clk.Add(12 * time.Hour)
	code, r, body = h.refresh(h.ids[0])
	if code != 200 || r.Result != "needs_sign_in" {
		t.Fatalf("dead sign-in: %d %s", code, body)
	}
	if j := h.adminAccount(h.ids[0]); j.State != "needs_sign_in" {
		t.Errorf("state %q", j.State)
	}
	if code, _, body := h.refresh(424242); code != 404 || !strings.Contains(body, "account_not_found") {
		t.Errorf("unknown id: %d %s", code, body)
	}
	if code, _, _ := h.refresh(-1); code != 400 {
		t.Errorf("bad id: %d", code)
	}
	// Upstream down: a clear error, not a result.
	h.fake.Close()
	code, _, body = h.refresh(h.ids[0])
	if code != 502 || !strings.Contains(body, "refresh_failed") {
		t.Errorf("upstream down: %d %s", code, body)
	}
}

// A 401 that a fresh token and a refresh do not cure: the client is served
// by another account, and the account cools down (UnauthorizedCooldown)
// instead of being turned off.
func TestUnauthorizedCoolsDown(t *testing.T) {
	h := newHarness(t, harnessOpts{accounts: 2, pool: func(c *pool.Config) { c.UnauthorizedCooldown = 3 * time.Hour }})
	h.pool.ReloadAll(context.Background())
	// Account 1's widget calls are refused: its config id belongs to no one.
	bad := "00000000-0000-4000-8000-000000000000"
	if _, err := h.mgr.Update(context.Background(), h.ids[0], accounts.Input{ConfigID: bad}); err != nil {
		t.Fatal(err)
	}
	sub := h.bus.Subscribe(64)
	defer sub.Close()
	for i := 0; i < 2; i++ {
		if got := answer(t, h.client(), false, userParams("gemini-auto", "hi")); got != fakeupstream.NormalAnswer {
			t.Fatalf("%q", got)
		}
	}
	v := h.account(0)
	if !v.Enabled || v.State != pool.StateCooling || v.CooldownRemaining < 2*time.Hour || !strings.HasPrefix(v.CooldownReason, "unauthorized") {
		t.Fatalf("account 1: enabled %v state %s cooldown %v (%s)", v.Enabled, v.State, v.CooldownRemaining, v.CooldownReason)
	}
	var heard bool
	for len(sub.C) > 0 {
		if ev := <-sub.C; ev.Kind == events.AccountNeedsRefresh && ev.AccountID == h.ids[0] {
			heard = true
		}
	}
	if !heard {
		t.Error("no AccountNeedsRefresh event")
	}
}

// An account whose refresh is refused off the upstream's hosts is not
// served and the client gets its answer from another account.
func TestSignInOverFailsOver(t *testing.T) {
	h, clk := lifecycleHarness(t, 2, nil)
	h.pool.ReloadAll(context.Background())
	clk.Add(13 * time.Hour)
	cses, coses, idx, exp := h.fake.SignIn(h.accts[1].ConfigID)
	if _, err := h.mgr.SaveSignIn(context.Background(), h.ids[1], "", accounts.SignInResult{
		Secrets: accounts.Secrets{SecureCSES: cses, HostCOSES: coses, CSESIDX: idx}, ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	c := h.client()
	_, err := c.Chat.Completions.New(context.Background(), userParams("gemini-auto", "x"))
	if err != nil {
		t.Fatal(err)
	}
	// Only the dead one left: a 503 that says to sign in.
	if _, err := h.mgr.SetEnabled(context.Background(), h.ids[1], false); err != nil {
		t.Fatal(err)
	}
	_, err = c.Chat.Completions.New(context.Background(), userParams("gemini-auto", "x"))
	var ae *openai.Error
	if !errors.As(err, &ae) || ae.StatusCode != 503 || !strings.Contains(ae.Message, "sign in") {
		t.Fatalf("err = %v", err)
	}
}

// Requests that meet stale cookies together refresh them once; those that
// arrive with the cookies just rotated away are not taken for a dead
// sign-in. Every request is served by the one account.
func TestConcurrentRequestsRefreshOnce(t *testing.T) {
	h, clk := lifecycleHarness(t, 1, nil)
	answer(t, h.client(), false, userParams("gemini-auto", "warm up"))
	clk.Add(2 * time.Hour)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := h.client()
			res, err := c.Chat.Completions.New(context.Background(), userParams("gemini-auto", "together"))
			if err == nil && res.Choices[0].Message.Content != fakeupstream.NormalAnswer {
				err = fmt.Errorf("content %q", res.Choices[0].Message.Content)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, rot := h.fake.Lifecycle(h.accts[0].ConfigID); rot != 1 {
		t.Errorf("%d rotations, want 1", rot)
	}
	if v := h.account(0); v.Status == accounts.StatusNeedsSignIn || !v.Usable {
		t.Errorf("account after concurrent refresh: %s (%s)", v.State, v.Reason)
	}
}

// Another process sharing the store (a second instance, or -signin) saves
// a fresh sign-in while this pool still holds the dead cookies: the pool's
// next failure must not write the new sign-in off as needs_sign_in.
func TestSignInElsewhereIsNotWrittenOff(t *testing.T) {
	h, clk := lifecycleHarness(t, 1, nil)
	ctx := context.Background()
	// One answer first, so the pool holds the cookies in memory.
	if got := answer(t, h.client(), false, userParams("gemini-auto", "first")); got != fakeupstream.NormalAnswer {
		t.Fatalf("first: %q", got)
	}
	clk.Add(13 * time.Hour) // past the 12 h limit: the pool's cookies are dead
	// The other process: the same store and secrets, no link to this pool.
	other := &accounts.Manager{Store: h.store, Backends: map[string]accounts.SecretStore{accounts.BackendKeychain: h.secrets}, Default: accounts.BackendKeychain}
	cses, coses, idx, exp := h.fake.SignIn(h.accts[0].ConfigID)
	if _, err := other.SaveSignIn(ctx, h.ids[0], "", accounts.SignInResult{
		Secrets: accounts.Secrets{SecureCSES: cses, HostCOSES: coses, CSESIDX: idx}, ConfigID: h.accts[0].ConfigID, ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	// This pool has not heard of it and fails with its old cookies.
	resp := h.do("POST", "/v1/chat/completions", `{"model":"gemini-auto","messages":[{"role":"user","content":"hello"}]}`, nil)
	resp.Body.Close()
	if j := h.adminAccount(h.ids[0]); j.State == "needs_sign_in" {
		t.Fatalf("the fresh sign-in saved elsewhere was written off: %+v", j)
	}
	stored, err := h.store.Get(ctx, h.ids[0])
	if err != nil || stored.Status == accounts.StatusNeedsSignIn {
		t.Fatalf("stored status %q (%v): the new sign-in was marked dead", stored.Status, err)
	}
	if got := answer(t, h.client(), false, userParams("gemini-auto", "served by the new sign-in")); got != fakeupstream.NormalAnswer {
		t.Fatalf("after the sign-in elsewhere: %q", got)
	}
	if len(h.fake.Sessions(idx)) == 0 {
		t.Fatal("the new sign-in did not serve")
	}
}
