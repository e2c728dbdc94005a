package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
)

// The methods below are the keystore's BlobStore: the sealed backend keeps
// ciphertext here, keyed by secret ref, and its key-check value in meta.
// Error messages name the operation but never the blob, and refs and keys
// are not secret.

// PutBlob stores blob under ref, replacing any blob already there.
func (s *Store) PutBlob(ctx context.Context, ref string, blob []byte) error {
	if blob == nil {
		blob = []byte{} // NOT NULL: an empty blob is still a blob
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sealed_secrets (ref, blob, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (ref) DO UPDATE SET blob = excluded.blob, updated_at = excluded.updated_at`,
			ref, blob, s.timeArg(now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("store sealed secret: %w", err)
	}
	return nil
}

// GetBlob returns the blob stored under ref, or accounts.ErrSecretNotFound.
func (s *Store) GetBlob(ctx context.Context, ref string) ([]byte, error) {
	var blob []byte
	err := s.db.QueryRowContext(ctx, `SELECT blob FROM sealed_secrets WHERE ref = $1`, ref).Scan(&blob)
	if isNoRows(err) {
		return nil, fmt.Errorf("read sealed secret: %w", accounts.ErrSecretNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read sealed secret: %w", err)
	}
	return blob, nil
}

// DeleteBlob removes the blob under ref; a missing blob is not an error.
func (s *Store) DeleteBlob(ctx context.Context, ref string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sealed_secrets WHERE ref = $1`, ref)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete sealed secret: %w", err)
	}
	return nil
}

// BlobRefs lists the refs that have a sealed blob (for consistency checks:
// each should belong to an account or to the pending journal).
func (s *Store) BlobRefs(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT ref FROM sealed_secrets ORDER BY ref`)
	if err != nil {
		return nil, fmt.Errorf("list sealed secrets: %w", err)
	}
	defer rows.Close()
	var refs []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, fmt.Errorf("list sealed secrets: %w", err)
		}
		refs = append(refs, r)
	}
	return refs, rows.Err()
}

// GetMeta returns the value stored under key and whether there is one.
func (s *Store) GetMeta(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = $1`, key).Scan(&v)
	if isNoRows(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read setting %q: %w", key, err)
	}
	return v, true, nil
}

// PutMetaIfAbsent stores value under key unless a value is already there,
// and returns the value now stored: the first writer wins, across goroutines
// and processes. The insert waits for a concurrent uncommitted insert of the
// same key (a row lock on PostgreSQL, the write lock on SQLite), and the
// read that follows sees the committed winner.
func (s *Store) PutMetaIfAbsent(ctx context.Context, key, value string) (string, error) {
	var stored string
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`,
			key, value); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = $1`, key).Scan(&stored)
	})
	if err != nil {
		return "", fmt.Errorf("store setting %q: %w", key, err)
	}
	return stored, nil
}
