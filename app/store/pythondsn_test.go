package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// F2: a database_url handed to the import cannot make pgx read a file of
// the gateway's user (servicefile, passfile, sslkey, sslrootcert …), from
// the URL, from the environment or from the home-directory defaults.
func TestPythonDSNAllowList(t *testing.T) {
	home := t.TempDir()
	secret := filepath.Join(home, "private.txt")
	os.WriteFile(secret, []byte("host=evil.example password=stolen-from-a-private-file\n"), 0o600)
	os.WriteFile(filepath.Join(home, ".pgpass"), []byte("*:*:*:*:pgpass-password-of-the-owner\n"), 0o600)
	os.MkdirAll(filepath.Join(home, ".postgresql"), 0o700)
	os.WriteFile(filepath.Join(home, ".postgresql", "postgresql.key"), []byte("not a key"), 0o600)
	os.WriteFile(filepath.Join(home, ".postgresql", "postgresql.crt"), []byte("not a cert"), 0o600)
	os.WriteFile(filepath.Join(home, ".postgresql", "root.crt"), []byte("not a cert"), 0o600)
	t.Setenv("HOME", home)
	t.Setenv("PGPASSFILE", filepath.Join(home, ".pgpass"))
	t.Setenv("PGSSLKEY", secret)
	t.Setenv("PGSSLCERT", secret)
	t.Setenv("PGSSLROOTCERT", secret)

	refused := []string{
		"postgres://u@127.0.0.1/db?servicefile=" + secret + "&service=x",
		"postgres://u@127.0.0.1/db?passfile=" + secret,
		"postgres://u@127.0.0.1/db?sslkey=" + secret + "&sslcert=" + secret,
		"postgres://u@127.0.0.1/db?sslrootcert=" + secret,
		"postgres://u@127.0.0.1/db?options=-c%20log_statement=all",
		"postgres://u@%2Ftmp%2F.s.PGSQL.5432/db", // a Unix socket: a file-existence probe
		"postgres://u@a,b/db",
		"host=127.0.0.1 user=u servicefile=" + secret,
		"postgres://u@127.0.0.1:99999/db",
	}
	for _, dsn := range refused {
		if _, err := pythonConnConfig(dsn); !errors.Is(err, ErrPythonDSN) {
			t.Errorf("%s: %v, want ErrPythonDSN", dsn, err)
		} else if strings.Contains(err.Error(), "stolen") {
			t.Errorf("%s: the error carries the file's contents: %v", dsn, err)
		}
	}
	cfg, err := pythonConnConfig("postgres://py:pw%27x@db.example:5433/gateway?sslmode=require")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "db.example" || cfg.Port != 5433 || cfg.Database != "gateway" || cfg.User != "py" || cfg.Password != "pw'x" ||
		cfg.ConnectTimeout != pythonConnectTimeout || cfg.TLSConfig == nil || len(cfg.TLSConfig.Certificates) != 0 {
		t.Fatalf("config %+v", cfg.Config)
	}
	// No password given: neither the environment's PGPASSFILE nor ~/.pgpass
	// supplies one; the environment's client certificate is not loaded.
	cfg, err = pythonConnConfig("postgres://py@10.0.0.9/gateway?sslmode=prefer")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Password != "" {
		t.Fatalf("a password came from a file: %q", cfg.Password)
	}
	if cfg.TLSConfig != nil && (len(cfg.TLSConfig.Certificates) != 0 || cfg.TLSConfig.RootCAs != nil) {
		t.Fatalf("a certificate came from a file: %+v", cfg.TLSConfig)
	}
}

// FuzzPythonDSN: whatever the URL, either an ErrPythonDSN or a config that
// names no file pgx would read.
func FuzzPythonDSN(f *testing.F) {
	for _, s := range []string{"postgres://u:p@h:5432/db?sslmode=require", "postgres://u@h/db?passfile=/etc/shadow", "postgresql://u@[::1]/d?search_path=a,b", "host=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		cfg, err := pythonConnConfig(dsn)
		if err != nil {
			if !errors.Is(err, ErrPythonDSN) && !errors.Is(err, ErrPythonUnreachable) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if cfg.TLSConfig != nil && len(cfg.TLSConfig.Certificates) != 0 {
			t.Fatal("a client certificate was loaded")
		}
		if strings.HasPrefix(cfg.Host, "/") {
			t.Fatalf("a Unix socket path got through: %q", cfg.Host)
		}
	})
}
