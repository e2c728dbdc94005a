package gateway

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/openai"
)

// hasBody reports whether a request carries a body to read.
func hasBody(r *http.Request) bool {
	return r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
}

// bodyBudget bounds the request-body bytes held at once across all
// requests, so many large bodies together cannot exhaust memory.
type bodyBudget struct {
	mu   sync.Mutex
	used int64
}

func (b *bodyBudget) take(n, max int64) bool {
	if max <= 0 {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > max {
		return false
	}
	b.used += n
	return true
}

func (b *bodyBudget) give(n int64) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
}

// InFlightBodyBytes is the request-body bytes held right now.
func (s *Server) InFlightBodyBytes() int64 {
	s.budget.mu.Lock()
	defer s.budget.mu.Unlock()
	return s.budget.used
}

const bodyChunk = 64 << 10

// readBody reads the whole body within MaxBodyBytes, ReadBodyTimeout and
// the budget of body bytes in flight; done gives the bytes back to the
// budget when the request ends.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, cfg Config) (body []byte, done func(), oerr *openai.Error) {
	var held int64
	done = func() { s.budget.give(held) }
	defer func() {
		if oerr != nil {
			// The rest of the body stays unread: close the connection
			// after the answer instead of waiting for it.
			w.Header().Set("Connection", "close")
		}
	}()
	tooLarge := openai.NewError(http.StatusRequestEntityTooLarge, openai.TypeInvalidRequest, "request_too_large",
		"The request body is larger than the limit of "+byteSize(cfg.MaxBodyBytes)+" (MAX_BODY_BYTES).")
	busy := openai.NewError(http.StatusServiceUnavailable, openai.TypeUnavailable, "server_busy",
		"The gateway is holding as many request bodies as it may (MAX_BODY_BYTES_IN_FLIGHT); try again shortly.")
	busy.RetryAfter = 1
	if r.ContentLength > cfg.MaxBodyBytes {
		return nil, done, tooLarge
	}
	rc := http.NewResponseController(w)
	if cfg.ReadBodyTimeout > 0 {
		// Not supported by every ResponseWriter (httptest's recorder);
		// the listener's always is.
		if rc.SetReadDeadline(time.Now().Add(cfg.ReadBodyTimeout)) == nil {
			defer func() {
				if oerr == nil {
					rc.SetReadDeadline(time.Time{})
				}
			}()
		}
	}
	if r.ContentLength > 0 {
		if !s.budget.take(r.ContentLength, cfg.MaxBodyBytesInFlight) {
			return nil, done, busy
		}
		held = r.ContentLength
		body = make([]byte, 0, r.ContentLength)
	}
	for {
		if r.ContentLength > 0 && int64(len(body)) == r.ContentLength {
			return body, done, nil // net/http stops a body at its Content-Length
		}
		if int64(len(body)) == int64(cap(body)) {
			grow := min(int64(bodyChunk), cfg.MaxBodyBytes+1-int64(len(body)))
			if grow <= 0 {
				return nil, done, tooLarge
			}
			if int64(len(body))+grow > held {
				extra := int64(len(body)) + grow - held
				if !s.budget.take(extra, cfg.MaxBodyBytesInFlight) {
					return nil, done, busy
				}
				held += extra
			}
			nb := make([]byte, len(body), int64(len(body))+grow)
			copy(nb, body)
			body = nb
		}
		n, err := r.Body.Read(body[len(body):cap(body)])
		body = body[:len(body)+n]
		if int64(len(body)) > cfg.MaxBodyBytes {
			return nil, done, tooLarge
		}
		if errors.Is(err, io.EOF) {
			return body, done, nil
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
				return nil, done, openai.NewError(http.StatusRequestTimeout, openai.TypeInvalidRequest, "request_timeout",
					fmt.Sprintf("The request body did not arrive within %s (READ_BODY_TIMEOUT).", cfg.ReadBodyTimeout))
			}
			return nil, done, openai.BadRequest("", "read_error", "Could not read the request body.")
		}
	}
}
