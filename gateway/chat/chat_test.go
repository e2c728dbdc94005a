package chat

import "testing"

func TestFlatten(t *testing.T) {
	img := Image{MIME: "image/png", Data: []byte{1}}
	tests := []struct {
		name string
		msgs []Message
		want string
	}{
		{"lone user message is sent as is", []Message{{Role: RoleUser, Text: "hi"}}, "hi"},
		{
			"transcript with roles, tools and earlier images",
			[]Message{
				{Role: RoleSystem, Text: "be brief"},
				{Role: RoleUser, Text: "look", Images: []Image{img}},
				{Role: RoleAssistant, Text: "a cat", ToolCalls: []ToolCall{{Name: "f", Arguments: `{}`}}},
				{Role: RoleTool, Text: "42"},
				{Role: RoleUser, Text: "and this?", Images: []Image{img}},
			},
			"System: be brief\n\nUser: look [image]\n\nAssistant: a cat\n[Call Tool: f({})]\n\nTool Output: 42\n\nUser: and this?",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Flatten(tc.msgs); got != tc.want {
				t.Errorf("Flatten = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestContinuation(t *testing.T) {
	msgs := []Message{{Role: RoleUser, Text: "one"}, {Role: RoleAssistant, Text: "1"}, {Role: RoleUser, Text: "two"}}
	if got := Continuation(msgs); got != "two" {
		t.Errorf("Continuation = %q", got)
	}
	msgs = append(msgs, Message{Role: RoleTool, Text: "out"})
	if got := Continuation(msgs); got != "User: two\n\nTool Output: out" {
		t.Errorf("Continuation with tool output = %q", got)
	}
}

func TestKeyOf(t *testing.T) {
	a := []Message{{Role: RoleUser, Text: "hello"}, {Role: RoleAssistant, Text: "hi!"}}
	b := []Message{{Role: RoleUser, Text: "hello"}, {Role: RoleAssistant, Text: "  <think>mulling</think>\n\nhi!\n"}}
	if KeyOf(a) != KeyOf(b) {
		t.Error("echoed answer with think block and spaces should key the same")
	}
	c := []Message{{Role: RoleUser, Text: "hello"}, {Role: RoleAssistant, Text: "hey!"}}
	if KeyOf(a) == KeyOf(c) {
		t.Error("different answers must key differently")
	}
	// Length-prefixed fields: moving text between messages changes the key.
	d := []Message{{Role: RoleUser, Text: "ab"}, {Role: RoleUser, Text: "c"}}
	e := []Message{{Role: RoleUser, Text: "a"}, {Role: RoleUser, Text: "bc"}}
	if KeyOf(d) == KeyOf(e) {
		t.Error("field boundaries must matter")
	}
	f := []Message{{Role: RoleUser, Text: "x", Images: []Image{{Data: []byte{1}}}}}
	g := []Message{{Role: RoleUser, Text: "x", Images: []Image{{Data: []byte{2}}}}}
	if KeyOf(f) == KeyOf(g) {
		t.Error("images must matter")
	}
	h := []Message{{Role: RoleUser, Text: "x", Images: []Image{{URL: "https://a/b.png", Data: []byte{9}}}}}
	i := []Message{{Role: RoleUser, Text: "x", Images: []Image{{URL: "https://a/b.png"}}}}
	if KeyOf(h) != KeyOf(i) {
		t.Error("a fetched URL image must key like the unfetched one")
	}
}
