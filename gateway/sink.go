package gateway

import (
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
	lastWrite time.Time
	first     time.Duration
	text      strings.Builder
	thought   strings.Builder
	err       error

	stopKeep chan struct{}
	keepDone chan struct{}
}

func newSSESink(w http.ResponseWriter, id string, created int64, model, reasoning string, keepAlive time.Duration, start time.Time) *sseSink {
	s := &sseSink{w: w, rc: http.NewResponseController(w), reasoning: reasoning, start: start,
		stopKeep: make(chan struct{}), keepDone: make(chan struct{}), lastWrite: time.Now()}
	s.sw = openai.NewStreamWriter(w, s.rc.Flush, id, created, model)
	go s.keepAlive(keepAlive)
	return s
}

// keepAlive sends an empty chunk whenever the stream has been silent for
// the interval.
func (s *sseSink) keepAlive(every time.Duration) {
	defer close(s.keepDone)
	t := time.NewTicker(every / 2)
	defer t.Stop()
	for {
		select {
		case <-s.stopKeep:
			return
		case now := <-t.C:
			s.mu.Lock()
			if !s.closed && s.err == nil && now.Sub(s.lastWrite) >= every {
				if s.commit() == nil {
					s.write(s.sw.KeepAlive())
				}
			}
			s.mu.Unlock()
		}
	}
}

// stop ends the keep-alive goroutine; it must run before the handler returns.
func (s *sseSink) stop() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	select {
	case <-s.stopKeep:
	default:
		close(s.stopKeep)
	}
	<-s.keepDone
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

func (s *sseSink) Begin(int) {}

// Thought implements pool.Sink.
func (s *sseSink) Thought(t string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.thought.WriteString(t)
	if s.reasoning == ReasoningOff {
		return s.err
	}
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
		return s.write(s.sw.Content(t))
	}
	return s.write(s.sw.Reasoning(t))
}

// Text implements pool.Sink.
func (s *sseSink) Text(t string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.commit(); err != nil {
		return err
	}
	s.markFirst()
	if s.thinkOpen {
		s.thinkOpen = false
		s.write(s.sw.Content("\n</think>\n\n"))
	}
	s.answered = true
	s.text.WriteString(t)
	return s.write(s.sw.Content(t))
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
	return true
}

// finish ends a successful stream: finish_reason, usage if asked, [DONE].
func (s *sseSink) finish(includeUsage bool, u openai.Usage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.commit() != nil {
		return
	}
	if s.thinkOpen {
		s.thinkOpen = false
		s.write(s.sw.Content("\n</think>\n\n"))
	}
	s.write(s.sw.Finish("stop"))
	if includeUsage {
		s.write(s.sw.Usage(u))
	}
	s.write(s.sw.Done())
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
