package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/upstream"
)

// StreamResult is what one streamed answer looked like from the client.
type StreamResult struct {
	Start time.Time
	// TTFT is the time from sending the request (for the direct client:
	// from creating the session, as the gateway does per request) to the
	// first answer delta.
	TTFT time.Duration
	// Arrivals are the arrival times of the deltas relative to Start; kept
	// only when the load asks for them.
	Arrivals []time.Duration
	Deltas   int
	Bytes    int
	Err      error
}

func (r *StreamResult) delta(n int, record bool) {
	at := time.Since(r.Start)
	if r.Deltas == 0 {
		r.TTFT = at
	}
	r.Deltas++
	r.Bytes += n
	if record {
		r.Arrivals = append(r.Arrivals, at)
	}
}

// Streamer runs one streamed chat answer.
type Streamer interface {
	Stream(ctx context.Context, record bool) StreamResult
}

// Direct streams from the upstream itself with the gateway's own upstream
// client: createSession, then widgetStreamAssist parsed by ArrayScanner and
// Stream.Next — exactly the upstream work the gateway does for a new
// conversation, without the gateway's HTTP server and SSE encoding. It is
// the physical limit the gateway is compared with.
type Direct struct {
	Client  *upstream.Client
	Creds   []upstream.Credentials // used in turn
	Query   string
	ModelID string
	n       atomic.Uint64
}

// Stream implements Streamer.
func (d *Direct) Stream(ctx context.Context, record bool) (r StreamResult) {
	cr := d.Creds[int(d.n.Add(1)%uint64(len(d.Creds)))]
	r.Start = time.Now()
	session, err := d.Client.CreateSession(ctx, cr)
	if err != nil {
		r.Err = err
		return r
	}
	s, err := d.Client.StreamAssist(ctx, cr, upstream.AssistRequest{Session: session, Query: d.Query, ModelID: d.ModelID})
	if err != nil {
		r.Err = err
		return r
	}
	defer s.Close()
	for {
		ev, err := s.Next()
		if err == io.EOF {
			return r
		}
		if err != nil {
			r.Err = err
			return r
		}
		if ev.Kind == upstream.EventText {
			r.delta(len(ev.Text), record)
		}
	}
}

// SSE streams a chat completion from the gateway over HTTP and parses the
// server-sent events as an OpenAI client does: line by line, each data
// payload decoded as JSON, until data: [DONE].
//
// It is a measuring instrument, not the app's client (that is the
// openai-go SDK in app/controller_chat.go): it must cost the same per
// delta in every run and against both targets it compares (the gateway
// and the direct upstream client), record each delta's arrival time, and
// fail when [DONE] is missing, which the SDK treats as a normal end.
type SSE struct {
	HTTP   *http.Client
	URL    string // …/v1/chat/completions
	APIKey string
	Body   []byte // the request; it must ask for stream: true
}

// sseChunk is the part of a chat.completion.chunk (or error event) the
// client looks at.
type sseChunk struct {
	Choices []struct {
		Delta struct {
			Content   string `json:"content"`
			Reasoning string `json:"reasoning_content"`
		} `json:"delta"`
	} `json:"choices"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// Stream implements Streamer.
func (c *SSE) Stream(ctx context.Context, record bool) (r StreamResult) {
	r.Start = time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(c.Body))
	if err != nil {
		r.Err = err
		return r
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	if c.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		r.Err = err
		return r
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		r.Err = fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(b))
		return r
	}
	r.Err = parseSSE(resp.Body, func(text string) { r.delta(len(text), record) })
	// Read to the end (the terminating chunk after [DONE]) so that the
	// connection goes back to the pool: closing an unfinished body makes
	// net/http drop it, and the next request would pay for a new one.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return r
}

var errNoDone = errors.New("stream ended without data: [DONE]")

// parseSSE calls onText for every non-empty content delta and returns nil
// once data: [DONE] has been read.
func parseSSE(body io.Reader, onText func(string)) error {
	br := bufio.NewReaderSize(body, 8<<10)
	var ch sseChunk
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A frame longer than the buffer (not expected here): take
			// the slow path for this one line.
			rest, err2 := br.ReadBytes('\n')
			line, err = append(append([]byte(nil), line...), rest...), err2
		}
		if len(line) > 0 {
			line = bytes.TrimRight(line, "\r\n")
			payload, ok := bytes.CutPrefix(line, []byte("data:"))
			if ok {
				payload = bytes.TrimPrefix(payload, []byte(" "))
				if string(payload) == "[DONE]" {
					return nil
				}
				ch = sseChunk{}
				if jerr := json.Unmarshal(payload, &ch); jerr != nil {
					return fmt.Errorf("undecodable event %.80q: %w", payload, jerr)
				}
				if ch.Error != nil {
					return fmt.Errorf("error event: %s", ch.Error.Message)
				}
				for _, c := range ch.Choices {
					if c.Delta.Content != "" {
						onText(c.Delta.Content)
					}
				}
			}
		}
		if err == io.EOF {
			return errNoDone
		}
		if err != nil {
			return err
		}
	}
}
