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
		ri.servedBy(t.res)
		if err != nil {
			failChat(w, ri, err, sink)
			ri.OutputTokens = sink.completionTokens()
			return
		}
		ri.OutputTokens = sink.completionTokens() + callTokens(t.calls)
		sink.finish(openAICalls(t.calls), req.IncludeUsage, openai.NewUsage(ri.PromptTokens, ri.OutputTokens))
		return
	}
	col := &collector{start: ri.start}
	t, err := s.runTurn(r.Context(), plan, preq, col)
	ri.servedBy(t.res)
	if err != nil {
		failChat(w, ri, err, nil)
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
