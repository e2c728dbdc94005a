package ui

import (
	"context"
	"os"
	"regexp"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// thumbSize is the side of a generated image's thumbnail in a reply.
const thumbSize = 180

// generatedImage matches the Markdown images the gateway puts into an
// answer for generated files: ![…](<base>/files/<32 hex>.<ext>).
var generatedImage = regexp.MustCompile(`!\[[^\]]*\]\([^)\s]*/files/([0-9a-f]{32}\.(?:png|jpg|webp|gif))\)`)

// generatedImageNames lists the generated image files an answer shows.
func generatedImageNames(content string) []string {
	var out []string
	for _, m := range generatedImage.FindAllStringSubmatch(content, -1) {
		out = append(out, m[1])
	}
	return out
}

// showGeneratedImages fetches the answer's generated images and shows
// each as a thumbnail that opens at full size and can be saved.
func (p *chatPanel) showGeneratedImages(card *replyCard, content string) {
	names := generatedImageNames(content)
	if len(names) == 0 {
		return
	}
	// The thumbnails stand for the Markdown images: the reply shows the
	// words around them (the history keeps the whole answer).
	if text := strings.TrimSpace(generatedImage.ReplaceAllString(content, "")); text != "" {
		card.content.SetText(text)
	} else {
		card.content.Hide()
	}
	ctx, gen := p.ctx, p.gen
	for _, name := range names {
		p.sh.env.async(func() {
			fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			data, err := p.sh.c.GeneratedFile(fctx, name)
			cancel()
			p.sh.env.dispatch(func() {
				if p.gen != gen {
					return // the conversation was cleared meanwhile
				}
				if err != nil {
					card.images.Add(note("image " + name + ": " + err.Error()))
				} else {
					card.images.Add(p.thumbnail(name, data))
				}
				card.images.Show()
				card.box.Refresh()
				p.convScroll.ScrollToBottom()
			})
		})
	}
}

// thumbnail is a generated image at thumbnail size with Open and Save.
func (p *chatPanel) thumbnail(name string, data []byte) fyne.CanvasObject {
	res := fyne.NewStaticResource(name, data)
	img := canvas.NewImageFromResource(res)
	img.FillMode = canvas.ImageFillContain
	img.SetMinSize(fyne.NewSize(thumbSize, thumbSize-8))
	open := widget.NewButtonWithIcon("", theme.ZoomInIcon(), func() { p.openImage(res) })
	save := widget.NewButtonWithIcon("", theme.DocumentSaveIcon(), func() { p.saveImage(name, data) })
	return container.NewBorder(nil, container.NewGridWithColumns(2, open, save), nil, nil, img)
}

// openImage shows an image at full size, scrollable.
func (p *chatPanel) openImage(res fyne.Resource) {
	full := canvas.NewImageFromResource(res)
	full.FillMode = canvas.ImageFillOriginal
	sc := container.NewScroll(full)
	sc.SetMinSize(fyne.NewSize(640, 480))
	dialog.NewCustom(res.Name(), "Close", sc, p.sh.win).Show()
}

// saveImage asks where to save an image and writes it there.
func (p *chatPanel) saveImage(name string, data []byte) {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			return
		}
		_, werr := w.Write(data)
		if cerr := w.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			dialog.NewError(werr, p.sh.win).Show()
		}
	}, p.sh.win)
	d.SetFileName(name)
	if home, err := os.UserHomeDir(); err == nil {
		if l, err := storage.ListerForURI(storage.NewFileURI(home)); err == nil {
			d.SetLocation(l)
		}
	}
	d.Show()
}

// checkModel warns when the selected model is one the upstream currently
// refuses (the gateway then refuses it too, or serves a fallback).
func (p *chatPanel) checkModel() {
	if p.modelNote == nil {
		return
	}
	why, down := p.sh.c.UnavailableModels()[p.model.Selected]
	if !down {
		p.modelNote.Hide()
		return
	}
	p.modelNote.SetText("Gemini Business currently refuses " + p.model.Selected + " (" + why + "); it is tried again later.")
	p.modelNote.Show()
}
