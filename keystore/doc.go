// Package keystore keeps the secrets of Gemini Business accounts
// (accounts.Secrets: the __Secure-C_SES and __Host-C_OSES cookie values and
// the csesidx) out of the account database's readable columns. It provides
// two implementations of accounts.SecretStore:
//
//   - Keyring keeps them in the OS keychain (Secret Service on Linux,
//     Keychain on macOS, Credential Manager on Windows) through go-keyring.
//     Every call has a timeout, because a locked keyring can wait forever
//     for a password prompt, and values larger than one keychain entry
//     allows are split into parts.
//   - Sealed keeps them in the account database (through BlobStore),
//     encrypted with AES-256-GCM under a key derived from the user's
//     GATEWAY_SECRET_KEY: for machines without a keychain, and for several
//     instances sharing one PostgreSQL database.
//
// Memory and Faulty are test doubles for other packages' tests.
//
// This package does not choose a backend; the composition root (package
// app) does, typically: Keyring when Keyring.Probe succeeds, else Sealed
// when GATEWAY_SECRET_KEY is set, else accounts.ErrNoSecretStore.
//
// Nothing here logs. No error, panic or formatted value of a type defined
// here carries a secret value; refs, service names and sizes are not
// secret and do appear in errors, so that a user can act on them.
package keystore

import (
	"errors"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
)

// Backend names, as stored in accounts.Account.SecretBackend.
const (
	BackendKeychain = accounts.BackendKeychain
	BackendSealed   = accounts.BackendSealed
)

// Errors of this package. Test with errors.Is; the returned errors wrap
// these with the ref and the operation that failed.
var (
	// ErrTimeout means the OS keychain did not answer within the Keyring's
	// timeout.
	ErrTimeout = errors.New("the OS keychain did not answer in time; it may be locked and waiting for a password prompt")
	// ErrCorrupt means a stored secret exists but cannot be read back
	// intact (a missing or altered keychain part, a sealed blob that fails
	// authentication). Re-entering the account's cookies replaces it.
	ErrCorrupt = errors.New("the stored secret is damaged or incomplete; enter the account's cookies again")
	// ErrInvalidRef is returned for a ref that cannot name a secret.
	ErrInvalidRef = errors.New("invalid secret ref: use 1 to 128 letters, digits, '.', '_' or '-'")
	// ErrWrongKey is returned by OpenSealed when GATEWAY_SECRET_KEY is not
	// the key the database's secrets were sealed with.
	ErrWrongKey = errors.New("GATEWAY_SECRET_KEY does not match the key that sealed this database's secrets")
	// ErrKeyTooShort is returned by OpenSealed for a key under
	// MinKeyLength characters.
	ErrKeyTooShort = errors.New("GATEWAY_SECRET_KEY is too short: it must be at least 16 characters; " +
		"use a long random value, for example the output of `openssl rand -base64 32`")
)

// maxRefLen bounds a ref so that service+user stays far below the
// keychains' name limits (Windows: 512 bytes for the target name).
const maxRefLen = 128

// CheckRef tells whether ref is a valid secret ref (ErrInvalidRef if
// not), for stores outside this package that must accept the same refs,
// such as the test double in internal/keystoretest.
func CheckRef(ref string) error { return checkRef(ref) }

// checkRef accepts the refs accounts.Manager makes (hex) and anything of
// the same shape. '#' and '/' are excluded because they structure keychain
// user names ("account/<ref>#<part>"): a ref "x#1" must never name part 1
// of ref "x".
func checkRef(ref string) error {
	if ref == "" || len(ref) > maxRefLen {
		return ErrInvalidRef
	}
	for i := 0; i < len(ref); i++ {
		c := ref[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return ErrInvalidRef
		}
	}
	return nil
}
