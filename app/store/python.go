package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
)

// pythonColumns are the gemini_accounts columns an import can use, in the
// order ReadPythonAccounts reads them. Versions of the Python gateway differ
// (name and user_agent came late), so only those present are selected.
func pythonColumns() []string {
	return []string{"id", "name", "secure_c_ses", "host_c_oses", "csesidx", "config_id", "is_active", "user_agent"}
}

// ReadPythonAccounts reads the accounts of the Python gateway from the
// gemini_accounts table of the PostgreSQL database at databaseURL (found
// through the URL's search_path), in id order. A missing name becomes
// "python-<id>". It reads in a read-only transaction and writes nothing
// anywhere: moving the secrets into a SecretStore is the caller's job
// (accounts.Manager.Create). The inputs are returned as stored, not
// normalised nor validated.
func ReadPythonAccounts(ctx context.Context, databaseURL string) ([]accounts.Input, error) {
	cfg, err := pythonConnConfig(databaseURL)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*pythonConnectTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, ErrPythonUnreachable
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("read Python gateway accounts: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()

	present, err := pythonTableColumns(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("read Python gateway accounts: %w", err)
	}
	if !present["secure_c_ses"] && !present["csesidx"] {
		return nil, errors.New("read Python gateway accounts: gemini_accounts has neither secure_c_ses nor csesidx: it is not the Python gateway's table")
	}
	rows, err := tx.Query(ctx, pythonSelect(present))
	if err != nil {
		return nil, fmt.Errorf("read Python gateway accounts: %w", err)
	}
	defer rows.Close()
	var out []accounts.Input
	for n := 1; rows.Next(); n++ {
		v := make([]*string, len(pythonColumns()))
		dest := make([]any, len(v))
		for i := range v {
			dest[i] = &v[i]
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("read Python gateway accounts: row %d: %w", n, err)
		}
		out = append(out, pythonInput(n, v))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read Python gateway accounts: %w", err)
	}
	return out, nil
}

// pythonSelect is the query of every pythonColumns column, as text, NULL
// for those the table lacks.
func pythonSelect(present map[string]bool) string {
	var sel []string
	for _, c := range pythonColumns() {
		ident := pgx.Identifier{c}.Sanitize()
		if present[c] {
			// ::text accepts whatever type a version used (serial, varchar,
			// boolean or integer is_active).
			sel = append(sel, ident+"::text")
		} else {
			sel = append(sel, "NULL::text")
		}
	}
	q := "SELECT " + strings.Join(sel, ", ") + " FROM gemini_accounts"
	if present["id"] {
		q += " ORDER BY id"
	}
	return q
}

// pythonInput is the account of the n-th row, whose columns v holds in
// pythonColumns order.
func pythonInput(n int, v []*string) accounts.Input {
	str := func(i int) string {
		if v[i] == nil {
			return ""
		}
		return *v[i]
	}
	id := str(0)
	if id == "" {
		id = fmt.Sprint(n)
	}
	in := accounts.Input{
		Name:       strings.TrimSpace(str(1)),
		SecureCSES: str(2),
		HostCOSES:  str(3),
		CSESIDX:    str(4),
		ConfigID:   str(5),
		IsActive:   parseBool(v[6]),
		UserAgent:  str(7),
	}
	if in.Name == "" {
		in.Name = "python-" + id
	}
	return in
}

// pythonTableColumns resolves gemini_accounts through the search_path, as
// the Python gateway's unqualified queries did, and lists its columns.
func pythonTableColumns(ctx context.Context, tx pgx.Tx) (map[string]bool, error) {
	var schema *string
	if err := tx.QueryRow(ctx, `SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.oid = to_regclass('gemini_accounts')`).Scan(&schema); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("find gemini_accounts: %w", err)
	}
	if schema == nil {
		return nil, errors.New("there is no gemini_accounts table in that database (or not in its search_path)")
	}
	rows, err := tx.Query(ctx, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = $1 AND table_name = 'gemini_accounts'`, *schema)
	if err != nil {
		return nil, fmt.Errorf("list gemini_accounts columns: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list gemini_accounts columns: %w", err)
	}
	present := make(map[string]bool, len(names))
	for _, n := range names {
		present[n] = true
	}
	return present, nil
}

// parseBool reads is_active as text: "true"/"false" from a boolean column,
// "1"/"0" from an integer one. Unknown or NULL is nil (the caller's
// default: active).
func parseBool(v *string) *bool {
	if v == nil {
		return nil
	}
	var b bool
	switch strings.ToLower(strings.TrimSpace(*v)) {
	case "true", "t", "1", "yes", "y", "on":
		b = true
	case "false", "f", "0", "no", "n", "off":
		b = false
	default:
		return nil
	}
	return &b
}
