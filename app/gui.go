//go:build !nogui

package app

import (
	"fmt"
	"os"
)

// runGUI starts the desktop app.
func runGUI(cfg *Config) int {
	fmt.Fprintln(os.Stderr, "gemini-gateway: the desktop GUI is not built yet; serving headless")
	return RunHeadless(cfg, os.Stderr, nil)
}
