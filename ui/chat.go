package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

const (
	// maxImage is the largest attachment accepted.
	maxImage = 15 << 20
	// flushEvery is how often a streaming reply is redrawn: deltas are
	// gathered in between, so the UI does not re-layout per token.
	flushEvery = 50 * time.Millisecond
	// maxRawFrames bounds the raw SSE view.
	maxRawFrames = 2000
)

// imageMIME maps the accepted extensions to their types.
func imageMIME(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".png":
		return "image/png"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".webp":
		return "image/webp"
	case ".gif":
		return "image/gif"
	}
	return ""
}

// attachment is an image waiting to be sent.
type attachment struct {
	name string
	img  ChatImage
}

// chatPanel is a small chat client that talks to the local gateway over
// HTTP, as an IDE would, to try models and accounts.
type chatPanel struct {
	sh  *shell
	ctx context.Context

	model     *widget.Select
	modelNote *widget.Label // the selected model is refused upstream (chat_images.go)
	system    *widget.Entry
	rawToggle *widget.Check
	newChat   *widget.Button
	attach    *widget.Button
	send      *widget.Button
	stop      *widget.Button
	input     *chatInput
	attachMsg *widget.Label
	chips     *fyne.Container

	conv       *fyne.Container
	convScroll *container.Scroll
	rawList    *widget.List
	rawPane    fyne.CanvasObject
	body       *fyne.Container
	content    fyne.CanvasObject

	history     []ChatMessage
	attachments []attachment
	raw         []string
	hint        *widget.Label // shown while the conversation is empty
	cur         *replyStream  // the reply being streamed, nil when idle
	gen         int           // bumped by New chat; replies of older ones don't touch history
}

func newChatPanel(sh *shell, ctx context.Context) *chatPanel {
	p := &chatPanel{sh: sh, ctx: ctx}

	p.model = widget.NewSelect(nil, func(string) { p.checkModel() })
	p.modelNote = note("")
	p.modelNote.Importance = widget.WarningImportance
	p.modelNote.Hide()
	p.reloadModels()
	p.system = widget.NewMultiLineEntry()
	p.system.SetPlaceHolder("Optional system prompt")
	p.system.SetMinRowsVisible(2)
	p.system.Wrapping = fyne.TextWrapWord
	sysAcc := widget.NewAccordion(widget.NewAccordionItem("System prompt", p.system))

	p.rawToggle = widget.NewCheck("Show raw SSE", func(bool) { p.layoutBody() })
	p.newChat = widget.NewButtonWithIcon("New chat", theme.ContentClearIcon(), p.reset)

	p.conv = container.NewVBox()
	p.hint = &widget.Label{
		Text:      "Messages go to the local gateway over HTTP, exactly as an IDE or chat client sends them: a quick way to try models and accounts.",
		Wrapping:  fyne.TextWrapWord,
		Alignment: fyne.TextAlignCenter,
	}
	p.convScroll = container.NewVScroll(container.NewPadded(container.NewVBox(p.hint, p.conv)))

	p.rawList = widget.NewList(
		func() int { return len(p.raw) },
		func() fyne.CanvasObject {
			return &widget.Label{TextStyle: fyne.TextStyle{Monospace: true}, Truncation: fyne.TextTruncateEllipsis}
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id < len(p.raw) {
				o.(*widget.Label).SetText(p.raw[id])
			}
		},
	)
	copyRaw := widget.NewButtonWithIcon("Copy frames", theme.ContentCopyIcon(), func() {
		p.sh.copyText("raw SSE frames", strings.Join(p.raw, "\n"))
	})
	p.rawPane = container.NewBorder(container.NewBorder(nil, nil, widget.NewLabel("Raw SSE frames"), copyRaw), nil, nil, nil, p.rawList)
	p.body = container.NewStack()
	p.layoutBody()

	p.input = newChatInput(p.onSend)
	p.input.SetPlaceHolder("Message (Ctrl+Enter to send)")
	p.input.SetMinRowsVisible(3)
	p.attach = widget.NewButtonWithIcon("Attach image", theme.FileImageIcon(), p.pickImage)
	p.send = widget.NewButtonWithIcon("Send", theme.MailSendIcon(), p.onSend)
	p.send.Importance = widget.HighImportance
	p.stop = widget.NewButtonWithIcon("Stop", theme.MediaStopIcon(), p.onStop)
	p.stop.Importance = widget.DangerImportance
	p.stop.Hide()
	p.attachMsg = errorLabel()
	p.chips = container.NewHBox()

	top := container.NewVBox(
		container.NewBorder(nil, nil, heading("Chat"),
			container.NewHBox(p.rawToggle, p.newChat),
			container.NewBorder(nil, nil, widget.NewLabel("Model"), nil, p.model)),
		p.modelNote,
		sysAcc,
	)
	bottom := container.NewVBox(
		container.NewBorder(nil, nil, nil, nil, p.chips),
		p.attachMsg,
		container.NewBorder(nil, nil, nil, container.NewVBox(p.send, p.stop, p.attach), p.input),
	)
	p.content = container.NewPadded(container.NewBorder(top, bottom, nil, nil, p.body))
	return p
}

func (p *chatPanel) object() fyne.CanvasObject { return p.content }

// reloadModels fills the model picker, keeping the choice if still served.
func (p *chatPanel) reloadModels() {
	models := p.sh.c.Models()
	sel := p.model.Selected
	p.model.SetOptions(models)
	switch {
	case sel != "" && contains(models, sel):
		p.model.SetSelected(sel)
	case len(models) > 0:
		p.model.SetSelected(snippetModel(models))
	}
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

// layoutBody shows the conversation, with the raw frames under it when
// asked for.
func (p *chatPanel) layoutBody() {
	var o fyne.CanvasObject = p.convScroll
	if p.rawToggle.Checked {
		split := container.NewVSplit(p.convScroll, p.rawPane)
		split.Offset = 0.65
		o = split
		p.rawList.Refresh()
	}
	p.body.Objects = []fyne.CanvasObject{o}
	p.body.Refresh()
}

// appendRaw adds frames to the raw view, dropping the oldest beyond
// maxRawFrames.
func (p *chatPanel) appendRaw(frames []string) {
	if len(frames) == 0 {
		return
	}
	p.raw = append(p.raw, frames...)
	if over := len(p.raw) - maxRawFrames; over > 0 {
		p.raw = append([]string(nil), p.raw[over:]...)
	}
	if p.rawToggle.Checked {
		p.rawList.Refresh()
		p.rawList.ScrollToBottom()
	}
}

// reset starts a new conversation, stopping a reply in progress.
func (p *chatPanel) reset() {
	if p.cur != nil {
		p.cur.stopped = true
		p.cur.cancel()
		p.cur = nil
		p.send.Enable()
		p.stop.Enable()
		p.stop.Hide()
	}
	p.gen++
	p.history = nil
	p.conv.RemoveAll()
	p.hint.Show()
	p.raw = nil
	p.rawList.Refresh()
	p.clearAttachments()
}

// close stops a reply in progress and its redraw ticker.
func (p *chatPanel) close() {
	if p.cur != nil {
		p.cur.stopTick()
		p.cur.cancel()
	}
}

func (p *chatPanel) onSend() {
	if p.cur != nil {
		return
	}
	text := strings.TrimSpace(p.input.Text)
	if text == "" && len(p.attachments) == 0 {
		return
	}
	model := p.model.Selected
	if model == "" {
		p.reloadModels()
		model = p.model.Selected
	}
	msg := ChatMessage{Role: "user", Text: text}
	var names []string
	for _, a := range p.attachments {
		msg.Images = append(msg.Images, a.img)
		names = append(names, a.name)
	}
	p.history = append(p.history, msg)
	p.hint.Hide()
	p.conv.Add(userCard(text, names))
	p.input.SetText("")
	p.clearAttachments()

	card := newReplyCard(model)
	p.conv.Add(card.box)
	p.convScroll.ScrollToBottom()

	req := ChatRequest{Model: model, System: strings.TrimSpace(p.system.Text), Messages: append([]ChatMessage(nil), p.history...)}
	ctx, cancel := context.WithCancel(p.ctx)
	s := &replyStream{card: card, cancel: cancel, gen: p.gen}
	p.cur = s
	p.send.Disable()
	p.stop.Show()
	s.stopTick = p.sh.env.every(flushEvery, func() { p.flush(s) })
	c := p.sh.c
	p.sh.env.async(func() {
		err := c.Chat(ctx, req, s.on)
		p.sh.env.dispatch(func() { p.finish(s, err) })
	})
}

func (p *chatPanel) onStop() {
	if p.cur != nil {
		p.cur.stopped = true
		p.cur.cancel()
		p.stop.Disable()
	}
}

// flush moves what arrived since the last flush into the reply card.
func (p *chatPanel) flush(s *replyStream) {
	content, reasoning, raw := s.take()
	if content != s.shownContent {
		s.shownContent = content
		s.card.content.SetText(strings.TrimSpace(content))
		s.card.content.Show()
		s.card.waiting.Hide()
		p.convScroll.ScrollToBottom()
	}
	if reasoning != s.shownReasoning {
		s.shownReasoning = reasoning
		s.card.reasoning.SetText(reasoning)
		s.card.reasoningAcc.Show()
		s.card.waiting.Hide()
	}
	if s.gen == p.gen { // frames of a cleared conversation are dropped
		p.appendRaw(raw)
	}
}

// finish ends a reply: last flush, footer, error, and the history entry.
func (p *chatPanel) finish(s *replyStream, err error) {
	s.stopTick()
	p.flush(s)
	s.cancel()
	if p.cur == s {
		p.cur = nil
		p.send.Enable()
		p.stop.Enable()
		p.stop.Hide()
	}

	stats, gotStats, evErr := s.result()
	if err == nil {
		err = evErr
	}
	card := s.card
	card.waiting.Hide()
	p.checkModel()
	switch {
	case s.stopped || errors.Is(err, context.Canceled):
		card.footer.SetText(joinFooter("stopped", stats, gotStats))
	case err != nil:
		setError(card.err, err.Error())
		if gotStats {
			card.footer.SetText(footerText(stats))
		}
	default:
		card.footer.SetText(footerText(stats))
	}
	card.footer.Show()

	if s.gen != p.gen {
		return // the conversation was cleared meanwhile
	}
	// Keep user/assistant turns paired for the next request: a turn that
	// produced no answer leaves the history as it was before it.
	if s.shownContent != "" {
		p.showGeneratedImages(card, s.shownContent)
		p.history = append(p.history, ChatMessage{Role: "assistant", Text: s.shownContent})
	} else if n := len(p.history); n > 0 && p.history[n-1].Role == "user" {
		p.history = p.history[:n-1]
	}
}

// footerText describes a finished reply.
func footerText(st ChatStats) string {
	parts := []string{"TTFT " + ms(st.TTFT), fmt.Sprintf("%.1f tok/s", st.TokensPerSec)}
	if st.Tokens > 0 {
		parts = append(parts, fmt.Sprintf("%d tokens", st.Tokens))
	}
	if st.Account != "" {
		parts = append(parts, "account "+st.Account)
	}
	if st.Model != "" {
		parts = append(parts, "model "+st.Model)
	}
	return strings.Join(parts, " · ")
}

func joinFooter(prefix string, st ChatStats, ok bool) string {
	if !ok {
		return prefix
	}
	return prefix + " · " + footerText(st)
}

// replyStream collects one reply's events. on runs on the controller's
// goroutine and only touches the mutex-guarded buffers; the UI side takes
// from them on each flush.
type replyStream struct {
	mu        sync.Mutex
	content   strings.Builder
	reasoning strings.Builder
	raw       []string
	stats     ChatStats
	gotStats  bool
	err       error

	// UI goroutine only.
	card                         *replyCard
	cancel                       context.CancelFunc
	stopTick                     func()
	stopped                      bool
	gen                          int
	shownContent, shownReasoning string
}

func (s *replyStream) on(ev ChatEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch ev.Kind {
	case ChatContent:
		s.content.WriteString(ev.Text)
	case ChatReasoning:
		s.reasoning.WriteString(ev.Text)
	case ChatRaw:
		if len(s.raw) < maxRawFrames {
			s.raw = append(s.raw, ev.Text)
		}
	case ChatDone:
		s.stats, s.gotStats = ev.Stats, true
	case ChatError:
		s.err = ev.Err
		if ev.Stats != (ChatStats{}) {
			s.stats, s.gotStats = ev.Stats, true
		}
	}
}

// take returns the text so far and the raw frames not yet taken.
func (s *replyStream) take() (content, reasoning string, raw []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	raw, s.raw = s.raw, nil
	return s.content.String(), s.reasoning.String(), raw
}

func (s *replyStream) result() (ChatStats, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats, s.gotStats, s.err
}

// replyCard is the assistant's message in the conversation.
type replyCard struct {
	box          fyne.CanvasObject
	waiting      *widget.Label
	content      *widget.Label
	reasoning    *widget.Label
	reasoningAcc *widget.Accordion
	footer       *widget.Label
	err          *widget.Label
	// images holds thumbnails of generated images (chat_images.go).
	images *fyne.Container
}

func newReplyCard(model string) *replyCard {
	c := &replyCard{
		waiting:   note("waiting for the first token…"),
		content:   &widget.Label{Wrapping: fyne.TextWrapWord, Selectable: true},
		reasoning: &widget.Label{Wrapping: fyne.TextWrapWord, Selectable: true, Importance: widget.LowImportance},
		footer:    note(""),
		err:       errorLabel(),
	}
	c.content.Hide()
	c.footer.Hide()
	// Reasoning is folded: it can be long and is rarely what one reads first.
	c.reasoningAcc = widget.NewAccordion(widget.NewAccordionItem("Reasoning", c.reasoning))
	c.reasoningAcc.Hide()
	who := &widget.Label{Text: "Assistant · " + model, TextStyle: fyne.TextStyle{Bold: true}}
	c.images = container.NewGridWrap(fyne.NewSize(thumbSize, thumbSize+40))
	c.images.Hide()
	c.box = widget.NewCard("", "", container.NewVBox(who, c.reasoningAcc, c.waiting, c.content, c.images, c.err, c.footer))
	return c
}

// userCard is the user's message in the conversation.
func userCard(text string, images []string) fyne.CanvasObject {
	who := &widget.Label{Text: "You", TextStyle: fyne.TextStyle{Bold: true}}
	box := container.NewVBox(who)
	if text != "" {
		box.Add(&widget.Label{Text: text, Wrapping: fyne.TextWrapWord, Selectable: true})
	}
	for _, n := range images {
		box.Add(note("image: " + n))
	}
	return widget.NewCard("", "", box)
}

// pickImage opens a file dialog for an image and adds it as a chip.
func (p *chatPanel) pickImage() {
	fd := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			p.sh.showError(err)
			return
		}
		if r == nil {
			return
		}
		name := r.URI().Name()
		p.sh.env.async(func() {
			defer r.Close()
			b, err := io.ReadAll(io.LimitReader(r, maxImage+1))
			p.sh.env.dispatch(func() { p.addAttachment(name, b, err) })
		})
	}, p.sh.win)
	fd.SetFilter(storage.NewExtensionFileFilter([]string{".png", ".jpg", ".jpeg", ".webp", ".gif"}))
	fd.Show()
}

// addAttachment checks and adds a read image.
func (p *chatPanel) addAttachment(name string, data []byte, err error) {
	switch {
	case err != nil:
		setError(p.attachMsg, "Could not read "+name+": "+err.Error())
		return
	case len(data) > maxImage:
		setError(p.attachMsg, name+" is larger than 15 MB; choose a smaller image.")
		return
	case imageMIME(name) == "":
		setError(p.attachMsg, name+" is not a PNG, JPEG, WebP or GIF image.")
		return
	}
	setError(p.attachMsg, "")
	a := attachment{name: name, img: ChatImage{MIME: imageMIME(name), Data: data}}
	p.attachments = append(p.attachments, a)
	p.renderChips()
}

func (p *chatPanel) renderChips() {
	p.chips.RemoveAll()
	for i, a := range p.attachments {
		i := i
		remove := widget.NewButtonWithIcon("", theme.CancelIcon(), func() {
			p.attachments = append(p.attachments[:i:i], p.attachments[i+1:]...)
			p.renderChips()
		})
		remove.Importance = widget.LowImportance
		label := widget.NewLabel(fmt.Sprintf("%s (%s)", a.name, humanSize(len(a.img.Data))))
		p.chips.Add(container.NewHBox(widget.NewIcon(theme.FileImageIcon()), label, remove))
	}
}

func (p *chatPanel) clearAttachments() {
	p.attachments = nil
	p.renderChips()
	setError(p.attachMsg, "")
}

// humanSize formats a byte count.
func humanSize(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// chatInput is a multi-line entry where Ctrl+Enter (Cmd+Enter on macOS)
// sends instead of adding a line.
type chatInput struct {
	widget.Entry
	onSubmit func()
}

func newChatInput(submit func()) *chatInput {
	e := &chatInput{onSubmit: submit}
	e.MultiLine = true
	e.Wrapping = fyne.TextWrapWord
	e.ExtendBaseWidget(e)
	return e
}

// TypedShortcut sends on Ctrl/Cmd+Enter and leaves every other shortcut to
// the entry.
func (e *chatInput) TypedShortcut(s fyne.Shortcut) {
	if cs, ok := s.(*desktop.CustomShortcut); ok &&
		(cs.KeyName == fyne.KeyReturn || cs.KeyName == fyne.KeyEnter) &&
		(cs.Modifier == fyne.KeyModifierControl || cs.Modifier == fyne.KeyModifierSuper) {
		e.onSubmit()
		return
	}
	e.Entry.TypedShortcut(s)
}
