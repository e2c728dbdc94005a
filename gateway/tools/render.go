package tools

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"

	"github.com/gemgate/gemini-gateway/gateway/chat"
)

// Markers the prompt uses; the fake upstream reads them the way a model
// would (by their text), so change them together with its agent responder.
const (
	openTag      = "<tool_calls"
	closeTag     = "</tool_calls>"
	resultOpen   = "<tool_result"
	resultClose  = "</tool_result>"
	exampleTool  = "get_weather"
	maxShownArgs = 400
)

// renderHistory turns the client's history into upstream messages: the
// tool block as a system message after the client's own system messages,
// assistant calls in the call syntax, and tool results (with whatever user
// text directly follows them) as one user message.
func (p *Plan) renderHistory(msgs []chat.Message) []chat.Message {
	calls := map[string]chat.ToolCall{}
	for _, m := range msgs {
		for _, c := range m.ToolCalls {
			if c.ID != "" {
				calls[c.ID] = c
			}
		}
	}
	out := make([]chat.Message, 0, len(msgs)+1)
	lead := 0
	for lead < len(msgs) && msgs[lead].Role == chat.RoleSystem {
		lead++
	}
	for i := 0; i < len(msgs); i++ {
		if i == lead && p.Active() {
			out = append(out, chat.Message{Role: chat.RoleSystem, Text: p.toolBlock()})
		}
		m := msgs[i]
		switch {
		case m.Role == chat.RoleAssistant && len(m.ToolCalls) > 0:
			out = append(out, chat.Message{Role: chat.RoleAssistant, Text: p.RenderAnswer(m.Text, toCalls(m.ToolCalls)), Images: m.Images})
		case m.Role == chat.RoleTool:
			merged := chat.Message{Role: chat.RoleUser}
			var b strings.Builder
			for ; i < len(msgs) && msgs[i].Role == chat.RoleTool; i++ {
				if b.Len() > 0 {
					b.WriteString("\n\n")
				}
				t := msgs[i]
				c, ok := calls[t.ToolCallID]
				if !ok {
					c = chat.ToolCall{ID: t.ToolCallID, Name: t.ToolName}
				}
				renderResult(&b, c, t.Text, t.IsError)
				merged.Images = append(merged.Images, t.Images...)
			}
			if i < len(msgs) && msgs[i].Role == chat.RoleUser {
				b.WriteString("\n\n")
				b.WriteString(msgs[i].Text)
				merged.Images = append(merged.Images, msgs[i].Images...)
			} else {
				i--
			}
			merged.Text = b.String()
			out = append(out, merged)
		default:
			out = append(out, m)
		}
	}
	if lead == len(msgs) && p.Active() {
		out = append(out, chat.Message{Role: chat.RoleSystem, Text: p.toolBlock()})
	}
	return out
}

func toCalls(cs []chat.ToolCall) []Call {
	out := make([]Call, len(cs))
	for i, c := range cs {
		out[i] = Call{ID: c.ID, Name: c.Name, Arguments: c.Arguments}
	}
	return out
}

// RenderAnswer is an assistant turn as the upstream saw it: the text the
// model wrote, then its calls in the call syntax. The same function renders
// the answer the gateway remembers and the history the client sends back,
// so the two match byte for byte.
func (p *Plan) RenderAnswer(text string, calls []Call) string {
	if len(calls) == 0 {
		return text
	}
	var b strings.Builder
	if t := strings.TrimSpace(text); t != "" {
		b.WriteString(t)
		b.WriteString("\n\n")
	}
	b.WriteString(openTag + ` nonce="` + p.Nonce + "\">\n")
	for _, c := range calls {
		b.WriteString(`<call name="` + c.Name + "\">\n")
		writeArgs(&b, c.Arguments)
		b.WriteString("</call>\n")
	}
	b.WriteString(closeTag)
	return b.String()
}

// writeArgs writes a JSON object's members as <arg> elements in key order:
// strings raw, anything else as compact JSON. Arguments that are not an
// object are written as they are.
func writeArgs(b *strings.Builder, args string) {
	var obj map[string]json.RawMessage
	if json.Unmarshal([]byte(args), &obj) != nil {
		if t := strings.TrimSpace(args); t != "" && t != "{}" {
			b.WriteString(t)
			b.WriteByte('\n')
		}
		return
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(`<arg name="` + k + `">`)
		v := bytes.TrimSpace(obj[k])
		var s string
		if len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &s) == nil {
			b.WriteString(s)
		} else {
			var buf bytes.Buffer
			if json.Compact(&buf, v) == nil {
				b.Write(buf.Bytes())
			} else {
				b.Write(v)
			}
		}
		b.WriteString("</arg>\n")
	}
}

func renderResult(b *strings.Builder, c chat.ToolCall, content string, isErr bool) {
	name := c.Name
	if name == "" {
		name = "unknown"
	}
	status := "ok"
	if isErr {
		status = "error"
	}
	b.WriteString(resultOpen + ` name="` + name + `" status="` + status + "\">\n")
	if args := strings.TrimSpace(c.Arguments); args != "" && args != "{}" {
		var buf bytes.Buffer
		if json.Compact(&buf, []byte(args)) == nil {
			args = buf.String()
		}
		if len(args) > maxShownArgs {
			args = truncateUTF8(args, maxShownArgs) + "…"
		}
		b.WriteString("Called with: " + args + "\n")
	}
	if isErr {
		b.WriteString("The tool FAILED:\n")
	}
	b.WriteString(content)
	if !strings.HasSuffix(content, "\n") {
		b.WriteByte('\n')
	}
	b.WriteString(resultClose)
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// toolBlock is the system message that declares the tools, the syntax and
// a worked example with a tool the client does not have.
func (p *Plan) toolBlock() string {
	var b strings.Builder
	b.WriteString("# Tools\n\nYou are connected to tools that run on the user's machine. Call them by writing a tool call block (syntax below); the gateway runs nothing itself, the user's program executes the calls and sends you their results in the next message. These are the tools available to you:\n\n")
	for _, t := range p.Offered {
		b.WriteString("### " + t.Name + "\n")
		if d := strings.TrimSpace(t.Description); d != "" {
			b.WriteString(d)
			b.WriteString("\n")
		}
		if t.Custom {
			b.WriteString("This tool takes exactly one argument, `input`: raw text in the format described above (not JSON).\n\n")
			continue
		}
		b.WriteString("Arguments (JSON Schema): ")
		b.WriteString(compactSchema(t.Parameters))
		b.WriteString("\n\n")
	}
	nonce := p.Nonce
	b.WriteString("## How to call tools\n\nTo call tools, write a block exactly in this form:\n\n")
	b.WriteString(openTag + ` nonce="` + nonce + "\">\n<call name=\"TOOL_NAME\">\n<arg name=\"ARGUMENT_NAME\">value</arg>\n</call>\n" + closeTag + "\n\n")
	b.WriteString("Rules:\n")
	if p.NoParallel {
		b.WriteString("1. Call at most ONE tool per answer: one <call> element in the block.\n")
	} else {
		b.WriteString("1. Put ALL the calls of this answer in ONE block, one <call> element per call.\n")
	}
	b.WriteString("2. Write argument values raw, exactly as they should arrive: no quotes around strings, no escaping. File contents, code and patches go in verbatim. Values that are not strings (numbers, booleans, arrays, objects) are written as JSON.\n")
	b.WriteString("3. Use the tool and argument names exactly as declared above, and give every required argument.\n")
	b.WriteString("4. Always write nonce=\"" + nonce + "\" in the opening tag.\n")
	b.WriteString("5. After " + closeTag + " STOP: write nothing more. The results arrive in the next message; never invent them.\n")
	b.WriteString("6. Do not wrap the block in a markdown code block: code blocks are shown, not executed.\n")
	b.WriteString("7. You do have these tools. Never claim you cannot read files, write files or run commands.\n")
	b.WriteString("8. When no tool is needed, answer in plain text without a block.\n\n")
	b.WriteString("## Example\n\n(With a tool named " + exampleTool + ", which is NOT one of your tools.)\n\nUser: What is the weather in Paris?\n\nAssistant:\n")
	b.WriteString(openTag + ` nonce="` + nonce + "\">\n<call name=\"" + exampleTool + "\">\n<arg name=\"city\">Paris</arg>\n<arg name=\"unit\">celsius</arg>\n</call>\n" + closeTag + "\n\n")
	b.WriteString("User:\n" + resultOpen + ` name="` + exampleTool + "\" status=\"ok\">\n{\"temperature\": 18, \"sky\": \"sunny\"}\n" + resultClose + "\n\n")
	b.WriteString("Assistant: It is 18 °C and sunny in Paris.")
	return b.String()
}

// reminder is the last thing the model reads before its turn: long agent
// prompts otherwise drown the format instructions.
func (p *Plan) reminder() string {
	var b strings.Builder
	b.WriteString("[Tool call format reminder: to call tools, answer with ONE " + openTag + ` nonce="` + p.Nonce + "\"> block as described in the Tools section (raw argument values, nothing after " + closeTag + "). ")
	switch p.Choice.Mode {
	case chat.ToolChoiceRequired:
		b.WriteString("You MUST call at least one tool now.")
	case chat.ToolChoiceNamed:
		b.WriteString("You MUST call the tool " + p.Choice.Name + " now.")
	default:
		b.WriteString("If no tool is needed, answer in plain text.")
	}
	if p.NoParallel {
		b.WriteString(" One call at a time.")
	}
	b.WriteString("]")
	return b.String()
}

// Reask is the follow-up turn sent once when a call was required and none
// parsed.
func (p *Plan) Reask() string {
	name := "one of the tools"
	if p.Choice.Mode == chat.ToolChoiceNamed {
		name = "the tool " + p.Choice.Name
	}
	return "Your answer did not contain a valid tool call block. You must call " + name + " now. Answer with ONLY the " + openTag + ` nonce="` + p.Nonce + "\"> block, in exactly the format described in the Tools section, and nothing else."
}

// compactSchema keeps the schema as written (required, enum and
// descriptions intact) minus noise a model does not need.
func compactSchema(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return `{"type":"object"}`
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	if m, ok := v.(map[string]any); ok {
		delete(m, "$schema")
		delete(m, "additionalProperties")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return strings.TrimSpace(buf.String())
}
