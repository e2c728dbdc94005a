package store

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/app/internal/pgtest"
	"github.com/gemgate/gemini-gateway/gateway/accounts"
)

func postgresBaseURL(t *testing.T) string { return pgtest.BaseURL(t) }

// newPostgresSchema creates a schema with a random name, dropped when the
// test ends, and returns a URL whose connections use it.
func newPostgresSchema(t *testing.T) string {
	u, _ := pgtest.Schema(t)
	return u
}

func postgresEngine() engine {
	return engine{
		name: DialectPostgres,
		newDB: func(t *testing.T) func(context.Context) (*Store, error) {
			u := newPostgresSchema(t)
			return func(ctx context.Context) (*Store, error) { return OpenPostgres(ctx, u) }
		},
	}
}

// TestPostgres runs the shared suite, then the PostgreSQL-only tests. They
// run one after the other (in parallel with the SQLite tests): NOTIFY
// channels are per database, not per schema, so two Watch tests at once
// would hear each other.
func TestPostgres(t *testing.T) {
	postgresBaseURL(t)
	t.Parallel()
	t.Run("Suite", func(t *testing.T) { runSuite(t, postgresEngine()) })
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"OpenDispatch", testPostgresOpenDispatch},
		{"Watch", testPostgresWatch},
		{"WatchSlowConsumer", testPostgresWatchSlowConsumer},
		{"WatchStopsOnClose", testPostgresWatchStopsOnClose},
		{"WatchReconnects", testPostgresWatchReconnects},
		{"TwoStoresCounters", testPostgresTwoStoresCounters},
	} {
		t.Run(tc.name, tc.fn)
	}
}

func testPostgresOpenDispatch(t *testing.T) {
	u := newPostgresSchema(t)
	s, err := Open(t.Context(), t.TempDir(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Dialect() != DialectPostgres {
		t.Errorf("Open with a URL gave dialect %q", s.Dialect())
	}
}

// recv waits for id on ch (skipping other ids, which other tests' schemas
// in the same database may send: NOTIFY channels are per database).
func recv(t *testing.T, ch <-chan int64, want int64, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case id, ok := <-ch:
			if !ok {
				t.Fatalf("watch channel closed while waiting for %d", want)
			}
			if id == want {
				return
			}
		case <-deadline:
			t.Fatalf("no notification of %d within %v", want, within)
		}
	}
}

func testPostgresWatch(t *testing.T) {
	open := postgresEngine().newDB(t)
	watcher, writer := openStore(t, open), openStore(t, open)
	a := mustInsert(t, writer, newAccount("watched", "watched-ref"))

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ch, err := watcher.Watch(ctx)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	writes := []struct {
		name  string
		write func() error
	}{
		{"AddUsage", func() error { return writer.AddUsage(t.Context(), a.ID, 1, time.Now()) }},
		{"SetCooldown", func() error { return writer.SetCooldown(t.Context(), a.ID, time.Now().Add(time.Minute), "429") }},
		{"RecordCheck", func() error { return writer.RecordCheck(t.Context(), a.ID, recordNow()) }},
		{"Update", func() error { n := "renamed"; _, err := writer.Update(t.Context(), a.ID, patchName(n)); return err }},
	}
	for _, w := range writes {
		start := time.Now()
		if err := w.write(); err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		recv(t, ch, a.ID, time.Second)
		t.Logf("%s announced after %v", w.name, time.Since(start).Round(time.Millisecond))
	}
	b := mustInsert(t, writer, newAccount("new", "new-ref"))
	recv(t, ch, b.ID, time.Second)
	if _, err := writer.Delete(t.Context(), b.ID); err != nil {
		t.Fatal(err)
	}
	recv(t, ch, b.ID, time.Second)

	// A failed write announces nothing: its transaction rolled back.
	if _, err := writer.Insert(t.Context(), newAccount("RENAMED", "x-ref")); err == nil {
		t.Fatal("duplicate Insert succeeded")
	}

	cancel()
	select {
	case _, ok := <-ch:
		for ok {
			_, ok = <-ch
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watch channel not closed after its context ended")
	}
}

func testPostgresWatchSlowConsumer(t *testing.T) {
	open := postgresEngine().newDB(t)
	s := openStore(t, open)
	a := mustInsert(t, s, newAccount("hot", "hot-ref"))
	ch, err := s.Watch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// More changes than the buffer holds, none read.
	for range watchBuffer * 2 {
		if err := s.AddUsage(t.Context(), a.ID, 1, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	recv(t, ch, ReloadAll, 5*time.Second)
}

func testPostgresWatchStopsOnClose(t *testing.T) {
	s, err := postgresEngine().newDB(t)(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ch, err := s.Watch(context.Background()) // never cancelled: Close must end it
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close hung while a Watch was running")
	}
	if _, ok := <-ch; ok {
		t.Error("watch channel still open after Close")
	}
	if _, err := s.Watch(t.Context()); err == nil {
		t.Error("Watch on a closed store succeeded")
	}
}

// TestPostgresWatchReconnects kills the listening connection from the
// server side: the watcher must come back and say "reload everything".
func testPostgresWatchReconnects(t *testing.T) {
	open := postgresEngine().newDB(t)
	s := openStore(t, open)
	a := mustInsert(t, s, newAccount("phoenix", "phoenix-ref"))
	ch, err := s.Watch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var killed int
	if err := s.db.QueryRowContext(t.Context(), `SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE pid <> pg_backend_pid() AND query = 'LISTEN `+notifyChannel+`' AND datname = current_database()`).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed == 0 {
		t.Fatal("found no listening backend to terminate")
	}
	recv(t, ch, ReloadAll, 5*time.Second)
	if err := s.AddUsage(t.Context(), a.ID, 1, time.Now()); err != nil {
		t.Fatal(err)
	}
	recv(t, ch, a.ID, time.Second)
}

func testPostgresTwoStoresCounters(t *testing.T) {
	open := postgresEngine().newDB(t)
	a, b := openStore(t, open), openStore(t, open)
	acc := mustInsert(t, a, newAccount("shared", "shared-ref"))
	const workers, perWorker = 8, 100
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		s := []*Store{a, b}[w%2]
		wg.Go(func() {
			for range perWorker {
				if err := s.AddUsage(t.Context(), acc.ID, 2, time.Now()); err != nil {
					errs <- err
					return
				}
				if _, err := s.AddNetworkError(t.Context(), acc.ID); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got := mustGet(t, b, acc.ID)
	if got.RequestCount != 2*workers*perWorker || got.NetworkErrors != workers*perWorker {
		t.Errorf("request_count %d network_errors %d; want %d and %d", got.RequestCount, got.NetworkErrors,
			2*workers*perWorker, workers*perWorker)
	}
}

// TestPostgresErrorsHidePassword needs no server: the password of a URL
// that cannot be parsed or reached must not reach the error (and so the log
// or a dialog).
func TestPostgresErrorsHidePassword(t *testing.T) {
	for _, u := range []string{
		"postgres://user:hunter2@127.0.0.1:1/db?sslmode=disable&connect_timeout=2",
		"postgres://user:hunter2@127.0.0.1:badport/db",
		"postgres://user:hunter2@bad host/db",
		"host=127.0.0.1 port=abc user=u password=hunter2",
	} {
		_, err := OpenPostgres(t.Context(), u)
		if err == nil {
			t.Fatalf("OpenPostgres(%q) succeeded", u)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("OpenPostgres error shows the password: %v", err)
		}
		_, err = ReadPythonAccounts(t.Context(), u)
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ReadPythonAccounts error = %v; want an error without the password", err)
		}
	}
}

func recordNow() accounts.CheckRecord {
	return accounts.CheckRecord{At: time.Now(), OK: true, Latency: 42 * time.Millisecond, Message: "ok"}
}

func patchName(n string) accounts.Patch { return accounts.Patch{Name: &n} }
