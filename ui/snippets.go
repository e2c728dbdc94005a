package ui

import (
	"fmt"
	"net/url"
	"strings"
)

// Client names offered in the Overview's setup picker, in display order.
const (
	clientCurl      = "curl (streaming)"
	clientPython    = "OpenAI Python SDK"
	clientNode      = "OpenAI Node SDK"
	clientOpenWebUI = "Open WebUI"
	clientCherry    = "Cherry Studio / ChatBox"
	clientContinue  = "Continue"
	clientCursor    = "Cursor"
	clientCodex     = "Codex CLI"
	clientClaude    = "Claude Code"
	clientOpencode  = "opencode"
)

// setupClients lists the clients the Overview has snippets for.
func setupClients() []string {
	return []string{clientCurl, clientPython, clientNode, clientOpenWebUI, clientCherry, clientContinue, clientCodex, clientClaude, clientOpencode, clientCursor}
}

// cursorNote is said plainly wherever Cursor comes up (client-traps.md #1).
const cursorNote = "Cursor cannot use a localhost server: its requests come from Cursor's cloud. It would need a public HTTPS tunnel."

// keyEnv is the variable the code snippets read the key from, so the key
// itself appears once, in the line that sets it.
const keyEnv = "GEMINI_GATEWAY_KEY"

// snippetModel picks the model id used in examples: a recognisable one
// (Continue gates features on names, client-traps.md #18).
func snippetModel(models []string) string {
	for _, m := range models {
		if m == "gemini-2.5-pro" {
			return m
		}
	}
	for _, m := range models {
		if m != "gemini-auto" {
			return m
		}
	}
	if len(models) > 0 {
		return models[0]
	}
	return "gemini-2.5-pro"
}

// hostRoot is the base URL without its /v1 suffix, for clients that append
// /v1/chat/completions themselves.
func hostRoot(base string) string {
	return strings.TrimSuffix(strings.TrimSuffix(base, "/"), "/v1")
}

// dockerURL is base as seen from inside a Docker container on this machine.
func dockerURL(base string) string {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return "http://host.docker.internal:7860/v1"
	}
	port := u.Port()
	u.Host = "host.docker.internal"
	if port != "" {
		u.Host += ":" + port
	}
	return u.String()
}

// snippet is the setup text for client. key is what the text shows as the
// key: the Overview passes a masked key for display and the real one for
// Copy, so the key is never on screen unless revealed.
func snippet(client, base, key string, models []string) string {
	model := snippetModel(models)
	switch client {
	case clientCurl:
		return fmt.Sprintf(`export %[1]s='%[2]s'
# PowerShell: $env:%[1]s = '%[2]s'

curl -N %[3]s/chat/completions \
  -H "Authorization: Bearer $%[1]s" \
  -H 'Content-Type: application/json' \
  -d '{"model":"%[4]s","stream":true,"messages":[{"role":"user","content":"Hello"}]}'
`, keyEnv, key, base, model)
	case clientPython:
		return fmt.Sprintf(`# pip install openai
# export %[1]s='%[2]s'
import os
from openai import OpenAI

client = OpenAI(base_url="%[3]s", api_key=os.environ["%[1]s"])
stream = client.chat.completions.create(
    model="%[4]s",
    messages=[{"role": "user", "content": "Hello"}],
    stream=True,
)
for chunk in stream:
    if chunk.choices:
        print(chunk.choices[0].delta.content or "", end="", flush=True)
print()
`, keyEnv, key, base, model)
	case clientNode:
		return fmt.Sprintf(`// npm install openai
// export %[1]s='%[2]s'
import OpenAI from "openai";

const client = new OpenAI({ baseURL: "%[3]s", apiKey: process.env.%[1]s });
const stream = await client.chat.completions.create({
  model: "%[4]s",
  messages: [{ role: "user", content: "Hello" }],
  stream: true,
});
for await (const chunk of stream) {
  process.stdout.write(chunk.choices[0]?.delta?.content ?? "");
}
`, keyEnv, key, base, model)
	case clientOpenWebUI:
		return fmt.Sprintf(`Admin Panel → Settings → Connections → OpenAI API → Add connection

  URL:      %[1]s
  API key:  %[2]s

Open WebUI in Docker cannot reach 127.0.0.1 of your machine. Use:

  URL:      %[3]s

and on Linux start the container with
  --add-host=host.docker.internal:host-gateway
There the request arrives on the Docker bridge, not on 127.0.0.1, so the
gateway must listen on that address too (Settings → Gateway; keep the API
key). Alternatively run the container with --network=host and keep
%[1]s.
`, base, key, dockerURL(base))
	case clientCherry:
		return fmt.Sprintf(`Cherry Studio: Settings → Model Provider → Add → provider type "OpenAI"
  API key:   %[2]s
  API host:  %[1]s
             (Cherry Studio appends /v1/chat/completions itself; the
             gateway also accepts %[3]s)
  Models:    Manage → add the ids below (or fetch them from /v1/models)

ChatBox: Settings → Model Provider → Add → "OpenAI API Compatible"
  API host:  %[1]s
  API path:  /v1/chat/completions
  API key:   %[2]s

Model ids: %[4]s
`, hostRoot(base), key, base, strings.Join(models, ", "))
	case clientContinue:
		var b strings.Builder
		fmt.Fprintf(&b, `# ~/.continue/config.yaml
name: Gemini Gateway
version: 0.0.1
schema: v1
models:
`)
		shown := models
		if len(shown) == 0 {
			shown = []string{model}
		}
		for _, m := range shown {
			fmt.Fprintf(&b, `  - name: %s (gateway)
    provider: openai
    model: %s
    apiBase: %s
    apiKey: %s
    roles: [chat, edit, apply]
    capabilities: [tool_use]
`, m, m, base, key)
		}
		b.WriteString(`# capabilities: [tool_use] turns on agent mode: the gateway emulates tool
# calling in the prompt.
`)
		return b.String()
	case clientCodex:
		return fmt.Sprintf(`# ~/.codex/config.toml  (Codex CLI speaks only the Responses API)
model = "%[4]s"
model_provider = "gateway"

[model_providers.gateway]
name = "Gemini gateway"
base_url = "%[3]s"
env_key = "%[1]s"
wire_api = "responses"

# then, in the shell:
#   export %[1]s='%[2]s'
#   codex
`, keyEnv, key, base, model)
	case clientClaude:
		return fmt.Sprintf(`# Claude Code speaks the Anthropic Messages API
export ANTHROPIC_BASE_URL='%[1]s'
export ANTHROPIC_AUTH_TOKEN='%[2]s'
export ANTHROPIC_MODEL='%[3]s'
export ANTHROPIC_DEFAULT_HAIKU_MODEL='%[3]s'
export CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1
claude
`, hostRoot(base), key, model)
	case clientOpencode:
		return fmt.Sprintf(`// opencode.json (in the project, or ~/.config/opencode/opencode.json)
{
  "$schema": "https://opencode.ai/config.json",
  "provider": {
    "gateway": {
      "npm": "@ai-sdk/openai-compatible",
      "name": "Gemini gateway",
      "options": { "baseURL": "%[1]s", "apiKey": "%[2]s" },
      "models": { "%[3]s": { "tool_call": true } }
    }
  },
  "model": "gateway/%[3]s"
}
`, base, key, model)
	case clientCursor:
		return cursorNote + "\n"
	}
	return ""
}
