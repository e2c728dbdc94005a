package ui

import (
	"fmt"
	"image/color"
	"sort"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Usage groupings for ClientsController.Usage ("" = one row per day).
const (
	UsageByClient  = "client"
	UsageByAccount = "account"
	UsageByModel   = "model"
)

// UsageRow is one day of one client key, account or model (Name), or of
// everything when grouped by "".
type UsageRow struct {
	Day              string // YYYY-MM-DD
	Name             string
	Requests         int64
	Errors           int64
	PromptTokens     int64
	CompletionTokens int64
	ImagesIn         int64
	FilesOut         int64
	TTFTP50, TTFTP95 int64 // milliseconds
}

// usageDays is how far back the Usage panel looks.
const usageDays = 30

// maxSeries is how many names get their own colour; the rest are "other".
const maxSeries = 6

// usagePanel draws requests and tokens per day over the last 30 days,
// stacked by client key, account or model, and the time to first token.
type usagePanel struct {
	sh *shell
	cc ClientsController

	group    *widget.RadioGroup
	requests *stackedBars
	tokens   *stackedBars
	latency  *lineChart
	legend   *fyne.Container
	summary  *widget.Label
	err      *widget.Label
	content  fyne.CanvasObject
}

func newUsagePanel(sh *shell, cc ClientsController) *usagePanel {
	p := &usagePanel{sh: sh, cc: cc}
	p.requests = newStackedBars()
	p.tokens = newStackedBars()
	p.latency = newLineChart()
	p.legend = container.NewHBox()
	p.summary = note("")
	p.err = errorLabel()
	p.group = widget.NewRadioGroup([]string{"Clients", "Accounts", "Models"}, func(string) { p.reload() })
	p.group.Horizontal = true
	p.group.SetSelected("Clients")
	refresh := widget.NewButtonWithIcon("", theme.ViewRefreshIcon(), p.reload)
	top := container.NewVBox(
		container.NewBorder(nil, nil, heading("Usage, last 30 days"), container.NewHBox(p.group, refresh)),
		p.legend, p.err,
	)
	charts := container.NewGridWithRows(3,
		titled("Requests per day", p.requests),
		titled("Tokens per day (estimated: prompt + completion)", p.tokens),
		titled("Time to first token per day (p50, p95)", p.latency),
	)
	p.content = container.NewPadded(container.NewBorder(top, p.summary, nil, nil, charts))
	p.reload()
	return p
}

func titled(title string, o fyne.CanvasObject) fyne.CanvasObject {
	return container.NewBorder(&widget.Label{Text: title, TextStyle: fyne.TextStyle{Bold: true}}, nil, nil, nil, o)
}

func (p *usagePanel) object() fyne.CanvasObject { return p.content }

func (p *usagePanel) groupBy() string {
	switch p.group.Selected {
	case "Accounts":
		return UsageByAccount
	case "Models":
		return UsageByModel
	}
	return UsageByClient
}

// reload reads the last 30 days (in the background) and redraws.
func (p *usagePanel) reload() {
	if p.requests == nil {
		return // the radio group fires while the panel is being built
	}
	to := p.sh.env.now()
	from := to.AddDate(0, 0, -(usageDays - 1))
	by := p.groupBy()
	p.sh.env.async(func() {
		rows, err := p.cc.Usage(from, to, by)
		var days []UsageRow
		if err == nil {
			days, err = p.cc.Usage(from, to, "")
		}
		p.sh.env.dispatch(func() {
			if err != nil {
				setError(p.err, "Could not read usage: "+err.Error())
				return
			}
			setError(p.err, "")
			p.show(from, rows, days)
		})
	})
}

// seriesColors are distinguishable in both themes.
var seriesColors = []color.Color{
	color.NRGBA{0x42, 0x85, 0xf4, 0xff}, color.NRGBA{0x34, 0xa8, 0x53, 0xff}, color.NRGBA{0xfb, 0xbc, 0x05, 0xff},
	color.NRGBA{0xea, 0x43, 0x35, 0xff}, color.NRGBA{0xa1, 0x42, 0xf4, 0xff}, color.NRGBA{0x00, 0xac, 0xc1, 0xff},
	color.NRGBA{0x9e, 0x9e, 0x9e, 0xff}, // other
}

func displayName(n string) string {
	if n == "" {
		return "(no key)"
	}
	return n
}

// show turns rows into the charts: one bar per day, one colour per name
// (the busiest maxSeries names; the rest stacked as "other").
func (p *usagePanel) show(from time.Time, rows, days []UsageRow) {
	labels := make([]string, usageDays)
	index := map[string]int{}
	for i := range labels {
		d := from.AddDate(0, 0, i).Format(time.DateOnly)
		labels[i] = d
		index[d] = i
	}
	totals := map[string]int64{}
	for _, r := range rows {
		totals[r.Name] += r.Requests
	}
	names := make([]string, 0, len(totals))
	for n := range totals {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if totals[names[i]] != totals[names[j]] {
			return totals[names[i]] > totals[names[j]]
		}
		return names[i] < names[j]
	})
	slot := map[string]int{}
	var series []string
	for i, n := range names {
		if i < maxSeries {
			slot[n] = i
			series = append(series, displayName(n))
		} else {
			slot[n] = maxSeries
		}
	}
	if len(names) > maxSeries {
		series = append(series, "other")
	}
	reqs := make([][]float64, len(series))
	toks := make([][]float64, len(series))
	for i := range series {
		reqs[i] = make([]float64, usageDays)
		toks[i] = make([]float64, usageDays)
	}
	var sumReq, sumErr, sumTok int64
	for _, r := range rows {
		d, ok := index[r.Day]
		if !ok {
			continue
		}
		s := slot[r.Name]
		reqs[s][d] += float64(r.Requests)
		toks[s][d] += float64(r.PromptTokens + r.CompletionTokens)
		sumReq += r.Requests
		sumErr += r.Errors
		sumTok += r.PromptTokens + r.CompletionTokens
	}
	colors := make([]color.Color, len(series))
	p.legend.Objects = nil
	for i, n := range series {
		c := seriesColors[min(i, len(seriesColors)-1)]
		if n == "other" {
			c = seriesColors[len(seriesColors)-1]
		}
		colors[i] = c
		sw := canvas.NewRectangle(c)
		sw.SetMinSize(fyne.NewSize(12, 12))
		p.legend.Add(container.NewHBox(container.NewCenter(sw), widget.NewLabel(n)))
	}
	p.legend.Refresh()
	p.requests.set(labels, series, colors, reqs)
	p.tokens.set(labels, series, colors, toks)
	p50 := make([]float64, usageDays)
	p95 := make([]float64, usageDays)
	for _, r := range days {
		if d, ok := index[r.Day]; ok {
			p50[d], p95[d] = float64(r.TTFTP50), float64(r.TTFTP95)
		}
	}
	p.latency.set(labels, []string{"p50", "p95"}, []color.Color{seriesColors[0], seriesColors[3]}, [][]float64{p50, p95}, "ms")
	p.summary.SetText(fmt.Sprintf("%d requests, %d errors, %d tokens (estimated) in the last %d days", sumReq, sumErr, sumTok, usageDays))
}

// stackedBars is a bar chart drawn with canvas rectangles: one bar per
// label, segments stacked in series order.
type stackedBars struct {
	widget.BaseWidget
	labels []string
	series []string
	colors []color.Color
	values [][]float64 // [series][label]
}

func newStackedBars() *stackedBars {
	b := &stackedBars{}
	b.ExtendBaseWidget(b)
	return b
}

func (b *stackedBars) set(labels, series []string, colors []color.Color, values [][]float64) {
	b.labels, b.series, b.colors, b.values = labels, series, colors, values
	b.Refresh()
}

// total is the height of the bar at label i.
func (b *stackedBars) total(i int) float64 {
	var t float64
	for s := range b.values {
		t += b.values[s][i]
	}
	return t
}

func (b *stackedBars) CreateRenderer() fyne.WidgetRenderer {
	return &chartRenderer{draw: b.draw}
}

// draw lays the chart out in size.
func (b *stackedBars) draw(size fyne.Size) []fyne.CanvasObject {
	objs, plot := axes(size, b.labels, b.maxTotal(), "")
	if len(b.labels) == 0 {
		return objs
	}
	maxV := niceMax(b.maxTotal())
	slotW := plot.Size.Width / float32(len(b.labels))
	barW := max(1, slotW*0.7)
	for i := range b.labels {
		y := plot.Position.Y + plot.Size.Height
		for s := range b.values {
			v := b.values[s][i]
			if v <= 0 {
				continue
			}
			h := float32(v/maxV) * plot.Size.Height
			r := canvas.NewRectangle(b.colors[s])
			r.Move(fyne.NewPos(plot.Position.X+float32(i)*slotW+(slotW-barW)/2, y-h))
			r.Resize(fyne.NewSize(barW, h))
			objs = append(objs, r)
			y -= h
		}
	}
	return objs
}

func (b *stackedBars) maxTotal() float64 {
	var m float64
	for i := range b.labels {
		m = max(m, b.total(i))
	}
	return m
}

// lineChart draws series as lines over the labels; a 0 is a gap.
type lineChart struct {
	widget.BaseWidget
	labels []string
	series []string
	colors []color.Color
	values [][]float64
	unit   string
}

func newLineChart() *lineChart {
	l := &lineChart{}
	l.ExtendBaseWidget(l)
	return l
}

func (l *lineChart) set(labels, series []string, colors []color.Color, values [][]float64, unit string) {
	l.labels, l.series, l.colors, l.values, l.unit = labels, series, colors, values, unit
	l.Refresh()
}

func (l *lineChart) CreateRenderer() fyne.WidgetRenderer { return &chartRenderer{draw: l.draw} }

func (l *lineChart) draw(size fyne.Size) []fyne.CanvasObject {
	var m float64
	for _, s := range l.values {
		for _, v := range s {
			m = max(m, v)
		}
	}
	objs, plot := axes(size, l.labels, m, l.unit)
	if len(l.labels) == 0 {
		return objs
	}
	maxV := niceMax(m)
	slotW := plot.Size.Width / float32(len(l.labels))
	point := func(i int, v float64) fyne.Position {
		return fyne.NewPos(plot.Position.X+float32(i)*slotW+slotW/2, plot.Position.Y+plot.Size.Height-float32(v/maxV)*plot.Size.Height)
	}
	for s, vals := range l.values {
		prev := -1
		for i, v := range vals {
			if v <= 0 {
				continue
			}
			dot := canvas.NewCircle(l.colors[s])
			pt := point(i, v)
			dot.Move(pt.SubtractXY(2.5, 2.5))
			dot.Resize(fyne.NewSize(5, 5))
			objs = append(objs, dot)
			if prev >= 0 {
				ln := canvas.NewLine(l.colors[s])
				ln.StrokeWidth = 2
				ln.Position1, ln.Position2 = point(prev, vals[prev]), pt
				objs = append(objs, ln)
			}
			prev = i
		}
		// The series' name at its last point.
		if prev >= 0 && s < len(l.series) {
			t := canvas.NewText(l.series[s], l.colors[s])
			t.TextSize = theme.CaptionTextSize()
			t.Move(point(prev, vals[prev]).AddXY(-10, -16))
			objs = append(objs, t)
		}
	}
	return objs
}

// axes draws the frame, the top value and the first, middle and last
// labels, and returns the plot area inside them.
func axes(size fyne.Size, labels []string, maxV float64, unit string) ([]fyne.CanvasObject, struct {
	Position fyne.Position
	Size     fyne.Size
}) {
	fg := theme.Color(theme.ColorNameForeground)
	grid := theme.Color(theme.ColorNameSeparator)
	const left, bottom, top = 56, 18, 6
	var plot struct {
		Position fyne.Position
		Size     fyne.Size
	}
	plot.Position = fyne.NewPos(left, top)
	plot.Size = fyne.NewSize(max(0, size.Width-left-4), max(0, size.Height-bottom-top))
	var objs []fyne.CanvasObject
	nm := niceMax(maxV)
	for _, f := range []float64{0, 0.5, 1} {
		y := plot.Position.Y + plot.Size.Height*(1-float32(f))
		ln := canvas.NewLine(grid)
		ln.Position1, ln.Position2 = fyne.NewPos(left, y), fyne.NewPos(left+plot.Size.Width, y)
		objs = append(objs, ln)
		label := shortNumber(nm * f)
		if unit != "" {
			label += " " + unit
		}
		t := canvas.NewText(label, fg)
		t.TextSize = theme.CaptionTextSize()
		t.Alignment = fyne.TextAlignTrailing
		t.Move(fyne.NewPos(0, y-8))
		t.Resize(fyne.NewSize(left-6, 16))
		objs = append(objs, t)
	}
	if n := len(labels); n > 0 {
		slotW := plot.Size.Width / float32(n)
		for _, i := range []int{0, n / 2, n - 1} {
			t := canvas.NewText(labels[i][5:], fg) // MM-DD
			t.TextSize = theme.CaptionTextSize()
			t.Move(fyne.NewPos(plot.Position.X+float32(i)*slotW, plot.Position.Y+plot.Size.Height+2))
			objs = append(objs, t)
		}
	}
	return objs, plot
}

// niceMax rounds a maximum up to 1, 2 or 5 times a power of ten.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := 1.0
	for p*10 <= v {
		p *= 10
	}
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func shortNumber(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.3gk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// chartRenderer redraws its objects whenever the size or data changes.
type chartRenderer struct {
	draw func(fyne.Size) []fyne.CanvasObject
	objs []fyne.CanvasObject
	size fyne.Size
}

func (r *chartRenderer) Layout(s fyne.Size) {
	r.size = s
	r.objs = r.draw(s)
}
func (r *chartRenderer) MinSize() fyne.Size           { return fyne.NewSize(200, 90) }
func (r *chartRenderer) Refresh()                     { r.objs = r.draw(r.size) }
func (r *chartRenderer) Objects() []fyne.CanvasObject { return r.objs }
func (r *chartRenderer) Destroy()                     {}
