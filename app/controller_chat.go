//go:build !nogui

package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	gwopenai "github.com/gemgate/gemini-gateway/gateway/openai"
	"github.com/gemgate/gemini-gateway/ui"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"
)

// chatClient is a plain HTTP client: the test chat goes through the real
// listener, exactly like an IDE, so it tests what IDEs see.
var chatClient = &http.Client{Transport: &http.Transport{Proxy: nil, DisableCompression: true}}

// chatParams turns the panel's request into the SDK's.
func chatParams(req ui.ChatRequest) openai.ChatCompletionNewParams {
	var msgs []openai.ChatCompletionMessageParamUnion
	if s := strings.TrimSpace(req.System); s != "" {
		msgs = append(msgs, openai.SystemMessage(s))
	}
	for _, m := range req.Messages {
		if m.Role == "assistant" {
			msgs = append(msgs, openai.AssistantMessage(m.Text))
			continue
		}
		if len(m.Images) == 0 {
			msgs = append(msgs, openai.UserMessage(m.Text))
			continue
		}
		parts := []openai.ChatCompletionContentPartUnionParam{openai.TextContentPart(m.Text)}
		for _, img := range m.Images {
			parts = append(parts, openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{
				URL: "data:" + img.MIME + ";base64," + base64.StdEncoding.EncodeToString(img.Data),
			}))
		}
		msgs = append(msgs, openai.UserMessage(parts))
	}
	return openai.ChatCompletionNewParams{
		Model:         req.Model,
		Messages:      msgs,
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	}
}

// Chat streams one reply from the local gateway with the official OpenAI
// Go SDK: the panel exists to show that a real client works, so it is
// one. ChatRaw frames are the chunks the SDK parsed ("data: " and their
// JSON); keep-alive comments and [DONE] are consumed by the SDK.
func (c *controller) Chat(ctx context.Context, req ui.ChatRequest, on func(ui.ChatEvent)) error {
	status := c.Status()
	if !status.Running {
		err := errors.New("the gateway is stopped: start it first")
		on(ui.ChatEvent{Kind: ui.ChatError, Err: err})
		return err
	}
	base := strings.TrimSuffix(c.BaseURL(), "/v1")
	reqID := "chat-" + gwopenai.NewCompletionID()[len("chatcmpl-"):]
	client := openai.NewClient(
		option.WithBaseURL(base+"/v1/"),
		option.WithAPIKey(c.APIKey()),
		option.WithHTTPClient(chatClient),
		option.WithMaxRetries(0), // show what happened, as an IDE's first try sees it
		option.WithHeader("X-Request-Id", reqID),
		option.WithHeader("User-Agent", "gemini-gateway-test-chat/"+Version),
	)
	logLine := c.awaitRequest(reqID)
	defer c.forgetRequest(reqID)

	start := time.Now()
	stats := ui.ChatStats{RequestID: reqID, Model: req.Model}
	fail := func(err error) error {
		stats.Duration = time.Since(start)
		on(ui.ChatEvent{Kind: ui.ChatError, Err: err, Stats: stats})
		return err
	}
	stream := client.Chat.Completions.NewStreaming(ctx, chatParams(req))
	defer stream.Close()
	var first time.Time
	for stream.Next() {
		chunk := stream.Current()
		on(ui.ChatEvent{Kind: ui.ChatRaw, Text: "data: " + chunk.RawJSON()})
		if chunk.Model != "" {
			stats.Model = chunk.Model
		}
		if chunk.JSON.Usage.Valid() {
			stats.Tokens = int(chunk.Usage.CompletionTokens)
		}
		for _, ch := range chunk.Choices {
			for _, d := range [...]struct {
				kind ui.ChatEventKind
				text string
			}{{ui.ChatReasoning, reasoningOf(ch.Delta)}, {ui.ChatContent, ch.Delta.Content}} {
				if d.text == "" {
					continue
				}
				if first.IsZero() {
					first = time.Now()
					stats.TTFT = first.Sub(start)
				}
				on(ui.ChatEvent{Kind: d.kind, Text: d.text})
			}
		}
	}
	if err := stream.Err(); err != nil {
		return fail(chatError(ctx, base, err))
	}
	stats.Duration = time.Since(start)
	if !first.IsZero() && stats.Tokens > 0 {
		if gen := time.Since(first).Seconds(); gen > 0 {
			stats.TokensPerSec = float64(stats.Tokens) / gen
		}
	}
	// The account that served is in the request's log line.
	select {
	case info := <-logLine:
		stats.Account = info.Account
		if info.ModelServed != "" {
			stats.Model = info.ModelServed
		}
	case <-time.After(2 * time.Second):
	case <-ctx.Done():
	}
	on(ui.ChatEvent{Kind: ui.ChatDone, Stats: stats})
	return nil
}

// GeneratedFile reads /files/<name> from the local gateway (whatever
// base URL the answer's link carried: PUBLIC_BASE_URL may name a host
// this machine cannot reach).
func (c *controller) GeneratedFile(ctx context.Context, name string) ([]byte, error) {
	if strings.ContainsAny(name, "/\\?#") || name == "" {
		return nil, errors.New("not a generated file name")
	}
	base := strings.TrimSuffix(c.BaseURL(), "/v1")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/files/"+name, nil)
	if err != nil {
		return nil, err
	}
	resp, err := chatClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the gateway: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d (generated files expire after GENERATED_FILE_TTL)", resp.StatusCode)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 256<<20))
}

// reasoningOf reads the gateway's reasoning_content, a field the OpenAI
// API does not have and the SDK keeps among a delta's extra fields.
func reasoningOf(d openai.ChatCompletionChunkChoiceDelta) string {
	f, ok := d.JSON.ExtraFields["reasoning_content"]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal([]byte(f.Raw()), &s) != nil {
		return ""
	}
	return s
}

// chatError says what went wrong in the panel's words: the gateway's own
// message for an HTTP error or an error event, not the SDK's dump.
func chatError(ctx context.Context, base string, err error) error {
	if ctx.Err() != nil {
		return errors.New("stopped")
	}
	var apiErr *openai.Error
	if errors.As(err, &apiErr) {
		msg := apiErr.Message
		if msg == "" {
			msg = http.StatusText(apiErr.StatusCode)
		}
		return fmt.Errorf("HTTP %d: %s", apiErr.StatusCode, msg)
	}
	var se *ssestream.StreamError
	if errors.As(err, &se) {
		var e struct {
			Error struct{ Message string } `json:"error"`
		}
		if json.Unmarshal(se.Event.Data, &e) == nil && e.Error.Message != "" {
			return errors.New(e.Error.Message)
		}
		return errors.New("the gateway sent an error event")
	}
	var ne net.Error
	var oe *net.OpError
	if errors.As(err, &oe) || errors.As(err, &ne) {
		return fmt.Errorf("cannot reach the gateway at %s: %v", base, err)
	}
	return fmt.Errorf("the stream broke: %v", err)
}
