//go:build linux && !nogui && !wayland

package idleloop

import (
	"encoding/binary"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"golang.org/x/sys/unix"
)

// Loop lets Fyne's event loop sleep while the window is hidden.
//
// Fyne's GLFW driver turns its loop on a 60 Hz ticker whether or not
// anything is on screen: some 430 wake-ups and 1.5–2 % of a core each
// second with nothing to do, for an app that spends most of its life in
// the tray. While the window is hidden, Loop queues a park function
// on that loop, and park blocks the loop in poll(2) on two descriptors:
// the X server connection, so that X events (another program pasting the
// base URL the tray copied, for one) are answered at once, and an eventfd
// that Do signals after queueing UI work. When either is ready, or after
// a long heartbeat for anything Fyne itself queued, park handles pending X
// events, queues itself again behind the waiting work and returns; the
// loop runs that work and parks again. Go schedules a channel timer only
// while something waits on its channel, so Fyne's ticker costs nothing
// while the loop is parked.
//
// Do and Stop may be called from any goroutine; SetHidden and Start from
// the Fyne goroutine (or before the app runs).
type Loop struct {
	enqueue   func(func()) // fyne.Do: queue f on the loop
	pump      func()       // handle pending X events (glfw.PollEvents)
	xfd       func() int   // the X connection, or -1; asked on the loop, once
	heartbeat time.Duration

	efd     int // eventfd; -1 disables parking
	hidden  atomic.Bool
	stopped atomic.Bool
	// On the loop goroutine only:
	started bool
	queued  bool // a park is queued or running
	x       int  // X connection fd, -1 when unknown or unusable; -2 not asked yet
	// For tests and the log:
	parked atomic.Bool
	cycles atomic.Int64
}

// New is the loop parker of the desktop app.
func New() *Loop {
	return newLoopWith(fyne.Do, pollX11Events, x11ConnectionFD, 5*time.Second)
}

func newLoopWith(enqueue func(func()), pump func(), xfd func() int, heartbeat time.Duration) *Loop {
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		efd = -1
	}
	return &Loop{enqueue: enqueue, pump: pump, xfd: xfd, heartbeat: heartbeat, efd: efd, x: -2}
}

// Do queues f on the Fyne goroutine and wakes the loop in case it is
// parked. It is the UI's Dispatch. It signals even while the window is
// shown (one write(2)): whether a park is queued ahead of f cannot be
// known here without a race, and a signal nobody needed costs the next
// park one extra turn.
func (l *Loop) Do(f func()) {
	l.enqueue(f)
	l.wake()
}

// Start allows parking once the app's loop runs (before, fyne.Do would
// run the park function at once and block the start-up).
func (l *Loop) Start() {
	l.started = true
	l.schedule()
}

// SetHidden says whether the window is off screen.
func (l *Loop) SetHidden(hidden bool) {
	l.hidden.Store(hidden)
	l.schedule()
}

// Stop ends parking for good (the app is quitting) and wakes the loop so
// that it sees Quit.
func (l *Loop) Stop() {
	l.stopped.Store(true)
	l.wake()
}

func (l *Loop) schedule() {
	if l.started && !l.queued && l.hidden.Load() && !l.stopped.Load() && l.efd >= 0 {
		l.queued = true
		l.enqueue(l.park)
	}
}

func (l *Loop) wake() {
	if l.efd < 0 {
		return
	}
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	unix.Write(l.efd, one[:]) // EAGAIN only when the counter is full: it is readable then anyway
}

// park runs on the loop: it blocks until there is something to do.
func (l *Loop) park() {
	if !l.hidden.Load() || l.stopped.Load() {
		l.queued = false
		return
	}
	if l.x == -2 {
		l.x = l.xfd()
	}
	l.pump() // so that the X connection only becomes readable for new events
	l.wait()
	l.cycles.Add(1)
	if l.stopped.Load() {
		l.queued = false
		return
	}
	// Behind whatever was queued meanwhile.
	l.enqueue(l.park)
}

func (l *Loop) wait() {
	fds := []unix.PollFd{{Fd: int32(l.efd), Events: unix.POLLIN}}
	if l.x >= 0 {
		fds = append(fds, unix.PollFd{Fd: int32(l.x), Events: unix.POLLIN})
	}
	l.parked.Store(true)
	defer l.parked.Store(false)
	deadline := time.Now().Add(l.heartbeat)
	for {
		ms := int(time.Until(deadline) / time.Millisecond)
		if ms <= 0 {
			return
		}
		n, err := unix.Poll(fds, ms)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return
		}
		if fds[0].Revents != 0 {
			var buf [8]byte
			unix.Read(l.efd, buf[:]) // reset the counter
		}
		if len(fds) > 1 && fds[1].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
			l.x = -1 // the X server went away: do not spin on it
		}
		return
	}
}
