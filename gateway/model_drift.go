package gateway

import (
	"context"
	"errors"
	"github.com/gemgate/gemini-gateway/gateway/clients"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/openai"
	"github.com/gemgate/gemini-gateway/gateway/pool"
	"github.com/gemgate/gemini-gateway/gateway/upstream"
)

// The list of upstream model ids drifts: the reference gateways disagree
// on whether gemini-3-pro-preview still exists. Rather than guess, the
// gateway learns it: an upstream INVALID_ARGUMENT that names the model id
// marks that model unavailable for ModelRecheck, /v1/models and the UI say
// so, and, only when ModelFallback allows it, requests move to the
// nearest model that is still available (Model.Fallbacks, in order).

// modelDrift remembers refused upstream model ids until they are tried
// again.
type modelDrift struct {
	mu    sync.Mutex
	until map[string]time.Time // by upstream id
	why   map[string]string
}

func (d *modelDrift) mark(upstreamID, why string, until time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.until == nil {
		d.until, d.why = map[string]time.Time{}, map[string]string{}
	}
	d.until[upstreamID], d.why[upstreamID] = until, why
}

// unavailable reports whether an upstream id is marked now, and why.
func (d *modelDrift) unavailable(upstreamID string, now time.Time) (string, bool) {
	if upstreamID == "" {
		return "", false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	u, ok := d.until[upstreamID]
	if !ok || !now.Before(u) {
		return "", false
	}
	return d.why[upstreamID], true
}

// refusesModel reports whether err is the upstream refusing model id
// ("model id: X is invalid", INVALID_ARGUMENT, in the body or as HTTP 400).
func refusesModel(err error, upstreamID string) bool {
	var ue *upstream.Error
	if upstreamID == "" || !errors.As(err, &ue) || ue.Kind != upstream.KindBadRequest {
		return false
	}
	return strings.HasPrefix(ue.Status, "INVALID_ARGUMENT") && strings.Contains(ue.Message, upstreamID)
}

// fallbackFor is the nearest available model after m, or false.
func (s *Server) fallbackFor(m resolved, now time.Time) (resolved, bool) {
	for _, id := range m.Fallbacks {
		fb, ok := s.resolveModel(id)
		if !ok || fb.Media != pool.MediaText {
			continue
		}
		if _, down := s.drift.unavailable(fb.UpstreamID, now); down {
			continue
		}
		fb.Media, fb.Tools = m.Media, m.Tools // keep what the turn asked for
		return fb, true
	}
	return resolved{}, false
}

// modelUnavailable is the error for a model marked unavailable when the
// user did not allow a fallback.
func modelUnavailable(name, why string) *openai.Error {
	e := openai.NewError(http.StatusBadRequest, openai.TypeInvalidRequest, "model_unavailable",
		"Gemini Business currently refuses the model `"+name+"` ("+why+"); it is tried again later. "+
			"Choose another model, or set MODEL_FALLBACK=true to be served by the nearest available one.")
	e.Param = "model"
	return e
}

// routeModel applies what the gateway knows about refused models before a
// request: a marked model is replaced by its fallback when allowed, or
// refused at once.
func (s *Server) routeModel(m resolved) (resolved, *openai.Error) {
	why, down := s.drift.unavailable(m.UpstreamID, time.Now())
	if !down {
		return m, nil
	}
	if s.Config().ModelFallback {
		if fb, ok := s.fallbackFor(m, time.Now()); ok {
			return fb, nil
		}
	}
	return m, modelUnavailable(m.Name, why)
}

// poolChat runs a turn and learns from a refused model id: it marks the
// model, and moves the turn to the fallback when allowed and nothing has
// reached the client yet.
func (s *Server) poolChat(r *http.Request, m resolved, preq *pool.Request, sink pool.Sink) (*pool.Result, error) {
	res, err := s.deps.Pool.Chat(r.Context(), preq, sink)
	if err == nil || !refusesModel(err, preq.ModelID) {
		return res, err
	}
	cfg := s.Config()
	ttl := cfg.ModelRecheck
	if ttl <= 0 {
		ttl = time.Hour
	}
	s.drift.mark(preq.ModelID, "the upstream said: "+err.Error(), time.Now().Add(ttl))
	s.log.Warn("upstream refused a model; marked unavailable", "model", m.Name, "upstream_id", preq.ModelID, "recheck_in", ttl.String())
	if !cfg.ModelFallback || sink.AnswerStarted() {
		return res, err
	}
	fb, ok := s.fallbackFor(m, time.Now())
	if !ok {
		return res, err
	}
	ri := infoFrom(r.Context())
	ri.ModelServed = fb.Name
	s.log.Info("model fallback", "request_id", ri.ID, "requested", m.Name, "served", fb.Name)
	next := *preq
	next.ModelID = fb.UpstreamID
	return s.deps.Pool.Chat(r.Context(), &next, sink)
}

// ModelStatus is a model as the UI shows it.
type ModelStatus struct {
	ID        string
	Available bool
	Reason    string
}

// ModelStatuses lists the served models with what the gateway learnt
// about them.
func (s *Server) ModelStatuses() []ModelStatus {
	now := time.Now()
	var out []ModelStatus
	for _, m := range s.Config().Models {
		why, down := s.drift.unavailable(m.UpstreamID, now)
		out = append(out, ModelStatus{ID: m.ID, Available: !down, Reason: why})
	}
	return out
}

// modelJSON is /v1/models' entry: OpenAI's fields, plus whether the
// upstream currently accepts the model (clients ignore unknown fields).
type modelJSON struct {
	openai.Model
	Available   bool   `json:"available"`
	Unavailable string `json:"unavailable_reason,omitempty"`
}

// modelList is /v1/models as the client key k sees it: a key limited to
// some models sees those (nil: every model).
func (s *Server) modelList(k *clients.Key) any {
	sts := s.ModelStatuses()
	data := make([]modelJSON, 0, len(sts))
	for _, st := range sts {
		if k != nil && !k.Allows(st.ID) {
			continue
		}
		data = append(data, modelJSON{Model: openai.Model{ID: st.ID, Object: "model", Created: 1735689600, OwnedBy: "google"},
			Available: st.Available, Unavailable: st.Reason})
	}
	return map[string]any{"object": "list", "data": data}
}

type resolvedKey struct{}

// withResolved carries the request's resolved model to poolChat without
// widening the stream and complete helpers' signatures.
func withResolved(ctx context.Context, m resolved) context.Context {
	return context.WithValue(ctx, resolvedKey{}, m)
}

func resolvedFrom(ctx context.Context) resolved {
	m, _ := ctx.Value(resolvedKey{}).(resolved)
	return m
}
