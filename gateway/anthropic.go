package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/chat"
	"github.com/gemgate/gemini-gateway/gateway/openai"
	"github.com/gemgate/gemini-gateway/gateway/tools"
)

// The Anthropic Messages API (POST /v1/messages and
// /v1/messages/count_tokens), as Claude Code uses it. Unknown fields and
// beta headers are accepted and ignored; errors come in Anthropic's shape.

type antRequest struct {
	Model      string          `json:"model"`
	MaxTokens  int             `json:"max_tokens"`
	Stream     bool            `json:"stream"`
	System     json.RawMessage `json:"system"`
	Messages   []antMessage    `json:"messages"`
	Tools      []antTool       `json:"tools"`
	ToolChoice *struct {
		Type                   string `json:"type"`
		Name                   string `json:"name"`
		DisableParallelToolUse bool   `json:"disable_parallel_tool_use"`
	} `json:"tool_choice"`
}

type antMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type antTool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type antBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
	IsError   bool            `json:"is_error"`
	Source    *struct {
		Type      string `json:"type"`
		MediaType string `json:"media_type"`
		Data      string `json:"data"`
		URL       string `json:"url"`
	} `json:"source"`
}

// antError is an Anthropic-shaped error: {"type":"error","error":{"type","message"}}.
type antError struct {
	Status  int
	Type    string
	Message string
	Retry   int
}

func (e *antError) body() []byte {
	b, _ := json.Marshal(map[string]any{"type": "error", "error": map[string]string{"type": e.Type, "message": e.Message}})
	return b
}

func (e *antError) write(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	if e.Retry > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(e.Retry))
	}
	w.WriteHeader(e.Status)
	w.Write(append(e.body(), '\n'))
}

// antErrorOf maps an OpenAI-shaped error to Anthropic's types by status.
func antErrorOf(e *openai.Error) *antError {
	typ := "api_error"
	switch {
	case e.Status == http.StatusUnauthorized:
		typ = "authentication_error"
	case e.Status == http.StatusForbidden:
		typ = "permission_error"
	case e.Status == http.StatusNotFound:
		typ = "not_found_error"
	case e.Status == http.StatusRequestEntityTooLarge:
		typ = "request_too_large"
	case e.Status == http.StatusTooManyRequests:
		typ = "rate_limit_error"
	case e.Status == http.StatusServiceUnavailable || e.Status == 529:
		typ = "overloaded_error"
	case e.Status >= 400 && e.Status < 500:
		typ = "invalid_request_error"
	}
	msg := e.Message
	if e.Code == "context_length_exceeded" {
		msg = "prompt is too long: " + msg
	}
	return &antError{Status: max(e.Status, 400), Type: typ, Message: msg, Retry: e.RetryAfter}
}

func antBad(msg string) *antError {
	return &antError{Status: http.StatusBadRequest, Type: "invalid_request_error", Message: msg}
}

func decodeAnthropic(body []byte, lim openai.Limits) (*chat.Request, *antError) {
	var w antRequest
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, antBad("The request body is not valid JSON: " + err.Error())
	}
	req := &chat.Request{Model: strings.TrimSpace(w.Model), Stream: w.Stream}
	if sys := bytes.TrimSpace(w.System); len(sys) > 0 && string(sys) != "null" {
		text, _, err := antContent("system", sys, lim)
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(text) != "" {
			req.Messages = append(req.Messages, chat.Message{Role: chat.RoleSystem, Text: text})
		}
	}
	if len(w.Messages) == 0 {
		return nil, antBad("messages: at least one message is required")
	}
	for i, m := range w.Messages {
		if err := addAntMessage(req, i, m, lim); err != nil {
			return nil, err
		}
	}
	for _, t := range w.Tools {
		if len(bytes.TrimSpace(t.InputSchema)) == 0 && t.Type != "" && t.Type != "custom" {
			continue // a server tool (web_search_…): the gateway cannot run it
		}
		if t.Name == "" {
			return nil, antBad("tools: every tool needs a name")
		}
		req.Tools = append(req.Tools, chat.ToolDef{Name: t.Name, Description: t.Description, Parameters: t.InputSchema})
	}
	if tc := w.ToolChoice; tc != nil {
		switch tc.Type {
		case "any":
			req.ToolChoice.Mode = chat.ToolChoiceRequired
		case "tool":
			req.ToolChoice = chat.ToolChoice{Mode: chat.ToolChoiceNamed, Name: tc.Name}
			if !hasToolDef(req.Tools, tc.Name) {
				return nil, antBad("tool_choice.name: " + tc.Name + " is not among the tools")
			}
		case "none":
			req.ToolChoice.Mode = chat.ToolChoiceNone
		default:
			req.ToolChoice.Mode = chat.ToolChoiceAuto
		}
		req.NoParallel = tc.DisableParallelToolUse
	}
	return req, nil
}

// antContent reads a string or an array of text/image blocks.
func antContent(param string, raw json.RawMessage, lim openai.Limits) (string, []chat.Image, *antError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		json.Unmarshal(raw, &s)
		return s, nil, nil
	}
	var blocks []antBlock
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return "", nil, antBad(param + ": content must be a string or an array of content blocks")
	}
	var b strings.Builder
	var imgs []chat.Image
	for j, bl := range blocks {
		switch bl.Type {
		case "text":
			if b.Len() > 0 {
				b.WriteString("\n")
			}
			b.WriteString(bl.Text)
		case "image":
			img, err := antImage(fmt.Sprintf("%s.%d", param, j), bl, lim)
			if err != nil {
				return "", nil, err
			}
			imgs = append(imgs, img)
		}
	}
	return b.String(), imgs, nil
}

func antImage(param string, bl antBlock, lim openai.Limits) (chat.Image, *antError) {
	if bl.Source == nil {
		return chat.Image{}, antBad(param + ": image without source")
	}
	if bl.Source.Type == "url" {
		return chat.Image{URL: bl.Source.URL}, nil
	}
	maxB := lim.MaxImageBytes
	if maxB <= 0 {
		maxB = 15 << 20
	}
	img, err := openai.DecodeDataURL(param, "data:"+bl.Source.MediaType+";base64,"+bl.Source.Data, maxB)
	if err != nil {
		return chat.Image{}, antBad(err.Message)
	}
	return img, nil
}

func addAntMessage(req *chat.Request, i int, m antMessage, lim openai.Limits) *antError {
	param := fmt.Sprintf("messages.%d.content", i)
	c := bytes.TrimSpace(m.Content)
	role := chat.RoleUser
	switch m.Role {
	case "assistant":
		role = chat.RoleAssistant
	case "system":
		role = chat.RoleSystem
	}
	if len(c) > 0 && c[0] == '"' {
		var s string
		json.Unmarshal(c, &s)
		req.Messages = append(req.Messages, chat.Message{Role: role, Text: s})
		return nil
	}
	var blocks []antBlock
	if err := json.Unmarshal(c, &blocks); err != nil {
		return antBad(param + ": content must be a string or an array of content blocks")
	}
	msg := chat.Message{Role: role}
	var text strings.Builder
	for j, bl := range blocks {
		switch bl.Type {
		case "text":
			if text.Len() > 0 {
				text.WriteString("\n")
			}
			text.WriteString(bl.Text)
		case "image":
			img, err := antImage(fmt.Sprintf("%s.%d", param, j), bl, lim)
			if err != nil {
				return err
			}
			msg.Images = append(msg.Images, img)
		case "tool_use":
			args := string(bytes.TrimSpace(bl.Input))
			if args == "" || args == "null" {
				args = "{}"
			}
			msg.ToolCalls = append(msg.ToolCalls, chat.ToolCall{ID: bl.ID, Name: bl.Name, Arguments: args})
		case "tool_result":
			// Results go before the message's other content.
			t, imgs, err := antContent(fmt.Sprintf("%s.%d.content", param, j), orEmpty(bl.Content), lim)
			if err != nil {
				return err
			}
			req.Messages = append(req.Messages, chat.Message{Role: chat.RoleTool, ToolCallID: bl.ToolUseID, Text: t, Images: imgs, IsError: bl.IsError})
		}
		// thinking, redacted_thinking, documents…: ignored.
	}
	msg.Text = text.String()
	if msg.Text != "" || len(msg.Images) > 0 || len(msg.ToolCalls) > 0 {
		req.Messages = append(req.Messages, msg)
	}
	return nil
}

func orEmpty(raw json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return json.RawMessage(`""`)
	}
	return raw
}

func (s *Server) antPrelude(w http.ResponseWriter, r *http.Request) (*chat.Request, Config, bool) {
	ri := infoFrom(r.Context())
	ri.logIt = true
	cfg := s.Config()
	body, oerr := readBody(r)
	if oerr != nil {
		ri.errCode = oerr.Code
		antErrorOf(oerr).write(w)
		return nil, cfg, false
	}
	req, aerr := decodeAnthropic(body, cfg.Limits)
	if aerr != nil {
		ri.errCode = aerr.Type
		aerr.write(w)
		return nil, cfg, false
	}
	return req, cfg, true
}

// handleCountTokens serves POST /v1/messages/count_tokens from the
// gateway's estimate.
func (s *Server) handleCountTokens(w http.ResponseWriter, r *http.Request) {
	req, _, ok := s.antPrelude(w, r)
	if !ok {
		return
	}
	n := openai.PromptTokens(req.Messages)
	for _, t := range req.Tools {
		n += openai.EstimateTokens(t.Name) + openai.EstimateTokens(t.Description) + openai.EstimateTokens(string(t.Parameters))
	}
	writeJSON(w, http.StatusOK, map[string]int{"input_tokens": n})
}

// handleMessages serves POST /v1/messages.
func (s *Server) handleMessages(w http.ResponseWriter, r *http.Request) {
	s.countRequest()
	s.active.Add(1)
	defer s.active.Add(-1)
	req, cfg, ok := s.antPrelude(w, r)
	if !ok {
		return
	}
	ri := infoFrom(r.Context())
	preq, _, oerr := s.prepareAgentRequest(r, req, cfg)
	if oerr != nil {
		ri.errCode = oerr.Code
		antErrorOf(oerr).write(w)
		return
	}
	plan := tools.Prepare(req)
	preq.Messages, preq.Suffix = plan.Messages, plan.Suffix
	as := &antSink{w: w, rc: http.NewResponseController(w), id: "msg_" + tools.NewCallID(""), model: req.Model, stream: req.Stream,
		start: ri.start, in: ri.PromptTokens}
	if req.Stream {
		s.streams.Add(1)
		defer s.streams.Add(-1)
	}
	t, err := s.runTurn(r.Context(), plan, preq, as)
	if t.res != nil {
		ri.Account, ri.Attempts = t.res.AccountName, t.res.Attempts
	}
	ri.TTFT = as.ttft()
	if err != nil {
		oe := toOpenAIError(err)
		ri.errCode = oe.Code
		if !as.fail(antErrorOf(oe)) {
			antErrorOf(oe).write(w)
		}
		return
	}
	ri.OutputTokens = max(1, openai.EstimateTokens(t.text)) + callTokens(t.calls)
	as.complete(t.calls, ri.OutputTokens)
}

// antSink writes Anthropic stream events; nothing before the first text,
// so earlier failures are real HTTP statuses.
type antSink struct {
	w      http.ResponseWriter
	rc     *http.ResponseController
	id     string
	model  string
	stream bool
	start  time.Time
	in     int

	mu        sync.Mutex
	committed bool
	textOpen  bool
	blocks    int
	text      strings.Builder
	first     time.Duration
	err       error
}

func (a *antSink) Begin(int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.stream {
		a.text.Reset()
	}
}

func (a *antSink) Thought(string) error { return nil }

func (a *antSink) Text(t string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.first == 0 {
		a.first = time.Since(a.start)
	}
	a.text.WriteString(t)
	if !a.stream {
		return nil
	}
	a.commit()
	if !a.textOpen {
		a.textOpen = true
		a.event("content_block_start", map[string]any{"index": a.blocks, "content_block": map[string]any{"type": "text", "text": ""}})
	}
	a.event("content_block_delta", map[string]any{"index": a.blocks, "delta": map[string]any{"type": "text_delta", "text": t}})
	a.flush()
	return a.err
}

func (a *antSink) AnswerStarted() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.committed
}

func (a *antSink) ttft() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.first
}

func (a *antSink) commit() {
	if a.committed {
		return
	}
	a.committed = true
	h := a.w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	a.w.WriteHeader(http.StatusOK)
	a.event("message_start", map[string]any{"message": map[string]any{"id": a.id, "type": "message", "role": "assistant", "model": a.model,
		"content": []any{}, "stop_reason": nil, "stop_sequence": nil, "usage": map[string]any{"input_tokens": a.in, "output_tokens": 1}}})
	a.event("ping", map[string]any{})
}

func (a *antSink) event(typ string, fields map[string]any) {
	if a.err != nil {
		return
	}
	fields["type"] = typ
	var b bytes.Buffer
	b.WriteString("event: " + typ + "\ndata: ")
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(fields)
	b.WriteString("\n")
	if _, err := a.w.Write(b.Bytes()); err != nil {
		a.err = err
	}
}

func (a *antSink) flush() {
	if a.err == nil {
		if err := a.rc.Flush(); err != nil {
			a.err = err
		}
	}
}

func (a *antSink) fail(e *antError) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.committed {
		return false
	}
	b := e.body()
	fmt.Fprintf(a.w, "event: error\ndata: %s\n\n", b)
	a.flush()
	return true
}

func (a *antSink) complete(calls []tools.Call, out int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	stop := "end_turn"
	if len(calls) > 0 {
		stop = "tool_use"
	}
	var content []any
	if t := a.text.String(); t != "" || len(calls) == 0 {
		content = append(content, map[string]any{"type": "text", "text": t})
	}
	for i := range calls {
		calls[i].ID = "toolu_" + strings.TrimPrefix(calls[i].ID, "call_")
		var input any = map[string]any{}
		json.Unmarshal([]byte(calls[i].Arguments), &input)
		content = append(content, map[string]any{"type": "tool_use", "id": calls[i].ID, "name": calls[i].Name, "input": input})
	}
	if !a.stream {
		writeJSON(a.w, http.StatusOK, map[string]any{"id": a.id, "type": "message", "role": "assistant", "model": a.model, "content": content,
			"stop_reason": stop, "stop_sequence": nil, "usage": map[string]any{"input_tokens": a.in, "output_tokens": out}})
		return
	}
	a.commit()
	if a.textOpen {
		a.event("content_block_stop", map[string]any{"index": a.blocks})
		a.blocks++
	} else if len(calls) == 0 {
		a.event("content_block_start", map[string]any{"index": a.blocks, "content_block": map[string]any{"type": "text", "text": ""}})
		a.event("content_block_stop", map[string]any{"index": a.blocks})
		a.blocks++
	}
	for _, c := range calls {
		a.event("content_block_start", map[string]any{"index": a.blocks, "content_block": map[string]any{"type": "tool_use", "id": c.ID, "name": c.Name, "input": map[string]any{}}})
		a.event("content_block_delta", map[string]any{"index": a.blocks, "delta": map[string]any{"type": "input_json_delta", "partial_json": c.Arguments}})
		a.event("content_block_stop", map[string]any{"index": a.blocks})
		a.blocks++
	}
	a.event("message_delta", map[string]any{"delta": map[string]any{"stop_reason": stop, "stop_sequence": nil}, "usage": map[string]any{"output_tokens": out}})
	a.event("message_stop", map[string]any{})
	a.flush()
}
