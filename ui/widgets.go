package ui

import (
	"fmt"
	"image/color"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// env is how panels reach what lies outside the widget tree: the UI
// goroutine, background goroutines, timers and the clock. Production uses
// realEnv; tests substitute a deterministic one so that every widget is
// touched from a single goroutine and time can be advanced by hand.
type env struct {
	// dispatch runs f on the UI goroutine.
	dispatch Dispatch
	// async runs f away from the UI goroutine; blocking Controller calls go
	// through it.
	async func(f func())
	// every runs f on the UI goroutine every d until stop is called.
	every func(d time.Duration, f func()) (stop func())
	// after runs f on the UI goroutine once, d from now, unless stopped.
	after func(d time.Duration, f func()) (stop func())
	now   func() time.Time
}

// realEnv is the production env: goroutines, time.Ticker and time.AfterFunc.
// A callback already queued through dispatch when stop is called is
// dropped, so a stopped timer never touches a widget afterwards.
func realEnv(dispatch Dispatch) env {
	return env{
		dispatch: dispatch,
		async:    func(f func()) { go f() },
		every: func(d time.Duration, f func()) func() {
			t := time.NewTicker(d)
			done := make(chan struct{})
			var stopped atomic.Bool
			go func() {
				defer t.Stop()
				for {
					select {
					case <-t.C:
						dispatch(func() {
							if !stopped.Load() {
								f()
							}
						})
					case <-done:
						return
					}
				}
			}()
			var once sync.Once
			return func() {
				once.Do(func() {
					stopped.Store(true)
					close(done)
				})
			}
		},
		after: func(d time.Duration, f func()) func() {
			var stopped atomic.Bool
			t := time.AfterFunc(d, func() {
				dispatch(func() {
					if !stopped.Load() {
						f()
					}
				})
			})
			return func() {
				stopped.Store(true)
				t.Stop()
			}
		},
		now: time.Now,
	}
}

// shell is what every panel shares: the controller, the env, the window
// (parent of dialogs), the app (clipboard) and the status line.
type shell struct {
	c     Controller
	env   env
	app   fyne.App
	win   fyne.Window
	toast func(msg string)
	// onChange, if set, runs after a panel changed or re-read state, so
	// the rest of the UI (the tray) follows without waiting for an event.
	onChange func()
}

func (s *shell) changed() {
	if s.onChange != nil {
		s.onChange()
	}
}

// copyText puts text on the clipboard and confirms it in the status line.
// what names the thing copied ("base URL"); the status line shows that
// name, never text, because text may be the API key.
func (s *shell) copyText(what, text string) {
	s.app.Clipboard().SetContent(text)
	s.toast("Copied " + what + " to the clipboard")
}

// showError shows err in a dialog over the window.
func (s *shell) showError(err error) {
	dialog.NewError(err, s.win).Show()
}

// ago formats how long ago t was, for "last used" and "last check" columns.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < 10*time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%d s ago", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	case d < 7*24*time.Hour:
		n := int(d / (24 * time.Hour))
		if n == 1 {
			return "yesterday"
		}
		return fmt.Sprintf("%d days ago", n)
	default:
		return t.Local().Format("2 Jan 2006")
	}
}

// countdown formats a remaining cooldown to the second ("4:05", "1:02:09")
// for the health table, which ticks every second.
func countdown(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	s := int(math.Ceil(d.Seconds()))
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s%3600/60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// coarseCountdown formats a remaining cooldown to the minute ("4m",
// "1h 5m", "<1m") for the tray, whose menu is rebuilt whenever a label
// changes: minute granularity keeps that rare.
func coarseCountdown(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	if d < time.Minute {
		return "<1m"
	}
	m := int(math.Ceil(d.Minutes()))
	if m >= 60 {
		return fmt.Sprintf("%dh %dm", m/60, m%60)
	}
	return fmt.Sprintf("%dm", m)
}

// ms formats a latency for tables.
func ms(d time.Duration) string {
	if d <= 0 {
		return "–"
	}
	if d < 10*time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// maskKey hides all of an API key but a recognisable prefix and the last
// four characters, so the user can tell keys apart without exposing one.
func maskKey(k string) string {
	if k == "" {
		return "(none)"
	}
	if len(k) < 14 {
		return strings.Repeat("•", 10)
	}
	prefix := ""
	if i := strings.LastIndex(k[:min(len(k), 8)], "-"); i >= 0 {
		prefix = k[:i+1]
	}
	return prefix + strings.Repeat("•", 10) + k[len(k)-4:]
}

// stateKind is the colour family of an account state.
type stateKind int

const (
	kindNeutral stateKind = iota // unchecked, unknown
	kindGood                     // healthy
	kindWarn                     // cooling down
	kindBad                      // expired, banned, unhealthy
	kindOff                      // disabled
)

// cooling reports whether a is in a cooldown at now.
func cooling(a Account, now time.Time) bool {
	return !a.CooldownUntil.IsZero() && a.CooldownUntil.After(now)
}

func (k stateKind) color() fyne.ThemeColorName {
	switch k {
	case kindGood:
		return theme.ColorNameSuccess
	case kindWarn:
		return theme.ColorNameWarning
	case kindBad:
		return theme.ColorNameError
	case kindOff:
		return theme.ColorNamePlaceHolder
	default:
		return theme.ColorNameForeground
	}
}

// stateBadge is a small coloured pill with a state word in it. Colours come
// from the current theme at every refresh, so the badge follows the OS
// light/dark switch.
type stateBadge struct {
	widget.BaseWidget
	Text string
	Kind stateKind
}

func newStateBadge() *stateBadge {
	b := &stateBadge{}
	b.ExtendBaseWidget(b)
	return b
}

// Set changes the badge's text and colour.
func (b *stateBadge) Set(text string, k stateKind) {
	if b.Text == text && b.Kind == k {
		return
	}
	b.Text, b.Kind = text, k
	b.Refresh()
}

func (b *stateBadge) CreateRenderer() fyne.WidgetRenderer {
	r := &badgeRenderer{b: b, bg: &canvas.Rectangle{}, text: canvas.NewText("", nil)}
	r.text.TextStyle = fyne.TextStyle{Bold: true}
	r.Refresh()
	return r
}

type badgeRenderer struct {
	b    *stateBadge
	bg   *canvas.Rectangle
	text *canvas.Text
}

func (r *badgeRenderer) pad() fyne.Size { return fyne.NewSize(8, 2) }

func (r *badgeRenderer) Layout(s fyne.Size) {
	r.bg.Resize(s)
	ts := r.text.MinSize()
	r.text.Move(fyne.NewPos((s.Width-ts.Width)/2, (s.Height-ts.Height)/2))
	r.text.Resize(ts)
}

func (r *badgeRenderer) MinSize() fyne.Size {
	ts := r.text.MinSize()
	p := r.pad()
	return fyne.NewSize(ts.Width+2*p.Width, ts.Height+2*p.Height)
}

func (r *badgeRenderer) Refresh() {
	th := r.b.Theme()
	v := fyne.CurrentApp().Settings().ThemeVariant()
	c := th.Color(r.b.Kind.color(), v)
	r.text.Text = r.b.Text
	r.text.Color = c
	r.text.TextSize = th.Size(theme.SizeNameCaptionText)
	r.bg.FillColor = withAlpha(c, 0x33)
	r.bg.StrokeColor = withAlpha(c, 0x99)
	r.bg.StrokeWidth = 1
	r.bg.CornerRadius = 8
	r.text.Refresh()
	r.bg.Refresh()
}

func (r *badgeRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.bg, r.text} }
func (r *badgeRenderer) Destroy()                     {}

func withAlpha(c color.Color, a uint8) color.Color {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	n.A = a
	return n
}

// banner is a highlighted message at the top of a panel (port in use,
// secret store missing, start failure), with optional action buttons.
type banner struct {
	box   *fyne.Container
	msg   *widget.Label
	title *widget.Label
}

func newBanner(kind stateKind, icon fyne.Resource, actions ...fyne.CanvasObject) *banner {
	b := &banner{
		msg:   &widget.Label{Wrapping: fyne.TextWrapWord},
		title: &widget.Label{TextStyle: fyne.TextStyle{Bold: true}},
	}
	bg := newTint(kind)
	right := container.NewHBox(actions...)
	text := container.NewVBox(b.title, b.msg)
	content := container.NewBorder(nil, nil, widget.NewIcon(icon), right, text)
	b.box = container.NewStack(bg, container.NewPadded(content))
	b.box.Hide()
	return b
}

// set shows the banner with a title and message, or hides it when msg is
// empty.
func (b *banner) set(title, msg string) {
	if msg == "" {
		b.box.Hide()
		return
	}
	b.title.SetText(title)
	b.msg.SetText(msg)
	b.box.Show()
}

// tint is a rounded, lightly coloured background. Its colour is taken from
// the theme at every refresh, so it follows a light/dark switch.
type tint struct {
	widget.BaseWidget
	kind stateKind
}

func newTint(k stateKind) *tint {
	t := &tint{kind: k}
	t.ExtendBaseWidget(t)
	return t
}

func (t *tint) CreateRenderer() fyne.WidgetRenderer {
	r := &tintRenderer{t: t, rect: &canvas.Rectangle{CornerRadius: 6}}
	r.Refresh()
	return r
}

type tintRenderer struct {
	t    *tint
	rect *canvas.Rectangle
}

func (r *tintRenderer) Layout(s fyne.Size)           { r.rect.Resize(s) }
func (r *tintRenderer) MinSize() fyne.Size           { return fyne.Size{} }
func (r *tintRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.rect} }
func (r *tintRenderer) Destroy()                     {}
func (r *tintRenderer) Refresh() {
	c := r.t.Theme().Color(r.t.kind.color(), fyne.CurrentApp().Settings().ThemeVariant())
	r.rect.FillColor = withAlpha(c, 0x26)
	r.rect.Refresh()
}

// heading is a panel title.
func heading(text string) *widget.Label {
	return &widget.Label{Text: text, TextStyle: fyne.TextStyle{Bold: true}, SizeName: theme.SizeNameSubHeadingText}
}

// errorLabel is the red message shown next to a form field.
func errorLabel() *widget.Label {
	l := &widget.Label{Importance: widget.DangerImportance, Wrapping: fyne.TextWrapWord, SizeName: theme.SizeNameCaptionText}
	l.Hide()
	return l
}

// setError shows msg in l, or hides l when msg is empty.
func setError(l *widget.Label, msg string) {
	if msg == "" {
		l.SetText("")
		l.Hide()
		return
	}
	l.SetText(msg)
	l.Show()
}

// note is small secondary text under a field.
func note(text string) *widget.Label {
	return &widget.Label{Text: text, Wrapping: fyne.TextWrapWord, SizeName: theme.SizeNameCaptionText}
}

// minWidth gives o a minimum width: wrapping labels inside dialogs get room
// instead of collapsing to one word per line, and columns of badges line up.
func minWidth(o fyne.CanvasObject, width float32) fyne.CanvasObject {
	spacer := canvas.NewRectangle(color.Transparent)
	spacer.SetMinSize(fyne.NewSize(width, 0))
	return container.NewStack(spacer, o)
}
