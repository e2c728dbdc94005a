// Package proctest runs the program under test as a child process, for
// the end-to-end tests of app (the headless and desktop binaries) and
// internal/wine (the Windows build under Wine): start it with its output
// kept, wait for it to serve or to exit, and never leave it behind.
//
// Waits end on an event (the process served, exited, or the condition
// held); the one time limit they share is the test's own (go test
// -timeout, see Deadline), not a guess at how fast a loaded machine starts
// a program. Being internal, it is for this module's tests only.
package proctest

import (
	"bytes"
	"net"
	"net/http"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// Buffer is a bytes.Buffer safe for the concurrent writes of a child's
// stdout and stderr and the test's reads.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Proc is a started child process.
type Proc struct {
	Cmd  *exec.Cmd
	Out  *Buffer       // stdout and stderr
	Done chan struct{} // closed once the process has exited
	name string
}

// Start starts cmd with its output in Out. When the test ends the process
// is killed if it still runs, and its output is logged under name if the
// test failed.
func Start(t *testing.T, cmd *exec.Cmd, name string) *Proc {
	t.Helper()
	p := &Proc{Cmd: cmd, Out: &Buffer{}, Done: make(chan struct{}), name: name}
	cmd.Stdout, cmd.Stderr = p.Out, p.Out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(p.Done) }()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.Out)
		}
	})
	return p
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.Done:
		return true
	default:
		return false
	}
}

// Wait waits up to d for the process to end and returns its exit code; a
// process still running after d fails the test.
func (p *Proc) Wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.Done:
		return p.Cmd.ProcessState.ExitCode()
	case <-time.After(d):
		t.Fatalf("%s still running after %v", p.name, d)
		return -1
	}
}

// Kill ends the process (if it still runs) and waits for it.
func (p *Proc) Kill() {
	p.Cmd.Process.Kill()
	<-p.Done
}

// Deadline is when a wait in this test gives up: shortly before go test's
// own -timeout (which would end the binary without running the clean-ups
// that stop child processes), or in ten minutes (go test's default
// timeout) when there is none.
func Deadline(t *testing.T) time.Time {
	if d, ok := t.Deadline(); ok {
		return d.Add(-10 * time.Second) // to fail, log the output and kill the child

	}
	return time.Now().Add(10 * time.Minute)
}

// Poll checks cond every 20 ms until it holds. It fails the test at once
// when the process exits first, and at Deadline otherwise.
func (p *Proc) Poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := Deadline(t)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-p.Done:
			if cond() {
				return
			}
			t.Fatalf("%s exited (code %d) while the test waited for %s", p.name, p.Cmd.ProcessState.ExitCode(), what)
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// WaitServing waits until base+"/healthz" answers 200.
func (p *Proc) WaitServing(t *testing.T, base string) {
	t.Helper()
	// A per-attempt limit only, so that a connection accepted by a
	// program that never answers is tried again rather than waited on.
	c := &http.Client{Timeout: 5 * time.Second}
	p.Poll(t, base+"/healthz", func() bool {
		resp, err := c.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// FreePort is a loopback TCP port free at the time of the call.
func FreePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
