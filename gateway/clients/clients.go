// Package clients holds the gateway's client keys: the named keys that
// OpenAI clients (an Open WebUI container, an editor extension) send as
// "Authorization: Bearer …". A key is shown once when it is made and then
// kept only as its SHA-256 (a key carries 256 random bits, so a plain hash
// is enough: there is nothing to brute-force). Each key may carry limits:
// requests per minute and the models it may use.
//
// The types here are shared by the gateway (which checks keys) and the
// store (which keeps them), so neither depends on the other.
package clients

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"
)

// Key is a client key without its secret.
type Key struct {
	ID   int64
	Name string
	// Hash is the SHA-256 of the key.
	Hash []byte
	// Hint is the key's first characters, to recognise it by
	// ("sk-gg-Ab3d…"); never enough to use it.
	Hint string
	// RequestsPerMinute limits the key's request rate; 0 = no limit.
	RequestsPerMinute int
	// Models the key may use; empty = all.
	Models    []string
	CreatedAt time.Time
	RotatedAt time.Time
	// Builtin marks API_KEY from the configuration: it is not in the store
	// and cannot be revoked or rotated through the admin API.
	Builtin bool
}

// BuiltinName is the name API_KEY appears under.
const BuiltinName = "API_KEY"

// Errors of the key store.
var (
	ErrNotFound  = errors.New("client key not found")
	ErrDuplicate = errors.New("a client key with that name already exists")
)

// Store keeps client keys (implemented by app/store).
type Store interface {
	// ListClientKeys returns the keys that are not revoked, by id.
	ListClientKeys(ctx context.Context) ([]Key, error)
	// CreateClientKey adds k (ID and CreatedAt are filled in).
	CreateClientKey(ctx context.Context, k Key) (Key, error)
	// RevokeClientKey makes a key unusable for good.
	RevokeClientKey(ctx context.Context, id int64) error
	// RotateClientKey replaces a key's hash and hint, keeping its name,
	// limits and usage.
	RotateClientKey(ctx context.Context, id int64, hash []byte, hint string) (Key, error)
}

// Generate makes a new key: "sk-gg-" and 32 random bytes, with its hash and
// hint.
func Generate() (key string, hash []byte, hint string) {
	var b [32]byte
	rand.Read(b[:])
	key = "sk-gg-" + base64.RawURLEncoding.EncodeToString(b[:])
	h := Hash(key)
	return key, h[:], HintOf(key)
}

// Hash is the SHA-256 of a key, as stored.
func Hash(key string) [32]byte { return sha256.Sum256([]byte(key)) }

// HintOf is the part of a key shown in lists.
func HintOf(key string) string {
	n := min(len(key), 10)
	return key[:n] + "…"
}

// ValidName checks a key's name: 1-64 printable characters.
func ValidName(name string) error {
	name = strings.TrimSpace(name)
	if name == "" {
		return errors.New("a client key needs a name, such as \"Open WebUI\"")
	}
	if len(name) > 64 {
		return errors.New("the name is longer than 64 bytes")
	}
	for _, r := range name {
		if r < ' ' || r == 0x7f {
			return errors.New("the name contains control characters")
		}
	}
	if strings.EqualFold(name, BuiltinName) {
		return errors.New("API_KEY is the name of the key from the configuration")
	}
	return nil
}

// Allows reports whether the key may use model.
func (k Key) Allows(model string) bool {
	return len(k.Models) == 0 || slices.Contains(k.Models, model)
}

// Registry is the in-memory set of usable keys the gateway checks requests
// against. It is safe for concurrent use.
type Registry struct {
	mu      sync.RWMutex
	keys    []Key
	builtin *Key
}

// Set replaces the stored keys.
func (r *Registry) Set(keys []Key) {
	r.mu.Lock()
	r.keys = keys
	r.mu.Unlock()
}

// SetBuiltin sets API_KEY ("" = none).
func (r *Registry) SetBuiltin(apiKey string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if apiKey == "" {
		r.builtin = nil
		return
	}
	h := Hash(apiKey)
	r.builtin = &Key{ID: 0, Name: BuiltinName, Hash: h[:], Hint: HintOf(apiKey), Builtin: true}
}

// Empty reports whether no key at all is configured.
func (r *Registry) Empty() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.builtin == nil && len(r.keys) == 0
}

// All returns API_KEY (when set) and the stored keys.
func (r *Registry) All() []Key {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Key, 0, len(r.keys)+1)
	if r.builtin != nil {
		out = append(out, *r.builtin)
	}
	return append(out, r.keys...)
}

// Lookup finds the key a client presented. Every configured key is compared
// in constant time, so the answer's timing says nothing about which
// hash bytes matched.
func (r *Registry) Lookup(presented string) (Key, bool) {
	if presented == "" {
		return Key{}, false
	}
	h := Hash(presented)
	r.mu.RLock()
	defer r.mu.RUnlock()
	var found *Key
	if r.builtin != nil && subtle.ConstantTimeCompare(h[:], r.builtin.Hash) == 1 {
		found = r.builtin
	}
	for i := range r.keys {
		if subtle.ConstantTimeCompare(h[:], r.keys[i].Hash) == 1 && found == nil {
			found = &r.keys[i]
		}
	}
	if found == nil {
		return Key{}, false
	}
	return *found, true
}

// RateLimiter enforces requests per minute per key with a token bucket:
// a key may burst up to its per-minute allowance, then gets one request
// every 60/rpm seconds.
type RateLimiter struct {
	mu      sync.Mutex
	buckets map[int64]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
	rpm    int
}

// Allow takes one request from key id's allowance; when none is left it
// reports how long until the next one.
func (l *RateLimiter) Allow(id int64, rpm int, now time.Time) (bool, time.Duration) {
	if rpm <= 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[int64]*bucket{}
	}
	b := l.buckets[id]
	if b == nil || b.rpm != rpm {
		b = &bucket{tokens: float64(rpm), last: now, rpm: rpm}
		l.buckets[id] = b
	}
	rate := float64(rpm) / 60 // tokens per second
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(float64(rpm), b.tokens+el*rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / rate * float64(time.Second))
	return false, wait
}
