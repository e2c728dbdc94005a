package keystore

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"

	"github.com/zalando/go-keyring"
)

// backend is the slice of go-keyring that Keyring uses. It exists so that
// chunking, timeouts and error mapping can be tested against an in-memory
// fake, without go-keyring's global, unsynchronised mock. Implementations
// report a missing entry as keyring.ErrNotFound and an entry too large for
// the keychain as keyring.ErrSetDataTooBig, as go-keyring does.
type backend interface {
	get(service, user string) (string, error)
	set(service, user, value string) error
	delete(service, user string) error
}

// osKeychain is the real OS keychain.
type osKeychain struct{}

func (osKeychain) get(service, user string) (string, error) { return keyring.Get(service, user) }
func (osKeychain) set(service, user, value string) error    { return keyring.Set(service, user, value) }
func (osKeychain) delete(service, user string) error        { return keyring.Delete(service, user) }

// errNoSessionBus is what Probe reports on a Unix without a D-Bus session.
var errNoSessionBus = errors.New("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset and there is no $XDG_RUNTIME_DIR/bus), so the Secret Service cannot be reached")

// sessionBusReachable guards Probe on Unix desktops. Without a session bus
// address godbus falls back to running dbus-launch, which starts a bus
// daemon (and, through activation, a keyring daemon) that outlive this
// process: a bad side effect for a mere availability check on a headless
// server. So only go on when godbus would find an existing bus: the
// environment variable, the systemd user bus, or dbus-launch's address
// files.
func sessionBusReachable() error {
	switch runtime.GOOS {
	case "linux", "freebsd", "openbsd", "netbsd", "dragonfly":
	default:
		return nil // macOS and Windows keychains need no bus
	}
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return nil
	}
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "bus")); err == nil {
			return nil
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		if _, err := os.Stat(filepath.Join(home, ".dbus", "session-bus")); err == nil {
			return nil
		}
	}
	return errNoSessionBus
}
