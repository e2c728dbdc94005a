// Package idleloop lets the desktop app's Fyne event loop sleep while the
// window is hidden (Linux with X11; elsewhere its Loop only forwards to
// fyne.Do). The app uses Loop.Do as the UI's dispatch function.
package idleloop
