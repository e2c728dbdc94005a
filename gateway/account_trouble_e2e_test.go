package gateway_test

import (
	"io"
	"testing"

	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
)

// A 400 on widgetCreateSession is the account's state: the request moves
// to another account and succeeds; the refusing account is not marked.
// A uToken-only answer counts against the account (an error toward its
// threshold) and the request moves on too.
func TestAccountTroubleFailsOver(t *testing.T) {
	h := newHarness(t, harnessOpts{accounts: 2})
	chat := func() (int, string) {
		resp := h.do("POST", "/v1/chat/completions", `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"hi"}]}`, nil)
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for i := range h.accts {
		h.fake.UpdateAccount(h.accts[i].CSESIDX, func(a *fakeupstream.Account) { a.SessionRefusals = 1 })
	}
	// Both refuse once, so the first request may run out of accounts (an
	// upstream error), but never as the client's 400; the next is served.
	code, body := chat()
	if code == 400 {
		t.Fatalf("a session refusal reached the client as its own fault: %s", body)
	}
	if code, body = chat(); code != 200 {
		t.Fatalf("after the refusals: %d %s", code, body)
	}
	for i := range h.accts {
		if a := h.account(i); a.NetworkErrors != 0 || a.State == "unhealthy" {
			t.Errorf("account %d penalised for a session refusal: %+v", i, a.State)
		}
	}

	h.queue(0, fakeupstream.ScenarioUTokenOnly)
	h.queue(1, fakeupstream.ScenarioUTokenOnly)
	code, body = chat()
	if code == 200 {
		t.Fatalf("uToken-only on every account answered 200: %s", body)
	}
	if a, b := h.account(0), h.account(1); a.NetworkErrors != 1 || b.NetworkErrors != 1 {
		t.Errorf("uToken-only did not count against the accounts: %d, %d", a.NetworkErrors, b.NetworkErrors)
	}
	h.queue(0, fakeupstream.ScenarioUTokenOnly)
	if code, body = chat(); code != 200 {
		t.Errorf("one uToken-only account, one good: %d %s", code, body)
	}
}
