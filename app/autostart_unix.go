//go:build linux || freebsd || openbsd || netbsd || dragonfly

package app

import (
	"fmt"
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
	return setAutostartFile(on, func(exe string) string {
		return fmt.Sprintf(`[Desktop Entry]
Type=Application
Name=Gemini Gateway
Comment=OpenAI-compatible API for Gemini Business on 127.0.0.1:7860
Exec=%q
Icon=%s
Terminal=false
X-GNOME-Autostart-enabled=true
`, exe, AppID)
	})
}
