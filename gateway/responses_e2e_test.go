package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	openai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"

	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
)

type sseEvent struct {
	Event string
	Data  map[string]any
}

func readSSE(t *testing.T, r io.Reader) []sseEvent {
	t.Helper()
	var out []sseEvent
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	var ev string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			ev = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			var d map[string]any
			if err := json.Unmarshal([]byte(line[len("data: "):]), &d); err != nil {
				t.Fatalf("bad data line %q: %v", line, err)
			}
			out = append(out, sseEvent{ev, d})
			ev = ""
		}
	}
	return out
}

// codexBody is a request shaped like Codex CLI 0.171's: developer items,
// no instructions, store:false, function, custom and namespace tools and
// a web_search tool to drop.
func codexBody(input string) string {
	return `{"model":"gpt-5.5","stream":true,"store":false,"tool_choice":"auto","parallel_tool_calls":true,"reasoning":{"summary":"auto"},"include":["reasoning.encrypted_content"],"prompt_cache_key":"k",
"tools":[{"type":"function","name":"exec_command","description":"Run a command","strict":false,"parameters":{"type":"object","properties":{"cmd":{"type":"string"}},"required":["cmd"]}},
{"type":"custom","name":"apply_patch","description":"Edit files with a patch.","format":{"type":"grammar","syntax":"lark","definition":"start: begin_patch hunk+ end_patch"}},
{"type":"namespace","name":"multi_agent_v1","description":"agents","tools":[{"type":"function","name":"spawn","description":"spawn","parameters":{"type":"object","properties":{}}}]},
{"type":"web_search"}],
"input":` + input + `}`
}

func TestResponsesCodexApplyPatchLoop(t *testing.T) {
	h := newHarness(t, harnessOpts{key: "sk-r", fake: fakeupstream.Options{DefaultScenario: fakeupstream.ScenarioAgent, SplitWrites: true}})
	first := `[{"type":"message","role":"developer","content":[{"type":"input_text","text":"You are Codex."}]},
{"type":"message","role":"user","content":[{"type":"input_text","text":"<environment_context><cwd>/w/p</cwd></environment_context>"}]},
{"type":"message","role":"user","content":[{"type":"input_text","text":"patch: create patched.txt containing patched"}]}]`
	resp := h.do("POST", "/v1/responses", codexBody(first), map[string]string{"Accept": "text/event-stream"})
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	evs := readSSE(t, resp.Body)
	var types []string
	var call map[string]any
	var completed map[string]any
	for _, e := range evs {
		types = append(types, e.Event)
		if e.Event != e.Data["type"] {
			t.Errorf("event %q carries type %v", e.Event, e.Data["type"])
		}
		if e.Event == "response.output_item.done" {
			if it := e.Data["item"].(map[string]any); it["type"] == "custom_tool_call" {
				call = it
			}
		}
		if e.Event == "response.completed" {
			completed = e.Data["response"].(map[string]any)
		}
	}
	want := []string{"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added", "response.output_text.delta"}
	if len(types) < len(want) || strings.Join(types[:len(want)], ",") != strings.Join(want, ",") {
		t.Fatalf("event order %v", types)
	}
	if types[len(types)-1] != "response.completed" || completed["id"] == "" || completed["usage"] == nil {
		t.Fatalf("last event %v / completed %v", types[len(types)-1], completed)
	}
	if call == nil || call["name"] != "apply_patch" || !strings.Contains(call["input"].(string), "*** Add File: patched.txt\n+patched\n") {
		t.Fatalf("custom_tool_call = %v (events %v)", call, types)
	}
	q := h.fake.Sessions(h.accts[0].CSESIDX)[0].Turns[0].Query
	if !strings.Contains(q, "### multi_agent_v1__spawn") || strings.Contains(q, "web_search") || !strings.Contains(q, "lark grammar") {
		t.Errorf("tools rendered wrongly:\n%s", q)
	}
	// Turn 2: the whole history again, with the call and its output.
	msgText := ""
	for _, e := range evs {
		if e.Event == "response.output_text.done" {
			msgText = e.Data["text"].(string)
		}
	}
	callJSON, _ := json.Marshal(map[string]any{"type": "custom_tool_call", "call_id": call["call_id"], "name": "apply_patch", "input": call["input"]})
	second := strings.TrimSuffix(first, "]") + `,{"type":"message","role":"assistant","content":[{"type":"output_text","text":` + jsonString(msgText) + `}]},` +
		string(callJSON) + `,{"type":"custom_tool_call_output","call_id":"` + call["call_id"].(string) + `","output":"Success. Updated: A patched.txt"}]`
	resp = h.do("POST", "/v1/responses", codexBody(second), nil)
	evs = readSSE(t, resp.Body)
	text := ""
	for _, e := range evs {
		if e.Event == "response.output_text.delta" {
			text += e.Data["delta"].(string)
		}
	}
	if text != fakeupstream.AgentDone {
		t.Fatalf("turn 2 text %q", text)
	}
	ss := h.fake.Sessions(h.accts[0].CSESIDX)
	if len(ss) != 1 || len(ss[0].Turns) != 2 {
		t.Errorf("turn 2 did not continue the session: %d sessions", len(ss))
	}
}

func TestResponsesSDKAndErrors(t *testing.T) {
	h := newHarness(t, harnessOpts{key: "sk-r", fake: fakeupstream.Options{DefaultScenario: fakeupstream.ScenarioAgent}})
	c := h.client()
	ctx := context.Background()
	st := c.Responses.NewStreaming(ctx, responses.ResponseNewParams{
		Model: "gemini-2.5-pro",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("create s.txt containing s")},
		Tools: []responses.ToolUnionParam{{OfFunction: &responses.FunctionToolParam{Name: "write", Parameters: map[string]any{
			"type": "object", "properties": map[string]any{"filePath": map[string]any{"type": "string"}, "content": map[string]any{"type": "string"}}}}}},
	})
	var final responses.Response
	for st.Next() {
		if ev := st.Current(); ev.Type == "response.completed" {
			final = ev.Response
		}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	var fc *responses.ResponseFunctionToolCall
	for _, o := range final.Output {
		if o.Type == "function_call" {
			x := o.AsFunctionCall()
			fc = &x
		}
	}
	if fc == nil || fc.Name != "write" || fc.Arguments != `{"content":"s","filePath":"s.txt"}` {
		t.Fatalf("final output %+v", final.Output)
	}
	// Non-streaming.
	got, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "gemini-2.5-pro", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("title please")}})
	if err != nil || got.OutputText() != fakeupstream.AgentTitle || got.Status != "completed" {
		t.Fatalf("non-streaming: %v %+v", err, got)
	}
	// previous_response_id is refused clearly.
	resp := h.do("POST", "/v1/responses", `{"model":"m","input":"x","previous_response_id":"resp_1"}`, nil)
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(b), "previous_response_id") {
		t.Errorf("previous_response_id: %d %s", resp.StatusCode, b)
	}
	// Failure before the first byte: a real status.
	h.queue(0, "http-500", "http-500", "http-500", "http-500")
	resp = h.do("POST", "/v1/responses", `{"model":"gemini-2.5-pro","input":"x","stream":true}`, nil)
	if resp.StatusCode < 500 {
		b, _ := io.ReadAll(resp.Body)
		t.Errorf("pre-stream failure: %d %s", resp.StatusCode, b)
	}
	resp.Body.Close()
	h.fake.Reset()
	h.fake.AddAccount(h.accts[0])
	// Failure after the first byte: response.failed with a code.
	h.queue(0, "internal-midstream")
	resp = h.do("POST", "/v1/responses", `{"model":"gemini-2.5-pro","input":"x","stream":true}`, nil)
	evs := readSSE(t, resp.Body)
	last := evs[len(evs)-1]
	if last.Event != "response.failed" {
		t.Fatalf("mid-stream failure ends with %v", last.Event)
	}
	if e := last.Data["response"].(map[string]any)["error"].(map[string]any); e["code"] == "" || e["code"] == nil {
		t.Errorf("response.failed without code: %v", e)
	}
}
