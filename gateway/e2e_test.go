package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	openai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/gemgate/gemini-gateway/gateway"
	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
)

type streamed struct {
	content, reasoning string
	chunks             int
	roleFirst          bool
	finishReasons      []string
	finishOnLast       bool
	usage              *openai.CompletionUsage
	ids                map[string]bool
	models             map[string]bool
	err                error
}

// streamChat runs a streaming request through the official Go SDK and
// checks the frame-level rules on the way.
func streamChat(t *testing.T, c openai.Client, params openai.ChatCompletionNewParams, opts ...option.RequestOption) streamed {
	t.Helper()
	s := c.Chat.Completions.NewStreaming(context.Background(), params, opts...)
	defer s.Close()
	out := streamed{ids: map[string]bool{}, models: map[string]bool{}}
	var content, reasoning strings.Builder
	lastHadFinish := false
	for s.Next() {
		ch := s.Current()
		out.chunks++
		out.ids[ch.ID] = true
		out.models[ch.Model] = true
		if ch.Object != "chat.completion.chunk" || ch.Created == 0 {
			t.Errorf("chunk header: object %q created %d", ch.Object, ch.Created)
		}
		if len(ch.Choices) == 0 {
			if ch.Usage.TotalTokens > 0 {
				u := ch.Usage
				out.usage = &u
			} else {
				t.Errorf("chunk without choices and without usage: %s", ch.RawJSON())
			}
			continue
		}
		d := ch.Choices[0].Delta
		if out.chunks == 1 {
			out.roleFirst = d.Role == "assistant"
		}
		content.WriteString(d.Content)
		var extra struct {
			Reasoning string `json:"reasoning_content"`
		}
		json.Unmarshal([]byte(d.RawJSON()), &extra)
		reasoning.WriteString(extra.Reasoning)
		lastHadFinish = ch.Choices[0].FinishReason != ""
		if lastHadFinish {
			out.finishReasons = append(out.finishReasons, ch.Choices[0].FinishReason)
		}
	}
	out.err = s.Err()
	out.finishOnLast = lastHadFinish || out.usage != nil
	out.content, out.reasoning = content.String(), reasoning.String()
	return out
}

// answer asks through the SDK, streaming or not, and returns the content.
func answer(t *testing.T, c openai.Client, stream bool, p openai.ChatCompletionNewParams) string {
	t.Helper()
	if stream {
		got := streamChat(t, c, p)
		if got.err != nil {
			t.Fatal(got.err)
		}
		return got.content
	}
	res, err := c.Chat.Completions.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return res.Choices[0].Message.Content
}

func userParams(model, text string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)}}
}

func TestStreamingWithOfficialSDK(t *testing.T) {
	h := newHarness(t, harnessOpts{fake: fakeupstream.Options{SplitWrites: true}, key: "sk-test-key"})
	c := h.client()
	for _, usage := range []bool{true, false} {
		t.Run("include_usage="+strconv.FormatBool(usage), func(t *testing.T) {
			p := userParams("gemini-2.5-pro", "Write a couplet")
			if usage {
				p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			}
			got := streamChat(t, c, p)
			if got.err != nil {
				t.Fatal(got.err)
			}
			if got.content != fakeupstream.NormalAnswer {
				t.Errorf("content = %q, want %q", got.content, fakeupstream.NormalAnswer)
			}
			if got.reasoning != fakeupstream.NormalThoughts {
				t.Errorf("reasoning = %q", got.reasoning)
			}
			if strings.Contains(got.content, "Assessing the Request") {
				t.Error("thought leaked into content")
			}
			if !got.roleFirst {
				t.Error("first chunk does not carry role=assistant")
			}
			if len(got.finishReasons) != 1 || got.finishReasons[0] != "stop" {
				t.Errorf("finish reasons = %v, want one stop on the last choice chunk", got.finishReasons)
			}
			if len(got.ids) != 1 || !got.models["gemini-2.5-pro"] || len(got.models) != 1 {
				t.Errorf("ids %v models %v", got.ids, got.models)
			}
			if usage != (got.usage != nil) {
				t.Fatalf("usage chunk present = %v, include_usage = %v", got.usage != nil, usage)
			}
			if usage && (got.usage.PromptTokens == 0 || got.usage.CompletionTokens == 0 || got.usage.TotalTokens != got.usage.PromptTokens+got.usage.CompletionTokens) {
				t.Errorf("usage = %+v", got.usage)
			}
			// Several content chunks: it streamed, it was not buffered.
			if got.chunks < 6 {
				t.Errorf("only %d chunks", got.chunks)
			}
		})
	}
}

func TestNonStreamingWithOfficialSDK(t *testing.T) {
	h := newHarness(t, harnessOpts{fake: fakeupstream.Options{SplitWrites: true}})
	c := h.client()
	res, err := c.Chat.Completions.New(context.Background(), userParams("gemini-3-pro-preview", "hi"))
	if err != nil {
		t.Fatal(err)
	}
	if res.ID == "" || res.Object != "chat.completion" || res.Created == 0 || res.Model != "gemini-3-pro-preview" {
		t.Errorf("header: %+v", res)
	}
	if len(res.Choices) != 1 || res.Choices[0].Message.Content != fakeupstream.NormalAnswer || res.Choices[0].FinishReason != "stop" {
		t.Fatalf("choices: %s", res.RawJSON())
	}
	var raw struct {
		Choices []struct {
			Message struct {
				Reasoning string `json:"reasoning_content"`
			} `json:"message"`
		} `json:"choices"`
	}
	json.Unmarshal([]byte(res.RawJSON()), &raw)
	if raw.Choices[0].Message.Reasoning != fakeupstream.NormalThoughts {
		t.Errorf("reasoning_content = %q", raw.Choices[0].Message.Reasoning)
	}
	if res.Usage.PromptTokens == 0 || res.Usage.CompletionTokens == 0 {
		t.Errorf("usage = %+v", res.Usage)
	}
	turn := h.fake.Sessions(h.accts[0].CSESIDX)[0].Turns[0]
	if turn.ModelID != "gemini-3-pro-preview" || turn.Query != "hi" {
		t.Errorf("upstream turn = %+v", turn)
	}
}

func TestReasoningModes(t *testing.T) {
	for _, mode := range []string{gateway.ReasoningThink, gateway.ReasoningOff} {
		t.Run(mode, func(t *testing.T) {
			h := newHarness(t, harnessOpts{gw: func(c *gateway.Config) { c.Reasoning = mode }})
			got := streamChat(t, h.client(), userParams("gemini-auto", "hi"))
			if got.err != nil || got.reasoning != "" {
				t.Fatalf("err %v, reasoning field %q", got.err, got.reasoning)
			}
			want := fakeupstream.NormalAnswer
			if mode == gateway.ReasoningThink {
				want = "<think>\n" + fakeupstream.NormalThoughts + "\n</think>\n\n" + fakeupstream.NormalAnswer
			}
			if got.content != want {
				t.Errorf("content = %q, want %q", got.content, want)
			}
		})
	}
}

func TestContentPartsAndImages(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	var buf bytes.Buffer
	png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 3, 3)))
	dataURL := "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
	p := openai.ChatCompletionNewParams{Model: "gemini-2.5-flash", Messages: []openai.ChatCompletionMessageParamUnion{
		openai.SystemMessage("Answer briefly."),
		openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
			openai.TextContentPart("What is in"),
			openai.TextContentPart("this picture?"),
			openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: dataURL}),
		}),
	}}
	got := streamChat(t, h.client(), p)
	if got.err != nil || got.content != fakeupstream.NormalAnswer {
		t.Fatalf("%q %v", got.content, got.err)
	}
	sess := h.fake.Sessions(h.accts[0].CSESIDX)[0]
	if len(sess.Files) != 1 || !bytes.Equal(sess.Files[0].Data, buf.Bytes()) || sess.Files[0].MIME != "image/png" {
		t.Fatalf("uploaded files: %+v", sess.Files)
	}
	turn := sess.Turns[0]
	if len(turn.FileIDs) != 1 || turn.FileIDs[0] != sess.Files[0].ID {
		t.Errorf("file ids = %v", turn.FileIDs)
	}
	if turn.Query != "System: Answer briefly.\n\nUser: What is in\nthis picture?" {
		t.Errorf("query = %q", turn.Query)
	}
}

func TestUpstreamFailureClasses(t *testing.T) {
	tests := []struct {
		scenario string
		status   int
		code     string
		retry    bool
	}{
		{"http-429", 429, "rate_limit_exceeded", true},
		{"quota-inbody", 429, "rate_limit_exceeded", true},
		{"http-403", 503, "account_banned", false},
		{"skipped-policy", 400, "content_policy_violation", false},
		{"skipped-non-assist", 400, "content_policy_violation", false},
		{"thoughts-only", 502, "empty_response", false},
		{"utoken-only", 503, "account_unavailable", false},
		{"http-500", 502, "upstream_error", false},
		{"failed", 502, "upstream_error", false},
	}
	for _, tc := range tests {
		for _, stream := range []bool{false, true} {
			t.Run(tc.scenario+"/stream="+strconv.FormatBool(stream), func(t *testing.T) {
				// One account: nothing to fail over to, so the class shows.
				h := newHarness(t, harnessOpts{pool: nil})
				// Transient classes are retried on the same account: make
				// every try fail the same way.
				h.queue(0, tc.scenario, tc.scenario, tc.scenario)
				body := `{"model":"gemini-2.5-pro","stream":` + strconv.FormatBool(stream) + `,"messages":[{"role":"user","content":"x"}]}`
				resp := h.do("POST", "/v1/chat/completions", body, nil)
				var e struct {
					Error map[string]any `json:"error"`
				}
				if stream && resp.StatusCode == 200 {
					// Reasoning was already streamed: the failure is an
					// error event followed by [DONE].
					frames := readFrames(t, resp.Body)
					n := len(frames)
					if n < 2 || frames[n-1] != "[DONE]" {
						t.Fatalf("stream does not end with [DONE]: %q", frames)
					}
					if err := json.Unmarshal([]byte(frames[n-2]), &e); err != nil || e.Error == nil {
						t.Fatalf("no error event before [DONE]: %q", frames[n-2])
					}
					if strings.Contains(strings.Join(frames, ""), `"content":"`+fakeupstream.NormalAnswer[:4]) {
						t.Error("answer text in a failed stream")
					}
				} else {
					if resp.StatusCode != tc.status {
						b, _ := io.ReadAll(resp.Body)
						t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, b)
					}
					if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
						t.Fatal(err)
					}
					if tc.retry != (resp.Header.Get("Retry-After") != "") {
						t.Errorf("Retry-After = %q", resp.Header.Get("Retry-After"))
					}
				}
				if e.Error["code"] != tc.code || e.Error["message"] == "" || e.Error["type"] == nil {
					t.Errorf("error = %v, want code %s", e.Error, tc.code)
				}
				if _, ok := e.Error["param"]; !ok {
					t.Error("error lacks param")
				}
			})
		}
	}
}

func TestExpiredAccountIs503(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	// getoxsrf redirects to the sign-in page: the cookies expired.
	h.fake.UpdateAccount(h.accts[0].CSESIDX, func(a *fakeupstream.Account) { a.AuthMode = fakeupstream.AuthModeRedirect })
	c := h.client()
	_, err := c.Chat.Completions.New(context.Background(), userParams("gemini-auto", "x"))
	var ae *openai.Error
	if !errors.As(err, &ae) || ae.StatusCode != 503 || ae.Code != "account_expired" {
		t.Fatalf("err = %v", err)
	}
	// Now nothing is usable: the answer explains why.
	_, err = c.Chat.Completions.New(context.Background(), userParams("gemini-auto", "x"))
	if !errors.As(err, &ae) || ae.StatusCode != 503 || ae.Code != "no_usable_account" || !strings.Contains(ae.Message, "expired") {
		t.Fatalf("second request: %v", err)
	}
}

// After the answer started, a failure ends the stream with an error event
// and [DONE]; the text already sent stays.
func TestMidStreamFailureIsErrorEvent(t *testing.T) {
	for _, sc := range []string{"internal-midstream", "truncated"} {
		t.Run(sc, func(t *testing.T) {
			h := newHarness(t, harnessOpts{fake: fakeupstream.Options{SplitWrites: true}})
			h.queue(0, sc)
			resp := h.do("POST", "/v1/chat/completions", `{"model":"gemini-auto","stream":true,"messages":[{"role":"user","content":"x"}]}`, nil)
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
				t.Fatalf("status %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			frames := readFrames(t, resp.Body)
			n := len(frames)
			if n < 3 || frames[n-1] != "[DONE]" || !strings.HasPrefix(frames[n-2], `{"error":`) {
				t.Fatalf("frames end %q", frames[max(0, n-3):])
			}
			var text strings.Builder
			for _, f := range frames[:n-2] {
				var c struct {
					Choices []struct {
						Delta        struct{ Content string }
						FinishReason *string `json:"finish_reason"`
					}
				}
				json.Unmarshal([]byte(f), &c)
				text.WriteString(c.Choices[0].Delta.Content)
				if c.Choices[0].FinishReason != nil {
					t.Errorf("finish_reason on a failed stream")
				}
			}
			if !strings.HasPrefix(text.String(), fakeupstream.InternalMidstreamAnswer) {
				t.Errorf("text before the failure: %q", text.String())
			}
			// The SDK surfaces the error event as an error.
			h.queue(0, sc)
			got := streamChat(t, h.client(), userParams("gemini-auto", "again"))
			if got.err == nil {
				t.Error("SDK saw no error")
			}
		})
	}
}

func readFrames(t *testing.T, r io.Reader) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("non-data line %q", line)
		}
		out = append(out, data)
	}
	return out
}

func TestClientDisconnectCancelsUpstream(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.queue(0, "stall")
	ctx, cancel := context.WithCancel(context.Background())
	c := h.client()
	s := c.Chat.Completions.NewStreaming(ctx, userParams("gemini-auto", "x"))
	gotText := false
	for s.Next() {
		if len(s.Current().Choices) > 0 && s.Current().Choices[0].Delta.Content != "" {
			gotText = true
			break
		}
	}
	if !gotText {
		t.Fatalf("no text before the stall: %v", s.Err())
	}
	if n := h.fake.ActiveStreams(); n != 1 {
		t.Fatalf("upstream streams before disconnect = %d", n)
	}
	cancel()
	s.Close()
	start := time.Now()
	waitFor(t, "the upstream request to end", func() bool { return h.fake.ActiveStreams() == 0 })
	if d := time.Since(start); d > time.Second {
		t.Errorf("upstream ended %v after the client left", d)
	}
}

func TestRequestErrors(t *testing.T) {
	h := newHarness(t, harnessOpts{key: "sk-right", gw: func(c *gateway.Config) { c.MaxBodyBytes = 64 << 10 }})
	t.Run("wrong key via SDK", func(t *testing.T) {
		c := h.client(option.WithAPIKey("sk-wrong"))
		_, err := c.Chat.Completions.New(context.Background(), userParams("gemini-auto", "x"))
		var ae *openai.Error
		if !errors.As(err, &ae) || ae.StatusCode != 401 || ae.Code != "invalid_api_key" {
			t.Fatalf("err = %v", err)
		}
		_, err = c.Models.List(context.Background())
		if !errors.As(err, &ae) || ae.StatusCode != 401 {
			t.Fatalf("models: %v", err)
		}
	})
	tests := []struct {
		name, path, body string
		hdr              map[string]string
		status           int
		code             string
	}{
		{"no key", "/v1/models", "", map[string]string{"Authorization": ""}, 401, "invalid_api_key"},
		{"malformed JSON", "/v1/chat/completions", `{"model":"gemini-auto","messages":[{"role":"user","content":"x"}`, nil, 400, "invalid_json"},
		{"oversize body", "/v1/chat/completions", `{"model":"gemini-auto","messages":[{"role":"user","content":"` + strings.Repeat("a", 70<<10) + `"}]}`, nil, 413, "request_too_large"},
		{"unknown model", "/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"x"}]}`, nil, 404, "model_not_found"},
		{"n > 1", "/v1/chat/completions", `{"model":"gemini-auto","n":2,"messages":[{"role":"user","content":"x"}]}`, nil, 400, "unsupported_parameter"},
		{"unknown route", "/v1/embeddings", `{}`, nil, 404, "not_found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.do("POST", tc.path, tc.body, tc.hdr)
			if tc.body == "" {
				resp = h.do("GET", tc.path, "", tc.hdr)
			}
			var e struct {
				Error struct {
					Message, Type string
					Code          *string
				}
			}
			json.NewDecoder(resp.Body).Decode(&e)
			if resp.StatusCode != tc.status || e.Error.Code == nil || *e.Error.Code != tc.code || e.Error.Message == "" || e.Error.Type == "" {
				t.Fatalf("status %d error %+v, want %d %s", resp.StatusCode, e.Error, tc.status, tc.code)
			}
			if resp.Header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
		})
	}
}

func TestPathVariantsAndModels(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	for _, p := range []string{"/v1/models", "/models", "//v1//models", "/v1/v1/models", "/v1/models/"} {
		resp := h.do("GET", p, "", nil)
		var list struct {
			Object string
			Data   []struct{ ID string }
		}
		json.NewDecoder(resp.Body).Decode(&list)
		if resp.StatusCode != 200 || list.Object != "list" || len(list.Data) < 5 {
			t.Errorf("%s: %d %+v", p, resp.StatusCode, list)
		}
	}
	ids := map[string]bool{}
	c := h.client()
	page, err := c.Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range page.Data {
		ids[m.ID] = true
	}
	for _, want := range []string{"gemini-auto", "gemini-2.5-flash", "gemini-2.5-pro", "gemini-3-pro-preview", "gemini-3-flash-preview"} {
		if !ids[want] {
			t.Errorf("model %s missing", want)
		}
	}
	for _, p := range []string{"/chat/completions", "//v1/chat/completions"} {
		resp := h.do("POST", p, `{"model":"gemini-auto","messages":[{"role":"user","content":"x"}]}`, nil)
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
	resp := h.do("GET", "/healthz", "", map[string]string{"Authorization": ""})
	if resp.StatusCode != 200 {
		t.Errorf("healthz: %d", resp.StatusCode)
	}
	resp = h.do("GET", "/v1/models", "", map[string]string{"X-Request-Id": "my-id-42"})
	if resp.Header.Get("X-Request-Id") != "my-id-42" {
		t.Errorf("request id not echoed: %q", resp.Header.Get("X-Request-Id"))
	}
}

// Multi-byte text split at every possible place by the fake arrives whole
// and every chunk is valid UTF-8 JSON.
func TestMultibyteTextIntact(t *testing.T) {
	h := newHarness(t, harnessOpts{fake: fakeupstream.Options{SplitWrites: true}})
	for i := 0; i < 20; i++ {
		got := streamChat(t, h.client(), userParams("gemini-auto", "春风 🌸 👩‍💻 [scenario:echo]"))
		if got.err != nil {
			t.Fatal(got.err)
		}
		if want := fakeupstream.EchoAnswer("春风 🌸 👩‍💻 [scenario:echo]"); got.content != want {
			t.Fatalf("content = %q, want %q", got.content, want)
		}
		if strings.ContainsRune(got.content, '\uFFFD') {
			t.Fatal("replacement character in output")
		}
	}
}

// The request log has one line per request with the fields that matter,
// and never a prompt or an answer.
func TestRequestLogLine(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	resp := h.do("POST", "/v1/chat/completions", `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"my secret prompt"}]}`, map[string]string{"X-Request-Id": "log-test-1"})
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	waitFor(t, "the log line", func() bool { return strings.Contains(h.logs.String(), "request_id=log-test-1") })
	var line string
	for _, l := range strings.Split(h.logs.String(), "\n") {
		if strings.Contains(l, "request_id=log-test-1") && strings.Contains(l, "msg=request") {
			line = l
		}
	}
	for _, want := range []string{"model_requested=gemini-2.5-flash", "model_served=gemini-2.5-flash", "account=acct-1", "status=200", "ttft_ms=", "duration_ms=", "prompt_tokens=", "completion_tokens="} {
		if !strings.Contains(line, want) {
			t.Errorf("log line lacks %s: %s", want, line)
		}
	}
	if strings.Contains(h.logs.String(), "my secret prompt") || strings.Contains(h.logs.String(), "春风") {
		t.Error("prompt or answer in the log")
	}
}

func TestKeepAliveDuringSilence(t *testing.T) {
	h := newHarness(t, harnessOpts{gw: func(c *gateway.Config) { c.KeepAlive = 200 * time.Millisecond }})
	h.queue(0, "slow-first-byte")
	resp := h.do("POST", "/v1/chat/completions", `{"model":"gemini-auto","stream":true,"messages":[{"role":"user","content":"x"}]}`, nil)
	frames := readFrames(t, resp.Body)
	// role chunk, empty keep-alive chunks during the 3 s wait, then the answer.
	empty := 0
	for _, f := range frames {
		if strings.Contains(f, `"delta":{"content":""}`) {
			empty++
		}
		if strings.HasPrefix(f, ":") {
			t.Fatal("SSE comment used as keep-alive")
		}
	}
	if empty < 5 {
		t.Errorf("%d keep-alive chunks during a 3 s silence", empty)
	}
	if frames[len(frames)-1] != "[DONE]" {
		t.Error("no [DONE]")
	}
}

func TestHTTPImageURLRefusesPrivateAddresses(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	img := httptestImageServer(t)
	body := `{"model":"gemini-auto","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"` + img + `"}}]}]}`
	resp := h.do("POST", "/v1/chat/completions", body, nil)
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(b), "loopback") {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	// Allowed for tests: the image is fetched and uploaded.
	h2 := newHarness(t, harnessOpts{gw: gateway.AllowPrivateImageURLs})
	resp = h2.do("POST", "/v1/chat/completions", body, nil)
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	if files := h2.fake.Sessions(h2.accts[0].CSESIDX)[0].Files; len(files) != 1 || files[0].MIME != "image/png" {
		t.Fatalf("files: %+v", files)
	}
}

func httptestImageServer(t *testing.T) string {
	var buf bytes.Buffer
	png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 2, 2)))
	srv := newLocalServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(buf.Bytes())
	}))
	return srv + "/cat.png"
}
