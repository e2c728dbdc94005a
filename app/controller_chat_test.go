//go:build !nogui

package app

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gemgate/gemini-gateway/ui"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// TestChatClientReadsTheGatewaysDialect drives the SDK the panel uses
// against canned gateway answers: reasoning_content, usage, an HTTP error
// and an error event, and checks what the panel is told.
func TestChatClientReadsTheGatewaysDialect(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("X-Mode") {
		case "401":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(401)
			fmt.Fprint(w, `{"error":{"message":"invalid API key","type":"invalid_request_error","code":"invalid_api_key"}}`)
		case "event":
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, "data: {\"error\":{\"message\":\"all accounts are cooling down\"}}\n\n")
		default:
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, ": keep-alive\n\n"+
				`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gemini-2.5-pro","choices":[{"index":0,"delta":{"reasoning_content":"Thinking"}}]}`+"\n\n"+
				`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gemini-2.5-pro","choices":[{"index":0,"delta":{"content":"Hi"}}]}`+"\n\n"+
				`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gemini-2.5-pro","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":7,"total_tokens":10}}`+"\n\n"+
				"data: [DONE]\n\n")
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	client := openai.NewClient(option.WithBaseURL(srv.URL+"/v1/"), option.WithAPIKey("k"), option.WithMaxRetries(0))
	req := ui.ChatRequest{Model: "gemini-2.5-pro", System: "be brief", Messages: []ui.ChatMessage{{Role: "user", Text: "hello"}}}

	s := client.Chat.Completions.NewStreaming(ctx, chatParams(req))
	var reasoning, content string
	var tokens int64
	for s.Next() {
		ch := s.Current()
		for _, c := range ch.Choices {
			reasoning += reasoningOf(c.Delta)
			content += c.Delta.Content
		}
		if ch.JSON.Usage.Valid() {
			tokens = ch.Usage.CompletionTokens
		}
	}
	if s.Err() != nil || reasoning != "Thinking" || content != "Hi" || tokens != 7 {
		t.Errorf("err %v reasoning %q content %q tokens %d", s.Err(), reasoning, content, tokens)
	}

	for mode, want := range map[string]string{"401": "HTTP 401: invalid API key", "event": "all accounts are cooling down"} {
		s := client.Chat.Completions.NewStreaming(ctx, chatParams(req), option.WithHeader("X-Mode", mode))
		for s.Next() {
		}
		if err := chatError(ctx, srv.URL, s.Err()); err == nil || err.Error() != want {
			t.Errorf("%s: error %v, want %q", mode, err, want)
		}
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	c2 := openai.NewClient(option.WithBaseURL(closed.URL+"/v1/"), option.WithAPIKey("k"), option.WithMaxRetries(0))
	s = c2.Chat.Completions.NewStreaming(ctx, chatParams(req))
	for s.Next() {
	}
	if err := chatError(ctx, closed.URL, s.Err()); err == nil || !strings.HasPrefix(err.Error(), "cannot reach the gateway at "+closed.URL) {
		t.Errorf("closed: %v", err)
	}
}
