// Package pgtest gives tests a PostgreSQL schema of their own on the server
// named by TEST_DATABASE_URL, dropped when the test ends. Without that
// variable tests skip — unless GATEWAY_TEST_STRICT=1 (as `make test` and CI
// set), which makes a missing server a failure.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// BaseURL returns TEST_DATABASE_URL, or skips (fails in strict mode).
func BaseURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("TEST_DATABASE_URL")
	if u != "" {
		return u
	}
	if os.Getenv("GATEWAY_TEST_STRICT") == "1" {
		t.Fatal("GATEWAY_TEST_STRICT=1 but TEST_DATABASE_URL is not set: the PostgreSQL tests cannot run. " +
			"Set TEST_DATABASE_URL to a PostgreSQL URL, e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	}
	t.Skip("TEST_DATABASE_URL is not set: skipping the PostgreSQL tests (set it to a PostgreSQL URL to run them; GATEWAY_TEST_STRICT=1 turns this skip into a failure)")
	return ""
}

// WithSearchPath returns base with search_path set to schema, in either
// connection-string form.
func WithSearchPath(t testing.TB, base, schema string) string {
	t.Helper()
	if strings.HasPrefix(base, "postgres://") || strings.HasPrefix(base, "postgresql://") {
		u, err := url.Parse(base)
		if err != nil {
			t.Fatalf("TEST_DATABASE_URL: %v", err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return base + " search_path=" + schema
}

// Schema creates a schema with a random name, dropped when the test ends,
// and returns a URL whose connections use it, and the schema's name.
func Schema(t testing.TB) (dbURL, schema string) {
	t.Helper()
	base := BaseURL(t)
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema = "gwtest_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to TEST_DATABASE_URL: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create test schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
		}
	})
	return WithSearchPath(t, base, schema), schema
}
