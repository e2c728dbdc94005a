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

// The Responses API (POST /v1/responses), stateless, as Codex CLI uses it:
// store:false and the whole history in input every turn. Items become the
// gateway's chat messages; function and custom tools are emulated like on
// /v1/chat/completions; tools the server would have to run itself
// (web_search, tool_search, …) are dropped.

type respRequest struct {
	Model              string          `json:"model"`
	Input              json.RawMessage `json:"input"`
	Instructions       string          `json:"instructions"`
	Tools              []respTool      `json:"tools"`
	ToolChoice         json.RawMessage `json:"tool_choice"`
	ParallelToolCalls  *bool           `json:"parallel_tool_calls"`
	Stream             bool            `json:"stream"`
	PreviousResponseID string          `json:"previous_response_id"`
}

type respTool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
	Format      json.RawMessage `json:"format"`
	Tools       []respTool      `json:"tools"`
}

type respItem struct {
	Type      string          `json:"type"`
	Role      string          `json:"role"`
	Content   json.RawMessage `json:"content"`
	CallID    string          `json:"call_id"`
	Name      string          `json:"name"`
	Namespace string          `json:"namespace"`
	Arguments string          `json:"arguments"`
	Input     string          `json:"input"`
	Output    json.RawMessage `json:"output"`
	Tools     []respTool      `json:"tools"`
}

type respPart struct {
	Type     string          `json:"type"`
	Text     string          `json:"text"`
	ImageURL json.RawMessage `json:"image_url"`
}

// nsSep joins a namespace and a child tool's name into one flat name.
const nsSep = "__"

func decodeResponsesRequest(body []byte, lim openai.Limits) (*chat.Request, *openai.Error) {
	var w respRequest
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, openai.BadRequest("", "invalid_json", "The request body is not valid JSON: "+err.Error())
	}
	if w.PreviousResponseID != "" {
		return nil, openai.BadRequest("previous_response_id", "unsupported_parameter",
			"previous_response_id is not supported: this gateway keeps no responses (store:false). Send the whole conversation in input.")
	}
	req := &chat.Request{Model: strings.TrimSpace(w.Model), Stream: w.Stream}
	if s := strings.TrimSpace(w.Instructions); s != "" {
		req.Messages = append(req.Messages, chat.Message{Role: chat.RoleSystem, Text: w.Instructions})
	}
	in := bytes.TrimSpace(w.Input)
	switch {
	case len(in) == 0 || string(in) == "null":
		return nil, openai.BadRequest("input", "missing_input", "input is required: a string or an array of items.")
	case in[0] == '"':
		var s string
		json.Unmarshal(in, &s)
		req.Messages = append(req.Messages, chat.Message{Role: chat.RoleUser, Text: s})
	case in[0] == '[':
		var items []respItem
		if err := json.Unmarshal(in, &items); err != nil {
			return nil, openai.BadRequest("input", "invalid_input", "input must be a string or an array of items: "+err.Error())
		}
		for i, it := range items {
			if err := addItem(req, i, it, lim, &w); err != nil {
				return nil, err
			}
		}
	default:
		return nil, openai.BadRequest("input", "invalid_input", "input must be a string or an array of items.")
	}
	if len(req.Messages) == 0 {
		return nil, openai.BadRequest("input", "missing_input", "input holds no message.")
	}
	addRespTools(req, "", w.Tools)
	tc, allowed, err := openai.DecodeToolChoice(w.ToolChoice)
	if err != nil {
		return nil, err
	}
	if tc.Mode == chat.ToolChoiceNamed && !hasToolDef(req.Tools, tc.Name) {
		tc = chat.ToolChoice{Mode: chat.ToolChoiceRequired}
	}
	req.ToolChoice, req.Allowed = tc, allowed
	req.NoParallel = w.ParallelToolCalls != nil && !*w.ParallelToolCalls
	return req, nil
}

func hasToolDef(ts []chat.ToolDef, name string) bool {
	for _, t := range ts {
		if t.Name == name {
			return true
		}
	}
	return false
}

func addRespTools(req *chat.Request, ns string, ts []respTool) {
	for _, t := range ts {
		name := t.Name
		if ns != "" {
			name = ns + nsSep + name
		}
		switch t.Type {
		case "function":
			req.Tools = append(req.Tools, chat.ToolDef{Name: name, Description: t.Description, Parameters: t.Parameters})
		case "custom":
			desc := t.Description
			if f := bytes.TrimSpace(t.Format); len(f) > 0 && string(f) != "null" {
				var g struct {
					Type, Syntax, Definition string
				}
				if json.Unmarshal(f, &g) == nil && g.Definition != "" {
					desc += "\nThe input must follow this " + g.Syntax + " grammar:\n" + g.Definition
				}
			}
			req.Tools = append(req.Tools, chat.ToolDef{Name: name, Description: desc, Custom: true})
		case "namespace":
			addRespTools(req, t.Name, t.Tools)
		}
		// web_search, tool_search, file_search, computer_use…: the server
		// would run them; they are not offered.
	}
}

func addItem(req *chat.Request, i int, it respItem, lim openai.Limits, w *respRequest) *openai.Error {
	param := fmt.Sprintf("input[%d]", i)
	lastAssistant := func() *chat.Message {
		if n := len(req.Messages); n > 0 && req.Messages[n-1].Role == chat.RoleAssistant {
			return &req.Messages[n-1]
		}
		req.Messages = append(req.Messages, chat.Message{Role: chat.RoleAssistant})
		return &req.Messages[len(req.Messages)-1]
	}
	typ := it.Type
	if typ == "" && it.Role != "" {
		typ = "message"
	}
	switch typ {
	case "message":
		m, err := respMessage(param, it, lim)
		if err != nil {
			return err
		}
		if m.Role == chat.RoleAssistant {
			if n := len(req.Messages); n > 0 && req.Messages[n-1].Role == chat.RoleAssistant && len(req.Messages[n-1].ToolCalls) == 0 {
				req.Messages[n-1].Text += m.Text
				return nil
			}
		}
		req.Messages = append(req.Messages, m)
	case "function_call":
		name := it.Name
		if it.Namespace != "" {
			name = it.Namespace + nsSep + name
		}
		a := lastAssistant()
		a.ToolCalls = append(a.ToolCalls, chat.ToolCall{ID: it.CallID, Name: name, Arguments: it.Arguments})
	case "custom_tool_call":
		b, _ := json.Marshal(map[string]string{"input": it.Input})
		a := lastAssistant()
		a.ToolCalls = append(a.ToolCalls, chat.ToolCall{ID: it.CallID, Name: it.Name, Arguments: string(b)})
	case "function_call_output", "custom_tool_call_output":
		m := chat.Message{Role: chat.RoleTool, ToolCallID: it.CallID}
		out := bytes.TrimSpace(it.Output)
		if len(out) > 0 && out[0] == '"' {
			json.Unmarshal(out, &m.Text)
		} else if len(out) > 0 && out[0] == '[' {
			var parts []respPart
			json.Unmarshal(out, &parts)
			var b strings.Builder
			for j, p := range parts {
				switch p.Type {
				case "input_image":
					img, err := respImage(fmt.Sprintf("%s.output[%d]", param, j), p.ImageURL, lim)
					if err != nil {
						return err
					}
					m.Images = append(m.Images, img)
				default:
					b.WriteString(p.Text)
				}
			}
			m.Text = b.String()
		} else {
			m.Text = string(out)
		}
		req.Messages = append(req.Messages, m)
	case "additional_tools":
		addRespTools(req, "", it.Tools)
	}
	// reasoning, web_search_call, compaction and unknown items: ignored.
	return nil
}

func respMessage(param string, it respItem, lim openai.Limits) (chat.Message, *openai.Error) {
	var m chat.Message
	switch it.Role {
	case "system", "developer":
		m.Role = chat.RoleSystem
	case "assistant":
		m.Role = chat.RoleAssistant
	default:
		m.Role = chat.RoleUser
	}
	c := bytes.TrimSpace(it.Content)
	if len(c) > 0 && c[0] == '"' {
		json.Unmarshal(c, &m.Text)
		return m, nil
	}
	var parts []respPart
	if len(c) > 0 && json.Unmarshal(c, &parts) != nil {
		return m, openai.BadRequest(param+".content", "invalid_content", param+".content must be a string or an array of parts.")
	}
	var b strings.Builder
	for j, p := range parts {
		switch p.Type {
		case "input_image":
			img, err := respImage(fmt.Sprintf("%s.content[%d]", param, j), p.ImageURL, lim)
			if err != nil {
				return m, err
			}
			m.Images = append(m.Images, img)
		default:
			if b.Len() > 0 && m.Role != chat.RoleAssistant {
				b.WriteString("\n")
			}
			b.WriteString(p.Text)
		}
	}
	m.Text = b.String()
	return m, nil
}

func respImage(param string, raw json.RawMessage, lim openai.Limits) (chat.Image, *openai.Error) {
	var u string
	json.Unmarshal(raw, &u)
	if u == "" {
		var o struct{ URL string }
		json.Unmarshal(raw, &o)
		u = o.URL
	}
	if strings.HasPrefix(u, "data:") {
		max := lim.MaxImageBytes
		if max <= 0 {
			max = 15 << 20
		}
		return openai.DecodeDataURL(param, u, max)
	}
	if strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") {
		return chat.Image{URL: u}, nil
	}
	return chat.Image{}, openai.BadRequest(param, "invalid_image_url", param+".image_url must be a data: URL or an http(s) URL.")
}

// handleResponses serves POST /v1/responses.
func (s *Server) handleResponses(w http.ResponseWriter, r *http.Request) {
	ri, end := s.startChat(r)
	defer end()
	cfg := s.Config()
	body, oerr := requestBody(r)
	if oerr != nil {
		ri.errCode = oerr.Code
		oerr.Write(w)
		return
	}
	req, oerr := decodeResponsesRequest(body, cfg.Limits)
	if oerr != nil {
		ri.errCode = oerr.Code
		oerr.Write(w)
		return
	}
	preq, model, oerr := s.prepareAgentRequest(r, req, cfg)
	if oerr != nil {
		ri.errCode = oerr.Code
		oerr.Write(w)
		return
	}
	s.serveAgentTurn(r, req, preq, newRespSink(w, model, req.Stream, ri.start, ri.PromptTokens))
}

// respSink writes an answer as Responses API events (or one response
// object when not streaming) on the shared agentStream.
type respSink struct {
	agentStream
	id      string
	model   string
	created int64
	in      int

	msgOpen bool   // the message item and its text part are open
	msgID   string // the message item's id
	seq     int    // the next event's sequence_number
	output  []any  // the response's output items so far
}

func newRespSink(w http.ResponseWriter, model string, stream bool, start time.Time, in int) *respSink {
	rs := &respSink{id: "resp_" + tools.NewCallID(""), model: model, created: time.Now().Unix(), in: in}
	rs.agentStream = newAgentStream(w, stream, start, rs)
	return rs
}

// event writes an event with its sequence_number; mu held.
func (rs *respSink) event(typ string, fields map[string]any) {
	fields["sequence_number"] = rs.seq
	rs.seq++
	rs.agentStream.event(typ, fields)
}

func (rs *respSink) response(status string) map[string]any {
	return map[string]any{"id": rs.id, "object": "response", "created_at": rs.created, "status": status, "model": rs.model,
		"output": rs.output, "parallel_tool_calls": true, "tool_choice": "auto", "tools": []any{}}
}

func (rs *respSink) opened() {
	rs.output = []any{}
	rs.event("response.created", map[string]any{"response": rs.response("in_progress")})
	rs.event("response.in_progress", map[string]any{"response": rs.response("in_progress")})
}

// openMessage announces the message item and its text part; mu held.
func (rs *respSink) openMessage() {
	rs.event("response.output_item.added", map[string]any{"output_index": 0,
		"item": map[string]any{"type": "message", "id": rs.msgID, "role": "assistant", "status": "in_progress", "content": []any{}}})
	rs.event("response.content_part.added", map[string]any{"item_id": rs.msgID, "output_index": 0, "content_index": 0,
		"part": map[string]any{"type": "output_text", "text": "", "annotations": []any{}}})
}

func (rs *respSink) delta(t string) {
	if !rs.msgOpen {
		rs.msgOpen = true
		rs.msgID = "msg_" + tools.NewCallID("")
		rs.openMessage()
	}
	rs.event("response.output_text.delta", map[string]any{"item_id": rs.msgID, "output_index": 0, "content_index": 0, "delta": t})
}

// fail reports a failure: response.failed once streaming, else an HTTP
// error.
func (rs *respSink) fail(e *openai.Error) {
	rs.failStream(func() {
		r := rs.response("failed")
		r["error"] = map[string]any{"code": e.Code, "message": e.Message}
		rs.event("response.failed", map[string]any{"response": r})
	}, func() {
		e.Write(rs.w)
	})
}

// complete closes the message, sends the calls and response.completed (or
// the whole response object when not streaming).
func (rs *respSink) complete(calls []tools.Call, out int) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.stream {
		rs.commit()
	}
	rs.output = []any{}
	text := rs.text.String()
	if text != "" || len(calls) == 0 {
		rs.output = append(rs.output, rs.messageItem(text))
	}
	for _, c := range calls {
		rs.output = append(rs.output, rs.callItem(len(rs.output), c))
	}
	r := rs.response("completed")
	r["usage"] = map[string]any{"input_tokens": rs.in, "input_tokens_details": map[string]any{"cached_tokens": 0},
		"output_tokens": out, "output_tokens_details": map[string]any{"reasoning_tokens": 0}, "total_tokens": rs.in + out}
	if rs.stream {
		rs.event("response.completed", map[string]any{"response": r})
		rs.flush()
		return
	}
	r["output_text"] = text
	writeJSON(rs.w, http.StatusOK, r)
}

// messageItem is the finished message item, its closing events sent when
// streaming; mu held.
func (rs *respSink) messageItem(text string) map[string]any {
	if rs.msgID == "" {
		rs.msgID = "msg_" + tools.NewCallID("")
	}
	part := map[string]any{"type": "output_text", "text": text, "annotations": []any{}}
	item := map[string]any{"type": "message", "id": rs.msgID, "role": "assistant", "status": "completed", "content": []any{part}}
	if rs.stream {
		if !rs.msgOpen {
			rs.openMessage()
		}
		rs.event("response.output_text.done", map[string]any{"item_id": rs.msgID, "output_index": 0, "content_index": 0, "text": text})
		rs.event("response.content_part.done", map[string]any{"item_id": rs.msgID, "output_index": 0, "content_index": 0, "part": part})
		rs.event("response.output_item.done", map[string]any{"output_index": 0, "item": item})
	}
	return item
}

// callItem is a tool call as output item idx (a custom_tool_call, or a
// function_call with its namespace split back off the flat name), its
// events sent when streaming; mu held.
func (rs *respSink) callItem(idx int, c tools.Call) map[string]any {
	name, ns, _ := strings.Cut(c.Name, nsSep)
	if ns == "" {
		name, ns = c.Name, ""
	} else {
		name, ns = ns, name
	}
	var item map[string]any
	if c.Custom {
		id := "ctc_" + tools.NewCallID("")
		item = map[string]any{"type": "custom_tool_call", "id": id, "call_id": c.ID, "name": name, "input": c.Input, "status": "completed"}
		if rs.stream {
			rs.event("response.output_item.added", map[string]any{"output_index": idx,
				"item": map[string]any{"type": "custom_tool_call", "id": id, "call_id": c.ID, "name": name, "input": "", "status": "in_progress"}})
			rs.event("response.custom_tool_call_input.delta", map[string]any{"item_id": id, "output_index": idx, "delta": c.Input})
			rs.event("response.custom_tool_call_input.done", map[string]any{"item_id": id, "output_index": idx, "input": c.Input})
		}
	} else {
		id := "fc_" + tools.NewCallID("")
		item = map[string]any{"type": "function_call", "id": id, "call_id": c.ID, "name": name, "arguments": c.Arguments, "status": "completed"}
		if ns != "" {
			item["namespace"] = ns
		}
		if rs.stream {
			added := map[string]any{"type": "function_call", "id": id, "call_id": c.ID, "name": name, "arguments": "", "status": "in_progress"}
			if ns != "" {
				added["namespace"] = ns
			}
			rs.event("response.output_item.added", map[string]any{"output_index": idx, "item": added})
			rs.event("response.function_call_arguments.delta", map[string]any{"item_id": id, "output_index": idx, "delta": c.Arguments})
			rs.event("response.function_call_arguments.done", map[string]any{"item_id": id, "output_index": idx, "arguments": c.Arguments})
		}
	}
	if rs.stream {
		rs.event("response.output_item.done", map[string]any{"output_index": idx, "item": item})
	}
	return item
}

var _ agentSink = (*respSink)(nil)
