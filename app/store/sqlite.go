package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// sqlitePragmas are applied by the driver to every new connection (a one-off
// PRAGMA would reach only one connection of the pool):
//   - busy_timeout: wait for another process's write lock instead of failing
//     at once (the driver applies it first, whatever the order here);
//   - WAL: readers never block the writer nor the other way round;
//   - synchronous(FULL): in WAL mode NORMAL may lose the last transactions
//     on power loss; FULL syncs the WAL at every commit, so an account that
//     was reported as saved stays saved through a crash or kill -9;
//   - foreign_keys: off by default in SQLite, on here so future schemas
//     behave as on PostgreSQL.
//
// _txlock=immediate makes BEGIN take the write lock at once: a deferred
// transaction that reads then writes fails with SQLITE_BUSY under
// concurrency instead of waiting.
const sqlitePragmas = "_pragma=busy_timeout(5000)" +
	"&_pragma=journal_mode(WAL)" +
	"&_pragma=foreign_keys(1)" +
	"&_pragma=synchronous(FULL)" +
	"&_txlock=immediate"

func sqliteDialect() dialect {
	return dialect{
		name:          DialectSQLite,
		migrationsDir: "migrations/sqlite",
		schemaMigrationsDDL: `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			applied_at INTEGER NOT NULL
		) STRICT`,
		serializeWrites: true,
		timeArg:         unixMillis,
	}
}

// OpenSQLite opens (creating if needed) the SQLite account store at path.
// The directory is created with mode 0700 and the file with 0600: it holds
// the sealed secrets' ciphertext and the account list, which are nobody
// else's business.
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("open SQLite account store: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open SQLite account store: %w", err)
	}
	if err := prepareSQLiteFile(abs); err != nil {
		return nil, fmt.Errorf("open SQLite account store %s: %w", abs, err)
	}
	db, err := sql.Open("sqlite", sqliteDSN(abs))
	if err != nil {
		return nil, fmt.Errorf("open SQLite account store %s: %w", abs, err)
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open SQLite account store %s: %w", abs, err)
	}
	s, err := newStore(ctx, db, nil, sqliteDialect())
	if err != nil {
		return nil, fmt.Errorf("open SQLite account store %s: %w", abs, err)
	}
	return s, nil
}

// prepareSQLiteFile creates the directory and the database file with
// private permissions before SQLite does (SQLite would create the file with
// 0644 under the usual umask; its -wal and -shm files copy the main file's
// mode). An existing file readable by others is tightened.
func prepareSQLiteFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create database file: %w", err)
	}
	info, err := f.Stat()
	_ = f.Close()
	if err != nil {
		return fmt.Errorf("stat database file: %w", err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(path, 0o600); err != nil && !errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("make database file private: %w", err)
		}
	}
	return nil
}

// sqliteDSN builds the driver's DSN for an absolute path: a SQLite URI
// ("file:///…") with the path percent-encoded, so a '?', '#' or '%' in a
// directory name cannot be taken for the start of the parameters, followed
// by sqlitePragmas.
func sqliteDSN(abs string) string {
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows: C:/x → /C:/x, as SQLite URIs want it
	}
	u := url.URL{Scheme: "file", Path: p}
	return u.String() + "?" + sqlitePragmas
}
