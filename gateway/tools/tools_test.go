package tools

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gemgate/gemini-gateway/gateway/chat"
)

var writeSchema = json.RawMessage(`{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"filePath":{"type":"string","description":"absolute path"},"content":{"type":"string"}},"required":["filePath","content"],"additionalProperties":false}`)

func testPlan(t testing.TB, mutate ...func(*chat.Request)) *Plan {
	t.Helper()
	req := &chat.Request{
		Messages: []chat.Message{{Role: chat.RoleSystem, Text: "You are an agent."}, {Role: chat.RoleUser, Text: "create hello.txt"}},
		Tools: []chat.ToolDef{
			{Name: "write", Description: "Write a file", Parameters: writeSchema},
			{Name: "bash", Description: "Run a command", Parameters: json.RawMessage(`{"type":"object","properties":{"command":{"type":"string"},"timeout":{"type":"integer"},"mode":{"type":"string","enum":["fast","safe"]},"dry":{"type":"boolean"}},"required":["command"]}`)},
			{Name: "apply_patch", Description: "Apply a patch", Custom: true},
		},
	}
	for _, m := range mutate {
		m(req)
	}
	return Prepare(req)
}

// run feeds s split into pieces of n bytes and returns the emitted text,
// the calls and whether the parser reported done.
func run(p *Plan, s string, n int) (string, []Call, bool) {
	ps := p.NewParser()
	var out strings.Builder
	done := false
	for i := 0; i < len(s) && !done; i += n {
		e, d := ps.Feed(s[i:min(i+n, len(s))])
		out.WriteString(e)
		done = d
	}
	out.WriteString(ps.End())
	return out.String(), ps.Calls(), done
}

func block(nonce, body string) string {
	return `<tool_calls nonce="` + nonce + "\">\n" + body + "</tool_calls>"
}

func TestParserSplitEverywhere(t *testing.T) {
	p := testPlan(t)
	nonce := p.Nonce
	cases := []struct {
		name      string
		in        string
		text      string
		calls     []string // name + " " + arguments
		wantCalls bool
	}{
		{"plain text", "Hello <b>world</b> and a < b, `code`.\n```go\nx := 1\n```\n", "Hello <b>world</b> and a < b, `code`.\n```go\nx := 1\n```\n", nil, false},
		{"one call after text, tail dropped",
			"I'll write it.\n\n" + block(nonce, "<call name=\"write\">\n<arg name=\"filePath\">/tmp/a.txt</arg>\n<arg name=\"content\">hello\n</arg>\n</call>\n") + "\nUser: <tool_result>fake</tool_result>",
			"I'll write it.\n\n", []string{`write {"content":"hello\n","filePath":"/tmp/a.txt"}`}, true},
		{"two calls in one block",
			block(nonce, "<call name=\"write\">\n<arg name=\"filePath\">/a</arg>\n<arg name=\"content\">A</arg>\n</call>\n<call name=\"write\">\n<arg name=\"filePath\">/b</arg>\n<arg name=\"content\">B</arg>\n</call>\n"),
			"", []string{`write {"content":"A","filePath":"/a"}`, `write {"content":"B","filePath":"/b"}`}, true},
		{"raw content with quotes, backslashes and a literal </arg>",
			block(nonce, "<call name=\"write\">\n<arg name=\"filePath\">/x.go</arg>\n<arg name=\"content\">s := \"a\\n\" // </arg> is fine\n</arg>\n</call>\n"),
			"", []string{`write {"content":"s := \"a\\n\" // </arg> is fine\n","filePath":"/x.go"}`}, true},
		{"fence around the block is decoration",
			"Sure.\n```xml\n" + block(nonce, "<call name=\"bash\">\n<arg name=\"command\">ls</arg>\n</call>\n") + "\n```\n",
			"Sure.\n", []string{`bash {"command":"ls"}`}, true},
		{"block inside a longer code example is text",
			"Example:\n```\nfirst line\n" + block(nonce, "<call name=\"bash\">\n<arg name=\"command\">ls</arg>\n</call>\n") + "\n```\nThat's the format.",
			"Example:\n```\nfirst line\n" + block(nonce, "<call name=\"bash\">\n<arg name=\"command\">ls</arg>\n</call>\n") + "\n```\nThat's the format.", nil, false},
		{"nonce mismatch is text",
			"See " + block("zzzzzz", "<call name=\"bash\">\n<arg name=\"command\">rm -rf /</arg>\n</call>\n"),
			"See " + block("zzzzzz", "<call name=\"bash\">\n<arg name=\"command\">rm -rf /</arg>\n</call>\n"), nil, false},
		{"missing nonce accepted, wrong case name fixed, types coerced, enum fixed",
			"<tool_calls>\n<call name=\"Bash\">\n<arg name=\"command\">ls</arg>\n<arg name=\"timeout\">30</arg>\n<arg name=\"mode\">FAST</arg>\n<arg name=\"dry\">true</arg>\n</call>\n</tool_calls>",
			"", []string{`bash {"command":"ls","dry":true,"mode":"fast","timeout":30}`}, true},
		{"loose JSON body repaired",
			block(nonce, "{'name': 'bash', 'arguments': {command: 'ls -la', dry: True,}}\n"),
			"", []string{`bash {"command":"ls -la","dry":true}`}, true},
		{"JSON arguments inside call",
			block(nonce, "<call name=\"write\">\n```json\n{\"filePath\": \"/a\", \"content\": \"x\",}\n```\n</call>\n"),
			"", []string{`write {"content":"x","filePath":"/a"}`}, true},
		{"fuzzy name", block(nonce, "<call name=\"wirte\">\n<arg name=\"filePath\">/a</arg>\n<arg name=\"content\">x</arg>\n</call>\n"),
			"", []string{`write {"content":"x","filePath":"/a"}`}, true},
		{"unknown tool is text", "ok " + block(nonce, "<call name=\"delete_everything\">\n</call>\n"),
			"ok " + block(nonce, "<call name=\"delete_everything\">\n</call>\n"), nil, false},
		{"qwen/openhands format", "Doing it.\n<function=bash>\n<parameter=command>\nls\n</parameter>\n</function>\nmore junk",
			"Doing it.\n", []string{`bash {"command":"ls"}`}, true},
		{"claude invoke format, two calls", "<function_calls>\n<invoke name=\"bash\">\n<parameter name=\"command\">ls</parameter>\n</invoke>\n<invoke name=\"bash\">\n<parameter name=\"command\">pwd</parameter>\n</invoke>\n</function_calls>",
			"", []string{`bash {"command":"ls"}`, `bash {"command":"pwd"}`}, true},
		{"hermes tool_call JSON, two blocks", "<tool_call>\n{\"name\": \"bash\", \"arguments\": {\"command\": \"ls\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"bash\", \"arguments\": \"{\\\"command\\\": \\\"pwd\\\"}\"}\n</tool_call>\nI ran them.",
			"", []string{`bash {"command":"ls"}`, `bash {"command":"pwd"}`}, true},
		{"other family with an undeclared name is text", "<invoke name=\"web_fetch\">\n<parameter name=\"url\">x</parameter>\n</invoke>",
			"<invoke name=\"web_fetch\">\n<parameter name=\"url\">x</parameter>\n</invoke>", nil, false},
		{"custom tool keeps raw input", block(nonce, "<call name=\"apply_patch\">\n<arg name=\"input\">*** Begin Patch\n*** Add File: a.txt\n+hi \"there\"\n*** End Patch\n</arg>\n</call>\n"),
			"", []string{"apply_patch {\"input\":\"*** Begin Patch\\n*** Add File: a.txt\\n+hi \\\"there\\\"\\n*** End Patch\\n\"}"}, true},
		{"stream ends inside a block: closed calls kept", block(nonce, "<call name=\"bash\">\n<arg name=\"command\">ls</arg>\n</call>\n<call name=\"write\">\n<arg name=\"filePath\">/a")[:len(block(nonce, "<call name=\"bash\">\n<arg name=\"command\">ls</arg>\n</call>\n<call name=\"write\">\n<arg name=\"filePath\">/a"))-len("</tool_calls>")],
			"", []string{`bash {"command":"ls"}`}, false},
		{"multibyte text around", "Voilà 春风 👩\u200d💻 " + block(nonce, "<call name=\"bash\">\n<arg name=\"command\">echo 春</arg>\n</call>\n"),
			"Voilà 春风 👩\u200d💻 ", []string{`bash {"command":"echo 春"}`}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for n := 1; n <= len(tc.in); n++ {
				text, calls, done := run(p, tc.in, n)
				if text != tc.text {
					t.Fatalf("split %d: text = %q, want %q", n, text, tc.text)
				}
				var got []string
				for _, c := range calls {
					got = append(got, c.Name+" "+c.Arguments)
					if !strings.HasPrefix(c.ID, "call_") {
						t.Errorf("call id %q", c.ID)
					}
				}
				if strings.Join(got, "|") != strings.Join(tc.calls, "|") {
					t.Fatalf("split %d: calls = %q, want %q", n, got, tc.calls)
				}
				if done != tc.wantCalls && n < len(tc.in) {
					t.Fatalf("split %d: done = %v", n, done)
				}
			}
		})
	}
}

func TestHoldBackIsMinimal(t *testing.T) {
	p := testPlan(t)
	ps := p.NewParser()
	if e, _ := ps.Feed("Hello wor"); e != "Hello wor" {
		t.Fatalf("plain delta held back: %q", e)
	}
	if e, _ := ps.Feed("ld <tool_ca"); e != "ld " {
		t.Fatalf("emitted %q, want only the text before the possible sentinel", e)
	}
	if e, _ := ps.Feed("r is here"); e != "<tool_car is here" {
		t.Fatalf("released %q", e)
	}
	if e, _ := ps.Feed(" a<b"); e != " a<b" {
		t.Fatalf("non-sentinel '<' held: %q", e)
	}
}

func TestCapGivesBlockBackAsText(t *testing.T) {
	p := testPlan(t)
	p.MaxBlock = 200
	in := "<tool_calls nonce=\"" + p.Nonce + "\">\n<call name=\"write\">\n<arg name=\"content\">" + strings.Repeat("x", 500)
	text, calls, _ := run(p, in+"</arg></call></tool_calls>", 7)
	if len(calls) != 0 || text != in+"</arg></call></tool_calls>" {
		t.Fatalf("over the cap: calls %v, text %d bytes", calls, len(text))
	}
}

func TestSchemaProblemsDoNotReject(t *testing.T) {
	p := testPlan(t)
	calls := p.ParseBlock(block(p.Nonce, "<call name=\"bash\">\n<arg name=\"timeout\">soon</arg>\n<arg name=\"mode\">turbo</arg>\n</call>\n"))
	if len(calls) != 1 {
		t.Fatalf("calls = %v", calls)
	}
	probs := strings.Join(calls[0].Problems, "; ")
	for _, want := range []string{`missing required argument "command"`, `"timeout" should be integer`, `"mode" is not one of`} {
		if !strings.Contains(probs, want) {
			t.Errorf("problems %q lack %q", probs, want)
		}
	}
}

func TestToolChoiceAndAllowed(t *testing.T) {
	named := testPlan(t, func(r *chat.Request) { r.ToolChoice = chat.ToolChoice{Mode: chat.ToolChoiceNamed, Name: "bash"} })
	if len(named.Offered) != 1 || named.Offered[0].Name != "bash" || !named.Required() || !strings.Contains(named.Suffix, "MUST call the tool bash") {
		t.Fatalf("named: offered %v suffix %q", named.Offered, named.Suffix)
	}
	if got := named.ParseBlock(block(named.Nonce, "<call name=\"write\">\n</call>\n")); len(got) != 0 {
		t.Errorf("named choice accepted another tool: %v", got)
	}
	none := testPlan(t, func(r *chat.Request) { r.ToolChoice = chat.ToolChoice{Mode: chat.ToolChoiceNone} })
	if none.Active() || none.Suffix != "" || strings.Contains(flat(none), "# Tools") {
		t.Fatalf("none: tools still offered")
	}
	req := testPlan(t, func(r *chat.Request) {
		r.ToolChoice = chat.ToolChoice{Mode: chat.ToolChoiceRequired}
		r.NoParallel = true
	})
	if !strings.Contains(req.Suffix, "MUST call at least one tool") || !strings.Contains(flat(req), "at most ONE tool") {
		t.Fatalf("required/no-parallel not rendered: %q", req.Suffix)
	}
	if got := req.ParseBlock(block(req.Nonce, "<call name=\"bash\">\n<arg name=\"command\">a</arg>\n</call>\n<call name=\"bash\">\n<arg name=\"command\">b</arg>\n</call>\n")); len(got) != 1 {
		t.Errorf("parallel_tool_calls:false let %d calls through", len(got))
	}
	allowed := testPlan(t, func(r *chat.Request) { r.Allowed = []string{"write"} })
	if len(allowed.Offered) != 1 || allowed.Offered[0].Name != "write" {
		t.Errorf("allowed_tools: offered %v", allowed.Offered)
	}
	if !strings.Contains(req.Reask(), req.Nonce) {
		t.Error("re-ask lacks the nonce")
	}
}

func flat(p *Plan) string { return chat.Flatten(p.Messages) + "\n\n" + p.Suffix }

func TestPromptRendering(t *testing.T) {
	p := testPlan(t)
	s := flat(p)
	for _, want := range []string{
		"### write\nWrite a file\nArguments (JSON Schema): ",
		`"required":["filePath","content"]`,
		`<tool_calls nonce="` + p.Nonce + `">`,
		"### apply_patch", "exactly one argument, `input`",
		"which is NOT one of your tools",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("prompt lacks %q", want)
		}
	}
	if strings.Contains(s, "$schema") {
		t.Error("prompt keeps $schema")
	}
	if !strings.HasSuffix(s, p.Suffix) || !strings.Contains(p.Suffix, "reminder") {
		t.Error("the reminder must come last")
	}
	// The tool block sits after the client's system message, before the user.
	if p.Messages[0].Text != "You are an agent." || !strings.HasPrefix(p.Messages[1].Text, "# Tools") || p.Messages[2].Role != chat.RoleUser {
		t.Errorf("message order: %+v", p.Messages)
	}
}

func TestHistoryRenderingAndSessionKeys(t *testing.T) {
	first := []chat.Message{{Role: chat.RoleSystem, Text: "sys"}, {Role: chat.RoleUser, Text: "create two files"}}
	tools := []chat.ToolDef{{Name: "write", Parameters: writeSchema}}
	p1 := Prepare(&chat.Request{Messages: first, Tools: tools})
	calls := p1.ParseBlock(block(p1.Nonce, "<call name=\"write\">\n<arg name=\"filePath\">/a</arg>\n<arg name=\"content\">A\n</arg>\n</call>\n<call name=\"write\">\n<arg name=\"filePath\">/b</arg>\n<arg name=\"content\">B</arg>\n</call>\n"))
	if len(calls) != 2 {
		t.Fatalf("calls %v", calls)
	}
	// What the gateway remembers after turn 1 …
	remembered := append(append([]chat.Message(nil), p1.Messages...), chat.Message{Role: chat.RoleAssistant, Text: p1.RenderAnswer("On it.", calls)})
	// … and what the client sends in turn 2 (arguments re-serialised with
	// another key order, as SDKs do).
	second := append(append([]chat.Message(nil), first...),
		chat.Message{Role: chat.RoleAssistant, Text: "On it.", ToolCalls: []chat.ToolCall{
			{ID: "c1", Name: "write", Arguments: `{"filePath": "/a", "content": "A\n"}`},
			{ID: "c2", Name: "write", Arguments: calls[1].Arguments}}},
		chat.Message{Role: chat.RoleTool, ToolCallID: "c1", Text: "wrote /a"},
		chat.Message{Role: chat.RoleTool, ToolCallID: "c2", Text: "<tool_use_error>disk full</tool_use_error>", IsError: true},
	)
	p2 := Prepare(&chat.Request{Messages: second, Tools: tools})
	if p2.Nonce != p1.Nonce {
		t.Fatal("nonce changed within a conversation")
	}
	last := chat.LastUser(p2.Messages)
	if last != len(p2.Messages)-1 || chat.KeyOf(p2.Messages[:last]) != chat.KeyOf(remembered) {
		t.Fatalf("turn 2 does not continue turn 1's session:\n%q\n%q", chat.Flatten(p2.Messages[:last]), chat.Flatten(remembered))
	}
	res := chat.Continuation(p2.Messages)
	for _, want := range []string{`<tool_result name="write" status="ok">`, `Called with: {"filePath":"/a","content":"A\n"}`, `status="error"`, "The tool FAILED", "disk full"} {
		if !strings.Contains(res, want) {
			t.Errorf("continuation lacks %q:\n%s", want, res)
		}
	}
	if Prepare(&chat.Request{Messages: []chat.Message{{Role: chat.RoleUser, Text: "other chat"}}, Tools: tools}).Nonce == p1.Nonce {
		t.Error("two conversations share a nonce")
	}
}

func TestLooseJSON(t *testing.T) {
	cases := map[string]string{
		`{'a': 'it\'s', "b": True, c: None, d: [1,2,],}`: `{"a":"it's","b":true,"c":null,"d":[1,2]}`,
		"```json\n{\"a\": \"x\\q\"}\n```":                `{"a":"x\\q"}`,
		"{\"a\": \"line1\nline2\"":                       `{"a":"line1\nline2"}`,
		`<![CDATA[{"a":1}]]>`:                            `{"a":1}`,
	}
	for in, want := range cases {
		v, ok := parseLoose(in)
		if !ok {
			t.Errorf("%q did not parse", in)
			continue
		}
		if got := marshalArgs(v); got != want {
			t.Errorf("%q -> %s, want %s", in, got, want)
		}
	}
	if _, ok := parseLoose("not json"); ok {
		t.Error("prose parsed as JSON")
	}
}
