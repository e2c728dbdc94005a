package app

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/app/internal/pgtest"
	"github.com/gemgate/gemini-gateway/app/store"
	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/keystore"
)

// TestMain lets this test binary also act as the child of the durability
// test: a process that writes accounts as fast as it can until killed.
func TestMain(m *testing.M) {
	if os.Getenv("GG_DURABILITY_CHILD") == "1" {
		os.Exit(durabilityChild())
	}
	os.Exit(m.Run())
}

// openBackends opens the store and the secret store the durability test
// names in the environment.
func openBackends(ctx context.Context) (*store.Store, *accounts.Manager, error) {
	st, err := store.Open(ctx, os.Getenv("GG_DATA_DIR"), os.Getenv("GG_DB_URL"))
	if err != nil {
		return nil, nil, err
	}
	mgr := &accounts.Manager{Store: st, Backends: map[string]accounts.SecretStore{}}
	switch os.Getenv("GG_SECRETS") {
	case "sealed":
		s, err := keystore.OpenSealed(ctx, "durability test key, long enough", st)
		if err != nil {
			return nil, nil, err
		}
		mgr.Backends[accounts.BackendSealed], mgr.Default = s, accounts.BackendSealed
	case "keychain":
		k, err := keystore.NewKeyring("io.github.gemgate.geminigateway.test-durability")
		if err != nil {
			return nil, nil, err
		}
		mgr.Backends[accounts.BackendKeychain], mgr.Default = k, accounts.BackendKeychain
	}
	return st, mgr, nil
}

func durabilityChild() int {
	ctx := context.Background()
	_, mgr, err := openBackends(ctx)
	if err != nil {
		fmt.Println("ERR", err)
		return 1
	}
	out := bufio.NewWriter(os.Stdout)
	start, _ := strconv.Atoi(os.Getenv("GG_START"))
	for i := start; ; i++ {
		in := accounts.Input{Name: fmt.Sprintf("burst-%d", i), SecureCSES: fmt.Sprintf("CSE.burst-cookie-%06d", i),
			CSESIDX: strconv.Itoa(1000000 + i), ConfigID: "5f2b8c1e-93a4-4d7f-b2e6-0c9a1d3e7f48"}
		a, err := mgr.Create(ctx, in)
		if err != nil {
			fmt.Fprintln(out, "ERR", err)
			out.Flush()
			return 1
		}
		// Acknowledged: Create returned, so the caller was told it worked.
		fmt.Fprintf(out, "ACK %d %s\n", a.ID, a.Name)
		out.Flush()
		if i%3 == 0 {
			// Cookie refreshes too, through the same journal.
			if _, err := mgr.SaveRefresh(ctx, a.ID, accounts.SignInResult{
				Secrets: accounts.Secrets{SecureCSES: fmt.Sprintf("CSE.refreshed-%06d", i)}, ExpiresAt: time.Now().Add(24 * time.Hour)}); err == nil {
				fmt.Fprintf(out, "REF %d\n", a.ID)
			}
		}
		if i%3 == 2 {
			// Deletes and secret rotations interleave with the creates.
			if _, err := mgr.Update(ctx, a.ID, accounts.Input{SecureCSES: fmt.Sprintf("CSE.rotated-%06d", i)}); err == nil {
				fmt.Fprintf(out, "ROT %d\n", a.ID)
			}
			// Announced first: a delete killed half-way may or may not
			// have happened, and the parent must not call either lost.
			fmt.Fprintf(out, "TRYDEL %d\n", a.ID-1)
			out.Flush()
			if err := mgr.Delete(ctx, a.ID-1); err == nil {
				fmt.Fprintf(out, "DEL %d\n", a.ID-1)
			}
			out.Flush()
		}
	}
}

// TestDurabilityKill9 kills a process in the middle of a burst of account
// writes and restarts: every acknowledged write is there, the database
// opens cleanly, and the secret store and the database agree.
func TestDurabilityKill9(t *testing.T) {
	cases := []struct {
		name, secrets string
		db            func(t *testing.T) string
	}{
		{"sqlite+sealed", "sealed", func(t *testing.T) string { return "" }},
		{"postgres+sealed", "sealed", func(t *testing.T) string { u, _ := pgtest.Schema(t); return u }},
		{"sqlite+keychain", "keychain", func(t *testing.T) string { needKeychain(t); return "" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dbURL := tc.db(t)
			dataDir := t.TempDir()
			env := append(os.Environ(), "GG_DURABILITY_CHILD=1", "GG_DATA_DIR="+dataDir, "GG_DB_URL="+dbURL, "GG_SECRETS="+tc.secrets)
			acked := map[int64]string{}
			late := 0 // lines read after the kill
			deleted := map[int64]bool{}
			tried := map[int64]bool{} // a delete started, maybe not finished
			rotated := map[int64]bool{}
			refreshed := map[int64]bool{}
			for round := 0; round < 3; round++ {
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(env, "GG_START="+strconv.Itoa(round*1000))
				stdout, _ := cmd.StdoutPipe()
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				// Read to the end, past the kill: a line the child wrote
				// before it died is an acknowledgement like any other,
				// and every one of them is checked below.
				sc := bufio.NewScanner(stdout)
				n, killed := 0, false
				target := 25 + round*7
				for sc.Scan() {
					f := strings.Fields(sc.Text())
					if len(f) < 2 {
						continue
					}
					id, err := strconv.ParseInt(f[1], 10, 64)
					if f[0] == "ERR" {
						t.Fatalf("child: %s", sc.Text())
					}
					if err != nil {
						t.Fatalf("child wrote %q", sc.Text())
					}
					switch f[0] {
					case "ACK":
						if len(f) != 3 {
							t.Fatalf("child wrote %q", sc.Text())
						}
						acked[id] = f[2]
						n++
					case "TRYDEL":
						tried[id] = true
					case "DEL":
						deleted[id] = true
					case "ROT":
						rotated[id] = true
					case "REF":
						refreshed[id] = true
					case "ERR":
						t.Fatalf("child: %s", sc.Text())
					}
					if killed {
						late++
					}
					if n == target && !killed {
						// In the middle of the next write, most likely.
						time.Sleep(time.Duration(round) * time.Millisecond)
						cmd.Process.Signal(syscall.SIGKILL)
						killed = true
					}
				}
				if !killed {
					t.Fatalf("child stopped after %d acknowledgements without being killed", n)
				}
				cmd.Wait()
			}

			ctx := context.Background()
			os.Setenv("GG_DATA_DIR", dataDir)
			os.Setenv("GG_DB_URL", dbURL)
			os.Setenv("GG_SECRETS", tc.secrets)
			defer os.Unsetenv("GG_DATA_DIR")
			st, mgr, err := openBackends(ctx)
			if err != nil {
				t.Fatalf("reopen after kill -9: %v", err)
			}
			defer st.Close()
			if _, err := mgr.Recover(ctx); err != nil {
				t.Fatalf("recover: %v", err)
			}
			list, err := st.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			byID := map[int64]accounts.Account{}
			for _, a := range list {
				byID[a.ID] = a
			}
			for id, name := range acked {
				if deleted[id] {
					if _, ok := byID[id]; ok {
						t.Errorf("acknowledged delete of %d lost", id)
					}
					continue
				}
				a, ok := byID[id]
				if !ok && tried[id] {
					continue // its delete was under way when the child died
				}
				if !ok || a.Name != name {
					t.Errorf("acknowledged account %d (%s) lost", id, name)
					continue
				}
			}
			// Every account (acknowledged or not) has readable secrets.
			for _, a := range list {
				s, err := mgr.Secrets(ctx, a)
				if err != nil {
					t.Errorf("account %s: %v", a.Name, err)
					continue
				}
				if rotated[a.ID] && !strings.HasPrefix(s.SecureCSES, "CSE.rotated-") {
					t.Errorf("acknowledged rotation of %s lost", a.Name)
				}
				if refreshed[a.ID] && (!strings.HasPrefix(s.SecureCSES, "CSE.refreshed-") || a.LastRefreshAt.IsZero() || a.ExpiresAt.IsZero()) {
					t.Errorf("acknowledged cookie refresh of %s lost", a.Name)
				}
			}
			// No secret is left without an account.
			if j, _ := st.JournalList(ctx); len(j) != 0 {
				t.Errorf("journal not empty after recovery: %d entries", len(j))
			}
			if tc.secrets == "sealed" {
				refs := map[string]bool{}
				for _, a := range list {
					refs[a.SecretRef] = true
				}
				orphans := sealedRefs(t, st, refs)
				if orphans != 0 {
					t.Errorf("%d sealed secrets belong to no account", orphans)
				}
			}
			if len(acked) < 60 {
				t.Fatalf("only %d writes acknowledged: the test proved little", len(acked))
			}
			if len(refreshed) == 0 {
				t.Fatal("no cookie refresh was acknowledged: the test proved nothing about them")
			}
			t.Logf("%d acknowledged creates, %d deletes, %d rotations, %d cookie refreshes survived 3 kill -9 (%d lines read after a kill)", len(acked), len(deleted), len(rotated), len(refreshed), late)
			if tc.secrets == "keychain" {
				for _, a := range list {
					mgr.Delete(ctx, a.ID)
				}
			}
		})
	}
}

// sealedRefs counts sealed blobs whose ref no account uses.
func sealedRefs(t *testing.T, st *store.Store, live map[string]bool) int {
	t.Helper()
	refs, err := st.BlobRefs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range refs {
		if !live[r] {
			n++
		}
	}
	return n
}
