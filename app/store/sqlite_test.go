package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func sqliteEngine() engine {
	return engine{
		name: DialectSQLite,
		newDB: func(t *testing.T) func(context.Context) (*Store, error) {
			path := filepath.Join(t.TempDir(), "data", SQLiteFileName)
			return func(ctx context.Context) (*Store, error) { return OpenSQLite(ctx, path) }
		},
	}
}

func TestSQLite(t *testing.T) {
	t.Parallel() // beside TestPostgres: both spend their time waiting on fsync
	runSuite(t, sqliteEngine())
}

func TestSQLiteFilePermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX permissions")
	}
	dir := filepath.Join(t.TempDir(), "new", "data")
	s, err := Open(t.Context(), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Dialect() != DialectSQLite {
		t.Errorf("Open without a URL gave dialect %q", s.Dialect())
	}
	mustInsert(t, s, newAccount("perm", "perm-ref")) // make SQLite write its WAL
	checkMode := func(path string, want os.FileMode) {
		t.Helper()
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s has mode %o, want %o", path, got, want)
		}
	}
	checkMode(dir, 0o700)
	checkMode(filepath.Join(dir, SQLiteFileName), 0o600)
	checkMode(filepath.Join(dir, SQLiteFileName+"-wal"), 0o600)

	// An existing file readable by others is tightened at Open.
	loose := filepath.Join(t.TempDir(), "loose.db")
	if err := os.WriteFile(loose, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	s2, err := OpenSQLite(t.Context(), loose)
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
	checkMode(loose, 0o600)
}

// TestSQLitePragmas checks the settings every pooled connection gets: a
// PRAGMA run once would only reach one of them.
func TestSQLitePragmas(t *testing.T) {
	s := freshStore(t, sqliteEngine())
	ctx := t.Context()
	const n = 3
	var held []func() error
	for range n {
		c, err := s.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c.Close)
		var mode string
		var sync, fk, busy int
		if err := c.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || sync != 2 || fk != 1 || busy != 5000 {
			t.Errorf("connection settings: journal_mode=%s synchronous=%d foreign_keys=%d busy_timeout=%d; want wal 2 (FULL) 1 5000",
				mode, sync, fk, busy)
		}
	}
	for _, closeConn := range held {
		closeConn()
	}
}

// TestSQLiteAwkwardPath opens a database under a directory whose name holds
// the characters a SQLite URI gives meaning to.
func TestSQLiteAwkwardPath(t *testing.T) {
	name := "My Data?#%20&x=1"
	if runtime.GOOS == "windows" {
		name = "My Data#%20&x=1;ü" // "?" is not allowed in Windows file names
	}
	dir := filepath.Join(t.TempDir(), name)
	path := filepath.Join(dir, "gw.db")
	s, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	mustInsert(t, s, newAccount("odd", "odd-ref"))
	s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not at %q: %v", path, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "My Data") {
			t.Errorf("stray file %q beside the data directory", e.Name())
		}
	}
	s, err = OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if list, err := s.List(t.Context()); err != nil || len(list) != 1 {
		t.Errorf("reopened store lists %d accounts, %v; want 1", len(list), err)
	}
}

// TestSQLiteTwoStoresOneFile has two Stores (two connection pools, as two
// processes would have) write to one file: busy_timeout, not luck, must
// keep every update.
func TestSQLiteTwoStoresOneFile(t *testing.T) {
	t.Parallel()
	open := sqliteEngine().newDB(t)
	a, b := openStore(t, open), openStore(t, open)
	acc := mustInsert(t, a, newAccount("shared", "shared-ref"))
	const workers, perWorker = 2, 100 // per store
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers)
	for w := range 2 * workers {
		s := []*Store{a, b}[w%2]
		wg.Go(func() {
			for range perWorker {
				if err := s.AddUsage(t.Context(), acc.ID, 1, time.Now()); err != nil {
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
	if got := mustGet(t, b, acc.ID); got.RequestCount != 2*workers*perWorker {
		t.Errorf("request_count = %d, want %d", got.RequestCount, 2*workers*perWorker)
	}
}

func TestSQLiteWatchUnsupported(t *testing.T) {
	s := freshStore(t, sqliteEngine())
	if _, err := s.Watch(t.Context()); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Watch on SQLite = %v, want ErrUnsupported", err)
	}
}

func TestOpenNeedsSomewhere(t *testing.T) {
	if _, err := Open(t.Context(), "", ""); err == nil {
		t.Error("Open with neither a data directory nor a URL succeeded")
	}
}

func TestSQLiteDSN(t *testing.T) {
	got := sqliteDSN("/var/lib/gw/a b?.db")
	want := "file:///var/lib/gw/a%20b%3F.db?" + sqlitePragmas
	if got != want {
		t.Errorf("sqliteDSN = %q, want %q", got, want)
	}
	for _, p := range []string{"busy_timeout(5000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(FULL)", "_txlock=immediate"} {
		if !strings.Contains(got, p) {
			t.Errorf("DSN lacks %s", p)
		}
	}
}

// TestSQLiteSurvivesKill writes from a child process, kills it with SIGKILL
// in the middle, and checks that every insert the child saw committed is
// there after reopening.
func TestSQLiteSurvivesKill(t *testing.T) {
	if os.Getenv("GW_STORE_KILL_CHILD") != "" {
		killChild()
		return
	}
	if runtime.GOOS == "windows" {
		t.Skip("needs SIGKILL")
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), SQLiteFileName)
	cmd := exec.Command(os.Args[0], "-test.run=^TestSQLiteSurvivesKill$")
	cmd.Env = append(os.Environ(), "GW_STORE_KILL_CHILD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() }) // whatever happens below
	var committed []int64
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		id, err := strconv.ParseInt(strings.TrimPrefix(sc.Text(), "committed "), 10, 64)
		if err != nil {
			continue
		}
		committed = append(committed, id)
		if len(committed) == 30 {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	_ = cmd.Wait()
	if len(committed) < 30 {
		t.Fatalf("child reported only %d commits before it ended", len(committed))
	}
	s, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	for _, id := range committed {
		if _, err := s.Get(t.Context(), id); err != nil {
			t.Errorf("account %d was reported committed but is gone after the kill: %v", id, err)
		}
	}
}

// killChild is the child half of TestSQLiteSurvivesKill: it inserts
// accounts until killed (or a minute has passed, should the parent vanish),
// reporting each commit on stdout.
func killChild() {
	deadline := time.Now().Add(time.Minute)
	ctx := context.Background()
	s, err := OpenSQLite(ctx, os.Getenv("GW_STORE_KILL_CHILD"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for i := 0; time.Now().Before(deadline); i++ {
		a, err := s.Insert(ctx, newAccount(fmt.Sprintf("victim-%d", i), fmt.Sprintf("victim-ref-%d", i)))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if err := s.AddUsage(ctx, a.ID, 1, time.Now()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Printf("committed %d\n", a.ID)
	}
}
