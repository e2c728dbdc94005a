//go:build linux || freebsd || openbsd || netbsd || dragonfly

package autostart

import (
	"fmt"
	"os"
	"path/filepath"
)

// path is the XDG autostart entry of the app.
func (a App) path() (string, error) {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "autostart", a.ID+".desktop"), nil
}

// Set writes or removes the XDG autostart entry.
func (a App) Set(on bool) error {
	return a.setFile(on, func(exe string) string {
		return fmt.Sprintf(`[Desktop Entry]
Type=Application
Name=%s
Comment=%s
Exec=%q
Icon=%s
Terminal=false
X-GNOME-Autostart-enabled=true
`, a.Name, a.Comment, exe, a.ID)
	})
}
