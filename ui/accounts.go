package ui

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// whereToFind explains where the four values come from; shown in the
// first-run card and in the add form.
const whereToFind = `You need four values from a browser where you are signed in to Gemini Business:

1. Open **business.gemini.google** and sign in.
2. The address bar shows ` + "`/home/cid/<config_id>?csesidx=<number>`" + `: the part after ` + "`cid/`" + ` is the **config_id**, the number is **csesidx**.
3. DevTools (F12) → **Application** → **Cookies** → copy the values of ` + "`__Secure-C_SES`" + ` and ` + "`__Host-C_OSES`" + `.

Quicker: DevTools → **Network** → right-click a ` + "`getoxsrf`" + ` request → **Copy as cURL**, and paste it into Add account or Import.`

// accountsPanel lists the accounts and lets the user add, edit, check,
// switch and delete them.
type accountsPanel struct {
	sh *shell
	// ctx ends when the window closes; checks started here stop with it.
	ctx context.Context
	// onUserToggle tells the notifier which switches were the user's.
	onUserToggle func(id int64)

	accounts []Account
	checking map[int64]bool
	checkMsg map[int64]string

	secretBanner *banner
	addBtn       *widget.Button
	importBtn    *widget.Button
	list         *widget.List
	empty        fyne.CanvasObject
	body         *fyne.Container
	content      fyne.CanvasObject

	// form and importer are the open dialogs, kept so tests can drive them.
	form     *accountForm
	importer *importDialog
	// chooser is the open Add account dialog, noBrowserPaste the manual
	// paste offered when no browser was found (tests drive them).
	chooser        *addChooser
	noBrowserPaste *widget.Button
	signingIn      bool
}

func newAccountsPanel(sh *shell, ctx context.Context) *accountsPanel {
	p := &accountsPanel{sh: sh, ctx: ctx, checking: map[int64]bool{}, checkMsg: map[int64]string{}}

	p.addBtn = widget.NewButtonWithIcon("Add account", theme.ContentAddIcon(), p.openAddChoice)
	p.addBtn.Importance = widget.HighImportance
	p.importBtn = widget.NewButtonWithIcon("Import…", theme.DownloadIcon(), p.openImport)
	p.secretBanner = newBanner(kindBad, theme.ErrorIcon())

	p.list = widget.NewList(
		func() int { return len(p.accounts) },
		func() fyne.CanvasObject { return newAccountRow(p) },
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id < len(p.accounts) {
				o.(*accountRow).set(p.accounts[id])
			}
		},
	)

	p.empty = p.emptyState()
	p.body = container.NewStack()
	header := container.NewBorder(nil, nil, heading("Accounts"), container.NewHBox(p.importBtn, p.addBtn))
	p.content = container.NewPadded(container.NewBorder(
		container.NewVBox(header, p.secretBanner.box), nil, nil, nil, p.body))
	p.reload()
	return p
}

func (p *accountsPanel) object() fyne.CanvasObject { return p.content }

// emptyState is the first-run card: what the values are, where to find
// them, and the two ways to enter them.
func (p *accountsPanel) emptyState() fyne.CanvasObject {
	text := widget.NewRichTextFromMarkdown(whereToFind)
	text.Wrapping = fyne.TextWrapWord
	add := widget.NewButtonWithIcon("Sign in with browser", theme.LoginIcon(), func() { p.openAddChoice() })
	add.Importance = widget.HighImportance
	paste := widget.NewButtonWithIcon("Paste cookies…", theme.ContentAddIcon(), p.openAdd)
	imp := widget.NewButtonWithIcon("Import…", theme.DownloadIcon(), p.openImport)
	card := widget.NewCard("Add your first Gemini Business account",
		"The gateway answers OpenAI requests with your account's cookies.",
		container.NewVBox(text, container.NewHBox(add, paste, imp)))
	return container.NewVScroll(card)
}

// reload re-reads the cached account list and shows it (or the empty
// state).
func (p *accountsPanel) reload() {
	p.accounts = p.sh.c.Accounts()
	st := p.sh.c.Status()
	p.secretBanner.set("Accounts cannot be added", st.SecretWarning)
	want := p.empty
	if len(p.accounts) > 0 {
		want = p.list
	}
	if len(p.body.Objects) != 1 || p.body.Objects[0] != want {
		p.body.Objects = []fyne.CanvasObject{want}
		p.body.Refresh()
	}
	p.list.Refresh()
	p.sh.changed()
}

// refreshTimes re-renders relative times ("3 min ago") without reloading.
func (p *accountsPanel) refreshTimes() { p.list.Refresh() }

// blockedBySecrets explains, instead of opening a form that would fail on
// save, that there is nowhere to keep new secrets.
func (p *accountsPanel) blockedBySecrets() bool {
	w := p.sh.c.Status().SecretWarning
	if w == "" {
		return false
	}
	dialog.NewInformation("Accounts cannot be added yet", w, p.sh.win).Show()
	return true
}

func (p *accountsPanel) openAdd() {
	if p.blockedBySecrets() {
		return
	}
	p.form = newAccountForm(p, nil)
	p.form.show()
}

func (p *accountsPanel) openEdit(a Account) {
	p.form = newAccountForm(p, &a)
	p.form.show()
}

func (p *accountsPanel) openImport() {
	if p.blockedBySecrets() {
		return
	}
	p.importer = newImportDialog(p)
	p.importer.show()
}

func (p *accountsPanel) setEnabled(id int64, on bool) {
	if p.onUserToggle != nil {
		p.onUserToggle(id)
	}
	p.sh.env.async(func() {
		err := p.sh.c.SetEnabled(id, on)
		p.sh.env.dispatch(func() {
			if err != nil {
				p.sh.showError(err)
			}
			// On failure this also puts the switch back.
			p.reload()
		})
	})
}

func (p *accountsPanel) checkNow(a Account) {
	p.checking[a.ID] = true
	p.checkMsg[a.ID] = ""
	p.list.Refresh()
	ctx := p.ctx
	p.sh.env.async(func() {
		res := p.sh.c.CheckAccount(ctx, a.ID)
		p.sh.env.dispatch(func() {
			delete(p.checking, a.ID)
			p.checkMsg[a.ID] = checkText(res)
			p.reload()
			p.sh.toast(a.Name + ": " + checkText(res))
		})
	})
}

// checkText is a check result in a few words.
func checkText(r CheckResult) string {
	var s string
	if r.OK {
		s = "check OK in " + ms(r.Latency)
	} else {
		s = "check failed"
		if r.Message != "" {
			s += ": " + r.Message
		}
	}
	if r.Disabled {
		s += " (account disabled)"
	}
	return s
}

func (p *accountsPanel) confirmDelete(a Account) {
	where := p.sh.c.Status().SecretStore
	if where == "" {
		where = "the secret store"
	}
	dialog.NewConfirm(fmt.Sprintf("Delete %q?", a.Name),
		fmt.Sprintf("The account %q and its cookies in %s are removed. This cannot be undone.", a.Name, where),
		func(ok bool) {
			if !ok {
				return
			}
			p.sh.env.async(func() {
				err := p.sh.c.DeleteAccount(a.ID)
				p.sh.env.dispatch(func() {
					p.reload()
					if err != nil {
						p.sh.showError(err)
						return
					}
					p.sh.toast("Deleted " + a.Name)
				})
			})
		}, p.sh.win).Show()
}

// accountRow is one line of the account list. Rows are recycled by the
// list; set fills one for an account.
type accountRow struct {
	widget.BaseWidget
	p    *accountsPanel
	acct Account

	badge    *stateBadge
	name     *widget.Label
	envTag   *stateBadge
	detail   *widget.Label
	enabled  *widget.Check
	edit     *widget.Button
	check    *widget.Button
	signIn   *widget.Button
	del      *widget.Button
	rendered fyne.CanvasObject
}

func newAccountRow(p *accountsPanel) *accountRow {
	r := &accountRow{p: p}
	r.badge = newStateBadge()
	r.name = &widget.Label{TextStyle: fyne.TextStyle{Bold: true}}
	r.envTag = newStateBadge()
	r.envTag.Set("from environment", kindNeutral)
	r.detail = &widget.Label{Truncation: fyne.TextTruncateEllipsis, SizeName: theme.SizeNameCaptionText}
	r.enabled = widget.NewCheck("Enabled", nil)
	r.edit = widget.NewButtonWithIcon("", theme.DocumentCreateIcon(), func() { r.p.openEdit(r.acct) })
	r.check = widget.NewButtonWithIcon("Check now", theme.ViewRefreshIcon(), func() { r.p.checkNow(r.acct) })
	r.del = widget.NewButtonWithIcon("", theme.DeleteIcon(), func() { r.p.confirmDelete(r.acct) })
	r.signIn = widget.NewButtonWithIcon("Sign in again", theme.LoginIcon(), func() { r.p.signIn(r.acct.ID, "") })

	title := container.NewHBox(r.name, container.NewCenter(r.envTag))
	actions := container.NewCenter(container.NewHBox(r.enabled, r.check, r.signIn, r.edit, r.del))
	// A fixed-width badge column keeps the names aligned.
	badge := minWidth(container.NewCenter(r.badge), 120)
	r.rendered = container.NewBorder(nil, nil, badge, actions,
		container.NewVBox(title, r.detail))
	r.ExtendBaseWidget(r)
	return r
}

func (r *accountRow) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(r.rendered)
}

// set shows a in the row.
func (r *accountRow) set(a Account) {
	r.acct = a
	p := r.p
	now := p.sh.env.now()
	state := stateLabel(a)
	if a.Enabled && cooling(a, now) {
		state = "cooling " + coarseCountdown(a.CooldownUntil.Sub(now))
	}
	r.badge.Set(state, accountKind(a))
	r.name.SetText(a.Name)
	if a.ReadOnly {
		r.envTag.Show()
	} else {
		r.envTag.Hide()
	}

	parts := []string{"last used " + ago(now, a.LastUsed), fmt.Sprintf("%d requests", a.Requests)}
	if life := lifeLabel(a, now); life != "" {
		parts = append([]string{life}, parts...)
	}
	if p.checking[a.ID] {
		parts = append(parts, "checking…")
	} else if m := p.checkMsg[a.ID]; m != "" {
		parts = append(parts, m)
	}
	if a.Reason != "" {
		parts = append(parts, a.Reason)
	}
	r.detail.SetText(strings.Join(parts, " · "))

	// SetChecked calls OnChanged; detach it so showing a state is not
	// mistaken for the user flipping the switch.
	r.enabled.OnChanged = nil
	r.enabled.SetChecked(a.Enabled)
	id := a.ID
	r.enabled.OnChanged = func(on bool) { p.setEnabled(id, on) }

	if a.ReadOnly {
		r.enabled.Disable()
		r.edit.Disable()
		r.del.Disable()
		r.signIn.Hide()
	} else {
		r.enabled.Enable()
		r.edit.Enable()
		r.del.Enable()
		r.signIn.Show()
		r.signIn.Importance = widget.MediumImportance
		if a.NeedsSignIn() {
			r.signIn.Importance = widget.HighImportance
		}
		r.signIn.Refresh()
	}
	if p.checking[a.ID] {
		r.check.Disable()
	} else {
		r.check.Enable()
	}
}
