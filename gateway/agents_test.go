package gateway_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
)

// The real coding agents (pinned in testdata/agents, installed by
// `make setup` into a cache outside the clone; .ci/agents-dir prints where)
// complete a file task through the gateway against the fake upstream's
// agent responder. Each runs offline with HOME and its config in a
// temporary directory, bounded in time.

func agentBin(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("GATEWAY_AGENTS_DIR")
	if dir == "" {
		out, err := exec.Command("../.ci/agents-dir").Output()
		if err == nil {
			dir = strings.TrimSpace(string(out))
		}
	}
	bin := filepath.Join(dir, "node_modules", ".bin", name)
	if _, err := os.Stat(filepath.Join(dir, ".installed")); err != nil || dir == "" {
		msg := "the coding agents are not installed: run `make setup` (.ci/agents-dir install) or set GATEWAY_AGENTS_DIR"
		skipOrFail(t, msg)
	}
	return bin
}

type agentRun struct {
	h    *harness
	work string // the agent's working directory
	home string
}

func newAgentRun(t *testing.T) *agentRun {
	h := newHarness(t, harnessOpts{key: "sk-agent", fake: fakeupstream.Options{DefaultScenario: fakeupstream.ScenarioAgent, SplitWrites: true}})
	tmp := t.TempDir()
	r := &agentRun{h: h, work: filepath.Join(tmp, "work"), home: filepath.Join(tmp, "home")}
	os.MkdirAll(r.work, 0o755)
	os.MkdirAll(r.home, 0o755)
	return r
}

// run starts bin with args in the work directory; env adds to a minimal
// environment (no proxies, no user config).
func (r *agentRun) run(t *testing.T, bin string, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = r.work
	cmd.Env = append([]string{"HOME=" + r.home, "PATH=" + os.Getenv("PATH"), "TERM=dumb", "NO_COLOR=1", "CI=1",
		"XDG_CONFIG_HOME=" + filepath.Join(r.home, ".config"), "XDG_DATA_HOME=" + filepath.Join(r.home, ".local/share"),
		"XDG_CACHE_HOME=" + filepath.Join(r.home, ".cache"), "XDG_STATE_HOME=" + filepath.Join(r.home, ".local/state"),
		// Nothing beyond loopback: every proxy-aware request elsewhere fails fast.
		"HTTP_PROXY=http://127.0.0.1:9", "HTTPS_PROXY=http://127.0.0.1:9", "http_proxy=http://127.0.0.1:9", "https_proxy=http://127.0.0.1:9",
		"NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost", "npm_config_registry=http://127.0.0.1:9/"}, env...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s\ngateway log:\n%s", filepath.Base(bin), args, err, out, r.h.logs.String())
	}
	return string(out)
}

func (r *agentRun) wantFile(t *testing.T, name, content string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.work, name))
	if err != nil || strings.TrimSpace(string(b)) != content {
		t.Errorf("%s = %q (%v)", name, b, err)
	}
}

func TestAgentOpencode(t *testing.T) {
	bin := agentBin(t, "opencode")
	r := newAgentRun(t)
	cfg := `{"$schema":"https://opencode.ai/config.json","provider":{"gw":{"npm":"@ai-sdk/openai-compatible","options":{"baseURL":"` + r.h.base + `/v1","apiKey":"sk-agent"},"models":{"gemini-2.5-pro":{"tool_call":true}}}},"model":"gw/gemini-2.5-pro","autoupdate":false,"share":"disabled"}`
	os.WriteFile(filepath.Join(r.work, "opencode.json"), []byte(cfg), 0o644)
	out := r.run(t, bin, []string{"OPENCODE_DISABLE_MODELS_FETCH=1", "OPENCODE_DISABLE_AUTOUPDATE=1"},
		"run", "create hello.txt containing hello and create two.txt containing two")
	r.wantFile(t, "hello.txt", "hello")
	r.wantFile(t, "two.txt", "two")
	if !strings.Contains(out, fakeupstream.AgentDone) || strings.Contains(out, "<tool_calls") {
		t.Errorf("opencode output:\n%s", out)
	}
}

func codexConfig(r *agentRun) []string {
	codexHome := filepath.Join(r.home, "codex")
	os.MkdirAll(codexHome, 0o755)
	os.WriteFile(filepath.Join(codexHome, "config.toml"), []byte(`model = "gemini-2.5-pro"
model_provider = "gateway"
check_for_update_on_startup = false
[analytics]
enabled = false
[model_providers.gateway]
name = "Gemini gateway"
base_url = "`+r.h.base+`/v1"
env_key = "GATEWAY_API_KEY"
wire_api = "responses"
request_max_retries = 1
stream_max_retries = 1
`), 0o644)
	return []string{"CODEX_HOME=" + codexHome, "GATEWAY_API_KEY=sk-agent"}
}

func TestAgentCodex(t *testing.T) {
	bin := agentBin(t, "codex")
	r := newAgentRun(t)
	env := codexConfig(r)
	out := r.run(t, bin, env, "exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox",
		"create hello.txt containing hello and create two.txt containing two")
	r.wantFile(t, "hello.txt", "hello")
	r.wantFile(t, "two.txt", "two")
	if !strings.Contains(out, fakeupstream.AgentDone) {
		t.Errorf("codex output:\n%s", out)
	}
	// apply_patch: a known model name makes Codex declare its custom tool.
	out = r.run(t, bin, env, "exec", "-m", "gpt-5.5", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox",
		"patch: create patched.txt containing patched")
	r.wantFile(t, "patched.txt", "patched")
	if !strings.Contains(out, fakeupstream.AgentDone) {
		t.Errorf("codex apply_patch output:\n%s", out)
	}
}

func claudeEnv(r *agentRun) []string {
	return []string{"ANTHROPIC_BASE_URL=" + r.h.base, "ANTHROPIC_AUTH_TOKEN=sk-agent", "ANTHROPIC_MODEL=gemini-2.5-pro",
		"ANTHROPIC_DEFAULT_HAIKU_MODEL=gemini-2.5-pro", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "DISABLE_AUTOUPDATER=1",
		"ENABLE_TOOL_SEARCH=false", "CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS=1", "CLAUDE_CODE_MAX_RETRIES=2"}
}

func TestAgentClaudeCode(t *testing.T) {
	bin := agentBin(t, "claude")
	r := newAgentRun(t)
	out := r.run(t, bin, claudeEnv(r), "-p", "create hello.txt containing hello and create two.txt containing two", "--allowedTools", "Write")
	r.wantFile(t, "hello.txt", "hello")
	r.wantFile(t, "two.txt", "two")
	if !strings.Contains(out, fakeupstream.AgentDone) {
		t.Errorf("claude output:\n%s", out)
	}
	// A stream that fails after its first byte: Claude Code retries with
	// stream:false, which must answer a plain message.
	r.h.queue(0, fakeupstream.ScenarioInternalMidstream)
	out = r.run(t, bin, claudeEnv(r), "-p", "create again.txt containing again", "--allowedTools", "Write")
	r.wantFile(t, "again.txt", "again")
	if !strings.Contains(out, fakeupstream.AgentDone) || !strings.Contains(r.h.logs.String(), "path=/v1/messages status=200") ||
		!strings.Contains(r.h.logs.String(), "stream=false") {
		t.Errorf("no stream:false retry seen; output:\n%s", out)
	}
}
