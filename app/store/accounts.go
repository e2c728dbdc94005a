package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
)

// accountCols is the column list every account query returns, in the order
// scanAccount reads it.
const accountCols = `id, name, config_id, enabled, disabled_reason, user_agent,
	created_at, updated_at, last_used_at, request_count,
	status, status_reason,
	last_check_at, last_check_ok, last_check_latency_ms, last_check_message,
	cooldown_until, cooldown_reason, network_errors,
	secret_backend, secret_ref, hint_secure_c_ses, hint_host_c_oses, hint_csesidx,
	expires_at, last_sign_in_at, last_refresh_at`

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

func scanAccount(r rowScanner) (accounts.Account, error) {
	var (
		a         accounts.Account
		status    string
		latencyMS int64
		ref       sql.NullString
	)
	err := r.Scan(&a.ID, &a.Name, &a.ConfigID, &a.Enabled, &a.DisabledReason, &a.UserAgent,
		timeCol{&a.CreatedAt}, timeCol{&a.UpdatedAt}, timeCol{&a.LastUsedAt}, &a.RequestCount,
		&status, &a.StatusReason,
		timeCol{&a.LastCheckAt}, &a.LastCheckOK, &latencyMS, &a.LastCheckMessage,
		timeCol{&a.CooldownUntil}, &a.CooldownReason, &a.NetworkErrors,
		&a.SecretBackend, &ref, &a.SecretHints.SecureCSES, &a.SecretHints.HostCOSES, &a.SecretHints.CSESIDX,
		timeCol{&a.ExpiresAt}, timeCol{&a.LastSignInAt}, timeCol{&a.LastRefreshAt})
	if err != nil {
		return accounts.Account{}, err
	}
	a.Status = accounts.Status(status)
	a.LastCheckLatency = time.Duration(latencyMS) * time.Millisecond
	a.SecretRef = ref.String
	return a, nil
}

// nameKey folds a name for the uniqueness check. Upper then lower follows
// strings.EqualFold (what accounts.Manager compares with) more closely than
// lower alone, e.g. for 'ς'/'σ'/'Σ'.
func nameKey(name string) string { return strings.ToLower(strings.ToUpper(name)) }

// optional turns a nil pointer into NULL and any other into its value.
func optional[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// List returns every account, ordered by id.
func (s *Store) List(ctx context.Context) ([]accounts.Account, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+accountCols+` FROM accounts ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	defer rows.Close()
	var out []accounts.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("list accounts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return out, nil
}

// Get returns one account; accounts.ErrNotFound when there is none.
func (s *Store) Get(ctx context.Context, id int64) (accounts.Account, error) {
	a, err := scanAccount(s.db.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = $1`, id))
	if err != nil {
		return accounts.Account{}, accountErr("get account", id, err)
	}
	return a, nil
}

// Insert adds an account in status unknown and, in the same transaction,
// removes its secret ref from the journal: from then on the account owns the
// secrets. A name that differs from an existing one only in case is
// accounts.ErrDuplicate.
func (s *Store) Insert(ctx context.Context, na accounts.NewAccount) (accounts.Account, error) {
	if strings.TrimSpace(na.Name) == "" {
		return accounts.Account{}, errors.New("insert account: the name is empty")
	}
	var a accounts.Account
	err := s.write(ctx, func(tx *sql.Tx) error {
		t := s.timeArg(now())
		var err error
		a, err = scanAccount(tx.QueryRowContext(ctx, `INSERT INTO accounts
			(name, name_key, config_id, enabled, user_agent, created_at, updated_at, status,
			 secret_backend, secret_ref, hint_secure_c_ses, hint_host_c_oses, hint_csesidx)
			VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, NULLIF($9, ''), $10, $11, $12)
			RETURNING `+accountCols,
			na.Name, nameKey(na.Name), na.ConfigID, na.Enabled, na.UserAgent, t, string(accounts.StatusUnknown),
			na.SecretBackend, na.SecretRef, na.SecretHints.SecureCSES, na.SecretHints.HostCOSES, na.SecretHints.CSESIDX))
		if err != nil {
			return err
		}
		if na.SecretRef != "" {
			if _, err := tx.ExecContext(ctx, `DELETE FROM secret_journal WHERE ref = $1`, na.SecretRef); err != nil {
				return fmt.Errorf("clear journal: %w", err)
			}
		}
		return s.notifyChange(ctx, tx, a.ID)
	})
	if err != nil {
		return accounts.Account{}, accountErr("insert account", 0, err)
	}
	return a, nil
}

// Update changes the fields of p that are not nil and bumps updated_at.
func (s *Store) Update(ctx context.Context, id int64, p accounts.Patch) (accounts.Account, error) {
	var key any
	if p.Name != nil {
		if strings.TrimSpace(*p.Name) == "" {
			return accounts.Account{}, fmt.Errorf("update account %d: the name is empty", id)
		}
		key = nameKey(*p.Name)
	}
	var a accounts.Account
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		// COALESCE keeps the column when the argument is NULL (a nil field),
		// so one statement serves every combination of fields.
		a, err = scanAccount(tx.QueryRowContext(ctx, `UPDATE accounts SET
				name            = COALESCE($2, name),
				name_key        = COALESCE($3, name_key),
				config_id       = COALESCE($4, config_id),
				enabled         = COALESCE($5, enabled),
				disabled_reason = COALESCE($6, disabled_reason),
				user_agent      = COALESCE($7, user_agent),
				updated_at      = $8
			WHERE id = $1
			RETURNING `+accountCols,
			id, optional(p.Name), key, optional(p.ConfigID), optional(p.Enabled),
			optional(p.DisabledReason), optional(p.UserAgent), s.timeArg(now())))
		if err != nil {
			return err
		}
		return s.notifyChange(ctx, tx, id)
	})
	if err != nil {
		return accounts.Account{}, accountErr("update account", id, err)
	}
	return a, nil
}

// ReplaceSecretRef points an account at new secrets. In one transaction it
// sets backend, ref and hints, removes the new ref from the journal (the
// account owns it now) and journals the old ref (its secrets are to be
// deleted).
func (s *Store) ReplaceSecretRef(ctx context.Context, id int64, backend, ref string, hints accounts.SecretHints) (accounts.Account, error) {
	var a accounts.Account
	err := s.write(ctx, func(tx *sql.Tx) error {
		var oldBackend string
		var oldRef sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT secret_backend, secret_ref FROM accounts WHERE id = $1`+s.d.forUpdate, id).
			Scan(&oldBackend, &oldRef); err != nil {
			return err
		}
		var err error
		a, err = scanAccount(tx.QueryRowContext(ctx, `UPDATE accounts SET
				secret_backend    = $2,
				secret_ref        = NULLIF($3, ''),
				hint_secure_c_ses = $4,
				hint_host_c_oses  = $5,
				hint_csesidx      = $6,
				updated_at        = $7
			WHERE id = $1
			RETURNING `+accountCols,
			id, backend, ref, hints.SecureCSES, hints.HostCOSES, hints.CSESIDX, s.timeArg(now())))
		if err != nil {
			return err
		}
		if ref != "" {
			if _, err := tx.ExecContext(ctx, `DELETE FROM secret_journal WHERE ref = $1`, ref); err != nil {
				return fmt.Errorf("clear journal: %w", err)
			}
		}
		if oldRef.String != "" && oldRef.String != ref {
			if err := s.journalAdd(ctx, tx, oldBackend, oldRef.String); err != nil {
				return err
			}
		}
		return s.notifyChange(ctx, tx, id)
	})
	if err != nil {
		return accounts.Account{}, accountErr("replace secrets of account", id, err)
	}
	return a, nil
}

// RecordSignIn writes a sign-in or a cookie refresh in one transaction: the
// new secret ref exactly as ReplaceSecretRef does (so the journal keeps a
// crash from orphaning or losing secrets), and the lifecycle fields. The
// current row is read under the write lock and the new values computed
// here, so the statement has no engine-specific conditionals.
func (s *Store) RecordSignIn(ctx context.Context, id int64, u accounts.SignInUpdate) (accounts.Account, error) {
	if u.At.IsZero() {
		u.At = now()
	}
	var a accounts.Account
	err := s.write(ctx, func(tx *sql.Tx) error {
		cur, err := scanAccount(tx.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = $1`+s.d.forUpdate, id))
		if err != nil {
			return err
		}
		next := cur
		if u.SecretRef != "" {
			next.SecretBackend, next.SecretRef, next.SecretHints = u.SecretBackend, u.SecretRef, u.SecretHints
		}
		if u.ConfigID != "" {
			next.ConfigID = u.ConfigID
		}
		if u.UserAgent != "" {
			next.UserAgent = u.UserAgent
		}
		if u.SignIn || !u.ExpiresAt.IsZero() {
			next.ExpiresAt = u.ExpiresAt
		}
		next.LastRefreshAt = u.At
		if u.SignIn {
			next.LastSignInAt = u.At
			if next.Status == accounts.StatusNeedsSignIn || next.Status == accounts.StatusExpired {
				next.Status, next.StatusReason = accounts.StatusUnknown, ""
			}
			if !next.Enabled && accounts.AutoDisabledForExpiry(next.DisabledReason) {
				next.Enabled, next.DisabledReason = true, ""
			}
			next.CooldownUntil, next.CooldownReason, next.NetworkErrors = time.Time{}, "", 0
		}
		a, err = scanAccount(tx.QueryRowContext(ctx, `UPDATE accounts SET
				secret_backend    = $2,
				secret_ref        = NULLIF($3, ''),
				hint_secure_c_ses = $4,
				hint_host_c_oses  = $5,
				hint_csesidx      = $6,
				config_id         = $7,
				user_agent        = $8,
				expires_at        = $9,
				last_refresh_at   = $10,
				last_sign_in_at   = $11,
				status            = $12,
				status_reason     = $13,
				enabled           = $14,
				disabled_reason   = $15,
				cooldown_until    = $16,
				cooldown_reason   = $17,
				network_errors    = $18,
				updated_at        = $19
			WHERE id = $1
			RETURNING `+accountCols,
			id, next.SecretBackend, next.SecretRef, next.SecretHints.SecureCSES, next.SecretHints.HostCOSES, next.SecretHints.CSESIDX,
			next.ConfigID, next.UserAgent, s.timeArg(next.ExpiresAt), s.timeArg(next.LastRefreshAt), s.timeArg(next.LastSignInAt),
			string(next.Status), next.StatusReason, next.Enabled, next.DisabledReason,
			s.timeArg(next.CooldownUntil), next.CooldownReason, next.NetworkErrors, s.timeArg(now())))
		if err != nil {
			return err
		}
		if u.SecretRef != "" {
			if _, err := tx.ExecContext(ctx, `DELETE FROM secret_journal WHERE ref = $1`, u.SecretRef); err != nil {
				return fmt.Errorf("clear journal: %w", err)
			}
			if cur.SecretRef != "" && cur.SecretRef != u.SecretRef {
				if err := s.journalAdd(ctx, tx, cur.SecretBackend, cur.SecretRef); err != nil {
					return err
				}
			}
		}
		return s.notifyChange(ctx, tx, id)
	})
	if err != nil {
		return accounts.Account{}, accountErr("record sign-in of account", id, err)
	}
	return a, nil
}

// Delete removes an account and, in the same transaction, journals its
// secret ref for deletion. It returns the deleted record.
func (s *Store) Delete(ctx context.Context, id int64) (accounts.Account, error) {
	var a accounts.Account
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		a, err = scanAccount(tx.QueryRowContext(ctx, `DELETE FROM accounts WHERE id = $1 RETURNING `+accountCols, id))
		if err != nil {
			return err
		}
		if a.SecretRef != "" {
			if err := s.journalAdd(ctx, tx, a.SecretBackend, a.SecretRef); err != nil {
				return err
			}
		}
		return s.notifyChange(ctx, tx, id)
	})
	if err != nil {
		return accounts.Account{}, accountErr("delete account", id, err)
	}
	return a, nil
}

// updateOne runs an UPDATE … WHERE id = $1 RETURNING id on one account and
// announces the change. No row is accounts.ErrNotFound.
func (s *Store) updateOne(ctx context.Context, op string, id int64, query string, args ...any) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		var got int64
		if err := tx.QueryRowContext(ctx, query, append([]any{id}, args...)...).Scan(&got); err != nil {
			return err
		}
		return s.notifyChange(ctx, tx, id)
	})
	if err != nil {
		return accountErr(op, id, err)
	}
	return nil
}

// AddUsage adds n requests and moves last_used_at forward to at (never
// back: concurrent requests may finish out of order).
func (s *Store) AddUsage(ctx context.Context, id int64, n int64, at time.Time) error {
	if n < 0 {
		return fmt.Errorf("add usage to account %d: negative count %d", id, n)
	}
	if at.IsZero() {
		return s.updateOne(ctx, "add usage to account", id,
			`UPDATE accounts SET request_count = request_count + $2 WHERE id = $1 RETURNING id`, n)
	}
	return s.updateOne(ctx, "add usage to account", id, `UPDATE accounts SET
			request_count = request_count + $2,
			last_used_at  = CASE WHEN last_used_at IS NULL OR last_used_at < $3 THEN $3 ELSE last_used_at END
		WHERE id = $1 RETURNING id`, n, s.timeArg(at))
}

// SetStatus records a health status and its reason; disable also turns the
// account off with reason as the disabled reason.
func (s *Store) SetStatus(ctx context.Context, id int64, st accounts.Status, reason string, disable bool) error {
	if disable {
		return s.updateOne(ctx, "set status of account", id, `UPDATE accounts SET
				status = $2, status_reason = $3, enabled = $4, disabled_reason = $3, updated_at = $5
			WHERE id = $1 RETURNING id`, string(st), reason, false, s.timeArg(now()))
	}
	return s.updateOne(ctx, "set status of account", id,
		`UPDATE accounts SET status = $2, status_reason = $3 WHERE id = $1 RETURNING id`, string(st), reason)
}

// SetCooldown keeps the account out of rotation until until, for reason; the
// zero time clears the cooldown (and its reason).
func (s *Store) SetCooldown(ctx context.Context, id int64, until time.Time, reason string) error {
	if until.IsZero() {
		reason = ""
	}
	return s.updateOne(ctx, "set cooldown of account", id,
		`UPDATE accounts SET cooldown_until = $2, cooldown_reason = $3 WHERE id = $1 RETURNING id`,
		s.timeArg(until), reason)
}

// AddNetworkError increments the consecutive network-error count in SQL and
// returns the new value.
func (s *Store) AddNetworkError(ctx context.Context, id int64) (int, error) {
	var n int
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `UPDATE accounts SET
				network_errors = network_errors + 1, last_network_error_at = $2
			WHERE id = $1 RETURNING network_errors`, id, s.timeArg(now())).Scan(&n); err != nil {
			return err
		}
		return s.notifyChange(ctx, tx, id)
	})
	if err != nil {
		return 0, accountErr("count network error of account", id, err)
	}
	return n, nil
}

// ResetNetworkErrors sets the consecutive network-error count to zero.
func (s *Store) ResetNetworkErrors(ctx context.Context, id int64) error {
	return s.updateOne(ctx, "reset network errors of account", id,
		`UPDATE accounts SET network_errors = 0 WHERE id = $1 RETURNING id`)
}

// RecordCheck stores the outcome of a health check. The status itself is
// the caller's to set (SetStatus): one failed check need not condemn an
// account.
func (s *Store) RecordCheck(ctx context.Context, id int64, c accounts.CheckRecord) error {
	return s.updateOne(ctx, "record check of account", id, `UPDATE accounts SET
			last_check_at = $2, last_check_ok = $3, last_check_latency_ms = $4, last_check_message = $5
		WHERE id = $1 RETURNING id`, s.timeArg(c.At), c.OK, c.Latency.Milliseconds(), c.Message)
}

// JournalAdd records a ref whose secrets may be left without an account.
// Adding a ref twice keeps the first entry.
func (s *Store) JournalAdd(ctx context.Context, backend, ref string) error {
	if ref == "" {
		return errors.New("journal secret: empty ref")
	}
	err := s.write(ctx, func(tx *sql.Tx) error { return s.journalAdd(ctx, tx, backend, ref) })
	if err != nil {
		return fmt.Errorf("journal secret: %w", err)
	}
	return nil
}

func (s *Store) journalAdd(ctx context.Context, tx *sql.Tx, backend, ref string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO secret_journal (ref, backend, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (ref) DO NOTHING`, ref, backend, s.timeArg(now())); err != nil {
		return fmt.Errorf("add to journal: %w", err)
	}
	return nil
}

// JournalRemove forgets a ref; an unknown ref is not an error.
func (s *Store) JournalRemove(ctx context.Context, ref string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM secret_journal WHERE ref = $1`, ref)
		return err
	})
	if err != nil {
		return fmt.Errorf("remove secret from journal: %w", err)
	}
	return nil
}

// JournalList returns the journal, oldest first.
func (s *Store) JournalList(ctx context.Context) ([]accounts.JournalEntry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT backend, ref FROM secret_journal ORDER BY created_at, ref`)
	if err != nil {
		return nil, fmt.Errorf("list secret journal: %w", err)
	}
	defer rows.Close()
	var out []accounts.JournalEntry
	for rows.Next() {
		var e accounts.JournalEntry
		if err := rows.Scan(&e.Backend, &e.Ref); err != nil {
			return nil, fmt.Errorf("list secret journal: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list secret journal: %w", err)
	}
	return out, nil
}
