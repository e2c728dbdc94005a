package store

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
)

// execAll runs statements on the database at u.
func execAll(t *testing.T, u string, stmts ...string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, q := range stmts {
		if _, err := conn.Exec(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func boolp(b bool) *bool { return &b }

func TestReadPythonAccounts(t *testing.T) {
	const cfg = "d06739ca-6683-46db-bb51-07395a392439"
	cases := []struct {
		name  string
		setup []string
		want  []accounts.Input
	}{
		{
			name: "current table with names",
			setup: []string{
				`CREATE TABLE gemini_accounts (
					id SERIAL PRIMARY KEY,
					name VARCHAR(100),
					secure_c_ses TEXT NOT NULL,
					host_c_oses TEXT,
					csesidx VARCHAR(50) NOT NULL,
					config_id VARCHAR(100) NOT NULL,
					is_active BOOLEAN DEFAULT TRUE,
					request_count INTEGER DEFAULT 0,
					last_used_at TIMESTAMP,
					disabled_reason TEXT,
					health_check_time TIMESTAMP,
					health_status VARCHAR(20),
					network_error_count INTEGER DEFAULT 0,
					last_network_error_time TIMESTAMP,
					created_at TIMESTAMP DEFAULT NOW()
				)`,
				`INSERT INTO gemini_accounts (name, secure_c_ses, host_c_oses, csesidx, config_id, is_active, request_count)
				 VALUES ('main', 'CSE.aaa', 'COS.bbb', '2026259595', '` + cfg + `', TRUE, 12)`,
				`INSERT INTO gemini_accounts (name, secure_c_ses, host_c_oses, csesidx, config_id, is_active)
				 VALUES (NULL, 'CSE.ccc', NULL, '17', '` + cfg + `', FALSE)`,
				`INSERT INTO gemini_accounts (name, secure_c_ses, csesidx, config_id, is_active)
				 VALUES ('  ', 'CSE.ddd', '18', '` + cfg + `', NULL)`,
			},
			want: []accounts.Input{
				{Name: "main", SecureCSES: "CSE.aaa", HostCOSES: "COS.bbb", CSESIDX: "2026259595", ConfigID: cfg, IsActive: boolp(true)},
				{Name: "python-2", SecureCSES: "CSE.ccc", CSESIDX: "17", ConfigID: cfg, IsActive: boolp(false)},
				{Name: "python-3", SecureCSES: "CSE.ddd", CSESIDX: "18", ConfigID: cfg},
			},
		},
		{
			name: "early table: no name, no host cookie, integer is_active",
			setup: []string{
				`CREATE TABLE gemini_accounts (
					id INTEGER PRIMARY KEY,
					secure_c_ses TEXT,
					csesidx TEXT,
					config_id TEXT,
					is_active INTEGER
				)`,
				`INSERT INTO gemini_accounts VALUES (7, 'CSE.x', '1', '` + cfg + `', 0), (3, 'CSE.y', '2', '` + cfg + `', 1)`,
			},
			want: []accounts.Input{
				{Name: "python-3", SecureCSES: "CSE.y", CSESIDX: "2", ConfigID: cfg, IsActive: boolp(true)},
				{Name: "python-7", SecureCSES: "CSE.x", CSESIDX: "1", ConfigID: cfg, IsActive: boolp(false)},
			},
		},
		{
			name:  "empty table",
			setup: []string{`CREATE TABLE gemini_accounts (id SERIAL, secure_c_ses TEXT, csesidx TEXT, config_id TEXT)`},
			want:  nil,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u := newPostgresSchema(t)
			execAll(t, u, c.setup...)
			got, err := ReadPythonAccounts(t.Context(), u)
			if err != nil {
				t.Fatalf("ReadPythonAccounts: %v", err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("ReadPythonAccounts =\n%#v\nwant\n%#v", dump(got), dump(c.want))
			}
			// It wrote nothing: no table of ours appeared beside theirs.
			conn, err := pgx.Connect(t.Context(), u)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(context.Background())
			var n int
			if err := conn.QueryRow(t.Context(), `SELECT COUNT(*) FROM information_schema.tables
				WHERE table_schema = current_schema() AND table_name <> 'gemini_accounts'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("ReadPythonAccounts created %d tables", n)
			}
		})
	}
}

func TestReadPythonAccountsNoTable(t *testing.T) {
	u := newPostgresSchema(t)
	_, err := ReadPythonAccounts(t.Context(), u)
	if err == nil || !strings.Contains(err.Error(), "gemini_accounts") {
		t.Errorf("ReadPythonAccounts without the table = %v, want an error naming gemini_accounts", err)
	}
}

func TestReadPythonAccountsNotTheirTable(t *testing.T) {
	u := newPostgresSchema(t)
	execAll(t, u, `CREATE TABLE gemini_accounts (id SERIAL, note TEXT)`)
	if _, err := ReadPythonAccounts(t.Context(), u); err == nil {
		t.Error("a gemini_accounts table without any credential column was accepted")
	}
}

// dump shows inputs with their secrets: test data only, and Input's own
// String hides exactly what a failing comparison needs to show.
func dump(in []accounts.Input) []string {
	out := make([]string, len(in))
	for i, a := range in {
		active := "nil"
		if a.IsActive != nil {
			active = map[bool]string{true: "true", false: "false"}[*a.IsActive]
		}
		out[i] = strings.Join([]string{a.Name, a.SecureCSES, a.HostCOSES, a.CSESIDX, a.ConfigID, active, a.UserAgent}, "|")
	}
	return out
}
