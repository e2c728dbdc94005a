//go:build !windows

package instance

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// channelName is the Unix socket in the user's runtime directory.
func channelName(dataDir string) (string, error) {
	key, err := dataDirKey(dataDir)
	if err != nil {
		return "", err
	}
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		dir = os.TempDir()
	}
	return filepath.Join(dir, fmt.Sprintf("gemini-gateway-%d-%s.sock", os.Getuid(), key)), nil
}

// lockAndListen holds an flock on <socket>.lock for the life of the
// process (the kernel drops it when the process dies, so a crash leaves no
// stale lock) and listens on the socket. Two launches at once cannot both
// win, as they could by racing to remove and re-create the socket.
func lockAndListen(name string) (net.Listener, string, func(), error) {
	lf, err := os.OpenFile(name+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, "", nil, err
	}
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lf.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, "", nil, errHeld
		}
		return nil, "", nil, err
	}
	// The lock is ours: a socket file left here is from a crash.
	os.Remove(name)
	ln, err := net.Listen("unix", name)
	if err != nil {
		lf.Close()
		return nil, "", nil, err
	}
	os.Chmod(name, 0o600)
	// Close must not unlink the socket: a later instance does that itself.
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	release := func() {
		os.Remove(name)
		lf.Close()
	}
	return ln, "", release, nil
}

func dial(name string, timeout time.Duration) (net.Conn, string, error) {
	conn, err := net.DialTimeout("unix", name, timeout)
	return conn, "", err
}

// dataDirKey is the data directory in a canonical form: one instance per
// data directory, two data directories are two apps.
func dataDirKey(dataDir string) (string, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%08x", fnv32(filepath.Clean(abs))), nil
}

func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}
