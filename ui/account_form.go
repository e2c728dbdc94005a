package ui

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Field names as FieldErrors uses them.
const (
	fieldName     = "name"
	fieldSecure   = "secure_c_ses"
	fieldHost     = "host_c_oses"
	fieldCSESIDX  = "csesidx"
	fieldConfigID = "config_id"
)

// uuidRE is the shape of a config_id.
var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// Local checks, run as the user types; the controller validates again and
// its *FieldErrors land in the same places.

func checkName(s string) error {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return errors.New("give the account a name")
	case len(s) > 64:
		return errors.New("at most 64 characters")
	}
	return nil
}

// checkCookie returns a validator for a cookie value. required is false
// for the optional __Host-C_OSES and for secrets when editing (empty keeps
// the stored value).
func checkCookie(cookie string, required bool) func(string) error {
	return func(s string) error {
		s = strings.TrimSpace(s)
		switch {
		case s == "" && required:
			return errors.New("required")
		case s == "":
			return nil
		case strings.HasPrefix(s, cookie+"="):
			return fmt.Errorf("paste only the value, without %q", cookie+"=")
		case strings.ContainsAny(s, " \t\r\n;"):
			return errors.New("must not contain spaces or ';' — paste only this cookie's value")
		}
		return nil
	}
}

func checkCSESIDX(required bool) func(string) error {
	return func(s string) error {
		s = strings.TrimSpace(s)
		if s == "" {
			if required {
				return errors.New("required: the number after csesidx= in the address bar")
			}
			return nil
		}
		for _, r := range s {
			if r < '0' || r > '9' {
				return errors.New("digits only (the number after csesidx=)")
			}
		}
		return nil
	}
}

func checkConfigID(s string) error {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return errors.New("required: the id after /home/cid/ in the address bar")
	case !uuidRE.MatchString(s):
		return errors.New("expected a UUID like 1a2b3c4d-0000-1111-2222-333344445555")
	}
	return nil
}

// formField is an entry with its message line.
type formField struct {
	key   string
	label string
	entry *widget.Entry
	err   *widget.Label
	dirty bool // typed into (or filled): its message may show
}

// accountForm is the add/edit dialog. It stays open until the account is
// saved, so nothing the user typed is lost to a server-side error.
type accountForm struct {
	p       *accountsPanel
	editing *Account // nil when adding

	fields   []*formField
	byKey    map[string]*formField
	enabled  *widget.Check
	general  *widget.Label
	paste    *widget.Entry
	pasteMsg *widget.Label
	fill     *widget.Button
	submit   *widget.Button
	cancel   *widget.Button
	dlg      *dialog.CustomDialog
	tried    bool // Save was pressed once: show every message
	saving   bool
}

// newAccountForm builds the dialog: the paste box, the fields, the help
// and the buttons. editing is nil when adding.
func newAccountForm(p *accountsPanel, editing *Account) *accountForm {
	f := &accountForm{p: p, editing: editing, byKey: map[string]*formField{}}
	f.addFields()
	content := container.NewVBox(f.newPasteBox(), widget.NewSeparator(), f.intro(), f.fieldsForm(), f.general, whereToFindHelp())
	f.newDialog(content)
	return f
}

// keepHint is the placeholder of a secret field when editing: empty keeps
// the stored value, described by hint ("" when adding).
func keepHint(adding bool, hint string) string {
	if adding {
		return ""
	}
	if hint == "" || hint == "set" {
		return "unchanged"
	}
	return "unchanged (" + hint + ")"
}

// addFields makes the entries with their checks and placeholders and the
// Enabled box, filled from the account when editing.
func (f *accountForm) addFields() {
	editing := f.editing
	adding := editing == nil
	var hs, hh, hi string
	if editing != nil {
		hs, hh, hi = editing.HintSecureCSES, editing.HintHostCOSES, editing.HintCSESIDX
	}

	name := f.add(fieldName, "Name", widget.NewEntry(), checkName)
	name.entry.SetPlaceHolder("work, personal, …")
	cses := f.add(fieldSecure, "__Secure-C_SES", widget.NewPasswordEntry(), checkCookie("__Secure-C_SES", adding))
	cses.entry.SetPlaceHolder(or(keepHint(adding, hs), "cookie value"))
	coses := f.add(fieldHost, "__Host-C_OSES", widget.NewPasswordEntry(), checkCookie("__Host-C_OSES", false))
	coses.entry.SetPlaceHolder(or(keepHint(adding, hh), "optional cookie value"))
	idx := f.add(fieldCSESIDX, "csesidx", widget.NewPasswordEntry(), checkCSESIDX(adding))
	idx.entry.SetPlaceHolder(or(keepHint(adding, hi), "digits from the address bar"))
	cfg := f.add(fieldConfigID, "config_id", widget.NewEntry(), checkConfigID)
	cfg.entry.SetPlaceHolder("UUID from /home/cid/<config_id>")

	f.enabled = widget.NewCheck("Enabled (serve requests with this account)", nil)
	f.enabled.SetChecked(true)
	f.general = errorLabel()

	if editing != nil {
		name.entry.SetText(editing.Name)
		cfg.entry.SetText(editing.ConfigID)
		f.enabled.SetChecked(editing.Enabled)
		// Prefilled values are not the user's typing; don't flag them yet.
		name.dirty, cfg.dirty = false, false
	}
}

// newPasteBox is the paste area with its Fill button and message.
func (f *accountForm) newPasteBox() fyne.CanvasObject {
	f.paste = widget.NewMultiLineEntry()
	f.paste.SetPlaceHolder("Paste from the browser: cookie header + address bar URL, Copy as cURL, a .env block or a JSON export")
	f.paste.SetMinRowsVisible(3)
	f.paste.Wrapping = fyne.TextWrapBreak
	f.pasteMsg = note("")
	f.pasteMsg.Hide()
	f.fill = widget.NewButtonWithIcon("Fill from paste", theme.ContentPasteIcon(), f.fillFromPaste)
	return container.NewBorder(nil, container.NewVBox(container.NewHBox(f.fill), f.pasteMsg), nil, nil, f.paste)
}

// fieldsForm lays the fields out as label | entry over its message.
func (f *accountForm) fieldsForm() fyne.CanvasObject {
	form := container.New(layout.NewFormLayout())
	for _, fld := range f.fields {
		lbl := widget.NewLabel(fld.label)
		form.Add(lbl)
		form.Add(container.NewVBox(fld.entry, fld.err))
	}
	form.Add(widget.NewLabel(""))
	form.Add(f.enabled)
	return form
}

// whereToFindHelp is the folded help on where the values come from.
func whereToFindHelp() fyne.CanvasObject {
	return widget.NewAccordion(widget.NewAccordionItem("Where do I find these values?", func() fyne.CanvasObject {
		t := widget.NewRichTextFromMarkdown(whereToFind)
		t.Wrapping = fyne.TextWrapWord
		return t
	}()))
}

// intro is the line above the fields: what editing keeps, or where new
// secrets go.
func (f *accountForm) intro() fyne.CanvasObject {
	if f.editing != nil {
		return note("Secret fields left empty keep the stored value.")
	}
	if where := f.p.sh.c.Status().SecretStore; where != "" {
		return note("Cookies are kept in " + where + ", never in plain text.")
	}
	return widget.NewLabel("")
}

// newDialog puts content in the dialog with Cancel and Add (or Save).
func (f *accountForm) newDialog(content fyne.CanvasObject) {
	title := "Add account"
	action := "Add"
	if f.editing != nil {
		title = "Edit " + f.editing.Name
		action = "Save"
	}
	f.submit = widget.NewButtonWithIcon(action, theme.ConfirmIcon(), f.save)
	f.submit.Importance = widget.HighImportance
	f.cancel = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), func() { f.dlg.Hide() })

	f.dlg = dialog.NewCustomWithoutButtons(title, container.NewVScroll(minWidth(content, 560)), f.p.sh.win)
	f.dlg.SetButtons([]fyne.CanvasObject{f.cancel, f.submit})
}

func (f *accountForm) add(key, label string, e *widget.Entry, check func(string) error) *formField {
	fld := &formField{key: key, label: label, entry: e, err: errorLabel()}
	e.Validator = check
	e.OnSubmitted = func(string) { f.save() }
	e.OnChanged = func(string) {
		fld.dirty = true
		f.showLocal(fld)
	}
	f.fields = append(f.fields, fld)
	f.byKey[key] = fld
	return fld
}

func or(s, fallback string) string {
	if s != "" {
		return s
	}
	return fallback
}

func (f *accountForm) show() {
	f.dlg.Show()
	s := f.p.sh.win.Canvas().Size()
	f.dlg.Resize(fyne.NewSize(min(680, s.Width-40), min(660, s.Height-40)))
}

// showLocal shows fld's local check result once the user has touched it
// (or pressed Save), and reports whether it passed.
func (f *accountForm) showLocal(fld *formField) bool {
	err := fld.entry.Validator(fld.entry.Text)
	msg := ""
	if err != nil && (fld.dirty || f.tried) {
		msg = err.Error()
	}
	setError(fld.err, msg)
	return err == nil
}

// input is the form's content.
func (f *accountForm) input() AccountInput {
	get := func(k string) string { return strings.TrimSpace(f.byKey[k].entry.Text) }
	return AccountInput{
		Name:       get(fieldName),
		SecureCSES: get(fieldSecure),
		HostCOSES:  get(fieldHost),
		CSESIDX:    get(fieldCSESIDX),
		ConfigID:   get(fieldConfigID),
		Enabled:    f.enabled.Checked,
	}
}

func (f *accountForm) save() {
	if f.saving {
		return
	}
	f.tried = true
	ok := true
	for _, fld := range f.fields {
		ok = f.showLocal(fld) && ok
	}
	setError(f.general, "")
	if !ok {
		setError(f.general, "Fix the fields marked above.")
		return
	}
	in := f.input()
	f.saving = true
	f.submit.Disable()
	p := f.p
	editing := f.editing
	p.sh.env.async(func() {
		var err error
		if editing == nil {
			_, err = p.sh.c.AddAccount(in)
		} else {
			_, err = p.sh.c.UpdateAccount(editing.ID, in)
		}
		p.sh.env.dispatch(func() { f.saved(in, err) })
	})
}

// saved closes the dialog on success; on failure it puts each server
// message next to its field and keeps everything typed.
func (f *accountForm) saved(in AccountInput, err error) {
	f.saving = false
	f.submit.Enable()
	if err == nil {
		f.dlg.Hide()
		f.p.reload()
		if f.editing == nil {
			f.p.sh.toast("Added account " + in.Name)
		} else {
			f.p.sh.toast("Saved " + in.Name)
		}
		return
	}
	var fe *FieldErrors
	if !errors.As(err, &fe) {
		setError(f.general, err.Error())
		return
	}
	var rest []string
	keys := make([]string, 0, len(*fe))
	for k := range *fe {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		msg := (*fe)[k]
		if fld, ok := f.byKey[k]; ok {
			setError(fld.err, msg)
			continue
		}
		rest = append(rest, msg)
	}
	if len(rest) == 0 {
		rest = []string{"Not saved: fix the fields marked above."}
	}
	setError(f.general, strings.Join(rest, "\n"))
}

// fillFromPaste parses the paste box and fills the fields from the first
// account found.
func (f *accountForm) fillFromPaste() {
	text := f.paste.Text
	if strings.TrimSpace(text) == "" {
		f.setPasteMsg("Paste something first.")
		return
	}
	f.fill.Disable()
	p := f.p
	p.sh.env.async(func() {
		pv := p.sh.c.ParseImport(text)
		p.sh.env.dispatch(func() {
			f.fill.Enable()
			f.filled(pv)
		})
	})
}

func (f *accountForm) filled(pv ImportPreview) {
	var msg []string
	if len(pv.Items) == 0 {
		msg = append(msg, "Nothing usable found in the paste.")
	} else {
		in := pv.Items[0].Input
		set := func(k, v string) {
			if v != "" {
				f.byKey[k].entry.SetText(v)
			}
		}
		if in.Name != "" && strings.TrimSpace(f.byKey[fieldName].entry.Text) == "" {
			set(fieldName, in.Name)
		}
		set(fieldSecure, in.SecureCSES)
		set(fieldHost, in.HostCOSES)
		set(fieldCSESIDX, in.CSESIDX)
		set(fieldConfigID, in.ConfigID)
		line := "Filled from the paste"
		if pv.Format != "" && pv.Format != "unknown" {
			line += " (" + pv.Format + ")"
		}
		msg = append(msg, line+".")
		if n := len(pv.Items); n > 1 {
			msg = append(msg, fmt.Sprintf("It holds %d accounts; only the first was filled — use Import to add them all.", n))
		}
	}
	for _, pr := range pv.Problems {
		msg = append(msg, "• "+pr)
	}
	f.setPasteMsg(strings.Join(msg, "\n"))
}

func (f *accountForm) setPasteMsg(s string) {
	f.pasteMsg.SetText(s)
	f.pasteMsg.Show()
}
