package accounts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// SignInResult is what a sign-in or a refresh obtained.
type SignInResult struct {
	Secrets   Secrets
	ConfigID  string    // from /home/cid/<config_id>
	UserAgent string    // the browser's, "" to keep the current one
	ExpiresAt time.Time // __Secure-C_SES expiry; zero when unknown
}

// String keeps the secrets out of formatted output.
func (r SignInResult) String() string {
	return fmt.Sprintf("accounts.SignInResult{ConfigID:%q ExpiresAt:%s}", r.ConfigID, r.ExpiresAt.UTC().Format(time.RFC3339))
}

// GoString hides the secrets from %#v.
func (r SignInResult) GoString() string { return r.String() }

// AutoDisabledForExpiry reports whether a disabled reason is one the pool
// writes when it turns an account off because its cookies expired
// ("expired: …"), which a new sign-in undoes. A user's own "disabled by
// user" is not.
func AutoDisabledForExpiry(reason string) bool {
	return strings.HasPrefix(reason, "expired:") || strings.HasPrefix(reason, string(StatusNeedsSignIn))
}

// now is the Manager's clock.
func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// validateSignIn checks what a sign-in or refresh brought as an Input
// would be checked, so a browser or an upstream cannot store what a user
// could not paste.
func validateSignIn(name string, r SignInResult, needConfig bool) (Input, error) {
	in := Input{Name: name, SecureCSES: r.Secrets.SecureCSES, HostCOSES: r.Secrets.HostCOSES,
		CSESIDX: r.Secrets.CSESIDX, ConfigID: r.ConfigID, UserAgent: r.UserAgent}.Normalize()
	partial := !needConfig && in.ConfigID == ""
	if err := in.Validate(partial); err != nil {
		return in, err
	}
	if in.SecureCSES == "" || in.CSESIDX == "" {
		return in, &ValidationError{Fields: map[string]string{"secure_c_ses": "a sign-in must bring __Secure-C_SES and csesidx"}}
	}
	return in, nil
}

// SaveSignIn stores a fresh sign-in. id 0 means "the account named name,
// created when absent"; otherwise that account is updated in place (same id,
// name, counters), csesidx included. Sets LastSignInAt and LastRefreshAt to
// now, clears needs_sign_in/expired status and an expiry auto-disable, writes
// the new secrets through the crash journal (a crash never loses the only
// valid cookie), and notifies like other writes (OnChange).
func (m *Manager) SaveSignIn(ctx context.Context, id int64, name string, r SignInResult) (Account, error) {
	if id == EnvAccountID && strings.TrimSpace(name) == "" {
		return Account{}, &ValidationError{Fields: map[string]string{"name": "is required to sign in a new account"}}
	}
	if id == EnvAccountID {
		list, err := m.Store.List(ctx)
		if err != nil {
			return Account{}, err
		}
		for _, a := range list {
			if strings.EqualFold(a.Name, strings.TrimSpace(name)) {
				id = a.ID
				break
			}
		}
	}
	if id == EnvAccountID {
		return m.createSignedIn(ctx, name, r)
	}
	cur, err := m.Store.Get(ctx, id)
	if err != nil {
		return Account{}, err
	}
	in, err := validateSignIn(cur.Name, r, false)
	if err != nil {
		return Account{}, err
	}
	if err := m.checkDuplicate(ctx, id, Input{CSESIDX: in.CSESIDX, ConfigID: firstNonEmpty(in.ConfigID, cur.ConfigID)}); err != nil {
		return Account{}, err
	}
	a, err := m.writeSecrets(ctx, cur, in.Secrets(), SignInUpdate{
		ConfigID: in.ConfigID, UserAgent: in.UserAgent, ExpiresAt: r.ExpiresAt, At: m.now(), SignIn: true,
	})
	if err != nil {
		return Account{}, err
	}
	m.changed(id)
	return a, nil
}

// createSignedIn adds a new account from a sign-in.
func (m *Manager) createSignedIn(ctx context.Context, name string, r SignInResult) (Account, error) {
	in, err := validateSignIn(name, r, true)
	if err != nil {
		return Account{}, err
	}
	if err := m.checkDuplicate(ctx, 0, in); err != nil {
		return Account{}, err
	}
	backend, ref, err := m.putSecrets(ctx, in.Secrets())
	if err != nil {
		return Account{}, err
	}
	a, err := m.Store.Insert(ctx, NewAccount{
		Name: in.Name, ConfigID: in.ConfigID, Enabled: true, UserAgent: in.UserAgent,
		SecretBackend: backend, SecretRef: ref, SecretHints: Hints(in.Secrets()),
	})
	if err != nil {
		m.dropSecret(ctx, backend, ref)
		return Account{}, err
	}
	// The secrets belong to the account now; the lifecycle fields are
	// bookkeeping that a failure here does not make unsafe.
	if b, err := m.Store.RecordSignIn(ctx, a.ID, SignInUpdate{ExpiresAt: r.ExpiresAt, At: m.now(), SignIn: true}); err == nil {
		a = b
	}
	m.changed(a.ID)
	return a, nil
}

// writeSecrets stores s under a new journaled ref and points the account
// at it together with u, then deletes the old secrets. Unchanged secrets
// are not rewritten. Order matters for a crash: the new secret exists
// before the row names it, and the old one is deleted only after the row
// no longer does; Recover cleans up whichever one a crash left behind.
func (m *Manager) writeSecrets(ctx context.Context, cur Account, s Secrets, u SignInUpdate) (Account, error) {
	old, err := m.Secrets(ctx, cur)
	if err != nil && !errors.Is(err, ErrSecretNotFound) {
		return Account{}, err
	}
	if err == nil && old == s && cur.SecretBackend == m.Default {
		return m.Store.RecordSignIn(ctx, cur.ID, u)
	}
	backend, ref, err := m.putSecrets(ctx, s)
	if err != nil {
		return Account{}, err
	}
	u.SecretBackend, u.SecretRef, u.SecretHints = backend, ref, Hints(s)
	a, err := m.Store.RecordSignIn(ctx, cur.ID, u)
	if err != nil {
		m.dropSecret(ctx, backend, ref)
		return Account{}, err
	}
	if cur.SecretRef != "" && cur.SecretRef != ref {
		m.dropSecret(ctx, cur.SecretBackend, cur.SecretRef)
	}
	return a, nil
}

// SaveRefresh stores rotated cookies of a live sign-in (same journal path);
// sets LastRefreshAt (and ExpiresAt when known); unchanged secrets only bump
// LastRefreshAt.
func (m *Manager) SaveRefresh(ctx context.Context, id int64, r SignInResult) (Account, error) {
	if id == EnvAccountID && m.Env != nil {
		return Account{}, ErrReadOnly
	}
	cur, err := m.Store.Get(ctx, id)
	if err != nil {
		return Account{}, err
	}
	old, err := m.Secrets(ctx, cur)
	if err != nil {
		return Account{}, err
	}
	// A refresh may bring only the cookie that changed: the rest is kept.
	next := old
	if r.Secrets.SecureCSES != "" {
		next.SecureCSES = r.Secrets.SecureCSES
	}
	if r.Secrets.HostCOSES != "" {
		next.HostCOSES = r.Secrets.HostCOSES
	}
	if r.Secrets.CSESIDX != "" {
		next.CSESIDX = r.Secrets.CSESIDX
	}
	r.Secrets = next
	in, err := validateSignIn(cur.Name, r, false)
	if err != nil {
		return Account{}, err
	}
	a, err := m.writeSecrets(ctx, cur, in.Secrets(), SignInUpdate{
		ConfigID: in.ConfigID, UserAgent: in.UserAgent, ExpiresAt: r.ExpiresAt, At: m.now(),
	})
	if err != nil {
		return Account{}, err
	}
	m.changed(id)
	return a, nil
}

// MarkNeedsSignIn records that the sign-in is over (state needs_sign_in).
func (m *Manager) MarkNeedsSignIn(ctx context.Context, id int64, reason string) (Account, error) {
	if id == EnvAccountID && m.Env != nil {
		return Account{}, ErrReadOnly
	}
	if reason == "" {
		reason = "the sign-in is over: sign in again"
	}
	if err := m.Store.SetStatus(ctx, id, StatusNeedsSignIn, reason, false); err != nil {
		return Account{}, err
	}
	a, err := m.Store.Get(ctx, id)
	if err != nil {
		return Account{}, err
	}
	m.changed(id)
	return a, nil
}
