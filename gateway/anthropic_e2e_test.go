package gateway_test

import (
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
)

// claudeBody is shaped like Claude Code 2.1.332's requests: system blocks,
// a role:"system" message inside messages, 2020-12 schemas, thinking and
// context_management fields to ignore.
func claudeBody(stream bool, messages string) string {
	s := "false"
	if stream {
		s = "true"
	}
	return `{"model":"claude-opus-5-5","max_tokens":128000,"stream":` + s + `,
"system":[{"type":"text","text":"x-anthropic-billing-header: cc_version=2.1.332"},{"type":"text","text":"You are Claude Code.","cache_control":{"type":"ephemeral"}}],
"thinking":{"type":"adaptive","display":"omitted"},"context_management":{"edits":[]},"output_config":{"effort":"high"},"metadata":{"user_id":"{\"a\":1}"},
"tools":[{"name":"Write","description":"Writes a file","input_schema":{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"file_path":{"type":"string"},"content":{"type":"string"}},"required":["file_path","content"],"additionalProperties":false}},
{"name":"Bash","description":"Run","input_schema":{"type":"object","properties":{"command":{"type":"string"}},"required":["command"]}},{"type":"web_search_20250305","name":"web_search"}],
"messages":` + messages + `}`
}

func TestMessagesClaudeCodeLoop(t *testing.T) {
	h := newHarness(t, harnessOpts{key: "sk-a", fake: fakeupstream.Options{DefaultScenario: fakeupstream.ScenarioAgent, SplitWrites: true}})
	hdr := map[string]string{"x-api-key": "sk-a", "Authorization": "", "anthropic-version": "2023-06-01", "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14"}
	first := `[{"role":"user","content":[{"type":"text","text":"<system-reminder>ctx</system-reminder>"},{"type":"text","text":"create hello.txt containing hello and create bye.txt containing bye"}]},
{"role":"system","content":"Primary working directory: /home/u/proj"}]`
	resp := h.do("POST", "/v1/messages?beta=true", claudeBody(true, first), hdr)
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d %s", resp.StatusCode, b)
	}
	evs := readSSE(t, resp.Body)
	var types []string
	var uses []map[string]any
	var partial []string
	stop := ""
	for _, e := range evs {
		types = append(types, e.Event)
		switch e.Event {
		case "content_block_start":
			if cb := e.Data["content_block"].(map[string]any); cb["type"] == "tool_use" {
				uses = append(uses, cb)
			}
		case "content_block_delta":
			if d := e.Data["delta"].(map[string]any); d["type"] == "input_json_delta" {
				partial = append(partial, d["partial_json"].(string))
			}
		case "message_delta":
			stop = e.Data["delta"].(map[string]any)["stop_reason"].(string)
		}
	}
	if types[0] != "message_start" || types[len(types)-1] != "message_stop" || stop != "tool_use" || len(uses) != 2 {
		t.Fatalf("events %v stop %q uses %v", types, stop, uses)
	}
	if uses[0]["name"] != "Write" || !strings.HasPrefix(uses[0]["id"].(string), "toolu_") || partial[0] != `{"content":"hello","file_path":"/home/u/proj/hello.txt"}` {
		t.Fatalf("tool_use %v %v", uses[0], partial)
	}
	q := h.fake.Sessions(h.accts[0].CSESIDX)[0].Turns[0].Query
	if strings.Contains(q, "web_search") || !strings.Contains(q, "### Bash") {
		t.Errorf("tools rendered wrongly")
	}
	// Turn 2, non-streaming (Claude Code's retry path), with one error result.
	asst, _ := json.Marshal([]map[string]any{{"type": "text", "text": fakeupstream.AgentPreamble},
		{"type": "tool_use", "id": uses[0]["id"], "name": "Write", "input": json.RawMessage(partial[0])},
		{"type": "tool_use", "id": uses[1]["id"], "name": "Write", "input": json.RawMessage(partial[1])}})
	second := strings.TrimSuffix(first, "]") + `,{"role":"assistant","content":` + string(asst) + `},
{"role":"user","content":[{"type":"tool_result","tool_use_id":"` + uses[0]["id"].(string) + `","content":"File created"},
{"type":"tool_result","tool_use_id":"` + uses[1]["id"].(string) + `","is_error":true,"content":[{"type":"text","text":"<tool_use_error>denied</tool_use_error>"}]}]}]`
	resp = h.do("POST", "/v1/messages", claudeBody(false, second), map[string]string{"Authorization": "Bearer sk-a"})
	var msg struct {
		Type       string
		StopReason string `json:"stop_reason"`
		Content    []struct{ Type, Text string }
		Usage      struct {
			InputTokens  int `json:"input_tokens"`
			OutputTokens int `json:"output_tokens"`
		}
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &msg); err != nil || msg.Type != "message" || msg.StopReason != "end_turn" || len(msg.Content) != 1 || msg.Content[0].Text != fakeupstream.AgentDone || msg.Usage.InputTokens == 0 {
		t.Fatalf("turn 2: %s", b)
	}
	turns := h.fake.Sessions(h.accts[0].CSESIDX)[0].Turns
	if len(turns) != 2 || !strings.Contains(turns[1].Query, `status="error"`) {
		t.Errorf("turn 2 did not continue the session with the results (%d turns)", len(turns))
	}
}

func TestMessagesErrorsAndCountTokens(t *testing.T) {
	h := newHarness(t, harnessOpts{key: "sk-a", fake: fakeupstream.Options{DefaultScenario: fakeupstream.ScenarioAgent}})
	body := `{"model":"claude-x","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
	resp := h.do("POST", "/v1/messages", body, map[string]string{"Authorization": "", "x-api-key": "wrong"})
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 401 || !strings.Contains(string(b), `"type":"authentication_error"`) || !strings.Contains(string(b), `"type":"error"`) {
		t.Errorf("auth: %d %s", resp.StatusCode, b)
	}
	resp = h.do("POST", "/v1/messages", `{"model":"m","messages":"nope"}`, nil)
	b, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(b), `"invalid_request_error"`) {
		t.Errorf("bad request: %d %s", resp.StatusCode, b)
	}
	resp = h.do("POST", "/v1/messages/count_tokens", `{"model":"m","messages":[{"role":"user","content":"hello world"}],"tools":[{"name":"a","input_schema":{"type":"object"}}]}`, nil)
	var ct struct {
		InputTokens int `json:"input_tokens"`
	}
	json.NewDecoder(resp.Body).Decode(&ct)
	if resp.StatusCode != 200 || ct.InputTokens < 3 {
		t.Errorf("count_tokens %d %+v", resp.StatusCode, ct)
	}
	// Before the first byte: a real status with an Anthropic error.
	h.queue(0, "http-500", "http-500", "http-500", "http-500")
	resp = h.do("POST", "/v1/messages", body, nil)
	b, _ = io.ReadAll(resp.Body)
	if resp.StatusCode < 500 || !strings.Contains(string(b), `"type":"api_error"`) {
		t.Errorf("pre-stream failure: %d %s", resp.StatusCode, b)
	}
	h.fake.Reset()
	h.fake.AddAccount(h.accts[0])
	// After it: event: error.
	h.queue(0, "internal-midstream")
	resp = h.do("POST", "/v1/messages", body, nil)
	evs := readSSE(t, resp.Body)
	if last := evs[len(evs)-1]; last.Event != "error" || last.Data["error"] == nil {
		t.Errorf("mid-stream failure ends with %+v", last)
	}
}
