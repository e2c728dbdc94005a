//go:build !nogui && (!linux || wayland)

package app

import "fyne.io/fyne/v2"

// idleLoop parks Fyne's event loop only on Linux with X11 (idle_linux.go);
// elsewhere the toolkit's loop pumps the system's own event queue and
// must keep turning.
type idleLoop struct{}

func newIdleLoop() *idleLoop { return &idleLoop{} }

func (*idleLoop) Do(f func())    { fyne.Do(f) }
func (*idleLoop) Start()         {}
func (*idleLoop) SetHidden(bool) {}
func (*idleLoop) Stop()          {}
