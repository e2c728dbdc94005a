package keystore

import (
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/zalando/go-keyring"
)

// fakeKeychain is an in-memory backend that behaves like go-keyring's
// providers (keyring.ErrNotFound, keyring.ErrSetDataTooBig), can enforce a
// per-entry size limit like Windows' Credential Manager, block like a
// locked Secret Service, and fail chosen calls.
type fakeKeychain struct {
	mu      sync.Mutex
	entries map[string]string // service + "\x00" + user
	// limit is the largest value accepted by set; 0 means no limit.
	limit int
	// block, when set, makes every call wait until it is closed.
	block chan struct{}
	// fail, when set, is asked before each call; a non-nil error is
	// returned instead of doing the call.
	fail    func(op, user string) error
	started int // calls that began, blocked or not
}

func newFakeKeychain() *fakeKeychain {
	return &fakeKeychain{entries: make(map[string]string)}
}

func (f *fakeKeychain) enter(op, user string) error {
	f.mu.Lock()
	f.started++
	block, fail := f.block, f.fail
	f.mu.Unlock()
	if block != nil {
		<-block
	}
	if fail != nil {
		return fail(op, user)
	}
	return nil
}

func (f *fakeKeychain) get(service, user string) (string, error) {
	if err := f.enter("get", user); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.entries[service+"\x00"+user]
	if !ok {
		return "", keyring.ErrNotFound
	}
	return v, nil
}

func (f *fakeKeychain) set(service, user, value string) error {
	if err := f.enter("set", user); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.limit > 0 && len(value) > f.limit {
		return keyring.ErrSetDataTooBig
	}
	f.entries[service+"\x00"+user] = value
	return nil
}

func (f *fakeKeychain) delete(service, user string) error {
	if err := f.enter("delete", user); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	k := service + "\x00" + user
	if _, ok := f.entries[k]; !ok {
		return keyring.ErrNotFound
	}
	delete(f.entries, k)
	return nil
}

// users lists the users stored for service, sorted.
func (f *fakeKeychain) users(service string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for k := range f.entries {
		if s, u, _ := strings.Cut(k, "\x00"); s == service {
			out = append(out, u)
		}
	}
	slices.Sort(out)
	return out
}

func (f *fakeKeychain) raw(service, user string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.entries[service+"\x00"+user]
	return v, ok
}

func (f *fakeKeychain) put(service, user, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.entries[service+"\x00"+user] = value
}

func (f *fakeKeychain) remove(service, user string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.entries, service+"\x00"+user)
}

func (f *fakeKeychain) setFail(fn func(op, user string) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = fn
}

func (f *fakeKeychain) startedCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.started
}

func TestFakeKeychainEnforcesLimit(t *testing.T) {
	f := newFakeKeychain()
	f.limit = 2560
	if err := f.set("s", "u", strings.Repeat("x", 2560)); err != nil {
		t.Fatalf("2560 bytes: %v", err)
	}
	if err := f.set("s", "u", strings.Repeat("x", 2561)); !errors.Is(err, keyring.ErrSetDataTooBig) {
		t.Fatalf("2561 bytes: got %v, want ErrSetDataTooBig", err)
	}
}

// errorsHexByte returns the error macOS's go-keyring Get wraps when a
// stored value does not decode: it quotes a byte of the value.
func errorsHexByte() error {
	_, err := hex.DecodeString("zz")
	return err
}
