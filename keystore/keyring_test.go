package keystore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/zalando/go-keyring"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
)

const testService = "io.github.gemgate.geminigateway.test"

// cookie returns a random cookie-like value of n bytes.
func cookie(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

func secretsOf(cses int) accounts.Secrets {
	return accounts.Secrets{SecureCSES: cookie(cses), HostCOSES: cookie(300), CSESIDX: "1234567890"}
}

func newTestKeyring(t *testing.T, f *fakeKeychain, opts ...KeyringOption) *Keyring {
	t.Helper()
	k, err := NewKeyring(testService, append([]KeyringOption{withBackend(f)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// layout is the users a value of n parts should occupy.
func layout(ref string, parts int) []string {
	out := []string{headUser(ref)}
	for i := 1; i <= parts; i++ {
		out = append(out, partUser(ref, i))
	}
	slices.Sort(out)
	return out
}

func TestKeyringRoundTrip(t *testing.T) {
	tests := []struct {
		name      string
		secrets   accounts.Secrets
		chunkSize int // 0: default
		wantParts int // 0: stored in one entry
	}{
		{name: "small secrets in one entry", secrets: secretsOf(200)},
		{name: "no host cookie", secrets: accounts.Secrets{SecureCSES: cookie(150), CSESIDX: "42"}},
		// JSON: 7000 + 300 bytes of cookies, 59 of names and csesidx.
		{name: "7 KB cookie in default chunks", secrets: secretsOf(7000), wantParts: 4},
		{name: "7 KB cookie in tiny chunks", secrets: secretsOf(7000), chunkSize: 64, wantParts: 115},
		// JSON: 17 + 1984 + 16 bytes.
		{name: "exactly one chunk", secrets: accounts.Secrets{SecureCSES: cookie(1967), CSESIDX: "7"}},
		{name: "one byte over one chunk", secrets: accounts.Secrets{SecureCSES: cookie(1968), CSESIDX: "7"}, wantParts: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeKeychain()
			f.limit = 2560 // Windows' Credential Manager
			var opts []KeyringOption
			if tt.chunkSize > 0 {
				opts = append(opts, WithChunkSize(tt.chunkSize))
			}
			k := newTestKeyring(t, f, opts...)
			ctx := context.Background()
			if err := k.Set(ctx, "ref1", tt.secrets); err != nil {
				t.Fatalf("Set: %v", err)
			}
			got, err := k.Get(ctx, "ref1")
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if got != tt.secrets {
				t.Fatal("Get returned different secrets")
			}
			if users, want := f.users(testService), layout("ref1", tt.wantParts); !slices.Equal(users, want) {
				t.Fatalf("entries %v, want %v", users, want)
			}
			head, _ := f.raw(testService, "account/ref1")
			if tt.wantParts > 0 && !strings.HasPrefix(head, fmt.Sprintf("chunks:v1:%d:", tt.wantParts)) {
				t.Fatalf("header %q", head)
			}
		})
	}
}

func TestKeyringOverwrite(t *testing.T) {
	// Sizes of SecureCSES written one after the other under one ref, with
	// the part count each should leave (chunk size 500).
	tests := []struct {
		name  string
		sizes []int
		parts []int
	}{
		// JSON is the cookie plus 34 bytes: 2000 → 5 parts, 900 → 2, 2500 → 6.
		{name: "small to large", sizes: []int{100, 2000}, parts: []int{0, 5}},
		{name: "large to small", sizes: []int{2000, 100}, parts: []int{5, 0}},
		{name: "large to less large", sizes: []int{2000, 900}, parts: []int{5, 2}},
		{name: "less large to large", sizes: []int{900, 2000}, parts: []int{2, 5}},
		{name: "small to small", sizes: []int{100, 120}, parts: []int{0, 0}},
		{name: "up and down", sizes: []int{100, 2000, 600, 2500, 50}, parts: []int{0, 5, 2, 6, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeKeychain()
			k := newTestKeyring(t, f, WithChunkSize(500))
			ctx := context.Background()
			for i, size := range tt.sizes {
				s := accounts.Secrets{SecureCSES: cookie(size), CSESIDX: "99"}
				if err := k.Set(ctx, "r", s); err != nil {
					t.Fatalf("Set #%d: %v", i, err)
				}
				if got, err := k.Get(ctx, "r"); err != nil || got != s {
					t.Fatalf("Get after Set #%d: equal=%v, err=%v", i, got == s, err)
				}
				if users, want := f.users(testService), layout("r", tt.parts[i]); !slices.Equal(users, want) {
					t.Fatalf("after Set #%d: entries %v, want %v", i, users, want)
				}
			}
		})
	}
}

func TestKeyringDelete(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *fakeKeychain, k *Keyring)
	}{
		{name: "unknown ref", setup: func(*fakeKeychain, *Keyring) {}},
		{name: "one entry", setup: func(_ *fakeKeychain, k *Keyring) {
			_ = k.Set(context.Background(), "r", secretsOf(100))
		}},
		{name: "chunked", setup: func(_ *fakeKeychain, k *Keyring) {
			_ = k.Set(context.Background(), "r", secretsOf(7000))
		}},
		{name: "parts without a header (interrupted first Set)", setup: func(f *fakeKeychain, _ *Keyring) {
			f.put(testService, "account/r#1", "x")
			f.put(testService, "account/r#2", "y")
		}},
		{name: "damaged header over parts", setup: func(f *fakeKeychain, k *Keyring) {
			_ = k.Set(context.Background(), "r", secretsOf(7000))
			f.put(testService, "account/r", "chunks:v1:garbage")
		}},
		{name: "stale parts after the announced ones", setup: func(f *fakeKeychain, k *Keyring) {
			_ = k.Set(context.Background(), "r", secretsOf(1000))
			f.put(testService, "account/r#4", "stale")
			f.put(testService, "account/r#5", "stale")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeKeychain()
			k := newTestKeyring(t, f, WithChunkSize(400))
			f.put(testService, "account/other", `{"secure_c_ses":"keep","csesidx":"1"}`)
			tt.setup(f, k)
			ctx := context.Background()
			if err := k.Delete(ctx, "r"); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if users := f.users(testService); !slices.Equal(users, []string{"account/other"}) {
				t.Fatalf("left behind: %v", users)
			}
			if _, err := k.Get(ctx, "r"); !errors.Is(err, accounts.ErrSecretNotFound) {
				t.Fatalf("Get after Delete: %v, want ErrSecretNotFound", err)
			}
			if err := k.Delete(ctx, "r"); err != nil {
				t.Fatalf("second Delete: %v", err)
			}
		})
	}
}

func TestKeyringGetNotFound(t *testing.T) {
	k := newTestKeyring(t, newFakeKeychain())
	_, err := k.Get(context.Background(), "nope")
	if !errors.Is(err, accounts.ErrSecretNotFound) {
		t.Fatalf("got %v, want accounts.ErrSecretNotFound", err)
	}
	if errors.Is(err, ErrCorrupt) {
		t.Fatal("not found must not be ErrCorrupt")
	}
}

func TestKeyringDetectsDamage(t *testing.T) {
	other := secretsOf(3000)
	tests := []struct {
		name   string
		damage func(f *fakeKeychain, k *Keyring)
	}{
		{name: "missing middle part", damage: func(f *fakeKeychain, _ *Keyring) {
			f.remove(testService, "account/r#3")
		}},
		{name: "missing last part", damage: func(f *fakeKeychain, _ *Keyring) {
			f.remove(testService, "account/r#8")
		}},
		{name: "altered part", damage: func(f *fakeKeychain, _ *Keyring) {
			v, _ := f.raw(testService, "account/r#2")
			f.put(testService, "account/r#2", "X"+v[1:])
		}},
		{name: "truncated part", damage: func(f *fakeKeychain, _ *Keyring) {
			v, _ := f.raw(testService, "account/r#2")
			f.put(testService, "account/r#2", v[:len(v)-1])
		}},
		{name: "parts from another value", damage: func(f *fakeKeychain, k *Keyring) {
			_ = k.Set(context.Background(), "s", other)
			for i := 1; i <= 3; i++ {
				v, _ := f.raw(testService, partUser("s", i))
				f.put(testService, partUser("r", i), v)
			}
		}},
		{name: "header with a wrong part count", damage: func(f *fakeKeychain, _ *Keyring) {
			v, _ := f.raw(testService, "account/r")
			f.put(testService, "account/r", strings.Replace(v, ":8:", ":7:", 1))
		}},
		{name: "malformed header", damage: func(f *fakeKeychain, _ *Keyring) {
			f.put(testService, "account/r", "chunks:v1:x:y")
		}},
		{name: "header of an unknown version", damage: func(f *fakeKeychain, _ *Keyring) {
			f.put(testService, "account/r", "chunks:v9:8:00")
		}},
		{name: "plain value that is not JSON", damage: func(f *fakeKeychain, _ *Keyring) {
			f.put(testService, "account/r", "not json, secret-ish")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeKeychain()
			k := newTestKeyring(t, f, WithChunkSize(1000))
			s := secretsOf(7000) // 8 parts of 1000 bytes
			if err := k.Set(context.Background(), "r", s); err != nil {
				t.Fatal(err)
			}
			tt.damage(f, k)
			got, err := k.Get(context.Background(), "r")
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got err %v, want ErrCorrupt", err)
			}
			if got != (accounts.Secrets{}) {
				t.Fatal("damaged secrets returned along with the error")
			}
			assertNoSecret(t, err.Error(), s, other)
		})
	}
}

func TestKeyringEntryTooBig(t *testing.T) {
	f := newFakeKeychain()
	f.limit = 2560
	k := newTestKeyring(t, f, WithChunkSize(10_000)) // chunking effectively off
	s := secretsOf(7000)
	err := k.Set(context.Background(), "r", s)
	if !errors.Is(err, keyring.ErrSetDataTooBig) {
		t.Fatalf("got %v, want keyring.ErrSetDataTooBig", err)
	}
	assertNoSecret(t, err.Error(), s)
}

// assertNoSecret fails if text contains any of the secrets' values.
func assertNoSecret(t *testing.T, text string, ss ...accounts.Secrets) {
	t.Helper()
	for _, s := range ss {
		for _, v := range []string{s.SecureCSES, s.HostCOSES, s.CSESIDX} {
			// 8 bytes of a cookie are enough to call it a leak.
			for i := 0; i+8 <= len(v); i += 8 {
				if strings.Contains(text, v[i:i+8]) {
					t.Fatalf("secret data in %q", text)
				}
			}
		}
	}
}

func TestKeyringTimeout(t *testing.T) {
	const timeout = 100 * time.Millisecond
	f := newFakeKeychain()
	f.block = make(chan struct{})
	// Let the lingering calls end when the test is over.
	t.Cleanup(func() { close(f.block) })
	k := newTestKeyring(t, f, WithTimeout(timeout))
	ctx := context.Background()

	ops := []struct {
		name string
		call func() error
	}{
		{"Get", func() error { _, err := k.Get(ctx, "r"); return err }},
		{"Set", func() error { return k.Set(ctx, "r", secretsOf(100)) }},
		{"Delete", func() error { return k.Delete(ctx, "r") }},
		{"Probe", func() error { return k.Probe(ctx) }},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			start := time.Now()
			err := op.call()
			took := time.Since(start)
			if !errors.Is(err, ErrTimeout) {
				t.Fatalf("got %v, want ErrTimeout", err)
			}
			if took > timeout+time.Second {
				t.Fatalf("returned after %s with a timeout of %s", took, timeout)
			}
		})
	}

	t.Run("stuck calls are bounded", func(t *testing.T) {
		var wg sync.WaitGroup
		for range 3 * maxPending {
			wg.Go(func() { _, _ = k.Get(ctx, "r") })
		}
		wg.Wait()
		if n := f.startedCalls(); n > maxPending {
			t.Fatalf("%d keychain calls started while the keychain hangs, want at most %d", n, maxPending)
		}
	})
}

func TestKeyringCallerContext(t *testing.T) {
	f := newFakeKeychain()
	f.block = make(chan struct{})
	t.Cleanup(func() { close(f.block) })
	k := newTestKeyring(t, f, WithTimeout(time.Minute))

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := k.Get(ctx, "r")
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Fatalf("got %v, want context.Canceled", err)
	}

	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if err := k.Set(done, "r", secretsOf(10)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled before the call: got %v", err)
	}
}

func TestKeyringBackendErrors(t *testing.T) {
	s := secretsOf(3000)
	errBus := errors.New("org.freedesktop.DBus.Error.ServiceUnknown: no such name")
	tests := []struct {
		name     string
		fail     func(op, user string) error
		call     func(k *Keyring) error
		wantIs   error
		wantText string
	}{
		{
			name:   "a plain error is kept",
			fail:   func(string, string) error { return errBus },
			call:   func(k *Keyring) error { _, err := k.Get(context.Background(), "r"); return err },
			wantIs: errBus, wantText: "keychain read account/r: org.freedesktop.DBus",
		},
		{
			name: "an error echoing the written value is withheld",
			fail: func(op, user string) error {
				if op == "set" {
					return fmt.Errorf("cannot store %s", s.SecureCSES[:2500])
				}
				return nil
			},
			call:   func(k *Keyring) error { return k.Set(context.Background(), "r", s) },
			wantIs: errWithheld, wantText: "withheld",
		},
		{
			name: "an error echoing the cookie of a header write is withheld",
			fail: func(op, user string) error {
				if op == "set" {
					return fmt.Errorf("bad value: secure_c_ses=%s", s.SecureCSES)
				}
				return nil
			},
			call:   func(k *Keyring) error { return k.Set(context.Background(), "r", s) },
			wantIs: errWithheld,
		},
		{
			name: "a hex decoding error (macOS Get) is withheld",
			fail: func(op, _ string) error {
				if op == "get" {
					return fmt.Errorf("decode: %w", errorsHexByte())
				}
				return nil
			},
			call:   func(k *Keyring) error { _, err := k.Get(context.Background(), "r"); return err },
			wantIs: errWithheld,
		},
		{
			name:   "a backend panic becomes an error",
			fail:   func(string, string) error { panic("body[0] is not a bool: " + s.SecureCSES) },
			call:   func(k *Keyring) error { _, err := k.Get(context.Background(), "r"); return err },
			wantIs: errBackendPanic,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeKeychain()
			k := newTestKeyring(t, f, WithChunkSize(100_000))
			f.setFail(tt.fail)
			err := tt.call(k)
			if !errors.Is(err, tt.wantIs) {
				t.Fatalf("got %v, want %v", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("error %q does not contain %q", err, tt.wantText)
			}
			assertNoSecret(t, err.Error(), s)
		})
	}
}

func TestKeyringProbe(t *testing.T) {
	tests := []struct {
		name    string
		fail    func(op, user string) error
		wantErr string
	}{
		{name: "reachable"},
		{name: "read-only", fail: failOp("set"), wantErr: "write a test entry"},
		{name: "unreadable", fail: failOp("get"), wantErr: "read the test entry back"},
		{name: "undeletable", fail: failOp("delete"), wantErr: "delete the test entry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeKeychain()
			f.fail = tt.fail
			err := newTestKeyring(t, f).Probe(context.Background())
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Probe: %v", err)
				}
				if users := f.users(testService); len(users) != 0 {
					t.Fatalf("Probe left %v", users)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error about %q", err, tt.wantErr)
			}
		})
	}
}

func failOp(op string) func(string, string) error {
	return func(o, _ string) error {
		if o == op {
			return errors.New("access denied")
		}
		return nil
	}
}

// TestKeyringInterruptedWrites fails every keychain call of a Set or Delete
// in turn, as a crash or timeout there would, and checks that the ref then
// reads as a whole value, ErrCorrupt or not found (never garbage), and that
// a later Delete leaves nothing behind.
func TestKeyringInterruptedWrites(t *testing.T) {
	// With 400-byte chunks: 6, 4 and 11 parts.
	oldS, smaller, larger := secretsOf(2000), secretsOf(1200), secretsOf(4000)
	tests := []struct {
		name string
		op   func(k *Keyring) error
		may  []accounts.Secrets // values Get may return afterwards
	}{
		{
			name: "Set of a smaller value",
			op:   func(k *Keyring) error { return k.Set(context.Background(), "r", smaller) },
			may:  []accounts.Secrets{oldS, smaller},
		},
		{
			name: "Set of a larger value",
			op:   func(k *Keyring) error { return k.Set(context.Background(), "r", larger) },
			may:  []accounts.Secrets{oldS, larger},
		},
		{
			name: "Set of a value that fits one entry",
			op: func(k *Keyring) error {
				return k.Set(context.Background(), "r", accounts.Secrets{SecureCSES: "tiny-cookie", CSESIDX: "5"})
			},
			may: []accounts.Secrets{oldS, {SecureCSES: "tiny-cookie", CSESIDX: "5"}},
		},
		{
			name: "Delete",
			op:   func(k *Keyring) error { return k.Delete(context.Background(), "r") },
			may:  []accounts.Secrets{oldS},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for failAt := 1; ; failAt++ {
				f := newFakeKeychain()
				k := newTestKeyring(t, f, WithChunkSize(400))
				ctx := context.Background()
				if err := k.Set(ctx, "r", oldS); err != nil {
					t.Fatal(err)
				}
				calls := 0
				f.setFail(func(string, string) error {
					calls++
					if calls == failAt {
						return errors.New("interrupted")
					}
					return nil
				})
				opErr := tt.op(k)
				f.setFail(nil)
				if opErr == nil && calls < failAt {
					if failAt < 5 {
						t.Fatalf("the operation made only %d keychain calls", calls)
					}
					return // each of its calls has failed once
				}
				got, err := k.Get(ctx, "r")
				switch {
				case err == nil:
					if !slices.Contains(tt.may, got) {
						t.Fatalf("fail at call %d: Get returned a value never written", failAt)
					}
				case errors.Is(err, ErrCorrupt), errors.Is(err, accounts.ErrSecretNotFound):
				default:
					t.Fatalf("fail at call %d: Get: %v", failAt, err)
				}
				if err := k.Delete(ctx, "r"); err != nil {
					t.Fatalf("fail at call %d: Delete: %v", failAt, err)
				}
				if users := f.users(testService); len(users) != 0 {
					t.Fatalf("fail at call %d: left behind %v", failAt, users)
				}
			}
		})
	}
}

func TestKeyringInvalidRef(t *testing.T) {
	k := newTestKeyring(t, newFakeKeychain())
	ctx := context.Background()
	for _, ref := range []string{"", "a#1", "a/b", "a b", strings.Repeat("a", 129), "ä"} {
		if _, err := k.Get(ctx, ref); !errors.Is(err, ErrInvalidRef) {
			t.Errorf("Get(%q): %v", ref, err)
		}
		if err := k.Set(ctx, ref, secretsOf(10)); !errors.Is(err, ErrInvalidRef) {
			t.Errorf("Set(%q): %v", ref, err)
		}
		if err := k.Delete(ctx, ref); !errors.Is(err, ErrInvalidRef) {
			t.Errorf("Delete(%q): %v", ref, err)
		}
	}
}

func TestNewKeyringValidates(t *testing.T) {
	tests := []struct {
		name    string
		service string
		opts    []KeyringOption
	}{
		{"empty service", "", nil},
		{"long service", strings.Repeat("s", 256), nil},
		{"zero timeout", "s", []KeyringOption{WithTimeout(0)}},
		{"tiny chunks", "s", []KeyringOption{WithChunkSize(8)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewKeyring(tt.service, tt.opts...); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestSplitValue(t *testing.T) {
	tests := []struct {
		name string
		v    string
		size int
		want int
	}{
		{"fits", "abc", 10, 1},
		{"exact", "abcdefghij", 10, 1},
		{"one over", "abcdefghijk", 10, 2},
		{"multi-byte runes are not cut", strings.Repeat("é€😀", 20), 7, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := splitValue(tt.v, tt.size)
			if tt.want > 0 && len(parts) != tt.want {
				t.Fatalf("%d parts, want %d", len(parts), tt.want)
			}
			if strings.Join(parts, "") != tt.v {
				t.Fatal("parts do not join to the value")
			}
			for _, p := range parts {
				if len(p) > tt.size || p == "" || !utf8.ValidString(p) {
					t.Fatalf("bad part %q", p)
				}
			}
		})
	}
}

// The stores must satisfy the interface they are for.
var (
	_ accounts.SecretStore = (*Keyring)(nil)
	_ accounts.SecretStore = (*Sealed)(nil)
)
