package keystore

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
)

// BlobStore is where sealed secrets live: the account database.
type BlobStore interface {
	PutBlob(ctx context.Context, ref string, blob []byte) error             // upsert
	GetBlob(ctx context.Context, ref string) ([]byte, error)                // accounts.ErrSecretNotFound when missing
	DeleteBlob(ctx context.Context, ref string) error                       // missing is not an error
	GetMeta(ctx context.Context, key string) (string, bool, error)          // value, whether it exists
	PutMetaIfAbsent(ctx context.Context, key, value string) (string, error) // returns the value now stored (an existing one wins)
}

// MinKeyLength is the shortest GATEWAY_SECRET_KEY accepted, in characters.
const MinKeyLength = 16

// The sealed format.
//
// Database meta, written once by the first instance that opens the
// database and read by every later one (PutMetaIfAbsent makes concurrent
// first starts agree):
//
//	sealed.kdf    "pbkdf2-sha256:<iterations>"
//	sealed.salt   base64 of 16 random bytes
//	sealed.check  base64 of seal("gemgate sealed secrets key check v1")
//
// A sealed value is sealVersion, a random 12-byte nonce, then the
// AES-256-GCM ciphertext and tag of the secrets' JSON. The additional data
// binds it to its place (the ref of the account, or the meta key of the
// check), so a blob copied to another ref fails to open.
const (
	metaKDF   = "sealed.kdf"
	metaSalt  = "sealed.salt"
	metaCheck = "sealed.check"

	kdfPrefix = "pbkdf2-sha256:"
	// defaultKDFIterations is what a new database gets. Measured with Go
	// 1.26 on an idle 2.1 GHz AMD EPYC vCPU: 300,000 iterations take 49 ms
	// with the SHA extensions Go uses, and about 2.4 times as long with
	// them switched off (GODEBUG=cpu.sha=off), as on CPUs that lack them;
	// 600,000 (OWASP's figure) take 97 ms. 300,000 thus keeps start-up
	// under ~100 ms on laptops, whose cores typically run faster than this
	// one, with or without SHA extensions. The key is meant to be a long
	// random value (MinKeyLength sets a floor), for which the KDF's cost
	// matters little; the count is stored, so it can be raised for new
	// databases without breaking old ones.
	defaultKDFIterations = 300_000
	// The accepted range of a stored count: lower would be no KDF at all,
	// higher would stall start-up for minutes. A tampered count is also
	// caught by the key check, which would not open.
	minKDFIterations = 1_000
	maxKDFIterations = 50_000_000

	saltBytes   = 16
	sealVersion = 1
	checkText   = "gemgate sealed secrets key check v1"
)

// Sealed is an accounts.SecretStore that keeps secrets in the account
// database (a BlobStore), sealed with AES-256-GCM under a key derived from
// GATEWAY_SECRET_KEY. Open it with OpenSealed. It is safe for concurrent
// use, by several goroutines and by several processes sharing the database.
type Sealed struct {
	aead  cipher.AEAD
	blobs BlobStore
}

// OpenSealed derives the sealing key from key and checks it against the
// database. The first instance to open a database settles its KDF
// parameters, salt and key-check value; later ones, including instances
// starting at the same moment, use what is stored. It returns
// ErrKeyTooShort for a key under MinKeyLength characters and ErrWrongKey
// when key is not the one the database's secrets were sealed with.
func OpenSealed(ctx context.Context, key string, blobs BlobStore) (*Sealed, error) {
	if utf8.RuneCountInString(key) < MinKeyLength {
		return nil, ErrKeyTooShort
	}
	iterations, err := kdfIterations(ctx, blobs)
	if err != nil {
		return nil, err
	}
	salt, err := sealedSalt(ctx, blobs)
	if err != nil {
		return nil, err
	}
	dk, err := pbkdf2.Key(sha256.New, key, salt, iterations, 32)
	if err != nil {
		return nil, fmt.Errorf("sealed secrets: derive the key: %w", err)
	}
	block, err := aes.NewCipher(dk)
	clear(dk) // best effort: the cipher keeps its own expanded copy
	if err != nil {
		return nil, fmt.Errorf("sealed secrets: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("sealed secrets: %w", err)
	}
	s := &Sealed{aead: aead, blobs: blobs}
	if err := s.checkKey(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// metaOnce returns the meta value of key, storing create() first if there is
// none. Reading first spares every start a write; PutMetaIfAbsent settles
// the race between instances that all found nothing.
func metaOnce(ctx context.Context, blobs BlobStore, key string, create func() (string, error)) (string, error) {
	v, ok, err := blobs.GetMeta(ctx, key)
	if err != nil {
		return "", fmt.Errorf("sealed secrets: read %s: %w", key, err)
	}
	if ok {
		return v, nil
	}
	if v, err = create(); err != nil {
		return "", err
	}
	v, err = blobs.PutMetaIfAbsent(ctx, key, v)
	if err != nil {
		return "", fmt.Errorf("sealed secrets: write %s: %w", key, err)
	}
	return v, nil
}

func kdfIterations(ctx context.Context, blobs BlobStore) (int, error) {
	v, err := metaOnce(ctx, blobs, metaKDF, func() (string, error) {
		return kdfPrefix + strconv.Itoa(defaultKDFIterations), nil
	})
	if err != nil {
		return 0, err
	}
	count, ok := strings.CutPrefix(v, kdfPrefix)
	if !ok {
		return 0, fmt.Errorf("sealed secrets: the database uses an unknown key derivation %q (written by a newer version of the gateway?)", v)
	}
	n, err := strconv.Atoi(count)
	if err != nil || n < minKDFIterations || n > maxKDFIterations {
		return 0, fmt.Errorf("sealed secrets: the database's key derivation setting %q is invalid", v)
	}
	return n, nil
}

func sealedSalt(ctx context.Context, blobs BlobStore) ([]byte, error) {
	v, err := metaOnce(ctx, blobs, metaSalt, func() (string, error) {
		salt := make([]byte, saltBytes)
		_, _ = rand.Read(salt) // never fails since Go 1.24
		return base64.StdEncoding.EncodeToString(salt), nil
	})
	if err != nil {
		return nil, err
	}
	salt, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(salt) < saltBytes {
		return nil, fmt.Errorf("sealed secrets: the database's %s is damaged", metaSalt)
	}
	return salt, nil
}

// checkKey makes a wrong key fail at start-up with ErrWrongKey instead of
// later, account by account, as ErrCorrupt. The value stored may be
// another instance's (same salt, its own nonce): it must open under this
// key too, or that instance was started with a different key.
func (s *Sealed) checkKey(ctx context.Context) error {
	ad := additionalData("meta", metaCheck)
	v, err := metaOnce(ctx, s.blobs, metaCheck, func() (string, error) {
		return base64.StdEncoding.EncodeToString(s.seal([]byte(checkText), ad)), nil
	})
	if err != nil {
		return err
	}
	blob, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return ErrWrongKey
	}
	plain, err := s.open(blob, ad)
	if err != nil || string(plain) != checkText {
		return ErrWrongKey
	}
	return nil
}

// Get returns the secrets of ref: accounts.ErrSecretNotFound if there are
// none, ErrCorrupt if the blob does not open (altered, or copied from
// another ref).
func (s *Sealed) Get(ctx context.Context, ref string) (accounts.Secrets, error) {
	if err := checkRef(ref); err != nil {
		return accounts.Secrets{}, fmt.Errorf("sealed secret %q: %w", ref, err)
	}
	blob, err := s.blobs.GetBlob(ctx, ref)
	if err != nil {
		return accounts.Secrets{}, fmt.Errorf("sealed secret %s: %w", ref, err)
	}
	plain, err := s.open(blob, additionalData("account", ref))
	if err != nil {
		return accounts.Secrets{}, fmt.Errorf("sealed secret %s does not open (altered, or copied from another account): %w", ref, ErrCorrupt)
	}
	defer clear(plain)
	var sec accounts.Secrets
	if err := json.Unmarshal(plain, &sec); err != nil {
		// The JSON error is dropped on purpose: it quotes bytes of the value.
		return accounts.Secrets{}, fmt.Errorf("sealed secret %s does not hold account secrets: %w", ref, ErrCorrupt)
	}
	return sec, nil
}

// Set seals sec and stores it under ref, replacing what was there.
func (s *Sealed) Set(ctx context.Context, ref string, sec accounts.Secrets) error {
	if err := checkRef(ref); err != nil {
		return fmt.Errorf("sealed secret %q: %w", ref, err)
	}
	plain, err := json.Marshal(sec)
	if err != nil {
		return fmt.Errorf("sealed secret %s: encode: %w", ref, ErrCorrupt)
	}
	blob := s.seal(plain, additionalData("account", ref))
	clear(plain)
	if err := s.blobs.PutBlob(ctx, ref, blob); err != nil {
		return fmt.Errorf("sealed secret %s: store: %w", ref, err)
	}
	return nil
}

// Delete removes the secrets of ref; an unknown ref is not an error.
func (s *Sealed) Delete(ctx context.Context, ref string) error {
	if err := checkRef(ref); err != nil {
		return fmt.Errorf("sealed secret %q: %w", ref, err)
	}
	if err := s.blobs.DeleteBlob(ctx, ref); err != nil {
		return fmt.Errorf("sealed secret %s: delete: %w", ref, err)
	}
	return nil
}

// additionalData names what a blob belongs to. The version is part of it so
// that a future format cannot open today's blobs by accident.
func additionalData(kind, name string) []byte {
	return []byte("gemgate/sealed/v1\x00" + kind + "\x00" + name)
}

func (s *Sealed) seal(plain, ad []byte) []byte {
	ns := s.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plain)+s.aead.Overhead())
	out[0] = sealVersion
	_, _ = rand.Read(out[1:]) // never fails since Go 1.24
	return s.aead.Seal(out, out[1:], plain, ad)
}

func (s *Sealed) open(blob, ad []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(blob) < 1+ns+s.aead.Overhead() || blob[0] != sealVersion {
		return nil, ErrCorrupt
	}
	return s.aead.Open(nil, blob[1:1+ns], blob[1+ns:], ad)
}

// String describes a Sealed without its key.
func (Sealed) String() string { return "keystore.Sealed{…}" }

// GoString is String, for %#v.
func (s Sealed) GoString() string { return s.String() }

// Format prints String for every verb, so that fmt never prints the
// fields.
func (s Sealed) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }
