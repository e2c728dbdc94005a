package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gemgate/gemini-gateway/gateway"
)

func TestParseModelAliases(t *testing.T) {
	l, err := gateway.ParseModelAliases(" claude-*=gemini-2.5-pro, gpt-5*=gemini-3-flash-preview ,o3=gemini-2.5-flash,")
	if err != nil || len(l) != 3 {
		t.Fatalf("%v %v", l, err)
	}
	for _, c := range []struct {
		alias int
		name  string
		want  bool
	}{
		{0, "claude-sonnet-4-5", true}, {0, "Claude-Opus-4", true}, {0, "claud", false},
		{1, "gpt-5-codex", true}, {1, "gpt-4o", false},
		{2, "o3", true}, {2, "o3-mini", false},
	} {
		if got := l[c.alias].Match(c.name); got != c.want {
			t.Errorf("%s matches %q: %v, want %v", l[c.alias].Pattern, c.name, got, c.want)
		}
	}
	for _, bad := range []string{"claude-*", "=gemini-2.5-pro", "cl*ude=gemini-2.5-pro", "gpt-*=gemini-*"} {
		if _, err := gateway.ParseModelAliases(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// A hard-wired vendor name is served by its alias on every dialect, and the
// request log names both; without an alias it is still a 404 on chat.
func TestModelAliasesServeHardWiredNames(t *testing.T) {
	h := newHarness(t, harnessOpts{gw: func(c *gateway.Config) {
		c.ModelAliases = []gateway.ModelAlias{{Pattern: "claude-*", Target: "gemini-2.5-pro"}, {Pattern: "gpt-5*", Target: "gemini-2.5-flash"}}
	}})
	resp := h.do("POST", "/v1/chat/completions", `{"model":"gpt-5-codex","messages":[{"role":"user","content":"hi"}]}`, nil)
	var out struct {
		Model string `json:"model"`
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &out) != nil || out.Model != "gemini-2.5-flash" {
		t.Fatalf("chat via alias: %d %s", resp.StatusCode, b)
	}
	resp = h.do("POST", "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`, map[string]string{"anthropic-version": "2023-06-01"})
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"type":"message"`) {
		t.Fatalf("messages via alias: %d %s", resp.StatusCode, b)
	}
	logs := h.logs.String()
	for _, want := range []string{"model_requested=gpt-5-codex model_served=gemini-2.5-flash", "model_requested=claude-sonnet-4-5 model_served=gemini-2.5-pro"} {
		if !strings.Contains(logs, want) {
			t.Errorf("request log lacks %q:\n%s", want, logs)
		}
	}
	resp = h.do("POST", "/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`, nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a name no alias covers: %d, want 404", resp.StatusCode)
	}
}
