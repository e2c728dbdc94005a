package gateway_test

import (
	"context"
	"io"
	"strings"
	"testing"

	openai "github.com/openai/openai-go/v3"

	"github.com/gemgate/gemini-gateway/gateway"
	"github.com/gemgate/gemini-gateway/gateway/pool"
	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
)

// TestLongPromptGoesUpAsFile: a prompt past the inline limit is uploaded
// as conversation.txt with a short query that still ends with the format
// reminder; the fake (reading the file as a model would) still calls the
// tool. The fake itself takes a 2 MB query: its only limit is the 256 MiB
// request body.
func TestLongPromptGoesUpAsFile(t *testing.T) {
	h := newHarness(t, harnessOpts{key: "sk-p", fake: fakeupstream.Options{DefaultScenario: fakeupstream.ScenarioAgent}})
	long := strings.Repeat("Background material the agent attached. ", 4000) // ~164 KB
	c := h.client()
	got, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "gemini-2.5-pro",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage(long), openai.UserMessage("create big.txt containing big")},
		Tools:    []openai.ChatCompletionToolUnionParam{writeTool},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Choices[0].Message.ToolCalls) != 1 {
		t.Fatalf("no call from the uploaded prompt: %+v", got.Choices[0])
	}
	s := h.fake.Sessions(h.accts[0].CSESIDX)[0]
	if len(s.Files) != 1 || s.Files[0].Name != pool.PromptFileName || s.Files[0].MIME != "text/plain" || len(s.Files[0].Data) < len(long) {
		t.Fatalf("files %+v", len(s.Files))
	}
	q := s.Turns[0].Query
	if !strings.HasPrefix(q, pool.PromptFileQuery) || !strings.Contains(q, "Tool call format reminder") || len(q) > 2000 || len(s.Turns[0].FileIDs) != 1 {
		t.Errorf("query %q", q)
	}
	// The fake's own acceptance, measured directly: a 2 MB query passes.
	resp := h.do("POST", "/v1/chat/completions", `{"model":"gemini-2.5-pro","messages":[{"role":"user","content":"`+strings.Repeat("a", 2<<20)+`"}]}`, nil)
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("2 MB prompt: %d %s", resp.StatusCode, b[:min(len(b), 300)])
	}
	files := 0
	for _, s := range h.fake.Sessions(h.accts[0].CSESIDX) {
		files += len(s.Files)
	}
	if files != 2 {
		t.Errorf("the 2 MB prompt should have gone up as a file (files %d)", files)
	}
}

// TestPromptTooLong: past MaxPromptBytes each dialect refuses with its
// context_length_exceeded shape before anything streams.
func TestPromptTooLong(t *testing.T) {
	h := newHarness(t, harnessOpts{key: "sk-p", gw: func(c *gateway.Config) { c.MaxBodyBytes = 64 << 20 }, fake: fakeupstream.Options{DefaultScenario: fakeupstream.ScenarioAgent}})
	huge := strings.Repeat("x", pool.MaxPromptBytes+10)
	for _, tc := range []struct{ path, body, want string }{
		{"/v1/chat/completions", `{"model":"gemini-2.5-pro","stream":true,"messages":[{"role":"user","content":"` + huge + `"}]}`, `"code":"context_length_exceeded"`},
		{"/v1/responses", `{"model":"gemini-2.5-pro","stream":true,"input":"` + huge + `"}`, `"code":"context_length_exceeded"`},
		{"/v1/messages", `{"model":"claude","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"` + huge + `"}]}`, `prompt is too long`},
	} {
		resp := h.do("POST", tc.path, tc.body, map[string]string{"x-api-key": "sk-p"})
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 400 || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s: %d %s", tc.path, resp.StatusCode, b)
		}
	}
	if n := len(h.fake.Sessions(h.accts[0].CSESIDX)); n > 3 {
		t.Errorf("sessions %d", n)
	}
	if v := h.account(0); v.NetworkErrors != 0 {
		t.Errorf("a too-long prompt counted against the account: %+v", v)
	}
}
