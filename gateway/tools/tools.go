// Package tools emulates function calling for an upstream that only takes
// text in and streams text out. It renders the declared tools, the format
// the model must answer in and the earlier calls and results into the
// prompt (render.go), and it parses the answer as it streams: text passes
// through at once, a call block is collected, parsed, repaired and checked
// against the tools' schemas (parser.go, block.go, loosejson.go, match.go).
//
// The call syntax is an envelope the model is unlikely to write by accident,
// carrying a nonce derived from the conversation, with raw (unescaped)
// argument values so that file bodies and patches survive:
//
//	<tool_calls nonce="k7q2m9">
//	<call name="write">
//	<arg name="filePath">/abs/path/hello.txt</arg>
//	<arg name="content">hello
//	</arg>
//	</call>
//	</tool_calls>
//
// The package is pure: no I/O, no HTTP, no clock.
package tools

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"strings"

	"github.com/gemgate/gemini-gateway/gateway/chat"
)

// Call is one parsed tool call.
type Call struct {
	ID   string
	Name string // the declared name
	// Arguments is a JSON object as text; for a custom tool {"input":…}.
	Arguments string
	// Custom is set for a custom tool; Input is then its raw input.
	Custom bool
	Input  string
	// Problems are schema mismatches found in the arguments (missing
	// required keys, wrong types, values outside an enum). They do not
	// stop the call: the client validates again and reports errors back
	// to the model, which corrects itself.
	Problems []string
}

// DefaultMaxBlock caps the bytes collected for one call block; past it the
// block is given back as text.
const DefaultMaxBlock = 1 << 20

// Plan is a request prepared for the upstream: the messages rendered with
// the tool block, earlier calls and results, the reminder to append to
// the query, and what the parser needs.
type Plan struct {
	Nonce string
	// Offered are the tools shown to the model (after tool_choice and
	// allowed_tools); calls are matched against them.
	Offered    []chat.ToolDef
	Choice     chat.ToolChoice
	NoParallel bool
	// Messages are the rendered history. Their keys are stable from one
	// turn to the next, so upstream sessions are reused.
	Messages []chat.Message
	// Suffix goes at the very end of the query, after the newest message
	// (the format reminder).
	Suffix string
	// MaxBlock caps a collected call block (DefaultMaxBlock when 0).
	MaxBlock int

	schemas map[string]schema // parsed lazily, per offered tool
}

// Active reports whether answers are parsed for calls.
func (p *Plan) Active() bool {
	return p != nil && len(p.Offered) > 0 && p.Choice.Mode != chat.ToolChoiceNone
}

// Required reports whether the model must call a tool this turn.
func (p *Plan) Required() bool {
	return p.Active() && (p.Choice.Mode == chat.ToolChoiceRequired || p.Choice.Mode == chat.ToolChoiceNamed)
}

// Needed reports whether a request needs tool handling at all: tools are
// declared or the history holds calls or results. Without it the plain
// chat path runs untouched.
func Needed(req *chat.Request) bool {
	if len(req.Tools) > 0 {
		return true
	}
	for _, m := range req.Messages {
		if m.Role == chat.RoleTool || len(m.ToolCalls) > 0 {
			return true
		}
	}
	return false
}

// Prepare renders a request for the upstream.
func Prepare(req *chat.Request) *Plan {
	p := &Plan{Nonce: NonceOf(req.Messages), Choice: req.ToolChoice, NoParallel: req.NoParallel}
	if p.Choice.Mode == "" {
		p.Choice.Mode = chat.ToolChoiceAuto
	}
	p.Offered = offered(req)
	p.Messages = p.renderHistory(req.Messages)
	if p.Active() {
		p.Suffix = p.reminder()
	}
	return p
}

func offered(req *chat.Request) []chat.ToolDef {
	if req.ToolChoice.Mode == chat.ToolChoiceNone {
		return nil
	}
	var out []chat.ToolDef
	for _, t := range req.Tools {
		if req.ToolChoice.Mode == chat.ToolChoiceNamed && t.Name != req.ToolChoice.Name {
			continue
		}
		if len(req.Allowed) > 0 && !contains(req.Allowed, t.Name) {
			continue
		}
		out = append(out, t)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var nonceEnc = base32.NewEncoding("abcdefghijkmnpqrstuvwxyz23456789").WithPadding(base32.NoPadding)

// NonceOf derives the conversation's nonce from its first user message,
// which every later turn repeats: the nonce stays the same for the whole
// conversation, so earlier turns re-rendered with it match what an
// upstream session already holds.
func NonceOf(msgs []chat.Message) string {
	h := sha256.New()
	h.Write([]byte("gemini-gateway tool nonce\x00"))
	for _, m := range msgs {
		if m.Role == chat.RoleUser {
			h.Write([]byte(m.Text))
			break
		}
	}
	sum := h.Sum(nil)
	return nonceEnc.EncodeToString(sum[:5])[:6]
}

// NewCallID returns a fresh id with the prefix ("call_", "toolu_", "fc_").
func NewCallID(prefix string) string {
	var b [15]byte
	rand.Read(b[:])
	return prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}
