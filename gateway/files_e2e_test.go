package gateway_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	openai "github.com/openai/openai-go/v3"

	"github.com/gemgate/gemini-gateway/gateway"
	oai "github.com/gemgate/gemini-gateway/gateway/openai"
	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
)

// samplePDF is a small but real PDF document.
const samplePDF = "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"

// uploaded returns the user files the fake holds for account i.
func (h *harness) uploaded(i int) []fakeupstream.File {
	var out []fakeupstream.File
	for _, s := range h.fake.Sessions(h.accts[i].CSESIDX) {
		for _, f := range s.Files {
			if f.Origin == fakeupstream.OriginUserUploaded {
				out = append(out, f)
			}
		}
	}
	return out
}

// A question about a PDF through the official Go SDK: the PDF reaches
// the upstream as a context file of the turn, named and typed.
func TestPDFQuestionWithSDK(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := h.client()
	data := "data:application/pdf;base64," + base64.StdEncoding.EncodeToString([]byte(samplePDF))
	res, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gemini-2.5-pro",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
			openai.TextContentPart("Summarise this report in one line."),
			openai.FileContentPart(openai.ChatCompletionContentPartFileFileParam{FileData: openai.String(data), Filename: openai.String("report.pdf")}),
		})},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Choices[0].Message.Content == "" {
		t.Error("empty answer")
	}
	files := h.uploaded(0)
	if len(files) != 1 || files[0].MIME != "application/pdf" || files[0].Name != "report.pdf" || string(files[0].Data) != samplePDF {
		t.Fatalf("uploaded %+v", files)
	}
	if turn := h.lastTurn(0); len(turn.FileIDs) != 1 || turn.FileIDs[0] != files[0].ID {
		t.Errorf("turn file ids %v", turn.FileIDs)
	}
}

// Every accepted type reaches the upstream; file URLs go through the
// guarded fetch; limits and refusals are OpenAI-shaped errors.
func TestFileTypesEndToEnd(t *testing.T) {
	srv := newLocalServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".exe") {
			w.Write([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"))
			return
		}
		io.WriteString(w, "a,b\n1,2\n")
	}))
	h := newHarness(t, harnessOpts{gw: func(g *gateway.Config) {
		gateway.AllowPrivateImageURLs(g)
		g.Limits.MaxFileBytes = 64 << 10
	}})
	post := func(part string) (int, string) {
		resp := h.do("POST", "/v1/chat/completions", `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":[{"type":"text","text":"what is this?"},`+part+`]}]}`, nil)
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	n := 0
	for ext, mime := range oai.FileTypes {
		name := "sample" + ext
		body := []byte("content of " + name)
		if mime == "application/pdf" {
			body = []byte(samplePDF)
		}
		part := fmt.Sprintf(`{"type":"input_file","filename":%q,"file_data":"data:%s;base64,%s"}`, name, mime, base64.StdEncoding.EncodeToString(body))
		if code, out := post(part); code != 200 {
			t.Errorf("%s: %d %s", name, code, out)
			continue
		}
		n++
		files := h.uploaded(0)
		if f := files[len(files)-1]; f.MIME != mime || f.Name != name {
			t.Errorf("%s uploaded as %q %q", name, f.MIME, f.Name)
		}
	}
	if n < 20 {
		t.Errorf("only %d types tried", n)
	}

	if code, out := post(`{"type":"input_file","file_url":"` + srv + `/data.csv"}`); code != 200 {
		t.Fatalf("file_url: %d %s", code, out)
	}
	files := h.uploaded(0)
	if f := files[len(files)-1]; f.MIME != "text/csv" || f.Name != "data.csv" || string(f.Data) != "a,b\n1,2\n" {
		t.Errorf("fetched file %+v", f)
	}

	for _, c := range []struct{ part, code string }{
		{`{"type":"file","file":{"file_data":"data:application/x-msdownload;base64,TVqQAAMAAAAEAAAA","filename":"setup.exe"}}`, "unsupported_file_type"},
		{`{"type":"input_file","filename":"big.txt","file_data":"data:text/plain;base64,` + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", 70<<10))) + `"}`, "file_too_large"},
		{`{"type":"file","file":{"file_id":"file-123"}}`, "unsupported_file_id"},
		{`{"type":"input_file","file_url":"` + srv + `/tool.exe"}`, "unsupported_file_type"},
	} {
		code, out := post(c.part)
		if code != 400 || !strings.Contains(out, `"code":"`+c.code+`"`) || !strings.Contains(out, `"type":"invalid_request_error"`) {
			t.Errorf("%s: %d %s", c.code, code, out)
		}
	}
}
