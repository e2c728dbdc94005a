// Package accounts holds the domain of Gemini Business accounts: the
// Account record and its states, the secrets that belong to it, and the
// interfaces of the two places they live — an account Store (SQLite or
// PostgreSQL, in app/store) and a SecretStore (OS keychain or sealed, in
// keystore). Manager keeps the two consistent.
package accounts

import (
	"context"
	"errors"
	"time"
)

// EnvAccountID is the id of the read-only account configured through
// SECURE_C_SES/CSESIDX/CONFIG_ID, as the Python gateway's "env fallback".
const EnvAccountID int64 = 0

// Status is an account's health as last observed.
type Status string

const (
	StatusUnknown   Status = "unknown"   // never checked since added or changed
	StatusHealthy   Status = "healthy"   // last check or request succeeded
	StatusExpired   Status = "expired"   // cookies no longer sign in: renew them
	StatusBanned    Status = "banned"    // upstream answered 403
	StatusUnhealthy Status = "unhealthy" // network trouble past the threshold
	// StatusNeedsSignIn: the sign-in behind the cookies is over (the
	// upstream said EXPIRED_SIGN_IN, or a cookie refresh ended on a sign-in
	// page). The account is not disabled: it is never chosen for requests
	// and comes back by itself once signed in again (Manager.SaveSignIn).
	StatusNeedsSignIn Status = "needs_sign_in"
)

// Usable reports whether requests may be sent to an account in this status.
func (s Status) Usable() bool {
	return s == StatusUnknown || s == StatusHealthy || s == ""
}

// Secret backends.
const (
	BackendKeychain = "keychain"
	BackendSealed   = "sealed"
	BackendEnv      = "env"
)

// Account is one Gemini Business account as stored. It never carries the
// secrets themselves, only a reference to them.
type Account struct {
	ID       int64
	Name     string
	ConfigID string
	Enabled  bool
	// DisabledReason says why Enabled is false ("disabled by user",
	// "expired: …" when auto-disabled).
	DisabledReason string
	// UserAgent overrides the configured upstream user agent when set.
	UserAgent string

	CreatedAt    time.Time
	UpdatedAt    time.Time
	LastUsedAt   time.Time // zero: never used
	RequestCount int64

	Status       Status
	StatusReason string

	LastCheckAt      time.Time
	LastCheckOK      bool
	LastCheckLatency time.Duration
	LastCheckMessage string

	CooldownUntil  time.Time
	CooldownReason string
	NetworkErrors  int

	// ExpiresAt is the __Secure-C_SES cookie's own expiry as the upstream
	// set it; zero when unknown (pasted cookies).
	ExpiresAt time.Time
	// LastSignInAt is when the current sign-in was made (Manager.SaveSignIn);
	// LastRefreshAt when its cookies were last refreshed or confirmed.
	// Zero when never.
	LastSignInAt  time.Time
	LastRefreshAt time.Time

	// SecretBackend names the SecretStore holding the secrets; SecretRef is
	// their key there.
	SecretBackend string
	SecretRef     string
	// SecretHints describes the secrets without revealing them.
	SecretHints SecretHints

	// ReadOnly marks the account from the environment.
	ReadOnly bool
}

// Cooling reports whether the account is in a cooldown at t.
func (a *Account) Cooling(t time.Time) bool { return a.CooldownUntil.After(t) }

// SecretHints are safe to show and store: which secrets are set and a short
// fingerprint of each, so a user can tell two accounts apart.
type SecretHints struct {
	SecureCSES string `json:"secure_c_ses"` // fingerprint, "" when unset
	HostCOSES  string `json:"host_c_oses"`
	CSESIDX    string `json:"csesidx"`
}

// Secrets are the credentials of an account. Never log them, never put
// them in an error, never store them outside a SecretStore.
type Secrets struct {
	SecureCSES string `json:"secure_c_ses"`
	HostCOSES  string `json:"host_c_oses,omitempty"`
	CSESIDX    string `json:"csesidx"`
}

// String hides the values from accidental formatting.
func (Secrets) String() string { return "accounts.Secrets{…}" }

// GoString hides the values from %#v.
func (Secrets) GoString() string { return "accounts.Secrets{…}" }

// NewAccount is what Store.Insert writes.
type NewAccount struct {
	Name          string
	ConfigID      string
	Enabled       bool
	UserAgent     string
	SecretBackend string
	SecretRef     string
	SecretHints   SecretHints
}

// Patch changes an account's metadata; nil fields stay as they are.
type Patch struct {
	Name           *string
	ConfigID       *string
	Enabled        *bool
	DisabledReason *string
	UserAgent      *string
}

// CheckRecord is the outcome of one health check.
type CheckRecord struct {
	At      time.Time
	OK      bool
	Latency time.Duration
	Message string
}

// SignInUpdate is what Store.RecordSignIn writes.
type SignInUpdate struct {
	// SecretBackend and SecretRef point the account at new secrets, which
	// must already be stored under a journaled ref; "" keeps the current
	// ones.
	SecretBackend string
	SecretRef     string
	SecretHints   SecretHints
	// ConfigID and UserAgent replace the account's when not "".
	ConfigID  string
	UserAgent string
	// ExpiresAt is the new cookie expiry. A sign-in always writes it (zero:
	// unknown); a refresh keeps the old one when it is zero.
	ExpiresAt time.Time
	// At is the time of the sign-in or refresh: LastRefreshAt, and
	// LastSignInAt when SignIn.
	At time.Time
	// SignIn marks a new sign-in: it also sets LastSignInAt, clears a
	// needs_sign_in or expired status with its reason, a cooldown, the
	// network-error count, and turns back on an account that was turned off
	// automatically because it expired.
	SignIn bool
}

// Errors of the store.
var (
	ErrNotFound  = errors.New("account not found")
	ErrDuplicate = errors.New("an account with that name already exists")
	// ErrSchemaTooNew means the database was written by a newer version.
	ErrSchemaTooNew = errors.New("database schema is newer than this program")
)

// Store keeps account records. Every method is atomic; counters are
// incremented in SQL so concurrent writers (and several processes sharing
// one PostgreSQL) never lose an update.
type Store interface {
	List(ctx context.Context) ([]Account, error)
	Get(ctx context.Context, id int64) (Account, error)
	// Insert adds an account and, in the same transaction, removes
	// a.SecretRef from the pending-secrets journal.
	Insert(ctx context.Context, a NewAccount) (Account, error)
	Update(ctx context.Context, id int64, p Patch) (Account, error)
	// ReplaceSecretRef points an account at new secrets: in one transaction
	// it sets the ref and hints, clears the new ref from the journal and
	// journals the old ref for deletion.
	ReplaceSecretRef(ctx context.Context, id int64, backend, ref string, hints SecretHints) (Account, error)
	// Delete removes an account and journals its secret ref for deletion,
	// in one transaction. It returns the deleted record.
	Delete(ctx context.Context, id int64) (Account, error)

	// AddUsage adds n requests and moves last_used_at forward to at.
	AddUsage(ctx context.Context, id int64, n int64, at time.Time) error
	// SetStatus records a health status; disable also turns the account off
	// with the reason.
	SetStatus(ctx context.Context, id int64, s Status, reason string, disable bool) error
	SetCooldown(ctx context.Context, id int64, until time.Time, reason string) error
	// AddNetworkError increments the consecutive network-error count and
	// returns the new value; ResetNetworkErrors sets it to zero.
	AddNetworkError(ctx context.Context, id int64) (int, error)
	ResetNetworkErrors(ctx context.Context, id int64) error
	RecordCheck(ctx context.Context, id int64, c CheckRecord) error
	// RecordSignIn writes a sign-in or a cookie refresh in one transaction:
	// the new secret ref (as ReplaceSecretRef does, journal included) when
	// u.SecretRef is set, and the lifecycle fields (see SignInUpdate).
	RecordSignIn(ctx context.Context, id int64, u SignInUpdate) (Account, error)

	// The pending-secrets journal: refs whose secrets may exist in a
	// SecretStore without an account pointing at them (see Manager).
	JournalAdd(ctx context.Context, backend, ref string) error
	JournalRemove(ctx context.Context, ref string) error
	JournalList(ctx context.Context) ([]JournalEntry, error)

	Close() error
}

// JournalEntry is a secret ref that may need cleaning up.
type JournalEntry struct {
	Backend string
	Ref     string
}

// Watcher is implemented by stores that can tell when another process
// changed an account (PostgreSQL LISTEN/NOTIFY). The channel carries the
// changed account's id, or -1 for "reload everything".
type Watcher interface {
	Watch(ctx context.Context) (<-chan int64, error)
}

// SecretStore keeps secrets by reference. Get returns ErrSecretNotFound
// for an unknown ref; Delete of an unknown ref is not an error.
type SecretStore interface {
	Get(ctx context.Context, ref string) (Secrets, error)
	Set(ctx context.Context, ref string, s Secrets) error
	Delete(ctx context.Context, ref string) error
}

// ErrSecretNotFound is returned by SecretStore.Get for an unknown ref.
var ErrSecretNotFound = errors.New("secret not found")

// ErrNoSecretStore means secrets cannot be stored on this machine.
var ErrNoSecretStore = errors.New("no secret store is available: the OS keychain cannot be reached and GATEWAY_SECRET_KEY is not set. " +
	"Set GATEWAY_SECRET_KEY to a long random value (for example the output of `openssl rand -base64 32`) to keep account secrets sealed in the database, " +
	"or unlock the desktop keyring")
