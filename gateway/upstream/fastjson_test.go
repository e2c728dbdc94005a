package upstream

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// fastSamples are elements the fast decoder must accept (and decode as
// encoding/json does): the shapes of the fake's scenarios and of captures.
var fastSamples = []string{
	el("hello ", false),
	el("**Assessing**\n\nThinking \"hard\" {about} it.", true),
	el("春风拂柳绿， 🌸 👩‍💻", false),
	el("tab\tand \u2028 line sep, \\ backslash", false),
	succeeded,
	`{"uToken":"AXkL3nq0pQ","streamAssistResponse":{"answer":{"state":"IN_PROGRESS","replies":[{"groundedContent":{"content":{"role":"model","text":"a"}}}],"adkAuthor":"root_agent"},"sessionInfo":{},"assistToken":"x"}}`,
	`{"streamAssistResponse":{"answer":{"state":"IN_PROGRESS","replies":[{"groundedContent":{"content":{"role":"model","text":"a"},"textGroundingMetadata":{}}},{"groundedContent":{"content":{"text":"b"}}}]},"statusUpdates":[{"updateText":"Generating response"}]}}`,
	"{\n  \"streamAssistResponse\": {\n    \"answer\": {\n      \"state\": \"IN_PROGRESS\",\n      \"replies\": [\n        {\n          \"groundedContent\": {\n            \"content\": {\n              \"role\": \"model\",\n              \"text\": \"x\"\n            }\n          }\n        }\n      ]\n    }\n  }\n}",
	`{"streamAssistResponse":{"answer":{"state":"SUCCEEDED","replies":[],"name":"n"},"sessionInfo":{"session":"s","queryId":"q","turnId":"t"}}}`,
	`{"uToken":"only"}`,
	`{"other":[1,-2.5e+3,true,false,null,{"a":[{}]},"\u00e9\n"],"streamAssistResponse":{}}`,
}

// fallbackSamples must be left to encoding/json (decode reports false).
var fallbackSamples = []string{
	`{"error":{"code":429}}`,
	`{"streamAssistResponse":{"answer":{"state":"SKIPPED","assistSkippedReasons":["X"]}}}`,
	`{"streamAssistResponse":{"answer":{"replies":[{"groundedContent":{"content":{"file":{"fileId":"f"}}}}]}}}`,
	`{"streamAssistResponse":{"answer":{"replies":[{"groundedContent":{"content":{"Text":"case"}}}]}}}`,
	`{"uToken":"a","uToken":"b"}`,
	`{"uToken":null}`,
	`{"streamAssistResponse":{"answer":{"replies":[null]}}}`,
	`{"streamAssistResponse":{"answer":{"replies":[{"groundedContent":{"content":{"thought":1}}}]}}}`,
	`{"uToken":"a"`,
	`{"a":01}`,
	`{"a":tru}`,
	`{"a":"\x01"}`,
	`[{"uToken":"a"}]`,
	`{"uToken":"a",}`,
	`{"a\u0062":1}`,
}

func TestElementDecoderMatchesEncodingJSON(t *testing.T) {
	var d elementDecoder
	for _, s := range fastSamples {
		var got, want wireElement
		if !d.decode([]byte(s), &got) {
			t.Errorf("fast path refused %s", s)
			continue
		}
		if err := json.Unmarshal([]byte(s), &want); err != nil {
			t.Fatalf("sample %s: %v", s, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n fast %s\n json %s", s, dump(got), dump(want))
		}
	}
	for _, s := range fallbackSamples {
		var got wireElement
		if d.decode([]byte(s), &got) {
			t.Errorf("fast path accepted %s", s)
		}
	}
}

func dump(el wireElement) string {
	b, _ := json.Marshal(el)
	return string(b)
}

// FuzzElementDecode: whenever the fast decoder accepts an element,
// encoding/json must accept it too and decode exactly the same value.
func FuzzElementDecode(f *testing.F) {
	for _, s := range append(append([]string{}, fastSamples...), fallbackSamples...) {
		f.Add([]byte(s))
	}
	f.Add([]byte(strings.Replace(el("x", false), `"text"`, `"te\u0078t"`, 1)))
	f.Add([]byte(`{"uToken":"\ud83d\ude00 \ud800 \xff"}`))
	var d elementDecoder
	f.Fuzz(func(t *testing.T, raw []byte) {
		var got wireElement
		if !d.decode(raw, &got) {
			return
		}
		var want wireElement
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatalf("fast path accepted what encoding/json rejects (%v): %q", err, raw)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n fast %s\n json %s", raw, dump(got), dump(want))
		}
	})
}
