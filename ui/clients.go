package ui

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// ClientsController is what the Clients and Usage panels ask of the
// program. The app's controller implements it besides Controller; the
// window shows those two panels when the controller it was given does.
type ClientsController interface {
	// ClientKeys lists the client keys (API_KEY first, when set). No key
	// material: a hint only.
	ClientKeys() ([]ClientKey, error)
	// CreateClientKey makes a key and returns it: the only time it is
	// shown. A *FieldErrors error names bad fields (name, rpm, models).
	CreateClientKey(in NewClientKey) (ClientKey, string, error)
	RevokeClientKey(id int64) error
	// RotateClientKey gives a key a new secret (returned, shown once).
	RotateClientKey(id int64) (ClientKey, string, error)
	// Usage returns per-day rows from..to (inclusive) grouped by
	// UsageByClient, UsageByAccount or UsageByModel.
	Usage(from, to time.Time, groupBy string) ([]UsageRow, error)
}

// ClientKey is a client key as the UI shows it.
type ClientKey struct {
	ID                int64
	Name              string
	Hint              string // the key's first characters
	RequestsPerMinute int    // 0 = no limit
	Models            []string
	CreatedAt         time.Time
	Builtin           bool // API_KEY from the configuration
}

// NewClientKey is the Clients panel's form.
type NewClientKey struct {
	Name              string
	RequestsPerMinute int
	Models            []string
}

// clientsPanel lists the client keys and makes, rotates and revokes them.
type clientsPanel struct {
	sh *shell
	cc ClientsController

	keys []ClientKey
	list *fyne.Container
	name *widget.Entry
	rpm  *widget.Entry
	mods *modelChecks
	err  *widget.Label

	// shown is the key of the last create or rotate, in the dialog that
	// shows it once; keyDlg is that dialog.
	shown  string
	keyDlg dialog.Dialog

	content fyne.CanvasObject
}

func newClientsPanel(sh *shell, cc ClientsController) *clientsPanel {
	p := &clientsPanel{sh: sh, cc: cc}
	p.name = widget.NewEntry()
	p.name.SetPlaceHolder("Who gets the key, e.g. Open WebUI")
	p.rpm = widget.NewEntry()
	p.rpm.SetPlaceHolder("no limit")
	p.mods = newModelChecks(sh.c.Models())
	p.err = errorLabel()
	create := widget.NewButtonWithIcon("Create key", theme.ContentAddIcon(), p.create)
	create.Importance = widget.HighImportance
	form := widget.NewForm(
		widget.NewFormItem("Name", p.name),
		widget.NewFormItem("Requests per minute", minWidth(p.rpm, 120)),
		widget.NewFormItem("Models (none = all)", p.mods.box),
	)
	p.list = container.NewVBox()
	top := container.NewVBox(
		heading("Clients"),
		note("Give every program its own key: you can see its usage, limit it and revoke it alone. "+
			"A key is shown once, when it is made; the gateway keeps only its hash. "+
			"Client keys serve /v1 only, never the admin API."),
		form, container.NewHBox(create), p.err,
		widget.NewSeparator(),
	)
	p.content = container.NewPadded(container.NewBorder(top, nil, nil, nil, container.NewVScroll(p.list)))
	p.reload()
	return p
}

func (p *clientsPanel) object() fyne.CanvasObject { return p.content }

// reload reads the keys (in the background) and rebuilds the list.
func (p *clientsPanel) reload() {
	p.sh.env.async(func() {
		keys, err := p.cc.ClientKeys()
		p.sh.env.dispatch(func() {
			if err != nil {
				setError(p.err, "Could not read the client keys: "+err.Error())
				return
			}
			p.keys = keys
			p.rebuild()
		})
	})
}

func (p *clientsPanel) rebuild() {
	p.list.Objects = nil
	if len(p.keys) == 0 {
		p.list.Add(note("No client key yet. Programs on this computer are refused until you make one " +
			"(or allow keyless use on loopback in Settings, which lets every local user in)."))
	}
	for _, k := range p.keys {
		p.list.Add(p.row(k))
	}
	p.list.Refresh()
}

func limitsText(k ClientKey) string {
	var parts []string
	if k.RequestsPerMinute > 0 {
		parts = append(parts, fmt.Sprintf("%d requests/min", k.RequestsPerMinute))
	}
	if len(k.Models) > 0 {
		parts = append(parts, "models: "+strings.Join(k.Models, ", "))
	}
	if len(parts) == 0 {
		return "no limits"
	}
	return strings.Join(parts, " · ")
}

func (p *clientsPanel) row(k ClientKey) fyne.CanvasObject {
	name := &widget.Label{Text: k.Name, TextStyle: fyne.TextStyle{Bold: true}}
	hint := &widget.Label{Text: k.Hint, TextStyle: fyne.TextStyle{Monospace: true}}
	info := limitsText(k)
	if k.Builtin {
		info = "API_KEY from the configuration (change it in Settings)"
	} else if !k.CreatedAt.IsZero() {
		info += " · made " + k.CreatedAt.Local().Format("2006-01-02")
	}
	rotate := widget.NewButtonWithIcon("Rotate", theme.ViewRefreshIcon(), func() { p.rotate(k) })
	revoke := widget.NewButtonWithIcon("Revoke", theme.DeleteIcon(), func() { p.confirmRevoke(k) })
	revoke.Importance = widget.DangerImportance
	if k.Builtin {
		rotate.Disable()
		revoke.Disable()
	}
	return container.NewBorder(nil, nil, container.NewHBox(name, hint), container.NewHBox(rotate, revoke),
		&widget.Label{Text: info, Truncation: fyne.TextTruncateEllipsis, Importance: widget.LowImportance})
}

func (p *clientsPanel) create() {
	in := NewClientKey{Name: strings.TrimSpace(p.name.Text), Models: p.mods.selected()}
	if s := strings.TrimSpace(p.rpm.Text); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			setError(p.err, "Requests per minute: a whole number, or empty for no limit.")
			return
		}
		in.RequestsPerMinute = n
	}
	if in.Name == "" {
		setError(p.err, "Name the key after the program that will use it.")
		return
	}
	setError(p.err, "")
	p.sh.env.async(func() {
		k, key, err := p.cc.CreateClientKey(in)
		p.sh.env.dispatch(func() {
			if err != nil {
				setError(p.err, err.Error())
				return
			}
			p.name.SetText("")
			p.rpm.SetText("")
			p.mods.clear()
			p.showKey(k.Name, key, "Client key made")
			p.reload()
		})
	})
}

func (p *clientsPanel) rotate(k ClientKey) {
	dialog.NewConfirm(fmt.Sprintf("Rotate the key of %q?", k.Name),
		"The current key stops working at once; the program needs the new one.", func(ok bool) {
			if !ok {
				return
			}
			p.doRotate(k.ID)
		}, p.sh.win).Show()
}

func (p *clientsPanel) doRotate(id int64) {
	p.sh.env.async(func() {
		k, key, err := p.cc.RotateClientKey(id)
		p.sh.env.dispatch(func() {
			if err != nil {
				p.sh.showError(err)
				return
			}
			p.showKey(k.Name, key, "New key")
			p.reload()
		})
	})
}

func (p *clientsPanel) confirmRevoke(k ClientKey) {
	dialog.NewConfirm(fmt.Sprintf("Revoke the key of %q?", k.Name),
		"The program using it is refused from now on. Its usage history stays.", func(ok bool) {
			if ok {
				p.doRevoke(k.ID)
			}
		}, p.sh.win).Show()
}

func (p *clientsPanel) doRevoke(id int64) {
	p.sh.env.async(func() {
		err := p.cc.RevokeClientKey(id)
		p.sh.env.dispatch(func() {
			if err != nil {
				p.sh.showError(err)
				return
			}
			p.sh.toast("Client key revoked")
			p.reload()
		})
	})
}

// showKey shows a new key once, with a copy button. It is not kept
// anywhere after the dialog closes.
func (p *clientsPanel) showKey(name, key, title string) {
	p.shown = key
	e := widget.NewEntry()
	e.SetText(key)
	e.TextStyle = fyne.TextStyle{Monospace: true}
	e.OnChanged = func(string) { e.SetText(key) } // read-only but selectable
	cp := widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() { p.sh.copyText("the key of "+name, key) })
	content := container.NewVBox(
		note(fmt.Sprintf("The key of %q. It is shown only now: copy it into the program's API key setting.", name)),
		container.NewBorder(nil, nil, nil, cp, e),
	)
	p.keyDlg = dialog.NewCustom(title, "Done", minWidth(content, 560), p.sh.win)
	p.keyDlg.SetOnClosed(func() { p.shown = "" })
	p.keyDlg.Show()
}

// modelChecks picks models with one check box each, in a grid that wraps
// to the width it is given. A horizontal widget.CheckGroup asks for all
// the names side by side: with every model listed that was wider than the
// screen, and the whole window grew to it.
type modelChecks struct {
	box    *fyne.Container
	checks []*widget.Check
}

func newModelChecks(models []string) *modelChecks {
	m := &modelChecks{}
	var cell fyne.Size
	objs := make([]fyne.CanvasObject, 0, len(models))
	for _, name := range models {
		c := widget.NewCheck(name, nil)
		m.checks = append(m.checks, c)
		objs = append(objs, c)
		cell = cell.Max(c.MinSize())
	}
	m.box = container.NewGridWrap(cell, objs...)
	return m
}

// selected lists the checked models in the order they are shown.
func (m *modelChecks) selected() []string {
	var out []string
	for _, c := range m.checks {
		if c.Checked {
			out = append(out, c.Text)
		}
	}
	return out
}

func (m *modelChecks) setSelected(names []string) {
	for _, c := range m.checks {
		c.SetChecked(slices.Contains(names, c.Text))
	}
}

func (m *modelChecks) clear() { m.setSelected(nil) }
