package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/chat"
	"github.com/gemgate/gemini-gateway/gateway/clients"
	"github.com/gemgate/gemini-gateway/gateway/openai"
	"github.com/gemgate/gemini-gateway/gateway/pool"
	"github.com/gemgate/gemini-gateway/gateway/tools"
	"github.com/gemgate/gemini-gateway/gateway/upstream"
)

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.modelList(infoFrom(r.Context()).client))
}

func (s *Server) handleModel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, ok := s.model(id); !ok {
		modelNotFound(id).Write(w)
		return
	}
	writeJSON(w, http.StatusOK, openai.Model{ID: id, Object: "model", Created: 1735689600, OwnedBy: "google"})
}

func modelNotFound(id string) *openai.Error {
	e := openai.NewError(http.StatusNotFound, openai.TypeInvalidRequest, "model_not_found",
		"The model `"+id+"` does not exist. GET /v1/models lists the available models.")
	e.Param = "model"
	return e
}

// model finds a served model, media suffixes included (see resolveModel
// for what its turns ask for).
func (s *Server) model(id string) (Model, bool) {
	r, ok := s.resolveModel(id)
	return r.Model, ok
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// handleChat serves POST /v1/chat/completions: the request is prepared
// (prepareChat), then answered with tools, streaming or whole.
func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	ri, end := s.startChat(r)
	defer end()
	cfg := s.Config()
	req, m, served, oerr := s.prepareChat(r, cfg)
	if oerr != nil {
		ri.errCode = oerr.Code
		oerr.Write(w)
		return
	}
	preq := &pool.Request{Messages: req.Messages, ModelID: m.UpstreamID, Tools: m.Tools, Media: m.Media}
	r = r.WithContext(withResolved(r.Context(), m))
	if tools.Needed(req) {
		plan := tools.Prepare(req)
		preq.Messages, preq.Suffix = plan.Messages, plan.Suffix
		s.chatWithTools(w, r, req, plan, preq, served, cfg)
		return
	}
	if req.Stream {
		s.streamChat(w, r, req, preq, served, cfg)
	} else {
		s.completeChat(w, r, req, preq, served, cfg)
	}
}

// startChat counts a chat request (the request counter and the requests
// in progress) and marks it for the request log; the caller defers end.
func (s *Server) startChat(r *http.Request) (ri *requestInfo, end func()) {
	ri = infoFrom(r.Context())
	ri.logIt = true
	s.countRequest()
	s.active.Add(1)
	return ri, func() { s.active.Add(-1) }
}

// prepareChat decodes a chat request, settles the model that serves it
// (chatModel) and fetches the images and files its messages link to.
// served is the model name the answer reports.
func (s *Server) prepareChat(r *http.Request, cfg Config) (req *chat.Request, m resolved, served string, oerr *openai.Error) {
	ri := infoFrom(r.Context())
	body, oerr := requestBody(r)
	if oerr != nil {
		return nil, m, "", oerr
	}
	if req, oerr = openai.DecodeChatRequest(body, cfg.Limits); oerr != nil {
		return nil, m, "", oerr
	}
	if req.Model == "" {
		req.Model = cfg.DefaultModel
	}
	ri.ModelRequested, ri.Stream = req.Model, req.Stream
	if m, served, oerr = s.chatModel(r, req, cfg); oerr != nil {
		return nil, m, "", oerr
	}
	if oerr = s.fetchImages(r.Context(), req, cfg); oerr != nil {
		return nil, m, "", oerr
	}
	if oerr = s.fetchFiles(r.Context(), req, cfg); oerr != nil {
		return nil, m, "", oerr
	}
	ri.PromptTokens = openai.PromptTokens(req.Messages)
	if last := chat.LastUser(req.Messages); last >= 0 {
		ri.imagesIn = len(req.Messages[last].Images)
	}
	return req, m, served, nil
}

// chatModel picks the model of a chat request: the one it names (an
// alias's target), the client's streaming model under stickiness, and a
// fallback when that one is down. served is the name before the fallback,
// which the request log shows next to it.
func (s *Server) chatModel(r *http.Request, req *chat.Request, cfg Config) (resolved, string, *openai.Error) {
	ri := infoFrom(r.Context())
	m, ok := s.resolveModel(req.Model)
	if !ok {
		return m, "", modelNotFound(req.Model)
	}
	if k := ri.client; k != nil && !k.Allows(req.Model) {
		return m, "", modelNotAllowed(k, req.Model)
	}
	served := m.Name // the alias's target when MODEL_ALIASES mapped the name
	if cfg.ModelStickiness {
		served, m = s.stickyModel(r, req, served, m)
	}
	ri.ModelServed = served
	rm, oe := s.routeModel(m)
	if oe != nil {
		return m, "", oe
	}
	if rm.Name != m.Name {
		s.log.Info("model fallback", "request_id", ri.ID, "requested", m.Name, "served", rm.Name)
		m, ri.ModelServed = rm, rm.Name
	}
	return m, served, nil
}

// stickyModel keeps a client on the streaming model it used last (see
// stickiness), within its key's models and the same kind of media.
func (s *Server) stickyModel(r *http.Request, req *chat.Request, served string, m resolved) (string, resolved) {
	ri := infoFrom(r.Context())
	up, upgraded := s.sticky.Resolve(clientIP(r)+"|"+r.UserAgent(), req.Model, req.Stream, time.Now())
	if k := ri.client; k != nil && !k.Allows(up) {
		upgraded = false // stickiness never lifts a key's model limit
	}
	// Stickiness keeps a client on one text model family; it never
	// turns a text request into a media one or back.
	if sm, ok := s.resolveModel(up); upgraded && ok && sm.Media == m.Media {
		s.log.Info("model stickiness: serving the client's streaming model", "request_id", ri.ID, "requested", clip(req.Model, logFieldMax), "served", up)
		return up, sm
	}
	return served, m
}

func modelNotAllowed(k *clients.Key, model string) *openai.Error {
	return openai.NewError(http.StatusForbidden, openai.TypePermission, "model_not_allowed",
		fmt.Sprintf("The client key %q may not use the model `%s`; it may use: %s.", k.Name, clip(model, 128), strings.Join(k.Models, ", ")))
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return itoa(n>>20) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return itoa(n>>10) + " KiB"
	}
	return itoa(n) + " bytes"
}

func (s *Server) streamChat(w http.ResponseWriter, r *http.Request, req *chat.Request, preq *pool.Request, model string, cfg Config) {
	ri := infoFrom(r.Context())
	s.streams.Add(1)
	defer s.streams.Add(-1)
	sink := newSSESink(w, openai.NewCompletionID(), time.Now().Unix(), model, cfg.Reasoning, cfg.KeepAlive, ri.start)
	defer sink.stop()
	res, err := s.poolChat(r, resolvedFrom(r.Context()), preq, sink)
	ri.TTFT = sink.ttft()
	ri.servedBy(res)
	if err != nil {
		failChat(w, ri, err, sink)
		ri.OutputTokens = sink.completionTokens()
		return
	}
	if len(res.Files) > 0 {
		if md := s.generatedFiles(r, res); md != "" {
			sink.Text(md)
		}
	}
	ri.OutputTokens = sink.completionTokens()
	sink.finish(nil, req.IncludeUsage, openai.NewUsage(ri.PromptTokens, ri.OutputTokens))
	s.deps.Pool.Remember(res, req.Messages, sink.content())
}

func (s *Server) completeChat(w http.ResponseWriter, r *http.Request, req *chat.Request, preq *pool.Request, model string, cfg Config) {
	ri := infoFrom(r.Context())
	col := &collector{start: ri.start}
	res, err := s.poolChat(r, resolvedFrom(r.Context()), preq, col)
	ri.servedBy(res)
	if err != nil {
		failChat(w, ri, err, nil)
		return
	}
	ri.TTFT = col.first
	if len(res.Files) > 0 {
		if md := s.generatedFiles(r, res); md != "" {
			col.Text(md)
		}
	}
	content, reasoning := col.text.String(), col.reasoning.String()
	switch cfg.Reasoning {
	case ReasoningOff:
		reasoning = ""
	case ReasoningThink:
		if reasoning != "" {
			content = "<think>\n" + reasoning + "\n</think>\n\n" + content
			reasoning = ""
		}
	}
	ri.OutputTokens = max(1, openai.EstimateTokens(col.text.String())+openai.EstimateTokens(col.reasoning.String()))
	c := openai.NewCompletion(openai.NewCompletionID(), time.Now().Unix(), model, content, reasoning,
		openai.NewUsage(ri.PromptTokens, ri.OutputTokens))
	writeJSON(w, http.StatusOK, c)
	s.deps.Pool.Remember(res, req.Messages, content)
}

// servedBy notes the account that served a chat request and the attempts
// it took (res may be nil: no account was tried).
func (ri *requestInfo) servedBy(res *pool.Result) {
	if res != nil {
		ri.Account, ri.Attempts = res.AccountName, res.Attempts
	}
}

// failChat answers a failed chat request: an error event on a stream that
// has started (sink, when there is one), else an HTTP error.
func failChat(w http.ResponseWriter, ri *requestInfo, err error, sink *sseSink) {
	oe := toOpenAIError(err)
	ri.errCode = oe.Code
	if sink == nil || !sink.fail(oe) {
		oe.Write(w)
	}
}

// collector assembles a non-streaming answer. Nothing reaches the client
// before the end, so every failure may move to another account.
type collector struct {
	text, reasoning strings.Builder
	start           time.Time
	first           time.Duration
}

func (c *collector) Begin(attempt int) {
	c.text.Reset()
	c.reasoning.Reset()
}

func (c *collector) Thought(t string) error {
	c.mark()
	c.reasoning.WriteString(t)
	return nil
}

func (c *collector) Text(t string) error {
	c.mark()
	c.text.WriteString(t)
	return nil
}

func (c *collector) mark() {
	if c.first == 0 {
		c.first = time.Since(c.start)
	}
}

func (c *collector) AnswerStarted() bool { return false }

// toOpenAIError maps pool and upstream failures to OpenAI errors with
// sensible statuses.
func toOpenAIError(err error) *openai.Error {
	var na *pool.NoAccountError
	if errors.As(err, &na) {
		if na.RetryAfter > 0 {
			e := openai.NewError(http.StatusTooManyRequests, openai.TypeRateLimit, "all_accounts_cooling_down", na.Reason)
			e.RetryAfter = int((na.RetryAfter + time.Second - 1) / time.Second)
			return e
		}
		return openai.NewError(http.StatusServiceUnavailable, openai.TypeUnavailable, "no_usable_account", na.Reason)
	}
	if errors.Is(err, context.Canceled) {
		return openai.NewError(499, openai.TypeInvalidRequest, "client_closed_request", "The client closed the request.")
	}
	var tl *pool.PromptTooLongError
	if errors.As(err, &tl) {
		return openai.NewError(http.StatusBadRequest, openai.TypeInvalidRequest, "context_length_exceeded", "This model's maximum context length was exceeded: "+tl.Error()+".")
	}
	var ue *upstream.Error
	if !errors.As(err, &ue) {
		return openai.NewError(http.StatusInternalServerError, openai.TypeServer, "internal_error", "The gateway failed: "+err.Error())
	}
	msg := ue.Message
	switch ue.Kind {
	case upstream.KindQuota:
		e := openai.NewError(http.StatusTooManyRequests, openai.TypeRateLimit, "rate_limit_exceeded",
			"Gemini Business rate-limited every account that was tried: "+msg)
		if ue.RetryAfter > 0 {
			e.RetryAfter = int((ue.RetryAfter + time.Second - 1) / time.Second)
		} else {
			e.RetryAfter = 60
		}
		return e
	case upstream.KindExpired:
		return openai.NewError(http.StatusServiceUnavailable, openai.TypeUnavailable, "account_expired",
			"The Gemini Business sign-in of the account(s) tried has expired and no other account could serve: renew the cookies. ("+msg+")")
	case upstream.KindSignIn:
		return openai.NewError(http.StatusServiceUnavailable, openai.TypeUnavailable, "account_needs_sign_in",
			"The Gemini Business sign-in of the account(s) tried is over and no other account could serve: sign in again. ("+msg+")")
	case upstream.KindStale, upstream.KindUnauthorized:
		return openai.NewError(http.StatusServiceUnavailable, openai.TypeUnavailable, "account_unauthorized",
			"Gemini Business refused the account(s) tried even after a cookie refresh and no other account could serve. ("+msg+")")
	case upstream.KindBanned:
		return openai.NewError(http.StatusServiceUnavailable, openai.TypeUnavailable, "account_banned",
			"Gemini Business refused the account(s) tried (403) and no other account could serve. ("+msg+")")
	case upstream.KindBadRequest:
		return openai.NewError(http.StatusBadRequest, openai.TypeInvalidRequest, "upstream_bad_request", "Gemini Business refused the request: "+msg)
	case upstream.KindPolicy:
		return openai.NewError(http.StatusBadRequest, openai.TypeInvalidRequest, "content_policy_violation", msg+" ["+ue.Status+"]")
	case upstream.KindEmpty:
		return openai.NewError(http.StatusBadGateway, openai.TypeServer, "empty_response", "Gemini Business produced no answer: "+msg)
	case upstream.KindAuthTrouble, upstream.KindAccountState:
		return openai.NewError(http.StatusServiceUnavailable, openai.TypeUnavailable, "account_unavailable",
			"The Gemini Business account(s) tried could not serve right now and no other account could: "+msg)
	}
	if ue.Network && strings.Contains(msg, "timeout") {
		return openai.NewError(http.StatusGatewayTimeout, openai.TypeServer, "upstream_timeout", "Gemini Business did not answer in time: "+msg)
	}
	return openai.NewError(http.StatusBadGateway, openai.TypeServer, "upstream_error", "Gemini Business failed: "+msg)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
