//go:build linux && !nogui && !wayland

package idleloop

/*
#include <X11/Xlib.h>

static int x11_connection_fd(void *dpy) {
	return dpy ? ConnectionNumber((Display *)dpy) : -1;
}
*/
import "C"

import (
	"unsafe"

	"github.com/go-gl/glfw/v3.3/glfw"
)

// x11ConnectionFD is the socket of GLFW's X connection, or -1. Call it on
// the Fyne goroutine once the app runs.
func x11ConnectionFD() (fd int) {
	defer func() {
		if recover() != nil { // GLFW reports an error as a panic
			fd = -1
		}
	}()
	return int(C.x11_connection_fd(unsafe.Pointer(glfw.GetX11Display())))
}

// pollX11Events handles the X events GLFW has pending, as Fyne's loop does
// on each tick; on the Fyne goroutine.
func pollX11Events() { glfw.PollEvents() }
