package pool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/gateway/chat"
	"github.com/gemgate/gemini-gateway/gateway/upstream"
)

// Request is one chat turn for the pool.
type Request struct {
	Messages []chat.Message
	// ModelID is the upstream model id ("" = let the server choose).
	ModelID string
	// Tools is the turn's toolsSpec (zero: web grounding only).
	Tools upstream.Tools
	// Media is the kind of turn the client asked for; it picks the quota
	// and the cooldown a refusal counts against.
	Media Media
	// Suffix is appended to the query, after the newest message, whether
	// the session is new or continued (the tool-call format reminder).
	Suffix string
	// InlineLimit and MaxPrompt override InlineQueryBytes and
	// MaxPromptBytes (tests) when > 0.
	InlineLimit, MaxPrompt int
}

// ErrStop, returned by a Sink, ends the answer early and successfully:
// the sink has what it needs (a complete tool call block) and the rest of
// the upstream stream is cancelled.
var ErrStop = errors.New("sink needs no more of the answer")

// Sink receives the answer as it streams. An error from a method means the
// client is gone; the pool then stops at once.
type Sink interface {
	// Begin starts attempt n (1-based); a sink that buffers the answer
	// drops what an earlier, failed attempt left.
	Begin(attempt int)
	Thought(text string) error
	Text(text string) error
	// AnswerStarted reports whether answer text has reached the client,
	// after which a failure can no longer move to another account.
	AnswerStarted() bool
}

// Flusher is a Sink that buffers what it writes until Flush. The pool
// flushes it whenever it is about to wait for the upstream, so that a burst
// of deltas that arrived together leaves in one write while no delta ever
// waits in the buffer for the next one.
type Flusher interface {
	Flush() error
}

// Result describes how a request was served.
type Result struct {
	AccountID   int64
	AccountName string
	Attempts    int
	// SessionReused is true when the turn continued an upstream session and
	// sent only the newest message.
	SessionReused bool
	Session       string
	Files         []upstream.File
	// Credentials of the serving account, for fetching generated files.
	Credentials upstream.Credentials
	// UpstreamSession is the projects/… session name the stream reported.
	UpstreamSession string
	Answer          string
}

// Chat serves one request: it picks an account (the one holding the
// conversation's session when there is one), opens or continues the
// upstream session, uploads the newest message's images, streams the
// answer into sink, and on a failure before the answer started tries the
// next account with the whole history. The returned error is an
// *upstream.Error, a *NoAccountError, or the context's error.
func (p *Pool) Chat(ctx context.Context, req *Request, sink Sink) (*Result, error) {
	cfg := p.config()
	st := p.newChatAttempts(req)
	// Accounts that used up this kind's quota serve other kinds only.
	blocked, freeAt := p.mediaBlocked(req.Media)
	for id := range blocked {
		st.exclude[id] = true
	}
	var lastErr error
	for attempt := 1; attempt <= cfg.MaxAttempts; attempt++ {
		id, err := p.pick(st.prefer, st.exclude, st.soft)
		if err != nil {
			if lastErr != nil {
				return nil, lastErr
			}
			if len(blocked) > 0 && attempt == 1 {
				return nil, mediaNoAccount(req.Media, blocked, freeAt, p.now())
			}
			return nil, err
		}
		sink.Begin(attempt)
		res, err := p.try(ctx, id, st.session(id), req, sink)
		p.release(id)
		if err == nil {
			res.Attempts = attempt
			p.succeeded(id)
			p.mq.count(id, req.Media, p.now())
			return res, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		retry, cerr := p.retryRefreshed(ctx, st, id, err, sink)
		if retry {
			attempt-- // the refresh, not the account, failed this try
			continue
		}
		if cerr != nil {
			return nil, cerr
		}
		p.countFailure(st, id, req.Media, err)
		lastErr = err
		if !st.failOver(id, err, sink) {
			return nil, err
		}
		p.log.Info("failing over", "account", p.name(id), "error_kind", upstream.KindOf(err).String(), "reason", err.Error(), "attempt", attempt)
	}
	return nil, lastErr
}

// chatAttempts is what one Chat call knows of the accounts it tried.
type chatAttempts struct {
	// prefer is the account to try first (-1: none); held its upstream
	// session of this conversation, if any.
	prefer int64
	held   *sessionEntry
	// exclude and soft are pick's: accounts ruled out for this request,
	// and accounts that failed transiently, tried only when nothing else
	// can serve.
	exclude, soft map[int64]bool
	// failedOnce: a request that retries an account counts one failure
	// against it, not one per retry.
	failedOnce map[int64]bool
	// refreshed: an account whose cookies were refreshed for this request
	// gets one more try, once.
	refreshed map[int64]bool
}

func (p *Pool) newChatAttempts(req *Request) *chatAttempts {
	st := &chatAttempts{prefer: -1, exclude: map[int64]bool{}, soft: map[int64]bool{},
		failedOnce: map[int64]bool{}, refreshed: map[int64]bool{}}
	if last := chat.LastUser(req.Messages); last > 0 {
		if e, ok := p.sessions.Take(chat.KeyOf(req.Messages[:last]), p.now()); ok {
			st.held, st.prefer = &e, e.accountID
		}
	}
	return st
}

// session is the held session when it is id's.
func (st *chatAttempts) session(id int64) *sessionEntry {
	if st.held != nil && st.held.accountID == id {
		return st.held
	}
	return nil
}

// retryRefreshed refreshes the cookies of an account that failed with
// stale cookies or a refused token, once per request and only while no
// answer reached the client; retry says to try the same account again.
// err is the context's error when the request ended meanwhile.
func (p *Pool) retryRefreshed(ctx context.Context, st *chatAttempts, id int64, failure error, sink Sink) (retry bool, err error) {
	kind := upstream.KindOf(failure)
	if !recoverable(kind) || st.refreshed[id] || sink.AnswerStarted() || errors.Is(failure, errSinkGone) {
		return false, nil
	}
	st.refreshed[id] = true
	retry, signedOut := p.refreshForRetry(ctx, id)
	if retry {
		p.log.Info("retrying after a cookie refresh", "account", p.name(id), "error_kind", kind.String())
		st.prefer = id
		return true, nil
	}
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	st.failedOnce[id] = st.failedOnce[id] || signedOut // already recorded as needs_sign_in
	return false, nil
}

// countFailure records a failed attempt against the account, once per
// request: against its quota for this kind of media, as account trouble,
// or as a plain failure.
func (p *Pool) countFailure(st *chatAttempts, id int64, media Media, err error) {
	if st.failedOnce[id] {
		return
	}
	st.failedOnce[id] = true
	if !p.kindQuotaFailure(id, media, err) && !p.accountTrouble(id, err) {
		p.failed(id, err)
	}
}

// failOver reports whether the request may move to another account after
// id failed, and sets id aside: for good, or (a transient or empty answer)
// only while other accounts remain.
func (st *chatAttempts) failOver(id int64, err error, sink Sink) bool {
	kind := upstream.KindOf(err)
	if sink.AnswerStarted() || !failover(kind) || errors.Is(err, errSinkGone) {
		return false
	}
	if kind == upstream.KindTransient || kind == upstream.KindEmpty {
		st.soft[id] = true
	} else {
		st.exclude[id] = true
	}
	st.held = nil // the session belonged to the failed attempt
	return true
}

// failover reports whether another account may succeed where one failed.
func failover(k upstream.Kind) bool {
	switch k {
	case upstream.KindBadRequest, upstream.KindPolicy:
		return false
	}
	return true
}

var errSinkGone = errors.New("client went away")

// opSecrets marks a failure to read an account's secrets (a locked or
// unreachable keychain): a local problem, which must not count against the
// account's credentials or its network-error budget.
const opSecrets = "secrets"

func secretsError(err error) *upstream.Error {
	return &upstream.Error{Op: opSecrets, Kind: upstream.KindTransient, Message: "cannot read this account's secrets: " + err.Error(), Err: err}
}

// try runs one attempt on one account.
func (p *Pool) try(ctx context.Context, id int64, held *sessionEntry, req *Request, sink Sink) (*Result, error) {
	cr, err := p.credentials(ctx, id)
	if err != nil {
		return nil, secretsError(err)
	}
	res := &Result{AccountID: id, AccountName: p.name(id), Credentials: cr}
	last := chat.LastUser(req.Messages)
	var uploads []upstream.Upload
	if last >= 0 {
		uploads = uploadsOf(req.Messages[last])
	}
	for round := 0; round < 2; round++ {
		continuing := held != nil && round == 0
		var session, query string
		if continuing {
			session, query = held.name, chat.Continuation(req.Messages)
		} else {
			if session, err = p.upstream().CreateSession(ctx, cr); err != nil {
				return nil, err
			}
			query = chat.Flatten(req.Messages)
		}
		query, promptFile, err := p.placePrompt(ctx, cr, session, query, req)
		if err != nil {
			if continuing && upstream.KindOf(err) == upstream.KindSessionGone {
				continue
			}
			return nil, err
		}
		fileIDs := make([]string, 0, len(uploads)+1)
		if promptFile != "" {
			fileIDs = append(fileIDs, promptFile)
		}
		for _, up := range uploads {
			fid, err := p.upstream().AddContextFile(ctx, cr, session, up)
			if err != nil {
				if continuing && upstream.KindOf(err) == upstream.KindSessionGone {
					break
				}
				return nil, err
			}
			fileIDs = append(fileIDs, fid)
		}
		want := len(uploads)
		if promptFile != "" {
			want++
		}
		if len(fileIDs) != want {
			continue // session gone during upload: start over with a new one
		}
		stream, err := p.upstream().StreamAssist(ctx, cr, upstream.AssistRequest{Session: session, Query: query, FileIDs: fileIDs, ModelID: req.ModelID, Tools: req.Tools})
		if err != nil {
			if upstream.KindOf(err) == upstream.KindSessionGone {
				if continuing {
					// The upstream forgot the session: a new one with the
					// whole history, on the same account.
					continue
				}
				// It forgot a session it had just created: misbehaving.
				err.(*upstream.Error).Kind = upstream.KindTransient
			}
			return nil, err
		}
		res.Session, res.SessionReused = session, continuing
		err = p.relay(stream, sink, res)
		stream.Close()
		if err != nil {
			return nil, err
		}
		return res, nil
	}
	return nil, &upstream.Error{Op: "widgetStreamAssist", Kind: upstream.KindTransient, Message: "upstream lost the session twice"}
}

// relay copies a stream into the sink.
func (p *Pool) relay(s *upstream.Stream, sink Sink, res *Result) error {
	if f, ok := sink.(Flusher); ok {
		// A failed flush is remembered by the sink, whose next write
		// reports it.
		s.OnWait(func() { _ = f.Flush() })
	}
	for {
		ev, err := s.Next()
		if err == io.EOF {
			res.Answer = s.AnswerText()
			res.UpstreamSession = s.Session()
			return nil
		}
		if err != nil {
			return err
		}
		switch ev.Kind {
		case upstream.EventThought:
			err = sink.Thought(ev.Text)
		case upstream.EventText:
			err = sink.Text(ev.Text)
		case upstream.EventFile:
			res.Files = append(res.Files, ev.File)
		}
		if errors.Is(err, ErrStop) {
			res.Answer = s.AnswerText()
			res.UpstreamSession = s.Session()
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %v", errSinkGone, err)
		}
	}
}

// Remember stores the session of a finished turn under the conversation
// state the client will send next time: its messages plus the answer as
// the client saw it.
func (p *Pool) Remember(res *Result, msgs []chat.Message, answer string) {
	if res == nil || res.Session == "" || chat.LastUser(msgs) < 0 {
		return
	}
	next := make([]chat.Message, len(msgs), len(msgs)+1)
	copy(next, msgs)
	next = append(next, chat.Message{Role: chat.RoleAssistant, Text: answer})
	p.sessions.Put(sessionEntry{key: chat.KeyOf(next), accountID: res.AccountID, name: res.Session, stored: p.now()})
}

// SessionCount is the number of conversations the pool can continue.
func (p *Pool) SessionCount() int { return p.sessions.Len() }

func (p *Pool) name(id int64) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if m := p.members[id]; m != nil {
		return m.acct.Name
	}
	return fmt.Sprintf("#%d", id)
}

// succeeded records a served request: usage, and a healthy state if the
// account was not already known to be.
func (p *Pool) succeeded(id int64) {
	now := p.now()
	p.mu.Lock()
	m := p.members[id]
	if m == nil {
		p.mu.Unlock()
		return
	}
	m.acct.RequestCount++
	m.acct.LastUsedAt = now
	m.failedAt = time.Time{}
	needStatus := m.acct.Status != accounts.StatusHealthy
	needReset := m.acct.NetworkErrors > 0
	readOnly := m.acct.ReadOnly
	p.mu.Unlock()
	if p.usage != nil && !readOnly {
		p.usage.Add(id, now)
	}
	if needStatus {
		p.setStatus(id, accounts.StatusHealthy, "", false)
	}
	if needReset {
		p.resetNetworkErrors(id)
	}
	if needStatus || needReset {
		p.publish(accountEvent(id))
	}
}
