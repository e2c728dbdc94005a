package tools

import (
	"strings"
	"testing"
)

// FuzzParser feeds arbitrary answers split at an arbitrary point and
// checks the parser's invariants: no panic; the same result however the
// stream is cut; when nothing parsed as a call every byte comes out as
// text, in order; when calls parsed, the text is a prefix of the input and
// every call names an offered tool with JSON-object arguments.
func FuzzParser(f *testing.F) {
	p := testPlan(f)
	n := p.Nonce
	for _, s := range []string{
		"plain text", "a <tool_ca", "```xml\n" + block(n, "<call name=\"bash\">\n<arg name=\"command\">ls</arg>\n</call>\n") + "\n```",
		"x\n```\ncode\n" + block(n, "<call name=\"bash\"></call>") + "\n```",
		block("wrong1", "<call name=\"bash\"></call>"),
		block(n, "{'name':'bash','arguments':{command:'ls',}}"),
		"<function=bash>\n<parameter=command>ls</parameter>\n</function>",
		"<tool_call>{\"name\":\"write\",\"arguments\":{\"filePath\":\"/a\"}}</tool_call>",
		"<function_calls><invoke name=\"bash\"><parameter name=\"command\">ls</parameter></invoke></function_calls>",
		block(n, "<call name=\"apply_patch\"><arg name=\"input\">*** Begin Patch</arg></call>"),
		"<tool_calls nonce=\"" + n + "\"><call name=\"write\"><arg name=\"content\">" + strings.Repeat("é", 40),
	} {
		f.Add(s, uint16(3))
	}
	f.Fuzz(func(t *testing.T, s string, cut uint16) {
		p.MaxBlock = 300
		whole, wcalls, _ := run(p, s, len(s)+1)
		k := 1 + int(cut)%max(1, len(s))
		text, calls, _ := run(p, s, k)
		if text != whole || len(calls) != len(wcalls) {
			t.Fatalf("split %d changes the result: %q/%d vs %q/%d", k, text, len(calls), whole, len(wcalls))
		}
		for i := range calls {
			if calls[i].Name != wcalls[i].Name || calls[i].Arguments != wcalls[i].Arguments {
				t.Fatalf("split %d changes call %d", k, i)
			}
		}
		if len(calls) == 0 && text != s {
			t.Fatalf("no call, but text %q != input %q", text, s)
		}
		if len(calls) > 0 && !strings.HasPrefix(s, text) {
			t.Fatalf("text %q is not a prefix of the input", text)
		}
		for _, c := range calls {
			if _, ok := p.matchTool(c.Name); !ok || !strings.HasPrefix(c.Arguments, "{") {
				t.Fatalf("bad call %+v", c)
			}
		}
	})
}
