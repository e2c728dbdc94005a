package keystoretest

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/keystore"
)

// Memory is an accounts.SecretStore in memory, for other packages' tests.
// It validates refs like the real stores do. Use NewMemory; it is safe for
// concurrent use.
type Memory struct {
	// The state is behind a pointer so that Memory has no lock to copy
	// and can format itself with a value receiver: fmt must never reach
	// the map, whose values it would print raw.
	st *memoryState
}

type memoryState struct {
	mu sync.Mutex
	m  map[string]accounts.Secrets
}

// NewMemory returns an empty Memory.
func NewMemory() *Memory {
	return &Memory{st: &memoryState{m: make(map[string]accounts.Secrets)}}
}

// Get returns the secrets of ref or accounts.ErrSecretNotFound.
func (m *Memory) Get(ctx context.Context, ref string) (accounts.Secrets, error) {
	if err := keystore.CheckRef(ref); err != nil {
		return accounts.Secrets{}, fmt.Errorf("memory secret %q: %w", ref, err)
	}
	m.st.mu.Lock()
	defer m.st.mu.Unlock()
	s, ok := m.st.m[ref]
	if !ok {
		return accounts.Secrets{}, fmt.Errorf("memory secret %s: %w", ref, accounts.ErrSecretNotFound)
	}
	return s, nil
}

// Set stores s under ref.
func (m *Memory) Set(ctx context.Context, ref string, s accounts.Secrets) error {
	if err := keystore.CheckRef(ref); err != nil {
		return fmt.Errorf("memory secret %q: %w", ref, err)
	}
	m.st.mu.Lock()
	defer m.st.mu.Unlock()
	m.st.m[ref] = s
	return nil
}

// Delete removes ref; an unknown ref is not an error.
func (m *Memory) Delete(ctx context.Context, ref string) error {
	if err := keystore.CheckRef(ref); err != nil {
		return fmt.Errorf("memory secret %q: %w", ref, err)
	}
	m.st.mu.Lock()
	defer m.st.mu.Unlock()
	delete(m.st.m, ref)
	return nil
}

// Refs returns the stored refs, sorted: what a crash-consistency test
// compares with the refs its accounts point at.
func (m *Memory) Refs() []string {
	m.st.mu.Lock()
	defer m.st.mu.Unlock()
	refs := make([]string, 0, len(m.st.m))
	for r := range m.st.m {
		refs = append(refs, r)
	}
	slices.Sort(refs)
	return refs
}

// Len returns how many secrets are stored.
func (m *Memory) Len() int {
	m.st.mu.Lock()
	defer m.st.mu.Unlock()
	return len(m.st.m)
}

// String describes a Memory by its size only.
func (m Memory) String() string {
	if m.st == nil {
		return "keystoretest.Memory{}"
	}
	return fmt.Sprintf("keystoretest.Memory{%d secrets}", m.Len())
}

// GoString is String, for %#v.
func (m Memory) GoString() string { return m.String() }

// Format prints String for every verb, so that fmt never prints the
// secrets.
func (m Memory) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, m.String()) }
