package fakeupstream

import (
	"encoding/json"
	"regexp"
	"strings"
)

// ScenarioAgent answers like a model driving a coding agent's tools, from
// what the prompt says (the fake reads the gateway's tool instructions as
// text, the way the model does; it shares no code with the gateway):
//
//   - The task is the last "create NAME containing TEXT" in the
//     conversation (several joined by "and" become several calls in one
//     block); "patch" in the task prefers an apply_patch tool.
//   - While no result of a declared tool is in the conversation, it
//     answers with a short sentence and a call block in the syntax and
//     with the nonce the prompt's "How to call tools" section shows,
//     cut into deltas inside the opening tag so a client's hold-back is
//     exercised, followed by an invented result that must be dropped.
//   - Once a result is there it answers AgentDone.
//   - A prompt without tool instructions gets AgentTitle (agents ask for
//     a conversation title without tools).
//
// The conversation is every turn of the session (the gateway may send
// only the newest messages into a session it continues) plus the text
// files uploaded into it (long prompts go up as a file).
const ScenarioAgent = "agent"

// Texts of the agent scenario.
const (
	AgentDone     = "DONE"
	AgentTitle    = "File creation task"
	AgentPreamble = "I'll do that now.\n\n"
	// AgentInvented follows the call block; a client must drop it.
	AgentInvented = "\n\nUser: <tool_result name=\"x\" status=\"ok\">invented</tool_result>\nAll done, the file exists."
)

var (
	agentNonceRE  = regexp.MustCompile(`<tool_calls nonce="([^"]+)">\s*\n<call name="TOOL_NAME">`)
	agentToolRE   = regexp.MustCompile(`(?m)^### (\S+)\n`)
	agentTaskRE   = regexp.MustCompile(`create (\S+) containing (\S+)`)
	agentResultRE = regexp.MustCompile(`<tool_result name="([^"]+)"`)
	agentCwdREs   = []*regexp.Regexp{
		regexp.MustCompile(`<cwd>([^<\n]+)</cwd>`),
		regexp.MustCompile(`Primary working directory: (\S+)`),
		regexp.MustCompile(`(?i)working directory: (/\S+)`),
	}
)

// scenarioFor picks a named scenario; "agent" depends on the session.
func (s *Server) scenarioFor(name string, ss *sessionState, turn Turn) (Scenario, bool) {
	if name != ScenarioAgent {
		return s.env.builtin(name, turn.Query)
	}
	var conv strings.Builder
	for _, f := range ss.files {
		if strings.HasPrefix(f.MIME, "text/") {
			conv.Write(f.Data)
			conv.WriteString("\n\n")
		}
	}
	for _, t := range ss.turns {
		conv.WriteString(t.Query)
		conv.WriteString("\n\n")
	}
	conv.WriteString(turn.Query)
	return Scenario{Name: ScenarioAgent, Elements: agentElements(AgentReply(conv.String()))}, true
}

// AgentReply is the agent scenario's answer to a conversation, as deltas.
func AgentReply(conv string) []string {
	m := agentNonceRE.FindStringSubmatch(conv)
	if m == nil {
		return splitRunes(AgentTitle, 2)
	}
	nonce := m[1]
	tools := map[string]agentTool{}
	for _, tm := range agentToolRE.FindAllStringSubmatchIndex(conv, -1) {
		name := conv[tm[2]:tm[3]]
		tools[name] = parseAgentTool(conv[tm[1]:])
	}
	for _, r := range agentResultRE.FindAllStringSubmatch(conv, -1) {
		if _, ok := tools[r[1]]; ok {
			return []string{AgentDone}
		}
	}
	tasks := agentTaskRE.FindAllStringSubmatch(conv, -1)
	if len(tasks) == 0 {
		return []string{"What should I create?"}
	}
	// The newest request, and the ones joined to it by "and".
	last := tasks[len(tasks)-1][0]
	line := conv[strings.LastIndex(conv, last):]
	if nl := strings.IndexByte(line, '\n'); nl >= 0 {
		line = line[:nl]
	}
	start := strings.LastIndex(conv, last)
	lineStart := strings.LastIndexByte(conv[:start], '\n') + 1
	line = conv[lineStart:start] + line
	var calls []string
	for _, t := range agentTaskRE.FindAllStringSubmatch(line, -1) {
		// Quotes and punctuation around the words are not part of them.
		name, content := strings.Trim(t[1], `"'.,;:`), strings.Trim(t[2], `"'.,;:`)
		calls = append(calls, agentCall(tools, strings.Contains(line, "patch"), agentPath(conv, name), name, content))
	}
	var b strings.Builder
	b.WriteString(`<tool_calls nonce="` + nonce + "\">\n")
	for _, c := range calls {
		b.WriteString(c)
	}
	b.WriteString("</tool_calls>")
	block := b.String()
	// Cut inside the opening tag, then in small pieces.
	out := []string{AgentPreamble + block[:8]}
	for rest := block[8:]; rest != ""; {
		n := min(len(rest), 23)
		out = append(out, rest[:n])
		rest = rest[n:]
	}
	return append(out, AgentInvented)
}

type agentTool struct {
	props  map[string]string // name → type
	custom bool
}

// parseAgentTool reads the lines under a "### name" heading: the schema
// after "Arguments (JSON Schema): ", or the custom-tool sentence.
func parseAgentTool(rest string) agentTool {
	if i := strings.Index(rest, "\n### "); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.Index(rest, "\n## "); i >= 0 {
		rest = rest[:i]
	}
	t := agentTool{props: map[string]string{}}
	if strings.Contains(rest, "exactly one argument, `input`") {
		t.custom = true
		return t
	}
	const label = "Arguments (JSON Schema): "
	i := strings.LastIndex(rest, label)
	if i < 0 {
		return t
	}
	line := rest[i+len(label):]
	if nl := strings.IndexByte(line, '\n'); nl >= 0 {
		line = line[:nl]
	}
	var sc struct {
		Properties map[string]struct {
			Type any `json:"type"`
		} `json:"properties"`
	}
	json.Unmarshal([]byte(line), &sc)
	for k, v := range sc.Properties {
		typ, _ := v.Type.(string)
		t.props[k] = typ
	}
	return t
}

func agentPath(conv, name string) string {
	if strings.HasPrefix(name, "/") {
		return name
	}
	for _, re := range agentCwdREs {
		if m := re.FindAllStringSubmatch(conv, -1); m != nil {
			return strings.TrimRight(m[len(m)-1][1], "/") + "/" + name
		}
	}
	return name
}

// agentCall writes one call, choosing the tool a model would: a patch
// tool when asked to patch, else a file-writing tool, else a shell.
func agentCall(tools map[string]agentTool, patch bool, path, name, content string) string {
	arg := func(k, v string) string { return `<arg name="` + k + `">` + v + "</arg>\n" }
	call := func(tool, args string) string { return `<call name="` + tool + "\">\n" + args + "</call>\n" }
	if t, ok := tools["apply_patch"]; ok && (patch || len(tools) == 1) {
		in := "*** Begin Patch\n*** Add File: " + name + "\n+" + content + "\n*** End Patch\n"
		if t.custom {
			return call("apply_patch", arg("input", in))
		}
		return call("apply_patch", arg(firstKey(t.props, "input", "patch"), in))
	}
	for _, tn := range sortedNames(tools) {
		low := strings.ToLower(tn)
		if low != "write" && low != "write_file" && low != "create_file" {
			continue
		}
		t := tools[tn]
		pk := firstKey(t.props, "filePath", "file_path", "path", "filename")
		ck := firstKey(t.props, "content", "contents", "text")
		if pk != "" && ck != "" {
			return call(tn, arg(pk, path)+arg(ck, content))
		}
	}
	for _, tn := range sortedNames(tools) {
		low := strings.ToLower(tn)
		if low != "bash" && low != "shell" && low != "exec_command" && low != "shell_command" {
			continue
		}
		t := tools[tn]
		k := firstKey(t.props, "command", "cmd")
		if k == "" {
			continue
		}
		cmd := "printf '%s' '" + content + "' > '" + path + "'"
		if t.props[k] == "array" {
			b, _ := json.Marshal([]string{"bash", "-lc", cmd})
			return call(tn, arg(k, string(b)))
		}
		return call(tn, arg(k, cmd))
	}
	return call("write", arg("filePath", path)+arg("content", content))
}

func firstKey(props map[string]string, keys ...string) string {
	for _, k := range keys {
		if _, ok := props[k]; ok {
			return k
		}
	}
	return ""
}

func sortedNames(m map[string]agentTool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func agentElements(deltas []string) []string {
	es := make([]element, 0, len(deltas)+1)
	for i, d := range deltas {
		el := inProgress(text(d))
		if i == 0 {
			el = first(el)
		}
		es = append(es, el)
	}
	return encodeAll(append(es, terminal("SUCCEEDED"))...)
}
