package pool

import (
	"strings"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/gateway/chat"
)

func key(s string) chat.Key { return chat.KeyOf([]chat.Message{{Role: chat.RoleUser, Text: s}}) }

func TestSessionCacheTakeLRUAndTTL(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := newSessionCache(2, time.Hour)
	c.Put(sessionEntry{key: key("a"), name: "s-a", accountID: 1, stored: now})
	c.Put(sessionEntry{key: key("b"), name: "s-b", accountID: 2, stored: now})
	// Taking removes: a second turn from the same state misses.
	if e, ok := c.Take(key("a"), now); !ok || e.name != "s-a" {
		t.Fatalf("take a: %+v %v", e, ok)
	}
	if _, ok := c.Take(key("a"), now); ok {
		t.Fatal("taken twice")
	}
	c.Put(sessionEntry{key: key("c"), name: "s-c", stored: now})
	c.Put(sessionEntry{key: key("d"), name: "s-d", stored: now})
	if c.Len() != 2 {
		t.Fatalf("len %d over the bound", c.Len())
	}
	if _, ok := c.Take(key("b"), now); ok {
		t.Error("the oldest entry survived eviction")
	}
	if _, ok := c.Take(key("c"), now.Add(2*time.Hour)); ok {
		t.Error("an entry past its TTL was returned")
	}
	c.Put(sessionEntry{key: key("e"), accountID: 7, stored: now})
	c.DropAccount(7)
	if _, ok := c.Take(key("e"), now); ok {
		t.Error("DropAccount left a session")
	}
	c.Resize(1, time.Hour)
	if c.Len() > 1 {
		t.Error("Resize did not evict")
	}
}

func TestStateOf(t *testing.T) {
	now := time.Now()
	tests := []struct {
		a     accounts.Account
		state State
	}{
		{accounts.Account{Enabled: false, DisabledReason: "expired: x"}, StateDisabled},
		{accounts.Account{Enabled: true, Status: accounts.StatusExpired}, StateExpired},
		{accounts.Account{Enabled: true, Status: accounts.StatusNeedsSignIn}, StateNeedsSignIn},
		{accounts.Account{Enabled: false, Status: accounts.StatusNeedsSignIn}, StateDisabled},
		{accounts.Account{Enabled: true, Status: accounts.StatusBanned}, StateBanned},
		{accounts.Account{Enabled: true, Status: accounts.StatusUnhealthy}, StateUnhealthy},
		{accounts.Account{Enabled: true, Status: accounts.StatusHealthy, CooldownUntil: now.Add(time.Minute)}, StateCooling},
		{accounts.Account{Enabled: true, Status: accounts.StatusHealthy, CooldownUntil: now.Add(-time.Minute)}, StateHealthy},
		{accounts.Account{Enabled: true}, StateUnknown},
	}
	for _, tc := range tests {
		if got, _ := StateOf(tc.a, now); got != tc.state {
			t.Errorf("%+v: %s, want %s", tc.a, got, tc.state)
		}
	}
}

func TestNoAccountErrorExplains(t *testing.T) {
	now := time.Now()
	p := &Pool{members: map[int64]*member{}, now: func() time.Time { return now }}
	if err := p.noAccountError(now).(*NoAccountError); !strings.Contains(err.Reason, "no Gemini Business account is configured") {
		t.Errorf("empty pool: %s", err.Reason)
	}
	p.members[1] = &member{acct: accounts.Account{ID: 1, Name: "a", Enabled: true, CooldownUntil: now.Add(90 * time.Second), CooldownReason: "quota"}}
	p.members[2] = &member{acct: accounts.Account{ID: 2, Name: "b", Enabled: true, CooldownUntil: now.Add(30 * time.Second), CooldownReason: "quota"}}
	p.members[3] = &member{acct: accounts.Account{ID: 3, Name: "c", Enabled: false}}
	err := p.noAccountError(now).(*NoAccountError)
	if err.RetryAfter != 30*time.Second || !strings.Contains(err.Reason, "a: cooling down (quota)") || !strings.Contains(err.Reason, "c: disabled") {
		t.Errorf("%v %s", err.RetryAfter, err.Reason)
	}
	// Many accounts: counted, not listed.
	for i := int64(4); i < 12; i++ {
		p.members[i] = &member{acct: accounts.Account{ID: i, Name: "x", Enabled: false}}
	}
	err = p.noAccountError(now).(*NoAccountError)
	if !strings.Contains(err.Reason, "(11 in all: 2 cooling down, 9 disabled)") {
		t.Errorf("many: %s", err.Reason)
	}
}
