package store

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"

	"github.com/gemgate/gemini-gateway/gateway/clients"
	"github.com/gemgate/gemini-gateway/gateway/usage"
)

var (
	_ clients.Store = (*Store)(nil)
	_ usage.Store   = (*Store)(nil)
)

const clientKeyCols = `id, name, key_hash, key_hint, requests_per_minute, models, created_at, rotated_at`

func scanClientKey(r rowScanner) (clients.Key, error) {
	var (
		k      clients.Key
		models string
	)
	if err := r.Scan(&k.ID, &k.Name, &k.Hash, &k.Hint, &k.RequestsPerMinute, &models,
		timeCol{&k.CreatedAt}, timeCol{&k.RotatedAt}); err != nil {
		return clients.Key{}, err
	}
	if models != "" {
		k.Models = strings.Split(models, ",")
	}
	return k, nil
}

func clientKeyErr(op string, err error) error {
	if isNoRows(err) {
		return fmt.Errorf("%s: %w", op, clients.ErrNotFound)
	}
	if ok, _ := uniqueViolation(err); ok {
		return fmt.Errorf("%s: %w", op, clients.ErrDuplicate)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// ListClientKeys returns the client keys in use, by id.
func (s *Store) ListClientKeys(ctx context.Context) ([]clients.Key, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+clientKeyCols+` FROM client_keys WHERE revoked_at IS NULL ORDER BY id`)
	if err != nil {
		return nil, clientKeyErr("list client keys", err)
	}
	defer rows.Close()
	var out []clients.Key
	for rows.Next() {
		k, err := scanClientKey(rows)
		if err != nil {
			return nil, clientKeyErr("list client keys", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, clientKeyErr("list client keys", err)
	}
	return out, nil
}

// CreateClientKey adds a client key (its hash, never the key).
func (s *Store) CreateClientKey(ctx context.Context, k clients.Key) (clients.Key, error) {
	if strings.TrimSpace(k.Name) == "" || len(k.Hash) != 32 {
		return clients.Key{}, fmt.Errorf("create client key: want a name and a 32-byte hash")
	}
	var out clients.Key
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scanClientKey(tx.QueryRowContext(ctx, `INSERT INTO client_keys
			(name, name_key, key_hash, key_hint, requests_per_minute, models, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+clientKeyCols,
			k.Name, nameKey(k.Name), k.Hash, k.Hint, k.RequestsPerMinute, strings.Join(k.Models, ","), s.timeArg(now())))
		return err
	})
	if err != nil {
		return clients.Key{}, clientKeyErr("create client key", err)
	}
	return out, nil
}

// RevokeClientKey marks a key revoked; its row stays for the usage
// history.
func (s *Store) RevokeClientKey(ctx context.Context, id int64) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE client_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, s.timeArg(now()), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return sql.ErrNoRows
		}
		return nil
	})
	if err != nil {
		return clientKeyErr(fmt.Sprintf("revoke client key %d", id), err)
	}
	return nil
}

// RotateClientKey replaces a key's hash and hint.
func (s *Store) RotateClientKey(ctx context.Context, id int64, hash []byte, hint string) (clients.Key, error) {
	if len(hash) != 32 {
		return clients.Key{}, fmt.Errorf("rotate client key %d: want a 32-byte hash", id)
	}
	var out clients.Key
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scanClientKey(tx.QueryRowContext(ctx, `UPDATE client_keys SET key_hash = $1, key_hint = $2, rotated_at = $3
			WHERE id = $4 AND revoked_at IS NULL RETURNING `+clientKeyCols, hash, hint, s.timeArg(now()), id))
		return err
	})
	if err != nil {
		return clients.Key{}, clientKeyErr(fmt.Sprintf("rotate client key %d", id), err)
	}
	return out, nil
}

// usageCols are the summed columns of usage_client_days, in the order of
// usage.Counts' fields and then the histogram buckets.
var usageCols = func() []string {
	cols := []string{"requests", "errors", "prompt_tokens", "completion_tokens", "images_in", "files_out"}
	for i := 0; i < usage.Buckets; i++ {
		cols = append(cols, fmt.Sprintf("ttft_h%02d", i))
	}
	return cols
}()

var addUsageSQL = func() string {
	var b strings.Builder
	b.WriteString(`INSERT INTO usage_client_days (day, client, account, model, ` + strings.Join(usageCols, ", ") + `) VALUES ($1, $2, $3, $4`)
	for i := range usageCols {
		fmt.Fprintf(&b, ", $%d", i+5)
	}
	b.WriteString(`) ON CONFLICT (day, client, account, model) DO UPDATE SET `)
	for i, c := range usageCols {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s = usage_client_days.%s + excluded.%s", c, c, c)
	}
	return b.String()
}()

func countArgs(c *usage.Counts) []any {
	args := []any{c.Requests, c.Errors, c.PromptTokens, c.CompletionTokens, c.ImagesIn, c.FilesOut}
	for _, n := range c.TTFT {
		args = append(args, n)
	}
	return args
}

// AddUsageDays adds a batch of usage sums in one transaction. The addition
// happens in SQL, so instances sharing a database add up and never
// overwrite each other.
func (s *Store) AddUsageDays(ctx context.Context, batch map[usage.Key]usage.Counts) error {
	// A fixed order: two instances upserting the same rows in different
	// orders would deadlock on PostgreSQL.
	keys := make([]usage.Key, 0, len(batch))
	for k := range batch {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		return a.Day+"\x00"+a.Client+"\x00"+a.Account+"\x00"+a.Model < b.Day+"\x00"+b.Client+"\x00"+b.Account+"\x00"+b.Model
	})
	err := s.write(ctx, func(tx *sql.Tx) error {
		for _, k := range keys {
			c := batch[k]
			args := append([]any{k.Day, k.Client, k.Account, k.Model}, countArgs(&c)...)
			if _, err := tx.ExecContext(ctx, addUsageSQL, args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add usage: %w", err)
	}
	return nil
}

// UsageDays returns the usage rows of the days from..to (inclusive).
func (s *Store) UsageDays(ctx context.Context, from, to string) ([]usage.Row, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT day, client, account, model, `+strings.Join(usageCols, ", ")+`
		FROM usage_client_days WHERE day >= $1 AND day <= $2 ORDER BY day, client, account, model`, from, to)
	if err != nil {
		return nil, fmt.Errorf("read usage: %w", err)
	}
	defer rows.Close()
	var out []usage.Row
	for rows.Next() {
		var r usage.Row
		dest := []any{&r.Day, &r.Client, &r.Account, &r.Model, &r.Requests, &r.Errors, &r.PromptTokens,
			&r.CompletionTokens, &r.ImagesIn, &r.FilesOut}
		for i := range r.TTFT {
			dest = append(dest, &r.TTFT[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("read usage: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read usage: %w", err)
	}
	return out, nil
}
