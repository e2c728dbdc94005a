package keystore

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
)

// memBlobs is an in-memory BlobStore, like the account database.
type memBlobs struct {
	mu    sync.Mutex
	blobs map[string][]byte
	meta  map[string]string
	puts  map[string]int // PutMetaIfAbsent calls per key

	// barrier, when set, holds GetMeta of a key until that many callers
	// have asked for it, so that racing OpenSealed calls all find the meta
	// missing before any of them writes it.
	barrier int
	arrived map[string]int
	release map[string]chan struct{}
}

func newMemBlobs() *memBlobs {
	return &memBlobs{
		blobs: map[string][]byte{}, meta: map[string]string{}, puts: map[string]int{},
		arrived: map[string]int{}, release: map[string]chan struct{}{},
	}
}

// withKDF returns a store whose database was set up with a cheap KDF, so
// that tests do not spend 300,000 iterations (seconds under -race) each.
func withKDF(iterations int) *memBlobs {
	b := newMemBlobs()
	b.meta[metaKDF] = fmt.Sprintf("%s%d", kdfPrefix, iterations)
	return b
}

func (b *memBlobs) PutBlob(_ context.Context, ref string, blob []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.blobs[ref] = bytes.Clone(blob)
	return nil
}

func (b *memBlobs) GetBlob(_ context.Context, ref string) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.blobs[ref]
	if !ok {
		return nil, accounts.ErrSecretNotFound
	}
	return bytes.Clone(v), nil
}

func (b *memBlobs) DeleteBlob(_ context.Context, ref string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.blobs, ref)
	return nil
}

func (b *memBlobs) GetMeta(_ context.Context, key string) (string, bool, error) {
	b.mu.Lock()
	v, ok := b.meta[key]
	if b.barrier == 0 {
		b.mu.Unlock()
		return v, ok, nil
	}
	// Answer what was there on arrival, after everyone has arrived: all
	// racing callers then see the same (missing) value.
	b.arrived[key]++
	ch := b.release[key]
	if ch == nil {
		ch = make(chan struct{})
		b.release[key] = ch
	}
	if b.arrived[key] == b.barrier {
		close(ch)
	}
	b.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(5 * time.Second): // a missing party must not hang the test
	}
	return v, ok, nil
}

func (b *memBlobs) PutMetaIfAbsent(_ context.Context, key, value string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.puts[key]++
	if v, ok := b.meta[key]; ok {
		return v, nil
	}
	b.meta[key] = value
	return value, nil
}

func (b *memBlobs) blob(ref string) []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.blobs[ref])
}

func (b *memBlobs) putRaw(ref string, blob []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.blobs[ref] = blob
}

const (
	testKey  = "correct horse battery staple"
	otherKey = "incorrect horse battery staple"
)

func openSealed(t *testing.T, key string, blobs BlobStore) *Sealed {
	t.Helper()
	s, err := OpenSealed(context.Background(), key, blobs)
	if err != nil {
		t.Fatalf("OpenSealed: %v", err)
	}
	return s
}

func TestSealedRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		secrets accounts.Secrets
	}{
		{"typical", secretsOf(300)},
		{"7 KB cookie", secretsOf(7000)},
		{"no host cookie", accounts.Secrets{SecureCSES: cookie(100), CSESIDX: "1"}},
		{"empty", accounts.Secrets{}},
	}
	blobs := withKDF(1000)
	s := openSealed(t, testKey, blobs)
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Set(ctx, "r1", tt.secrets); err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(ctx, "r1")
			if err != nil || got != tt.secrets {
				t.Fatalf("Get: equal=%v err=%v", got == tt.secrets, err)
			}
			// A second instance with the same key reads it too.
			got, err = openSealed(t, testKey, blobs).Get(ctx, "r1")
			if err != nil || got != tt.secrets {
				t.Fatalf("Get from a second instance: equal=%v err=%v", got == tt.secrets, err)
			}
		})
	}
	t.Run("delete", func(t *testing.T) {
		if err := s.Delete(ctx, "r1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, "r1"); !errors.Is(err, accounts.ErrSecretNotFound) {
			t.Fatalf("Get after Delete: %v", err)
		}
		if err := s.Delete(ctx, "r1"); err != nil {
			t.Fatalf("Delete of a missing ref: %v", err)
		}
	})
}

func TestSealedNewDatabase(t *testing.T) {
	blobs := newMemBlobs()
	start := time.Now()
	openSealed(t, testKey, blobs)
	t.Logf("OpenSealed of a new database with the default KDF: %s", time.Since(start))
	if got, want := blobs.meta[metaKDF], fmt.Sprintf("pbkdf2-sha256:%d", defaultKDFIterations); got != want {
		t.Errorf("%s = %q, want %q", metaKDF, got, want)
	}
	salt, err := base64.StdEncoding.DecodeString(blobs.meta[metaSalt])
	if err != nil || len(salt) != 16 {
		t.Errorf("%s = %q: not 16 bytes of base64", metaSalt, blobs.meta[metaSalt])
	}
	if blobs.meta[metaCheck] == "" {
		t.Errorf("no %s", metaCheck)
	}
	// A later start reads the meta instead of writing it again.
	before := blobs.puts[metaSalt]
	openSealed(t, testKey, blobs)
	if blobs.puts[metaSalt] != before {
		t.Error("a second OpenSealed wrote the salt again")
	}
}

func TestSealedKeys(t *testing.T) {
	tests := []struct {
		name    string
		first   string // key that sets up the database; "" for none
		key     string
		wantErr error
	}{
		{name: "same key", first: testKey, key: testKey},
		{name: "wrong key", first: testKey, key: otherKey, wantErr: ErrWrongKey},
		{name: "key differing in case", first: testKey, key: strings.ToUpper(testKey), wantErr: ErrWrongKey},
		{name: "short key", key: "fifteen chars!!", wantErr: ErrKeyTooShort},
		{name: "empty key", key: "", wantErr: ErrKeyTooShort},
		{name: "16 characters", key: "sixteen chars!!!"},
		{name: "16 multi-byte characters", key: strings.Repeat("é", 16)},
		{name: "15 multi-byte characters", key: strings.Repeat("é", 15), wantErr: ErrKeyTooShort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			blobs := withKDF(1000)
			if tt.first != "" {
				openSealed(t, tt.first, blobs)
			}
			_, err := OpenSealed(context.Background(), tt.key, blobs)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
			if err != nil && tt.key != "" && strings.Contains(err.Error(), tt.key) {
				t.Fatal("the error contains the key")
			}
		})
	}
}

func TestSealedWrongKeyMessage(t *testing.T) {
	const want = "GATEWAY_SECRET_KEY does not match the key that sealed this database's secrets"
	if ErrWrongKey.Error() != want {
		t.Fatalf("ErrWrongKey says %q", ErrWrongKey)
	}
}

func TestSealedConcurrentFirstStart(t *testing.T) {
	tests := []struct {
		name      string
		keys      []string
		wantWrong int // how many must fail with ErrWrongKey
	}{
		{name: "same key", keys: []string{testKey, testKey, testKey}},
		{name: "different keys", keys: []string{testKey, otherKey}, wantWrong: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			blobs := withKDF(1000)
			blobs.barrier = len(tt.keys)
			sealed := make([]*Sealed, len(tt.keys))
			errs := make([]error, len(tt.keys))
			var wg sync.WaitGroup
			for i, key := range tt.keys {
				wg.Go(func() { sealed[i], errs[i] = OpenSealed(context.Background(), key, blobs) })
			}
			wg.Wait()
			if n := blobs.puts[metaSalt]; n != len(tt.keys) {
				t.Fatalf("%d salt writes: the instances did not race", n)
			}
			wrong := 0
			var ok []*Sealed
			for i, err := range errs {
				switch {
				case err == nil:
					ok = append(ok, sealed[i])
				case errors.Is(err, ErrWrongKey):
					wrong++
				default:
					t.Fatalf("OpenSealed: %v", err)
				}
			}
			if wrong != tt.wantWrong {
				t.Fatalf("%d instances got ErrWrongKey, want %d", wrong, tt.wantWrong)
			}
			// Whoever succeeded agrees on the key: each reads what the
			// others wrote.
			ctx := context.Background()
			for i, s := range ok {
				want := secretsOf(100)
				ref := fmt.Sprintf("r%d", i)
				if err := s.Set(ctx, ref, want); err != nil {
					t.Fatal(err)
				}
				for _, other := range ok {
					if got, err := other.Get(ctx, ref); err != nil || got != want {
						t.Fatalf("instance cannot read another's secret: %v", err)
					}
				}
			}
		})
	}
}

func TestSealedRejectsAlteredBlobs(t *testing.T) {
	ctx := context.Background()
	want := secretsOf(500)
	tests := []struct {
		name  string
		alter func(b *memBlobs)
	}{
		{"flipped ciphertext bit", func(b *memBlobs) {
			blob := b.blob("a")
			blob[len(blob)/2] ^= 1
			b.putRaw("a", blob)
		}},
		{"flipped tag bit", func(b *memBlobs) {
			blob := b.blob("a")
			blob[len(blob)-1] ^= 0x80
			b.putRaw("a", blob)
		}},
		{"flipped nonce bit", func(b *memBlobs) {
			blob := b.blob("a")
			blob[1] ^= 1
			b.putRaw("a", blob)
		}},
		{"unknown version", func(b *memBlobs) {
			blob := b.blob("a")
			blob[0] = 2
			b.putRaw("a", blob)
		}},
		{"truncated", func(b *memBlobs) { b.putRaw("a", b.blob("a")[:20]) }},
		{"empty", func(b *memBlobs) { b.putRaw("a", nil) }},
		{"moved from another account", func(b *memBlobs) { b.putRaw("a", b.blob("b")) }},
		{"sealed under another key", func(b *memBlobs) {
			other := withKDF(1000)
			s, err := OpenSealed(ctx, otherKey, other)
			if err != nil {
				panic(err)
			}
			_ = s.Set(ctx, "a", want)
			b.putRaw("a", other.blob("a"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			blobs := withKDF(1000)
			s := openSealed(t, testKey, blobs)
			if err := s.Set(ctx, "a", want); err != nil {
				t.Fatal(err)
			}
			if err := s.Set(ctx, "b", secretsOf(500)); err != nil {
				t.Fatal(err)
			}
			tt.alter(blobs)
			got, err := s.Get(ctx, "a")
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got %v, want ErrCorrupt", err)
			}
			if got != (accounts.Secrets{}) {
				t.Fatal("secrets returned along with the error")
			}
			assertNoSecret(t, err.Error(), want)
		})
	}
}

func TestSealedCiphertextHidesPlaintext(t *testing.T) {
	blobs := withKDF(1000)
	s := openSealed(t, testKey, blobs)
	sec := secretsOf(2000)
	ctx := context.Background()
	if err := s.Set(ctx, "a", sec); err != nil {
		t.Fatal(err)
	}
	blob := blobs.blob("a")
	for _, v := range []string{sec.SecureCSES[:16], sec.HostCOSES[:16], sec.CSESIDX, "secure_c_ses"} {
		if bytes.Contains(blob, []byte(v)) {
			t.Fatalf("the blob contains %q", v)
		}
	}
	if blob[0] != sealVersion || len(blob) < 1+12+16 {
		t.Fatalf("blob layout: version %d, %d bytes", blob[0], len(blob))
	}
	// A fresh nonce each time: sealing the same secrets twice differs.
	if err := s.Set(ctx, "a", sec); err != nil {
		t.Fatal(err)
	}
	if again := blobs.blob("a"); bytes.Equal(again[1:13], blob[1:13]) || bytes.Equal(again, blob) {
		t.Fatal("the nonce was reused")
	}
}

func TestSealedBadMeta(t *testing.T) {
	tests := []struct {
		name string
		meta map[string]string
		want string
	}{
		{"unknown KDF", map[string]string{metaKDF: "argon2id:t=3"}, "unknown key derivation"},
		{"too few iterations", map[string]string{metaKDF: "pbkdf2-sha256:10"}, "invalid"},
		{"unparsable iterations", map[string]string{metaKDF: "pbkdf2-sha256:many"}, "invalid"},
		{"damaged salt", map[string]string{metaKDF: "pbkdf2-sha256:1000", metaSalt: "!!"}, "damaged"},
		{"short salt", map[string]string{metaKDF: "pbkdf2-sha256:1000", metaSalt: "AAAA"}, "damaged"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			blobs := newMemBlobs()
			for k, v := range tt.meta {
				blobs.meta[k] = v
			}
			_, err := OpenSealed(context.Background(), testKey, blobs)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error about %q", err, tt.want)
			}
		})
	}
	t.Run("damaged check value", func(t *testing.T) {
		blobs := withKDF(1000)
		openSealed(t, testKey, blobs)
		blobs.meta[metaCheck] = "not base64!"
		if _, err := OpenSealed(context.Background(), testKey, blobs); !errors.Is(err, ErrWrongKey) {
			t.Fatalf("got %v, want ErrWrongKey", err)
		}
	})
}

func TestSealedInvalidRef(t *testing.T) {
	s := openSealed(t, testKey, withKDF(1000))
	ctx := context.Background()
	if _, err := s.Get(ctx, ""); !errors.Is(err, ErrInvalidRef) {
		t.Errorf("Get: %v", err)
	}
	if err := s.Set(ctx, "a#1", secretsOf(1)); !errors.Is(err, ErrInvalidRef) {
		t.Errorf("Set: %v", err)
	}
	if err := s.Delete(ctx, "a/b"); !errors.Is(err, ErrInvalidRef) {
		t.Errorf("Delete: %v", err)
	}
}

// BenchmarkKDF measures the default key derivation, the cost of OpenSealed.
func BenchmarkKDF(b *testing.B) {
	for b.Loop() {
		blobs := newMemBlobs()
		if _, err := OpenSealed(context.Background(), testKey, blobs); err != nil {
			b.Fatal(err)
		}
	}
}
