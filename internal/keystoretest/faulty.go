package keystoretest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
)

// ErrInjected is the default error a Faulty store injects.
var ErrInjected = errors.New("keystoretest: injected failure")

// Method names a SecretStore method, for Faulty.
type Method string

// The SecretStore methods.
const (
	MethodGet    Method = "Get"
	MethodSet    Method = "Set"
	MethodDelete Method = "Delete"
)

// Faulty wraps a SecretStore and fails chosen calls, for crash-consistency
// tests in other packages: "the 2nd Set fails" (FailOn), or "the 1st Delete
// happens but reports an error", as a keychain call that timed out and then
// completed would (FailAfter). Calls are counted per method from 1,
// including failed ones. Use NewFaulty; it is safe for concurrent use.
type Faulty struct {
	inner accounts.SecretStore

	mu     sync.Mutex
	calls  map[Method]int
	faults []fault
}

type fault struct {
	m     Method
	n     int
	err   error
	after bool // run the inner call, then fail
}

// NewFaulty wraps inner; until FailOn or FailAfter is called, every call
// passes through.
func NewFaulty(inner accounts.SecretStore) *Faulty {
	return &Faulty{inner: inner, calls: make(map[Method]int)}
}

// FailOn makes the nth call (from 1) of method m return err without
// reaching the wrapped store. A nil err means ErrInjected.
func (f *Faulty) FailOn(m Method, n int, err error) { f.add(fault{m: m, n: n, err: err}) }

// FailAfter makes the nth call (from 1) of method m reach the wrapped
// store and then return err, whatever the store did. A nil err means
// ErrInjected.
func (f *Faulty) FailAfter(m Method, n int, err error) {
	f.add(fault{m: m, n: n, err: err, after: true})
}

func (f *Faulty) add(x fault) {
	if x.err == nil {
		x.err = ErrInjected
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, x)
}

// Calls returns how many calls of m were made so far.
func (f *Faulty) Calls(m Method) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[m]
}

// next counts a call of m and returns the fault planned for it, if any.
func (f *Faulty) next(m Method) (fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[m]++
	for _, x := range f.faults {
		if x.m == m && x.n == f.calls[m] {
			return x, true
		}
	}
	return fault{}, false
}

// Get calls the wrapped store's Get unless a fault says otherwise.
func (f *Faulty) Get(ctx context.Context, ref string) (accounts.Secrets, error) {
	x, failing := f.next(MethodGet)
	if failing && !x.after {
		return accounts.Secrets{}, x.err
	}
	s, err := f.inner.Get(ctx, ref)
	if failing {
		return accounts.Secrets{}, x.err
	}
	return s, err
}

// Set calls the wrapped store's Set unless a fault says otherwise.
func (f *Faulty) Set(ctx context.Context, ref string, s accounts.Secrets) error {
	x, failing := f.next(MethodSet)
	if failing && !x.after {
		return x.err
	}
	err := f.inner.Set(ctx, ref, s)
	if failing {
		return x.err
	}
	return err
}

// Delete calls the wrapped store's Delete unless a fault says otherwise.
func (f *Faulty) Delete(ctx context.Context, ref string) error {
	x, failing := f.next(MethodDelete)
	if failing && !x.after {
		return x.err
	}
	err := f.inner.Delete(ctx, ref)
	if failing {
		return x.err
	}
	return err
}

// String describes a Faulty without its wrapped store's contents.
func (f *Faulty) String() string { return "keystoretest.Faulty{…}" }

// GoString is String, for %#v.
func (f *Faulty) GoString() string { return f.String() }

// Format prints String for every verb.
func (f *Faulty) Format(s fmt.State, _ rune) { _, _ = io.WriteString(s, f.String()) }
