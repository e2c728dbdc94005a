package store

// The shared suite: every test here runs unchanged against SQLite and
// PostgreSQL (sqlite_test.go and postgres_test.go supply the engines), so
// the two can never drift apart in behaviour.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
)

// engine opens isolated test databases of one kind.
type engine struct {
	name string
	// newDB creates a fresh, empty database that is dropped when the test
	// ends, and returns a function that opens a Store on it (callable many
	// times: reopen, several processes).
	newDB func(t *testing.T) func(ctx context.Context) (*Store, error)
}

// openStore opens a Store and closes it at the end of the test.
func openStore(t *testing.T, open func(context.Context) (*Store, error)) *Store {
	t.Helper()
	s, err := open(t.Context())
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return s
}

// freshStore opens a Store on a new database.
func freshStore(t *testing.T, e engine) *Store {
	t.Helper()
	return openStore(t, e.newDB(t))
}

func newAccount(name, ref string) accounts.NewAccount {
	return accounts.NewAccount{
		Name:          name,
		ConfigID:      "d06739ca-6683-46db-bb51-07395a392439",
		Enabled:       true,
		UserAgent:     "ua/" + name,
		SecretBackend: accounts.BackendSealed,
		SecretRef:     ref,
		SecretHints:   accounts.SecretHints{SecureCSES: "…abcd", HostCOSES: "set", CSESIDX: "…95"},
	}
}

func mustInsert(t *testing.T, s *Store, na accounts.NewAccount) accounts.Account {
	t.Helper()
	a, err := s.Insert(t.Context(), na)
	if err != nil {
		t.Fatalf("Insert(%q): %v", na.Name, err)
	}
	return a
}

func mustGet(t *testing.T, s *Store, id int64) accounts.Account {
	t.Helper()
	a, err := s.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("Get(%d): %v", id, err)
	}
	return a
}

func journalRefs(t *testing.T, s *Store) []string {
	t.Helper()
	list, err := s.JournalList(t.Context())
	if err != nil {
		t.Fatalf("JournalList: %v", err)
	}
	refs := make([]string, 0, len(list))
	for _, e := range list {
		refs = append(refs, e.Backend+":"+e.Ref)
	}
	sort.Strings(refs)
	return refs
}

func equalStrings(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00")
}

// runSuite runs the shared suite on one engine.
func runSuite(t *testing.T, e engine) {
	tests := []struct {
		name string
		fn   func(t *testing.T, e engine)
	}{
		{"CRUD", testCRUD},
		{"DuplicateNames", testDuplicateNames},
		{"NotFound", testNotFound},
		{"Patch", testPatch},
		{"JournalInsert", testJournalInsert},
		{"JournalReplaceSecretRef", testJournalReplace},
		{"JournalDelete", testJournalDelete},
		{"JournalBasics", testJournalBasics},
		{"ConcurrentCounters", testConcurrentCounters},
		{"LastUsedNeverMovesBack", testLastUsedMonotonic},
		{"StatusRoundTrip", testStatus},
		{"CooldownRoundTrip", testCooldown},
		{"RecordCheckRoundTrip", testRecordCheck},
		{"Blobs", testBlobs},
		{"Meta", testMeta},
		{"MetaRace", testMetaRace},
		{"DayRequests", testDayRequests},
		{"KindQuotas", testKindQuotas},
		{"ClientKeys", testClientKeys},
		{"UsageDaysAddUpAcrossInstances", testUsageDays},
		{"ReopenIsIdempotent", testReopen},
		{"ConcurrentStartUp", testConcurrentStartUp},
		{"SchemaTooNew", testSchemaTooNew},
		{"RecordSignIn", testRecordSignIn},
		{"ManagerSignIn", testManagerSignIn},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, e) })
	}
}

func testCRUD(t *testing.T, e engine) {
	s := freshStore(t, e)
	ctx := t.Context()

	if list, err := s.List(ctx); err != nil || len(list) != 0 {
		t.Fatalf("List on empty store = %v, %v; want none", list, err)
	}
	before := time.Now().Add(-time.Second)
	na := newAccount("first", "ref-1")
	a := mustInsert(t, s, na)
	if a.ID <= 0 {
		t.Fatalf("Insert gave id %d, want > 0 (0 is the environment account)", a.ID)
	}
	if a.Name != na.Name || a.ConfigID != na.ConfigID || !a.Enabled || a.UserAgent != na.UserAgent ||
		a.SecretBackend != na.SecretBackend || a.SecretRef != na.SecretRef || a.SecretHints != na.SecretHints {
		t.Errorf("Insert returned %+v, want the fields of %+v", a, na)
	}
	if a.Status != accounts.StatusUnknown || a.StatusReason != "" || a.DisabledReason != "" {
		t.Errorf("new account status = %q/%q/%q, want unknown and no reasons", a.Status, a.StatusReason, a.DisabledReason)
	}
	if a.CreatedAt.Before(before) || !a.UpdatedAt.Equal(a.CreatedAt) {
		t.Errorf("times: created %v updated %v, want now and equal", a.CreatedAt, a.UpdatedAt)
	}
	if !a.LastUsedAt.IsZero() || !a.LastCheckAt.IsZero() || !a.CooldownUntil.IsZero() {
		t.Errorf("unset times are not zero: %v %v %v", a.LastUsedAt, a.LastCheckAt, a.CooldownUntil)
	}
	if a.RequestCount != 0 || a.NetworkErrors != 0 || a.LastCheckOK || a.LastCheckLatency != 0 {
		t.Errorf("counters of a new account: %+v", a)
	}

	off := newAccount("second", "ref-2")
	off.Enabled = false
	b := mustInsert(t, s, off)
	if b.ID <= a.ID || b.Enabled {
		t.Errorf("second account: id %d enabled %v; want id > %d and disabled", b.ID, b.Enabled, a.ID)
	}
	noRef := newAccount("third", "")
	c := mustInsert(t, s, noRef)
	if c.SecretRef != "" {
		t.Errorf("account without secrets has ref %q", c.SecretRef)
	}

	if got := mustGet(t, s, a.ID); got != a {
		t.Errorf("Get = %+v\nwant  %+v", got, a)
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(list) != 3 || list[0] != a || list[1] != b || list[2] != c {
		t.Fatalf("List = %+v, want [a b c] in id order", list)
	}

	del, err := s.Delete(ctx, b.ID)
	if err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if del != b {
		t.Errorf("Delete returned %+v, want %+v", del, b)
	}
	if _, err := s.Get(ctx, b.ID); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
	if _, err := s.Delete(ctx, b.ID); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("second Delete: %v, want ErrNotFound", err)
	}
	// Ids are never reused: a stale id must not name a new account.
	d := mustInsert(t, s, newAccount("fourth", "ref-4"))
	if d.ID <= c.ID {
		t.Errorf("id after a delete = %d, want > %d", d.ID, c.ID)
	}
	if _, err := s.Insert(ctx, newAccount("  ", "ref-5")); err == nil {
		t.Errorf("Insert with a blank name succeeded")
	}
}

func testDuplicateNames(t *testing.T, e engine) {
	s := freshStore(t, e)
	ctx := t.Context()
	a := mustInsert(t, s, newAccount("Alpha", "ref-a"))
	b := mustInsert(t, s, newAccount("Σίσυφος", "ref-b"))

	for _, name := range []string{"Alpha", "alpha", "ALPHA", "aLpHa", "ΣΊΣΥΦΟΣ", "σίσυφος"} {
		if _, err := s.Insert(ctx, newAccount(name, "ref-"+name)); !errors.Is(err, accounts.ErrDuplicate) {
			t.Errorf("Insert(%q) = %v, want ErrDuplicate", name, err)
		}
	}
	// The failed inserts left nothing behind.
	if list, _ := s.List(ctx); len(list) != 2 {
		t.Errorf("after refused inserts there are %d accounts, want 2", len(list))
	}
	upper := "ALPHA"
	if _, err := s.Update(ctx, b.ID, accounts.Patch{Name: &upper}); !errors.Is(err, accounts.ErrDuplicate) {
		t.Errorf("renaming another account to %q = %v, want ErrDuplicate", upper, err)
	}
	// An account may change the case of its own name.
	got, err := s.Update(ctx, a.ID, accounts.Patch{Name: &upper})
	if err != nil || got.Name != upper {
		t.Errorf("renaming %q to %q = %+v, %v", a.Name, upper, got, err)
	}
	// Two accounts can never share a secret ref.
	if _, err := s.Insert(ctx, newAccount("gamma", "ref-a")); !errors.Is(err, accounts.ErrDuplicate) ||
		strings.Contains(err.Error(), "name") {
		t.Errorf("Insert with a used secret ref = %v, want ErrDuplicate about the ref, not the name", err)
	}
	// The freed name is free again.
	if _, err := s.Delete(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	mustInsert(t, s, newAccount("σίσυφος", "ref-c"))
}

func testNotFound(t *testing.T, e engine) {
	s := freshStore(t, e)
	const id = 424242
	at := time.Now()
	name := "x"
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Get", func(ctx context.Context) error { _, err := s.Get(ctx, id); return err }},
		{"Update", func(ctx context.Context) error { _, err := s.Update(ctx, id, accounts.Patch{Name: &name}); return err }},
		{"UpdateEmptyPatch", func(ctx context.Context) error { _, err := s.Update(ctx, id, accounts.Patch{}); return err }},
		{"ReplaceSecretRef", func(ctx context.Context) error {
			_, err := s.ReplaceSecretRef(ctx, id, accounts.BackendSealed, "r", accounts.SecretHints{})
			return err
		}},
		{"Delete", func(ctx context.Context) error { _, err := s.Delete(ctx, id); return err }},
		{"AddUsage", func(ctx context.Context) error { return s.AddUsage(ctx, id, 1, at) }},
		{"SetStatus", func(ctx context.Context) error { return s.SetStatus(ctx, id, accounts.StatusHealthy, "", false) }},
		{"SetStatusDisable", func(ctx context.Context) error { return s.SetStatus(ctx, id, accounts.StatusBanned, "403", true) }},
		{"SetCooldown", func(ctx context.Context) error { return s.SetCooldown(ctx, id, at, "429") }},
		{"AddNetworkError", func(ctx context.Context) error { _, err := s.AddNetworkError(ctx, id); return err }},
		{"ResetNetworkErrors", func(ctx context.Context) error { return s.ResetNetworkErrors(ctx, id) }},
		{"RecordCheck", func(ctx context.Context) error { return s.RecordCheck(ctx, id, accounts.CheckRecord{At: at}) }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(t.Context()); !errors.Is(err, accounts.ErrNotFound) {
				t.Errorf("%s on unknown id = %v, want ErrNotFound", c.name, err)
			}
		})
	}
	// ReplaceSecretRef on an unknown account must not touch the journal.
	if refs := journalRefs(t, s); len(refs) != 0 {
		t.Errorf("journal after failed calls = %v, want empty", refs)
	}
}

func testPatch(t *testing.T, e engine) {
	s := freshStore(t, e)
	ctx := t.Context()
	orig := mustInsert(t, s, newAccount("patchme", "ref-p"))
	str := func(v string) *string { return &v }
	no := false

	cases := []struct {
		name  string
		patch accounts.Patch
		want  func(a *accounts.Account)
	}{
		{"empty patch changes nothing", accounts.Patch{}, func(*accounts.Account) {}},
		{"name", accounts.Patch{Name: str("renamed")}, func(a *accounts.Account) { a.Name = "renamed" }},
		{"config id", accounts.Patch{ConfigID: str("11111111-2222-3333-4444-555555555555")},
			func(a *accounts.Account) { a.ConfigID = "11111111-2222-3333-4444-555555555555" }},
		{"disable with reason", accounts.Patch{Enabled: &no, DisabledReason: str("disabled by user")},
			func(a *accounts.Account) { a.Enabled = false; a.DisabledReason = "disabled by user" }},
		{"user agent only", accounts.Patch{UserAgent: str("Mozilla/5.0 test")},
			func(a *accounts.Account) { a.UserAgent = "Mozilla/5.0 test" }},
		{"empty strings are values, not nil", accounts.Patch{UserAgent: str(""), DisabledReason: str("")},
			func(a *accounts.Account) { a.UserAgent = ""; a.DisabledReason = "" }},
	}
	want := orig
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			time.Sleep(2 * time.Millisecond) // so updated_at visibly moves
			prev := want
			got, err := s.Update(ctx, orig.ID, c.patch)
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			c.want(&want)
			if !got.UpdatedAt.After(prev.UpdatedAt) {
				t.Errorf("updated_at %v did not move past %v", got.UpdatedAt, prev.UpdatedAt)
			}
			want.UpdatedAt = got.UpdatedAt
			if got != want {
				t.Errorf("Update = %+v\nwant     %+v", got, want)
			}
			if stored := mustGet(t, s, orig.ID); stored != got {
				t.Errorf("Get after Update = %+v\nwant             %+v", stored, got)
			}
		})
	}
	if _, err := s.Update(ctx, orig.ID, accounts.Patch{Name: str("")}); err == nil {
		t.Errorf("Update to an empty name succeeded")
	}
}

func testJournalInsert(t *testing.T, e engine) {
	s := freshStore(t, e)
	ctx := t.Context()
	for _, ref := range []string{"r1", "r2"} {
		if err := s.JournalAdd(ctx, accounts.BackendKeychain, ref); err != nil {
			t.Fatal(err)
		}
	}
	mustInsert(t, s, newAccount("one", "r1"))
	if got, want := journalRefs(t, s), []string{"keychain:r2"}; !equalStrings(got, want) {
		t.Errorf("journal after Insert = %v, want %v", got, want)
	}
	// A refused Insert rolls back: its ref stays journaled for Recover.
	if _, err := s.Insert(ctx, newAccount("ONE", "r2")); !errors.Is(err, accounts.ErrDuplicate) {
		t.Fatalf("duplicate Insert = %v", err)
	}
	if got, want := journalRefs(t, s), []string{"keychain:r2"}; !equalStrings(got, want) {
		t.Errorf("journal after a refused Insert = %v, want %v", got, want)
	}
}

func testJournalReplace(t *testing.T, e engine) {
	s := freshStore(t, e)
	ctx := t.Context()
	a := mustInsert(t, s, newAccount("acc", "old-ref"))
	if err := s.JournalAdd(ctx, accounts.BackendSealed, "new-ref"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	hints := accounts.SecretHints{SecureCSES: "…wxyz", CSESIDX: "…42"}
	got, err := s.ReplaceSecretRef(ctx, a.ID, accounts.BackendKeychain, "new-ref", hints)
	if err != nil {
		t.Fatalf("ReplaceSecretRef: %v", err)
	}
	if got.SecretBackend != accounts.BackendKeychain || got.SecretRef != "new-ref" || got.SecretHints != hints {
		t.Errorf("after ReplaceSecretRef: backend %q ref %q hints %+v", got.SecretBackend, got.SecretRef, got.SecretHints)
	}
	if !got.UpdatedAt.After(a.UpdatedAt) {
		t.Errorf("updated_at not bumped")
	}
	if stored := mustGet(t, s, a.ID); stored != got {
		t.Errorf("Get = %+v, want %+v", stored, got)
	}
	// The new ref now belongs to the account; the old one, under its own
	// backend, waits for deletion.
	if refs, want := journalRefs(t, s), []string{"sealed:old-ref"}; !equalStrings(refs, want) {
		t.Errorf("journal = %v, want %v", refs, want)
	}
	// A ref already owned by another account is refused, and nothing moves.
	b := mustInsert(t, s, newAccount("other", "b-ref"))
	if _, err := s.ReplaceSecretRef(ctx, a.ID, accounts.BackendSealed, "b-ref", hints); !errors.Is(err, accounts.ErrDuplicate) {
		t.Errorf("ReplaceSecretRef to a used ref = %v, want ErrDuplicate", err)
	}
	if refs, want := journalRefs(t, s), []string{"sealed:old-ref"}; !equalStrings(refs, want) {
		t.Errorf("journal after a refused replace = %v, want %v", refs, want)
	}
	if got := mustGet(t, s, b.ID); got.SecretRef != "b-ref" {
		t.Errorf("other account's ref changed to %q", got.SecretRef)
	}
	// Replacing a ref with itself journals nothing.
	if _, err := s.ReplaceSecretRef(ctx, a.ID, accounts.BackendKeychain, "new-ref", hints); err != nil {
		t.Fatal(err)
	}
	if refs, want := journalRefs(t, s), []string{"sealed:old-ref"}; !equalStrings(refs, want) {
		t.Errorf("journal after a same-ref replace = %v, want %v", refs, want)
	}
}

func testJournalDelete(t *testing.T, e engine) {
	s := freshStore(t, e)
	ctx := t.Context()
	a := mustInsert(t, s, newAccount("doomed", "doomed-ref"))
	noRef := mustInsert(t, s, newAccount("noref", ""))
	if _, err := s.Delete(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, noRef.ID); err != nil {
		t.Fatal(err)
	}
	if refs, want := journalRefs(t, s), []string{"sealed:doomed-ref"}; !equalStrings(refs, want) {
		t.Errorf("journal after Delete = %v, want %v", refs, want)
	}
}

func testJournalBasics(t *testing.T, e engine) {
	s := freshStore(t, e)
	ctx := t.Context()
	if err := s.JournalAdd(ctx, accounts.BackendSealed, "x"); err != nil {
		t.Fatal(err)
	}
	if err := s.JournalAdd(ctx, accounts.BackendSealed, "x"); err != nil {
		t.Errorf("adding a ref twice: %v", err)
	}
	if err := s.JournalAdd(ctx, accounts.BackendSealed, ""); err == nil {
		t.Errorf("adding an empty ref succeeded")
	}
	if refs, want := journalRefs(t, s), []string{"sealed:x"}; !equalStrings(refs, want) {
		t.Errorf("journal = %v, want %v", refs, want)
	}
	if err := s.JournalRemove(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if err := s.JournalRemove(ctx, "x"); err != nil {
		t.Errorf("removing an unknown ref: %v", err)
	}
	if refs := journalRefs(t, s); len(refs) != 0 {
		t.Errorf("journal = %v, want empty", refs)
	}
}

func testConcurrentCounters(t *testing.T, e engine) {
	s := freshStore(t, e)
	ctx := t.Context()
	a := mustInsert(t, s, newAccount("busy", "busy-ref"))
	const workers, perWorker = 8, 250
	base := time.Now().Truncate(time.Millisecond)

	var wg sync.WaitGroup
	errs := make(chan error, 2*workers)
	seen := make(chan int, workers*perWorker)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				at := base.Add(time.Duration(w*perWorker+i) * time.Millisecond)
				if err := s.AddUsage(ctx, a.ID, 1, at); err != nil {
					errs <- fmt.Errorf("AddUsage: %w", err)
					return
				}
			}
		})
		wg.Go(func() {
			for range perWorker {
				n, err := s.AddNetworkError(ctx, a.ID)
				if err != nil {
					errs <- fmt.Errorf("AddNetworkError: %w", err)
					return
				}
				seen <- n
			}
		})
	}
	wg.Wait()
	close(errs)
	close(seen)
	for err := range errs {
		t.Error(err)
	}
	got := mustGet(t, s, a.ID)
	if got.RequestCount != workers*perWorker {
		t.Errorf("request_count = %d, want %d", got.RequestCount, workers*perWorker)
	}
	if got.NetworkErrors != workers*perWorker {
		t.Errorf("network_errors = %d, want %d", got.NetworkErrors, workers*perWorker)
	}
	wantLast := base.Add(time.Duration(workers*perWorker-1) * time.Millisecond)
	if !got.LastUsedAt.Equal(wantLast) {
		t.Errorf("last_used_at = %v, want the latest, %v", got.LastUsedAt, wantLast)
	}
	// Every increment returned its own new value: no two callers saw the
	// same count.
	values := map[int]bool{}
	for n := range seen {
		if values[n] {
			t.Errorf("AddNetworkError returned %d twice", n)
		}
		values[n] = true
	}
	for n := 1; n <= workers*perWorker; n++ {
		if !values[n] {
			t.Errorf("AddNetworkError never returned %d", n)
			break
		}
	}
	if err := s.ResetNetworkErrors(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := s.AddNetworkError(ctx, a.ID); err != nil || n != 1 {
		t.Errorf("AddNetworkError after reset = %d, %v; want 1", n, err)
	}
}

func testLastUsedMonotonic(t *testing.T, e engine) {
	s := freshStore(t, e)
	ctx := t.Context()
	a := mustInsert(t, s, newAccount("mono", "mono-ref"))
	late := time.Date(2026, 5, 9, 12, 0, 0, 123_456_789, time.UTC)
	if err := s.AddUsage(ctx, a.ID, 3, late); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUsage(ctx, a.ID, 2, late.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUsage(ctx, a.ID, 1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	got := mustGet(t, s, a.ID)
	if got.RequestCount != 6 {
		t.Errorf("request_count = %d, want 6", got.RequestCount)
	}
	if want := late.Truncate(time.Millisecond); !got.LastUsedAt.Equal(want) {
		t.Errorf("last_used_at = %v, want %v (never moved back)", got.LastUsedAt, want)
	}
	if err := s.AddUsage(ctx, a.ID, -1, late); err == nil {
		t.Errorf("AddUsage with a negative count succeeded")
	}
}

func testStatus(t *testing.T, e engine) {
	s := freshStore(t, e)
	ctx := t.Context()
	a := mustInsert(t, s, newAccount("st", "st-ref"))
	if err := s.SetStatus(ctx, a.ID, accounts.StatusUnhealthy, "3 network errors", false); err != nil {
		t.Fatal(err)
	}
	got := mustGet(t, s, a.ID)
	if got.Status != accounts.StatusUnhealthy || got.StatusReason != "3 network errors" || !got.Enabled || got.DisabledReason != "" {
		t.Errorf("after SetStatus: %q %q enabled=%v %q", got.Status, got.StatusReason, got.Enabled, got.DisabledReason)
	}
	if !got.UpdatedAt.Equal(a.UpdatedAt) {
		t.Errorf("a health status change moved updated_at")
	}
	if err := s.SetStatus(ctx, a.ID, accounts.StatusExpired, "expired: cookies rejected", true); err != nil {
		t.Fatal(err)
	}
	got = mustGet(t, s, a.ID)
	if got.Status != accounts.StatusExpired || got.StatusReason != "expired: cookies rejected" ||
		got.Enabled || got.DisabledReason != "expired: cookies rejected" {
		t.Errorf("after SetStatus(disable): %q %q enabled=%v %q", got.Status, got.StatusReason, got.Enabled, got.DisabledReason)
	}
	if err := s.SetStatus(ctx, a.ID, accounts.StatusUnknown, "", false); err != nil {
		t.Fatal(err)
	}
	got = mustGet(t, s, a.ID)
	if got.Status != accounts.StatusUnknown || got.StatusReason != "" || got.Enabled {
		t.Errorf("a status change without disable must not re-enable: %+v", got)
	}
}

func testCooldown(t *testing.T, e engine) {
	s := freshStore(t, e)
	ctx := t.Context()
	a := mustInsert(t, s, newAccount("cool", "cool-ref"))
	until := time.Now().Add(5 * time.Minute) // with nanoseconds and a monotonic reading
	if err := s.SetCooldown(ctx, a.ID, until, "429 quota"); err != nil {
		t.Fatal(err)
	}
	got := mustGet(t, s, a.ID)
	if want := until.Truncate(time.Millisecond); !got.CooldownUntil.Equal(want) || got.CooldownReason != "429 quota" {
		t.Errorf("cooldown = %v %q, want %v %q", got.CooldownUntil, got.CooldownReason, want, "429 quota")
	}
	if !got.Cooling(time.Now()) {
		t.Errorf("account not cooling")
	}
	if err := s.SetCooldown(ctx, a.ID, time.Time{}, "ignored"); err != nil {
		t.Fatal(err)
	}
	got = mustGet(t, s, a.ID)
	if !got.CooldownUntil.IsZero() || got.CooldownReason != "" {
		t.Errorf("cleared cooldown = %v %q, want zero and no reason", got.CooldownUntil, got.CooldownReason)
	}
}

func testRecordCheck(t *testing.T, e engine) {
	s := freshStore(t, e)
	ctx := t.Context()
	a := mustInsert(t, s, newAccount("chk", "chk-ref"))
	at := time.Date(2026, 1, 2, 3, 4, 5, 678_901_234, time.FixedZone("UTC+3", 3*3600))
	rec := accounts.CheckRecord{At: at, OK: true, Latency: 1234*time.Millisecond + 567*time.Microsecond, Message: "signed in"}
	if err := s.RecordCheck(ctx, a.ID, rec); err != nil {
		t.Fatal(err)
	}
	got := mustGet(t, s, a.ID)
	if !got.LastCheckAt.Equal(at.Truncate(time.Millisecond)) || !got.LastCheckOK ||
		got.LastCheckLatency != 1234*time.Millisecond || got.LastCheckMessage != "signed in" {
		t.Errorf("check = %v %v %v %q", got.LastCheckAt, got.LastCheckOK, got.LastCheckLatency, got.LastCheckMessage)
	}
	if got.Status != accounts.StatusUnknown {
		t.Errorf("RecordCheck changed the status to %q", got.Status)
	}
	rec = accounts.CheckRecord{At: at.Add(time.Minute), OK: false, Latency: 0, Message: "timeout"}
	if err := s.RecordCheck(ctx, a.ID, rec); err != nil {
		t.Fatal(err)
	}
	got = mustGet(t, s, a.ID)
	if !got.LastCheckAt.Equal(rec.At.Truncate(time.Millisecond)) || got.LastCheckOK || got.LastCheckMessage != "timeout" {
		t.Errorf("second check = %v %v %q", got.LastCheckAt, got.LastCheckOK, got.LastCheckMessage)
	}
}

func testBlobs(t *testing.T, e engine) {
	s := freshStore(t, e)
	ctx := t.Context()
	if _, err := s.GetBlob(ctx, "none"); !errors.Is(err, accounts.ErrSecretNotFound) {
		t.Errorf("GetBlob of a missing ref = %v, want ErrSecretNotFound", err)
	}
	blob := []byte{0, 1, 2, 0xff, 0, 'x', 0}
	if err := s.PutBlob(ctx, "r", blob); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetBlob(ctx, "r"); err != nil || !bytes.Equal(got, blob) {
		t.Errorf("GetBlob = %x, %v; want %x", got, err, blob)
	}
	blob2 := bytes.Repeat([]byte{0xab}, 64<<10)
	if err := s.PutBlob(ctx, "r", blob2); err != nil {
		t.Fatalf("PutBlob over an existing blob: %v", err)
	}
	if got, err := s.GetBlob(ctx, "r"); err != nil || !bytes.Equal(got, blob2) {
		t.Errorf("GetBlob after overwrite: %d bytes, %v; want %d bytes", len(got), err, len(blob2))
	}
	if err := s.PutBlob(ctx, "empty", nil); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetBlob(ctx, "empty"); err != nil || len(got) != 0 {
		t.Errorf("GetBlob of an empty blob = %x, %v", got, err)
	}
	if err := s.DeleteBlob(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetBlob(ctx, "r"); !errors.Is(err, accounts.ErrSecretNotFound) {
		t.Errorf("GetBlob after DeleteBlob = %v, want ErrSecretNotFound", err)
	}
	if err := s.DeleteBlob(ctx, "r"); err != nil {
		t.Errorf("DeleteBlob of a missing ref: %v", err)
	}
}

func testMeta(t *testing.T, e engine) {
	s := freshStore(t, e)
	ctx := t.Context()
	if v, ok, err := s.GetMeta(ctx, "k"); err != nil || ok || v != "" {
		t.Errorf("GetMeta of a missing key = %q, %v, %v", v, ok, err)
	}
	if v, err := s.PutMetaIfAbsent(ctx, "k", "first"); err != nil || v != "first" {
		t.Errorf("PutMetaIfAbsent = %q, %v; want first", v, err)
	}
	if v, err := s.PutMetaIfAbsent(ctx, "k", "second"); err != nil || v != "first" {
		t.Errorf("second PutMetaIfAbsent = %q, %v; want the existing first", v, err)
	}
	if v, ok, err := s.GetMeta(ctx, "k"); err != nil || !ok || v != "first" {
		t.Errorf("GetMeta = %q, %v, %v; want first", v, ok, err)
	}
}

// Two instances on one database count into the same day without losing
// an addition; other days are apart.
func testDayRequests(t *testing.T, e engine) {
	open := e.newDB(t)
	stores := []*Store{openStore(t, open), openStore(t, open)}
	ctx := t.Context()
	if n, err := stores[0].DayRequests(ctx, "2026-11-28"); err != nil || n != 0 {
		t.Fatalf("a day without requests = %d, %v", n, err)
	}
	const workers, each = 8, 25
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			for range each {
				if err := stores[i%2].AddDayRequests(ctx, "2026-11-28", 2); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := stores[1].AddDayRequests(ctx, "2026-11-29", 5); err != nil {
		t.Fatal(err)
	}
	if n, err := stores[1].DayRequests(ctx, "2026-11-28"); err != nil || n != workers*each*2 {
		t.Errorf("2026-11-28 = %d, %v; want %d", n, err, workers*each*2)
	}
	if n, err := stores[0].DayRequests(ctx, "2026-11-29"); err != nil || n != 5 {
		t.Errorf("2026-11-29 = %d, %v; want 5", n, err)
	}
	if err := stores[0].AddDayRequests(ctx, "2026-11-29", -1); err == nil {
		t.Error("a negative count was accepted")
	}
}

func testMetaRace(t *testing.T, e engine) {
	open := e.newDB(t)
	// Two Stores on one database: as close to two processes as a test gets.
	stores := []*Store{openStore(t, open), openStore(t, open)}
	ctx := t.Context()
	const n = 16
	results := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			results[i], errs[i] = stores[i%2].PutMetaIfAbsent(ctx, "sealed.check", fmt.Sprintf("candidate-%d", i))
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("PutMetaIfAbsent #%d: %v", i, errs[i])
		}
		if results[i] != results[0] {
			t.Errorf("caller %d saw %q, caller 0 saw %q: there must be one winner", i, results[i], results[0])
		}
	}
	if v, _, _ := stores[1].GetMeta(ctx, "sealed.check"); v != results[0] {
		t.Errorf("stored %q, callers saw %q", v, results[0])
	}
}

func countMigrations(t *testing.T, s *Store) (rows int, maxVersion int64) {
	t.Helper()
	if err := s.db.QueryRowContext(t.Context(), `SELECT COUNT(*), COALESCE(MAX(version), 0) FROM schema_migrations`).
		Scan(&rows, &maxVersion); err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	return rows, maxVersion
}

func latestVersion(t *testing.T, s *Store) int64 {
	t.Helper()
	migs, err := loadMigrations(migrationFS, s.d.migrationsDir)
	if err != nil {
		t.Fatal(err)
	}
	return migs[len(migs)-1].version
}

// embeddedCount is the number of embedded migrations (versions need not
// be contiguous while branches that each add one are merged).
func embeddedCount(t *testing.T, s *Store) int {
	t.Helper()
	migs, err := loadMigrations(migrationFS, s.d.migrationsDir)
	if err != nil {
		t.Fatal(err)
	}
	return len(migs)
}

func testReopen(t *testing.T, e engine) {
	open := e.newDB(t)
	s, err := open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	a := mustInsert(t, s, newAccount("kept", "kept-ref"))
	if err := s.AddUsage(t.Context(), a.ID, 5, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.PutBlob(t.Context(), "kept-ref", []byte("ciphertext")); err != nil {
		t.Fatal(err)
	}
	wantRows, wantMax := countMigrations(t, s)
	if wantMax != latestVersion(t, s) || wantRows != embeddedCount(t, s) {
		t.Errorf("schema_migrations: %d rows, max %d; want one row per version up to %d", wantRows, wantMax, latestVersion(t, s))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	s2 := openStore(t, open)
	if rows, max := countMigrations(t, s2); rows != wantRows || max != wantMax {
		t.Errorf("after reopen schema_migrations has %d rows (max %d), want %d (max %d)", rows, max, wantRows, wantMax)
	}
	got := mustGet(t, s2, a.ID)
	if got.Name != "kept" || got.RequestCount != 5 {
		t.Errorf("after reopen: %+v", got)
	}
	if b, err := s2.GetBlob(t.Context(), "kept-ref"); err != nil || string(b) != "ciphertext" {
		t.Errorf("blob after reopen = %q, %v", b, err)
	}
}

// testConcurrentStartUp opens several Stores on one new database at once:
// each migration must be applied exactly once and every Open must succeed.
func testConcurrentStartUp(t *testing.T, e engine) {
	open := e.newDB(t)
	const n = 4
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = open(t.Context())
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Open #%d: %v", i, errs[i])
			continue
		}
		defer stores[i].Close()
	}
	if t.Failed() {
		return
	}
	if rows, max := countMigrations(t, stores[0]); rows != embeddedCount(t, stores[0]) || max != latestVersion(t, stores[0]) {
		t.Errorf("schema_migrations has %d rows, max %d: a migration was applied twice or skipped", rows, max)
	}
}

func testSchemaTooNew(t *testing.T, e engine) {
	open := e.newDB(t)
	s, err := open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	known := latestVersion(t, s)
	// What a newer gemini-gateway would leave behind.
	if _, err := s.db.ExecContext(t.Context(), `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
		int64(9999), s.timeArg(time.Now())); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := open(t.Context())
	if err == nil {
		s2.Close()
		t.Fatal("Open of a database with a newer schema succeeded")
	}
	if !errors.Is(err, accounts.ErrSchemaTooNew) {
		t.Fatalf("Open = %v, want ErrSchemaTooNew", err)
	}
	msg := err.Error()
	for _, want := range []string{"9999", fmt.Sprint(known), "newer gemini-gateway"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	t.Logf("refusal reads: %v", err)
}
