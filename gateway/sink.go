package gateway

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/openai"
)

// sseSink streams an answer to the client as chat.completion.chunk events.
//
// Nothing is written until the first reasoning or answer delta, so that a
// failure before it can still be a plain HTTP error (and another account can
// take over unnoticed). If the upstream stays silent for a whole keep-alive
// interval, the sink commits anyway — headers, the role chunk, then an
// empty chunk every interval — because clients give up on a silent
// connection; failover still works after that, as long as no answer text
// has been sent.
//
// Writes are buffered: the pool calls Flush whenever it is about to wait
// for the upstream (pool.Flusher), so deltas that arrived in one read
// leave in one write, and none waits in the buffer while the gateway
// waits. The first delta — headers, role chunk and text together — and
// keep-alives are flushed at once.
type sseSink struct {
	w         http.ResponseWriter
	rc        *http.ResponseController
	sw        *openai.StreamWriter
	reasoning string
	start     time.Time

	mu        sync.Mutex
	committed bool
	answered  bool
	thinkOpen bool
	closed    bool
	dirty     bool // written since the last flush
	lastWrite time.Time
	first     time.Duration
	text      strings.Builder
	thought   strings.Builder
	err       error

	// keep fires when the stream may have been silent for every; a timer
	// rather than a goroutine per stream, which would cost a stack and a
	// wake-up per tick for each of a thousand open streams.
	keep  *time.Timer
	every time.Duration
}

func newSSESink(w http.ResponseWriter, id string, created int64, model, reasoning string, keepAlive time.Duration, start time.Time) *sseSink {
	s := &sseSink{w: w, rc: http.NewResponseController(w), reasoning: reasoning, start: start,
		every: keepAlive, lastWrite: time.Now()}
	s.sw = openai.NewStreamWriter(w, s.markDirty, id, created, model)
	// Under s.mu so that keepAlive, which reads s.keep under it, cannot
	// run before the assignment.
	s.mu.Lock()
	s.keep = time.AfterFunc(keepAlive, s.keepAlive)
	s.mu.Unlock()
	return s
}

// keepAlive sends an empty chunk when the stream has been silent for the
// whole interval, and re-arms itself for the moment the current silence
// would reach it.
func (s *sseSink) keepAlive() {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() {
		// This runs on a timer goroutine: a panic here must not end the
		// process. The stream is treated as broken.
		if v := recover(); v != nil && s.err == nil {
			s.err = fmt.Errorf("keep-alive failed: %v", v)
		}
	}()
	if s.closed || s.err != nil {
		return
	}
	if silent := time.Since(s.lastWrite); silent < s.every {
		s.keep.Reset(s.every - silent)
		return
	}
	if s.commit() == nil {
		s.write(s.sw.KeepAlive())
		s.flush()
	}
	s.keep.Reset(s.every)
}

// stop ends the keep-alives; it must run before the handler returns. A
// keep-alive already running finishes first (it holds s.mu); one that
// fires later sees closed and writes nothing.
func (s *sseSink) stop() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.keep.Stop()
}

// commit sends the headers and the role chunk once; s.mu held.
func (s *sseSink) commit() error {
	if s.committed {
		return s.err
	}
	s.committed = true
	h := s.w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
	s.w.WriteHeader(http.StatusOK)
	return s.write(s.sw.Role())
}

// markDirty is the StreamWriter's flush: it only notes that there is
// something to flush; s.mu held.
func (s *sseSink) markDirty() error {
	s.dirty = true
	return nil
}

// flush sends what is buffered; s.mu held. It never sends the headers of
// an uncommitted stream: until the first delta, failure can still be an
// HTTP error.
func (s *sseSink) flush() error {
	if !s.dirty || !s.committed {
		return s.err
	}
	s.dirty = false
	return s.write(s.rc.Flush())
}

// Flush implements pool.Flusher.
func (s *sseSink) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flush()
}

func (s *sseSink) write(err error) error {
	s.lastWrite = time.Now()
	if err != nil && s.err == nil {
		s.err = err
	}
	return s.err
}

func (s *sseSink) markFirst() {
	if s.first == 0 {
		s.first = time.Since(s.start)
	}
}

// Begin implements pool.Sink; a new attempt first sends what an earlier
// one left buffered.
func (s *sseSink) Begin(int) { s.Flush() }

// Thought implements pool.Sink.
func (s *sseSink) Thought(t string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.thought.WriteString(t)
	if s.reasoning == ReasoningOff {
		return s.err
	}
	first := !s.committed
	if err := s.commit(); err != nil {
		return err
	}
	s.markFirst()
	if s.reasoning == ReasoningThink {
		if !s.thinkOpen {
			if s.answered {
				// Thoughts after the answer started are not shown as a
				// second think block: it would land inside the answer.
				return s.err
			}
			s.thinkOpen = true
			s.write(s.sw.Content("<think>\n"))
		}
		s.write(s.sw.Content(t))
	} else {
		s.write(s.sw.Reasoning(t))
	}
	if first {
		// The first token goes out at once, whatever follows.
		return s.flush()
	}
	return s.err
}

// Text implements pool.Sink.
func (s *sseSink) Text(t string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	first := !s.committed
	if err := s.commit(); err != nil {
		return err
	}
	s.markFirst()
	s.closeThink()
	s.answered = true
	s.text.WriteString(t)
	s.write(s.sw.Content(t))
	if first {
		return s.flush()
	}
	return s.err
}

// AnswerStarted implements pool.Sink.
func (s *sseSink) AnswerStarted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.answered
}

// fail ends a committed stream with an error event and [DONE]; it returns
// false when nothing was sent yet and the caller should answer with an HTTP
// error instead.
func (s *sseSink) fail(e *openai.Error) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if !s.committed {
		return false
	}
	s.write(s.sw.Error(e))
	s.write(s.sw.Done())
	s.flush()
	return true
}

// finish ends a successful stream: the tool calls if any, finish_reason
// ("tool_calls" or "stop"), usage if asked, [DONE].
func (s *sseSink) finish(calls []openai.ToolCall, includeUsage bool, u openai.Usage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.commit() != nil {
		return
	}
	s.closeThink()
	if len(calls) > 0 {
		s.write(s.sw.ToolCalls(calls))
		s.write(s.sw.Finish("tool_calls"))
	} else {
		s.write(s.sw.Finish("stop"))
	}
	if includeUsage {
		s.write(s.sw.Usage(u))
	}
	s.write(s.sw.Done())
	s.flush()
}

// closeThink ends an open <think> block; s.mu held.
func (s *sseSink) closeThink() {
	if s.thinkOpen {
		s.thinkOpen = false
		s.write(s.sw.Content("\n</think>\n\n"))
	}
}

// content is the answer text as the client saw it.
func (s *sseSink) content() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.text.String()
}

func (s *sseSink) completionTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return max(1, openai.EstimateTokens(s.text.String())+openai.EstimateTokens(s.thought.String()))
}

func (s *sseSink) ttft() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first
}
