package gateway

import (
	"net/http"

	"github.com/gemgate/gemini-gateway/gateway/chat"
	"github.com/gemgate/gemini-gateway/gateway/openai"
	"github.com/gemgate/gemini-gateway/gateway/pool"
)

// prepareAgentRequest does for the Responses and Messages APIs what
// handleChat does for chat completions: the model (agents send names of
// other vendors' models; an unknown one is served by the default model),
// images fetched, the prompt size estimated.
func (s *Server) prepareAgentRequest(r *http.Request, req *chat.Request, cfg Config) (*pool.Request, string, *openai.Error) {
	ri := infoFrom(r.Context())
	ri.ModelRequested, ri.Stream = req.Model, req.Stream
	served := req.Model
	if _, ok := s.resolveModel(served); !ok {
		served = cfg.DefaultModel
	}
	m, ok := s.resolveModel(served)
	if !ok {
		return nil, "", modelNotFound(req.Model)
	}
	served = m.Name
	if k := ri.client; k != nil && !k.Allows(served) {
		return nil, "", modelNotAllowed(k, served)
	}
	ri.ModelServed = served
	if err := s.fetchImages(r.Context(), req, cfg); err != nil {
		return nil, "", err
	}
	if err := s.fetchFiles(r.Context(), req, cfg); err != nil {
		return nil, "", err
	}
	ri.PromptTokens = openai.PromptTokens(req.Messages)
	return &pool.Request{Messages: req.Messages, ModelID: m.UpstreamID, Tools: m.Tools, Media: m.Media}, served, nil
}
