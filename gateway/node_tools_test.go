package gateway_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
)

// TestOfficialNodeSDKTools: the openai npm package reads tool calls from
// a streamed chat completion and a streamed responses.create.
func TestOfficialNodeSDKTools(t *testing.T) {
	dir, _ := filepath.Abs("testdata/nodeclient")
	node, err := exec.LookPath("node")
	if _, statErr := os.Stat(filepath.Join(dir, "node_modules", "openai")); err != nil || statErr != nil {
		msg := "node or the openai npm package is missing: run `make setup`"
		skipOrFail(t, msg)
	}
	h := newHarness(t, harnessOpts{key: "sk-node", fake: fakeupstream.Options{DefaultScenario: fakeupstream.ScenarioAgent, SplitWrites: true}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "tools.mjs", h.base+"/v1", "sk-node")
	cmd.Dir = dir
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, b)
	}
	var out struct {
		Chat struct {
			Calls  []struct{ ID, Name, Arguments string }
			Finish string
		}
		Responses struct {
			Events []string
			Output []map[string]any
			ID     string
		}
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if out.Chat.Finish != "tool_calls" || len(out.Chat.Calls) != 1 || out.Chat.Calls[0].Name != "write" || out.Chat.Calls[0].Arguments != `{"content":"n","filePath":"n.txt"}` {
		t.Errorf("chat: %+v", out.Chat)
	}
	r := out.Responses
	if r.ID == "" || len(r.Output) != 2 || r.Output[1]["type"] != "function_call" || r.Output[1]["arguments"] != `{"content":"r","filePath":"r.txt"}` ||
		!strings.Contains(strings.Join(r.Events, ","), "response.function_call_arguments.done") {
		t.Errorf("responses: %+v", r)
	}
}

// TestOfficialAnthropicSDK: @anthropic-ai/sdk (installed with the agents)
// streams a message with a tool_use block.
func TestOfficialAnthropicSDK(t *testing.T) {
	bin := agentBin(t, "claude") // the same install directory
	dir := filepath.Dir(filepath.Dir(filepath.Dir(bin)))
	script, err := os.ReadFile("testdata/agents/anthropic.mjs")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, harnessOpts{key: "sk-ant", fake: fakeupstream.Options{DefaultScenario: fakeupstream.ScenarioAgent, SplitWrites: true}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "--input-type=module")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(string(script))
	cmd.Env = append(os.Environ(), "BASE_URL="+h.base, "API_KEY=sk-ant")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, b)
	}
	var out struct {
		Stop    string
		Content []struct {
			Type, Name, Text string
			Input            map[string]string
		}
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if out.Stop != "tool_use" || len(out.Content) != 2 || out.Content[0].Text != fakeupstream.AgentPreamble || out.Content[1].Type != "tool_use" ||
		out.Content[1].Input["filePath"] != "a.txt" || out.Content[1].Input["content"] != "a" {
		t.Errorf("anthropic sdk: %s", b)
	}
}
