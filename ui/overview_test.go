package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

func TestOverviewPortInUseOffersAnotherPort(t *testing.T) {
	fc := newFake()
	fc.status = Status{Running: false, State: StateStopped, Addr: "127.0.0.1:7860", PortInUse: true, SuggestedPort: 7861}
	u, _ := newTestUI(t, fc, Options{StartPanel: PanelOverview})
	p := u.overview

	if !p.portBanner.box.Visible() || p.portBanner.msg.Text != "Port 7860 is used by another program (Stable Diffusion WebUI and Gradio apps often use it)." {
		t.Fatalf("banner = %q (visible %v)", p.portBanner.msg.Text, p.portBanner.box.Visible())
	}
	if p.usePort.Text != "Use port 7861" {
		t.Errorf("button = %q", p.usePort.Text)
	}
	test.Tap(p.usePort)
	if len(fc.usedPorts) != 1 || fc.usedPorts[0] != 7861 {
		t.Fatalf("UsePort calls = %v", fc.usedPorts)
	}
	if p.portBanner.box.Visible() {
		t.Error("banner still shown after switching")
	}
	if p.baseURL.Text != "http://127.0.0.1:7861/v1" {
		t.Errorf("base URL = %q", p.baseURL.Text)
	}
}

func TestOverviewKeyMaskedRevealCopyRegenerate(t *testing.T) {
	fc := newFake()
	u, _ := newTestUI(t, fc, Options{StartPanel: PanelOverview})
	p := u.overview
	key := fc.apiKey

	if strings.Contains(p.keyLabel.Text, key) || !strings.HasSuffix(p.keyLabel.Text, "a1b2") {
		t.Errorf("key label = %q", p.keyLabel.Text)
	}
	if strings.Contains(richText(u.Window().Content()), key) {
		t.Fatal("the key is on screen before Reveal")
	}
	test.Tap(p.reveal)
	if p.keyLabel.Text != key || !strings.Contains(p.snippetView.Text, key) {
		t.Error("Reveal does not show the key")
	}
	test.Tap(p.reveal)
	if strings.Contains(p.snippetView.Text, key) {
		t.Error("the snippet shows the key after hiding it")
	}

	test.Tap(button(t, p.content, "Copy"))
	if got := fyne.CurrentApp().Clipboard().Content(); got != fc.baseURL {
		t.Errorf("copied %q, want the base URL", got)
	}
	if !strings.Contains(u.status.Text, "Copied base URL") {
		t.Errorf("status = %q", u.status.Text)
	}

	test.Tap(button(t, p.content, "Regenerate…"))
	d := overlay(t, u.Window())
	if fc.regenCalls != 0 {
		t.Fatal("regenerated without confirmation")
	}
	test.Tap(button(t, d, "Yes"))
	if fc.regenCalls != 1 || p.key != "sk-gg-newnewnewnewnewnewz9y8" || !strings.HasSuffix(p.keyLabel.Text, "z9y8") {
		t.Errorf("after regenerate: calls %d, key label %q", fc.regenCalls, p.keyLabel.Text)
	}
}

func TestOverviewSnippetCopyHasTheRealKey(t *testing.T) {
	fc := newFake()
	u, _ := newTestUI(t, fc, Options{StartPanel: PanelOverview})
	p := u.overview
	p.client.SetSelected(clientPython)
	if strings.Contains(p.snippetView.Text, fc.apiKey) || !strings.Contains(p.snippetView.Text, `base_url="http://127.0.0.1:7860/v1"`) {
		t.Errorf("python view = %q", p.snippetView.Text)
	}
	p.copySnippet()
	got := fyne.CurrentApp().Clipboard().Content()
	if !strings.Contains(got, "export GEMINI_GATEWAY_KEY='"+fc.apiKey+"'") || !strings.Contains(got, `os.environ["GEMINI_GATEWAY_KEY"]`) {
		t.Errorf("copied python snippet = %q", got)
	}
}

func TestOverviewCountersBannersAndStartStop(t *testing.T) {
	fc := newFake()
	fc.addAccount(Account{Name: "a", State: AccountHealthy, Enabled: true, Usable: true})
	fc.addAccount(Account{Name: "b", State: AccountHealthy, Enabled: true})
	fc.status.RequestsToday = 17
	fc.status.ActiveStreams = 2
	fc.status.SecretWarning = "No keychain: set GATEWAY_SECRET_KEY."
	u, _ := newTestUI(t, fc, Options{StartPanel: PanelOverview})
	p := u.overview
	if p.requests.Text != "17" || p.streams.Text != "2" || p.accounts.Text != "1 / 2" {
		t.Errorf("counters = %q %q %q", p.requests.Text, p.streams.Text, p.accounts.Text)
	}
	if !p.secretBanner.box.Visible() || p.secretBanner.msg.Text != fc.status.SecretWarning {
		t.Error("secret warning not shown")
	}
	if p.startStop.Text != "Stop gateway" {
		t.Errorf("button = %q", p.startStop.Text)
	}
	test.Tap(p.startStop)
	if fc.stops != 1 || p.startStop.Text != "Start gateway" || p.stateText.Text != "Stopped" {
		t.Errorf("after stop: stops=%d button=%q state=%q", fc.stops, p.startStop.Text, p.stateText.Text)
	}
	// A request event updates the counters.
	fc.status.RequestsToday = 18
	fc.publish(Event{Kind: EventRequest, Request: &RequestRow{ID: "x", Status: 200}})
	if p.requests.Text != "18" {
		t.Errorf("requests today = %q after an event", p.requests.Text)
	}
}

func TestSnippets(t *testing.T) {
	base := "http://127.0.0.1:7860/v1"
	models := []string{"gemini-auto", "gemini-2.5-flash", "gemini-2.5-pro"}
	for _, tc := range []struct {
		client string
		want   []string
	}{
		{clientCurl, []string{"curl -N http://127.0.0.1:7860/v1/chat/completions", `"stream":true`, "Bearer $GEMINI_GATEWAY_KEY", "export GEMINI_GATEWAY_KEY='KEY'", `"model":"gemini-2.5-pro"`}},
		{clientPython, []string{"from openai import OpenAI", `base_url="http://127.0.0.1:7860/v1"`, "stream=True"}},
		{clientNode, []string{`import OpenAI from "openai"`, `baseURL: "http://127.0.0.1:7860/v1"`, "process.env.GEMINI_GATEWAY_KEY", "for await"}},
		{clientOpenWebUI, []string{"http://host.docker.internal:7860/v1", "--add-host=host.docker.internal:host-gateway", "API key:  KEY"}},
		{clientCherry, []string{"API host:  http://127.0.0.1:7860", "API key:   KEY", "gemini-auto, gemini-2.5-flash, gemini-2.5-pro"}},
		{clientContinue, []string{"provider: openai", "apiBase: http://127.0.0.1:7860/v1", "model: gemini-2.5-flash", "apiKey: KEY", "capabilities: [tool_use]"}},
		{clientCodex, []string{`wire_api = "responses"`, `base_url = "http://127.0.0.1:7860/v1"`, `env_key = "GEMINI_GATEWAY_KEY"`, `model = "gemini-2.5-pro"`}},
		{clientClaude, []string{"ANTHROPIC_BASE_URL='http://127.0.0.1:7860'", "ANTHROPIC_AUTH_TOKEN='KEY'", "ANTHROPIC_MODEL='gemini-2.5-pro'"}},
		{clientOpencode, []string{`"npm": "@ai-sdk/openai-compatible"`, `"baseURL": "http://127.0.0.1:7860/v1"`, `"tool_call": true`, `"model": "gateway/gemini-2.5-pro"`}},
		{clientCursor, []string{"Cursor cannot use a localhost server: its requests come from Cursor's cloud. It would need a public HTTPS tunnel."}},
	} {
		t.Run(tc.client, func(t *testing.T) {
			s := snippet(tc.client, base, "KEY", models)
			for _, w := range tc.want {
				if !strings.Contains(s, w) {
					t.Errorf("snippet lacks %q:\n%s", w, s)
				}
			}
		})
	}
	if got := dockerURL("http://127.0.0.1:7861/v1"); got != "http://host.docker.internal:7861/v1" {
		t.Errorf("dockerURL = %q", got)
	}
	if got := hostRoot("http://127.0.0.1:7860/v1/"); got != "http://127.0.0.1:7860" {
		t.Errorf("hostRoot = %q", got)
	}
}
