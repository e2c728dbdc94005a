//go:build windows

package autostart

import (
	"errors"

	"golang.org/x/sys/windows/registry"
)

// RunKey is where Windows looks for programs to start at the user's login.
const RunKey = `Software\Microsoft\Windows\CurrentVersion\Run`

// Set adds or removes the app under the user's Run key. The path is quoted:
// it usually contains spaces ("C:\Program Files\..." or the user's name).
func (a App) Set(on bool) error {
	k, _, err := registry.CreateKey(registry.CURRENT_USER, RunKey, registry.SET_VALUE|registry.QUERY_VALUE)
	if err != nil {
		return err
	}
	defer k.Close()
	if !on {
		if err := k.DeleteValue(a.Name); err != nil && !errors.Is(err, registry.ErrNotExist) {
			return err
		}
		return nil
	}
	exe, err := a.exe()
	if err != nil {
		return err
	}
	return k.SetStringValue(a.Name, `"`+exe+`"`)
}

// Enabled reports whether the Run value exists.
func (a App) Enabled() bool {
	k, err := registry.OpenKey(registry.CURRENT_USER, RunKey, registry.QUERY_VALUE)
	if err != nil {
		return false
	}
	defer k.Close()
	_, _, err = k.GetStringValue(a.Name)
	return err == nil
}
