package ui

import (
	"context"
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Health table columns.
const (
	hName = iota
	hState
	hLastCheck
	hResult
	hLatency
	hReason
	hCooldown
	hQuota
	hAction
	hCols
)

func healthHeaders() []string {
	return []string{"Account", "State", "Last check", "Result", "Latency", "Reason", "Cooldown", "Today (text · image · video)", ""}
}

// healthPanel shows each account's health, checks one or all, and counts
// cooldowns down.
type healthPanel struct {
	sh  *shell
	ctx context.Context

	accounts []Account
	checking map[int64]bool
	running  bool // Check all is under way

	checkAll *widget.Button
	progress *widget.ProgressBar
	progRow  *fyne.Container // the bar and its "2 of 5", shown during Check all
	progText *widget.Label
	summary  *widget.Label
	table    *widget.Table
	widths   []float32 // the columns' widths, set by fitColumns
	content  fyne.CanvasObject

	// stopTick stops the one-second cooldown ticker; nil when it is not
	// running (nothing is cooling).
	stopTick func()
}

func newHealthPanel(sh *shell, ctx context.Context) *healthPanel {
	p := &healthPanel{sh: sh, ctx: ctx, checking: map[int64]bool{}}
	p.checkAll = widget.NewButtonWithIcon("Check all now", theme.ViewRefreshIcon(), p.runCheckAll)
	p.checkAll.Importance = widget.HighImportance
	p.progress = widget.NewProgressBar()
	p.progText = &widget.Label{SizeName: theme.SizeNameCaptionText}
	p.summary = widget.NewLabel("")
	p.summary.Wrapping = fyne.TextWrapWord
	p.summary.Hide()

	p.table = widget.NewTable(
		func() (int, int) { return len(p.accounts), hCols },
		func() fyne.CanvasObject {
			l := &widget.Label{Truncation: fyne.TextTruncateEllipsis}
			b := widget.NewButtonWithIcon("Check", theme.ViewRefreshIcon(), nil)
			b.Hide()
			return container.NewStack(l, b)
		},
		p.updateCell,
	)
	p.table.ShowHeaderRow = true
	p.table.CreateHeader = func() fyne.CanvasObject { return &widget.Label{TextStyle: fyne.TextStyle{Bold: true}} }
	p.table.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		if id.Col >= 0 {
			o.(*widget.Label).SetText(healthHeaders()[id.Col])
		}
	}
	p.widths = make([]float32, hCols)

	p.progRow = container.NewBorder(nil, nil, nil, p.progText, p.progress)
	p.progRow.Hide()
	top := container.NewVBox(
		container.NewBorder(nil, nil, heading("Health"), p.checkAll),
		p.progRow,
		p.summary,
	)
	p.content = container.NewPadded(container.NewBorder(top, nil, nil, nil, p.table))
	p.reload()
	return p
}

func (p *healthPanel) object() fyne.CanvasObject { return p.content }

// reload re-reads the accounts and starts or stops the countdown ticker.
func (p *healthPanel) reload() {
	p.accounts = p.sh.c.Accounts()
	p.redraw()
	p.syncTicker()
}

// redraw refits the columns to the cells' texts, which change with the
// clock ("refreshed 3 min ago", countdowns), and redraws the table.
func (p *healthPanel) redraw() {
	p.fitColumns()
	p.table.Refresh()
}

// Each column's narrowest and widest width; a wider text is cut with an
// ellipsis (the table scrolls sideways past the window's edge).
var (
	healthMinWidths = [hCols]float32{100, 90, 90, 60, 70, 80, 80, 120, 92}
	healthMaxWidths = [hCols]float32{200, 420, 120, 220, 90, 300, 90, 240, 92}
)

// cellSlack is added to a cell's measured width: a truncating label cuts
// its text a few pixels before the width the whole string measures, so a
// column exactly that wide showed "refreshed just n…".
const cellSlack = 12

// fitColumns sizes each column to its widest text, the header's included,
// within healthMinWidths and healthMaxWidths, so that "healthy · expires
// in 9 h · refreshed 12 min ago" is read whole rather than as "healthy ·
// ex…".
func (p *healthPanel) fitColumns() {
	headers := healthHeaders()
	size, pad := theme.TextSize(), 2*theme.InnerPadding()
	for col := range hCols {
		w := fyne.MeasureText(headers[col], size, fyne.TextStyle{Bold: true}).Width + pad
		if col != hAction {
			for row := range p.accounts {
				w = max(w, fyne.MeasureText(p.cell(row, col), size, fyne.TextStyle{}).Width+pad+cellSlack)
			}
		}
		w = min(max(w, healthMinWidths[col]), healthMaxWidths[col])
		if w != p.widths[col] {
			p.widths[col] = w
			p.table.SetColumnWidth(col, w)
		}
	}
}

// syncTicker runs the one-second ticker only while some account cools.
func (p *healthPanel) syncTicker() {
	now := p.sh.env.now()
	cool := false
	for _, a := range p.accounts {
		if cooling(a, now) {
			cool = true
			break
		}
	}
	switch {
	case cool && p.stopTick == nil:
		p.stopTick = p.sh.env.every(time.Second, p.tick)
	case !cool && p.stopTick != nil:
		p.stopTick()
		p.stopTick = nil
	}
}

// tick redraws the countdowns, and stops itself once the last ends.
func (p *healthPanel) tick() {
	p.redraw()
	p.syncTicker()
}

// close stops the ticker.
func (p *healthPanel) close() {
	if p.stopTick != nil {
		p.stopTick()
		p.stopTick = nil
	}
}

func (p *healthPanel) updateCell(id widget.TableCellID, o fyne.CanvasObject) {
	st := o.(*fyne.Container)
	l := st.Objects[0].(*widget.Label)
	b := st.Objects[1].(*widget.Button)
	if id.Row >= len(p.accounts) {
		return
	}
	a := p.accounts[id.Row]
	if id.Col == hAction {
		l.Hide()
		b.Show()
		b.OnTapped = func() { p.checkOne(a) }
		if p.checking[a.ID] {
			b.Disable()
		} else {
			b.Enable()
		}
		if p.checking[a.ID] {
			b.SetText("Checking…")
		} else {
			b.SetText("Check")
		}
		return
	}
	b.Hide()
	l.Show()
	l.SetText(p.cell(id.Row, id.Col))
	switch {
	case id.Col == hState:
		l.Importance = importanceOf(accountKind(a))
	case id.Col == hResult && !a.LastCheck.IsZero() && !a.LastCheckOK:
		l.Importance = widget.DangerImportance
	case id.Col == hCooldown:
		l.Importance = widget.WarningImportance
	default:
		l.Importance = widget.MediumImportance
	}
	l.Refresh()
}

// cell is the text of a data cell; kept apart from widgets so it is easy to
// test.
func (p *healthPanel) cell(row, col int) string {
	a := p.accounts[row]
	now := p.sh.env.now()
	switch col {
	case hName:
		return a.Name
	case hState:
		if life := lifeLabel(a, now); life != "" && !a.NeedsSignIn() {
			return stateLabel(a) + " · " + life
		}
		return stateLabel(a)
	case hLastCheck:
		return ago(now, a.LastCheck)
	case hResult:
		switch {
		case p.checking[a.ID]:
			return "checking…"
		case a.LastCheck.IsZero():
			return "–"
		case a.LastCheckOK:
			return "OK"
		case a.LastMessage != "":
			return "failed: " + a.LastMessage
		default:
			return "failed"
		}
	case hLatency:
		if a.LastCheck.IsZero() {
			return "–"
		}
		return ms(a.LastLatency)
	case hReason:
		return a.Reason
	case hCooldown:
		if cooling(a, now) {
			return countdown(a.CooldownUntil.Sub(now))
		}
		return ""
	case hQuota:
		return quotaSummary(a.Quotas, now)
	}
	return ""
}

func importanceOf(k stateKind) widget.Importance {
	switch k {
	case kindGood:
		return widget.SuccessImportance
	case kindWarn:
		return widget.WarningImportance
	case kindBad:
		return widget.DangerImportance
	case kindOff:
		return widget.LowImportance
	}
	return widget.MediumImportance
}

func (p *healthPanel) checkOne(a Account) {
	p.checking[a.ID] = true
	p.redraw()
	ctx := p.ctx
	p.sh.env.async(func() {
		res := p.sh.c.CheckAccount(ctx, a.ID)
		p.sh.env.dispatch(func() {
			delete(p.checking, a.ID)
			p.setSummary(a.Name + ": " + checkText(res))
			p.reload()
		})
	})
}

// runCheckAll checks every enabled account with a progress bar; the
// controller reports progress from its own goroutine, so each report is
// dispatched.
func (p *healthPanel) runCheckAll() {
	if p.running {
		return
	}
	p.running = true
	p.checkAll.Disable()
	p.progress.SetValue(0)
	p.progRow.Show()
	p.progText.SetText("starting…")
	p.setSummary("")
	ctx := p.ctx
	p.sh.env.async(func() {
		sum := p.sh.c.CheckAll(ctx, func(done, total int) {
			p.sh.env.dispatch(func() { p.progressed(done, total) })
		})
		p.sh.env.dispatch(func() { p.finished(sum) })
	})
}

func (p *healthPanel) progressed(done, total int) {
	if !p.running {
		return // a late report after the summary
	}
	if total > 0 {
		p.progress.SetValue(float64(done) / float64(total))
	}
	p.progText.SetText(fmt.Sprintf("%d of %d", done, total))
}

// roundDone shows a health round that finished outside this panel (the
// periodic checker, the tray's "Check health now").
func (p *healthPanel) roundDone(s HealthSummary) {
	if p.running {
		return // our own round: finished shows it
	}
	p.setSummary("Last round: " + summaryText(s))
}

func (p *healthPanel) finished(s HealthSummary) {
	p.running = false
	p.checkAll.Enable()
	p.progress.SetValue(1)
	p.progRow.Hide()
	p.progText.SetText("")
	p.setSummary(summaryText(s))
	p.reload()
}

// setSummary shows a one-line result under the header, or hides the line.
func (p *healthPanel) setSummary(s string) {
	p.summary.SetText(s)
	if s == "" {
		p.summary.Hide()
	} else {
		p.summary.Show()
	}
}

// summaryText describes a round of checks in one line.
func summaryText(s HealthSummary) string {
	if s.Checked == 0 {
		return "No enabled account to check."
	}
	txt := fmt.Sprintf("Checked %d: %d healthy, %d failed", s.Checked, s.Healthy, s.Failed)
	if s.Disabled > 0 {
		txt += fmt.Sprintf(", %d disabled", s.Disabled)
	}
	if s.Took > 0 {
		txt += fmt.Sprintf(" (took %.1f s)", s.Took.Seconds())
	}
	return txt + "."
}
