package accounts

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode"
)

// Input is an account as a user supplies it (admin API, import, UI form).
// The JSON names are the Python gateway's.
type Input struct {
	Name       string `json:"name"`
	SecureCSES string `json:"secure_c_ses"`
	HostCOSES  string `json:"host_c_oses"`
	CSESIDX    string `json:"csesidx"`
	ConfigID   string `json:"config_id"`
	IsActive   *bool  `json:"is_active,omitempty"`
	UserAgent  string `json:"user_agent,omitempty"`
}

// String keeps secrets out of formatted output.
func (in Input) String() string {
	return fmt.Sprintf("accounts.Input{Name:%q ConfigID:%q}", in.Name, in.ConfigID)
}

// GoString hides the values from %#v.
func (in Input) GoString() string { return in.String() }

// Secrets returns the secret part of the input.
func (in Input) Secrets() Secrets {
	return Secrets{SecureCSES: in.SecureCSES, HostCOSES: in.HostCOSES, CSESIDX: in.CSESIDX}
}

// ValidationError names each invalid field and what is wrong with it.
type ValidationError struct {
	Fields map[string]string
}

func (e *ValidationError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e.Fields[k]
	}
	return "invalid account: " + strings.Join(parts, "; ")
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// Normalize trims what users paste (spaces, quotes, the cookie name itself).
func (in Input) Normalize() Input {
	trim := func(s, prefix string) string {
		s = strings.TrimSpace(s)
		s = strings.Trim(s, `"'`)
		s = strings.TrimPrefix(s, prefix+"=")
		return strings.TrimSpace(strings.TrimSuffix(s, ";"))
	}
	in.Name = strings.TrimSpace(in.Name)
	in.SecureCSES = trim(in.SecureCSES, "__Secure-C_SES")
	in.HostCOSES = trim(in.HostCOSES, "__Host-C_OSES")
	in.CSESIDX = trim(in.CSESIDX, "csesidx")
	in.ConfigID = strings.ToLower(trim(in.ConfigID, "config_id"))
	in.UserAgent = strings.TrimSpace(in.UserAgent)
	return in
}

// Validate checks an input; partial validates only the fields that are set
// (an update).
func (in Input) Validate(partial bool) error {
	f := map[string]string{}
	check := func(field, v string, required bool, fn func(string) string) {
		if v == "" {
			if required && !partial {
				f[field] = "is required"
			}
			return
		}
		if msg := fn(v); msg != "" {
			f[field] = msg
		}
	}
	check("name", in.Name, false, func(v string) string {
		if len(v) > 100 {
			return "must be at most 100 characters"
		}
		for _, r := range v {
			if unicode.IsControl(r) {
				return "must not contain control characters"
			}
		}
		return ""
	})
	check("secure_c_ses", in.SecureCSES, true, cookieValue)
	check("host_c_oses", in.HostCOSES, false, cookieValue)
	check("csesidx", in.CSESIDX, true, func(v string) string {
		if len(v) > 20 || strings.Trim(v, "0123456789") != "" {
			return "must be a number (the csesidx=… value in the Gemini Business URL)"
		}
		return ""
	})
	check("config_id", in.ConfigID, true, func(v string) string {
		if !uuidRE.MatchString(v) {
			return "must be a UUID (the part after /cid/ in the Gemini Business URL)"
		}
		return ""
	})
	if len(f) > 0 {
		return &ValidationError{Fields: f}
	}
	return nil
}

func cookieValue(v string) string {
	if len(v) > 8192 {
		return "is longer than 8 KiB; paste only the cookie's value"
	}
	for _, r := range v {
		if r <= ' ' || r == ';' || r == ',' || r == '"' || r == '\\' || r > '~' {
			return "contains characters a cookie value cannot have; paste only the value"
		}
	}
	return ""
}

// Hints computes the safe description of secrets.
func Hints(s Secrets) SecretHints {
	tail := func(v string, n int) string {
		if v == "" {
			return ""
		}
		if len(v) <= n*3 {
			return "set"
		}
		return "…" + v[len(v)-n:]
	}
	return SecretHints{SecureCSES: tail(s.SecureCSES, 4), HostCOSES: tail(s.HostCOSES, 4), CSESIDX: tail(s.CSESIDX, 2)}
}

// EnvAccount is the read-only account from the environment.
type EnvAccount struct {
	Account Account
	Secrets Secrets
}

// Manager keeps accounts and their secrets consistent. Secrets are written
// before the record that points at them and deleted after the record is
// gone; a journal of refs in flight lets Recover delete any secret a crash
// left without an account. So a crash never leaves an account without its
// secrets, and never leaves secrets behind an account for long.
type Manager struct {
	Store Store
	// Backends maps a backend name to its SecretStore.
	Backends map[string]SecretStore
	// Default is the backend for new secrets; "" means none is available
	// (adding accounts then fails with ErrNoSecretStore).
	Default string
	// Env is the account from the environment, if any.
	Env *EnvAccount
	// OnChange is called after an account was created, changed or deleted.
	OnChange func(id int64)
	// Now is the clock of sign-in and refresh times; nil means time.Now.
	Now func() time.Time
}

func (m *Manager) changed(id int64) {
	if m.OnChange != nil {
		m.OnChange(id)
	}
}

// ErrReadOnly is returned for changes to the environment account.
var ErrReadOnly = errors.New("the account from the environment is read-only: change SECURE_C_SES, CSESIDX and CONFIG_ID instead")

// List returns every account, the environment one first.
func (m *Manager) List(ctx context.Context) ([]Account, error) {
	list, err := m.Store.List(ctx)
	if err != nil {
		return nil, err
	}
	if m.Env != nil {
		list = append([]Account{m.Env.Account}, list...)
	}
	return list, nil
}

// Get returns one account.
func (m *Manager) Get(ctx context.Context, id int64) (Account, error) {
	if id == EnvAccountID && m.Env != nil {
		return m.Env.Account, nil
	}
	return m.Store.Get(ctx, id)
}

// Secrets returns an account's credentials from its backend.
func (m *Manager) Secrets(ctx context.Context, a Account) (Secrets, error) {
	if a.SecretBackend == BackendEnv && m.Env != nil {
		return m.Env.Secrets, nil
	}
	ss := m.Backends[a.SecretBackend]
	if ss == nil {
		return Secrets{}, fmt.Errorf("account %q: its secrets are in the %s store, which is not available here", a.Name, a.SecretBackend)
	}
	s, err := ss.Get(ctx, a.SecretRef)
	if err != nil {
		return Secrets{}, fmt.Errorf("account %q: read secrets: %w", a.Name, err)
	}
	return s, nil
}

func newRef() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (m *Manager) backend() (string, SecretStore, error) {
	if m.Default == "" || m.Backends[m.Default] == nil {
		return "", nil, ErrNoSecretStore
	}
	return m.Default, m.Backends[m.Default], nil
}

// putSecrets writes secrets under a new journaled ref.
func (m *Manager) putSecrets(ctx context.Context, s Secrets) (backend, ref string, err error) {
	backend, ss, err := m.backend()
	if err != nil {
		return "", "", err
	}
	ref = newRef()
	if err := m.Store.JournalAdd(ctx, backend, ref); err != nil {
		return "", "", fmt.Errorf("journal secret: %w", err)
	}
	if err := ss.Set(ctx, ref, s); err != nil {
		m.dropSecret(ctx, backend, ref)
		return "", "", fmt.Errorf("store secrets in the %s: %w", backend, err)
	}
	return backend, ref, nil
}

// dropSecret deletes a journaled secret and its journal entry; on failure
// the entry stays for Recover.
func (m *Manager) dropSecret(ctx context.Context, backend, ref string) {
	if ss := m.Backends[backend]; ss != nil {
		if err := ss.Delete(ctx, ref); err != nil {
			return
		}
	}
	_ = m.Store.JournalRemove(ctx, ref)
}

// Create validates and adds an account.
func (m *Manager) Create(ctx context.Context, in Input) (Account, error) {
	in = in.Normalize()
	if err := in.Validate(false); err != nil {
		return Account{}, err
	}
	if in.Name == "" {
		in.Name = "account-" + newRef()[:4]
	}
	if err := m.checkDuplicate(ctx, 0, in); err != nil {
		return Account{}, err
	}
	backend, ref, err := m.putSecrets(ctx, in.Secrets())
	if err != nil {
		return Account{}, err
	}
	enabled := in.IsActive == nil || *in.IsActive
	a, err := m.Store.Insert(ctx, NewAccount{
		Name: in.Name, ConfigID: in.ConfigID, Enabled: enabled, UserAgent: in.UserAgent,
		SecretBackend: backend, SecretRef: ref, SecretHints: Hints(in.Secrets()),
	})
	if err != nil {
		m.dropSecret(ctx, backend, ref)
		return Account{}, err
	}
	m.changed(a.ID)
	return a, nil
}

// checkDuplicate refuses a second account with the same credentials
// (same config_id and csesidx) or name.
func (m *Manager) checkDuplicate(ctx context.Context, self int64, in Input) error {
	list, err := m.List(ctx)
	if err != nil {
		return err
	}
	for _, a := range list {
		if a.ID == self {
			continue
		}
		if in.Name != "" && strings.EqualFold(a.Name, in.Name) {
			return &ValidationError{Fields: map[string]string{"name": fmt.Sprintf("an account named %q already exists", a.Name)}}
		}
		if in.CSESIDX == "" || in.ConfigID == "" || a.ConfigID != in.ConfigID {
			continue
		}
		s, err := m.Secrets(ctx, a)
		if err == nil && s.CSESIDX == in.CSESIDX {
			return &ValidationError{Fields: map[string]string{"csesidx": fmt.Sprintf("account %q already uses this csesidx and config_id", a.Name)}}
		}
	}
	return nil
}

// Update changes an account. Empty string fields are left as they are;
// new secrets replace the old ones as a whole (missing parts are kept).
func (m *Manager) Update(ctx context.Context, id int64, in Input) (Account, error) {
	if id == EnvAccountID && m.Env != nil {
		return Account{}, ErrReadOnly
	}
	in = in.Normalize()
	if err := in.Validate(true); err != nil {
		return Account{}, err
	}
	cur, err := m.Store.Get(ctx, id)
	if err != nil {
		return Account{}, err
	}
	if err := m.checkDuplicate(ctx, id, in); err != nil {
		return Account{}, err
	}
	var p Patch
	if in.Name != "" && in.Name != cur.Name {
		p.Name = &in.Name
	}
	if in.ConfigID != "" && in.ConfigID != cur.ConfigID {
		p.ConfigID = &in.ConfigID
	}
	if in.UserAgent != "" {
		p.UserAgent = &in.UserAgent
	}
	if in.IsActive != nil {
		p.Enabled = in.IsActive
		reason := ""
		if !*in.IsActive {
			reason = "disabled by user"
		}
		p.DisabledReason = &reason
	}
	a := cur
	if p != (Patch{}) {
		if a, err = m.Store.Update(ctx, id, p); err != nil {
			return Account{}, err
		}
	}
	credsChanged := p.ConfigID != nil
	if in.SecureCSES != "" || in.HostCOSES != "" || in.CSESIDX != "" {
		old, err := m.Secrets(ctx, cur)
		if err != nil {
			return Account{}, err
		}
		next := old
		if in.SecureCSES != "" {
			next.SecureCSES = in.SecureCSES
		}
		if in.HostCOSES != "" {
			next.HostCOSES = in.HostCOSES
		}
		if in.CSESIDX != "" {
			next.CSESIDX = in.CSESIDX
		}
		if next != old {
			backend, ref, err := m.putSecrets(ctx, next)
			if err != nil {
				return Account{}, err
			}
			if a, err = m.Store.ReplaceSecretRef(ctx, id, backend, ref, Hints(next)); err != nil {
				m.dropSecret(ctx, backend, ref)
				return Account{}, err
			}
			m.dropSecret(ctx, cur.SecretBackend, cur.SecretRef)
			credsChanged = true
		}
	}
	if credsChanged || (in.IsActive != nil && *in.IsActive && !cur.Enabled) {
		// New credentials or a user re-enabling deserve a fresh start.
		if err := m.resetState(ctx, id); err != nil {
			return Account{}, err
		}
		if a, err = m.Store.Get(ctx, id); err != nil {
			return Account{}, err
		}
	}
	m.changed(id)
	return a, nil
}

func (m *Manager) resetState(ctx context.Context, id int64) error {
	if err := m.Store.SetStatus(ctx, id, StatusUnknown, "", false); err != nil {
		return err
	}
	if err := m.Store.SetCooldown(ctx, id, time.Time{}, ""); err != nil {
		return err
	}
	return m.Store.ResetNetworkErrors(ctx, id)
}

// SetEnabled turns an account on or off, as the user asked.
func (m *Manager) SetEnabled(ctx context.Context, id int64, on bool) (Account, error) {
	return m.Update(ctx, id, Input{IsActive: &on})
}

// Delete removes an account, then its secrets.
func (m *Manager) Delete(ctx context.Context, id int64) error {
	if id == EnvAccountID && m.Env != nil {
		return ErrReadOnly
	}
	a, err := m.Store.Delete(ctx, id)
	if err != nil {
		return err
	}
	m.dropSecret(ctx, a.SecretBackend, a.SecretRef)
	m.changed(id)
	return nil
}

// Recover finishes what a crash interrupted: every journaled ref that no
// account points at has its secret deleted. It returns how many secrets it
// removed.
func (m *Manager) Recover(ctx context.Context) (int, error) {
	entries, err := m.Store.JournalList(ctx)
	if err != nil || len(entries) == 0 {
		return 0, err
	}
	list, err := m.Store.List(ctx)
	if err != nil {
		return 0, err
	}
	live := make(map[string]bool, len(list))
	for _, a := range list {
		live[a.SecretRef] = true
	}
	removed := 0
	for _, e := range entries {
		if !live[e.Ref] {
			ss := m.Backends[e.Backend]
			if ss == nil {
				continue // that store is not reachable now; try next start
			}
			if err := ss.Delete(ctx, e.Ref); err != nil {
				return removed, fmt.Errorf("recover secret: %w", err)
			}
			removed++
		}
		if err := m.Store.JournalRemove(ctx, e.Ref); err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// Export is an account in the JSON export/import format (the Python
// gateway's field names). Secrets are filled only on request.
type Export struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	ConfigID   string `json:"config_id"`
	IsActive   bool   `json:"is_active"`
	SecureCSES string `json:"secure_c_ses,omitempty"`
	HostCOSES  string `json:"host_c_oses,omitempty"`
	CSESIDX    string `json:"csesidx,omitempty"`
}

// ExportAll lists accounts for export.
func (m *Manager) ExportAll(ctx context.Context, withSecrets bool) ([]Export, error) {
	list, err := m.Store.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Export, 0, len(list))
	for _, a := range list {
		e := Export{ID: a.ID, Name: a.Name, ConfigID: a.ConfigID, IsActive: a.Enabled}
		if withSecrets {
			s, err := m.Secrets(ctx, a)
			if err != nil {
				return nil, err
			}
			e.SecureCSES, e.HostCOSES, e.CSESIDX = s.SecureCSES, s.HostCOSES, s.CSESIDX
		}
		out = append(out, e)
	}
	return out, nil
}
