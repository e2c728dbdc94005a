package openai

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// frames splits an SSE body into its data payloads.
func frames(t testing.TB, body string) []string {
	t.Helper()
	if !strings.HasSuffix(body, "\n\n") {
		t.Fatalf("body does not end with a blank line: %q", body)
	}
	var out []string
	for _, ev := range strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n") {
		data, ok := strings.CutPrefix(ev, "data: ")
		if !ok || strings.Contains(data, "\n") {
			t.Fatalf("bad event %q", ev)
		}
		out = append(out, data)
	}
	return out
}

type chunk struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Role             *string `json:"role"`
			Content          *string `json:"content"`
			ReasoningContent *string `json:"reasoning_content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *Usage `json:"usage"`
}

func TestStreamWriterFrames(t *testing.T) {
	var buf bytes.Buffer
	flushes := 0
	w := NewStreamWriter(&buf, func() error { flushes++; return nil }, "chatcmpl-1", 1700000000, "gemini-2.5-pro")
	w.Role()
	w.Reasoning("thinking \"hard\"")
	w.Content("春风")
	w.KeepAlive()
	w.Content("👩‍💻\n\t<tag>\u2028")
	w.Finish("stop")
	w.Usage(NewUsage(10, 5))
	w.Done()
	if flushes != 8 {
		t.Errorf("flushes = %d, want one per frame (8)", flushes)
	}
	fs := frames(t, buf.String())
	if len(fs) != 8 || fs[7] != "[DONE]" {
		t.Fatalf("frames = %q", fs)
	}
	var content, reasoning strings.Builder
	for i, f := range fs[:7] {
		var c chunk
		if err := json.Unmarshal([]byte(f), &c); err != nil {
			t.Fatalf("frame %d %q: %v", i, f, err)
		}
		if c.ID != "chatcmpl-1" || c.Object != "chat.completion.chunk" || c.Created != 1700000000 || c.Model != "gemini-2.5-pro" {
			t.Errorf("frame %d header: %+v", i, c)
		}
		if i == 6 {
			if len(c.Choices) != 0 || c.Usage == nil || c.Usage.TotalTokens != 15 {
				t.Errorf("usage frame: %s", f)
			}
			continue
		}
		if len(c.Choices) != 1 {
			t.Fatalf("frame %d: %d choices", i, len(c.Choices))
		}
		ch := c.Choices[0]
		if (ch.FinishReason != nil) != (i == 5) {
			t.Errorf("frame %d: finish_reason %v", i, ch.FinishReason)
		}
		if i == 0 && (ch.Delta.Role == nil || *ch.Delta.Role != "assistant") {
			t.Errorf("first frame has no role: %s", f)
		}
		if i > 0 && ch.Delta.Role != nil {
			t.Errorf("frame %d repeats the role", i)
		}
		if ch.Delta.Content != nil {
			content.WriteString(*ch.Delta.Content)
		}
		if ch.Delta.ReasoningContent != nil {
			reasoning.WriteString(*ch.Delta.ReasoningContent)
		}
	}
	if content.String() != "春风👩‍💻\n\t<tag>\u2028" || reasoning.String() != "thinking \"hard\"" {
		t.Errorf("content %q reasoning %q", content.String(), reasoning.String())
	}
	if strings.Contains(buf.String(), "\u2028") {
		t.Error("U+2028 written raw")
	}
}

func TestStreamWriterError(t *testing.T) {
	var buf bytes.Buffer
	w := NewStreamWriter(&buf, nil, "id", 1, "m")
	w.Error(NewError(502, TypeServer, "upstream_error", "upstream broke"))
	w.Done()
	fs := frames(t, buf.String())
	var e struct {
		Error map[string]any `json:"error"`
	}
	if err := json.Unmarshal([]byte(fs[0]), &e); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := e.Error[k]; !ok {
			t.Errorf("error event lacks %q: %s", k, fs[0])
		}
	}
	if fs[1] != "[DONE]" {
		t.Errorf("no [DONE] after the error")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("client gone") }

func TestStreamWriterStickyError(t *testing.T) {
	w := NewStreamWriter(failWriter{}, nil, "id", 1, "m")
	if w.Content("x") == nil || w.Done() == nil || w.Err() == nil {
		t.Fatal("write error not reported")
	}
}

// FuzzSSERoundTrip: any text written as a delta reads back identically (after
// invalid UTF-8 is replaced), from a single line of valid JSON.
func FuzzSSERoundTrip(f *testing.F) {
	for _, s := range []string{"", "hello", "春风拂柳绿", "👩‍💻", "\x00\x1f\"\\\u2028\u2029", "\xff\xfe", "line\nbreak\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		var buf bytes.Buffer
		w := NewStreamWriter(&buf, nil, "id", 1, "model")
		w.Content(text)
		sc := bufio.NewScanner(&buf)
		sc.Buffer(nil, 1<<20)
		if !sc.Scan() {
			t.Fatal("no line")
		}
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			t.Fatalf("line %q", sc.Text())
		}
		var c chunk
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			t.Fatalf("%q: %v", data, err)
		}
		want := strings.ToValidUTF8(text, "\uFFFD")
		if !utf8.ValidString(text) {
			// json.Marshal replaces each invalid byte; so do we.
			b, _ := json.Marshal(text)
			json.Unmarshal(b, &want)
		}
		if got := *c.Choices[0].Delta.Content; got != want {
			t.Fatalf("got %q want %q", got, want)
		}
		if !sc.Scan() || sc.Text() != "" {
			t.Fatal("frame not terminated by a blank line")
		}
	})
}

func BenchmarkStreamWriterContent(b *testing.B) {
	var buf bytes.Buffer
	w := NewStreamWriter(&buf, nil, "chatcmpl-0123456789abcdef01234567", 1700000000, "gemini-2.5-pro")
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		w.Content("春风拂柳绿， hello world ")
	}
}

func TestEstimateTokens(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 0},
		{" ", 1},
		{"hello", 1},
		{"hi there", 2},
		{"internationalization", 4},
		{"春风拂柳绿", 5},
		{"2026", 2},
		{"Hello, world!", 4},
		{"👩‍💻", 2},
		{"日本語とEnglish", 6},
	}
	for _, tc := range tests {
		if got := EstimateTokens(tc.in); got != tc.want {
			t.Errorf("EstimateTokens(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
	// CJK weighs more per character than Latin prose.
	if EstimateTokens("春风拂柳绿春风拂柳绿") <= EstimateTokens("abcdefghij") {
		t.Error("CJK should weigh more than Latin letters")
	}
}
