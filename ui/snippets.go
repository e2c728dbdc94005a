package ui

import (
	"net/url"
	"strings"
	"text/template"
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

// snippetData is what the setup texts are filled with.
type snippetData struct {
	Base   string   // the OpenAI base URL, …/v1
	Root   string   // Base without /v1, for clients that append it
	Docker string   // Base as seen from a Docker container
	Key    string   // the key as shown (masked or real)
	KeyEnv string   // the variable the code reads the key from
	Model  string   // the example model
	Models []string // every model id (at least Model, for Continue's list)
	All    string   // every model id, comma-separated
}

// snippet is the setup text for client ("" for an unknown one). key is
// what the text shows as the key: the Overview passes a masked key for
// display and the real one for Copy, so the key is never on screen unless
// revealed.
func snippet(client, base, key string, models []string) string {
	t := snippetTemplates[client]
	if t == nil {
		return ""
	}
	d := snippetData{Base: base, Root: hostRoot(base), Docker: dockerURL(base), Key: key, KeyEnv: keyEnv,
		Model: snippetModel(models), Models: models, All: strings.Join(models, ", ")}
	if len(d.Models) == 0 {
		d.Models = []string{d.Model}
	}
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		return "" // the templates are fixed and tested: cannot happen
	}
	return b.String()
}

// snippetTemplates holds one setup text per client.
var snippetTemplates = parseSnippets(map[string]string{
	clientCurl: `export {{.KeyEnv}}='{{.Key}}'
# PowerShell: $env:{{.KeyEnv}} = '{{.Key}}'

curl -N {{.Base}}/chat/completions \
  -H "Authorization: Bearer ${{.KeyEnv}}" \
  -H 'Content-Type: application/json' \
  -d '{"model":"{{.Model}}","stream":true,"messages":[{"role":"user","content":"Hello"}]}'
`,
	clientPython: `# pip install openai
# export {{.KeyEnv}}='{{.Key}}'
import os
from openai import OpenAI

client = OpenAI(base_url="{{.Base}}", api_key=os.environ["{{.KeyEnv}}"])
stream = client.chat.completions.create(
    model="{{.Model}}",
    messages=[{"role": "user", "content": "Hello"}],
    stream=True,
)
for chunk in stream:
    if chunk.choices:
        print(chunk.choices[0].delta.content or "", end="", flush=True)
print()
`,
	clientNode: `// npm install openai
// export {{.KeyEnv}}='{{.Key}}'
import OpenAI from "openai";

const client = new OpenAI({ baseURL: "{{.Base}}", apiKey: process.env.{{.KeyEnv}} });
const stream = await client.chat.completions.create({
  model: "{{.Model}}",
  messages: [{ role: "user", content: "Hello" }],
  stream: true,
});
for await (const chunk of stream) {
  process.stdout.write(chunk.choices[0]?.delta?.content ?? "");
}
`,
	clientOpenWebUI: `Admin Panel → Settings → Connections → OpenAI API → Add connection

  URL:      {{.Base}}
  API key:  {{.Key}}

Open WebUI in Docker cannot reach 127.0.0.1 of your machine. Use:

  URL:      {{.Docker}}

and on Linux start the container with
  --add-host=host.docker.internal:host-gateway
There the request arrives on the Docker bridge, not on 127.0.0.1, so the
gateway must listen on that address too (Settings → Gateway; keep the API
key). Alternatively run the container with --network=host and keep
{{.Base}}.
`,
	clientCherry: `Cherry Studio: Settings → Model Provider → Add → provider type "OpenAI"
  API key:   {{.Key}}
  API host:  {{.Root}}
             (Cherry Studio appends /v1/chat/completions itself; the
             gateway also accepts {{.Base}})
  Models:    Manage → add the ids below (or fetch them from /v1/models)

ChatBox: Settings → Model Provider → Add → "OpenAI API Compatible"
  API host:  {{.Root}}
  API path:  /v1/chat/completions
  API key:   {{.Key}}

Model ids: {{.All}}
`,
	clientContinue: `# ~/.continue/config.yaml
name: Gemini Gateway
version: 0.0.1
schema: v1
models:
{{range .Models}}  - name: {{.}} (gateway)
    provider: openai
    model: {{.}}
    apiBase: {{$.Base}}
    apiKey: {{$.Key}}
    roles: [chat, edit, apply]
    capabilities: [tool_use]
{{end}}# capabilities: [tool_use] turns on agent mode: the gateway emulates tool
# calling in the prompt.
`,
	clientCodex: `# ~/.codex/config.toml  (Codex CLI speaks only the Responses API)
model = "{{.Model}}"
model_provider = "gateway"

[model_providers.gateway]
name = "Gemini gateway"
base_url = "{{.Base}}"
env_key = "{{.KeyEnv}}"
wire_api = "responses"

# then, in the shell:
#   export {{.KeyEnv}}='{{.Key}}'
#   codex
`,
	clientClaude: `# Claude Code speaks the Anthropic Messages API
export ANTHROPIC_BASE_URL='{{.Root}}'
export ANTHROPIC_AUTH_TOKEN='{{.Key}}'
export ANTHROPIC_MODEL='{{.Model}}'
export ANTHROPIC_DEFAULT_HAIKU_MODEL='{{.Model}}'
export CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1
claude
`,
	clientOpencode: `// opencode.json (in the project, or ~/.config/opencode/opencode.json)
{
  "$schema": "https://opencode.ai/config.json",
  "provider": {
    "gateway": {
      "npm": "@ai-sdk/openai-compatible",
      "name": "Gemini gateway",
      "options": { "baseURL": "{{.Base}}", "apiKey": "{{.Key}}" },
      "models": { "{{.Model}}": { "tool_call": true } }
    }
  },
  "model": "gateway/{{.Model}}"
}
`,
	clientCursor: cursorNote + "\n",
})

// parseSnippets parses the setup texts once, at start; a mistake in one
// panics every test run.
func parseSnippets(texts map[string]string) map[string]*template.Template {
	out := make(map[string]*template.Template, len(texts))
	for client, text := range texts {
		out[client] = template.Must(template.New(client).Option("missingkey=error").Parse(text))
	}
	return out
}
