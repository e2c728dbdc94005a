//go:build nogui

package app

import (
	"fmt"
)

// runGUI in a build without the GUI serves headless.
func runGUI(cfg *Config) int {
	logOut, closeLog := headlessLog(cfg.DataDir)
	defer closeLog()
	fmt.Fprintln(logOut, "gemini-gateway: built without the desktop GUI (-tags nogui); serving headless")
	return RunHeadless(cfg, logOut, nil)
}
