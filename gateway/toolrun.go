package gateway

import (
	"context"
	"strings"

	"github.com/gemgate/gemini-gateway/gateway/chat"
	"github.com/gemgate/gemini-gateway/gateway/pool"
	"github.com/gemgate/gemini-gateway/gateway/tools"
)

// toolFilter sits between the pool and a dialect's sink: answer text goes
// through the tool parser, which passes prose on at once and keeps a call
// block back; once the block is complete it stops the upstream stream.
type toolFilter struct {
	plan  *tools.Plan
	inner pool.Sink
	ps    *tools.Parser
	text  strings.Builder // answer text the client received
}

func newToolFilter(plan *tools.Plan, inner pool.Sink) *toolFilter {
	return &toolFilter{plan: plan, inner: inner, ps: plan.NewParser()}
}

func (f *toolFilter) Begin(n int) {
	f.inner.Begin(n)
	f.ps = f.plan.NewParser()
	f.text.Reset()
}

func (f *toolFilter) Thought(t string) error { return f.inner.Thought(t) }

func (f *toolFilter) Text(t string) error {
	e, done := f.ps.Feed(t)
	if e != "" {
		f.text.WriteString(e)
		if err := f.inner.Text(e); err != nil {
			return err
		}
	}
	if done {
		return pool.ErrStop
	}
	return nil
}

func (f *toolFilter) AnswerStarted() bool { return f.inner.AnswerStarted() }

// Flush implements pool.Flusher when the inner sink does.
func (f *toolFilter) Flush() error {
	if fl, ok := f.inner.(pool.Flusher); ok {
		return fl.Flush()
	}
	return nil
}

// end releases what the parser held back at the end of the stream.
func (f *toolFilter) end() error {
	if e := f.ps.End(); e != "" {
		f.text.WriteString(e)
		return f.inner.Text(e)
	}
	return nil
}

// turn is the outcome of one request through the pool.
type turn struct {
	res   *pool.Result
	text  string       // answer text as the client received it (tools active)
	calls []tools.Call // parsed calls
}

// runTurn serves a request whose plan is active: the answer is parsed for
// calls, a required call that did not come is asked for once more on the
// same upstream session, and the conversation state is remembered so
// that the next turn continues the session.
func (s *Server) runTurn(ctx context.Context, plan *tools.Plan, preq *pool.Request, sink pool.Sink) (turn, error) {
	f := newToolFilter(plan, sink)
	res, err := s.deps.Pool.Chat(ctx, preq, f)
	if err != nil {
		return turn{res: res}, err
	}
	if err := f.end(); err != nil {
		return turn{res: res}, err
	}
	t := turn{res: res, text: f.text.String(), calls: f.ps.Calls()}
	if len(t.calls) == 0 && plan.Required() {
		// One re-ask, on the session that holds the answer just given.
		s.deps.Pool.Remember(res, preq.Messages, t.text)
		msgs := append(append(make([]chat.Message, 0, len(preq.Messages)+2), preq.Messages...),
			chat.Message{Role: chat.RoleAssistant, Text: t.text},
			chat.Message{Role: chat.RoleUser, Text: plan.Reask()})
		again := &pool.Request{Messages: msgs, ModelID: preq.ModelID, Suffix: preq.Suffix}
		res2, err := s.deps.Pool.Chat(ctx, again, f)
		if err != nil {
			// The first answer stands; the re-ask was a bonus.
			s.log.Info("tool re-ask failed", "error", err.Error())
			return t, nil
		}
		f.end()
		t2 := turn{res: res2, text: f.text.String(), calls: f.ps.Calls()}
		s.deps.Pool.Remember(res2, msgs, plan.RenderAnswer(t2.text, t2.calls))
		t2.text = t.text + t2.text
		return t2, nil
	}
	s.deps.Pool.Remember(res, preq.Messages, plan.RenderAnswer(t.text, t.calls))
	return t, nil
}
