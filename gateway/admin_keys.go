package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/clients"
	"github.com/gemgate/gemini-gateway/gateway/openai"
)

func (s *Server) adminKeyRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/admin/keys", s.adminListKeys)
	mux.HandleFunc("POST /api/admin/keys", s.adminCreateKey)
	mux.HandleFunc("DELETE /api/admin/keys/{id}", s.adminRevokeKey)
	mux.HandleFunc("POST /api/admin/keys/{id}/rotate", s.adminRotateKey)
	mux.HandleFunc("GET /api/admin/usage", s.adminUsage)
}

// ClientKeyJSON is a client key as the admin API lists it: never the key,
// only a hint to recognise it by.
type ClientKeyJSON struct {
	ID                int64      `json:"id"`
	Name              string     `json:"name"`
	Hint              string     `json:"hint"`
	RequestsPerMinute int        `json:"requests_per_minute"`
	Models            []string   `json:"models"`
	CreatedAt         *time.Time `json:"created_at,omitempty"`
	RotatedAt         *time.Time `json:"rotated_at,omitempty"`
	// Builtin is API_KEY from the configuration (not revocable here).
	Builtin bool `json:"builtin"`
}

// NewClientKeyJSON is the answer to a create or rotate: the only time the
// key itself is shown.
type NewClientKeyJSON struct {
	ClientKeyJSON
	Key string `json:"key"`
}

func toClientKeyJSON(k clients.Key) ClientKeyJSON {
	models := k.Models
	if models == nil {
		models = []string{}
	}
	return ClientKeyJSON{ID: k.ID, Name: k.Name, Hint: k.Hint, RequestsPerMinute: k.RequestsPerMinute, Models: models,
		CreatedAt: timePtr(k.CreatedAt), RotatedAt: timePtr(k.RotatedAt), Builtin: k.Builtin}
}

// ReloadClientKeys rereads the stored client keys (after a change, and
// periodically when instances share a database).
func (s *Server) ReloadClientKeys(ctx context.Context) error {
	if s.deps.ClientKeys == nil {
		return nil
	}
	keys, err := s.deps.ClientKeys.ListClientKeys(ctx)
	if err != nil {
		return err
	}
	s.keys.Set(keys)
	return nil
}

// ClientKeys lists API_KEY (when set) and the stored client keys.
func (s *Server) ClientKeys() []clients.Key { return s.keys.All() }

// NewClientKeyRequest is the body of POST /api/admin/keys.
type NewClientKeyRequest struct {
	Name              string   `json:"name"`
	RequestsPerMinute int      `json:"requests_per_minute,omitempty"`
	Models            []string `json:"models,omitempty"`
}

// ClientKeyError is a client-key request the gateway refused, with the
// field at fault.
type ClientKeyError struct {
	Field string
	Msg   string
}

func (e *ClientKeyError) Error() string { return e.Msg }

// CreateClientKey makes a named client key; the returned string is the key,
// shown once and kept only as its hash.
func (s *Server) CreateClientKey(ctx context.Context, req NewClientKeyRequest) (clients.Key, string, error) {
	if s.deps.ClientKeys == nil {
		return clients.Key{}, "", errNoKeyStore
	}
	req.Name = strings.TrimSpace(req.Name)
	if err := clients.ValidName(req.Name); err != nil {
		return clients.Key{}, "", &ClientKeyError{"name", err.Error()}
	}
	if req.RequestsPerMinute < 0 || req.RequestsPerMinute > 1_000_000 {
		return clients.Key{}, "", &ClientKeyError{"requests_per_minute", "requests_per_minute must be 0 (no limit) to 1000000."}
	}
	var models []string
	for _, m := range req.Models {
		m = strings.TrimSpace(m)
		if m == "" {
			continue
		}
		if _, ok := s.model(m); !ok {
			return clients.Key{}, "", &ClientKeyError{"models", fmt.Sprintf("%q is not a served model (GET /v1/models lists them).", clip(m, 128))}
		}
		models = append(models, m)
	}
	key, hash, hint := clients.Generate()
	k, err := s.deps.ClientKeys.CreateClientKey(ctx, clients.Key{Name: req.Name, Hash: hash, Hint: hint,
		RequestsPerMinute: req.RequestsPerMinute, Models: models})
	if err != nil {
		return clients.Key{}, "", err
	}
	if err := s.ReloadClientKeys(ctx); err != nil {
		return clients.Key{}, "", err
	}
	s.log.Info("client key created", "client", k.Name, "id", k.ID)
	return k, key, nil
}

// RevokeClientKey makes a client key unusable at once.
func (s *Server) RevokeClientKey(ctx context.Context, id int64) error {
	if id == 0 {
		return errBuiltinKey
	}
	if s.deps.ClientKeys == nil {
		return errNoKeyStore
	}
	if err := s.deps.ClientKeys.RevokeClientKey(ctx, id); err != nil {
		return err
	}
	s.log.Info("client key revoked", "id", id)
	return s.ReloadClientKeys(ctx)
}

// RotateClientKey gives a client key a new secret; the old one stops
// working at once.
func (s *Server) RotateClientKey(ctx context.Context, id int64) (clients.Key, string, error) {
	if id == 0 {
		return clients.Key{}, "", errBuiltinKey
	}
	if s.deps.ClientKeys == nil {
		return clients.Key{}, "", errNoKeyStore
	}
	key, hash, hint := clients.Generate()
	k, err := s.deps.ClientKeys.RotateClientKey(ctx, id, hash, hint)
	if err != nil {
		return clients.Key{}, "", err
	}
	s.log.Info("client key rotated", "client", k.Name, "id", id)
	return k, key, s.ReloadClientKeys(ctx)
}

var (
	errNoKeyStore = errors.New("client keys need the account database, which could not be opened")
	errBuiltinKey = errors.New("API_KEY comes from the configuration: change or remove it there (Settings, or the API_KEY variable)")
)

func clientKeyError(err error) *openai.Error {
	var ke *ClientKeyError
	switch {
	case errors.As(err, &ke):
		return openai.BadRequest(ke.Field, "invalid_client_key", ke.Msg)
	case errors.Is(err, clients.ErrNotFound):
		return openai.NewError(http.StatusNotFound, openai.TypeNotFound, "client_key_not_found", "No client key with that id.")
	case errors.Is(err, clients.ErrDuplicate):
		return openai.BadRequest("name", "duplicate_client_key", "A client key with that name already exists.")
	case errors.Is(err, errBuiltinKey):
		return openai.NewError(http.StatusConflict, openai.TypeInvalidRequest, "builtin_client_key", err.Error())
	case errors.Is(err, errNoKeyStore):
		return openai.NewError(http.StatusServiceUnavailable, openai.TypeUnavailable, "client_keys_unavailable", err.Error())
	}
	return openai.NewError(http.StatusInternalServerError, openai.TypeServer, "client_key_store_error", "The client key store failed; see the gateway log.")
}

func (s *Server) adminListKeys(w http.ResponseWriter, r *http.Request) {
	keys := s.keys.All()
	out := make([]ClientKeyJSON, len(keys))
	for i, k := range keys {
		out[i] = toClientKeyJSON(k)
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": out, "total": len(out)})
}

func (s *Server) adminCreateKey(w http.ResponseWriter, r *http.Request) {
	var req NewClientKeyRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		openai.BadRequest("", "invalid_json", `Send {"name": "Open WebUI", "requests_per_minute": 60, "models": ["gemini-2.5-pro"]} (limits optional).`).Write(w)
		return
	}
	k, key, err := s.CreateClientKey(r.Context(), req)
	s.answerNewKey(w, r, http.StatusCreated, k, key, err)
}

func (s *Server) adminRevokeKey(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "client key")
	if !ok {
		return
	}
	if err := s.RevokeClientKey(r.Context(), id); err != nil {
		s.keyFailed(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"revoked": id})
}

func (s *Server) adminRotateKey(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "client key")
	if !ok {
		return
	}
	k, key, err := s.RotateClientKey(r.Context(), id)
	s.answerNewKey(w, r, http.StatusOK, k, key, err)
}

// answerNewKey answers a create or rotate: the key, the only time it is
// shown, or the error.
func (s *Server) answerNewKey(w http.ResponseWriter, r *http.Request, status int, k clients.Key, key string, err error) {
	if err != nil {
		s.keyFailed(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, NewClientKeyJSON{ClientKeyJSON: toClientKeyJSON(k), Key: key})
}

// keyFailed answers a failed client-key operation, logging store failures.
func (s *Server) keyFailed(w http.ResponseWriter, r *http.Request, err error) {
	e := clientKeyError(err)
	if e.Status >= 500 {
		s.log.Warn("client key store", "request_id", infoFrom(r.Context()).ID, "err", err)
	}
	e.Write(w)
}
