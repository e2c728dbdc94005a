package instance

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// isolate gives the test its own runtime directory for the Unix sockets
// (named pipes on Windows are keyed by the data directory already).
func isolate(t *testing.T) {
	t.Helper()
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
}

func TestSecondLaunchShowsTheFirst(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	first, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	var shown atomic.Int32
	first.Handle(Show, func() { shown.Add(1) })
	if _, err := Acquire(dir); !errors.Is(err, ErrAnotherInstance) {
		t.Fatalf("second launch: %v", err)
	}
	if shown.Load() != 1 {
		t.Fatalf("first instance shown %d times", shown.Load())
	}
	// Another data directory is another app.
	other, err := Acquire(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	other.Close()
}

func TestQuitMessage(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	if err := Send(dir, Quit); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("quit with nothing running: %v", err)
	}
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	quit := make(chan struct{})
	l.Handle(Quit, func() { close(quit) })
	if err := Send(dir, Quit); err != nil {
		t.Fatal(err)
	}
	select {
	case <-quit:
	case <-time.After(5 * time.Second):
		t.Fatal("quit handler not called")
	}
	// A quit that comes while the app starts (before its handler is set)
	// is answered and delivered once the handler is there.
	other := t.TempDir()
	l2, err := Acquire(other)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if err := Send(other, Quit); err != nil {
		t.Fatalf("quit while starting: %v", err)
	}
	var early atomic.Int32
	l2.Handle(Quit, func() { early.Add(1) })
	l2.Handle(Quit, func() { early.Add(1) })
	if early.Load() != 1 {
		t.Fatalf("early quit delivered %d times", early.Load())
	}
	if err := Send(dir, "format-c"); err == nil || !strings.Contains(err.Error(), "unknown") {
		t.Fatalf("unknown message: %v", err)
	}
	l.Close()
	if err := Send(dir, Show); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("show after close: %v", err)
	}
	// Closed means released: the next launch takes the lock.
	again, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	again.Close()
}

// Launches racing each other: exactly one wins, the rest are told another
// instance runs.
func TestConcurrentLaunchesOneWins(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	const n = 6
	var wg sync.WaitGroup
	locks := make(chan *Lock, n)
	errs := make(chan error, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			l, err := Acquire(dir)
			if err != nil {
				errs <- err
				return
			}
			l.Handle(Show, func() {})
			locks <- l
		}()
	}
	close(start)
	wg.Wait()
	close(locks)
	close(errs)
	won := 0
	for l := range locks {
		won++
		t.Cleanup(func() { l.Close() })
	}
	if won != 1 {
		t.Fatalf("%d launches took the lock", won)
	}
	for err := range errs {
		if !errors.Is(err, ErrAnotherInstance) {
			t.Errorf("losing launch: %v", err)
		}
	}
}

// A process that dies without releasing the lock (a crash, a kill) leaves
// nothing behind that stops the next launch.
func TestKilledHolderLeavesNoStaleLock(t *testing.T) {
	if dir := os.Getenv("INSTANCE_TEST_HOLDER"); dir != "" {
		l, err := Acquire(dir)
		if err != nil {
			os.Stdout.WriteString("error " + err.Error() + "\n")
			os.Exit(1)
		}
		l.Handle(Show, func() { os.Stdout.WriteString("shown\n") })
		os.Stdout.WriteString("ready\n")
		time.Sleep(time.Minute)
		os.Exit(3)
	}
	isolate(t)
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledHolderLeavesNoStaleLock$")
	cmd.Env = append(os.Environ(), "INSTANCE_TEST_HOLDER="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "ready" {
		t.Fatalf("holder: %q %v", lines.Text(), lines.Err())
	}
	if _, err := Acquire(dir); !errors.Is(err, ErrAnotherInstance) {
		t.Fatalf("launch beside another process: %v", err)
	}
	if !lines.Scan() || lines.Text() != "shown" {
		t.Fatalf("holder was not asked to show: %q", lines.Text())
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	l, err := Acquire(dir)
	if err != nil {
		t.Fatalf("launch after the holder was killed: %v", err)
	}
	l.Close()
}
