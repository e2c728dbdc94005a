package ui

import (
	"fmt"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// maxLogRows bounds the request log kept in the window.
const maxLogRows = 1000

// Log table columns.
const (
	lTime = iota
	lID
	lModel
	lAccount
	lStatus
	lLatency
	lTTFT
	lTokens
	lError
	lCols
)

func logHeaders() []string {
	return []string{"Time", "Request", "Model", "Account", "Status", "Latency", "TTFT", "Tokens", "Error"}
}

// logsPanel is the live request log. RequestRow holds no prompt, answer or
// secret, and this panel shows nothing else.
type logsPanel struct {
	sh      *shell
	rows    []RequestRow // oldest first, at most maxLogRows
	view    []RequestRow // filtered, newest first
	filter  *widget.Entry
	count   *widget.Label
	table   *widget.Table
	content fyne.CanvasObject
}

func newLogsPanel(sh *shell) *logsPanel {
	p := &logsPanel{sh: sh}
	p.filter = widget.NewEntry()
	p.filter.SetPlaceHolder("Filter: model, account, status, request id or error")
	p.filter.ActionItem = widget.NewButtonWithIcon("", theme.ContentClearIcon(), func() { p.filter.SetText("") })
	p.filter.OnChanged = func(string) { p.applyFilter() }
	p.count = &widget.Label{SizeName: theme.SizeNameCaptionText}

	p.table = widget.NewTable(
		func() (int, int) { return len(p.view), lCols },
		func() fyne.CanvasObject { return &widget.Label{Truncation: fyne.TextTruncateEllipsis} },
		func(id widget.TableCellID, o fyne.CanvasObject) {
			l := o.(*widget.Label)
			if id.Row >= len(p.view) {
				return
			}
			l.Text = p.cell(id.Row, id.Col)
			l.Importance = widget.MediumImportance
			if id.Col == lStatus || id.Col == lError {
				l.Importance = statusImportance(p.view[id.Row].Status)
			}
			l.TextStyle = fyne.TextStyle{Monospace: id.Col == lID}
			l.Refresh()
		},
	)
	p.table.ShowHeaderRow = true
	p.table.CreateHeader = func() fyne.CanvasObject { return &widget.Label{TextStyle: fyne.TextStyle{Bold: true}} }
	p.table.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		if id.Col >= 0 {
			o.(*widget.Label).SetText(logHeaders()[id.Col])
		}
	}
	for col, w := range []float32{90, 120, 150, 110, 65, 80, 80, 65, 300} {
		p.table.SetColumnWidth(col, w)
	}

	rows := sh.c.RecentRequests()
	if len(rows) > maxLogRows {
		rows = rows[len(rows)-maxLogRows:]
	}
	p.rows = append([]RequestRow(nil), rows...)
	p.applyFilter()

	top := container.NewVBox(
		container.NewBorder(nil, nil, heading("Request log"), p.count),
		p.filter,
	)
	p.content = container.NewPadded(container.NewBorder(top, nil, nil, nil, p.table))
	return p
}

func (p *logsPanel) object() fyne.CanvasObject { return p.content }

// add appends a finished request, dropping the oldest beyond maxLogRows.
// The view is updated in place rather than re-filtered: requests can
// arrive many times a second.
func (p *logsPanel) add(r RequestRow) {
	q := strings.ToLower(strings.TrimSpace(p.filter.Text))
	p.rows = append(p.rows, r)
	if over := len(p.rows) - maxLogRows; over > 0 {
		for _, old := range p.rows[:over] {
			// The oldest rows are at the end of the newest-first view.
			if n := len(p.view); n > 0 && rowMatches(old, q) {
				p.view = p.view[:n-1]
			}
		}
		p.rows = append([]RequestRow(nil), p.rows[over:]...)
	}
	if rowMatches(r, q) {
		p.view = append(p.view, RequestRow{})
		copy(p.view[1:], p.view)
		p.view[0] = r
	}
	p.showCount(q)
	p.table.Refresh()
}

// applyFilter rebuilds the view: matching rows, newest first.
func (p *logsPanel) applyFilter() {
	q := strings.ToLower(strings.TrimSpace(p.filter.Text))
	p.view = p.view[:0]
	for i := len(p.rows) - 1; i >= 0; i-- {
		if rowMatches(p.rows[i], q) {
			p.view = append(p.view, p.rows[i])
		}
	}
	p.showCount(q)
	p.table.Refresh()
}

func (p *logsPanel) showCount(q string) {
	if q == "" {
		p.count.SetText(fmt.Sprintf("%d requests", len(p.rows)))
	} else {
		p.count.SetText(fmt.Sprintf("%d of %d requests", len(p.view), len(p.rows)))
	}
}

// rowMatches reports whether r matches the lower-cased query q: every
// space-separated word must appear in the model, account, status, id or
// error.
func rowMatches(r RequestRow, q string) bool {
	if q == "" {
		return true
	}
	hay := strings.ToLower(strings.Join([]string{r.Model, r.Account, strconv.Itoa(r.Status), r.ID, r.Error, r.Path}, " "))
	for _, w := range strings.Fields(q) {
		if !strings.Contains(hay, w) {
			return false
		}
	}
	return true
}

// cell is the text of a data cell.
func (p *logsPanel) cell(row, col int) string {
	r := p.view[row]
	switch col {
	case lTime:
		return r.Time.Local().Format("15:04:05")
	case lID:
		return r.ID
	case lModel:
		return r.Model
	case lAccount:
		return r.Account
	case lStatus:
		if r.Status == 0 {
			return "–"
		}
		return strconv.Itoa(r.Status)
	case lLatency:
		return ms(r.Latency)
	case lTTFT:
		if !r.Stream {
			return "–"
		}
		return ms(r.TTFT)
	case lTokens:
		if r.Tokens == 0 {
			return "–"
		}
		return strconv.Itoa(r.Tokens)
	case lError:
		if r.Attempts > 1 && r.Error == "" {
			return fmt.Sprintf("(after %d attempts)", r.Attempts)
		}
		if r.Attempts > 1 {
			return fmt.Sprintf("%s (after %d attempts)", r.Error, r.Attempts)
		}
		return r.Error
	}
	return ""
}

// statusImportance colours a status: 4xx amber, 5xx red, others normal.
func statusImportance(code int) widget.Importance {
	switch {
	case code >= 500:
		return widget.DangerImportance
	case code >= 400:
		return widget.WarningImportance
	}
	return widget.MediumImportance
}
