package ui

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/widget"
)

func TestGeneratedImageNames(t *testing.T) {
	const name = "0123456789abcdef0123456789abcdef.png"
	content := "Here it is\n\n![generated image 1](https://gw.example.com/files/" + name + ")\n\n" +
		"![other](https://example.com/cat.png) <video controls src=\"http://x/files/0123456789abcdef0123456789abcdef.mp4\"></video>"
	got := generatedImageNames(content)
	if len(got) != 1 || got[0] != name {
		t.Errorf("names = %q", got)
	}
}

// A generated image in an answer shows as a thumbnail with Open and Save.
func TestChatShowsGeneratedImage(t *testing.T) {
	u, fc, d := newChatTest(t)
	p := u.chat
	var b bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	img.Set(1, 1, color.RGBA{R: 255, A: 255})
	png.Encode(&b, img)
	const name = "00112233445566778899aabbccddeeff.png"
	fc.mu.Lock()
	fc.generated = map[string][]byte{name: b.Bytes()}
	fc.mu.Unlock()

	send(d, p, "draw a red dot")
	var card *replyCard
	d.dispatch(func() { card = p.cur.card })
	answer := "Here it is.\n\n![generated image 1](http://127.0.0.1:7860/files/" + name + ")"
	fc.chatEvents <- ChatEvent{Kind: ChatContent, Text: answer}
	fc.chatEvents <- ChatEvent{Kind: ChatDone}
	d.eventually(t, "thumbnail shown", func() bool { return card.images.Visible() && len(card.images.Objects) == 1 })
	d.dispatch(func() {
		th, ok := card.images.Objects[0].(*fyne.Container)
		if !ok {
			t.Fatalf("thumbnail is %T", card.images.Objects[0])
		}
		shown := false
		var buttons int
		walk(th, func(o fyne.CanvasObject) {
			switch v := o.(type) {
			case *canvas.Image:
				shown = shown || v.Resource != nil && bytes.Equal(v.Resource.Content(), b.Bytes())
			case *widget.Button:
				buttons++
			}
		})
		if !shown {
			t.Error("the thumbnail does not show the generated image")
		}
		if buttons != 2 {
			t.Errorf("%d buttons, want Open and Save", buttons)
		}
		// The thumbnail replaces the Markdown image in the text shown; the
		// history keeps the whole answer for the next turn.
		if got := card.content.Text; got != "Here it is." {
			t.Errorf("reply text %q, want the words without the Markdown image", got)
		}
		if n := len(p.history); n == 0 || p.history[n-1].Text != answer {
			t.Errorf("history lost the answer: %+v", p.history)
		}
	})
}

func TestChatWarnsAboutRefusedModel(t *testing.T) {
	u, fc, d := newChatTest(t)
	p := u.chat
	fc.mu.Lock()
	fc.unavailable = map[string]string{"gemini-2.5-flash": "model id is invalid"}
	fc.mu.Unlock()
	d.dispatch(func() {
		p.model.SetSelected("gemini-2.5-flash")
		if !p.modelNote.Visible() || !strings.Contains(p.modelNote.Text, "model id is invalid") {
			t.Errorf("note %v %q", p.modelNote.Visible(), p.modelNote.Text)
		}
		p.model.SetSelected("gemini-2.5-pro")
		if p.modelNote.Visible() {
			t.Error("note shown for an available model")
		}
	})
}
