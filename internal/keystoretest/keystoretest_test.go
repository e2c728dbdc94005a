package keystoretest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/keystore"
)

// The doubles must satisfy the interface they stand in for.
var (
	_ accounts.SecretStore = (*Memory)(nil)
	_ accounts.SecretStore = (*Faulty)(nil)
)

func secretsOf(n int) accounts.Secrets {
	return accounts.Secrets{SecureCSES: strings.Repeat("c", n), HostCOSES: strings.Repeat("h", 300), CSESIDX: "1234567890"}
}

// TestFormatHidesSecrets prints the doubles with every verb and looks for
// the secrets, as keystore's own test does for the real stores.
func TestFormatHidesSecrets(t *testing.T) {
	ctx := context.Background()
	sec := accounts.Secrets{SecureCSES: "CSE.sekrit-cookie-value-1", HostCOSES: "COS.sekrit-cookie-value-2", CSESIDX: "98765432101234"}
	mem := NewMemory()
	_ = mem.Set(ctx, "m", sec)
	faulty := NewFaulty(mem)
	for _, v := range []any{mem, *mem, faulty, struct {
		M *Memory
		F *Faulty
	}{mem, faulty}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T"} {
			out := fmt.Sprintf(verb, v)
			for _, secret := range []string{"sekrit", sec.CSESIDX} {
				if strings.Contains(out, secret) || strings.Contains(out, fmt.Sprintf("%x", secret)) {
					t.Fatalf("%s of %T shows a secret: %s", verb, v, out)
				}
			}
		}
	}
}

func TestMemory(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	a, b := secretsOf(50), secretsOf(60)
	steps := []struct {
		name string
		do   func() error
		refs []string
	}{
		{"set a", func() error { return m.Set(ctx, "a", a) }, []string{"a"}},
		{"set b", func() error { return m.Set(ctx, "b", b) }, []string{"a", "b"}},
		{"get a", func() error {
			if got, err := m.Get(ctx, "a"); err != nil || got != a {
				return fmt.Errorf("equal=%v err=%v", got == a, err)
			}
			return nil
		}, []string{"a", "b"}},
		{"overwrite a", func() error { return m.Set(ctx, "a", b) }, []string{"a", "b"}},
		{"delete a", func() error { return m.Delete(ctx, "a") }, []string{"b"}},
		{"delete a again", func() error { return m.Delete(ctx, "a") }, []string{"b"}},
		{"get a: not found", func() error {
			if _, err := m.Get(ctx, "a"); !errors.Is(err, accounts.ErrSecretNotFound) {
				return fmt.Errorf("got %v", err)
			}
			return nil
		}, []string{"b"}},
		{"invalid ref", func() error {
			if err := m.Set(ctx, "x#1", a); !errors.Is(err, keystore.ErrInvalidRef) {
				return fmt.Errorf("got %v", err)
			}
			return nil
		}, []string{"b"}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := m.Refs(); !slices.Equal(got, s.refs) || m.Len() != len(s.refs) {
			t.Fatalf("%s: refs %v, want %v", s.name, got, s.refs)
		}
	}
}

func TestMemoryConcurrent(t *testing.T) {
	m := NewMemory()
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			ref := fmt.Sprintf("r%d", i%5)
			_ = m.Set(ctx, ref, secretsOf(10))
			_, _ = m.Get(ctx, ref)
			_ = m.Delete(ctx, ref)
		})
	}
	wg.Wait()
}

func TestFaulty(t *testing.T) {
	ctx := context.Background()
	errBoom := errors.New("boom")
	tests := []struct {
		name  string
		setup func(f *Faulty)
		// each call: Set("r") then Get("r") then Delete("r"), three times
		want []string // per call: "ok" or the error text, in order
		left []string // refs left in the inner store
	}{
		{
			name:  "no faults",
			setup: func(*Faulty) {},
			want:  []string{"ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok"},
		},
		{
			name:  "second Set fails before the store",
			setup: func(f *Faulty) { f.FailOn(MethodSet, 2, errBoom) },
			// Set 2 fails, so Get 2 finds nothing.
			want: []string{"ok", "ok", "ok", "boom", "not found", "ok", "ok", "ok", "ok"},
		},
		{
			name:  "second Set fails after the store",
			setup: func(f *Faulty) { f.FailAfter(MethodSet, 2, nil) },
			want:  []string{"ok", "ok", "ok", "injected", "ok", "ok", "ok", "ok", "ok"},
		},
		{
			name:  "first Delete fails before the store",
			setup: func(f *Faulty) { f.FailOn(MethodDelete, 1, nil) },
			want:  []string{"ok", "ok", "injected", "ok", "ok", "ok", "ok", "ok", "ok"},
		},
		{
			name:  "last Delete fails after the store",
			setup: func(f *Faulty) { f.FailAfter(MethodDelete, 3, errBoom) },
			want:  []string{"ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "boom"},
		},
		{
			name:  "last Delete fails before the store",
			setup: func(f *Faulty) { f.FailOn(MethodDelete, 3, errBoom) },
			want:  []string{"ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "boom"},
			left:  []string{"r"},
		},
		{
			name:  "Get fails after the store",
			setup: func(f *Faulty) { f.FailAfter(MethodGet, 1, errBoom) },
			want:  []string{"ok", "boom", "ok", "ok", "ok", "ok", "ok", "ok", "ok"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inner := NewMemory()
			f := NewFaulty(inner)
			tt.setup(f)
			var got []string
			record := func(err error) {
				switch {
				case err == nil:
					got = append(got, "ok")
				case errors.Is(err, accounts.ErrSecretNotFound):
					got = append(got, "not found")
				case errors.Is(err, ErrInjected):
					got = append(got, "injected")
				default:
					got = append(got, err.Error())
				}
			}
			for range 3 {
				record(f.Set(ctx, "r", secretsOf(10)))
				_, err := f.Get(ctx, "r")
				record(err)
				record(f.Delete(ctx, "r"))
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("results %v, want %v", got, tt.want)
			}
			if refs := inner.Refs(); !slices.Equal(refs, tt.left) {
				t.Fatalf("left %v, want %v", refs, tt.left)
			}
			for _, m := range []Method{MethodGet, MethodSet, MethodDelete} {
				if f.Calls(m) != 3 {
					t.Fatalf("%s calls: %d, want 3", m, f.Calls(m))
				}
			}
		})
	}
}
