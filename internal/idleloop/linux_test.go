//go:build linux && !nogui && !wayland

package idleloop

import (
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeLoop is a single goroutine running queued functions in order, as
// Fyne's loop does, with a pipe standing in for the X connection: pump
// reads whatever "events" were written to it, as Xlib does.
type fakeLoop struct {
	q      chan func()
	xr, xw *os.File
	pumped atomic.Int64
	done   chan struct{}
}

func newFakeLoop(t *testing.T) *fakeLoop {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeLoop{q: make(chan func(), 1<<16), xr: r, xw: w, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		for fn := range f.q {
			fn()
		}
	}()
	t.Cleanup(func() { w.Close(); r.Close() })
	return f
}

func (f *fakeLoop) enqueue(fn func()) { f.q <- fn }

// run runs fn on the loop and waits for it. It queues fn directly, as
// Fyne's own code would, without waking a parked loop: use it only while
// no park can be queued.
func (f *fakeLoop) run(fn func()) {
	done := make(chan struct{})
	f.q <- func() { fn(); close(done) }
	<-done
}

func (f *fakeLoop) pump() {
	f.pumped.Add(1)
	// The fd is non-blocking only in poll's view; read only what is there.
	var b [64]byte
	for {
		fds := []unix.PollFd{{Fd: int32(f.xr.Fd()), Events: unix.POLLIN}}
		if n, _ := unix.Poll(fds, 0); n == 0 {
			return
		}
		f.xr.Read(b[:])
	}
}

func startIdle(t *testing.T, heartbeat time.Duration) (*fakeLoop, *Loop) {
	t.Helper()
	f := newFakeLoop(t)
	l := newLoopWith(f.enqueue, f.pump, func() int { return int(f.xr.Fd()) }, heartbeat)
	if l.efd < 0 {
		t.Fatal("no eventfd")
	}
	t.Cleanup(func() {
		l.Stop()
		f.run(func() {}) // the park, if any, returned without queueing another
		close(f.q)
		select {
		case <-f.done:
		case <-time.After(5 * time.Second):
			t.Error("the loop did not come out of park after Stop")
		}
	})
	f.run(l.Start)
	return f, l
}

func TestIdleLoopParksOnlyWhileHidden(t *testing.T) {
	f, l := startIdle(t, time.Hour)
	// Visible: nothing parks, queued work runs.
	ran := make(chan struct{})
	l.Do(func() { close(ran) })
	<-ran
	if l.parked.Load() {
		t.Fatal("parked while the window is visible")
	}

	f.run(func() { l.SetHidden(true) })
	waitUntil(t, 5*time.Second, "the loop to park", l.parked.Load)

	// Work queued through Do wakes it, runs, and the loop parks again.
	for i := 0; i < 3; i++ {
		ran := make(chan struct{})
		l.Do(func() { close(ran) })
		select {
		case <-ran:
		case <-time.After(5 * time.Second):
			t.Fatalf("Do #%d did not run while parked", i)
		}
		waitUntil(t, 5*time.Second, "the loop to park again", l.parked.Load)
	}
	before := l.cycles.Load()
	time.Sleep(50 * time.Millisecond)
	if n := l.cycles.Load() - before; n != 0 {
		t.Fatalf("parked loop turned %d times with nothing to do", n)
	}

	// Shown again (Show runs on the loop, through Do): no more parking.
	l.Do(func() { l.SetHidden(false) })
	waitUntil(t, 5*time.Second, "the loop to stay up", func() bool { return !l.parked.Load() })
	time.Sleep(20 * time.Millisecond)
	if l.parked.Load() {
		t.Fatal("parked again while visible")
	}
	f.run(func() {
		if l.queued {
			t.Error("a park is still queued while visible")
		}
	})
}

func TestIdleLoopAnswersXEventsAtOnce(t *testing.T) {
	f, l := startIdle(t, time.Hour)
	f.run(func() { l.SetHidden(true) })
	waitUntil(t, 5*time.Second, "the loop to park", l.parked.Load)
	pumped := f.pumped.Load()
	f.xw.Write([]byte("SelectionRequest"))
	waitUntil(t, 5*time.Second, "the X event to be handled", func() bool { return f.pumped.Load() > pumped })
	waitUntil(t, 5*time.Second, "the loop to park again", l.parked.Load)
	// Handled once, not spun on.
	time.Sleep(50 * time.Millisecond)
	if n := f.pumped.Load() - pumped; n > 2 {
		t.Fatalf("pumped %d times for one event", n)
	}
}

func TestIdleLoopHeartbeatRunsWorkQueuedBehindItsBack(t *testing.T) {
	f, l := startIdle(t, 30*time.Millisecond)
	f.run(func() { l.SetHidden(true) })
	waitUntil(t, 5*time.Second, "the loop to park", l.parked.Load)
	// Fyne's own fyne.Do does not wake the loop; the heartbeat bounds the
	// wait.
	ran := make(chan struct{})
	f.enqueue(func() { close(ran) })
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("work queued without Do never ran")
	}
}

func TestIdleLoopStopReleasesThePark(t *testing.T) {
	f, l := startIdle(t, time.Hour)
	f.run(func() { l.SetHidden(true) })
	waitUntil(t, 5*time.Second, "the loop to park", l.parked.Load)
	// Quit is queued by Fyne (not through Do), then Stop wakes the loop.
	quit := make(chan struct{})
	f.enqueue(func() { close(quit) })
	l.Stop()
	select {
	case <-quit:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not let the queued Quit run")
	}
	time.Sleep(20 * time.Millisecond)
	if l.parked.Load() {
		t.Fatal("parked after Stop")
	}
	f.run(func() { l.SetHidden(true) })
	time.Sleep(20 * time.Millisecond)
	if l.parked.Load() {
		t.Fatal("parked after Stop")
	}
}

// Many goroutines dispatching while the window hides and shows: every
// function runs, none waits for the heartbeat (an hour here).
func TestIdleLoopNeverStrandsWork(t *testing.T) {
	_, l := startIdle(t, time.Hour)
	const workers, each = 8, 500
	var ran atomic.Int64
	var wg sync.WaitGroup
	stop, toggled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(toggled)
		hidden := true
		for {
			select {
			case <-stop:
				return
			default:
			}
			h := hidden
			l.Do(func() { l.SetHidden(h) })
			hidden = !hidden
			time.Sleep(100 * time.Microsecond)
		}
	}()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				l.Do(func() { ran.Add(1) })
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-toggled
	l.Do(func() { l.SetHidden(true) })
	waitUntil(t, 5*time.Second, "every dispatched function to run", func() bool { return ran.Load() == workers*each })
	waitUntil(t, 5*time.Second, "the loop to park at the end", l.parked.Load)
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
