package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	openai "github.com/openai/openai-go/v3"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/gateway/pool"
	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
)

// Every failure class before the answer starts moves the request to the
// next account: the client sees one clean answer, and the failed account's
// state says what happened.
func TestTransparentFailover(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(h *harness) // make account 0 fail
		state   pool.State
		cooling bool
	}{
		{"http 429", func(h *harness) { h.queue(0, "http-429") }, pool.StateCooling, true},
		{"in-body quota", func(h *harness) { h.queue(0, "quota-inbody") }, pool.StateCooling, true},
		{"banned 403", func(h *harness) { h.queue(0, "http-403") }, pool.StateDisabled, false},
		{"expired cookies", func(h *harness) {
			h.fake.UpdateAccount(h.accts[0].CSESIDX, func(a *fakeupstream.Account) { a.AuthMode = fakeupstream.AuthModeRedirect })
		}, pool.StateDisabled, false},
		{"sign-in over", func(h *harness) {
			h.fake.UpdateAccount(h.accts[0].CSESIDX, func(a *fakeupstream.Account) { a.Expired = true })
		}, pool.StateNeedsSignIn, false},
		{"transient 500", func(h *harness) { h.queue(0, "http-500") }, pool.StateUnknown, false},
		{"failed answer", func(h *harness) { h.queue(0, "failed") }, pool.StateUnknown, false},
		{"thoughts only", func(h *harness) { h.queue(0, "thoughts-only") }, pool.StateUnknown, false},
		{"uToken only", func(h *harness) { h.queue(0, "utoken-only") }, pool.StateUnknown, false},
		{"slow first byte past the timeout", func(h *harness) { h.queue(0, "slow-first-byte") }, pool.StateUnknown, false},
	}
	for _, tc := range tests {
		for _, stream := range []bool{true, false} {
			t.Run(tc.name+"/stream="+strconv.FormatBool(stream), func(t *testing.T) {
				h := newHarness(t, harnessOpts{accounts: 2, fake: fakeupstream.Options{SplitWrites: true}, up: func(c *upstreamConfig) { c.FirstByteTimeout = time.Second }})
				tc.setup(h)
				// Least recently used goes first: make account 0 the one.
				h.pool.ReloadAll(context.Background())
				content := answer(t, h.client(), stream, userParams("gemini-2.5-pro", "hi"))
				if content != fakeupstream.NormalAnswer {
					t.Fatalf("content = %q", content)
				}
				if n := len(h.fake.Sessions(h.accts[1].CSESIDX)); n != 1 {
					t.Fatalf("account 1 served %d sessions, want 1", n)
				}
				v := h.account(0)
				if v.State != tc.state || v.Cooling(time.Now()) != tc.cooling {
					t.Errorf("account 0: state %s (%s), cooling %v", v.State, v.Reason, v.Cooling(time.Now()))
				}
				if v.Reason == "" && tc.state != pool.StateUnknown {
					t.Error("state without a reason")
				}
				// The state is in the database too, not only in memory.
				stored, err := h.store.Get(context.Background(), h.ids[0])
				if err != nil {
					t.Fatal(err)
				}
				if stored.Enabled != v.Enabled || stored.Status != v.Status || !stored.CooldownUntil.Equal(v.CooldownUntil.Truncate(time.Millisecond)) {
					t.Errorf("stored %+v differs from the pool's view", stored)
				}
			})
		}
	}
}

// A failover re-creates the session on the new account and uploads the
// images again, with the whole history.
func TestFailoverReuploadsImagesWithFullHistory(t *testing.T) {
	h := newHarness(t, harnessOpts{accounts: 2})
	h.queue(0, "http-500", "http-500", "http-500")
	body := `{"model":"gemini-auto","messages":[{"role":"user","content":"first"},{"role":"assistant","content":"ok"},{"role":"user","content":[{"type":"text","text":"see"},{"type":"image_url","image_url":{"url":"data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=="}}]}]}`
	resp := h.do("POST", "/v1/chat/completions", body, nil)
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	for i := range 2 {
		ss := h.fake.Sessions(h.accts[i].CSESIDX)
		if len(ss) != 1 || len(ss[0].Files) != 1 || ss[0].Files[0].MIME != "image/gif" {
			t.Fatalf("account %d sessions: %+v", i, ss)
		}
	}
	turn := h.fake.Sessions(h.accts[1].CSESIDX)[0].Turns[0]
	if turn.Query != "User: first\n\nAssistant: ok\n\nUser: see" || len(turn.FileIDs) != 1 {
		t.Errorf("second account got %+v", turn)
	}
}

func TestExhaustedPool(t *testing.T) {
	t.Run("all cooling: 429 with Retry-After of the earliest", func(t *testing.T) {
		h := newHarness(t, harnessOpts{accounts: 2})
		ctx := context.Background()
		now := time.Now()
		h.store.SetCooldown(ctx, h.ids[0], now.Add(90*time.Second), "quota")
		h.store.SetCooldown(ctx, h.ids[1], now.Add(40*time.Second), "quota")
		h.pool.ReloadAll(ctx)
		resp := h.do("POST", "/v1/chat/completions", `{"model":"gemini-auto","messages":[{"role":"user","content":"x"}]}`, nil)
		ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		if resp.StatusCode != 429 || ra < 38 || ra > 41 {
			t.Fatalf("status %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		var e struct {
			Error struct{ Code, Message string }
		}
		json.NewDecoder(resp.Body).Decode(&e)
		if e.Error.Code != "all_accounts_cooling_down" || !strings.Contains(e.Error.Message, "acct-1: cooling down (quota)") {
			t.Errorf("error %+v", e.Error)
		}
	})
	t.Run("quota on every account during the request", func(t *testing.T) {
		h := newHarness(t, harnessOpts{accounts: 2})
		h.queue(0, "http-429")
		h.queue(1, "http-429")
		resp := h.do("POST", "/v1/chat/completions", `{"model":"gemini-auto","messages":[{"role":"user","content":"x"}]}`, nil)
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("status %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		if h.account(0).State != pool.StateCooling || h.account(1).State != pool.StateCooling {
			t.Error("accounts not cooling")
		}
		// The fake's 429 says Retry-After: 30; the cooldown follows it.
		if d := time.Until(h.account(0).CooldownUntil); d < 25*time.Second || d > 31*time.Second {
			t.Errorf("cooldown %v, want the upstream's 30 s", d)
		}
	})
	t.Run("none will free up: 503 with the reasons", func(t *testing.T) {
		h := newHarness(t, harnessOpts{accounts: 2})
		ctx := context.Background()
		h.mgr.SetEnabled(ctx, h.ids[0], false)
		h.store.SetStatus(ctx, h.ids[1], accounts.StatusExpired, "expired: Session has expired.", false)
		h.pool.ReloadAll(ctx)
		resp := h.do("POST", "/v1/chat/completions", `{"model":"gemini-auto","messages":[{"role":"user","content":"x"}]}`, nil)
		var e struct {
			Error struct{ Code, Message string }
		}
		json.NewDecoder(resp.Body).Decode(&e)
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "" || e.Error.Code != "no_usable_account" ||
			!strings.Contains(e.Error.Message, "acct-1: disabled (disabled by user)") || !strings.Contains(e.Error.Message, "acct-2: expired") {
			t.Fatalf("status %d error %+v", resp.StatusCode, e.Error)
		}
	})
}

// askHistory sends a conversation and returns the answer.
func askHistory(t *testing.T, h *harness, msgs ...openai.ChatCompletionMessageParamUnion) string {
	t.Helper()
	c := h.client()
	res, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gemini-auto", Messages: msgs})
	if err != nil {
		t.Fatal(err)
	}
	return res.Choices[0].Message.Content
}

func TestMultiTurnReusesSession(t *testing.T) {
	h := newHarness(t, harnessOpts{accounts: 3})
	q1 := "first question [scenario:echo]"
	a1 := askHistory(t, h, openai.UserMessage(q1))
	a2 := askHistory(t, h, openai.UserMessage(q1), openai.AssistantMessage(a1), openai.UserMessage("second [scenario:echo]"))
	askHistory(t, h, openai.UserMessage(q1), openai.AssistantMessage(a1), openai.UserMessage("second [scenario:echo]"),
		openai.AssistantMessage(a2), openai.UserMessage("third [scenario:echo]"))
	var all []fakeupstream.Session
	owner := -1
	for i, a := range h.accts {
		ss := h.fake.Sessions(a.CSESIDX)
		if len(ss) > 0 {
			owner = i
		}
		all = append(all, ss...)
	}
	if len(all) != 1 {
		t.Fatalf("%d upstream sessions for one conversation", len(all))
	}
	turns := all[0].Turns
	if len(turns) != 3 || turns[0].Query != q1 || turns[1].Query != "second [scenario:echo]" || turns[2].Query != "third [scenario:echo]" {
		t.Fatalf("turns = %+v", turns)
	}
	// It stuck to its account although least-recently-used would move on.
	if h.account(owner).RequestCount != 3 {
		t.Errorf("owner served %d requests", h.account(owner).RequestCount)
	}
}

func TestSameFirstMessageDifferentSessions(t *testing.T) {
	h := newHarness(t, harnessOpts{accounts: 1})
	first := openai.UserMessage("hello")
	a := askHistory(t, h, first)
	b := askHistory(t, h, first)
	if a != b {
		t.Fatalf("fake answers differ: %q %q", a, b)
	}
	// Chat A continues; chat B, which started with the same exchange,
	// continues differently: it must not land in A's session.
	askHistory(t, h, first, openai.AssistantMessage(a), openai.UserMessage("A's second"))
	askHistory(t, h, first, openai.AssistantMessage(b), openai.UserMessage("B's second"))
	ss := h.fake.Sessions(h.accts[0].CSESIDX)
	for _, s := range ss {
		var qs []string
		for _, tn := range s.Turns {
			qs = append(qs, tn.Query)
		}
		joined := strings.Join(qs, "|")
		if strings.Contains(joined, "A's second") && strings.Contains(joined, "B's second") {
			t.Fatalf("one session holds both chats: %q", qs)
		}
	}
	found := false
	for _, s := range ss {
		if len(s.Turns) == 1 && strings.Contains(s.Turns[0].Query, "Assistant: ") && strings.HasSuffix(s.Turns[0].Query, "B's second") {
			found = true
		}
	}
	if !found {
		t.Errorf("chat B did not get a new session with its full history: %+v", ss)
	}
}

func TestSessionGoneStartsOverWithHistory(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	ctx := context.Background()
	a1 := askHistory(t, h, openai.UserMessage("one"))
	ss := h.fake.Sessions(h.accts[0].CSESIDX)
	cr := upstreamCreds(h.accts[0], h.ids[0])
	if err := h.up.DeleteSession(ctx, cr, ss[0].Name); err != nil {
		t.Fatal(err)
	}
	askHistory(t, h, openai.UserMessage("one"), openai.AssistantMessage(a1), openai.UserMessage("two"))
	ss = h.fake.Sessions(h.accts[0].CSESIDX)
	if len(ss) != 2 || ss[1].Turns[0].Query != "User: one\n\nAssistant: "+a1+"\n\nUser: two" {
		t.Fatalf("sessions after the upstream forgot one: %+v", ss)
	}
}

func TestConcurrentTurnsOfOneConversation(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	a1 := askHistory(t, h, openai.UserMessage("one"))
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			askHistory(t, h, openai.UserMessage("one"), openai.AssistantMessage(a1), openai.UserMessage(fmt.Sprintf("two-%d", i)))
		}()
	}
	wg.Wait()
	// At most one of them continued the session; the others started over
	// with the full history. No session has two "two" turns.
	for _, s := range h.fake.Sessions(h.accts[0].CSESIDX) {
		n := 0
		for _, tn := range s.Turns {
			if strings.HasPrefix(tn.Query, "two-") || strings.Contains(tn.Query, "User: two-") {
				n++
			}
		}
		if n > 1 {
			t.Fatalf("session %s interleaved %d turns", s.Name, n)
		}
	}
}

func TestRoundRobin(t *testing.T) {
	h := newHarness(t, harnessOpts{accounts: 3, pool: func(c *pool.Config) { c.Strategy = pool.StrategyRoundRobin }})
	for i := range 9 {
		askHistory(t, h, openai.UserMessage(fmt.Sprintf("q%d", i)))
	}
	for i := range 3 {
		if n := len(h.fake.Sessions(h.accts[i].CSESIDX)); n != 3 {
			t.Errorf("account %d served %d", i, n)
		}
	}
}

func TestLeastRecentlyUsedSpreads(t *testing.T) {
	h := newHarness(t, harnessOpts{accounts: 3})
	for i := range 6 {
		askHistory(t, h, openai.UserMessage(fmt.Sprintf("q%d", i)))
	}
	for i := range 3 {
		if n := len(h.fake.Sessions(h.accts[i].CSESIDX)); n != 2 {
			t.Errorf("account %d served %d of 6", i, n)
		}
	}
	waitFor(t, "usage counters in the database", func() bool {
		total := int64(0)
		list, _ := h.store.List(context.Background())
		for _, a := range list {
			total += a.RequestCount
		}
		return total == 6
	})
}

func TestModelStickiness(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	got := streamChat(t, h.client(), userParams("gemini-3-pro-preview", "chat"))
	if got.err != nil {
		t.Fatal(got.err)
	}
	c := h.client()
	res, err := c.Chat.Completions.New(context.Background(), userParams("gemini-2.5-flash", "make a title"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Model != "gemini-3-pro-preview" {
		t.Errorf("served model = %s", res.Model)
	}
	ss := h.fake.Sessions(h.accts[0].CSESIDX)
	if ss[len(ss)-1].Turns[0].ModelID != "gemini-3-pro-preview" {
		t.Errorf("upstream model = %s", ss[len(ss)-1].Turns[0].ModelID)
	}
	if !strings.Contains(h.logs.String(), "model stickiness") {
		t.Error("stickiness not logged")
	}
	// Switched off: the request is served as asked.
	h2 := newHarness(t, harnessOpts{gw: func(c *gatewayConfig) { c.ModelStickiness = false }})
	streamChat(t, h2.client(), userParams("gemini-3-pro-preview", "chat"))
	c2 := h2.client()
	res, err = c2.Chat.Completions.New(context.Background(), userParams("gemini-2.5-flash", "make a title"))
	if err != nil || res.Model != "gemini-2.5-flash" {
		t.Errorf("stickiness off: %v %v", res.Model, err)
	}
}

func TestHealthChecks(t *testing.T) {
	h := newHarness(t, harnessOpts{accounts: 3})
	ctx := context.Background()
	h.fake.UpdateAccount(h.accts[1].CSESIDX, func(a *fakeupstream.Account) { a.AuthMode = fakeupstream.AuthModeRedirect })
	h.fake.UpdateAccount(h.accts[2].CSESIDX, func(a *fakeupstream.Account) { a.Banned = true })
	sum := h.checker.CheckAll(ctx, nil)
	if sum.Checked != 3 || sum.Healthy != 1 || sum.Failed != 2 || sum.Disabled != 2 {
		t.Fatalf("round = %+v", sum)
	}
	if v := h.account(0); v.State != pool.StateHealthy || !v.LastCheckOK || v.LastCheckAt.IsZero() {
		t.Errorf("healthy account: %+v", v)
	}
	if v := h.account(1); v.Enabled || v.Status != accounts.StatusExpired || !strings.Contains(v.DisabledReason, "expired") {
		t.Errorf("expired account: enabled=%v status=%s reason=%q", v.Enabled, v.Status, v.DisabledReason)
	}
	if v := h.account(2); v.Enabled || v.Status != accounts.StatusBanned {
		t.Errorf("banned account: %+v", v)
	}
	// No trail of empty sessions.
	for _, s := range h.fake.Sessions(h.accts[0].CSESIDX) {
		if !s.Deleted {
			t.Errorf("health check left session %s", s.Name)
		}
	}
	stored, _ := h.store.Get(ctx, h.ids[1])
	if stored.Enabled || stored.LastCheckAt.IsZero() || stored.LastCheckOK {
		t.Errorf("stored check of the expired account: %+v", stored)
	}
	logs := h.logs.String()
	for _, want := range []string{"health check passed", "health check failed", "JWT refresh failed", "health check round finished"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

func TestHealthCheckLeavesFlakyAccountBelowThreshold(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.checker.SetConfig(pool.HealthConfig{Enabled: true, Interval: time.Hour, Timeout: 300 * time.Millisecond, RetryCount: 0,
		Concurrency: 1, AutoDisable: true, NetworkErrorThreshold: 3})
	ctx := context.Background()
	// Unreachable upstream: stop the fake.
	h.fake.Close()
	for i := 1; i <= 3; i++ {
		o := h.checker.CheckOne(ctx, h.ids[0])
		v := h.account(0)
		if o.OK || v.NetworkErrors != i {
			t.Fatalf("check %d: ok=%v errors=%d", i, o.OK, v.NetworkErrors)
		}
		if i < 3 && (!v.Enabled || v.State == pool.StateUnhealthy || v.State == pool.StateDisabled) {
			t.Fatalf("check %d: account poisoned below the threshold: %s", i, v.State)
		}
		if i == 3 && (v.Enabled || v.Status != accounts.StatusUnhealthy) {
			t.Fatalf("at the threshold: enabled=%v status=%s", v.Enabled, v.Status)
		}
	}
}

func TestHealthAdminAPI(t *testing.T) {
	h := newHarness(t, harnessOpts{accounts: 2})
	h.fake.UpdateAccount(h.accts[1].CSESIDX, func(a *fakeupstream.Account) { a.AuthMode = fakeupstream.AuthModeRedirect })
	resp := h.do("POST", "/api/admin/health-check", "", nil)
	var round struct {
		Checked, Healthy, Failed, Disabled int
	}
	json.NewDecoder(resp.Body).Decode(&round)
	if resp.StatusCode != 200 || round.Checked != 2 || round.Healthy != 1 || round.Disabled != 1 {
		t.Fatalf("%d %+v", resp.StatusCode, round)
	}
	resp = h.do("POST", fmt.Sprintf("/api/admin/accounts/%d/health-check", h.ids[0]), "", nil)
	var one struct {
		OK        bool
		LatencyMS int64 `json:"latency_ms"`
	}
	json.NewDecoder(resp.Body).Decode(&one)
	if resp.StatusCode != 200 || !one.OK {
		t.Fatalf("one: %d %+v", resp.StatusCode, one)
	}
	resp = h.do("GET", "/api/admin/health-status", "", nil)
	var st struct {
		Accounts []struct {
			Name, State, Reason string
			LastCheck           *struct{ OK bool } `json:"last_check"`
			Cooldown            float64            `json:"cooldown_remaining_seconds"`
		}
		Usable, Total int
	}
	json.NewDecoder(resp.Body).Decode(&st)
	if st.Total != 2 || st.Usable != 1 || st.Accounts[1].State != "disabled" || st.Accounts[1].LastCheck == nil || st.Accounts[1].LastCheck.OK {
		t.Fatalf("status: %+v", st)
	}
}

// lockedKeychain fails every secrets read, as a locked keyring does.
type lockedKeychain struct{ *accounts.Manager }

func (lockedKeychain) Secrets(context.Context, accounts.Account) (accounts.Secrets, error) {
	return accounts.Secrets{}, errors.New("keychain is locked")
}

// A locked keychain is the machine's problem, not the accounts': they are
// neither expired nor disabled, and the client is told what is wrong.
func TestLockedKeychainDoesNotPoisonAccounts(t *testing.T) {
	h := newHarness(t, harnessOpts{accounts: 2, source: func(h *harness) pool.Source { return lockedKeychain{h.mgr} }})
	for range 4 {
		resp := h.do("POST", "/v1/chat/completions", `{"model":"gemini-auto","messages":[{"role":"user","content":"x"}]}`, nil)
		var e struct{ Error struct{ Message string } }
		json.NewDecoder(resp.Body).Decode(&e)
		if resp.StatusCode != 502 || !strings.Contains(e.Error.Message, "keychain is locked") {
			t.Fatalf("%d %+v", resp.StatusCode, e.Error)
		}
	}
	h.checker.CheckAll(context.Background(), nil)
	for i := range 2 {
		if v := h.account(i); !v.Enabled || v.NetworkErrors != 0 || !v.Status.Usable() {
			t.Errorf("account %d poisoned by a locked keychain: %+v", i, v)
		}
	}
}
