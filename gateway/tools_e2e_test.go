package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	openai "github.com/openai/openai-go/v3"

	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
)

var writeTool = openai.ChatCompletionToolUnionParam{OfFunction: &openai.ChatCompletionFunctionToolParam{Function: openai.FunctionDefinitionParam{
	Name:        "write",
	Description: openai.String("Write a file"),
	Parameters: openai.FunctionParameters{
		"type":       "object",
		"properties": map[string]any{"filePath": map[string]any{"type": "string"}, "content": map[string]any{"type": "string"}},
		"required":   []string{"filePath", "content"},
	},
}}}

// TestChatToolLoop drives a two-turn tool loop through the OpenAI Go SDK:
// turn 1 streams the preamble and two calls from one block (the fake cuts
// the block inside its opening tag and invents a result after it, which
// must not reach the client); turn 2 sends the results and gets DONE, on
// the same upstream session, with only the results sent up.
func TestChatToolLoop(t *testing.T) {
	h := newHarness(t, harnessOpts{key: "sk-t", fake: fakeupstream.Options{DefaultScenario: fakeupstream.ScenarioAgent, SplitWrites: true}})
	c := h.client()
	ctx := context.Background()
	msgs := []openai.ChatCompletionMessageParamUnion{
		openai.SystemMessage("You are a coding agent. Working directory: /work/proj"),
		openai.UserMessage("create a.txt containing alpha and create b.txt containing beta"),
	}
	params := openai.ChatCompletionNewParams{Model: "gemini-2.5-pro", Messages: msgs, Tools: []openai.ChatCompletionToolUnionParam{writeTool}}
	st := c.Chat.Completions.NewStreaming(ctx, params)
	var acc openai.ChatCompletionAccumulator
	var text strings.Builder
	var finish string
	for st.Next() {
		ch := st.Current()
		acc.AddChunk(ch)
		if len(ch.Choices) > 0 {
			text.WriteString(ch.Choices[0].Delta.Content)
			if ch.Choices[0].FinishReason != "" {
				finish = ch.Choices[0].FinishReason
			}
		}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	if text.String() != fakeupstream.AgentPreamble || finish != "tool_calls" {
		t.Fatalf("streamed text %q finish %q", text.String(), finish)
	}
	calls := acc.Choices[0].Message.ToolCalls
	if len(calls) != 2 {
		t.Fatalf("calls = %+v", calls)
	}
	want := []map[string]string{{"filePath": "/work/proj/a.txt", "content": "alpha"}, {"filePath": "/work/proj/b.txt", "content": "beta"}}
	for i, tc := range calls {
		var args map[string]string
		if err := json.Unmarshal([]byte(tc.Function.Arguments), &args); err != nil || tc.Function.Name != "write" || !strings.HasPrefix(tc.ID, "call_") {
			t.Fatalf("call %d = %+v (%v)", i, tc, err)
		}
		if args["filePath"] != want[i]["filePath"] || args["content"] != want[i]["content"] {
			t.Errorf("call %d args = %v", i, args)
		}
	}
	// Turn 2: the results.
	params.Messages = append(msgs, acc.Choices[0].Message.ToParam(),
		openai.ToolMessage("wrote a.txt", calls[0].ID), openai.ToolMessage("wrote b.txt", calls[1].ID))
	done, err := c.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if done.Choices[0].Message.Content != fakeupstream.AgentDone || done.Choices[0].FinishReason != "stop" {
		t.Fatalf("turn 2 = %+v", done.Choices[0])
	}
	sessions := h.fake.Sessions(h.accts[0].CSESIDX)
	if len(sessions) != 1 || len(sessions[0].Turns) != 2 {
		t.Fatalf("want one session with two turns (session reuse), got %d sessions", len(sessions))
	}
	q1, q2 := sessions[0].Turns[0].Query, sessions[0].Turns[1].Query
	if !strings.Contains(q1, "### write") || !strings.HasSuffix(q1, "If no tool is needed, answer in plain text.]") {
		t.Errorf("turn 1 query lacks the tool block or ends without the reminder:\n%s", q1)
	}
	if strings.Contains(q2, "### write") || !strings.Contains(q2, `<tool_result name="write" status="ok">`) || !strings.Contains(q2, "wrote b.txt") {
		t.Errorf("turn 2 should carry only the results:\n%s", q2)
	}
}

func TestChatToolChoiceNamedNonStreaming(t *testing.T) {
	h := newHarness(t, harnessOpts{key: "sk-t", fake: fakeupstream.Options{DefaultScenario: fakeupstream.ScenarioAgent}})
	c := h.client()
	got, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "gemini-2.5-pro",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("create x.txt containing x")},
		Tools:    []openai.ChatCompletionToolUnionParam{writeTool},
		ToolChoice: openai.ChatCompletionToolChoiceOptionUnionParam{OfFunctionToolChoice: &openai.ChatCompletionNamedToolChoiceParam{
			Function: openai.ChatCompletionNamedToolChoiceFunctionParam{Name: "write"}}},
		ParallelToolCalls: openai.Bool(false),
	})
	if err != nil {
		t.Fatal(err)
	}
	ch := got.Choices[0]
	if ch.FinishReason != "tool_calls" || len(ch.Message.ToolCalls) != 1 || ch.Message.ToolCalls[0].Function.Arguments != `{"content":"x","filePath":"x.txt"}` {
		t.Fatalf("choice = %+v", ch)
	}
	q := h.fake.Sessions(h.accts[0].CSESIDX)[0].Turns[0].Query
	if !strings.Contains(q, "You MUST call the tool write now") || !strings.Contains(q, "at most ONE tool") {
		t.Errorf("query lacks the named choice / one-call rule")
	}
	// Unknown tool named in tool_choice: a 400 that names the parameter.
	resp := h.do("POST", "/v1/chat/completions", `{"model":"gemini-2.5-pro","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"write"}}],"tool_choice":{"type":"function","function":{"name":"nope"}}}`, nil)
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(b), `"param":"tool_choice"`) {
		t.Errorf("unknown named tool: %d %s", resp.StatusCode, b)
	}
}

// TestChatToolRequiredReask: tool_choice "required" and an answer without
// a call: the gateway asks once more on the same session and returns the
// call the second answer holds.
func TestChatToolRequiredReask(t *testing.T) {
	h := newHarness(t, harnessOpts{key: "sk-t", fake: fakeupstream.Options{DefaultScenario: fakeupstream.ScenarioAgent}})
	h.queue(0, fakeupstream.ScenarioNormal) // then the default, the agent responder
	c := h.client()
	got, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:      "gemini-2.5-pro",
		Messages:   []openai.ChatCompletionMessageParamUnion{openai.UserMessage("create r.txt containing r")},
		Tools:      []openai.ChatCompletionToolUnionParam{writeTool},
		ToolChoice: openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("required")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if ch := got.Choices[0]; ch.FinishReason != "tool_calls" || len(ch.Message.ToolCalls) != 1 {
		t.Fatalf("choice = %+v", ch)
	}
	ss := h.fake.Sessions(h.accts[0].CSESIDX)
	if len(ss) != 1 || len(ss[0].Turns) != 2 || !strings.Contains(ss[0].Turns[1].Query, "did not contain a valid tool call block") {
		t.Fatalf("re-ask not sent on the same session: %d sessions", len(ss))
	}
}
