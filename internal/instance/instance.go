// Package instance keeps one running copy of the desktop app per data
// directory and lets a later launch talk to it over a local channel: a
// Unix socket on Linux and macOS; on Windows a lock file and a loopback
// port (AF_UNIX exists there only since Windows 10 1803 and not at all
// under Wine; see instance_windows.go).
//
// The channel carries one line per connection: "show" brings the running
// app's window forward, "quit" asks it to stop gracefully (on Windows the
// only polite way to stop a GUI program that has no console).
package instance

import (
	"bufio"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"
)

// Messages understood by a running instance.
const (
	Show = "show"
	Quit = "quit"
)

// ErrAnotherInstance means the app already runs; it was asked to show itself.
var ErrAnotherInstance = errors.New("gemini-gateway is already running; its window was brought forward")

// ErrNotRunning means no instance answered on the data directory's channel.
var ErrNotRunning = errors.New("gemini-gateway is not running for this data directory")

// Lock is the held single-instance lock and the listening end of the
// channel.
type Lock struct {
	ln       net.Listener
	token    string // what a client sends before its message ("" on Unix, where the socket's mode keeps others out)
	release  func()
	mu       sync.Mutex
	handlers map[string]func()
	pending  map[string]bool // messages that came before their handler
	done     chan struct{}
	conns    sync.WaitGroup
}

// How long a second launch waits for the first to answer. The first may
// still be starting (it holds the lock but does not listen yet).
const answerWait = 5 * time.Second

// Acquire takes the lock for dataDir. When another instance holds it,
// Acquire asks that one to show itself and returns ErrAnotherInstance.
func Acquire(dataDir string) (*Lock, error) {
	name, err := channelName(dataDir)
	if err != nil {
		return nil, err
	}
	ln, token, release, err := lockAndListen(name)
	if errors.Is(err, errHeld) {
		if err := send(name, Show, answerWait); err != nil {
			return nil, fmt.Errorf("another gemini-gateway holds the lock %s but did not answer: %w", name, err)
		}
		return nil, ErrAnotherInstance
	}
	if err != nil {
		return nil, fmt.Errorf("single-instance lock %s: %w", name, err)
	}
	l := &Lock{ln: ln, token: token, release: release, handlers: map[string]func(){}, pending: map[string]bool{}, done: make(chan struct{})}
	go l.serve()
	return l, nil
}

// Send delivers msg to the instance running for dataDir and waits for its
// answer; ErrNotRunning when there is none.
func Send(dataDir, msg string) error {
	name, err := channelName(dataDir)
	if err != nil {
		return err
	}
	return send(name, msg, 0)
}

// Handle sets what msg (Show, Quit) triggers. The function runs on the
// channel's goroutine; it should hand the work to the UI loop and return.
// A Show or Quit that came before its handler was set (while the app was
// starting) was answered "ok" and runs now, once.
func (l *Lock) Handle(msg string, f func()) {
	l.mu.Lock()
	l.handlers[msg] = f
	pending := l.pending[msg]
	delete(l.pending, msg)
	l.mu.Unlock()
	if pending && f != nil {
		f()
	}
}

// Close stops listening and releases the lock.
func (l *Lock) Close() {
	l.ln.Close()
	<-l.done
	l.conns.Wait()
	l.release()
}

func (l *Lock) serve() {
	defer close(l.done)
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// A client that gave up mid-connect; keep serving.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		l.conns.Add(1)
		go func() {
			defer l.conns.Done()
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(2 * time.Second))
			line, err := bufio.NewReader(io.LimitReader(conn, 256)).ReadString('\n')
			if err != nil {
				return
			}
			l.mu.Lock()
			msg := strings.TrimSpace(line)
			if l.token != "" {
				tok, rest, _ := strings.Cut(msg, " ")
				if subtle.ConstantTimeCompare([]byte(tok), []byte(l.token)) != 1 {
					return
				}
				msg = rest
			}
			f := l.handlers[msg]
			if f == nil && (msg == Show || msg == Quit) {
				// Still starting: Handle delivers it.
				l.pending[msg] = true
				f = func() {}
			}
			l.mu.Unlock()
			if f == nil {
				fmt.Fprintln(conn, "unknown")
				return
			}
			f()
			fmt.Fprintln(conn, "ok")
		}()
	}
}

// send dials the channel (retrying for up to wait while the other side is
// starting) and sends one message.
func send(name, msg string, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	var conn net.Conn
	var token string
	for {
		var err error
		conn, token, err = dial(name, time.Second)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w (%v)", ErrNotRunning, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if token != "" {
		msg = token + " " + msg
	}
	if _, err := fmt.Fprintln(conn, msg); err != nil {
		return err
	}
	reply, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return fmt.Errorf("no answer to %q: %w", msg, err)
	}
	if r := strings.TrimSpace(reply); r != "ok" {
		return fmt.Errorf("the running instance answered %q to %q", r, msg)
	}
	return nil
}

// errHeld is what lockAndListen returns when another process holds the lock.
var errHeld = errors.New("held by another process")
