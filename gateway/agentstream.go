package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/chat"
	"github.com/gemgate/gemini-gateway/gateway/openai"
	"github.com/gemgate/gemini-gateway/gateway/pool"
	"github.com/gemgate/gemini-gateway/gateway/tools"
)

// The agent endpoints, /v1/messages (anthropic.go) and /v1/responses
// (responses.go), answer the same way: the request goes through the tool
// plan and the pool (serveAgentTurn), the answer text streams as
// server-sent events, and the parsed tool calls come at the end. This file
// holds what they share; each dialect's file holds only its wire shapes.

// agentSink is a dialect's answer writer as serveAgentTurn drives it.
type agentSink interface {
	pool.Sink
	ttft() time.Duration
	// fail reports a failure in the dialect's shape: an error event once
	// the stream has started, else an HTTP error.
	fail(e *openai.Error)
	// complete sends the calls and the end of the answer (the whole answer
	// when not streaming); out is the answer's estimated token count.
	complete(calls []tools.Call, out int)
}

// serveAgentTurn runs a decoded agent request through its tool plan and
// the pool into sink, and fills the request's log line.
func (s *Server) serveAgentTurn(r *http.Request, req *chat.Request, preq *pool.Request, sink agentSink) {
	ri := infoFrom(r.Context())
	plan := tools.Prepare(req)
	preq.Messages, preq.Suffix = plan.Messages, plan.Suffix
	if req.Stream {
		s.streams.Add(1)
		defer s.streams.Add(-1)
	}
	t, err := s.runTurn(r.Context(), plan, preq, sink)
	ri.servedBy(t.res)
	ri.TTFT = sink.ttft()
	if err != nil {
		oe := toOpenAIError(err)
		ri.errCode = oe.Code
		sink.fail(oe)
		return
	}
	ri.OutputTokens = max(1, openai.EstimateTokens(t.text)) + callTokens(t.calls)
	sink.complete(t.calls, ri.OutputTokens)
}

// agentStream is the stream-assembly core of an agent sink: the answer
// text of the current attempt, the time to the first token, the SSE
// headers and events, and the first write error. Nothing is written
// before the first answer text, so a failure before it is a real HTTP
// status and another account may still take over.
//
// A dialect embeds it and tells it, through streamDialect, which events
// open a stream and which carry a piece of text.
type agentStream struct {
	w      http.ResponseWriter
	rc     *http.ResponseController
	stream bool
	start  time.Time
	d      streamDialect

	mu        sync.Mutex
	committed bool
	text      strings.Builder
	first     time.Duration
	err       error
}

// streamDialect writes one API's events; its methods run with the
// agentStream's mu held, and only when streaming.
type streamDialect interface {
	// opened writes what follows the headers of a new stream.
	opened()
	// delta writes one piece of answer text.
	delta(text string)
}

func newAgentStream(w http.ResponseWriter, stream bool, start time.Time, d streamDialect) agentStream {
	return agentStream{w: w, rc: http.NewResponseController(w), stream: stream, start: start, d: d}
}

// Begin implements pool.Sink: an attempt that is not streamed starts its
// text afresh.
func (a *agentStream) Begin(int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.stream {
		a.text.Reset()
	}
}

// Thought implements pool.Sink: the agent dialects show no thoughts.
func (a *agentStream) Thought(string) error { return nil }

// Text implements pool.Sink.
func (a *agentStream) Text(t string) error {
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
	a.d.delta(t)
	a.flush()
	return a.err
}

// AnswerStarted implements pool.Sink.
func (a *agentStream) AnswerStarted() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.committed
}

func (a *agentStream) ttft() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.first
}

// commit sends the headers and the dialect's opening events once; mu held.
func (a *agentStream) commit() {
	if a.committed {
		return
	}
	a.committed = true
	h := a.w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	a.w.WriteHeader(http.StatusOK)
	a.d.opened()
}

// event writes one event, its type also in fields["type"]; mu held.
func (a *agentStream) event(typ string, fields map[string]any) {
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

// flush sends what is written; mu held.
func (a *agentStream) flush() {
	if a.err == nil {
		if err := a.rc.Flush(); err != nil {
			a.err = err
		}
	}
}

// failStream ends a started stream with what streamed writes (mu held),
// or, when nothing was sent yet, answers with plain, an HTTP error.
func (a *agentStream) failStream(streamed, plain func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.committed {
		plain()
		return
	}
	streamed()
	a.flush()
}
