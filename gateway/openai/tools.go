package openai

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/gemgate/gemini-gateway/gateway/chat"
)

// decodeTools reads tools, functions, tool_choice, function_call and
// parallel_tool_calls. Tool types the gateway cannot emulate are refused by
// name; an unknown tool_choice string is refused rather than guessed.
func decodeTools(w *wireRequest, req *chat.Request) *Error {
	for i, t := range w.Tools {
		param := fmt.Sprintf("tools[%d]", i)
		switch {
		case t.Type == "custom" && t.Custom != nil:
			if t.Custom.Name == "" {
				return BadRequest(param+".custom.name", "invalid_tool", param+".custom.name is required.")
			}
			desc := t.Custom.Description
			if f := bytes.TrimSpace(t.Custom.Format); len(f) > 0 && string(f) != "null" {
				desc += "\nInput format: " + string(f)
			}
			req.Tools = append(req.Tools, chat.ToolDef{Name: t.Custom.Name, Description: desc, Custom: true})
		case (t.Type == "function" || t.Type == "") && t.Function != nil:
			if t.Function.Name == "" {
				return BadRequest(param+".function.name", "invalid_tool", param+".function.name is required.")
			}
			req.Tools = append(req.Tools, chat.ToolDef{Name: t.Function.Name, Description: t.Function.Description, Parameters: t.Function.Parameters})
		default:
			return BadRequest(param+".type", "unsupported_tool", fmt.Sprintf("%s.type %q is not supported; declare function tools.", param, t.Type))
		}
	}
	for i, f := range w.Functions {
		if f.Name == "" {
			return BadRequest(fmt.Sprintf("functions[%d].name", i), "invalid_tool", "Every function needs a name.")
		}
		req.Tools = append(req.Tools, chat.ToolDef{Name: f.Name, Description: f.Description, Parameters: f.Parameters})
	}
	choice := w.ToolChoice
	if len(bytes.TrimSpace(choice)) == 0 || string(bytes.TrimSpace(choice)) == "null" {
		choice = w.FunctionCall
	}
	tc, allowed, err := DecodeToolChoice(choice)
	if err != nil {
		err.Param = "tool_choice"
		return err
	}
	req.ToolChoice, req.Allowed = tc, allowed
	if w.ParallelToolCalls != nil && !*w.ParallelToolCalls {
		req.NoParallel = true
	}
	if tc.Mode == chat.ToolChoiceNamed && !hasTool(req.Tools, tc.Name) {
		return BadRequest("tool_choice", "unknown_tool", fmt.Sprintf("tool_choice names %q, which is not among the declared tools.", tc.Name))
	}
	return nil
}

func hasTool(ts []chat.ToolDef, name string) bool {
	for _, t := range ts {
		if t.Name == name {
			return true
		}
	}
	return false
}

// DecodeToolChoice reads a Chat Completions or Responses tool_choice:
// "none", "auto", "required", {"type":"function","function":{"name"}},
// {"type":"function","name"}, {"type":"custom","name"}, and
// {"type":"allowed_tools",…} (whose tool names come back as allowed).
// The legacy function_call ("none", "auto", {"name"}) is read too.
func DecodeToolChoice(raw json.RawMessage) (chat.ToolChoice, []string, *Error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return chat.ToolChoice{Mode: chat.ToolChoiceAuto}, nil, nil
	}
	if raw[0] == '"' {
		var s string
		json.Unmarshal(raw, &s)
		switch s {
		case "auto", "none", "required":
			return chat.ToolChoice{Mode: s}, nil, nil
		case "any":
			return chat.ToolChoice{Mode: chat.ToolChoiceRequired}, nil, nil
		}
		return chat.ToolChoice{}, nil, BadRequest("tool_choice", "invalid_tool_choice", fmt.Sprintf("tool_choice %q is not one of none, auto, required.", s))
	}
	var obj struct {
		Type     string `json:"type"`
		Name     string `json:"name"`
		Function *struct {
			Name string `json:"name"`
		} `json:"function"`
		Custom *struct {
			Name string `json:"name"`
		} `json:"custom"`
		Mode         string `json:"mode"`
		Tools        []json.RawMessage
		AllowedTools *struct {
			Mode  string            `json:"mode"`
			Tools []json.RawMessage `json:"tools"`
		} `json:"allowed_tools"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return chat.ToolChoice{}, nil, BadRequest("tool_choice", "invalid_tool_choice", "tool_choice must be a string or an object.")
	}
	if obj.Type == "allowed_tools" {
		mode, list := obj.Mode, obj.Tools
		if obj.AllowedTools != nil {
			mode, list = obj.AllowedTools.Mode, obj.AllowedTools.Tools
		}
		var names []string
		for _, t := range list {
			c, _, err := DecodeToolChoice(t)
			if err == nil && c.Name != "" {
				names = append(names, c.Name)
			}
		}
		if mode == "required" {
			return chat.ToolChoice{Mode: chat.ToolChoiceRequired}, names, nil
		}
		return chat.ToolChoice{Mode: chat.ToolChoiceAuto}, names, nil
	}
	name := obj.Name
	if obj.Function != nil && obj.Function.Name != "" {
		name = obj.Function.Name
	}
	if obj.Custom != nil && obj.Custom.Name != "" {
		name = obj.Custom.Name
	}
	switch {
	case name != "":
		return chat.ToolChoice{Mode: chat.ToolChoiceNamed, Name: name}, nil, nil
	case obj.Type == "auto" || obj.Type == "none" || obj.Type == "required":
		return chat.ToolChoice{Mode: obj.Type}, nil, nil
	case obj.Type == "any":
		return chat.ToolChoice{Mode: chat.ToolChoiceRequired}, nil, nil
	}
	return chat.ToolChoice{}, nil, BadRequest("tool_choice", "invalid_tool_choice", "tool_choice must name a function: {\"type\":\"function\",\"function\":{\"name\":…}}.")
}

// ToolCall is one call as the gateway emits it.
type ToolCall struct {
	ID        string
	Name      string
	Arguments string
}

// CompletionToolCall is a tool call in a non-streaming chat.completion.
type CompletionToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// WithToolCalls turns a completion into one that called tools:
// message.tool_calls and finish_reason "tool_calls". Content stays as the
// text the model wrote before the calls (null when there was none).
func (c *Completion) WithToolCalls(calls []ToolCall) {
	if len(calls) == 0 {
		return
	}
	ch := &c.Choices[0]
	ch.FinishReason = "tool_calls"
	for _, tc := range calls {
		var x CompletionToolCall
		x.ID, x.Type = tc.ID, "function"
		x.Function.Name, x.Function.Arguments = tc.Name, tc.Arguments
		ch.Message.ToolCalls = append(ch.Message.ToolCalls, x)
	}
}

// ToolCalls sends the calls, one chunk each with the whole arguments:
// delta.tool_calls[{index, id, type, function{name, arguments}}].
func (s *StreamWriter) ToolCalls(calls []ToolCall) error {
	for i, tc := range calls {
		s.buf = append(s.buf[:0], s.prefix...)
		s.buf = append(s.buf, `{"tool_calls":[{"index":`...)
		s.buf = append(s.buf, fmt.Sprint(i)...)
		s.buf = append(s.buf, `,"id":`...)
		s.buf = appendString(s.buf, tc.ID)
		s.buf = append(s.buf, `,"type":"function","function":{"name":`...)
		s.buf = appendString(s.buf, tc.Name)
		s.buf = append(s.buf, `,"arguments":`...)
		s.buf = appendString(s.buf, tc.Arguments)
		s.buf = append(s.buf, `}}]},"finish_reason":null}]}`+"\n\n"...)
		if err := s.send(); err != nil {
			return err
		}
	}
	return nil
}
