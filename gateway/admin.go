package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/gateway/openai"
	"github.com/gemgate/gemini-gateway/gateway/pool"
)

// The admin API keeps the Python gateway's paths. Responses never contain
// a secret: only whether each is set and a short hint.
func (s *Server) adminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/admin/accounts", s.adminList)
	mux.HandleFunc("POST /api/admin/accounts", s.adminCreate)
	mux.HandleFunc("PUT /api/admin/accounts/{id}", s.adminUpdate)
	mux.HandleFunc("DELETE /api/admin/accounts/{id}", s.adminDelete)
	mux.HandleFunc("POST /api/admin/accounts/import", s.adminImport)
	mux.HandleFunc("POST /api/admin/accounts/import-python", s.adminImportPython)
	mux.HandleFunc("GET /api/admin/accounts/export", s.adminExport)
	mux.HandleFunc("POST /api/admin/health-check", s.adminCheckAll)
	mux.HandleFunc("POST /api/admin/accounts/{id}/health-check", s.adminCheckOne)
	mux.HandleFunc("GET /api/admin/health-status", s.adminHealthStatus)
	mux.HandleFunc("POST /api/admin/accounts/{id}/refresh", s.adminRefresh)
	s.adminKeyRoutes(mux)
}

// AccountJSON is an account as the admin API shows it.
type AccountJSON struct {
	AccountStatusJSON
	ConfigID       string                `json:"config_id"`
	ReadOnly       bool                  `json:"read_only"`
	DisabledReason string                `json:"disabled_reason,omitempty"`
	RequestCount   int64                 `json:"request_count"`
	LastUsedAt     *time.Time            `json:"last_used_at"`
	CreatedAt      *time.Time            `json:"created_at,omitempty"`
	UpdatedAt      *time.Time            `json:"updated_at,omitempty"`
	CooldownUntil  *time.Time            `json:"cooldown_until,omitempty"`
	CooldownReason string                `json:"cooldown_reason,omitempty"`
	SecretBackend  string                `json:"secret_backend"`
	Secrets        map[string]SecretJSON `json:"secrets"`
	InFlight       int                   `json:"in_flight"`
}

// AccountStatusJSON is the part of an account that GET
// /api/admin/health-status shows too: its state and health.
type AccountStatusJSON struct {
	ID                int64      `json:"id"`
	Name              string     `json:"name"`
	IsActive          bool       `json:"is_active"`
	State             string     `json:"state"`
	Reason            string     `json:"reason,omitempty"`
	HealthStatus      string     `json:"health_status"`
	CooldownRemaining float64    `json:"cooldown_remaining_seconds"`
	NetworkErrorCount int        `json:"network_error_count"`
	LastCheck         *CheckJSON `json:"last_check"`
	// ExpiresAt is the session cookie's own expiry; LastSignInAt and
	// LastRefreshAt the last sign-in and cookie refresh. RFC 3339 UTC, null
	// when unknown.
	ExpiresAt     *time.Time `json:"expires_at"`
	LastSignInAt  *time.Time `json:"last_sign_in_at"`
	LastRefreshAt *time.Time `json:"last_refresh_at"`

	Quotas []QuotaJSON `json:"quotas"`
}

// CheckJSON is the last health check of an account.
type CheckJSON struct {
	At        time.Time `json:"at"`
	OK        bool      `json:"ok"`
	LatencyMS int64     `json:"latency_ms"`
	Message   string    `json:"message,omitempty"`
}

// SecretJSON says whether a secret is set, and a hint to recognise it by.
type SecretJSON struct {
	Set         bool   `json:"set"`
	Fingerprint string `json:"fingerprint,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func secretJSON(hint string) SecretJSON {
	if hint == "" {
		return SecretJSON{}
	}
	if hint == "set" {
		return SecretJSON{Set: true}
	}
	return SecretJSON{Set: true, Fingerprint: hint}
}

// ToAccountJSON renders a pool view.
func ToAccountJSON(v pool.AccountView) AccountJSON {
	a := v.Account
	j := AccountJSON{
		AccountStatusJSON: accountStatusJSON(v),
		ConfigID:          a.ConfigID, ReadOnly: a.ReadOnly, DisabledReason: a.DisabledReason,
		RequestCount: a.RequestCount, LastUsedAt: timePtr(a.LastUsedAt), CreatedAt: timePtr(a.CreatedAt),
		UpdatedAt: timePtr(a.UpdatedAt), CooldownReason: a.CooldownReason,
		SecretBackend: a.SecretBackend, InFlight: v.InFlight,
		Secrets: map[string]SecretJSON{
			"secure_c_ses": secretJSON(a.SecretHints.SecureCSES),
			"host_c_oses":  secretJSON(a.SecretHints.HostCOSES),
			"csesidx":      secretJSON(a.SecretHints.CSESIDX),
		},
	}
	if v.CooldownRemaining > 0 {
		j.CooldownUntil = timePtr(a.CooldownUntil)
	}
	return j
}

func accountStatusJSON(v pool.AccountView) AccountStatusJSON {
	a := v.Account
	j := AccountStatusJSON{
		ID: a.ID, Name: a.Name, IsActive: a.Enabled, State: string(v.State), Reason: v.Reason, HealthStatus: string(a.Status),
		CooldownRemaining: v.CooldownRemaining.Round(time.Second).Seconds(), NetworkErrorCount: a.NetworkErrors,
		ExpiresAt: timePtr(a.ExpiresAt), LastSignInAt: timePtr(a.LastSignInAt), LastRefreshAt: timePtr(a.LastRefreshAt),
		Quotas: quotasJSON(v.Quotas),
	}
	if j.HealthStatus == "" {
		j.HealthStatus = string(accounts.StatusUnknown)
	}
	if !a.LastCheckAt.IsZero() {
		j.LastCheck = &CheckJSON{At: a.LastCheckAt.UTC(), OK: a.LastCheckOK, LatencyMS: a.LastCheckLatency.Milliseconds(), Message: a.LastCheckMessage}
	}
	return j
}

// accountsJSON renders the pool's accounts.
func accountsJSON(views []pool.AccountView) []AccountJSON {
	out := make([]AccountJSON, len(views))
	for i, v := range views {
		out[i] = ToAccountJSON(v)
	}
	return out
}

func (s *Server) view(id int64) (pool.AccountView, bool) {
	for _, v := range s.deps.Pool.Snapshot() {
		if v.ID == id {
			return v, true
		}
	}
	return pool.AccountView{}, false
}

func (s *Server) manager(w http.ResponseWriter) *accounts.Manager {
	if s.deps.Accounts == nil {
		openai.NewError(http.StatusServiceUnavailable, openai.TypeUnavailable, "accounts_unavailable",
			"Account management is not available: the account database could not be opened.").Write(w)
		return nil
	}
	return s.deps.Accounts
}

func (s *Server) adminList(w http.ResponseWriter, r *http.Request) {
	out := accountsJSON(s.deps.Pool.Snapshot())
	writeJSON(w, http.StatusOK, map[string]any{"accounts": out, "total": len(out)})
}

// decodeInput reads an account body, rejecting unknown fields so a typo in
// a field name is not silently ignored.
func decodeInput(r *http.Request) (accounts.Input, *openai.Error) {
	var in accounts.Input
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return in, openai.NewError(http.StatusRequestEntityTooLarge, openai.TypeInvalidRequest, "request_too_large", "The request body is too large.")
		}
		return in, openai.BadRequest("", "invalid_json", "The body must be a JSON object with name, secure_c_ses, host_c_oses, csesidx, config_id, is_active: "+err.Error())
	}
	return in, nil
}

// accountError maps Manager errors to OpenAI-shaped answers.
func accountError(err error) *openai.Error {
	var ve *accounts.ValidationError
	switch {
	case errors.As(err, &ve):
		e := openai.BadRequest(firstField(ve), "invalid_account", ve.Error())
		return e
	case errors.Is(err, accounts.ErrNotFound):
		return openai.NewError(http.StatusNotFound, openai.TypeNotFound, "account_not_found", "No account with that id.")
	case errors.Is(err, accounts.ErrDuplicate):
		return openai.BadRequest("name", "duplicate_account", "An account with that name already exists.")
	case errors.Is(err, accounts.ErrReadOnly):
		return openai.NewError(http.StatusConflict, openai.TypeInvalidRequest, "read_only_account", err.Error())
	case errors.Is(err, accounts.ErrNoSecretStore):
		return openai.NewError(http.StatusServiceUnavailable, openai.TypeUnavailable, "no_secret_store", err.Error())
	}
	return openai.NewError(http.StatusInternalServerError, openai.TypeServer, "account_store_error", err.Error())
}

func firstField(ve *accounts.ValidationError) string {
	best := ""
	for k := range ve.Fields {
		if best == "" || k < best {
			best = k
		}
	}
	return best
}

func (s *Server) adminCreate(w http.ResponseWriter, r *http.Request) {
	m := s.manager(w)
	if m == nil {
		return
	}
	in, oerr := decodeInput(r)
	if oerr != nil {
		oerr.Write(w)
		return
	}
	a, err := m.Create(r.Context(), in)
	if err != nil {
		accountError(err).Write(w)
		return
	}
	s.respondAccount(w, r.Context(), http.StatusCreated, a.ID)
}

// respondAccount answers with the account as the pool now has it: the
// Manager's OnChange reloaded it when the write returned.
func (s *Server) respondAccount(w http.ResponseWriter, ctx context.Context, status int, id int64) {
	v, ok := s.view(id)
	if !ok {
		accountError(accounts.ErrNotFound).Write(w)
		return
	}
	writeJSON(w, status, ToAccountJSON(v))
}

// pathID is the {id} of the path, or false after a 400 saying that the
// id of what (an account, a client key) must be a number.
func pathID(w http.ResponseWriter, r *http.Request, what string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 0 {
		openai.BadRequest("id", "invalid_id", "The "+what+" id must be a number.").Write(w)
		return 0, false
	}
	return id, true
}

// managedAccount is the account manager and the {id} of the path, or
// false after the error answer (no account database, a bad id).
func (s *Server) managedAccount(w http.ResponseWriter, r *http.Request) (*accounts.Manager, int64, bool) {
	m := s.manager(w)
	if m == nil {
		return nil, 0, false
	}
	id, ok := pathID(w, r, "account")
	return m, id, ok
}

func (s *Server) adminUpdate(w http.ResponseWriter, r *http.Request) {
	m, id, ok := s.managedAccount(w, r)
	if !ok {
		return
	}
	in, oerr := decodeInput(r)
	if oerr != nil {
		oerr.Write(w)
		return
	}
	if _, err := m.Update(r.Context(), id, in); err != nil {
		accountError(err).Write(w)
		return
	}
	s.respondAccount(w, r.Context(), http.StatusOK, id)
}

func (s *Server) adminDelete(w http.ResponseWriter, r *http.Request) {
	m, id, ok := s.managedAccount(w, r)
	if !ok {
		return
	}
	if err := m.Delete(r.Context(), id); err != nil {
		accountError(err).Write(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"deleted": id})
}

// ImportResult reports an import: what was added, what was not and why.
type ImportResult struct {
	DryRun   bool            `json:"dry_run"`
	Format   string          `json:"format"`
	Found    int             `json:"found"`
	Imported []ImportedJSON  `json:"imported"`
	Problems []ProblemJSON   `json:"problems"`
	Accounts []AccountJSON   `json:"accounts,omitempty"`
	Preview  []ImportPreview `json:"preview,omitempty"`
}

// ImportedJSON is one account added.
type ImportedJSON struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// ProblemJSON is an item that was not imported.
type ProblemJSON struct {
	Item    int    `json:"item"`
	Message string `json:"message"`
}

// ImportPreview is what a dry run would add.
type ImportPreview struct {
	Name     string               `json:"name"`
	ConfigID string               `json:"config_id"`
	Secrets  accounts.SecretHints `json:"secrets"`
}

// maxImportBytes bounds an import body (thousands of accounts fit).
const maxImportBytes = 4 << 20

// adminImport accepts any supported paste: a JSON export, a .env block, a
// cookie header with the page URL, or "Copy as cURL". The body is the text
// itself, or JSON {"text": "...", "dry_run": true}. ?dry_run=1 previews.
func (s *Server) adminImport(w http.ResponseWriter, r *http.Request) {
	m := s.manager(w)
	if m == nil {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxImportBytes+1))
	if err != nil || len(body) > maxImportBytes {
		openai.NewError(http.StatusRequestEntityTooLarge, openai.TypeInvalidRequest, "request_too_large", "The import is larger than 4 MiB.").Write(w)
		return
	}
	text := string(body)
	dry := r.URL.Query().Get("dry_run") == "1" || r.URL.Query().Get("dry_run") == "true"
	var wrapped struct {
		Text   *string `json:"text"`
		DryRun bool    `json:"dry_run"`
	}
	if json.Unmarshal(body, &wrapped) == nil && wrapped.Text != nil {
		text, dry = *wrapped.Text, dry || wrapped.DryRun
	}
	res := s.importInputs(r.Context(), m, text, dry)
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) importInputs(ctx context.Context, m *accounts.Manager, text string, dry bool) ImportResult {
	inputs, problems := accounts.ParseImport(text)
	res := ImportResult{DryRun: dry, Format: string(accounts.DetectFormat(text)), Found: len(inputs),
		Imported: []ImportedJSON{}, Problems: []ProblemJSON{}}
	for _, p := range problems {
		res.Problems = append(res.Problems, ProblemJSON{Item: p.Item, Message: p.Message})
	}
	s.addInputs(ctx, m, inputs, dry, &res)
	return res
}

func (s *Server) addInputs(ctx context.Context, m *accounts.Manager, inputs []accounts.Input, dry bool, res *ImportResult) {
	for i, in := range inputs {
		if dry {
			n := in.Normalize()
			res.Preview = append(res.Preview, ImportPreview{Name: n.Name, ConfigID: n.ConfigID, Secrets: accounts.Hints(n.Secrets())})
			continue
		}
		a, err := m.Create(ctx, in)
		if err != nil {
			res.Problems = append(res.Problems, ProblemJSON{Item: i + 1, Message: accountError(err).Message})
			continue
		}
		res.Imported = append(res.Imported, ImportedJSON{ID: a.ID, Name: a.Name})
	}
}

// adminImportPython moves the accounts of a Python gateway's PostgreSQL
// database ({"database_url": "..."}) into this gateway, secrets into the
// keystore.
func (s *Server) adminImportPython(w http.ResponseWriter, r *http.Request) {
	m := s.manager(w)
	if m == nil {
		return
	}
	if s.deps.ImportPython == nil {
		openai.NewError(http.StatusNotImplemented, openai.TypeInvalidRequest, "unsupported", "Importing from a Python gateway database is not available in this build.").Write(w)
		return
	}
	var req struct {
		DatabaseURL string `json:"database_url"`
		DryRun      bool   `json:"dry_run"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.DatabaseURL == "" {
		openai.BadRequest("database_url", "invalid_request", `Send {"database_url": "postgres://…"} of the Python gateway's database.`).Write(w)
		return
	}
	inputs, err := s.deps.ImportPython(r.Context(), req.DatabaseURL)
	if err != nil {
		openai.BadRequest("database_url", "python_import_failed", "Could not read the Python gateway's accounts: "+err.Error()).Write(w)
		return
	}
	res := ImportResult{DryRun: req.DryRun, Format: "python-postgres", Found: len(inputs), Imported: []ImportedJSON{}, Problems: []ProblemJSON{}}
	s.addInputs(r.Context(), m, inputs, req.DryRun, &res)
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) adminExport(w http.ResponseWriter, r *http.Request) {
	m := s.manager(w)
	if m == nil {
		return
	}
	q := r.URL.Query().Get("include_secrets")
	with := q == "1" || strings.EqualFold(q, "true")
	if with && r.URL.Query().Get("confirm") != "yes" {
		openai.BadRequest("confirm", "confirmation_required",
			"Exporting the accounts with their cookies needs the confirmation parameter: add &confirm=yes.").Write(w)
		return
	}
	list, err := m.ExportAll(r.Context(), with)
	if err != nil {
		accountError(err).Write(w)
		return
	}
	if with {
		w.Header().Set("Cache-Control", "no-store")
		s.log.Warn("accounts exported with secrets", "request_id", infoFrom(r.Context()).ID, "count", len(list),
			"remote", clientIP(r), "user_agent", clip(r.UserAgent(), logFieldMax))
	}
	w.Header().Set("Content-Disposition", `attachment; filename="gemini-gateway-accounts.json"`)
	writeJSON(w, http.StatusOK, list)
}

// CheckOutcomeJSON is one account's health-check result.
type CheckOutcomeJSON struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	OK        bool   `json:"ok"`
	LatencyMS int64  `json:"latency_ms"`
	Kind      string `json:"error_kind,omitempty"`
	Message   string `json:"message,omitempty"`
	Disabled  bool   `json:"disabled"`
}

func (s *Server) adminCheckAll(w http.ResponseWriter, r *http.Request) {
	if s.deps.Checker == nil {
		openai.NewError(http.StatusServiceUnavailable, openai.TypeUnavailable, "unavailable", "Health checks are not available.").Write(w)
		return
	}
	sum := s.deps.Checker.CheckAll(r.Context(), nil)
	out := accountsJSON(s.deps.Pool.Snapshot())
	writeJSON(w, http.StatusOK, map[string]any{
		"checked": sum.Checked, "healthy": sum.Healthy, "failed": sum.Failed, "disabled": sum.Disabled,
		"took_ms": sum.Took.Milliseconds(), "accounts": out,
	})
}

func (s *Server) adminCheckOne(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "account")
	if !ok {
		return
	}
	if _, ok := s.view(id); !ok || s.deps.Checker == nil {
		accountError(accounts.ErrNotFound).Write(w)
		return
	}
	o := s.deps.Checker.CheckOne(r.Context(), id)
	out := CheckOutcomeJSON{ID: o.AccountID, Name: o.Name, OK: o.OK, LatencyMS: o.Latency.Milliseconds(), Message: o.Message, Disabled: o.Disabled}
	if o.Kind != 0 {
		out.Kind = o.Kind.String()
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) adminHealthStatus(w http.ResponseWriter, r *http.Request) {
	views := s.deps.Pool.Snapshot()
	type status struct {
		AccountStatusJSON
		Usable bool `json:"usable"`
	}
	out := make([]status, len(views))
	usable := 0
	for i, v := range views {
		out[i] = status{AccountStatusJSON: accountStatusJSON(v), Usable: v.Usable}
		if v.Usable {
			usable++
		}
	}
	resp := map[string]any{"accounts": out, "usable": usable, "total": len(out)}
	if s.deps.Checker != nil {
		if last := s.deps.Checker.Last(); last != nil {
			resp["last_round"] = map[string]any{"checked": last.Checked, "healthy": last.Healthy, "failed": last.Failed, "disabled": last.Disabled, "took_ms": last.Took.Milliseconds()}
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

// RefreshJSON answers POST /api/admin/accounts/{id}/refresh.
type RefreshJSON struct {
	Result    string     `json:"result"` // refreshed, unchanged or needs_sign_in
	ExpiresAt *time.Time `json:"expires_at"`
}

// adminRefresh refreshes an account's cookies now and says what happened.
func (s *Server) adminRefresh(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "account")
	if !ok {
		return
	}
	if _, ok := s.view(id); !ok {
		accountError(accounts.ErrNotFound).Write(w)
		return
	}
	rf := s.deps.Refresher
	if rf == nil {
		rf = PoolRefresher{Pool: s.deps.Pool}
	}
	o, err := rf.Refresh(r.Context(), id)
	if err != nil {
		if errors.Is(err, accounts.ErrNotFound) {
			accountError(err).Write(w)
			return
		}
		if r.Context().Err() != nil {
			return // the client went away
		}
		openai.NewError(http.StatusBadGateway, openai.TypeServer, "refresh_failed",
			"The refresh could not tell whether the account's cookies still work: "+err.Error()).Write(w)
		return
	}
	writeJSON(w, http.StatusOK, RefreshJSON{Result: o.Result, ExpiresAt: timePtr(o.ExpiresAt)})
}
