package app

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/app/store"
	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/internal/keystoretest"
)

// crashingStore stops the calling goroutine dead, as a process kill would
// (no cleanup runs), when RecordSignIn is called and crashBeforeRow is set.
type crashingStore struct {
	*store.Store
	crashBeforeRow bool
}

func (c *crashingStore) RecordSignIn(ctx context.Context, id int64, u accounts.SignInUpdate) (accounts.Account, error) {
	if c.crashBeforeRow {
		runtime.Goexit()
	}
	return c.Store.RecordSignIn(ctx, id, u)
}

// crashingSecrets dies on Delete when crashOnDelete is set: the moment
// after the row names the new secret and before the old one is gone.
type crashingSecrets struct {
	*keystoretest.Memory
	crashOnDelete bool
}

func (c *crashingSecrets) Delete(ctx context.Context, ref string) error {
	if c.crashOnDelete {
		runtime.Goexit()
	}
	return c.Memory.Delete(ctx, ref)
}

// inCrashingGoroutine runs fn and reports whether it "crashed" (Goexit).
func inCrashingGoroutine(fn func()) (crashed bool) {
	var wg sync.WaitGroup
	wg.Add(1)
	crashed = true
	go func() {
		defer wg.Done()
		fn()
		crashed = false
	}()
	wg.Wait()
	return crashed
}

// A crash at either point of a cookie refresh never leaves the account
// without readable cookies, and recovery at the next start leaves exactly
// one secret and an empty journal.
func TestRefreshCrashNeverLosesTheCookie(t *testing.T) {
	for _, point := range []string{"after the new secret, before the row", "after the row, before deleting the old secret"} {
		t.Run(point, func(t *testing.T) {
			ctx := context.Background()
			st, err := store.OpenSQLite(ctx, t.TempDir()+"/gateway.db")
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			mem := &crashingSecrets{Memory: keystoretest.NewMemory()}
			cs := &crashingStore{Store: st}
			mgr := &accounts.Manager{Store: cs, Backends: map[string]accounts.SecretStore{accounts.BackendKeychain: mem}, Default: accounts.BackendKeychain}
			a, err := mgr.Create(ctx, accounts.Input{Name: "a", SecureCSES: "CSE.before", CSESIDX: "7", ConfigID: "d06739ca-6683-46db-bb51-07395a392439"})
			if err != nil {
				t.Fatal(err)
			}
			secondPoint := point != "after the new secret, before the row"
			cs.crashBeforeRow, mem.crashOnDelete = !secondPoint, secondPoint
			if !inCrashingGoroutine(func() {
				mgr.SaveRefresh(ctx, a.ID, accounts.SignInResult{Secrets: accounts.Secrets{SecureCSES: "CSE.after"}, ExpiresAt: time.Now().Add(time.Hour)})
			}) {
				t.Fatal("the refresh did not reach the crash point")
			}
			if mem.Len() != 2 {
				t.Fatalf("%d secrets at the crash, want 2 (old and new)", mem.Len())
			}
			// Restart: a new Manager on the same database and secret store.
			cs.crashBeforeRow, mem.crashOnDelete = false, false
			mgr2 := &accounts.Manager{Store: st, Backends: map[string]accounts.SecretStore{accounts.BackendKeychain: mem}, Default: accounts.BackendKeychain}
			if _, err := mgr2.Recover(ctx); err != nil {
				t.Fatal(err)
			}
			got, err := mgr2.Get(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			sec, err := mgr2.Secrets(ctx, got)
			if err != nil {
				t.Fatalf("the account lost its cookies: %v", err)
			}
			want := "CSE.before"
			if secondPoint {
				want = "CSE.after" // the row was written: the new cookie is the account's
			}
			if sec.SecureCSES != want || sec.CSESIDX != "7" {
				t.Fatalf("cookie %q, want %q", sec.SecureCSES, want)
			}
			if mem.Len() != 1 {
				t.Errorf("%d secrets after recovery, want 1", mem.Len())
			}
			if j, _ := st.JournalList(ctx); len(j) != 0 {
				t.Errorf("journal after recovery: %v", j)
			}
		})
	}
}
