package keystore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
)

// Defaults of a Keyring.
const (
	// DefaultTimeout bounds one Keyring method call (all the keychain
	// entries it touches together).
	DefaultTimeout = 5 * time.Second
	// DefaultChunkSize is the largest value stored in one keychain entry.
	// Windows' Credential Manager refuses more than 2560 bytes, and macOS
	// base64-encodes values into a command line of at most 4096 bytes, so
	// 2000 bytes fits both with room for the service and user names.
	DefaultChunkSize = 2000
	// maxPending bounds the keychain calls of one Keyring that may be
	// running at once, counting calls that timed out but have not returned
	// yet (see Keyring). Once that many are stuck, further calls wait for a
	// free slot until their own timeout instead of leaving more goroutines
	// behind.
	maxPending = 4
)

// Keyring is an accounts.SecretStore in the OS keychain, through
// go-keyring. The secrets of ref are stored as JSON under the keychain
// service given to NewKeyring and the user "account/<ref>"; values larger
// than the chunk size are split into parts "account/<ref>#1" … "#n" with a
// checksummed header in "account/<ref>".
//
// Every method runs with a timeout (DefaultTimeout unless WithTimeout says
// otherwise) in addition to its context. go-keyring cannot be interrupted:
// on Linux, a locked keyring makes it wait for a password prompt's answer
// with no limit. So each keychain call runs in its own goroutine and the
// method returns ErrTimeout when time is up, while that goroutine lingers
// until go-keyring returns, which may be never. At most a few such calls
// (maxPending) exist per Keyring; later calls fail with ErrTimeout rather
// than piling up goroutines.
//
// Writes are not atomic across entries. A Set interrupted while replacing
// a chunked value, or concurrent Sets of the same ref, may leave parts of
// two values; Get then reports ErrCorrupt, never a mix of both, and Delete
// still removes every part. accounts.Manager does neither: it writes every
// new secret under a fresh ref and deletes the old one afterwards.
//
// A Keyring is safe for concurrent use.
type Keyring struct {
	service   string
	timeout   time.Duration
	chunkSize int
	be        backend
	slots     chan struct{}
}

// KeyringOption configures NewKeyring.
type KeyringOption func(*Keyring)

// WithTimeout sets how long one Keyring method may take (default
// DefaultTimeout).
func WithTimeout(d time.Duration) KeyringOption {
	return func(k *Keyring) { k.timeout = d }
}

// WithChunkSize sets the largest value stored in one keychain entry
// (default DefaultChunkSize). Tests make it tiny to exercise chunking.
func WithChunkSize(n int) KeyringOption {
	return func(k *Keyring) { k.chunkSize = n }
}

// withBackend replaces the OS keychain, for tests.
func withBackend(b backend) KeyringOption {
	return func(k *Keyring) { k.be = b }
}

// NewKeyring returns a Keyring storing entries under service, which should
// be the application ID (for example "io.github.gemgate.geminigateway").
// It does not touch the keychain; call Probe for that.
func NewKeyring(service string, opts ...KeyringOption) (*Keyring, error) {
	k := &Keyring{
		service:   service,
		timeout:   DefaultTimeout,
		chunkSize: DefaultChunkSize,
		be:        osKeychain{},
		slots:     make(chan struct{}, maxPending),
	}
	for _, o := range opts {
		o(k)
	}
	switch {
	case service == "" || len(service) > 255:
		// An empty service would make go-keyring's DeleteAll wipe other
		// programs' entries; Windows refuses names of 512 bytes and more.
		return nil, fmt.Errorf("keychain: service name must be 1 to 255 bytes, got %d", len(service))
	case k.timeout <= 0:
		return nil, fmt.Errorf("keychain: timeout must be positive, got %s", k.timeout)
	case k.chunkSize < 16:
		return nil, fmt.Errorf("keychain: chunk size must be at least 16 bytes, got %d", k.chunkSize)
	}
	return k, nil
}

// Get returns the secrets stored under ref, accounts.ErrSecretNotFound if
// there are none, or ErrCorrupt if they cannot be read back intact.
func (k *Keyring) Get(ctx context.Context, ref string) (accounts.Secrets, error) {
	if err := checkRef(ref); err != nil {
		return accounts.Secrets{}, fmt.Errorf("keychain get %q: %w", ref, err)
	}
	ctx, cancel := k.withTimeout(ctx)
	defer cancel()
	v, err := k.read(ctx, ref)
	if err != nil {
		return accounts.Secrets{}, err
	}
	var s accounts.Secrets
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		// The JSON error is dropped on purpose: it quotes bytes of the value.
		return accounts.Secrets{}, fmt.Errorf("keychain entry %s does not hold account secrets: %w", headUser(ref), ErrCorrupt)
	}
	return s, nil
}

// read returns the value of ref, reassembled from its parts if needed.
func (k *Keyring) read(ctx context.Context, ref string) (string, error) {
	head, err := k.get(ctx, headUser(ref))
	if errors.Is(err, keyring.ErrNotFound) {
		return "", fmt.Errorf("keychain entry %s: %w", headUser(ref), accounts.ErrSecretNotFound)
	}
	if err != nil {
		return "", err
	}
	n, sum, chunked, err := parseHeader(head)
	if err != nil {
		return "", fmt.Errorf("keychain entry %s: %w", headUser(ref), err)
	}
	if !chunked {
		return head, nil
	}
	var b strings.Builder
	for i := 1; i <= n; i++ {
		p, err := k.get(ctx, partUser(ref, i))
		if errors.Is(err, keyring.ErrNotFound) {
			return "", fmt.Errorf("keychain entry %s: part %d of %d is missing: %w", headUser(ref), i, n, ErrCorrupt)
		}
		if err != nil {
			return "", err
		}
		b.WriteString(p)
	}
	v := b.String()
	if !sumMatches(v, sum) {
		return "", fmt.Errorf("keychain entry %s: its %d parts do not match their checksum: %w", headUser(ref), n, ErrCorrupt)
	}
	return v, nil
}

// Set stores s under ref, replacing what was there. Parts of a previous,
// larger value that the new one does not need are deleted.
func (k *Keyring) Set(ctx context.Context, ref string, s accounts.Secrets) error {
	if err := checkRef(ref); err != nil {
		return fmt.Errorf("keychain set %q: %w", ref, err)
	}
	ctx, cancel := k.withTimeout(ctx)
	defer cancel()
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("keychain set %s: encode secrets: %w", headUser(ref), ErrCorrupt)
	}
	v := string(b)
	// Values a backend might echo in an error, so that wrapErr can keep
	// them out of the error we return.
	scrub := []string{v, s.SecureCSES, s.HostCOSES, s.CSESIDX}

	oldParts, err := k.partCount(ctx, ref)
	if err != nil {
		return err
	}
	parts := splitValue(v, k.chunkSize)
	head, newParts := v, 0
	if len(parts) > 1 {
		if len(parts) > maxParts {
			return fmt.Errorf("keychain set %s: the secrets (%d bytes) need more than %d entries of %d bytes",
				headUser(ref), len(v), maxParts, k.chunkSize)
		}
		// Parts before the header: until the header is written, a reader
		// sees the old value, or (when old parts were overwritten) a
		// checksum mismatch, never a new header over missing parts.
		for i, p := range parts {
			if err := k.set(ctx, partUser(ref, i+1), p, scrub); err != nil {
				return err
			}
		}
		head, newParts = makeHeader(v, len(parts)), len(parts)
	}
	if err := k.set(ctx, headUser(ref), head, scrub); err != nil {
		return err
	}
	if err := k.removeParts(ctx, ref, newParts+1, oldParts); err != nil {
		return fmt.Errorf("secrets stored, but parts of the previous value remain: %w", err)
	}
	return nil
}

// Delete removes the secrets of ref and all their parts. An unknown ref is
// not an error.
func (k *Keyring) Delete(ctx context.Context, ref string) error {
	if err := checkRef(ref); err != nil {
		return fmt.Errorf("keychain delete %q: %w", ref, err)
	}
	ctx, cancel := k.withTimeout(ctx)
	defer cancel()
	n, err := k.partCount(ctx, ref)
	if err != nil {
		return err
	}
	// Parts first, the header last: if this is interrupted, the header
	// still names the ref, so Get reports ErrCorrupt (not "not found") and
	// a retried Delete finds the remaining parts.
	if err := k.removeParts(ctx, ref, 1, n); err != nil {
		return err
	}
	if err := k.del(ctx, headUser(ref)); err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return err
	}
	return nil
}

// partCount returns how many parts the header of ref announces: 0 for no
// entry, a plain value, or a damaged header (removeParts then finds the
// parts by looking).
func (k *Keyring) partCount(ctx context.Context, ref string) (int, error) {
	head, err := k.get(ctx, headUser(ref))
	if errors.Is(err, keyring.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, _, _, err := parseHeader(head)
	if err != nil {
		return 0, nil
	}
	return n, nil
}

// removeParts deletes parts from..last of ref, where last is at least
// known and extends over any further parts that exist. Parts beyond those a
// header announces are left only by an interrupted Set or Delete, and
// always as one run right after the announced ones, because parts are
// written in ascending and deleted in descending order; so looking until
// the first missing one finds them all.
func (k *Keyring) removeParts(ctx context.Context, ref string, from, known int) error {
	last := max(known, from-1)
	for last < maxParts {
		_, err := k.get(ctx, partUser(ref, last+1))
		if errors.Is(err, keyring.ErrNotFound) {
			break
		}
		if err != nil {
			return err
		}
		last++
	}
	for i := last; i >= from; i-- {
		if err := k.del(ctx, partUser(ref, i)); err != nil && !errors.Is(err, keyring.ErrNotFound) {
			return err
		}
	}
	return nil
}

// Probe checks that the keychain can be reached and written: it stores,
// reads back and deletes a throwaway entry ("probe/<random>"). The
// composition root calls it at start-up to choose the secret backend. On
// Unix it fails at once when there is no D-Bus session bus, rather than let
// the D-Bus library start a bus daemon that would outlive the program.
func (k *Keyring) Probe(ctx context.Context) error {
	if _, real := k.be.(osKeychain); real {
		if err := sessionBusReachable(); err != nil {
			return fmt.Errorf("keychain probe: %w", err)
		}
	}
	ctx, cancel := k.withTimeout(ctx)
	defer cancel()
	user := "probe/" + randomHex(8)
	want := "probe " + randomHex(16)
	if err := k.set(ctx, user, want, nil); err != nil {
		return fmt.Errorf("keychain probe: write a test entry: %w", err)
	}
	got, getErr := k.get(ctx, user)
	delErr := k.del(ctx, user)
	switch {
	case getErr != nil:
		return fmt.Errorf("keychain probe: read the test entry back: %w", getErr)
	case got != want:
		return errors.New("keychain probe: the test entry read back differs from what was written")
	case delErr != nil:
		return fmt.Errorf("keychain probe: delete the test entry: %w", delErr)
	}
	return nil
}

// withTimeout gives one method call its time budget. The cause tells our
// own timeout apart from the caller's cancellation or deadline.
func (k *Keyring) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, k.timeout, ErrTimeout)
}

func (k *Keyring) get(ctx context.Context, user string) (string, error) {
	v, err := k.do(ctx, func() (string, error) { return k.be.get(k.service, user) })
	if err != nil {
		return "", k.wrapErr("read", user, err, nil)
	}
	return v, nil
}

func (k *Keyring) set(ctx context.Context, user, value string, scrub []string) error {
	_, err := k.do(ctx, func() (string, error) { return "", k.be.set(k.service, user, value) })
	if errors.Is(err, keyring.ErrSetDataTooBig) {
		return fmt.Errorf("keychain write %s: the keychain refused an entry of %d bytes: %w; use a smaller chunk size",
			user, len(value), keyring.ErrSetDataTooBig)
	}
	if err != nil {
		return k.wrapErr("write", user, err, append(scrub, value))
	}
	return nil
}

func (k *Keyring) del(ctx context.Context, user string) error {
	_, err := k.do(ctx, func() (string, error) { return "", k.be.delete(k.service, user) })
	if err != nil {
		return k.wrapErr("delete", user, err, nil)
	}
	return nil
}

// errBackendPanic replaces a panic inside go-keyring (it type-asserts
// D-Bus signal bodies): a keychain bug must not take the gateway down. The
// panic value is dropped, as it might hold data.
var errBackendPanic = errors.New("the keychain library failed unexpectedly")

// do runs fn, one go-keyring call, in a goroutine and waits for it, the
// timeout or ctx, whichever comes first. See Keyring for why the goroutine
// may outlive the call.
func (k *Keyring) do(ctx context.Context, fn func() (string, error)) (string, error) {
	if ctx.Err() != nil {
		return "", k.ctxErr(ctx)
	}
	select {
	case k.slots <- struct{}{}:
	case <-ctx.Done():
		return "", k.ctxErr(ctx)
	}
	type result struct {
		v   string
		err error
	}
	// Buffered, so that a call finishing after its caller gave up can
	// still deliver its result and let the goroutine end.
	done := make(chan result, 1)
	go func() {
		r := result{err: errBackendPanic} // kept only if fn panics
		defer func() {
			_ = recover()
			done <- r
			<-k.slots
		}()
		r.v, r.err = fn()
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		return "", k.ctxErr(ctx)
	}
}

func (k *Keyring) ctxErr(ctx context.Context) error {
	if errors.Is(context.Cause(ctx), ErrTimeout) {
		return fmt.Errorf("%w (waited %s)", ErrTimeout, k.timeout)
	}
	return ctx.Err()
}

// errWithheld replaces a backend error whose text may carry secret data.
var errWithheld = errors.New("the keychain reported an error whose text was withheld because it may contain secret data")

// wrapErr adds the operation and entry to a backend error, keeping
// keyring.ErrNotFound and our own errors testable with errors.Is. go-keyring's
// errors are D-Bus, Win32 or `security` messages that normally name no
// value; any that contains one of the values at hand, or is a decoding
// error (macOS's Get decodes the stored value and its hex error quotes a
// byte of it), is replaced by errWithheld.
func (k *Keyring) wrapErr(op, user string, err error, scrub []string) error {
	switch {
	case errors.Is(err, keyring.ErrNotFound), errors.Is(err, ErrTimeout),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, errBackendPanic):
	case mayLeak(err, scrub):
		err = errWithheld
	}
	return fmt.Errorf("keychain %s %s: %w", op, user, err)
}

// mayLeak reports whether err's text may contain secret data: a decoding
// error, or any stretch of 24 bytes or more of one of values (checked as
// overlapping 16-byte windows, so a backend that quotes only part of a
// value is caught too).
func mayLeak(err error, values []string) bool {
	var hexErr hex.InvalidByteError
	if errors.As(err, &hexErr) {
		return true
	}
	const window = 16
	msg := err.Error()
	for _, v := range values {
		switch {
		case len(v) < 6:
			// A csesidx of a few digits would match by chance and is of
			// little use to anyone reading a log.
		case len(v) <= window:
			if strings.Contains(msg, v) {
				return true
			}
		default:
			for i := 0; i+window <= len(v); i += window / 2 {
				if strings.Contains(msg, v[i:i+window]) {
					return true
				}
			}
		}
	}
	return false
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return hex.EncodeToString(b)
}

// String describes the Keyring; it holds no secrets, but a Keyring's fake
// backend in tests does, so fmt never looks inside.
func (k Keyring) String() string {
	return fmt.Sprintf("keystore.Keyring{service: %q, timeout: %s, chunk size: %d}", k.service, k.timeout, k.chunkSize)
}

// GoString is String, for %#v.
func (k Keyring) GoString() string { return k.String() }

// Format prints String for every verb, so that no verb (%d, %x, …) makes
// fmt print the fields.
func (k Keyring) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }
