//go:build nogui

package app

import (
	"fmt"
	"os"
)

// runGUI in a build without the GUI serves headless.
func runGUI(cfg *Config) int {
	fmt.Fprintln(os.Stderr, "gemini-gateway: built without the desktop GUI (-tags nogui); serving headless")
	return RunHeadless(cfg, os.Stderr, nil)
}
