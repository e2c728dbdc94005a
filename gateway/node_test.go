package gateway_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
)

// TestOfficialNodeSDK runs the official openai npm package (installed by
// `make setup` into testdata/nodeclient) against the gateway.
func TestOfficialNodeSDK(t *testing.T) {
	dir, _ := filepath.Abs("testdata/nodeclient")
	node, err := exec.LookPath("node")
	if _, statErr := os.Stat(filepath.Join(dir, "node_modules", "openai")); err != nil || statErr != nil {
		msg := "node or the openai npm package is missing: run `make setup` (npm ci in gateway/testdata/nodeclient)"
		skipOrFail(t, msg)
	}
	h := newHarness(t, harnessOpts{key: "sk-node", fake: fakeupstream.Options{SplitWrites: true}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "client.mjs", h.base+"/v1", "sk-node")
	cmd.Dir = dir
	outb, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("node: %v\n%s", err, stderr)
	}
	var out struct {
		Models []string
		Stream struct {
			Content, Reasoning string
			Chunks             int
			Finish             []string
			FirstRole          *string
			Usage              *struct {
				PromptTokens     int `json:"prompt_tokens"`
				CompletionTokens int `json:"completion_tokens"`
			}
		}
		Complete struct {
			Content, Object, Model string
		}
		Error *struct {
			Status int
			Code   string
		}
		Auth *struct{ Status int }
	}
	if err := json.Unmarshal(outb, &out); err != nil {
		t.Fatalf("%v: %s", err, outb)
	}
	if len(out.Models) < 5 {
		t.Errorf("models = %v", out.Models)
	}
	s := out.Stream
	if s.Content != fakeupstream.NormalAnswer || s.Reasoning != fakeupstream.NormalThoughts {
		t.Errorf("stream content %q reasoning %q", s.Content, s.Reasoning)
	}
	if s.FirstRole == nil || *s.FirstRole != "assistant" || len(s.Finish) != 1 || s.Finish[0] != "stop" || s.Chunks < 6 {
		t.Errorf("stream frames: %+v", s)
	}
	if s.Usage == nil || s.Usage.PromptTokens == 0 || s.Usage.CompletionTokens == 0 {
		t.Errorf("usage = %+v", s.Usage)
	}
	if out.Complete.Content != fakeupstream.NormalAnswer || out.Complete.Object != "chat.completion" || out.Complete.Model != "gemini-auto" {
		t.Errorf("complete = %+v", out.Complete)
	}
	if out.Error == nil || out.Error.Status != 404 || out.Error.Code != "model_not_found" {
		t.Errorf("unknown model error = %+v", out.Error)
	}
	if out.Auth == nil || out.Auth.Status != 401 {
		t.Errorf("wrong key = %+v", out.Auth)
	}
	// The developer role reached the upstream as a system line.
	turn := h.fake.Sessions(h.accts[0].CSESIDX)[0].Turns[0]
	if turn.Query != "System: Be brief.\n\nUser: Write a couplet" {
		t.Errorf("query = %q", turn.Query)
	}
}

// TestOfficialNodeSDKMedia: the images endpoint and a PDF question through
// the official openai npm package.
func TestOfficialNodeSDKMedia(t *testing.T) {
	dir, _ := filepath.Abs("testdata/nodeclient")
	node, err := exec.LookPath("node")
	if _, statErr := os.Stat(filepath.Join(dir, "node_modules", "openai")); err != nil || statErr != nil {
		msg := "node or the openai npm package is missing: run `make setup` (npm ci in gateway/testdata/nodeclient)"
		skipOrFail(t, msg)
	}
	h := newHarness(t, harnessOpts{key: "sk-node", fake: fakeupstream.Options{Media: fakeupstream.MediaOptions{RedirectDownloads: true}}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "media.mjs", h.base+"/v1", "sk-node", base64.StdEncoding.EncodeToString([]byte(samplePDF)))
	cmd.Dir = dir
	outb, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("node: %v\n%s", err, stderr)
	}
	var out struct {
		Image struct {
			Count     int
			B64Length int
			PngMagic  string
		}
		URL       string
		PdfAnswer string
		Refused   *struct {
			Status int
			Code   string
		}
	}
	if err := json.Unmarshal(outb, &out); err != nil {
		t.Fatalf("%v: %s", err, outb)
	}
	if out.Image.Count != 1 || out.Image.PngMagic != "PNG" || out.Image.B64Length < 100 {
		t.Errorf("image = %+v", out.Image)
	}
	if !strings.HasPrefix(out.URL, h.base+"/files/") {
		t.Errorf("url = %q", out.URL)
	}
	if out.PdfAnswer == "" {
		t.Error("no answer to the PDF question")
	}
	files := h.uploaded(0)
	if len(files) != 1 || files[0].MIME != "application/pdf" || files[0].Name != "memo.pdf" {
		t.Errorf("uploaded %+v", files)
	}
	if out.Refused == nil || out.Refused.Status != 400 || out.Refused.Code != "unsupported_file_type" {
		t.Errorf("refused = %+v", out.Refused)
	}
}
