package app

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// adminKeyFile holds the generated admin credential in the data directory.
const adminKeyFile = "admin.key"

// NewAdminKey makes an admin credential, distinct in form from client keys.
func NewAdminKey() string {
	var b [32]byte
	rand.Read(b[:])
	return "gg-admin-" + base64.RawURLEncoding.EncodeToString(b[:])
}

// ensureAdminKey fills cfg.Gateway.AdminKey: ADMIN_KEY when set, else the
// key in <data dir>/admin.key, else a new one written there (mode 0600).
// created reports a new file, whose key the caller shows once.
func ensureAdminKey(cfg *Config) (path string, created bool, err error) {
	if cfg.Gateway.AdminKey != "" {
		return "", false, nil
	}
	path = filepath.Join(cfg.DataDir, adminKeyFile)
	key, err := readAdminKey(path)
	if err == nil {
		cfg.Gateway.AdminKey = key
		return path, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return path, false, err
	}
	key = NewAdminKey()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Another instance made it first: use that one.
		key, err = readAdminKey(path)
		if err != nil {
			return path, false, err
		}
		cfg.Gateway.AdminKey = key
		return path, false, nil
	}
	if err != nil {
		return path, false, fmt.Errorf("write the admin key to %s: %w", path, err)
	}
	if _, err := f.WriteString(key + "\n"); err != nil {
		f.Close()
		os.Remove(path)
		return path, false, fmt.Errorf("write the admin key to %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return path, false, fmt.Errorf("write the admin key to %s: %w", path, err)
	}
	cfg.Gateway.AdminKey = key
	return path, true, nil
}

// readAdminKey reads admin.key, refusing one that others could read or
// that another user owns (they could have planted a key they know).
func readAdminKey(path string) (string, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file; remove it and start again to make a new admin key", path)
	}
	if err := ownedPrivately(fi, 0o077); err != nil {
		return "", fmt.Errorf("%s %v; remove it and start again to make a new admin key", path, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	key := strings.TrimSpace(string(b))
	if len(key) < 16 {
		return "", fmt.Errorf("%s holds no usable key (fewer than 16 characters); remove it and start again", path)
	}
	return key, nil
}
