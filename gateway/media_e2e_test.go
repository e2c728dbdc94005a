package gateway_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	openai "github.com/openai/openai-go/v3"

	"github.com/gemgate/gemini-gateway/gateway"
	"github.com/gemgate/gemini-gateway/gateway/pool"
	"github.com/gemgate/gemini-gateway/gateway/upstream"
	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
)

// compactJSON normalises recorded JSON for comparison.
func compactJSON(t *testing.T, raw []byte) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatalf("not JSON: %q", raw)
	}
	return b.String()
}

// lastTurn is the newest turn the fake accepted for account i.
func (h *harness) lastTurn(i int) fakeupstream.Turn {
	h.t.Helper()
	ss := h.fake.Sessions(h.accts[i].CSESIDX)
	for j := len(ss) - 1; j >= 0; j-- {
		if n := len(ss[j].Turns); n > 0 {
			return ss[j].Turns[n-1]
		}
	}
	h.t.Fatal("the fake received no turn")
	return fakeupstream.Turn{}
}

// What the fake received as toolsSpec, per model and setting.
func TestToolsSpecPerTurn(t *testing.T) {
	const (
		web   = `{"webGroundingSpec":{},"toolRegistry":"default_tool_registry"}`
		image = `{"toolRegistry":"default_tool_registry","imageGenerationSpec":{}}`
		video = `{"toolRegistry":"default_tool_registry","videoGenerationSpec":{}}`
		webIm = `{"webGroundingSpec":{},"toolRegistry":"default_tool_registry","imageGenerationSpec":{}}`
		all   = `{"webGroundingSpec":{},"toolRegistry":"default_tool_registry","imageGenerationSpec":{},"videoGenerationSpec":{}}`
	)
	cases := []struct {
		name, mode, model, want string
	}{
		{"ordinary chat sends web grounding only", "", "gemini-2.5-pro", web},
		{"auto model too", "", "gemini-auto", web},
		{"image model sends image generation", "", gateway.ModelImagen, image},
		{"video model sends video generation", "", gateway.ModelVeo, video},
		{"-image suffix adds image generation", "", "gemini-2.5-flash-image", webIm},
		{"setting all keeps the old behaviour", gateway.ToolsAll, "gemini-2.5-pro", all},
		{"setting all on an image model", gateway.ToolsAll, gateway.ModelImagen, all},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, harnessOpts{gw: func(g *gateway.Config) { g.ToolsSpec = c.mode }})
			resp := h.do("POST", "/v1/chat/completions", `{"model":"`+c.model+`","messages":[{"role":"user","content":"hello"}]}`, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got := compactJSON(t, h.lastTurn(0).ToolsSpec); got != c.want {
				t.Errorf("toolsSpec %s, want %s", got, c.want)
			}
		})
	}
}

// mediaHarness: one account, files on disk, fast download retries.
func mediaHarness(t *testing.T, fo fakeupstream.Options, gw func(*gateway.Config), pc func(*pool.Config)) (*harness, string) {
	dir := t.TempDir()
	h := newHarness(t, harnessOpts{fake: fo,
		gw: func(g *gateway.Config) {
			g.FilesDir = dir
			if gw != nil {
				gw(g)
			}
		},
		pool: pc,
		up:   func(u *upstream.Config) { u.DownloadBackoff = 10 * time.Millisecond },
	})
	return h, dir
}

func checkPNG(t *testing.T, b []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v (%d bytes)", err, len(b))
	}
	if s := img.Bounds().Size(); s.X != fakeupstream.ImageWidth || s.Y != fakeupstream.ImageHeight {
		t.Errorf("image size %v", s)
	}
}

// The images endpoint through the official SDK, both answer formats, with
// downloads that redirect to another host, a primary path that fails and
// base64 bodies; the stored file outlives the server.
func TestImagesEndpointWithSDK(t *testing.T) {
	for _, b64 := range []bool{false, true} {
		t.Run(fmt.Sprintf("base64-body=%v", b64), func(t *testing.T) {
			h, dir := mediaHarness(t, fakeupstream.Options{DownloadBase64: b64,
				Media: fakeupstream.MediaOptions{RedirectDownloads: true, PrimaryDownloadFailures: 1}}, nil, nil)
			c := h.client()
			ctx := context.Background()
			res, err := c.Images.Generate(ctx, openai.ImageGenerateParams{Prompt: "a red fox in the snow", Model: gateway.ModelImagen,
				ResponseFormat: openai.ImageGenerateParamsResponseFormatB64JSON})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Data) != 1 {
				t.Fatalf("%d images", len(res.Data))
			}
			raw, err := base64.StdEncoding.DecodeString(res.Data[0].B64JSON)
			if err != nil {
				t.Fatal(err)
			}
			checkPNG(t, raw)
			if got := compactJSON(t, h.lastTurn(0).ToolsSpec); got != `{"toolRegistry":"default_tool_registry","imageGenerationSpec":{}}` {
				t.Errorf("toolsSpec %s", got)
			}

			res, err = c.Images.Generate(ctx, openai.ImageGenerateParams{Prompt: "a blue fox", Model: "dall-e-3",
				ResponseFormat: openai.ImageGenerateParamsResponseFormatURL})
			if err != nil {
				t.Fatal(err)
			}
			u := res.Data[0].URL
			if !strings.HasPrefix(u, h.base+"/files/") {
				t.Fatalf("url %q", u)
			}
			resp, err := http.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.Header.Get("Content-Type") != "image/png" {
				t.Errorf("content type %q", resp.Header.Get("Content-Type"))
			}
			checkPNG(t, body)

			// What the fake saw: the failing primary path, the alternate
			// one, redirects followed to the other host without the token
			// (the fake's storage refuses a bearer token with a 400).
			var primary, alternate, cdn int
			for _, r := range h.fake.Requests() {
				switch {
				case strings.HasPrefix(r.Path, "/cdn/"):
					cdn++
					if r.Header.Get("Authorization") != "" {
						t.Error("the bearer token followed the redirect to another host")
					}
				case strings.HasPrefix(r.Path, "/download/v1alpha/"):
					alternate++
				case strings.HasSuffix(r.Path, ":downloadFile"):
					primary++
				}
			}
			if primary < 2 || alternate < 1 || cdn != 2 {
				t.Errorf("downloads: primary %d alternate %d cdn %d", primary, alternate, cdn)
			}

			// Kept on disk: a new server on the same directory serves it.
			name := u[strings.LastIndex(u, "/")+1:]
			if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
			again := gateway.New(gateway.Config{FilesDir: dir}, gateway.Deps{})
			rec := httptest.NewRecorder()
			again.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "http://127.0.0.1/files/"+name, nil))
			if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), body) {
				t.Errorf("after restart: %d, %d bytes", rec.Code, rec.Body.Len())
			}
		})
	}
}

func TestImageEditsWithSDK(t *testing.T) {
	h, _ := mediaHarness(t, fakeupstream.Options{}, nil, nil)
	c := h.client()
	res, err := c.Images.Edit(context.Background(), openai.ImageEditParams{
		Image:          openai.ImageEditParamsImageUnion{OfFile: openai.File(bytes.NewReader(tinyPNG(t)), "in.png", "image/png")},
		Prompt:         "make it blue",
		ResponseFormat: openai.ImageEditParamsResponseFormatB64JSON,
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(res.Data[0].B64JSON)
	checkPNG(t, raw)
	turn := h.lastTurn(0)
	if len(turn.FileIDs) != 1 {
		t.Errorf("the input image was not uploaded: %+v", turn.FileIDs)
	}
	// No image: an OpenAI-shaped 400.
	resp := h.do("POST", "/v1/images/edits", `{"prompt":"x"}`, nil)
	if resp.StatusCode != 400 {
		t.Errorf("edit without image: %d", resp.StatusCode)
	}
}

func tinyPNG(t *testing.T) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Generated images in a chat answer are Markdown images whose links
// follow PUBLIC_BASE_URL, or a trusted proxy's forwarded headers.
func TestChatImageLinks(t *testing.T) {
	cases := []struct {
		name    string
		gw      func(*gateway.Config)
		hdr     map[string]string
		wantPfx func(h *harness) string
	}{
		{"request address", nil, nil, func(h *harness) string { return h.base + "/files/" }},
		{"public base url", func(g *gateway.Config) { g.PublicBaseURL = "https://gw.example.com" }, nil,
			func(*harness) string { return "https://gw.example.com/files/" }},
		{"trusted proxy", func(g *gateway.Config) {
			g.TrustedProxies, _ = gateway.ParseTrustedProxies("127.0.0.1")
			g.AllowedHosts = []string{"*"}
		}, map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "chat.example.org"},
			func(*harness) string { return "https://chat.example.org/files/" }},
		{"untrusted forwarded headers are ignored", nil, map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"},
			func(h *harness) string { return h.base + "/files/" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, _ := mediaHarness(t, fakeupstream.Options{}, c.gw, nil)
			resp := h.do("POST", "/v1/chat/completions", `{"model":"gemini-imagen","messages":[{"role":"user","content":"a lighthouse at dusk"}]}`, c.hdr)
			var out struct {
				Choices []struct {
					Message struct{ Content string }
				}
			}
			json.NewDecoder(resp.Body).Decode(&out)
			if resp.StatusCode != 200 || len(out.Choices) != 1 {
				t.Fatalf("status %d %+v", resp.StatusCode, out)
			}
			content := out.Choices[0].Message.Content
			want := "![generated image 1](" + c.wantPfx(h)
			if !strings.Contains(content, want) {
				t.Errorf("content %q does not contain %q", content, want)
			}
		})
	}
}

// An ordinary model asked to draw gets no image tool, so no image (and no
// quota spent); the -image variant draws.
func TestOrdinaryChatSpendsNoImageQuota(t *testing.T) {
	h, _ := mediaHarness(t, fakeupstream.Options{}, nil, nil)
	ask := func(model string) string {
		resp := h.do("POST", "/v1/chat/completions", `{"model":"`+model+`","messages":[{"role":"user","content":"please draw a cat"}]}`, nil)
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", model, resp.StatusCode, b)
		}
		return string(b)
	}
	if out := ask("gemini-2.5-pro"); !strings.Contains(out, "can't create images") || strings.Contains(out, "/files/") {
		t.Errorf("ordinary model: %s", out)
	}
	if imgs, _ := h.fake.MediaUsed(h.accts[0].CSESIDX); imgs != 0 {
		t.Errorf("%d images generated by a text turn", imgs)
	}
	if out := ask("gemini-2.5-pro-image"); !strings.Contains(out, "/files/") {
		t.Errorf("-image model: %s", out)
	}
}

type healthStatus struct {
	Accounts []struct {
		Name   string
		Usable bool
		Quotas []gateway.QuotaJSON
	}
}

func (h *harness) quotas() map[string]gateway.QuotaJSON {
	h.t.Helper()
	resp := h.do("GET", "/api/admin/health-status", "", nil)
	var hs healthStatus
	if err := json.NewDecoder(resp.Body).Decode(&hs); err != nil || len(hs.Accounts) == 0 {
		h.t.Fatalf("health-status: %v", err)
	}
	out := map[string]gateway.QuotaJSON{}
	for _, q := range hs.Accounts[0].Quotas {
		out[q.Kind] = q
	}
	return out
}

// Image quota exhausted upstream: images cool down on that account, text
// keeps flowing; health-status shows both.
func TestImageQuotaNeverTakesTextAway(t *testing.T) {
	h, _ := mediaHarness(t, fakeupstream.Options{}, nil, func(p *pool.Config) {
		p.Image = pool.MediaLimits{Daily: 0, Cooldown: time.Hour}
	})
	h.fake.UpdateAccount(h.accts[0].CSESIDX, func(a *fakeupstream.Account) { a.ImageQuota = 1 })
	gen := func() *http.Response {
		return h.do("POST", "/v1/images/generations", `{"prompt":"a kite","response_format":"b64_json"}`, nil)
	}
	if r := gen(); r.StatusCode != 200 {
		t.Fatalf("first image: %d", r.StatusCode)
	}
	r := gen()
	if r.StatusCode != 429 {
		t.Fatalf("second image: %d, want 429", r.StatusCode)
	}
	turns := len(h.fake.Sessions(h.accts[0].CSESIDX))
	if r := gen(); r.StatusCode != 429 || r.Header.Get("Retry-After") == "" {
		t.Errorf("third image: %d retry-after %q", r.StatusCode, r.Header.Get("Retry-After"))
	}
	if n := len(h.fake.Sessions(h.accts[0].CSESIDX)); n != turns {
		t.Errorf("an image turn reached the upstream during the image cooldown")
	}
	resp := h.do("POST", "/v1/chat/completions", `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"hi"}]}`, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("text during the image cooldown: %d", resp.StatusCode)
	}
	q := h.quotas()
	if q["image"].Available || q["image"].CooldownRemaining < 3000 || !strings.Contains(q["image"].Reason, "image quota") {
		t.Errorf("image quota %+v", q["image"])
	}
	if !q["text"].Available || q["text"].UsedToday != 1 || q["image"].UsedToday != 1 {
		t.Errorf("text %+v image %+v", q["text"], q["image"])
	}
	if h.account(0).State != "healthy" {
		t.Errorf("account state %q", h.account(0).State)
	}
}

// The gateway's own daily count stops image turns before the upstream
// has to refuse them.
func TestDailyVideoLimit(t *testing.T) {
	h, _ := mediaHarness(t, fakeupstream.Options{}, nil, func(p *pool.Config) { p.Video = pool.MediaLimits{Daily: 1} })
	ask := func() *http.Response {
		return h.do("POST", "/v1/chat/completions", `{"model":"gemini-veo","messages":[{"role":"user","content":"waves on a beach"}]}`, nil)
	}
	resp := ask()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `<video controls src=\"`) {
		t.Fatalf("video: %d %s", resp.StatusCode, b)
	}
	if r := ask(); r.StatusCode != 429 {
		t.Errorf("second video: %d, want 429", r.StatusCode)
	}
	if _, videos := h.fake.MediaUsed(h.accts[0].CSESIDX); videos != 1 {
		t.Errorf("the upstream made %d videos", videos)
	}
	if q := h.quotas()["video"]; q.Available || q.UsedToday != 1 || q.DailyLimit != 1 {
		t.Errorf("video quota %+v", q)
	}
}

// Media turns get minutes; text keeps its tight first-byte limit.
func TestMediaTurnsMayBeSlow(t *testing.T) {
	h, _ := mediaHarness(t, fakeupstream.Options{Media: fakeupstream.MediaOptions{Delay: 1500 * time.Millisecond}}, nil,
		func(p *pool.Config) { p.MaxAttempts = 1 })
	up, err := upstream.New(upstream.Config{BusinessURL: h.fake.BusinessURL(), AuthURL: h.fake.AuthURL(), APIURL: h.fake.APIURL(),
		FirstByteTimeout: 500 * time.Millisecond, MediaTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h.pool.SetUpstream(up)
	h.srv.SetUpstream(up)
	resp := h.do("POST", "/v1/images/generations", `{"prompt":"a slow painting","response_format":"b64_json"}`, nil)
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("slow image turn: %d %s", resp.StatusCode, b)
	}
	resp = h.do("POST", "/v1/chat/completions", `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"[scenario:slow-first-byte] hi"}]}`, nil)
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("slow text turn: %d, want 504", resp.StatusCode)
	}
}

type modelsJSON struct {
	Data []struct {
		ID                string
		Available         bool
		UnavailableReason string `json:"unavailable_reason"`
	}
}

func (h *harness) modelAvailable(id string) (bool, string) {
	h.t.Helper()
	var ml modelsJSON
	json.NewDecoder(h.do("GET", "/v1/models", "", nil).Body).Decode(&ml)
	for _, m := range ml.Data {
		if m.ID == id {
			return m.Available, m.UnavailableReason
		}
	}
	h.t.Fatalf("model %s not listed", id)
	return false, ""
}

// A model the upstream refuses is marked unavailable in /v1/models; with
// MODEL_FALLBACK off its requests are refused without reaching the
// upstream, with it on they are served by the nearest available model.
func TestRefusedModel(t *testing.T) {
	var models []string
	for _, m := range fakeupstream.DefaultModels() {
		if m != "gemini-3-pro-preview" {
			models = append(models, m)
		}
	}
	for _, fallback := range []bool{false, true} {
		t.Run(fmt.Sprintf("fallback=%v", fallback), func(t *testing.T) {
			h := newHarness(t, harnessOpts{fake: fakeupstream.Options{Models: models}, gw: func(g *gateway.Config) { g.ModelFallback = fallback }})
			ask := func() (int, string) {
				resp := h.do("POST", "/v1/chat/completions", `{"model":"gemini-3-pro-preview","messages":[{"role":"user","content":"hi"}]}`, nil)
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			if ok, _ := h.modelAvailable("gemini-3-pro-preview"); !ok {
				t.Fatal("marked before any refusal")
			}
			code, body := ask()
			if fallback {
				if code != 200 || h.lastTurn(0).ModelID != "gemini-3.1-pro-preview" {
					t.Fatalf("fallback: %d %s, upstream model %q", code, body, h.lastTurn(0).ModelID)
				}
			} else if code != 400 || !strings.Contains(body, "is invalid") {
				t.Fatalf("first refusal: %d %s", code, body)
			}
			if ok, why := h.modelAvailable("gemini-3-pro-preview"); ok || !strings.Contains(why, "INVALID_ARGUMENT") {
				t.Errorf("not marked: %v %q", ok, why)
			}
			turns := len(h.fake.Sessions(h.accts[0].CSESIDX))
			code, body = ask()
			if fallback {
				if code != 200 || h.lastTurn(0).ModelID != "gemini-3.1-pro-preview" {
					t.Errorf("second request: %d, upstream model %q", code, h.lastTurn(0).ModelID)
				}
			} else {
				if code != 400 || !strings.Contains(body, `"code":"model_unavailable"`) {
					t.Errorf("second request: %d %s", code, body)
				}
				if n := len(h.fake.Sessions(h.accts[0].CSESIDX)); n != turns {
					t.Error("a request for a marked model reached the upstream")
				}
			}
			if ok, _ := h.modelAvailable("gemini-2.5-pro"); !ok {
				t.Error("an accepted model was marked")
			}
		})
	}
}
