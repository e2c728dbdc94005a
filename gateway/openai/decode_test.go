package openai

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"

	"github.com/gemgate/gemini-gateway/gateway/chat"
)

func tinyPNG(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	img.Set(0, 0, color.RGBA{255, 0, 0, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// GIF89a header plus enough bytes to sniff.
var tinyGIF = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

func TestDecodeChatRequest(t *testing.T) {
	pngB64 := base64.StdEncoding.EncodeToString(tinyPNG(t))
	tests := []struct {
		name  string
		body  string
		check func(t *testing.T, r *chat.Request)
		err   string // expected code
		param string
	}{
		{
			name: "string content",
			body: `{"model":"gemini-2.5-pro","messages":[{"role":"user","content":"hi"}]}`,
			check: func(t *testing.T, r *chat.Request) {
				if r.Model != "gemini-2.5-pro" || len(r.Messages) != 1 || r.Messages[0].Text != "hi" || r.Messages[0].Role != chat.RoleUser || r.Stream {
					t.Errorf("got %+v", r)
				}
			},
		},
		{
			name: "array content with text parts joined",
			body: `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}`,
			check: func(t *testing.T, r *chat.Request) {
				if r.Messages[0].Text != "a\nb" {
					t.Errorf("text = %q", r.Messages[0].Text)
				}
			},
		},
		{
			name: "developer becomes system, tool and assistant tool calls kept",
			body: `{"model":"m","messages":[{"role":"developer","content":"be brief"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}}]},{"role":"tool","tool_call_id":"c1","content":"42"},{"role":"user","content":"ok"}]}`,
			check: func(t *testing.T, r *chat.Request) {
				roles := []chat.Role{chat.RoleSystem, chat.RoleAssistant, chat.RoleTool, chat.RoleUser}
				for i, m := range r.Messages {
					if m.Role != roles[i] {
						t.Errorf("role %d = %s", i, m.Role)
					}
				}
				if len(r.Messages[1].ToolCalls) != 1 || r.Messages[1].ToolCalls[0].String() != `f({"x":1})` {
					t.Errorf("tool calls = %q", r.Messages[1].ToolCalls)
				}
			},
		},
		{
			name: "unknown fields ignored, include_usage honoured only when streaming",
			body: `{"model":"m","stream":true,"stream_options":{"include_usage":true},"temperature":0.2,"reasoning_effort":"high","parallel_tool_calls":false,"enable_thinking":true,"max_completion_tokens":5,"n":1,"messages":[{"role":"user","content":"x","name":"bob"}]}`,
			check: func(t *testing.T, r *chat.Request) {
				if !r.Stream || !r.IncludeUsage {
					t.Errorf("stream=%v include_usage=%v", r.Stream, r.IncludeUsage)
				}
			},
		},
		{
			name: "include_usage without stream is off",
			body: `{"model":"m","stream_options":{"include_usage":true},"messages":[{"role":"user","content":"x"}]}`,
			check: func(t *testing.T, r *chat.Request) {
				if r.IncludeUsage {
					t.Error("include_usage on a non-streaming request")
				}
			},
		},
		{
			name: "data URL image, mislabelled type is sniffed",
			body: `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"what"},{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,` + pngB64 + `","detail":"auto"}}]}]}`,
			check: func(t *testing.T, r *chat.Request) {
				imgs := r.Messages[0].Images
				if len(imgs) != 1 || imgs[0].MIME != "image/png" || !bytes.Equal(imgs[0].Data, tinyPNG(t)) {
					t.Errorf("images = %+v", imgs)
				}
			},
		},
		{
			name: "bare string image_url and gif, unpadded base64",
			body: `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":"data:image/gif;base64,` + strings.TrimRight(base64.StdEncoding.EncodeToString(tinyGIF), "=") + `"}]}]}`,
			check: func(t *testing.T, r *chat.Request) {
				if imgs := r.Messages[0].Images; len(imgs) != 1 || imgs[0].MIME != "image/gif" {
					t.Errorf("images = %+v", imgs)
				}
			},
		},
		{
			name: "http image URL left to fetch",
			body: `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}`,
			check: func(t *testing.T, r *chat.Request) {
				if imgs := r.Messages[0].Images; len(imgs) != 1 || imgs[0].URL != "https://example.com/cat.png" || imgs[0].Data != nil {
					t.Errorf("images = %+v", imgs)
				}
			},
		},
		{name: "malformed JSON", body: `{"model":"m","messages":[`, err: "invalid_json"},
		{name: "wrong type", body: `{"model":"m","messages":"hi"}`, err: "invalid_type", param: "messages"},
		{name: "no messages", body: `{"model":"m","messages":[]}`, err: "missing_messages", param: "messages"},
		{name: "n greater than one", body: `{"model":"m","n":3,"messages":[{"role":"user","content":"x"}]}`, err: "unsupported_parameter", param: "n"},
		{name: "unknown role", body: `{"model":"m","messages":[{"role":"wizard","content":"x"}]}`, err: "invalid_role", param: "messages[0].role"},
		{name: "audio part refused by name", body: `{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]}`, err: "unsupported_content", param: "messages[0].content[0].type"},
		{name: "content as number", body: `{"model":"m","messages":[{"role":"user","content":5}]}`, err: "invalid_content", param: "messages[0].content"},
		{name: "invalid base64", body: `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,@@@@"}}]}]}`, err: "invalid_base64"},
		{name: "not an image", body: `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,` + base64.StdEncoding.EncodeToString([]byte("hello world, not a picture")) + `"}}]}]}`, err: "unsupported_image"},
		{name: "not base64 data URL", body: `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,rawbytes"}}]}]}`, err: "invalid_image_url"},
		{name: "ftp URL", body: `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x/y.png"}}]}]}`, err: "invalid_image_url"},
		{name: "invalid UTF-8", body: "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\xff\xfe\"}]}", err: "invalid_utf8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := DecodeChatRequest([]byte(tc.body), Limits{})
			if tc.err != "" {
				if err == nil {
					t.Fatalf("accepted: %+v", r)
				}
				if err.Code != tc.err || err.Status != 400 || err.Type != TypeInvalidRequest {
					t.Fatalf("error = %+v, want code %s", err, tc.err)
				}
				if tc.param != "" && err.Param != tc.param {
					t.Errorf("param = %q, want %q", err.Param, tc.param)
				}
				if err.Message == "" {
					t.Error("empty message")
				}
				return
			}
			if err != nil {
				t.Fatalf("error: %+v", err)
			}
			tc.check(t, r)
		})
	}
}

func TestDecodeLimits(t *testing.T) {
	pngB64 := base64.StdEncoding.EncodeToString(tinyPNG(t))
	part := `{"type":"image_url","image_url":{"url":"data:image/png;base64,` + pngB64 + `"}}`
	parts := strings.TrimSuffix(strings.Repeat(part+",", 4), ",")
	body := `{"model":"m","messages":[{"role":"user","content":[` + parts + `]}]}`
	if _, err := DecodeChatRequest([]byte(body), Limits{MaxImages: 3}); err == nil || err.Code != "too_many_images" {
		t.Errorf("4 images with a limit of 3: %v", err)
	}
	if _, err := DecodeChatRequest([]byte(body), Limits{MaxImages: 4}); err != nil {
		t.Errorf("4 images with a limit of 4: %v", err)
	}
	big := base64.StdEncoding.EncodeToString(append(tinyPNG(t), make([]byte, 3<<20)...))
	body = `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,` + big + `"}}]}]}`
	if _, err := DecodeChatRequest([]byte(body), Limits{MaxImageBytes: 2 << 20}); err == nil || err.Code != "image_too_large" {
		t.Errorf("3 MiB image with a 2 MiB limit: %v", err)
	}
	var msgs []string
	for i := range 11 {
		msgs = append(msgs, fmt.Sprintf(`{"role":"user","content":"m%d"}`, i))
	}
	body = `{"model":"m","messages":[` + strings.Join(msgs, ",") + `]}`
	if _, err := DecodeChatRequest([]byte(body), Limits{MaxMessages: 10}); err == nil || err.Code != "too_many_messages" {
		t.Errorf("11 messages with a limit of 10: %v", err)
	}
}

func BenchmarkDecodeChatRequest1MBImage(b *testing.B) {
	raw := append(tinyPNG(b), bytes.Repeat([]byte{0x42}, 1<<20)...)
	body := []byte(`{"model":"gemini-2.5-pro","stream":true,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"what is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,` +
		base64.StdEncoding.EncodeToString(raw) + `"}}]}]}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeChatRequest(body, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeChatRequestConversation is the per-message path: a long
// agent conversation of string, part-array, tool-call and tool messages.
func BenchmarkDecodeChatRequestConversation(b *testing.B) {
	msgs := []string{`{"role":"system","content":"be brief"}`}
	for i := 0; i < 100; i++ {
		msgs = append(msgs,
			fmt.Sprintf(`{"role":"user","content":[{"type":"text","text":"question %d"},{"type":"text","text":"more"}]}`, i),
			fmt.Sprintf(`{"role":"assistant","content":null,"tool_calls":[{"id":"c%d","function":{"name":"f","arguments":"{}"}}]}`, i),
			fmt.Sprintf(`{"role":"tool","tool_call_id":"c%d","content":"result %d"}`, i, i),
			`{"role":"assistant","content":"an answer"}`)
	}
	body := []byte(`{"model":"m","messages":[` + strings.Join(msgs, ",") + `]}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeChatRequest(body, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzDecodeChatRequest(f *testing.F) {
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
	f.Add([]byte(`{"model":"m","stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=="}}]}]}`))
	f.Add([]byte(`{"messages":[{"role":"tool","content":null,"tool_calls":[{"function":{"name":"f","arguments":"{}"}}]}],"n":2}`))
	f.Add([]byte(`[[[[[[[[[[`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"sum up"},{"type":"file","file":{"file_data":"data:application/pdf;base64,JVBERi0xLjQK","filename":"a.pdf"}}]}]}`))
	f.Add([]byte(`{"messages":[{"role":"user","content":[{"type":"input_file","filename":"t.csv","file_data":"YSxiCjEsMgo="},{"type":"input_file","file_url":"https://example.com/x.docx"}]}]}`))
	f.Add([]byte(`{"messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file-1"}}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeChatRequest(body, Limits{MaxImageBytes: 1 << 16})
		if (r == nil) == (err == nil) {
			t.Fatalf("request %v and error %v", r, err)
		}
		if err != nil {
			if err.Status != 400 || err.Message == "" || err.Code == "" {
				t.Fatalf("bad error %+v", err)
			}
			return
		}
		if len(r.Messages) == 0 {
			t.Fatal("accepted without messages")
		}
		for _, m := range r.Messages {
			for _, img := range m.Images {
				if img.Data != nil {
					if _, ok := SniffImage(img.Data); !ok {
						t.Fatal("accepted a non-image")
					}
				} else if !strings.HasPrefix(img.URL, "http") {
					t.Fatalf("accepted image URL %q", img.URL)
				}
			}
		}
		for _, m := range r.Messages {
			for _, f := range m.Files {
				if f.Data != nil {
					if _, ok := acceptedFileMIME(f.MIME); !ok || len(f.Data) > 15<<20 {
						t.Fatalf("accepted file of type %q, %d bytes", f.MIME, len(f.Data))
					}
				} else if !strings.HasPrefix(f.URL, "http") {
					t.Fatalf("accepted file URL %q", f.URL)
				}
			}
		}
		_ = chat.Flatten(r.Messages)
		_ = PromptTokens(r.Messages)
	})
}

func TestDecodeFileParts(t *testing.T) {
	pdf := "data:application/pdf;base64," + base64.StdEncoding.EncodeToString([]byte("%PDF-1.4\n"))
	cases := []struct {
		name, part, err, mime, fname, url string
	}{
		{name: "chat file part", part: `{"type":"file","file":{"file_data":"` + pdf + `","filename":"report.pdf"}}`, mime: "application/pdf", fname: "report.pdf"},
		{name: "input_file part", part: `{"type":"input_file","filename":"notes.md","file_data":"data:text/markdown;base64,IyBoaQ=="}`, mime: "text/markdown", fname: "notes.md"},
		{name: "bare base64 typed by name", part: `{"type":"input_file","filename":"t.csv","file_data":"YSxiCjEsMgo="}`, mime: "text/csv", fname: "t.csv"},
		{name: "octet-stream typed by name", part: `{"type":"file","file":{"file_data":"data:application/octet-stream;base64,e30=","filename":"x.json"}}`, mime: "application/json"},
		{name: "PDF bytes win over a wrong label", part: `{"type":"file","file":{"file_data":"data:text/plain;base64,JVBERi0xLjQK","filename":"x.txt"}}`, mime: "application/pdf"},
		{name: "office document", part: `{"type":"file","file":{"file_data":"data:application/vnd.openxmlformats-officedocument.wordprocessingml.document;base64,UEsDBA==","filename":"a.docx"}}`, mime: "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{name: "audio", part: `{"type":"input_file","filename":"a.mp3","file_data":"data:audio/mp3;base64,SUQz"}`, mime: "audio/mpeg"},
		{name: "url", part: `{"type":"input_file","file_url":"https://example.com/doc.pdf"}`, url: "https://example.com/doc.pdf", fname: "doc.pdf"},
		{name: "unsupported type", part: `{"type":"file","file":{"file_data":"data:application/x-msdownload;base64,TVo=","filename":"a.exe"}}`, err: "unsupported_file_type"},
		{name: "file_id", part: `{"type":"file","file":{"file_id":"file-abc"}}`, err: "unsupported_file_id"},
		{name: "no data", part: `{"type":"file","file":{"filename":"a.pdf"}}`, err: "invalid_file"},
		{name: "bad base64", part: `{"type":"file","file":{"file_data":"data:application/pdf;base64,!!!","filename":"a.pdf"}}`, err: "invalid_base64"},
		{name: "ftp url", part: `{"type":"input_file","file_url":"ftp://example.com/a.pdf"}`, err: "invalid_file_url"},
		{name: "too large", part: `{"type":"input_file","filename":"a.txt","file_data":"` + strings.Repeat("QUFB", 400) + `"}`, err: "file_too_large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := `{"model":"m","messages":[{"role":"user","content":[` + c.part + `]}]}`
			r, err := DecodeChatRequest([]byte(body), Limits{MaxFileBytes: 1000})
			if c.err != "" {
				if err == nil || err.Code != c.err || err.Status != 400 {
					t.Fatalf("got %+v, want %s", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fs := r.Messages[0].Files
			if len(fs) != 1 {
				t.Fatalf("%d files", len(fs))
			}
			if fs[0].MIME != c.mime || (c.fname != "" && fs[0].Name != c.fname) || fs[0].URL != c.url {
				t.Errorf("got %+v", fs[0])
			}
		})
	}
}
