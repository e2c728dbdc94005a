// Package store keeps gemini-gateway's accounts in a database: SQLite (the
// default, a file in the data directory, pure Go through modernc.org/sqlite)
// or PostgreSQL (through pgx, when several gateways share one set of
// accounts). One implementation of accounts.Store serves both engines: the
// statements are shared ($1 placeholders and RETURNING work in both), and the
// few differences — time encoding, row locks, migration locking, change
// notifications — live in a small dialect value chosen at Open.
//
// Schemas are versioned, forward-only migrations embedded in the binary
// (migrations/<dialect>/NNNN_name.sql), applied at Open.
//
// The database never holds a cookie or csesidx in clear: accounts carry only
// a reference to their secrets (and harmless hints), and the sealed keystore
// backend keeps its ciphertext in the sealed_secrets table through the blob
// methods.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
)

// Dialect names returned by Store.Dialect.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// SQLiteFileName is the name of the SQLite database inside the data
// directory.
const SQLiteFileName = "gateway.db"

// Store is the account store on SQLite or PostgreSQL. It implements
// accounts.Store, the keystore's blob store (PutBlob … PutMetaIfAbsent) and,
// on PostgreSQL, accounts.Watcher. It is safe for concurrent use.
type Store struct {
	db *sql.DB
	d  dialect
	// pool is the pgx pool behind db on PostgreSQL (nil on SQLite); Watch
	// takes its dedicated LISTEN connection from it.
	pool *pgxpool.Pool

	// writeMu serialises this process's write transactions on SQLite. SQLite
	// has one writer at a time anyway; queuing in Go instead of in SQLite's
	// busy handler (which polls with sleeps and gives up after busy_timeout)
	// keeps bursts of counter updates from ever failing with SQLITE_BUSY.
	// Other processes are still covered by busy_timeout.
	writeMu sync.Mutex

	// closing is cancelled by Close so Watch goroutines give their
	// connection back before the pool closes (pgxpool.Close waits for it).
	closing     context.Context
	stopClosing context.CancelFunc
	mu          sync.Mutex // guards closed and watchers.Add against Close
	closed      bool
	watchers    sync.WaitGroup
}

// Compile-time checks of the interfaces this package promises.
var (
	_ accounts.Store   = (*Store)(nil)
	_ accounts.Watcher = (*Store)(nil)
)

// dialect holds what differs between the engines.
type dialect struct {
	name string
	// migrationsDir is the directory of this dialect's migrations inside
	// migrationFS.
	migrationsDir string
	// schemaMigrationsDDL creates the table recording applied migrations.
	schemaMigrationsDDL string
	// lockMigrations, when set, runs first in every migration transaction so
	// that concurrent start-ups apply each migration once.
	lockMigrations string
	// forUpdate is appended to a SELECT that reads a row it will update in
	// the same transaction. SQLite needs none: _txlock=immediate already
	// holds the write lock from BEGIN.
	forUpdate string
	// notify makes every write to accounts send a NOTIFY.
	notify bool
	// serializeWrites takes writeMu around write transactions.
	serializeWrites bool
	// timeArg converts a time to a statement argument (never zero).
	timeArg func(time.Time) any
}

// Open opens the account store: PostgreSQL when databaseURL is set,
// otherwise SQLite at <dataDir>/gateway.db.
func Open(ctx context.Context, dataDir, databaseURL string) (*Store, error) {
	if databaseURL != "" {
		return OpenPostgres(ctx, databaseURL)
	}
	if dataDir == "" {
		return nil, errors.New("open account store: no data directory and no database URL")
	}
	return OpenSQLite(ctx, filepath.Join(dataDir, SQLiteFileName))
}

// newStore wraps an open database and brings its schema up to date. It
// closes db (and pool) when it fails.
func newStore(ctx context.Context, db *sql.DB, pool *pgxpool.Pool, d dialect) (*Store, error) {
	closing, stop := context.WithCancel(context.Background())
	s := &Store{db: db, d: d, pool: pool, closing: closing, stopClosing: stop}
	if err := s.migrate(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// Dialect names the engine: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.name }

// Close stops any Watch, then closes the database. It is safe to call more
// than once.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()

	s.stopClosing()
	s.watchers.Wait()
	err := s.db.Close()
	if s.pool != nil {
		s.pool.Close()
	}
	if err != nil {
		return fmt.Errorf("close account store: %w", err)
	}
	return nil
}

// write runs fn in a transaction and commits it. Every write goes through
// here so that SQLite writes queue on writeMu and so that a failure rolls
// back everything fn did.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if s.d.serializeWrites {
		s.writeMu.Lock()
		defer s.writeMu.Unlock()
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// notifyChannel is the PostgreSQL channel that carries changed account ids.
const notifyChannel = "gemini_gateway_accounts"

// notifyChange tells other processes (through PostgreSQL NOTIFY, delivered
// at commit) that account id changed. It does nothing on SQLite.
func (s *Store) notifyChange(ctx context.Context, tx *sql.Tx, id int64) error {
	if !s.d.notify {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, fmt.Sprint(id)); err != nil {
		return fmt.Errorf("notify change: %w", err)
	}
	return nil
}

// now is the time writes record, to the millisecond (the precision of the
// SQLite encoding), so both engines give back exactly what they were given.
func now() time.Time { return time.Now().Truncate(time.Millisecond) }

// timeArg converts t for a statement: NULL for the zero time, otherwise the
// dialect's encoding, truncated to the millisecond.
func (s *Store) timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return s.d.timeArg(time.UnixMilli(t.UnixMilli()))
}

// unixMillis is the SQLite encoding of times.
func unixMillis(t time.Time) any { return t.UnixMilli() }

// timestamptz is the PostgreSQL encoding of times.
func timestamptz(t time.Time) any { return t }

// timeCol scans a time column of either engine: NULL is the zero time,
// an integer is unix milliseconds (SQLite), a time.Time is taken as is
// (PostgreSQL).
type timeCol struct{ t *time.Time }

// Scan implements sql.Scanner.
func (c timeCol) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*c.t = time.Time{}
	case int64:
		*c.t = time.UnixMilli(x)
	case time.Time:
		*c.t = x
	default:
		return fmt.Errorf("time column: unexpected %T", v)
	}
	return nil
}

// Errors are mapped to the domain's sentinels so callers can use errors.Is
// without knowing the engine.

// isNoRows reports whether err says a statement matched no row.
func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// uniqueViolation reports whether err is a unique-constraint violation of
// either engine and, if so, a hint naming the column or constraint.
func uniqueViolation(err error) (bool, string) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return true, pgErr.ConstraintName
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			// The message names the column: "UNIQUE constraint failed:
			// accounts.name_key".
			return true, sqErr.Error()
		}
	}
	return false, ""
}

// accountErr wraps a failed account statement with the operation, mapping
// "no rows" to accounts.ErrNotFound and a unique violation to
// accounts.ErrDuplicate.
func accountErr(op string, id int64, err error) error {
	if isNoRows(err) {
		return fmt.Errorf("%s %d: %w", op, id, accounts.ErrNotFound)
	}
	if ok, where := uniqueViolation(err); ok {
		if strings.Contains(where, "secret_ref") {
			return fmt.Errorf("%s: %w", op, errDuplicateRef{})
		}
		return fmt.Errorf("%s: %w", op, accounts.ErrDuplicate)
	}
	if id != 0 {
		return fmt.Errorf("%s %d: %w", op, id, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// errDuplicateRef is the unique violation of secret_ref. It is an
// accounts.ErrDuplicate for errors.Is, with a message of its own: refs are
// random, so two accounts on one ref is a caller's bug, not a user's naming
// clash, and "that name already exists" would send them looking in the
// wrong place.
type errDuplicateRef struct{}

func (errDuplicateRef) Error() string {
	return "the secret reference is already used by another account"
}

// Is makes errors.Is(err, accounts.ErrDuplicate) true.
func (errDuplicateRef) Is(target error) bool { return target == accounts.ErrDuplicate }
