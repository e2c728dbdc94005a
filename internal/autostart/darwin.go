//go:build darwin

package autostart

import (
	"fmt"
	"os"
	"path/filepath"
)

func (a App) path() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, "Library", "LaunchAgents", a.ID+".plist"), nil
}

// Set writes or removes a LaunchAgent that starts the app at login.
func (a App) Set(on bool) error {
	return a.setFile(on, func(exe string) string {
		return fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
  <key>Label</key><string>%s</string>
  <key>ProgramArguments</key><array><string>%s</string></array>
  <key>RunAtLoad</key><true/>
</dict></plist>
`, a.ID, exe)
	})
}
