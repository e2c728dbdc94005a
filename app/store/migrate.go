package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
)

// migrationFS holds the schema of each dialect as numbered SQL files,
// migrations/<dialect>/NNNN_name.sql. Files are never edited once released:
// a change is a new file with the next number.
//
//go:embed migrations
var migrationFS embed.FS

// migrationLockKey is the pg_advisory_xact_lock key that serialises schema
// migrations between processes sharing one PostgreSQL database ("gemgate1").
const migrationLockKey int64 = 0x67656d6761746531

// migration is one embedded schema step.
type migration struct {
	version int64
	name    string
	sql     string
}

// loadMigrations reads a dialect's migrations in version order.
func loadMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	var out []migration
	seen := map[int64]string{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("embedded migration %s: name must start with a positive number and an underscore", name)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("embedded migrations %s and %s share version %d", prev, name, v)
		}
		seen[v] = name
		body, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read embedded migration %s: %w", name, err)
		}
		out = append(out, migration{version: v, name: name, sql: string(body)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no embedded migrations in %s", dir)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// migrate brings the schema up to the newest embedded version, one
// migration per transaction, and refuses a database written by a newer
// program.
func (s *Store) migrate(ctx context.Context) error {
	migs, err := loadMigrations(migrationFS, s.d.migrationsDir)
	if err != nil {
		return err
	}
	for {
		applied, err := s.migrateStep(ctx, migs)
		if err != nil {
			return err
		}
		if !applied {
			return nil
		}
	}
}

// migrateStep applies the first pending migration, if any, in its own
// transaction. It reads the current version inside that transaction, after
// taking the migration lock, so two processes starting together never apply
// the same step: on PostgreSQL the advisory lock orders them, on SQLite the
// immediate transaction does.
func (s *Store) migrateStep(ctx context.Context, migs []migration) (applied bool, err error) {
	latest := migs[len(migs)-1].version
	err = s.write(ctx, func(tx *sql.Tx) error {
		if s.d.lockMigrations != "" {
			if _, err := tx.ExecContext(ctx, s.d.lockMigrations, migrationLockKey); err != nil {
				return fmt.Errorf("lock schema migrations: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, s.d.schemaMigrationsDDL); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var current int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if current > latest {
			return fmt.Errorf("%w: the database has schema version %d but this program knows versions up to %d; "+
				"a newer gemini-gateway wrote it: run that version, or point this one at another database",
				accounts.ErrSchemaTooNew, current, latest)
		}
		for _, m := range migs {
			if m.version <= current {
				continue
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("apply migration %s: %w", m.name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
				m.version, s.timeArg(now())); err != nil {
				return fmt.Errorf("record migration %s: %w", m.name, err)
			}
			applied = true
			return nil
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("migrate %s schema: %w", s.d.name, err)
	}
	return applied, nil
}
