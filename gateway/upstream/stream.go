package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// AssistRequest is one widgetStreamAssist turn.
type AssistRequest struct {
	Session string   // full session name from CreateSession
	Query   string   // the prompt text
	FileIDs []string // files uploaded into this same session
	// ModelID is the upstream model id; "" lets the server choose
	// (assistGenerationConfig is then omitted, as the web app does for "auto").
	ModelID string
	// Tools is the turn's toolsSpec; zero means ToolsDefault (web grounding).
	Tools Tools
}

type streamAssistRequest struct {
	Session                string            `json:"session"`
	Query                  queryParts        `json:"query"`
	Filter                 string            `json:"filter"`
	FileIDs                []string          `json:"fileIds"`
	AnswerGenerationMode   string            `json:"answerGenerationMode"`
	ToolsSpec              toolsSpec         `json:"toolsSpec"`
	LanguageCode           string            `json:"languageCode"`
	UserMetadata           userMetadata      `json:"userMetadata"`
	AssistSkippingMode     string            `json:"assistSkippingMode"`
	AssistGenerationConfig *generationConfig `json:"assistGenerationConfig,omitempty"`
}

type queryParts struct {
	Parts []textPart `json:"parts"`
}

type textPart struct {
	Text string `json:"text"`
}

type userMetadata struct {
	TimeZone string `json:"timeZone"`
}

type generationConfig struct {
	ModelID string `json:"modelId"`
}

// EventKind says what an Event carries.
type EventKind uint8

const (
	// EventText is a delta of the answer.
	EventText EventKind = iota + 1
	// EventThought is a delta of the model's reasoning summary.
	EventThought
	// EventFile is a generated file (image, video) to fetch after the stream.
	EventFile
)

// Event is one piece of a streamed answer.
type Event struct {
	Kind EventKind
	Text string // EventText, EventThought
	File File   // EventFile
}

// File is a generated file announced in the stream.
type File struct {
	FileID   string `json:"fileId"`
	MIMEType string `json:"mimeType"`
	Name     string `json:"name,omitempty"`
}

// StreamAssist sends one turn and returns the open stream of its answer.
// HTTP-level failures are returned here; failures inside the 200 body come
// from Stream.Next. The stream must be closed.
func (c *Client) StreamAssist(ctx context.Context, cr Credentials, ar AssistRequest) (*Stream, error) {
	const op = "widgetStreamAssist"
	sar := &streamAssistRequest{
		Session:              ar.Session,
		Query:                queryParts{Parts: []textPart{{Text: ar.Query}}},
		FileIDs:              ar.FileIDs,
		AnswerGenerationMode: "NORMAL",
		ToolsSpec:            specFor(ar.Tools),
		LanguageCode:         c.cfg.LanguageCode,
		UserMetadata:         userMetadata{TimeZone: c.cfg.TimeZone},
		AssistSkippingMode:   "REQUEST_ASSIST",
	}
	if sar.FileIDs == nil {
		sar.FileIDs = []string{}
	}
	if strings.TrimSpace(ar.Query) == "" {
		// An empty query gets an empty answer; a space gets a real one.
		sar.Query.Parts[0].Text = " "
	}
	if ar.ModelID != "" {
		sar.AssistGenerationConfig = &generationConfig{ModelID: ar.ModelID}
	}
	body, err := json.Marshal(&envelope{ConfigID: cr.ConfigID, AdditionalParams: additionalParams, StreamAssistRequest: sar})
	if err != nil {
		return nil, &Error{Op: op, Kind: KindBadRequest, Err: err, Message: "encode request"}
	}

	for attempt := 0; ; attempt++ {
		jwt, err := c.Token(ctx, cr)
		if err != nil {
			return nil, err
		}
		sctx, cancel := context.WithCancelCause(ctx)
		// One timer serves both limits: until bytes arrive it is the
		// first-byte timeout, then every read re-arms it as the idle one.
		var gotBytes atomic.Bool
		timer := time.AfterFunc(c.firstByteTimeout(ar.Tools), func() {
			if gotBytes.Load() {
				cancel(errIdleTimeout)
			} else {
				cancel(errFirstByteTimeout)
			}
		})
		req, err := http.NewRequestWithContext(sctx, http.MethodPost, c.cfg.APIURL+widgetPath+op, bytes.NewReader(body))
		if err != nil {
			timer.Stop()
			cancel(nil)
			return nil, &Error{Op: op, Kind: KindBadRequest, Err: err, Message: "build request"}
		}
		c.widgetHeaders(req.Header, cr, jwt)
		resp, err := c.http.Do(req)
		if err != nil {
			timer.Stop()
			cause := context.Cause(sctx)
			cancel(nil)
			return nil, streamNetError(op, err, cause, "")
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			drainClose(resp.Body)
			timer.Stop()
			cancel(nil)
			c.tokens.invalidate(cr.AccountID, jwt)
			continue
		}
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			timer.Stop()
			cancel(nil)
			return nil, httpError(op, resp.StatusCode, resp.Header, b)
		}
		s := newStream(sctx, cancel, resp.Body, timer, c.idleTimeout(ar.Tools), c.cfg.MaxElementBytes)
		s.gotBytes = &gotBytes
		return s, nil
	}
}

var (
	errFirstByteTimeout = errors.New("no answer from upstream within the first-byte timeout")
	errIdleTimeout      = errors.New("upstream went silent longer than the idle timeout")
)

func streamNetError(op string, err, cause error, partial string) *Error {
	if errors.Is(cause, errFirstByteTimeout) || errors.Is(cause, errIdleTimeout) {
		return &Error{Op: op, Kind: KindTransient, Network: true, Err: cause, Message: cause.Error(), Partial: partial}
	}
	e := networkError(op, err)
	e.Partial = partial
	return e
}

func drainClose(rc io.ReadCloser) {
	io.Copy(io.Discard, io.LimitReader(rc, 8<<10))
	rc.Close()
}

// Stream is an open widgetStreamAssist answer. Next yields events as the
// upstream produces them. Not safe for concurrent use, except Close, which
// may be called from another goroutine to abort.
type Stream struct {
	op      string
	body    io.ReadCloser
	scanner *ArrayScanner
	ctx     context.Context
	cancel  context.CancelCauseFunc
	timer   *time.Timer
	idle    time.Duration
	// gotBytes tells the timer which limit it enforces.
	gotBytes *atomic.Bool
	// onWait runs before every read from the body (see OnWait).
	onWait func()

	dec      elementDecoder
	pending  []Event
	next     int
	filter   ctrlFilter
	answer   strings.Builder // answer text so far, for truncation errors
	answered bool            // displayable answer text was emitted
	files    map[string]bool
	session  string
	terminal bool
	sawSAR   bool
	sawToken bool
	err      error
	close    sync.Once
}

// newStream wraps an answer body. timer, when set, is the running
// first-byte timer; it becomes the idle timer once bytes arrive.
func newStream(ctx context.Context, cancel context.CancelCauseFunc, body io.ReadCloser, timer *time.Timer, idle time.Duration, maxElement int) *Stream {
	s := &Stream{op: "widgetStreamAssist", body: body, ctx: ctx, cancel: cancel, timer: timer, idle: idle}
	s.scanner = NewArrayScanner(timedReader{s}, maxElement)
	return s
}

func (s *Stream) stopTimer() {
	if s.timer != nil {
		s.timer.Stop()
	}
}

// OnWait makes f run whenever Next is about to read from the upstream,
// which may block: everything already received has been returned by then.
// A relay that buffers its output flushes it there, so it can write a
// burst of deltas with one system call and still never hold a delta back
// while it waits for the next. Set it before the first Next.
func (s *Stream) OnWait(f func()) { s.onWait = f }

// timedReader arms the idle timer only while it waits for the upstream:
// the limit is about the upstream's silence, so time spent decoding a large
// element or writing to a slow client does not count against it.
type timedReader struct{ s *Stream }

func (t timedReader) Read(p []byte) (int, error) {
	s := t.s
	if s.onWait != nil {
		s.onWait()
	}
	if s.timer != nil && s.gotBytes != nil && s.gotBytes.Load() {
		s.timer.Reset(s.idle)
	}
	n, err := s.body.Read(p)
	if n > 0 && s.timer != nil {
		if s.gotBytes != nil {
			s.gotBytes.Store(true)
		}
		s.timer.Stop()
	}
	return n, err
}

// Session is the session name the upstream reported (sessionInfo.session),
// in its projects/… form, once seen.
func (s *Stream) Session() string { return s.session }

// AnswerText is the answer text emitted so far.
func (s *Stream) AnswerText() string { return s.answer.String() }

// Next returns the next event. At a clean end it returns io.EOF; failures are
// *Error values (an empty answer is KindEmpty; a broken stream carries the
// text received so far in Partial).
func (s *Stream) Next() (Event, error) {
	for {
		if s.next < len(s.pending) {
			ev := s.pending[s.next]
			s.next++
			return ev, nil
		}
		if s.err != nil {
			return Event{}, s.err
		}
		s.pending, s.next = s.pending[:0], 0
		raw, err := s.scanner.Next()
		if err != nil {
			s.err = s.finish(err)
			continue
		}
		if err := s.element(raw); err != nil {
			s.err = err
		}
	}
}

// finish turns the end of the body into the stream's final result.
func (s *Stream) finish(err error) error {
	s.stopTimer()
	if tail := s.filter.flush(); tail != "" {
		s.emitText(tail)
	}
	partial := s.answer.String()
	switch {
	case err == io.EOF || (errors.Is(err, ErrTruncated) && s.terminal):
		// A terminal state followed by a lost ']' is still a whole answer.
	case errors.Is(err, ErrTruncated):
		return &Error{Op: s.op, Kind: KindTransient, Message: "upstream stream was cut off before the answer finished", Partial: partial, Err: err}
	case errors.Is(err, ErrElementTooLarge):
		return &Error{Op: s.op, Kind: KindTransient, Message: "upstream sent an element larger than the limit", Partial: partial, Err: err}
	default:
		var se *SyntaxError
		if errors.As(err, &se) {
			return &Error{Op: s.op, Kind: KindTransient, Message: "upstream sent a malformed stream: " + se.Error(), Partial: partial, Err: err}
		}
		return streamNetError(s.op, err, context.Cause(s.ctx), partial)
	}
	if !s.answered && len(s.files) == 0 {
		if s.sawToken && !s.sawSAR {
			return &Error{Op: s.op, Kind: KindAuthTrouble, Status: "UTOKEN_ONLY", Message: "upstream answered with session tokens only, no answer"}
		}
		return &Error{Op: s.op, Kind: KindEmpty, Message: "upstream produced no answer (thoughts only or empty)"}
	}
	// Keep any buffered events, then report the end.
	return io.EOF
}

// Close releases the connection; it aborts a stream still in progress.
func (s *Stream) Close() error {
	s.close.Do(func() {
		s.stopTimer()
		if s.scanner.phase == phaseDone {
			drainClose(s.body)
		} else {
			s.cancel(context.Canceled)
			s.body.Close()
		}
		s.cancel(nil)
	})
	return nil
}

type wireElement struct {
	Error  *googleError `json:"error"`
	UToken string       `json:"uToken"`
	SAR    *wireSAR     `json:"streamAssistResponse"`
}

type wireSAR struct {
	Answer      *wireAnswer      `json:"answer"`
	SessionInfo *wireSessionInfo `json:"sessionInfo"`
}

type wireSessionInfo struct {
	Session string `json:"session"`
}

type wireAnswer struct {
	State                           string      `json:"state"`
	Replies                         []wireReply `json:"replies"`
	AssistSkippedReasons            []string    `json:"assistSkippedReasons"`
	CustomerPolicyEnforcementResult *struct {
		PolicyResults []struct {
			ModelArmorEnforcementResult *struct {
				ModelArmorViolation json.RawMessage `json:"modelArmorViolation"`
			} `json:"modelArmorEnforcementResult"`
		} `json:"policyResults"`
	} `json:"customerPolicyEnforcementResult"`
}

type wireReply struct {
	GroundedContent *wireGrounded `json:"groundedContent"`
}

type wireGrounded struct {
	Content *wireContent `json:"content"`
}

type wireContent struct {
	Text    string `json:"text"`
	Thought bool   `json:"thought"`
	File    *File  `json:"file"`
}

// element decodes one array element into pending events.
func (s *Stream) element(raw []byte) error {
	var el wireElement
	if !s.dec.decode(raw, &el) {
		// The uncommon shapes, and every malformed element, take the
		// general decoder; its result and errors are the reference.
		el = wireElement{}
		if err := json.Unmarshal(raw, &el); err != nil {
			return &Error{Op: s.op, Kind: KindTransient, Message: "upstream sent an undecodable element", Partial: s.answer.String(), Err: err}
		}
	}
	if el.Error != nil {
		return inBodyError(s.op, el.Error, s.answer.String())
	}
	if s.scanner.Bare() {
		// A bare object that is not an error is not a stream at all.
		return &Error{Op: s.op, Kind: KindTransient, Message: "upstream answered with a single object instead of a stream"}
	}
	if el.UToken != "" {
		s.sawToken = true
	}
	if el.SAR == nil {
		return nil
	}
	s.sawSAR = true
	if si := el.SAR.SessionInfo; si != nil && si.Session != "" {
		s.session = si.Session
	}
	a := el.SAR.Answer
	if a == nil {
		return nil
	}
	for _, r := range a.Replies {
		if r.GroundedContent == nil || r.GroundedContent.Content == nil {
			continue
		}
		ct := r.GroundedContent.Content
		if ct.File != nil && ct.File.FileID != "" {
			if s.files == nil {
				s.files = make(map[string]bool)
			}
			if !s.files[ct.File.FileID] {
				s.files[ct.File.FileID] = true
				s.pending = append(s.pending, Event{Kind: EventFile, File: *ct.File})
			}
		}
		if ct.Text == "" {
			continue
		}
		if ct.Thought || (!s.answered && isBoldTitle(ct.Text)) {
			s.pending = append(s.pending, Event{Kind: EventThought, Text: ct.Text})
			continue
		}
		s.emitText(s.filter.write(ct.Text))
	}
	switch a.State {
	case "SUCCEEDED":
		s.terminal = true
	case "SKIPPED":
		return s.skipped(a)
	case "FAILED", "CANCELLED":
		return &Error{Op: s.op, Kind: KindTransient, Status: a.State, Message: "upstream answer " + strings.ToLower(a.State), Partial: s.answer.String()}
	}
	return nil
}

func (s *Stream) emitText(t string) {
	if t == "" {
		return
	}
	s.answer.WriteString(t)
	if !s.answered && strings.TrimSpace(t) != "" {
		s.answered = true
	}
	s.pending = append(s.pending, Event{Kind: EventText, Text: t})
}

func (s *Stream) skipped(a *wireAnswer) error {
	reasons := strings.Join(a.AssistSkippedReasons, ",")
	if reasons == "" {
		reasons = "SKIPPED"
	}
	msg := "upstream skipped the query"
	switch {
	case strings.Contains(reasons, "CUSTOMER_POLICY_VIOLATION"):
		msg = "upstream refused the query under the organisation's content policy"
	case strings.Contains(reasons, "NON_ASSIST_SEEKING_QUERY_IGNORED"):
		msg = "upstream ignored the query as not seeking assistance; rephrase it as a request"
	}
	if p := a.CustomerPolicyEnforcementResult; p != nil {
		for _, r := range p.PolicyResults {
			if m := r.ModelArmorEnforcementResult; m != nil && len(m.ModelArmorViolation) > 0 {
				var v string
				if json.Unmarshal(m.ModelArmorViolation, &v) != nil {
					v = string(m.ModelArmorViolation)
				}
				msg += " (" + trimMessage(v) + ")"
				break
			}
		}
	}
	return &Error{Op: s.op, Kind: KindPolicy, Status: reasons, Message: msg, Partial: s.answer.String()}
}
