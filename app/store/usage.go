package store

import (
	"context"
	"database/sql"
	"fmt"
)

// AddDayRequests adds n chat requests to day's total (YYYY-MM-DD). The
// addition happens in SQL, so instances sharing a database add up and
// never overwrite each other.
func (s *Store) AddDayRequests(ctx context.Context, day string, n int64) error {
	if n < 0 {
		return fmt.Errorf("add requests to %s: negative count %d", day, n)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO usage_days (day, requests) VALUES ($1, $2)
			ON CONFLICT (day) DO UPDATE SET requests = usage_days.requests + excluded.requests`, day, n)
		return err
	})
	if err != nil {
		return fmt.Errorf("add requests to %s: %w", day, err)
	}
	return nil
}

// DayRequests is day's total, 0 for a day without requests.
func (s *Store) DayRequests(ctx context.Context, day string) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT requests FROM usage_days WHERE day = $1`, day).Scan(&n)
	if isNoRows(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read requests of %s: %w", day, err)
	}
	return n, nil
}
