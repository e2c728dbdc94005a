package openai

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"strconv"
	"unicode/utf8"
)

// Usage is the token accounting of a completion.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// NewUsage fills the total.
func NewUsage(prompt, completion int) Usage {
	return Usage{PromptTokens: prompt, CompletionTokens: completion, TotalTokens: prompt + completion}
}

// NewCompletionID returns an id like "chatcmpl-5f2c…".
func NewCompletionID() string {
	var b [12]byte
	rand.Read(b[:])
	return "chatcmpl-" + hex.EncodeToString(b[:])
}

// Completion is a non-streaming chat.completion object.
type Completion struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"`
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []CompletionChoice `json:"choices"`
	Usage   Usage              `json:"usage"`
}

// CompletionChoice is the one choice the gateway returns.
type CompletionChoice struct {
	Index        int               `json:"index"`
	Message      CompletionMessage `json:"message"`
	FinishReason string            `json:"finish_reason"`
	Logprobs     *struct{}         `json:"logprobs"`
}

// CompletionMessage is the assistant's answer.
type CompletionMessage struct {
	Role             string               `json:"role"`
	Content          string               `json:"content"`
	ReasoningContent *string              `json:"reasoning_content,omitempty"`
	Refusal          *string              `json:"refusal"`
	ToolCalls        []CompletionToolCall `json:"tool_calls,omitempty"`
}

// NewCompletion assembles a chat.completion.
func NewCompletion(id string, created int64, model, content, reasoning string, u Usage) *Completion {
	c := &Completion{
		ID: id, Object: "chat.completion", Created: created, Model: model, Usage: u,
		Choices: []CompletionChoice{{
			Message:      CompletionMessage{Role: "assistant", Content: content},
			FinishReason: "stop",
		}},
	}
	if reasoning != "" {
		c.Choices[0].Message.ReasoningContent = &reasoning
	}
	return c
}

// Model is one entry of /v1/models.
type Model struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// ModelList is the /v1/models answer.
type ModelList struct {
	Object string  `json:"object"`
	Data   []Model `json:"data"`
}

// StreamWriter writes chat.completion.chunk frames as server-sent events,
// flushing after each one so every delta reaches the client at once. The
// JSON is appended by hand: this is the gateway's per-token hot path.
type StreamWriter struct {
	w      io.Writer
	flush  func() error
	prefix []byte // `data: {"id":…,"choices":[{"index":0,"delta":`
	head   []byte // `data: {"id":…,"model":…,` for choice-less chunks
	buf    []byte
	err    error
}

// NewStreamWriter prepares frames for one completion. flush may be nil.
func NewStreamWriter(w io.Writer, flush func() error, id string, created int64, model string) *StreamWriter {
	head := []byte(`data: {"id":`)
	head = appendString(head, id)
	head = append(head, `,"object":"chat.completion.chunk","created":`...)
	head = strconv.AppendInt(head, created, 10)
	head = append(head, `,"model":`...)
	head = appendString(head, model)
	head = append(head, ',')
	prefix := append(append([]byte(nil), head...), `"choices":[{"index":0,"delta":`...)
	return &StreamWriter{w: w, flush: flush, head: head, prefix: prefix, buf: make([]byte, 0, 512)}
}

// Err is the first write error (the client went away).
func (s *StreamWriter) Err() error { return s.err }

func (s *StreamWriter) send() error {
	if s.err != nil {
		return s.err
	}
	if _, err := s.w.Write(s.buf); err != nil {
		s.err = err
		return err
	}
	if s.flush != nil {
		if err := s.flush(); err != nil {
			s.err = err
		}
	}
	return s.err
}

func (s *StreamWriter) delta(key, text string) error {
	s.buf = append(s.buf[:0], s.prefix...)
	s.buf = append(s.buf, `{"`...)
	s.buf = append(s.buf, key...)
	s.buf = append(s.buf, `":`...)
	s.buf = appendString(s.buf, text)
	s.buf = append(s.buf, `},"finish_reason":null}]}`+"\n\n"...)
	return s.send()
}

// Role sends the first chunk: delta.role = "assistant" with empty content.
func (s *StreamWriter) Role() error {
	s.buf = append(s.buf[:0], s.prefix...)
	s.buf = append(s.buf, `{"role":"assistant","content":""},"finish_reason":null}]}`+"\n\n"...)
	return s.send()
}

// Content sends an answer delta.
func (s *StreamWriter) Content(text string) error { return s.delta("content", text) }

// Reasoning sends a reasoning delta (delta.reasoning_content).
func (s *StreamWriter) Reasoning(text string) error { return s.delta("reasoning_content", text) }

// KeepAlive sends a chunk that carries nothing. SSE comments would be
// simpler but break some clients' parsers.
func (s *StreamWriter) KeepAlive() error { return s.delta("content", "") }

// Finish sends the last choice chunk with its finish_reason.
func (s *StreamWriter) Finish(reason string) error {
	s.buf = append(s.buf[:0], s.prefix...)
	s.buf = append(s.buf, `{},"finish_reason":`...)
	s.buf = appendString(s.buf, reason)
	s.buf = append(s.buf, "}]}\n\n"...)
	return s.send()
}

// Usage sends the usage chunk (choices empty); only when the client asked.
func (s *StreamWriter) Usage(u Usage) error {
	s.buf = append(s.buf[:0], s.head...)
	s.buf = append(s.buf, `"choices":[],"usage":`...)
	b, _ := json.Marshal(u)
	s.buf = append(s.buf, b...)
	s.buf = append(s.buf, "}\n\n"...)
	return s.send()
}

// Error sends an OpenAI error event: what a stream that already started
// sends instead of an HTTP error status.
func (s *StreamWriter) Error(e *Error) error {
	s.buf = append(s.buf[:0], "data: "...)
	s.buf = append(s.buf, e.MarshalBody()...)
	s.buf = append(s.buf, "\n\n"...)
	return s.send()
}

// Done sends the terminating data: [DONE].
func (s *StreamWriter) Done() error {
	s.buf = append(s.buf[:0], "data: [DONE]\n\n"...)
	return s.send()
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD;
// U+2028/2029 are escaped for JavaScript consumers.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
