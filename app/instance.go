package app

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// instance is the single-instance lock of the desktop app: a Unix socket
// in the user's runtime directory. A second launch finds it, asks the first
// to show its window, and exits. The port alone is no lock: another program
// may hold it.
type instance struct {
	ln     net.Listener
	path   string
	mu     sync.Mutex
	onShow func()
	done   chan struct{}
}

// errAnotherInstance means the app already runs; it was asked to show itself.
var errAnotherInstance = errors.New("gemini-gateway is already running; its window was brought forward")

func instanceSocket(dataDir string) string {
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		dir = os.TempDir()
	}
	// One instance per data directory: two data directories are two apps.
	return filepath.Join(dir, fmt.Sprintf("gemini-gateway-%d-%x.sock", os.Getuid(), fnv32(dataDir)))
}

func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// acquireInstance takes the lock, or signals the running instance and
// returns errAnotherInstance.
func acquireInstance(dataDir string) (*instance, error) {
	path := instanceSocket(dataDir)
	if conn, err := net.DialTimeout("unix", path, time.Second); err == nil {
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(2 * time.Second))
		fmt.Fprintln(conn, "show")
		reply, _ := bufio.NewReader(conn).ReadString('\n')
		if strings.TrimSpace(reply) == "ok" {
			return nil, errAnotherInstance
		}
	}
	// Nobody answered: a stale socket from a crash.
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("single-instance lock %s: %w", path, err)
	}
	os.Chmod(path, 0o600)
	in := &instance{ln: ln, path: path, done: make(chan struct{})}
	go in.serve()
	return in, nil
}

// OnShow sets what a second launch triggers.
func (in *instance) OnShow(f func()) {
	in.mu.Lock()
	in.onShow = f
	in.mu.Unlock()
}

func (in *instance) serve() {
	defer close(in.done)
	for {
		conn, err := in.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(2 * time.Second))
			line, _ := bufio.NewReader(conn).ReadString('\n')
			if strings.TrimSpace(line) != "show" {
				return
			}
			in.mu.Lock()
			f := in.onShow
			in.mu.Unlock()
			if f != nil {
				f()
			}
			fmt.Fprintln(conn, "ok")
		}()
	}
}

// Close releases the lock.
func (in *instance) Close() {
	in.ln.Close()
	<-in.done
	os.Remove(in.path)
}
