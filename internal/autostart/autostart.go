// Package autostart starts an executable when the user logs in: an XDG
// autostart entry on Linux and the BSDs, a LaunchAgent on macOS, a value
// under the user's Run key in the registry on Windows.
package autostart

import "os"

// App names what starts at login.
type App struct {
	// ID is the reverse-DNS application id: the file name of the entry on
	// Linux and macOS, the LaunchAgent's label.
	ID string
	// Name is shown to the user; it is the Run value's name on Windows.
	Name string
	// Comment describes the app in the XDG entry.
	Comment string
	// Exe is what to start; empty means this executable (os.Executable).
	Exe string
}

func (a App) exe() (string, error) {
	if a.Exe != "" {
		return a.Exe, nil
	}
	return os.Executable()
}
