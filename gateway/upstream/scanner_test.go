package upstream

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
)

// scanAll collects every element of body, or the first error.
func scanAll(r io.Reader) ([]string, bool, error) {
	s := NewArrayScanner(r, 1<<20)
	var out []string
	for {
		el, err := s.Next()
		if err == io.EOF {
			return out, s.Bare(), nil
		}
		if err != nil {
			return out, s.Bare(), err
		}
		out = append(out, string(el))
	}
}

func TestArrayScanner(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    []string
		bare    bool
		wantErr error
	}{
		{name: "compact", body: `[{"a":1},{"b":2}]`, want: []string{`{"a":1}`, `{"b":2}`}},
		{name: "crlf separators", body: "[{\"a\":1},\r\n{\"b\":2}\r\n]", want: []string{`{"a":1}`, `{"b":2}`}},
		{name: "newline comma newline", body: "[{\"a\":1}\n,\r\n{\"b\":2}]", want: []string{`{"a":1}`, `{"b":2}`}},
		{name: "pretty printed", body: "[\n  {\n    \"a\": {\n      \"b\": [1, 2]\n    }\n  }\n]\n", want: []string{"{\n    \"a\": {\n      \"b\": [1, 2]\n    }\n  }"}},
		{name: "extra commas", body: `[,{"a":1},,,{"b":2},]`, want: []string{`{"a":1}`, `{"b":2}`}},
		{name: "braces inside strings", body: `[{"b": "}]"},{"c":"{[\"\\"}]`, want: []string{`{"b": "}]"}`, `{"c":"{[\"\\"}`}},
		{name: "escaped quote then brace", body: `[{"t":"a\"}b"}]`, want: []string{`{"t":"a\"}b"}`}},
		{name: "utf8 text", body: `[{"t":"春风拂柳绿🌸"}]`, want: []string{`{"t":"春风拂柳绿🌸"}`}},
		{name: "empty array", body: ` [ ] `, want: nil},
		{name: "leading whitespace and BOM", body: "\ufeff\n [{\"a\":1}]", want: []string{`{"a":1}`}},
		{name: "bare error object", body: `{"error":{"code":429}}`, want: []string{`{"error":{"code":429}}`}, bare: true},
		{name: "truncated inside element", body: `[{"a":1},{"b":`, want: []string{`{"a":1}`}, wantErr: ErrTruncated},
		{name: "truncated inside string", body: `[{"a":"}}}`, wantErr: ErrTruncated},
		{name: "truncated before close", body: `[{"a":1}`, want: []string{`{"a":1}`}, wantErr: ErrTruncated},
		{name: "empty body", body: ``, wantErr: ErrTruncated},
		{name: "html body", body: `<html>`, wantErr: &SyntaxError{}},
		{name: "garbage between elements", body: `[{"a":1} x {"b":2}]`, want: []string{`{"a":1}`}, wantErr: &SyntaxError{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, bare, err := scanAll(strings.NewReader(tc.body))
			switch want := tc.wantErr.(type) {
			case nil:
				if err != nil {
					t.Fatalf("err = %v", err)
				}
			case *SyntaxError:
				var se *SyntaxError
				if !errors.As(err, &se) {
					t.Fatalf("err = %v, want a SyntaxError", err)
				}
			default:
				if !errors.Is(err, want) {
					t.Fatalf("err = %v, want %v", err, want)
				}
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("elements = %q, want %q", got, tc.want)
			}
			if bare != tc.bare {
				t.Errorf("bare = %v, want %v", bare, tc.bare)
			}
		})
	}
}

// An element is returned as soon as it is complete, without another Read.
func TestArrayScannerYieldsWithoutWaiting(t *testing.T) {
	pr, pw := io.Pipe()
	s := NewArrayScanner(pr, 0)
	go pw.Write([]byte(`[{"a":1},`))
	el, err := s.Next()
	if err != nil || string(el) != `{"a":1}` {
		t.Fatalf("Next = %q, %v", el, err)
	}
	// The writer has not closed; if Next had tried to read ahead we would
	// have blocked above. Now finish the body.
	go func() { pw.Write([]byte(`{"b":2}]`)); pw.Close() }()
	el, err = s.Next()
	if err != nil || string(el) != `{"b":2}` {
		t.Fatalf("Next = %q, %v", el, err)
	}
	if _, err := s.Next(); err != io.EOF {
		t.Fatalf("end = %v", err)
	}
}

func TestArrayScannerElementLimit(t *testing.T) {
	body := `[{"t":"` + strings.Repeat("x", 10000) + `"}]`
	s := NewArrayScanner(strings.NewReader(body), 5000)
	if _, err := s.Next(); !errors.Is(err, ErrElementTooLarge) {
		t.Fatalf("err = %v, want ErrElementTooLarge", err)
	}
	// Just under the limit passes, and the buffer grows as needed.
	s = NewArrayScanner(strings.NewReader(body), 20000)
	if el, err := s.Next(); err != nil || len(el) != 10008 {
		t.Fatalf("Next = %d bytes, %v", len(el), err)
	}
}

func TestArrayScannerReaderErrors(t *testing.T) {
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader(`[{"a":1},{"b"`), iotest.ErrReader(boom))
	got, _, err := scanAll(r)
	if !errors.Is(err, boom) || len(got) != 1 {
		t.Fatalf("got %q, %v", got, err)
	}
	// One byte at a time, and data delivered together with io.EOF.
	got, _, err = scanAll(iotest.OneByteReader(strings.NewReader(`[{"a":"春"},{"b":2}]`)))
	if err != nil || len(got) != 2 {
		t.Fatalf("one byte: %q, %v", got, err)
	}
	got, _, err = scanAll(iotest.DataErrReader(strings.NewReader(`[{"a":1}]`)))
	if err != nil || len(got) != 1 {
		t.Fatalf("data+EOF: %q, %v", got, err)
	}
}

// splitReader returns body in pieces that end at the given offsets.
type splitReader struct {
	body []byte
	cuts []int
	pos  int
}

func (r *splitReader) Read(p []byte) (int, error) {
	if r.pos >= len(r.body) {
		return 0, io.EOF
	}
	end := len(r.body)
	for len(r.cuts) > 0 && r.cuts[0] <= r.pos {
		r.cuts = r.cuts[1:]
	}
	if len(r.cuts) > 0 {
		end = min(r.cuts[0], len(r.body))
	}
	n := copy(p, r.body[r.pos:end])
	r.pos += n
	return n, nil
}

// Property: whatever the split of a valid body into pieces — including
// splits inside multi-byte characters — the scanner yields the same elements
// and the stream decoder the same text.
func TestScannerAnySplitSameResult(t *testing.T) {
	body := []byte(sampleBody)
	want, _, err := scanAll(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	wantText, wantThought := decodeAll(t, bytes.NewReader(body))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		var cuts []int
		for p := 0; p < len(body); {
			p += 1 + rng.IntN(12)
			cuts = append(cuts, p)
		}
		got, _, err := scanAll(&splitReader{body: body, cuts: append([]int(nil), cuts...)})
		if err != nil {
			t.Fatalf("split %v: %v", cuts, err)
		}
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("split %v: elements differ", cuts)
		}
		text, thought := decodeAll(t, &splitReader{body: body, cuts: cuts})
		if text != wantText || thought != wantThought {
			t.Fatalf("split %v: text %q thought %q", cuts, text, thought)
		}
	}
	if !strings.Contains(wantText, "春风拂柳绿") || !strings.Contains(wantText, "👩‍💻") {
		t.Fatalf("sample text lost: %q", wantText)
	}
}

// decodeAll runs the element decoder over a body without HTTP.
func decodeAll(t *testing.T, r io.Reader) (text, thought string) {
	t.Helper()
	s := newTestStream(r)
	var tb, th strings.Builder
	for {
		ev, err := s.Next()
		if err == io.EOF {
			return tb.String(), th.String()
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		switch ev.Kind {
		case EventText:
			tb.WriteString(ev.Text)
		case EventThought:
			th.WriteString(ev.Text)
		}
	}
}

const sampleBody = "[{\n  \"uToken\": \"AXkL3nq0pQ\",\n  \"streamAssistResponse\": {\"answer\": {\"state\": \"IN_PROGRESS\", \"replies\": [{\"groundedContent\": {\"content\": {\"role\": \"model\", \"text\": \"**Assessing the Request**\\n\\nThinking {about} it.\", \"thought\": true}}}]}, \"sessionInfo\": {}}\n}\n,\r\n" +
	`{"streamAssistResponse":{"answer":{"state":"IN_PROGRESS","replies":[{"groundedContent":{"content":{"role":"model","text":"春风拂柳绿，"}}}]}}},` +
	`{"streamAssistResponse":{"answer":{"state":"IN_PROGRESS","replies":[{"groundedContent":{"content":{"role":"model","text":"细雨润花红。 🌸 👩‍💻 \"quoted\" }]"}}}]}}}` + "\n,\r\n" +
	`{"streamAssistResponse":{"answer":{"state":"SUCCEEDED","name":"x/assistAnswers/1"},"sessionInfo":{"session":"projects/1/locations/global/collections/default_collection/engines/agentspace-engine/sessions/123"}}}` + "\n]"

func TestSampleBodyIsValidJSON(t *testing.T) {
	var v []json.RawMessage
	if err := json.Unmarshal([]byte(sampleBody), &v); err != nil || len(v) != 4 {
		t.Fatalf("sample: %d elements, %v", len(v), err)
	}
}
