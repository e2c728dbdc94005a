package ui

import (
	"errors"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
)

// newChatTest builds the UI with real goroutines and tickers (the chat
// coalesces deltas on a 50 ms ticker), serialised by a locked dispatcher.
func newChatTest(t *testing.T) (*UI, *fakeController, *lockedDispatch) {
	t.Helper()
	test.NewTempApp(t)
	fc := newFake()
	fc.chatEvents = make(chan ChatEvent)
	fc.chatCancelled = make(chan struct{})
	d := &lockedDispatch{}
	var u *UI
	d.dispatch(func() {
		u = newUI(fyne.CurrentApp(), fc, realEnv(d.dispatch), Options{StartPanel: PanelChat})
		u.Window().Resize(fyne.NewSize(1000, 680))
	})
	t.Cleanup(func() { d.dispatch(u.Close) })
	return u, fc, d
}

// send types text and presses Send, as the user would.
func send(d *lockedDispatch, p *chatPanel, text string) {
	d.dispatch(func() {
		test.Type(p.input, text)
		test.Tap(p.send)
	})
}

func TestChatStreamsProgressivelyThenShowsStats(t *testing.T) {
	u, fc, d := newChatTest(t)
	p := u.chat
	send(d, p, "Hello")

	var card *replyCard
	d.dispatch(func() { card = p.cur.card })

	fc.chatEvents <- ChatEvent{Kind: ChatRaw, Text: `data: {"choices":[{"delta":{"reasoning_content":"Thinking"}}]}`}
	fc.chatEvents <- ChatEvent{Kind: ChatReasoning, Text: "Thinking about greetings."}
	fc.chatEvents <- ChatEvent{Kind: ChatContent, Text: "Hel"}

	var seen []string
	d.eventually(t, "first delta shown", func() bool { return card.content.Text == "Hel" })
	d.dispatch(func() {
		seen = append(seen, card.content.Text)
		if card.footer.Visible() {
			t.Error("footer shown before the reply ended")
		}
	})
	fc.chatEvents <- ChatEvent{Kind: ChatContent, Text: "lo, "}
	fc.chatEvents <- ChatEvent{Kind: ChatContent, Text: "world"}
	d.eventually(t, "more deltas shown", func() bool { return card.content.Text == "Hello, world" })
	d.dispatch(func() { seen = append(seen, card.content.Text) })
	if len(seen) < 2 || len(seen[1]) <= len(seen[0]) {
		t.Fatalf("reply did not grow: %q", seen)
	}

	fc.chatEvents <- ChatEvent{Kind: ChatDone, Stats: ChatStats{
		TTFT: 420 * time.Millisecond, Tokens: 12, TokensPerSec: 33.3, Account: "work", Model: "gemini-2.5-pro", RequestID: "r1",
	}}
	d.eventually(t, "reply finished", func() bool { return p.cur == nil })
	d.dispatch(func() {
		f := card.footer.Text
		for _, s := range []string{"TTFT 420 ms", "33.3 tok/s", "12 tokens", "account work", "model gemini-2.5-pro"} {
			if !strings.Contains(f, s) {
				t.Errorf("footer %q lacks %q", f, s)
			}
		}
		if !card.footer.Visible() || card.err.Visible() {
			t.Error("footer hidden or error shown")
		}
		// Reasoning is there but folded.
		if !card.reasoningAcc.Visible() || card.reasoningAcc.Items[0].Open {
			t.Error("reasoning is not shown folded")
		}
		if card.reasoning.Text != "Thinking about greetings." {
			t.Errorf("reasoning = %q", card.reasoning.Text)
		}
		if len(p.raw) != 1 || !strings.HasPrefix(p.raw[0], "data: ") {
			t.Errorf("raw frames = %q", p.raw)
		}
		if p.send.Disabled() || p.stop.Visible() {
			t.Error("Send/Stop not reset")
		}
	})

	// The next turn carries the whole conversation.
	send(d, p, "And again")
	fc.chatEvents <- ChatEvent{Kind: ChatDone}
	d.eventually(t, "second reply finished", func() bool { return p.cur == nil })
	reqs := fc.requests()
	if len(reqs) != 2 {
		t.Fatalf("Chat calls = %d", len(reqs))
	}
	var turns []string
	for _, m := range reqs[1].Messages {
		turns = append(turns, m.Role+":"+m.Text)
	}
	want := []string{"user:Hello", "assistant:Hello, world", "user:And again"}
	if strings.Join(turns, "|") != strings.Join(want, "|") {
		t.Errorf("second request messages = %q, want %q", turns, want)
	}
	if reqs[0].Model != "gemini-2.5-pro" {
		t.Errorf("model = %q", reqs[0].Model)
	}
}

func TestChatStopCancelsTheContext(t *testing.T) {
	u, fc, d := newChatTest(t)
	p := u.chat
	send(d, p, "Write a long story")
	var card *replyCard
	d.dispatch(func() { card = p.cur.card })
	fc.chatEvents <- ChatEvent{Kind: ChatContent, Text: "Once upon"}
	d.eventually(t, "partial reply", func() bool { return card.content.Text == "Once upon" })

	d.dispatch(func() { test.Tap(p.stop) })
	select {
	case <-fc.chatCancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not cancel the request context")
	}
	d.eventually(t, "reply ended", func() bool { return p.cur == nil })
	d.dispatch(func() {
		if !strings.HasPrefix(card.footer.Text, "stopped") {
			t.Errorf("footer = %q", card.footer.Text)
		}
		if card.err.Visible() {
			t.Errorf("a user stop is shown as an error: %q", card.err.Text)
		}
		if len(p.history) != 2 || p.history[1].Text != "Once upon" {
			t.Errorf("history = %+v", p.history)
		}
	})
}

func TestChatErrorShowsInTheCard(t *testing.T) {
	u, fc, d := newChatTest(t)
	p := u.chat
	send(d, p, "Hi")
	var card *replyCard
	d.dispatch(func() { card = p.cur.card })
	fc.chatEvents <- ChatEvent{Kind: ChatError, Err: errors.New("all accounts are cooling down (429)")}
	d.eventually(t, "reply ended", func() bool { return p.cur == nil })
	d.dispatch(func() {
		if !card.err.Visible() || card.err.Text != "all accounts are cooling down (429)" {
			t.Errorf("error label = %q visible=%v", card.err.Text, card.err.Visible())
		}
		if len(p.history) != 0 {
			t.Errorf("a failed turn stayed in the history: %+v", p.history)
		}
	})
}

func TestChatNewChatClears(t *testing.T) {
	u, fc, d := newChatTest(t)
	p := u.chat
	send(d, p, "Hi")
	fc.chatEvents <- ChatEvent{Kind: ChatContent, Text: "Hello"}
	fc.chatEvents <- ChatEvent{Kind: ChatDone}
	d.eventually(t, "reply ended", func() bool { return p.cur == nil })
	d.dispatch(func() {
		test.Tap(p.newChat)
		if len(p.history) != 0 || len(p.conv.Objects) != 0 {
			t.Errorf("after New chat: %d turns, %d cards", len(p.history), len(p.conv.Objects))
		}
	})
}

func TestChatAttachments(t *testing.T) {
	fc := newFake()
	u, _ := newTestUI(t, fc, Options{StartPanel: PanelChat})
	p := u.chat
	p.addAttachment("huge.png", make([]byte, maxImage+1), nil)
	if !p.attachMsg.Visible() || !strings.Contains(p.attachMsg.Text, "larger than 15 MB") || len(p.attachments) != 0 {
		t.Errorf("oversized image: msg %q, %d attachments", p.attachMsg.Text, len(p.attachments))
	}
	p.addAttachment("cat.webp", make([]byte, 2048), nil)
	if len(p.attachments) != 1 || p.attachments[0].img.MIME != "image/webp" || p.attachMsg.Visible() {
		t.Fatalf("attachments = %+v", p.attachments)
	}
	if !strings.Contains(richText(p.chips), "cat.webp (2 KB)") {
		t.Errorf("chip text = %q", richText(p.chips))
	}
	test.Tap(button(t, p.chips, ""))
	if len(p.attachments) != 0 {
		t.Error("removing the chip kept the attachment")
	}
}

func TestChatCtrlEnterSends(t *testing.T) {
	test.NewTempApp(t)
	sent := 0
	in := newChatInput(func() { sent++ })
	test.NewTempWindow(t, in)
	test.Type(in, "hi")
	in.TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyReturn, Modifier: fyne.KeyModifierControl})
	if sent != 1 {
		t.Error("Ctrl+Enter did not send")
	}
	in.TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyA, Modifier: fyne.KeyModifierAlt})
	if sent != 1 || in.Text != "hi" {
		t.Errorf("other shortcuts: sent=%d text=%q", sent, in.Text)
	}
}
