//go:build !windows

package app

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// setAutostartFile writes (on) or removes (off) the file that makes the
// desktop start this executable at login; entry renders it for exe.
func setAutostartFile(on bool, entry func(exe string) string) error {
	p, err := autostartPath()
	if err != nil {
		return err
	}
	if !on {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(entry(exe)), 0o644)
}

// StartsAtLogin reports whether the autostart file exists.
func StartsAtLogin() bool {
	p, err := autostartPath()
	if err != nil {
		return false
	}
	_, err = os.Stat(p)
	return err == nil
}
