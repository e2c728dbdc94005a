//go:build !nogui && (!linux || wayland)

package idleloop

import "fyne.io/fyne/v2"

// Loop parks Fyne's event loop only on Linux with X11 (linux.go);
// elsewhere the toolkit's loop pumps the system's own event queue and
// must keep turning.
type Loop struct{}

// New returns a Loop that hands work to fyne.Do.
func New() *Loop { return &Loop{} }

func (*Loop) Do(f func())    { fyne.Do(f) }
func (*Loop) Start()         {}
func (*Loop) SetHidden(bool) {}
func (*Loop) Stop()          {}
