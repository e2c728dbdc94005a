package gateway

import (
	"net/http"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/chat"
	"github.com/gemgate/gemini-gateway/gateway/openai"
	"github.com/gemgate/gemini-gateway/gateway/pool"
	"github.com/gemgate/gemini-gateway/gateway/tools"
)

// chatWithTools serves a /v1/chat/completions request that declares tools
// or carries calls in its history: the prompt is rendered by the plan and
// the answer parsed for calls, which go out as tool_calls.
func (s *Server) chatWithTools(w http.ResponseWriter, r *http.Request, req *chat.Request, plan *tools.Plan, preq *pool.Request, model string, cfg Config) {
	ri := infoFrom(r.Context())
	if req.Stream {
		s.streams.Add(1)
		defer s.streams.Add(-1)
		sink := newSSESink(w, openai.NewCompletionID(), time.Now().Unix(), model, cfg.Reasoning, cfg.KeepAlive, ri.start)
		defer sink.stop()
		t, err := s.runTurn(r.Context(), plan, preq, sink)
		ri.TTFT = sink.ttft()
		if t.res != nil {
			ri.Account, ri.Attempts = t.res.AccountName, t.res.Attempts
		}
		if err != nil {
			oe := toOpenAIError(err)
			ri.errCode = oe.Code
			if !sink.fail(oe) {
				oe.Write(w)
			}
			ri.OutputTokens = sink.completionTokens()
			return
		}
		ri.OutputTokens = sink.completionTokens() + callTokens(t.calls)
		sink.finishCalls(openAICalls(t.calls), req.IncludeUsage, openai.NewUsage(ri.PromptTokens, ri.OutputTokens))
		return
	}
	col := &collector{start: ri.start}
	t, err := s.runTurn(r.Context(), plan, preq, col)
	if t.res != nil {
		ri.Account, ri.Attempts = t.res.AccountName, t.res.Attempts
	}
	if err != nil {
		oe := toOpenAIError(err)
		ri.errCode = oe.Code
		oe.Write(w)
		return
	}
	ri.TTFT = col.first
	content, reasoning := col.text.String(), col.reasoning.String()
	if cfg.Reasoning == ReasoningOff {
		reasoning = ""
	}
	ri.OutputTokens = max(1, openai.EstimateTokens(content)+openai.EstimateTokens(col.reasoning.String())) + callTokens(t.calls)
	c := openai.NewCompletion(openai.NewCompletionID(), time.Now().Unix(), model, content, reasoning,
		openai.NewUsage(ri.PromptTokens, ri.OutputTokens))
	c.WithToolCalls(openAICalls(t.calls))
	writeJSON(w, http.StatusOK, c)
}

func openAICalls(cs []tools.Call) []openai.ToolCall {
	out := make([]openai.ToolCall, len(cs))
	for i, c := range cs {
		out[i] = openai.ToolCall{ID: c.ID, Name: c.Name, Arguments: c.Arguments}
	}
	return out
}

func callTokens(cs []tools.Call) int {
	n := 0
	for _, c := range cs {
		n += openai.EstimateTokens(c.Name) + openai.EstimateTokens(c.Arguments)
	}
	return n
}

// finishCalls ends a successful stream that may have called tools: the
// calls, finish_reason ("tool_calls" or "stop"), usage if asked, [DONE].
func (s *sseSink) finishCalls(calls []openai.ToolCall, includeUsage bool, u openai.Usage) {
	if len(calls) == 0 {
		s.finish(includeUsage, u)
		return
	}
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
	s.write(s.sw.ToolCalls(calls))
	s.write(s.sw.Finish("tool_calls"))
	if includeUsage {
		s.write(s.sw.Usage(u))
	}
	s.write(s.sw.Done())
	s.flush()
}
