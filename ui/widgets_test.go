package ui

import (
	"testing"
	"time"
)

func TestAgo(t *testing.T) {
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{-1, "never"}, {0, "just now"}, {30 * time.Second, "30 s ago"}, {3 * time.Minute, "3 min ago"},
		{5 * time.Hour, "5 h ago"}, {30 * time.Hour, "yesterday"}, {3 * 24 * time.Hour, "3 days ago"},
	} {
		at := now.Add(-tc.d)
		if tc.d < 0 {
			at = time.Time{}
		}
		if got := ago(now, at); got != tc.want {
			t.Errorf("ago(-%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestCountdowns(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "", 500 * time.Millisecond: "0:01", 65 * time.Second: "1:05", 3723 * time.Second: "1:02:03"} {
		if got := countdown(d); got != want {
			t.Errorf("countdown(%v) = %q, want %q", d, got, want)
		}
	}
	for d, want := range map[time.Duration]string{0: "", 30 * time.Second: "<1m", 61 * time.Second: "2m", 4 * time.Minute: "4m", 65 * time.Minute: "1h 5m"} {
		if got := coarseCountdown(d); got != want {
			t.Errorf("coarseCountdown(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestMaskKey(t *testing.T) {
	for in, want := range map[string]string{
		"":                           "(none)",
		"short":                      "••••••••••",
		"sk-gg-0123456789abcdefa1b2": "sk-gg-••••••••••a1b2",
		"0123456789abcdefghij":       "••••••••••ghij",
	} {
		if got := maskKey(in); got != want {
			t.Errorf("maskKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAccountFieldChecks(t *testing.T) {
	ok := func(err error) bool { return err == nil }
	cases := []struct {
		name  string
		check func(string) error
		in    string
		valid bool
	}{
		{"name", checkName, "work", true},
		{"empty name", checkName, "  ", false},
		{"cookie", checkCookie("__Secure-C_SES", true), "CSE.Ab_12-x", true},
		{"empty required cookie", checkCookie("__Secure-C_SES", true), "", false},
		{"empty optional cookie", checkCookie("__Host-C_OSES", false), "", true},
		{"cookie with name", checkCookie("__Secure-C_SES", true), "__Secure-C_SES=abc", false},
		{"cookie with space", checkCookie("__Secure-C_SES", true), "ab c", false},
		{"cookie with semicolon", checkCookie("__Secure-C_SES", true), "abc;def", false},
		{"csesidx", checkCSESIDX(true), "123456", true},
		{"csesidx letters", checkCSESIDX(true), "12a", false},
		{"csesidx empty when editing", checkCSESIDX(false), "", true},
		{"config_id", checkConfigID, testUUID, true},
		{"config_id upper", checkConfigID, "1A2B3C4D-0000-1111-2222-333344445555", true},
		{"config_id short", checkConfigID, "1a2b3c4d-0000", false},
		{"config_id empty", checkConfigID, "", false},
	}
	for _, tc := range cases {
		if got := ok(tc.check(tc.in)); got != tc.valid {
			t.Errorf("%s: %q valid=%v, want %v", tc.name, tc.in, got, tc.valid)
		}
	}
}

func TestAccountKinds(t *testing.T) {
	for _, tc := range []struct {
		a    Account
		want stateKind
	}{
		{Account{Enabled: true, State: AccountHealthy}, kindGood},
		{Account{Enabled: true, State: AccountCooling}, kindWarn},
		{Account{Enabled: true, State: AccountExpired}, kindBad},
		{Account{Enabled: true, State: AccountBanned}, kindBad},
		{Account{Enabled: true, State: AccountUnhealthy}, kindBad},
		{Account{Enabled: false, State: AccountHealthy}, kindOff},
		{Account{Enabled: true, State: AccountUnchecked}, kindNeutral},
	} {
		if got := accountKind(tc.a); got != tc.want {
			t.Errorf("%+v: kind %v, want %v", tc.a, got, tc.want)
		}
	}
}

// TestAccountStateLabels: every state has its own label, the zero value is
// "unchecked", and a disabled account reads "disabled" whatever its state.
func TestAccountStateLabels(t *testing.T) {
	seen := map[string]AccountState{}
	for s := AccountUnchecked; s <= AccountNeedsSignIn; s++ {
		l := s.Label()
		if prev, dup := seen[l]; dup {
			t.Errorf("%d and %d share the label %q", prev, s, l)
		}
		seen[l] = s
	}
	if got := (Account{}).State.Label(); got != "unchecked" {
		t.Errorf("zero state reads %q", got)
	}
	if got := stateLabel(Account{State: AccountHealthy}); got != "disabled" {
		t.Errorf("a disabled healthy account reads %q", got)
	}
	if !(Account{State: AccountNeedsSignIn}).NeedsSignIn() || (Account{State: AccountExpired}).NeedsSignIn() {
		t.Error("NeedsSignIn does not follow State")
	}
}
