package ui

import (
	"errors"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
)

const testUUID = "1a2b3c4d-0000-1111-2222-333344445555"

func TestAccountsEmptyStateOnFirstRun(t *testing.T) {
	fc := newFake()
	u, _ := newTestUI(t, fc, Options{})
	p := u.accounts

	if got := u.tabs.SelectedIndex(); u.names[got] != PanelAccounts {
		t.Fatalf("first run opened %q, want the accounts panel", u.names[got])
	}
	if p.body.Objects[0] != p.empty {
		t.Fatal("the empty state is not shown with no accounts")
	}
	text := richText(p.empty)
	if !strings.Contains(text, "Add your first Gemini Business account") {
		t.Errorf("no first-run card title in %q", text)
	}
	for _, want := range []string{"business.gemini.google", "/home/cid/<config_id>?csesidx=<number>", "__Secure-C_SES", "__Host-C_OSES", "getoxsrf", "Copy as cURL"} {
		if !strings.Contains(text, want) {
			t.Errorf("empty state does not mention %q", want)
		}
	}

	test.Tap(button(t, p.empty, "Paste cookies…"))
	if p.form == nil || overlay(t, u.Window()) == nil {
		t.Fatal("Paste cookies in the empty state did not open the form")
	}

	fc.addAccount(Account{Name: "work", State: AccountHealthy, Enabled: true, ConfigID: testUUID})
	p.reload()
	if p.body.Objects[0] != p.list {
		t.Fatal("the list is not shown once an account exists")
	}
}

func TestAddAccountThroughTheForm(t *testing.T) {
	fc := newFake()
	fc.addAccount(Account{Name: "work", State: AccountHealthy, Enabled: true, Usable: true})
	u, _ := newTestUI(t, fc, Options{StartPanel: PanelAccounts})
	p := u.accounts

	test.Tap(p.addBtn)
	test.Tap(p.chooser.paste)
	f := p.form
	test.Type(f.byKey[fieldName].entry, "personal")
	test.Type(f.byKey[fieldSecure].entry, "AbC.def-123")
	test.Type(f.byKey[fieldCSESIDX].entry, "4242")
	test.Type(f.byKey[fieldConfigID].entry, testUUID)
	test.Tap(f.submit)

	if len(fc.added) != 1 {
		t.Fatalf("AddAccount called %d times, want 1", len(fc.added))
	}
	want := AccountInput{Name: "personal", SecureCSES: "AbC.def-123", CSESIDX: "4242", ConfigID: testUUID, Enabled: true}
	if fc.added[0] != want {
		t.Errorf("AddAccount got %+v, want %+v", fc.added[0], want)
	}
	if u.Window().Canvas().Overlays().Top() != nil {
		t.Error("the form is still open after a successful add")
	}
	rows := accountRows(p)
	if rows["personal"] == nil {
		t.Fatalf("the new account is not in the list; rows: %v", rows)
	}
	if !strings.Contains(u.status.Text, "Added account personal") {
		t.Errorf("status line = %q", u.status.Text)
	}
}

func TestAddAccountLocalValidationBlocksSave(t *testing.T) {
	fc := newFake()
	u, _ := newTestUI(t, fc, Options{StartPanel: PanelAccounts})
	p := u.accounts
	test.Tap(p.addBtn)
	test.Tap(p.chooser.paste)
	f := p.form

	test.Type(f.byKey[fieldCSESIDX].entry, "12a")
	if got := f.byKey[fieldCSESIDX].err; !got.Visible() || !strings.Contains(got.Text, "digits only") {
		t.Errorf("csesidx message = %q (visible %v)", got.Text, got.Visible())
	}
	test.Type(f.byKey[fieldSecure].entry, "a b;c")
	if got := f.byKey[fieldSecure].err.Text; !strings.Contains(got, "spaces or ';'") {
		t.Errorf("cookie message = %q", got)
	}
	test.Type(f.byKey[fieldConfigID].entry, "not-a-uuid")
	test.Tap(f.submit)
	if len(fc.added) != 0 {
		t.Fatal("AddAccount was called with invalid input")
	}
	if got := f.byKey[fieldName].err; !got.Visible() {
		t.Error("the empty name is not flagged after Add")
	}
	if got := f.byKey[fieldConfigID].err.Text; !strings.Contains(got, "UUID") {
		t.Errorf("config_id message = %q", got)
	}
	if overlay(t, u.Window()) == nil {
		t.Error("form closed")
	}
}

func TestAddAccountServerFieldErrorsStayNextToTheField(t *testing.T) {
	fc := newFake()
	fc.addErr = &FieldErrors{"config_id": "no Gemini Business configuration with this id", "": "check the cookies"}
	u, _ := newTestUI(t, fc, Options{StartPanel: PanelAccounts})
	p := u.accounts
	test.Tap(p.addBtn)
	test.Tap(p.chooser.paste)
	f := p.form
	test.Type(f.byKey[fieldName].entry, "work")
	test.Type(f.byKey[fieldSecure].entry, "cookie1")
	test.Type(f.byKey[fieldHost].entry, "cookie2")
	test.Type(f.byKey[fieldCSESIDX].entry, "77")
	test.Type(f.byKey[fieldConfigID].entry, testUUID)
	test.Tap(f.submit)

	if len(fc.added) != 1 {
		t.Fatalf("AddAccount called %d times", len(fc.added))
	}
	if w := u.Window().Canvas().Overlays().Top(); w == nil {
		t.Fatal("the dialog closed on a server error")
	}
	cfg := f.byKey[fieldConfigID]
	if !cfg.err.Visible() || cfg.err.Text != "no Gemini Business configuration with this id" {
		t.Errorf("config_id message = %q (visible %v)", cfg.err.Text, cfg.err.Visible())
	}
	if cfg.entry.Text != testUUID || f.byKey[fieldSecure].entry.Text != "cookie1" || f.byKey[fieldName].entry.Text != "work" {
		t.Error("the user's input was not kept")
	}
	if f.byKey[fieldName].err.Visible() {
		t.Errorf("name flagged without reason: %q", f.byKey[fieldName].err.Text)
	}
	if !strings.Contains(f.general.Text, "check the cookies") {
		t.Errorf("general message = %q", f.general.Text)
	}
	if f.submit.Disabled() {
		t.Error("Add stays disabled after the error")
	}

	// Fixing and retrying works from the same dialog.
	fc.addErr = nil
	test.Tap(f.submit)
	if len(fc.added) != 2 || u.Window().Canvas().Overlays().Top() != nil {
		t.Errorf("retry: %d calls, dialog open %v", len(fc.added), u.Window().Canvas().Overlays().Top() != nil)
	}
}

func TestOtherErrorsShowInTheForm(t *testing.T) {
	fc := newFake()
	fc.addErr = errors.New("keychain is locked")
	u, _ := newTestUI(t, fc, Options{StartPanel: PanelAccounts})
	test.Tap(u.accounts.addBtn)
	test.Tap(u.accounts.chooser.paste)
	f := u.accounts.form
	f.byKey[fieldName].entry.SetText("a")
	f.byKey[fieldSecure].entry.SetText("b")
	f.byKey[fieldCSESIDX].entry.SetText("1")
	f.byKey[fieldConfigID].entry.SetText(testUUID)
	test.Tap(f.submit)
	if f.general.Text != "keychain is locked" {
		t.Errorf("general = %q", f.general.Text)
	}
}

func TestFillFromPaste(t *testing.T) {
	fc := newFake()
	fc.preview = ImportPreview{
		Format: "curl",
		Items: []ImportItem{
			{Input: AccountInput{Name: "from-curl", SecureCSES: "S1", HostCOSES: "H1", CSESIDX: "99", ConfigID: testUUID, Enabled: true}, Hint: "…S1"},
			{Input: AccountInput{Name: "second"}},
		},
		Problems: []string{"the URL has no csesidx; used the one from the cookie"},
	}
	u, _ := newTestUI(t, fc, Options{StartPanel: PanelAccounts})
	test.Tap(u.accounts.addBtn)
	test.Tap(u.accounts.chooser.paste)
	f := u.accounts.form
	test.Type(f.paste, "curl 'https://business.gemini.google/…' -H 'cookie: …'")
	test.Tap(f.fill)

	if len(fc.parsed) != 1 || !strings.HasPrefix(fc.parsed[0], "curl ") {
		t.Fatalf("ParseImport got %q", fc.parsed)
	}
	got := f.input()
	want := AccountInput{Name: "from-curl", SecureCSES: "S1", HostCOSES: "H1", CSESIDX: "99", ConfigID: testUUID, Enabled: true}
	if got != want {
		t.Errorf("filled %+v, want %+v", got, want)
	}
	for _, s := range []string{"curl", "2 accounts", "only the first", "no csesidx"} {
		if !strings.Contains(f.pasteMsg.Text, s) {
			t.Errorf("paste message %q lacks %q", f.pasteMsg.Text, s)
		}
	}
}

func TestToggleEnabledCallsSetEnabled(t *testing.T) {
	fc := newFake()
	work := fc.addAccount(Account{Name: "work", State: AccountHealthy, Enabled: true, Usable: true})
	fc.addAccount(Account{Name: "env", State: AccountHealthy, Enabled: true, ReadOnly: true, Usable: true})
	u, _ := newTestUI(t, fc, Options{StartPanel: PanelAccounts})
	p := u.accounts

	rows := accountRows(p)
	if len(rows) != 2 {
		t.Fatalf("rows = %v", rows)
	}
	if len(fc.enabled) != 0 {
		t.Fatalf("showing the list called SetEnabled: %v", fc.enabled)
	}
	tapCheck(rows["work"].enabled)
	if len(fc.enabled) != 1 || fc.enabled[0] != (enableCall{work.ID, false}) {
		t.Fatalf("SetEnabled calls = %v", fc.enabled)
	}
	rows = accountRows(p)
	if rows["work"].enabled.Checked {
		t.Error("the switch shows enabled after turning it off")
	}
	if rows["work"].badge.Text != "disabled" {
		t.Errorf("badge = %q", rows["work"].badge.Text)
	}

	env := rows["env"]
	if !env.enabled.Disabled() || !env.del.Disabled() || !env.edit.Disabled() || !env.envTag.Visible() {
		t.Error("the environment account is editable or lacks its tag")
	}
	if rows["work"].envTag.Visible() {
		t.Error("a stored account is tagged as from the environment")
	}
}

func TestToggleFailureRevertsTheSwitch(t *testing.T) {
	fc := newFake()
	fc.addAccount(Account{Name: "work", State: AccountHealthy, Enabled: true})
	fc.enableErr = errors.New("database is locked")
	u, _ := newTestUI(t, fc, Options{StartPanel: PanelAccounts})
	r := accountRows(u.accounts)["work"]
	tapCheck(r.enabled)
	if !accountRows(u.accounts)["work"].enabled.Checked {
		t.Error("the switch stayed off although SetEnabled failed")
	}
	if !strings.Contains(richText(overlay(t, u.Window())), "atabase is locked") {
		t.Error("the error is not shown")
	}
}

func TestAccountRowShowsStateAndTimes(t *testing.T) {
	fc := newFake()
	u, clock := newTestUI(t, fc, Options{StartPanel: PanelAccounts})
	fc.addAccount(Account{Name: "cool", Enabled: true, State: AccountCooling, Reason: "rate limited", LastUsed: clock.now.Add(-3 * time.Minute), Requests: 12, CooldownUntil: clock.now.Add(4 * time.Minute)})
	fc.addAccount(Account{Name: "old", Enabled: true, State: AccountExpired, Reason: "cookie expired"})
	u.accounts.reload()
	rows := accountRows(u.accounts)
	c := rows["cool"]
	if c.badge.Kind != kindWarn || c.badge.Text != "cooling 4m" {
		t.Errorf("cooling badge = %q kind %v", c.badge.Text, c.badge.Kind)
	}
	for _, s := range []string{"last used 3 min ago", "12 requests", "rate limited"} {
		if !strings.Contains(c.detail.Text, s) {
			t.Errorf("detail %q lacks %q", c.detail.Text, s)
		}
	}
	o := rows["old"]
	if o.badge.Kind != kindBad || !strings.Contains(o.detail.Text, "last used never") {
		t.Errorf("expired row: badge %v, detail %q", o.badge.Kind, o.detail.Text)
	}
}

func TestCheckNowShowsTheResult(t *testing.T) {
	fc := newFake()
	a := fc.addAccount(Account{Name: "work", State: AccountHealthy, Enabled: true})
	fc.checkRes[a.ID] = CheckResult{OK: false, Message: "401 from getoxsrf", Disabled: true}
	u, _ := newTestUI(t, fc, Options{StartPanel: PanelAccounts})
	test.Tap(accountRows(u.accounts)["work"].check)
	if len(fc.checked) != 1 || fc.checked[0] != a.ID {
		t.Fatalf("CheckAccount calls = %v", fc.checked)
	}
	d := accountRows(u.accounts)["work"].detail.Text
	if !strings.Contains(d, "check failed: 401 from getoxsrf (account disabled)") {
		t.Errorf("detail = %q", d)
	}
}

func TestDeleteAsksNamingTheAccount(t *testing.T) {
	fc := newFake()
	a := fc.addAccount(Account{Name: "work", State: AccountHealthy, Enabled: true})
	fc.addAccount(Account{Name: "other", State: AccountHealthy, Enabled: true})
	u, _ := newTestUI(t, fc, Options{StartPanel: PanelAccounts})
	test.Tap(accountRows(u.accounts)["work"].del)
	d := overlay(t, u.Window())
	if !hasLabel(d, `Delete "work"?`) {
		t.Fatalf("confirmation does not name the account: %q", labels(d))
	}
	if len(fc.deleted) != 0 {
		t.Fatal("deleted before confirming")
	}
	test.Tap(button(t, d, "Yes"))
	if len(fc.deleted) != 1 || fc.deleted[0] != a.ID {
		t.Fatalf("DeleteAccount calls = %v", fc.deleted)
	}
	if accountRows(u.accounts)["work"] != nil {
		t.Error("the deleted account is still listed")
	}
}

func TestEditKeepsSecretsWhenLeftEmpty(t *testing.T) {
	fc := newFake()
	a := fc.addAccount(Account{Name: "work", State: AccountHealthy, Enabled: true, ConfigID: testUUID, HintSecureCSES: "…a1b2", HintHostCOSES: "set", HintCSESIDX: "…42"})
	u, _ := newTestUI(t, fc, Options{StartPanel: PanelAccounts})
	test.Tap(accountRows(u.accounts)["work"].edit)
	f := u.accounts.form
	if got := f.byKey[fieldSecure].entry.PlaceHolder; got != "unchanged (…a1b2)" {
		t.Errorf("placeholder = %q", got)
	}
	if got := f.byKey[fieldHost].entry.PlaceHolder; got != "unchanged" {
		t.Errorf("placeholder = %q", got)
	}
	if f.byKey[fieldName].entry.Text != "work" || f.byKey[fieldConfigID].entry.Text != testUUID {
		t.Error("the form is not prefilled")
	}
	f.byKey[fieldName].entry.SetText("work-2")
	test.Tap(f.submit)
	got, ok := fc.updated[a.ID]
	if !ok {
		t.Fatal("UpdateAccount not called")
	}
	if got.SecureCSES != "" || got.CSESIDX != "" || got.Name != "work-2" || got.ConfigID != testUUID {
		t.Errorf("UpdateAccount got %+v", got)
	}
}

func TestSecretWarningExplainsInsteadOfOpeningTheForm(t *testing.T) {
	fc := newFake()
	fc.status.SecretWarning = "No OS keychain and no GATEWAY_SECRET_KEY: set GATEWAY_SECRET_KEY to store accounts."
	u, _ := newTestUI(t, fc, Options{StartPanel: PanelAccounts})
	if !u.accounts.secretBanner.box.Visible() {
		t.Error("no banner")
	}
	test.Tap(u.accounts.importBtn)
	if u.accounts.importer != nil {
		t.Fatal("import opened despite the warning")
	}
	if !hasLabel(overlay(t, u.Window()), "GATEWAY_SECRET_KEY") {
		t.Error("the dialog does not explain the warning")
	}
}

func TestImportPreviewThenAdd(t *testing.T) {
	fc := newFake()
	fc.preview = ImportPreview{
		Format: "json",
		Items: []ImportItem{
			{Input: AccountInput{Name: "a", ConfigID: testUUID, SecureCSES: "x", CSESIDX: "1", Enabled: true}, Hint: "C_SES …x, csesidx set"},
			{Input: AccountInput{Name: "b", ConfigID: "2b2b2b2b-0000-1111-2222-333344445555", SecureCSES: "y", CSESIDX: "2", Enabled: true}, Hint: "C_SES …y"},
		},
		Problems: []string{"item 3: config_id missing"},
	}
	fc.importRes = ImportResult{Added: []string{"a", "b"}, Problems: []string{"b: duplicate of an existing account, added anyway"}}
	u, _ := newTestUI(t, fc, Options{StartPanel: PanelAccounts})
	test.Tap(u.accounts.importBtn)
	d := u.accounts.importer
	if !d.add.Disabled() {
		t.Error("Add is enabled before a preview")
	}
	test.Type(d.text, `[{"name":"a"},{"name":"b"},{}]`)
	test.Tap(d.preview)

	if len(fc.parsed) != 1 {
		t.Fatalf("ParseImport calls = %d", len(fc.parsed))
	}
	if len(d.items) != 2 || d.cell(0, 0) != "a" || d.cell(1, 1) != "2b2b2b2b-0000-1111-2222-333344445555" || d.cell(0, 2) != "C_SES …x, csesidx set" {
		t.Errorf("preview rows wrong: %+v", d.items)
	}
	if !d.problems.Visible() || !strings.Contains(d.problems.Text, "item 3: config_id missing") {
		t.Errorf("problems = %q", d.problems.Text)
	}
	if d.add.Text != "Add 2 accounts" || d.add.Disabled() {
		t.Errorf("add button %q disabled=%v", d.add.Text, d.add.Disabled())
	}
	if !strings.Contains(d.summary.Text, "2 accounts found (json)") {
		t.Errorf("summary = %q", d.summary.Text)
	}

	test.Tap(d.add)
	if len(fc.imported) != 1 || len(fc.imported[0]) != 2 || fc.imported[0][1].Name != "b" {
		t.Fatalf("Import calls = %+v", fc.imported)
	}
	if !strings.Contains(d.result.Text, "Added 2: a, b") || !strings.Contains(d.problems.Text, "duplicate") {
		t.Errorf("result %q, problems %q", d.result.Text, d.problems.Text)
	}
	if !d.add.Disabled() || d.close.Text != "Close" {
		t.Error("after importing, Add should be disabled and Cancel read Close")
	}
	if accountRows(u.accounts)["b"] == nil {
		t.Error("imported accounts are not listed")
	}
}

func TestImportEditAfterPreviewNeedsNewPreview(t *testing.T) {
	fc := newFake()
	fc.preview = ImportPreview{Items: []ImportItem{{Input: AccountInput{Name: "a"}}}}
	u, _ := newTestUI(t, fc, Options{StartPanel: PanelAccounts})
	test.Tap(u.accounts.importBtn)
	d := u.accounts.importer
	test.Type(d.text, "x")
	test.Tap(d.preview)
	if d.add.Disabled() {
		t.Fatal("add disabled after preview")
	}
	test.Type(d.text, "y")
	if !d.add.Disabled() {
		t.Error("add still enabled after the text changed")
	}
}
