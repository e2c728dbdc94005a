//go:build !windows

package autostart

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// setFile writes (on) or removes (off) the file that makes the desktop
// start the app at login; entry renders it for exe.
func (a App) setFile(on bool, entry func(exe string) string) error {
	p, err := a.path()
	if err != nil {
		return err
	}
	if !on {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	exe, err := a.exe()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(entry(exe)), 0o644)
}

// Enabled reports whether the autostart file exists.
func (a App) Enabled() bool {
	p, err := a.path()
	if err != nil {
		return false
	}
	_, err = os.Stat(p)
	return err == nil
}
