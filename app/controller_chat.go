//go:build !nogui

package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/openai"
	"github.com/gemgate/gemini-gateway/ui"
)

// chatClient is a plain HTTP client: the test chat goes through the real
// listener, exactly like an IDE, so it tests what IDEs see.
var chatClient = &http.Client{Transport: &http.Transport{Proxy: nil, DisableCompression: true}}

// Chat streams one reply from the local gateway.
func (c *controller) Chat(ctx context.Context, req ui.ChatRequest, on func(ui.ChatEvent)) error {
	type part struct {
		Type     string `json:"type"`
		Text     string `json:"text,omitempty"`
		ImageURL *struct {
			URL string `json:"url"`
		} `json:"image_url,omitempty"`
	}
	type message struct {
		Role    string `json:"role"`
		Content any    `json:"content"`
	}
	var msgs []message
	if s := strings.TrimSpace(req.System); s != "" {
		msgs = append(msgs, message{Role: "system", Content: s})
	}
	for _, m := range req.Messages {
		if len(m.Images) == 0 {
			msgs = append(msgs, message{Role: m.Role, Content: m.Text})
			continue
		}
		parts := []part{{Type: "text", Text: m.Text}}
		for _, img := range m.Images {
			p := part{Type: "image_url", ImageURL: &struct {
				URL string `json:"url"`
			}{URL: "data:" + img.MIME + ";base64," + base64.StdEncoding.EncodeToString(img.Data)}}
			parts = append(parts, p)
		}
		msgs = append(msgs, message{Role: m.Role, Content: parts})
	}
	body, _ := json.Marshal(map[string]any{
		"model": req.Model, "stream": true, "stream_options": map[string]bool{"include_usage": true}, "messages": msgs,
	})
	status := c.Status()
	if !status.Running {
		err := errors.New("the gateway is stopped: start it first")
		on(ui.ChatEvent{Kind: ui.ChatError, Err: err})
		return err
	}
	base := strings.TrimSuffix(c.BaseURL(), "/v1")
	reqID := openai.NewCompletionID()[len("chatcmpl-"):]
	reqID = "chat-" + reqID
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/chat/completions", bytes.NewReader(body))
	if err != nil {
		on(ui.ChatEvent{Kind: ui.ChatError, Err: err})
		return err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Authorization", "Bearer "+c.APIKey())
	hreq.Header.Set("X-Request-Id", reqID)
	hreq.Header.Set("User-Agent", "gemini-gateway-test-chat/"+Version)
	logLine := c.awaitRequest(reqID)
	defer c.forgetRequest(reqID)

	start := time.Now()
	stats := ui.ChatStats{RequestID: reqID, Model: req.Model}
	fail := func(err error) error {
		stats.Duration = time.Since(start)
		on(ui.ChatEvent{Kind: ui.ChatError, Err: err, Stats: stats})
		return err
	}
	resp, err := chatClient.Do(hreq)
	if err != nil {
		if ctx.Err() != nil {
			return fail(errors.New("stopped"))
		}
		return fail(fmt.Errorf("cannot reach the gateway at %s: %v", base, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Message, Code string }
		}
		json.NewDecoder(resp.Body).Decode(&e)
		if e.Error.Message == "" {
			e.Error.Message = resp.Status
		}
		return fail(fmt.Errorf("HTTP %d: %s", resp.StatusCode, e.Error.Message))
	}
	var first time.Time
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		on(ui.ChatEvent{Kind: ui.ChatRaw, Text: line})
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			break
		}
		var chunk struct {
			Model   string `json:"model"`
			Choices []struct {
				Delta struct {
					Content          string `json:"content"`
					ReasoningContent string `json:"reasoning_content"`
				} `json:"delta"`
			} `json:"choices"`
			Usage *struct {
				CompletionTokens int `json:"completion_tokens"`
			} `json:"usage"`
			Error *struct{ Message string } `json:"error"`
		}
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			continue
		}
		if chunk.Error != nil {
			return fail(errors.New(chunk.Error.Message))
		}
		if chunk.Model != "" {
			stats.Model = chunk.Model
		}
		if chunk.Usage != nil {
			stats.Tokens = chunk.Usage.CompletionTokens
		}
		for _, ch := range chunk.Choices {
			for _, d := range [...]struct {
				kind ui.ChatEventKind
				text string
			}{{ui.ChatReasoning, ch.Delta.ReasoningContent}, {ui.ChatContent, ch.Delta.Content}} {
				kind, text := d.kind, d.text
				if text == "" {
					continue
				}
				if first.IsZero() {
					first = time.Now()
					stats.TTFT = first.Sub(start)
				}
				on(ui.ChatEvent{Kind: kind, Text: text})
			}
		}
	}
	if err := sc.Err(); err != nil {
		if ctx.Err() != nil {
			return fail(errors.New("stopped"))
		}
		return fail(fmt.Errorf("the stream broke: %v", err))
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
