package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

func postgresDialect() dialect {
	return dialect{
		name:          DialectPostgres,
		migrationsDir: "migrations/postgres",
		schemaMigrationsDDL: `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    BIGINT      PRIMARY KEY,
			applied_at TIMESTAMPTZ NOT NULL
		)`,
		// Held until the migration transaction ends; also covers the
		// CREATE TABLE IF NOT EXISTS above, which is not safe against a
		// concurrent twin on its own.
		lockMigrations: `SELECT pg_advisory_xact_lock($1)`,
		forUpdate:      " FOR UPDATE",
		notify:         true,
		timeArg:        timestamptz,
	}
}

// OpenPostgres opens the account store in the PostgreSQL database at url (a
// postgres:// URL or a keyword/value string; pool_max_conns and the other
// pgxpool settings may be given there). Several gateways may share one
// database: counters are updated in SQL and changes are announced to
// Watch.
func OpenPostgres(ctx context.Context, url string) (*Store, error) {
	// pgx's parse errors already hide the password; nothing here repeats
	// the URL.
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL account store: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL account store: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open PostgreSQL account store: %w", err)
	}
	// database/sql over the same pool, so SQLite and PostgreSQL share the
	// code of every method.
	db := stdlib.OpenDBFromPool(pool)
	s, err := newStore(ctx, db, pool, postgresDialect())
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL account store: %w", err)
	}
	return s, nil
}

// Watch delivery.
const (
	// watchBuffer is how many changes may wait for a slow consumer before
	// they are replaced by one "reload everything".
	watchBuffer = 64
	// ReloadAll is sent on a Watch channel when changes may have been
	// missed: the consumer should reload every account.
	ReloadAll int64 = -1

	watchMinBackoff = 250 * time.Millisecond
	watchMaxBackoff = 30 * time.Second
)

// Watch reports changes to accounts made by any process sharing this
// PostgreSQL database (this one included): each write sends the account's id
// with NOTIFY. The channel carries ids, or ReloadAll (-1) when changes may
// have been missed (a slow consumer, a lost connection). Watch holds one
// pooled connection while it listens, reconnects with backoff until ctx ends,
// and closes the channel when ctx ends or the store is closed. When Watch
// returns, the listener is in place: every later write will be reported.
//
// On SQLite, Watch returns an error wrapping errors.ErrUnsupported: one
// process owns the file, and it knows what it changed.
func (s *Store) Watch(ctx context.Context) (<-chan int64, error) {
	if s.pool == nil {
		return nil, fmt.Errorf("watch accounts: %w: only the PostgreSQL store announces changes", errors.ErrUnsupported)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errors.New("watch accounts: the store is closed")
	}
	s.watchers.Add(1)
	s.mu.Unlock()

	wctx, cancel := context.WithCancel(ctx)
	stopAfter := context.AfterFunc(s.closing, cancel)
	conn, err := s.listen(wctx)
	if err != nil {
		stopAfter()
		cancel()
		s.watchers.Done()
		return nil, fmt.Errorf("watch accounts: %w", err)
	}
	ch := make(chan int64, watchBuffer)
	go func() {
		defer s.watchers.Done()
		defer stopAfter()
		defer cancel()
		defer close(ch)
		s.watchLoop(wctx, conn, ch)
	}()
	return ch, nil
}

// listen takes a connection from the pool and subscribes it to the change
// channel.
func (s *Store) listen(ctx context.Context) (*pgxpool.Conn, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("acquire listener connection: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		dropListener(conn)
		return nil, fmt.Errorf("listen for account changes: %w", err)
	}
	return conn, nil
}

// dropListener closes a listening connection instead of returning it to the
// pool, where its subscription would outlive the Watch.
func dropListener(conn *pgxpool.Conn) {
	c := conn.Hijack()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.Close(ctx)
}

// watchLoop forwards notifications until ctx ends, reconnecting after a lost
// connection.
func (s *Store) watchLoop(ctx context.Context, conn *pgxpool.Conn, ch chan int64) {
	defer func() {
		if conn != nil {
			dropListener(conn)
		}
	}()
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err == nil {
			id, perr := strconv.ParseInt(n.Payload, 10, 64)
			if perr != nil {
				id = ReloadAll
			}
			deliver(ch, id)
			continue
		}
		dropListener(conn)
		conn = nil
		if ctx.Err() != nil {
			return
		}
		if conn = s.relisten(ctx); conn == nil {
			return
		}
		// Whatever changed while we were away was not announced to us.
		deliver(ch, ReloadAll)
	}
}

// relisten reconnects with exponential backoff; nil means ctx ended.
func (s *Store) relisten(ctx context.Context) *pgxpool.Conn {
	backoff := watchMinBackoff
	t := time.NewTimer(backoff)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		conn, err := s.listen(ctx)
		if err == nil {
			return conn
		}
		backoff = min(2*backoff, watchMaxBackoff)
		t.Reset(backoff)
	}
}

// deliver sends id without ever blocking the listener: when the buffer is
// full, the waiting ids are dropped and replaced by one ReloadAll, which
// covers them. Only this goroutine sends on ch, so after draining there is
// room.
func deliver(ch chan int64, id int64) {
	select {
	case ch <- id:
		return
	default:
	}
	for drained := false; !drained; {
		select {
		case <-ch:
		default:
			drained = true
		}
	}
	ch <- ReloadAll
}
