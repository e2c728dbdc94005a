package ui

import (
	"fmt"
	"io"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// maxImportFile bounds what "Open file…" reads: exports are small, and a
// wrong file should not fill the memory of the UI.
const maxImportFile = 4 << 20

// importDialog takes a paste (or a file), previews the accounts in it and
// adds them: paste → Preview → Add N accounts → result.
type importDialog struct {
	p *accountsPanel

	text     *widget.Entry
	openFile *widget.Button
	preview  *widget.Button
	add      *widget.Button
	close    *widget.Button
	summary  *widget.Label
	problems *widget.Label
	result   *widget.Label
	table    *widget.Table
	dlg      *dialog.CustomDialog

	items   []ImportItem
	stale   bool // the text changed since the preview
	working bool
}

func newImportDialog(p *accountsPanel) *importDialog {
	d := &importDialog{p: p}
	d.text = widget.NewMultiLineEntry()
	d.text.SetPlaceHolder("Paste a JSON export, a .env block, a cookie header with the address bar URL, or a Copy as cURL command")
	d.text.SetMinRowsVisible(6)
	d.text.Wrapping = fyne.TextWrapBreak
	d.text.OnChanged = func(string) {
		if len(d.items) > 0 {
			d.stale = true
			d.update()
		}
	}
	d.openFile = widget.NewButtonWithIcon("Open file…", theme.FolderOpenIcon(), d.pickFile)
	d.preview = widget.NewButtonWithIcon("Preview", theme.SearchIcon(), d.doPreview)
	d.add = widget.NewButtonWithIcon("Add accounts", theme.ConfirmIcon(), d.doImport)
	d.add.Importance = widget.HighImportance
	d.close = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), func() { d.dlg.Hide() })

	d.summary = widget.NewLabel("")
	d.summary.Wrapping = fyne.TextWrapWord
	d.problems = &widget.Label{Importance: widget.WarningImportance, Wrapping: fyne.TextWrapWord}
	d.problems.Hide()
	d.result = &widget.Label{Importance: widget.SuccessImportance, Wrapping: fyne.TextWrapWord}
	d.result.Hide()

	d.table = widget.NewTable(
		func() (int, int) { return len(d.items), 3 },
		func() fyne.CanvasObject { return &widget.Label{Truncation: fyne.TextTruncateEllipsis} },
		func(id widget.TableCellID, o fyne.CanvasObject) {
			o.(*widget.Label).SetText(d.cell(id.Row, id.Col))
		},
	)
	d.table.ShowHeaderRow = true
	d.table.CreateHeader = func() fyne.CanvasObject { return &widget.Label{TextStyle: fyne.TextStyle{Bold: true}} }
	d.table.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		if id.Col >= 0 {
			o.(*widget.Label).SetText([]string{"Name", "config_id", "Secrets"}[id.Col])
		}
	}
	d.table.SetColumnWidth(0, 160)
	d.table.SetColumnWidth(1, 310)
	d.table.SetColumnWidth(2, 160)

	top := container.NewVBox(
		note("Nothing is added until you confirm. Secrets are not shown; the preview describes them."),
		container.NewBorder(nil, container.NewHBox(d.openFile, d.preview), nil, nil, d.text),
		d.summary, d.problems, d.result,
	)
	content := container.NewBorder(top, nil, nil, nil, d.table)
	d.dlg = dialog.NewCustomWithoutButtons("Import accounts", minWidth(content, 660), p.sh.win)
	d.dlg.SetButtons([]fyne.CanvasObject{d.close, d.add})
	d.update()
	return d
}

func (d *importDialog) show() {
	d.dlg.Show()
	s := d.p.sh.win.Canvas().Size()
	d.dlg.Resize(fyne.NewSize(min(720, s.Width-40), min(640, s.Height-40)))
}

// cell is the preview table's text at row, col.
func (d *importDialog) cell(row, col int) string {
	if row >= len(d.items) {
		return ""
	}
	it := d.items[row]
	switch col {
	case 0:
		return or(it.Input.Name, "(unnamed)")
	case 1:
		return it.Input.ConfigID
	default:
		return it.Hint
	}
}

// update sets the buttons for the current state.
func (d *importDialog) update() {
	n := len(d.items)
	switch {
	case n == 1:
		d.add.SetText("Add 1 account")
	default:
		d.add.SetText(fmt.Sprintf("Add %d accounts", n))
	}
	if n == 0 || d.stale || d.working {
		d.add.Disable()
	} else {
		d.add.Enable()
	}
	if d.working {
		d.preview.Disable()
	} else {
		d.preview.Enable()
	}
	if d.stale {
		d.summary.SetText("The text changed: press Preview again.")
	}
}

func (d *importDialog) doPreview() {
	text := d.text.Text
	if strings.TrimSpace(text) == "" {
		d.summary.SetText("Paste something first, or open a file.")
		return
	}
	d.working = true
	d.update()
	p := d.p
	p.sh.env.async(func() {
		pv := p.sh.c.ParseImport(text)
		p.sh.env.dispatch(func() { d.previewed(pv) })
	})
}

func (d *importDialog) previewed(pv ImportPreview) {
	d.working, d.stale = false, false
	d.items = pv.Items
	d.result.Hide()
	format := ""
	if pv.Format != "" && pv.Format != "unknown" {
		format = " (" + pv.Format + ")"
	}
	switch len(pv.Items) {
	case 0:
		d.summary.SetText("No account found in this text" + format + ".")
	case 1:
		d.summary.SetText("1 account found" + format + ":")
	default:
		d.summary.SetText(fmt.Sprintf("%d accounts found%s:", len(pv.Items), format))
	}
	d.setProblems(pv.Problems)
	d.table.Refresh()
	d.update()
}

func (d *importDialog) setProblems(ps []string) {
	if len(ps) == 0 {
		d.problems.Hide()
		return
	}
	d.problems.SetText("Problems:\n• " + strings.Join(ps, "\n• "))
	d.problems.Show()
}

func (d *importDialog) doImport() {
	if len(d.items) == 0 || d.stale {
		return
	}
	inputs := make([]AccountInput, len(d.items))
	for i, it := range d.items {
		inputs[i] = it.Input
	}
	d.working = true
	d.update()
	p := d.p
	p.sh.env.async(func() {
		res := p.sh.c.Import(inputs)
		p.sh.env.dispatch(func() { d.imported(res) })
	})
}

func (d *importDialog) imported(res ImportResult) {
	d.working = false
	d.items = nil
	d.table.Refresh()
	switch len(res.Added) {
	case 0:
		d.result.SetText("No account was added.")
		d.result.Importance = widget.WarningImportance
	default:
		d.result.SetText(fmt.Sprintf("Added %d: %s", len(res.Added), strings.Join(res.Added, ", ")))
		d.result.Importance = widget.SuccessImportance
	}
	d.result.Show()
	d.result.Refresh()
	d.summary.SetText("")
	d.setProblems(res.Problems)
	d.close.SetText("Close")
	d.close.SetIcon(theme.ConfirmIcon())
	d.update()
	d.p.reload()
	if len(res.Added) > 0 {
		d.p.sh.toast(fmt.Sprintf("Imported %d account(s)", len(res.Added)))
	}
}

// pickFile reads a file into the paste area; reading happens off the UI
// goroutine because the file may sit on a slow disk or network share.
func (d *importDialog) pickFile() {
	fd := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			d.p.sh.showError(err)
			return
		}
		if r == nil {
			return // cancelled
		}
		p := d.p
		p.sh.env.async(func() {
			defer r.Close()
			b, err := io.ReadAll(io.LimitReader(r, maxImportFile+1))
			p.sh.env.dispatch(func() {
				switch {
				case err != nil:
					p.sh.showError(err)
				case len(b) > maxImportFile:
					p.sh.showError(fmt.Errorf("%s is larger than %d MB; is it the right file?", r.URI().Name(), maxImportFile>>20))
				default:
					d.text.SetText(string(b))
					d.doPreview()
				}
			})
		})
	}, d.p.sh.win)
	fd.Show()
}
