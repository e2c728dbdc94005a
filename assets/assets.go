// Package assets holds the product's icons, drawn by gen.go for this
// product and embedded into the binary: the app icon and the monochrome
// tray icon with a status dot for each gateway state (the Linux tray needs
// PNG, not SVG).
package assets

//go:generate go run gen.go

import (
	_ "embed"
)

var (
	//go:embed icon.png
	iconPNG []byte
	//go:embed tray.png
	trayPNG []byte
	//go:embed tray-serving.png
	trayServingPNG []byte
	//go:embed tray-degraded.png
	trayDegradedPNG []byte
	//go:embed tray-stopped.png
	trayStoppedPNG []byte
	//go:embed tray-down.png
	trayDownPNG []byte
)

// Icon is the 512×512 app icon.
func Icon() []byte { return iconPNG }

// Tray states, one icon each.
const (
	TrayPlain    = "plain"
	TrayServing  = "serving"
	TrayDegraded = "degraded"
	TrayStopped  = "stopped"
	TrayDown     = "down"
)

// Tray returns the 64×64 tray icon for a state.
func Tray(state string) []byte {
	switch state {
	case TrayServing:
		return trayServingPNG
	case TrayDegraded:
		return trayDegradedPNG
	case TrayStopped:
		return trayStoppedPNG
	case TrayDown:
		return trayDownPNG
	}
	return trayPNG
}
