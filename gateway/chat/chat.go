// Package chat holds the gateway's own model of a chat request, independent
// of the OpenAI wire format that carries it in and of the upstream protocol
// that carries it out: the messages, their images, and the two pure
// functions the account pool needs from them — the flattened transcript a
// new upstream session receives, and the key that recognises a conversation
// it has seen before.
package chat

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"regexp"
	"strings"
)

// Role of a message, after normalisation (developer → system).
type Role string

const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// Image is an image attached to a message: decoded bytes, or an http(s)
// URL the gateway still has to fetch (Data is then nil).
type Image struct {
	MIME string
	Data []byte
	URL  string
}

// Message is one turn of the history.
type Message struct {
	Role   Role
	Text   string
	Images []Image
	// Files are the message's other attachments (files.go).
	Files []File
	// ToolCalls are an assistant's function calls. The upstream has no
	// function calling: gateway/tools renders them back into the prompt.
	ToolCalls []ToolCall
	// ToolCallID, ToolName and IsError describe a RoleTool message: the
	// call it answers, the tool's name when the client gave it, and
	// whether the tool failed.
	ToolCallID string
	ToolName   string
	IsError    bool
}

// ToolCall is one function call of an assistant turn.
type ToolCall struct {
	ID   string
	Name string
	// Arguments is a JSON object as text.
	Arguments string
}

// String renders the call as "name(arguments)".
func (c ToolCall) String() string { return c.Name + "(" + c.Arguments + ")" }

// ToolDef is a tool the client declares.
type ToolDef struct {
	Name        string
	Description string
	// Parameters is the JSON Schema of the arguments (nil = any object).
	Parameters json.RawMessage
	// Custom marks a tool that takes one raw text argument, "input"
	// (the Responses API's custom tools); its grammar is in Description.
	Custom bool
}

// Tool choice modes.
const (
	ToolChoiceAuto     = "auto"
	ToolChoiceNone     = "none"
	ToolChoiceRequired = "required"
	ToolChoiceNamed    = "named"
)

// ToolChoice says whether and which tool the model must call.
type ToolChoice struct {
	Mode string // one of the ToolChoice* constants; "" = auto
	Name string // ToolChoiceNamed
}

// Request is a decoded chat completion request.
type Request struct {
	Model        string
	Messages     []Message
	Stream       bool
	IncludeUsage bool

	Tools      []ToolDef
	ToolChoice ToolChoice
	// Allowed restricts the offered tools to these names (allowed_tools).
	Allowed []string
	// NoParallel asks for at most one call per turn.
	NoParallel bool
}

// ImagePlaceholder stands for an image of an earlier turn in a flattened
// transcript: only the newest user message's images are uploaded.
const ImagePlaceholder = "[image]"

// LastUser returns the index of the newest user message, or -1.
func LastUser(msgs []Message) int {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == RoleUser {
			return i
		}
	}
	return -1
}

// Flatten renders a whole history as the single query a new upstream
// session receives ("User: …\n\nAssistant: …"), as the Python gateway did.
// A lone user message is sent as it is. Images outside the newest user
// message become ImagePlaceholder.
func Flatten(msgs []Message) string {
	if len(msgs) == 1 && msgs[0].Role == RoleUser {
		return msgs[0].Text
	}
	last := LastUser(msgs)
	var b strings.Builder
	for i, m := range msgs {
		if i > 0 {
			b.WriteString("\n\n")
		}
		switch m.Role {
		case RoleSystem:
			b.WriteString("System: ")
		case RoleAssistant:
			b.WriteString("Assistant: ")
		case RoleTool:
			b.WriteString("Tool Output: ")
		default:
			b.WriteString("User: ")
		}
		b.WriteString(m.Text)
		if m.Role == RoleAssistant {
			for _, c := range m.ToolCalls {
				b.WriteString("\n[Call Tool: ")
				b.WriteString(c.String())
				b.WriteString("]")
			}
		}
		if i != last {
			for range m.Images {
				b.WriteString(" ")
				b.WriteString(ImagePlaceholder)
			}
			for _, f := range m.Files {
				b.WriteString(" ")
				b.WriteString(FilePlaceholder(f))
			}
		}
	}
	return b.String()
}

// Continuation is the query for a session that already holds everything
// before the newest user message: that message alone, plus any tool output
// that followed it (a client answering tool calls).
func Continuation(msgs []Message) string {
	last := LastUser(msgs)
	if last < 0 {
		return Flatten(msgs)
	}
	if last == len(msgs)-1 {
		return msgs[last].Text
	}
	return Flatten(msgs[last:])
}

// Key identifies a conversation state: a hash of every message's role, text
// and images. Two chats that start alike differ as soon as any message does.
type Key [32]byte

// thinkBlock matches reasoning a client echoes back inside assistant text
// when the gateway streamed it as <think> tags.
var thinkBlock = regexp.MustCompile(`(?s)^\s*<think>.*?</think>\s*`)

// KeyOf hashes msgs. Assistant text is normalised (surrounding space and a
// leading <think> block dropped) because clients echo answers back with
// small differences.
func KeyOf(msgs []Message) Key {
	h := sha256.New()
	var n [8]byte
	write := func(s string) {
		binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	for _, m := range msgs {
		write(string(m.Role))
		text := m.Text
		if m.Role == RoleAssistant {
			text = thinkBlock.ReplaceAllString(text, "")
		}
		write(strings.TrimSpace(text))
		for _, c := range m.ToolCalls {
			write(c.Name)
			write(c.Arguments)
		}
		for _, img := range m.Images {
			if img.URL != "" {
				// Hash what the client sends, not what was fetched, so the
				// key is the same before and after the fetch.
				write(img.URL)
				continue
			}
			sum := sha256.Sum256(img.Data)
			write(string(sum[:]))
		}
		for _, f := range m.Files {
			write(f.Name)
			if f.URL != "" {
				write(f.URL)
				continue
			}
			sum := sha256.Sum256(f.Data)
			write(string(sum[:]))
		}
	}
	var k Key
	h.Sum(k[:0])
	return k
}
