package keystore

import (
	"context"
	"errors"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
)

// TestKeyringIntegration runs Keyring against the real OS keychain. On
// Linux that needs a D-Bus session with an unlocked Secret Service, for
// example:
//
//	export HOME="$(mktemp -d)"
//	dbus-run-session -- sh -c 'echo -n ci-pass | gnome-keyring-daemon --unlock --components=secrets >/dev/null;
//	  GATEWAY_TEST_STRICT=1 go test -race ./keystore/...'
//
// Without one it is skipped, or fails when GATEWAY_TEST_STRICT=1 (CI,
// where a skip would hide a broken set-up).
func TestKeyringIntegration(t *testing.T) {
	unavailable := func(why string) {
		t.Helper()
		if os.Getenv("GATEWAY_TEST_STRICT") == "1" {
			t.Fatalf("real keychain unavailable with GATEWAY_TEST_STRICT=1: %s", why)
		}
		t.Skipf("real keychain unavailable: %s (run inside dbus-run-session with an unlocked gnome-keyring, see the doc comment)", why)
	}
	switch runtime.GOOS {
	case "darwin", "windows":
	default:
		// Without a session bus, godbus would start one with dbus-launch
		// that outlives the test.
		if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
			unavailable("DBUS_SESSION_BUS_ADDRESS is not set")
		}
	}

	// A unique service keeps runs apart from each other and from a real
	// installation.
	service := "io.github.gemgate.geminigateway.test-" + randomHex(6)
	k, err := NewKeyring(service, WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := k.Probe(ctx); err != nil {
		unavailable(err.Error())
	}
	t.Cleanup(func() { deleteAllWithin(t, service, 10*time.Second) })

	const ref = "integration-ref"
	big := accounts.Secrets{SecureCSES: cookie(7000), HostCOSES: cookie(500), CSESIDX: "1234567890"}
	small := accounts.Secrets{SecureCSES: cookie(200), CSESIDX: "42"}
	present := func(user string) bool {
		_, err := keyring.Get(service, user)
		if err != nil && !errors.Is(err, keyring.ErrNotFound) {
			t.Fatalf("keyring.Get(%s): %v", user, err)
		}
		return err == nil
	}

	steps := []struct {
		name  string
		run   func() error
		parts int // parts expected afterwards; -1: no entry at all
	}{
		{"set 7 KB", func() error { return k.Set(ctx, ref, big) }, 4},
		{"get 7 KB", func() error { return expect(k, ref, big) }, 4},
		{"shrink", func() error { return k.Set(ctx, ref, small) }, 0},
		{"get small", func() error { return expect(k, ref, small) }, 0},
		{"grow again", func() error { return k.Set(ctx, ref, big) }, 4},
		{"get 7 KB again", func() error { return expect(k, ref, big) }, 4},
		{"delete", func() error { return k.Delete(ctx, ref) }, -1},
		{"get after delete", func() error {
			if _, err := k.Get(ctx, ref); !errors.Is(err, accounts.ErrSecretNotFound) {
				return err
			}
			return nil
		}, -1},
		{"delete again", func() error { return k.Delete(ctx, ref) }, -1},
	}
	for _, s := range steps {
		if err := s.run(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := present(headUser(ref)); got != (s.parts >= 0) {
			t.Fatalf("%s: header present = %v", s.name, got)
		}
		var parts []int
		for i := 1; i <= 6; i++ {
			if present(partUser(ref, i)) {
				parts = append(parts, i)
			}
		}
		want := []int(nil)
		for i := 1; i <= s.parts; i++ {
			want = append(want, i)
		}
		if !slices.Equal(parts, want) {
			t.Fatalf("%s: parts %v in the keychain, want %v", s.name, parts, want)
		}
	}
}

func expect(k *Keyring, ref string, want accounts.Secrets) error {
	got, err := k.Get(context.Background(), ref)
	if err != nil {
		return err
	}
	if got != want {
		return errors.New("read back different secrets")
	}
	return nil
}

// deleteAllWithin removes whatever a failed run left under service,
// without letting a hung keychain hang the test.
func deleteAllWithin(t *testing.T, service string, d time.Duration) {
	if service == "" {
		return // DeleteAll("") must never run
	}
	done := make(chan error, 1)
	go func() { done <- keyring.DeleteAll(service) }()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, keyring.ErrNotFound) {
			t.Errorf("clean up %s: %v", service, err)
		}
	case <-time.After(d):
		t.Errorf("clean up %s: no answer after %s", service, d)
	}
}
