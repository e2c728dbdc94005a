package gateway

import (
	"errors"
	"io"
	"net/http"

	"github.com/gemgate/gemini-gateway/gateway/chat"
	"github.com/gemgate/gemini-gateway/gateway/openai"
	"github.com/gemgate/gemini-gateway/gateway/pool"
)

// readBody reads a request body within MAX_BODY_BYTES.
func readBody(r *http.Request) ([]byte, *openai.Error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, openai.NewError(http.StatusRequestEntityTooLarge, openai.TypeInvalidRequest, "request_too_large",
				"The request body is larger than the limit of "+byteSize(mbe.Limit)+" (MAX_BODY_BYTES).")
		}
		return nil, openai.BadRequest("", "read_error", "Could not read the request body.")
	}
	return body, nil
}

// prepareAgentRequest does for the Responses and Messages APIs what
// handleChat does for chat completions: the model (agents send names of
// other vendors' models; an unknown one is served by the default model),
// images fetched, the prompt size estimated.
func (s *Server) prepareAgentRequest(r *http.Request, req *chat.Request, cfg Config) (*pool.Request, string, *openai.Error) {
	ri := infoFrom(r.Context())
	ri.ModelRequested, ri.Stream = req.Model, req.Stream
	served := req.Model
	if _, ok := s.model(served); !ok {
		served = cfg.DefaultModel
	}
	m, ok := s.model(served)
	if !ok {
		return nil, "", modelNotFound(req.Model)
	}
	ri.ModelServed = served
	if err := s.fetchImages(r.Context(), req, cfg); err != nil {
		return nil, "", err
	}
	ri.PromptTokens = openai.PromptTokens(req.Messages)
	return &pool.Request{Messages: req.Messages, ModelID: m.UpstreamID}, served, nil
}
