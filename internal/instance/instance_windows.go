//go:build windows

package instance

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/windows"
)

// On Windows the lock is <data dir>\instance.lock held open without write
// sharing: a second launch cannot open it for writing while the first
// runs, and Windows closes the handle when the process ends, however it
// ends. The channel is a loopback TCP port; the lock file tells it and a
// random token that a client must send first, so other users of the
// machine (who can reach 127.0.0.1 but not the data directory) cannot
// drive the app.
//
// Named pipes were the first choice, but under Wine 8 (used to test the
// Windows build) a pipe created with FILE_CREATE could be created twice
// and reads on it timed out; a lock file and a loopback socket behave the
// same on every Windows version and under Wine.

func channelName(dataDir string) (string, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return "", err
	}
	return filepath.Join(abs, "instance.lock"), nil
}

func lockAndListen(name string) (net.Listener, string, func(), error) {
	if err := os.MkdirAll(filepath.Dir(name), 0o700); err != nil {
		return nil, "", nil, err
	}
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return nil, "", nil, err
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ|windows.GENERIC_WRITE, windows.FILE_SHARE_READ, nil,
		windows.OPEN_ALWAYS, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if errors.Is(err, windows.ERROR_SHARING_VIOLATION) {
		return nil, "", nil, errHeld
	}
	if err != nil {
		return nil, "", nil, err
	}
	f := os.NewFile(uintptr(h), name)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Close()
		return nil, "", nil, err
	}
	var b [16]byte
	rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	line := fmt.Sprintf("%d %s\n", ln.Addr().(*net.TCPAddr).Port, token)
	if f.Truncate(0) == nil {
		// What a second launch dials. A failed write leaves the file
		// empty, which the dialer reads as "still starting" (errStarting)
		// and retries; failing the lock here would stop single-instance
		// protection altogether.
		_, _ = f.WriteAt([]byte(line), 0)
	}
	return ln, token, func() { f.Truncate(0); f.Close() }, nil
}

// dial reads the port and token the holder wrote; an empty file means it
// is still starting.
func dial(name string, timeout time.Duration) (net.Conn, string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, "", err
	}
	var port int
	var token string
	if _, err := fmt.Sscanf(string(b), "%d %s", &port, &token); err != nil {
		return nil, "", fmt.Errorf("lock file %s: %w", name, errStarting)
	}
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), timeout)
	return conn, token, err
}

// errStarting: the lock is held but its channel is not ready yet.
var errStarting = errors.New("the running instance is still starting")
