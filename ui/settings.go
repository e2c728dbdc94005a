package ui

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// parseDuration accepts a number of seconds ("300") or a Go duration
// ("5m", "1h30m", "250ms").
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return 0, errors.New("must not be negative")
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New(`a number of seconds ("300") or a duration ("5m", "1h30m")`)
	}
	if d < 0 {
		return 0, errors.New("must not be negative")
	}
	return d, nil
}

// checkSetting is the local validation of a value for s.
func checkSetting(s Setting, v string) error {
	v = strings.TrimSpace(v)
	switch s.Kind {
	case SettingNumber:
		if v == "" {
			return errors.New("required")
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return errors.New("a whole number")
		}
		if isPortSetting(s.Name) && (n < 1 || n > 65535) {
			return errors.New("a port between 1 and 65535")
		}
		if n < 0 {
			return errors.New("must not be negative")
		}
	case SettingDuration:
		if v == "" {
			return errors.New("required")
		}
		if _, err := parseDuration(v); err != nil {
			return err
		}
	case SettingChoice:
		if len(s.Options) > 0 && !contains(s.Options, v) {
			return fmt.Errorf("one of %s", strings.Join(s.Options, ", "))
		}
	}
	return nil
}

func isPortSetting(name string) bool {
	return name == "PORT" || strings.HasSuffix(name, "_PORT")
}

// parseBool reads the usual spellings of a boolean setting.
func parseBool(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// settingField is one setting's widgets.
type settingField struct {
	s        Setting
	original string
	entry    *widget.Entry
	check    *widget.Check
	choice   *widget.Select
	err      *widget.Label
	box      fyne.CanvasObject
}

func (f *settingField) value() string {
	switch {
	case f.check != nil:
		return strconv.FormatBool(f.check.Checked)
	case f.choice != nil:
		return f.choice.Selected
	default:
		return f.entry.Text
	}
}

func (f *settingField) set(v string) {
	switch {
	case f.check != nil:
		f.check.SetChecked(parseBool(v))
	case f.choice != nil:
		f.choice.SetSelected(v)
	default:
		f.entry.SetText(v)
	}
}

// changed reports whether the user changed the value.
func (f *settingField) changed() bool {
	if f.check != nil {
		return f.check.Checked != parseBool(f.original)
	}
	return strings.TrimSpace(f.value()) != strings.TrimSpace(f.original)
}

func (f *settingField) valid() bool {
	return f.s.OverriddenBy != "" || !f.changed() || checkSetting(f.s, f.value()) == nil
}

// settingsPanel edits the settings, grouped, and saves what changed.
type settingsPanel struct {
	sh      *shell
	fields  []*settingField
	byName  map[string]*settingField
	save    *widget.Button
	revert  *widget.Button
	general *widget.Label
	result  *widget.Label
	groups  *fyne.Container
	content fyne.CanvasObject
	saving  bool
}

func newSettingsPanel(sh *shell) *settingsPanel {
	p := &settingsPanel{sh: sh}
	p.save = widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), p.onSave)
	p.save.Importance = widget.HighImportance
	p.revert = widget.NewButtonWithIcon("Revert", theme.ContentUndoIcon(), p.onRevert)
	p.general = errorLabel()
	p.result = &widget.Label{Wrapping: fyne.TextWrapWord, Importance: widget.SuccessImportance}
	p.result.Hide()
	p.groups = container.NewVBox()
	p.build(sh.c.Settings())

	top := container.NewVBox(
		container.NewBorder(nil, nil, heading("Settings"), container.NewHBox(p.revert, p.save)),
		p.general, p.result,
	)
	p.content = container.NewPadded(container.NewBorder(top, nil, nil, nil, container.NewVScroll(p.groups)))
	p.update()
	return p
}

func (p *settingsPanel) object() fyne.CanvasObject { return p.content }

// build creates the widgets for settings, one card per group, the groups
// in the order of their first setting.
func (p *settingsPanel) build(settings []Setting) {
	p.fields = nil
	p.byName = map[string]*settingField{}
	byGroup := map[string][]*settingField{}
	var order []string // groups in the order the controller lists them
	for _, s := range settings {
		f := p.newField(s)
		p.fields = append(p.fields, f)
		p.byName[s.Name] = f
		if len(byGroup[s.Group]) == 0 {
			order = append(order, s.Group)
		}
		byGroup[s.Group] = append(byGroup[s.Group], f)
	}

	p.groups.RemoveAll()
	if len(settings) == 0 {
		p.groups.Add(widget.NewLabel("No editable settings."))
	}
	for _, g := range order {
		box := container.NewVBox()
		for i, f := range byGroup[g] {
			if i > 0 {
				box.Add(widget.NewSeparator())
			}
			box.Add(f.box)
		}
		p.groups.Add(widget.NewCard(or(g, "Other"), "", box))
	}
}

func (p *settingsPanel) newField(s Setting) *settingField {
	f := &settingField{s: s, original: s.Value, err: errorLabel()}
	var input fyne.Widget
	switch s.Kind {
	case SettingBool:
		f.check = widget.NewCheck("On", nil)
		f.check.SetChecked(parseBool(s.Value))
		f.check.OnChanged = func(bool) { p.onEdit(f) }
		input = f.check
	case SettingChoice:
		f.choice = widget.NewSelect(s.Options, nil)
		f.choice.SetSelected(s.Value)
		f.choice.OnChanged = func(string) { p.onEdit(f) }
		input = f.choice
	default:
		if s.Secret {
			// The password entry has its own reveal toggle.
			f.entry = widget.NewPasswordEntry()
		} else {
			f.entry = widget.NewEntry()
		}
		switch {
		case s.Default != "" && !s.Secret:
			// An empty field means the default: say which.
			f.entry.SetPlaceHolder(s.Default)
		case s.Kind == SettingNumber:
			f.entry.SetPlaceHolder("a whole number")
		case s.Kind == SettingDuration:
			f.entry.SetPlaceHolder(`seconds ("300") or a duration ("5m")`)
		}
		f.entry.SetText(s.Value)
		if s.Kind == SettingNumber || s.Kind == SettingDuration {
			f.entry.Validator = func(v string) error { return checkSetting(s, v) }
		}
		f.entry.OnChanged = func(string) { p.onEdit(f) }
		input = f.entry
	}

	title := container.NewHBox(&widget.Label{Text: or(s.Label, s.Name), TextStyle: fyne.TextStyle{Bold: true}},
		&widget.Label{Text: s.Name, TextStyle: fyne.TextStyle{Monospace: true}, Importance: widget.LowImportance})
	if s.Restart {
		tag := newStateBadge()
		tag.Set("applies after restart", kindWarn)
		title.Add(container.NewCenter(tag))
	}
	box := container.NewVBox(title, input)
	if s.Help != "" {
		box.Add(note(s.Help))
	}
	if s.OverriddenBy != "" {
		if d, ok := input.(fyne.Disableable); ok {
			d.Disable()
		}
		box.Add(&widget.Label{
			Text:       fmt.Sprintf("Set by %s: a value saved here takes effect only once that is removed.", s.OverriddenBy),
			Wrapping:   fyne.TextWrapWord,
			Importance: widget.WarningImportance,
			SizeName:   theme.SizeNameCaptionText,
		})
	}
	box.Add(f.err)
	f.box = box
	return f
}

// onEdit re-validates a field in place and updates the buttons.
func (p *settingsPanel) onEdit(f *settingField) {
	msg := ""
	if f.changed() {
		if err := checkSetting(f.s, f.value()); err != nil {
			msg = err.Error()
		}
	}
	setError(f.err, msg)
	p.result.Hide()
	p.update()
}

// changes are the values that differ from the stored ones.
func (p *settingsPanel) changes() map[string]string {
	m := map[string]string{}
	for _, f := range p.fields {
		if f.s.OverriddenBy == "" && f.changed() {
			m[f.s.Name] = strings.TrimSpace(f.value())
		}
	}
	return m
}

// update enables Save only when something changed and all of it is valid.
func (p *settingsPanel) update() {
	valid := true
	for _, f := range p.fields {
		valid = valid && f.valid()
	}
	n := len(p.changes())
	if n > 0 && valid && !p.saving {
		p.save.Enable()
	} else {
		p.save.Disable()
	}
	if n > 0 && !p.saving {
		p.revert.Enable()
	} else {
		p.revert.Disable()
	}
}

func (p *settingsPanel) onRevert() {
	for _, f := range p.fields {
		if f.changed() {
			f.set(f.original)
		}
		setError(f.err, "")
	}
	setError(p.general, "")
	p.update()
}

func (p *settingsPanel) onSave() {
	values := p.changes()
	if len(values) == 0 || p.saving {
		return
	}
	p.saving = true
	setError(p.general, "")
	p.update()
	p.sh.env.async(func() {
		res, err := p.sh.c.SaveSettings(values)
		p.sh.env.dispatch(func() { p.saved(values, res, err) })
	})
}

// saved shows the outcome; on field errors the user's values stay in the
// fields with the message under each.
func (p *settingsPanel) saved(values map[string]string, res SaveResult, err error) {
	p.saving = false
	defer p.update()
	if err != nil {
		var fe *FieldErrors
		if !errors.As(err, &fe) {
			setError(p.general, err.Error())
			return
		}
		var rest []string
		for k, msg := range *fe {
			if f, ok := p.byName[k]; ok {
				setError(f.err, msg)
			} else {
				rest = append(rest, msg)
			}
		}
		sort.Strings(rest)
		if len(rest) == 0 {
			rest = []string{"Not saved: fix the settings marked below."}
		}
		setError(p.general, strings.Join(rest, "\n"))
		return
	}
	// The saved values are the new baseline; re-read them in case the
	// program normalised any.
	current := map[string]string{}
	for _, s := range p.sh.c.Settings() {
		current[s.Name] = s.Value
	}
	for name, v := range values {
		f := p.byName[name]
		if f == nil {
			continue
		}
		if cv, ok := current[name]; ok {
			v = cv
		}
		f.original = v
		f.set(v)
		setError(f.err, "")
	}
	p.result.SetText(saveResultText(res))
	p.result.Show()
	p.sh.toast("Settings saved")
}

// saveResultText says what took effect and what waits for a restart.
func saveResultText(r SaveResult) string {
	var parts []string
	if len(r.Applied) > 0 {
		parts = append(parts, "Applied now: "+strings.Join(r.Applied, ", ")+".")
	}
	if len(r.Restart) > 0 {
		parts = append(parts, "Needs a restart of the app: "+strings.Join(r.Restart, ", ")+".")
	}
	if len(parts) == 0 {
		return "Saved."
	}
	return "Saved. " + strings.Join(parts, " ")
}
