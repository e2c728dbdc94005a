package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
)

var _ accounts.QuotaStore = (*Store)(nil)

// AddKindTurns adds n turns of kind to account id's count of day and
// returns the new count. The addition happens in SQL, so instances sharing
// a database add up and never overwrite each other.
func (s *Store) AddKindTurns(ctx context.Context, day string, id int64, kind string, n int64) (int64, error) {
	if n < 0 {
		return 0, fmt.Errorf("add %s turns of account %d: negative count %d", kind, id, n)
	}
	var total int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO kind_turns (day, account_id, kind, turns) VALUES ($1, $2, $3, $4)
			ON CONFLICT (day, account_id, kind) DO UPDATE SET turns = kind_turns.turns + excluded.turns
			RETURNING turns`, day, id, kind, n).Scan(&total)
	})
	if err != nil {
		return 0, fmt.Errorf("add %s turns of account %d on %s: %w", kind, id, day, err)
	}
	return total, nil
}

// KindTurns lists every account's counts of day.
func (s *Store) KindTurns(ctx context.Context, day string) ([]accounts.KindTurns, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT account_id, kind, turns FROM kind_turns WHERE day = $1 ORDER BY account_id, kind`, day)
	if err != nil {
		return nil, fmt.Errorf("read turns of %s: %w", day, err)
	}
	defer rows.Close()
	var out []accounts.KindTurns
	for rows.Next() {
		var k accounts.KindTurns
		if err := rows.Scan(&k.AccountID, &k.Kind, &k.Turns); err != nil {
			return nil, fmt.Errorf("read turns of %s: %w", day, err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read turns of %s: %w", day, err)
	}
	return out, nil
}

// SetKindCooldown keeps account id from kind until the given time; the
// latest cooldown written wins (it carries the upstream's latest word).
func (s *Store) SetKindCooldown(ctx context.Context, id int64, kind string, until time.Time, reason string) error {
	if until.IsZero() {
		return fmt.Errorf("set %s cooldown of account %d: no end time", kind, id)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO kind_cooldowns (account_id, kind, until_at, reason) VALUES ($1, $2, $3, $4)
			ON CONFLICT (account_id, kind) DO UPDATE SET until_at = excluded.until_at, reason = excluded.reason`,
			id, kind, s.timeArg(until), reason)
		return err
	})
	if err != nil {
		return fmt.Errorf("set %s cooldown of account %d: %w", kind, id, err)
	}
	return nil
}

// KindCooldowns lists the cooldowns still running at now.
func (s *Store) KindCooldowns(ctx context.Context, now time.Time) ([]accounts.KindCooldown, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT account_id, kind, until_at, reason FROM kind_cooldowns
		WHERE until_at > $1 ORDER BY account_id, kind`, s.timeArg(now))
	if err != nil {
		return nil, fmt.Errorf("read cooldowns per kind: %w", err)
	}
	defer rows.Close()
	var out []accounts.KindCooldown
	for rows.Next() {
		var c accounts.KindCooldown
		if err := rows.Scan(&c.AccountID, &c.Kind, timeCol{&c.Until}, &c.Reason); err != nil {
			return nil, fmt.Errorf("read cooldowns per kind: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read cooldowns per kind: %w", err)
	}
	return out, nil
}

// PruneKindQuotas deletes the counts of days before beforeDay and the
// cooldowns over at now, so the tables hold about a month.
func (s *Store) PruneKindQuotas(ctx context.Context, beforeDay string, now time.Time) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM kind_turns WHERE day < $1`, beforeDay); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM kind_cooldowns WHERE until_at <= $1`, s.timeArg(now))
		return err
	})
	if err != nil {
		return fmt.Errorf("prune quotas per kind: %w", err)
	}
	return nil
}
