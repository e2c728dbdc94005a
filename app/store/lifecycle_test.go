package store

import (
	"errors"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/internal/keystoretest"
)

// The lifecycle part of the shared suite (runSuite lists these), run on
// both engines.

func testRecordSignIn(t *testing.T, e engine) {
	s := freshStore(t, e)
	ctx := t.Context()
	a := mustInsert(t, s, newAccount("acc", "old-ref"))
	if a.ExpiresAt != (time.Time{}) || !a.LastSignInAt.IsZero() || !a.LastRefreshAt.IsZero() {
		t.Fatalf("new account has lifecycle times: %+v", a)
	}
	// The pool turned it off because it expired, and it cools down.
	if err := s.SetStatus(ctx, a.ID, accounts.StatusExpired, "expired: cookies rejected", true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCooldown(ctx, a.ID, time.Now().Add(time.Hour), "quota"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUsage(ctx, a.ID, 7, time.Now()); err != nil {
		t.Fatal(err)
	}

	// A refresh: new ref, expiry, refresh time; status and switch untouched.
	if err := s.JournalAdd(ctx, accounts.BackendKeychain, "refresh-ref"); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)
	exp := at.Add(20 * time.Hour)
	hints := accounts.SecretHints{SecureCSES: "…new1", CSESIDX: "…95"}
	got, err := s.RecordSignIn(ctx, a.ID, accounts.SignInUpdate{SecretBackend: accounts.BackendKeychain, SecretRef: "refresh-ref",
		SecretHints: hints, ExpiresAt: exp, At: at})
	if err != nil {
		t.Fatal(err)
	}
	if got.SecretRef != "refresh-ref" || got.SecretHints != hints || !got.ExpiresAt.Equal(exp) || !got.LastRefreshAt.Equal(at) ||
		!got.LastSignInAt.IsZero() || got.Enabled || got.Status != accounts.StatusExpired || got.RequestCount != 7 || got.Name != "acc" {
		t.Fatalf("after a refresh: %+v", got)
	}
	if refs, want := journalRefs(t, s), []string{"sealed:old-ref"}; !equalStrings(refs, want) {
		t.Errorf("journal = %v, want %v", refs, want)
	}
	// A refresh without a known expiry keeps the old one; without a ref it
	// keeps the secrets.
	got, err = s.RecordSignIn(ctx, a.ID, accounts.SignInUpdate{At: at.Add(time.Hour)})
	if err != nil || got.SecretRef != "refresh-ref" || !got.ExpiresAt.Equal(exp) || !got.LastRefreshAt.Equal(at.Add(time.Hour)) {
		t.Fatalf("bare refresh: %+v %v", got, err)
	}

	// A sign-in: clears expired status, the expiry auto-disable, the
	// cooldown; sets both times; replaces config id and user agent; keeps
	// the counters.
	if err := s.JournalAdd(ctx, accounts.BackendKeychain, "signin-ref"); err != nil {
		t.Fatal(err)
	}
	cfg := "11111111-2222-4333-8444-555555555555"
	got, err = s.RecordSignIn(ctx, a.ID, accounts.SignInUpdate{SecretBackend: accounts.BackendKeychain, SecretRef: "signin-ref",
		SecretHints: hints, ConfigID: cfg, UserAgent: "Browser/1", At: at.Add(2 * time.Hour), SignIn: true})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Enabled || got.DisabledReason != "" || got.Status != accounts.StatusUnknown || got.StatusReason != "" ||
		!got.CooldownUntil.IsZero() || got.ConfigID != cfg || got.UserAgent != "Browser/1" || got.RequestCount != 7 ||
		!got.LastSignInAt.Equal(at.Add(2*time.Hour)) || !got.LastRefreshAt.Equal(at.Add(2*time.Hour)) || !got.ExpiresAt.IsZero() {
		t.Fatalf("after a sign-in: %+v", got)
	}
	if stored := mustGet(t, s, a.ID); stored != got {
		t.Errorf("Get = %+v, want %+v", stored, got)
	}
	// A user's own switch-off survives a sign-in; needs_sign_in is cleared.
	off := false
	reason := "disabled by user"
	if _, err := s.Update(ctx, a.ID, accounts.Patch{Enabled: &off, DisabledReason: &reason}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetStatus(ctx, a.ID, accounts.StatusNeedsSignIn, "needs sign-in: over", false); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, a.ID); got.Status != accounts.StatusNeedsSignIn || got.Status.Usable() {
		t.Fatalf("needs_sign_in round trip: %+v", got)
	}
	got, err = s.RecordSignIn(ctx, a.ID, accounts.SignInUpdate{At: at.Add(3 * time.Hour), SignIn: true})
	if err != nil || got.Enabled || got.Status != accounts.StatusUnknown {
		t.Fatalf("sign-in of a switched-off account: %+v %v", got, err)
	}
	if _, err := s.RecordSignIn(ctx, 424242, accounts.SignInUpdate{SignIn: true}); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
}

// The Manager's sign-in methods on a real store: secrets through the
// journal, nothing left behind, OnChange called.
func testManagerSignIn(t *testing.T, e engine) {
	s := freshStore(t, e)
	ctx := t.Context()
	mem := keystoretest.NewMemory()
	var changed []int64
	m := &accounts.Manager{Store: s, Backends: map[string]accounts.SecretStore{accounts.BackendKeychain: mem},
		Default: accounts.BackendKeychain, OnChange: func(id int64) { changed = append(changed, id) }}
	cfg := "d06739ca-6683-46db-bb51-07395a392439"
	a, err := m.SaveSignIn(ctx, 0, "work", accounts.SignInResult{Secrets: accounts.Secrets{SecureCSES: "CSE.one", HostCOSES: "COS.one", CSESIDX: "100"},
		ConfigID: cfg, UserAgent: "UA/1", ExpiresAt: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil || a.Name != "work" || a.UserAgent != "UA/1" || a.LastSignInAt.IsZero() || a.ExpiresAt.Year() != 2030 {
		t.Fatalf("first sign-in: %+v %v", a, err)
	}
	if _, err := m.MarkNeedsSignIn(ctx, a.ID, ""); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, a.ID); got.Status != accounts.StatusNeedsSignIn || got.StatusReason == "" || !got.Enabled {
		t.Fatalf("MarkNeedsSignIn: %+v", got)
	}
	// Sign in again: same id, new csesidx, old secret gone, journal empty.
	b, err := m.SaveSignIn(ctx, a.ID, "", accounts.SignInResult{Secrets: accounts.Secrets{SecureCSES: "CSE.two", HostCOSES: "COS.two", CSESIDX: "200"}})
	if err != nil || b.ID != a.ID || b.Status != accounts.StatusUnknown || b.ConfigID != cfg || b.UserAgent != "UA/1" {
		t.Fatalf("sign-in again: %+v %v", b, err)
	}
	if sec, _ := m.Secrets(ctx, b); sec.CSESIDX != "200" || sec.SecureCSES != "CSE.two" {
		t.Fatal("secrets not replaced")
	}
	if mem.Len() != 1 || len(journalRefs(t, s)) != 0 {
		t.Fatalf("%d secrets, journal %v", mem.Len(), journalRefs(t, s))
	}
	// A refresh that brings only C_SES keeps the rest.
	c, err := m.SaveRefresh(ctx, a.ID, accounts.SignInResult{Secrets: accounts.Secrets{SecureCSES: "CSE.three"}})
	if err != nil || !c.LastSignInAt.Equal(b.LastSignInAt) || !c.LastRefreshAt.After(b.LastRefreshAt.Add(-time.Millisecond)) {
		t.Fatalf("refresh: %+v %v", c, err)
	}
	if sec, _ := m.Secrets(ctx, c); sec != (accounts.Secrets{SecureCSES: "CSE.three", HostCOSES: "COS.two", CSESIDX: "200"}) {
		t.Fatal("refresh lost a secret")
	}
	ref := c.SecretRef
	// Unchanged secrets: no new ref, only the time.
	d, err := m.SaveRefresh(ctx, a.ID, accounts.SignInResult{})
	if err != nil || d.SecretRef != ref || mem.Len() != 1 {
		t.Fatalf("unchanged refresh: %+v %v (%d secrets)", d, err, mem.Len())
	}
	// Bad values are refused like a paste would be.
	if _, err := m.SaveRefresh(ctx, a.ID, accounts.SignInResult{Secrets: accounts.Secrets{SecureCSES: "bad value;"}}); err == nil {
		t.Fatal("a cookie with ';' was stored")
	}
	if _, err := m.SaveSignIn(ctx, 0, "x", accounts.SignInResult{Secrets: accounts.Secrets{SecureCSES: "CSE.x", CSESIDX: "1"}, ConfigID: "not-a-uuid"}); err == nil {
		t.Fatal("a bad config id was stored")
	}
	if _, err := m.SaveRefresh(ctx, 424242, accounts.SignInResult{}); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
	if len(changed) < 5 {
		t.Errorf("OnChange called %d times", len(changed))
	}
}
