//go:build linux || freebsd || openbsd || netbsd || dragonfly

package app

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// autostartPath is the XDG autostart entry of the app.
func autostartPath() (string, error) {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "autostart", AppID+".desktop"), nil
}

// SetStartAtLogin writes or removes the XDG autostart entry that starts
// this executable when the user logs in.
func SetStartAtLogin(on bool) error {
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
	entry := fmt.Sprintf(`[Desktop Entry]
Type=Application
Name=Gemini Gateway
Comment=OpenAI-compatible API for Gemini Business on 127.0.0.1:7860
Exec=%q
Icon=%s
Terminal=false
X-GNOME-Autostart-enabled=true
`, exe, AppID)
	return os.WriteFile(p, []byte(entry), 0o644)
}

// StartsAtLogin reports whether the autostart entry exists.
func StartsAtLogin() bool {
	p, err := autostartPath()
	if err != nil {
		return false
	}
	_, err = os.Stat(p)
	return err == nil
}
