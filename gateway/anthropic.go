package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
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
	blocks, err := antBlockList(param, raw)
	if err != nil {
		return "", nil, err
	}
	return antBlocks(param, blocks, lim, nil)
}

func antBlockList(param string, raw json.RawMessage) ([]antBlock, *antError) {
	var blocks []antBlock
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return nil, antBad(param + ": content must be a string or an array of content blocks")
	}
	return blocks, nil
}

// antBlocks joins the text blocks with newlines and decodes the image
// blocks; every other block goes to other (when set), in order.
func antBlocks(param string, blocks []antBlock, lim openai.Limits, other func(j int, bl antBlock) *antError) (string, []chat.Image, *antError) {
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
		default:
			if other != nil {
				if err := other(j, bl); err != nil {
					return "", nil, err
				}
			}
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
	blocks, err := antBlockList(param, c)
	if err != nil {
		return err
	}
	msg := chat.Message{Role: role}
	msg.Text, msg.Images, err = antBlocks(param, blocks, lim, func(j int, bl antBlock) *antError {
		switch bl.Type {
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
		return nil
	})
	if err != nil {
		return err
	}
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
	body, oerr := requestBody(r)
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
	ri, end := s.startChat(r)
	defer end()
	req, cfg, ok := s.antPrelude(w, r)
	if !ok {
		return
	}
	preq, _, oerr := s.prepareAgentRequest(r, req, cfg)
	if oerr != nil {
		ri.errCode = oerr.Code
		antErrorOf(oerr).write(w)
		return
	}
	s.serveAgentTurn(r, req, preq, newAntSink(w, req.Model, req.Stream, ri.start, ri.PromptTokens))
}

// antSink writes an answer as Anthropic's message events (or one message
// object when not streaming) on the shared agentStream.
type antSink struct {
	agentStream
	id    string
	model string
	in    int

	textOpen bool // a text content block is open
	blocks   int  // content blocks sent
}

func newAntSink(w http.ResponseWriter, model string, stream bool, start time.Time, in int) *antSink {
	a := &antSink{id: "msg_" + tools.NewCallID(""), model: model, in: in}
	a.agentStream = newAgentStream(w, stream, start, a)
	return a
}

func (a *antSink) opened() {
	a.event("message_start", map[string]any{"message": map[string]any{"id": a.id, "type": "message", "role": "assistant", "model": a.model,
		"content": []any{}, "stop_reason": nil, "stop_sequence": nil, "usage": map[string]any{"input_tokens": a.in, "output_tokens": 1}}})
	a.event("ping", map[string]any{})
}

func (a *antSink) delta(t string) {
	if !a.textOpen {
		a.textOpen = true
		a.event("content_block_start", map[string]any{"index": a.blocks, "content_block": map[string]any{"type": "text", "text": ""}})
	}
	a.event("content_block_delta", map[string]any{"index": a.blocks, "delta": map[string]any{"type": "text_delta", "text": t}})
}

func (a *antSink) fail(oe *openai.Error) {
	e := antErrorOf(oe)
	a.failStream(func() {
		fmt.Fprintf(a.w, "event: error\ndata: %s\n\n", e.body())
	}, func() {
		e.write(a.w)
	})
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

var _ agentSink = (*antSink)(nil)
