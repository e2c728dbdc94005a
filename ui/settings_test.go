package ui

import (
	"reflect"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
)

func testSettings() []Setting {
	return []Setting{
		{Name: "PORT", Label: "Port", Value: "7860", Kind: SettingNumber, Restart: true, Group: "Gateway"},
		{Name: "API_KEY", Label: "API key", Value: "sk-gg-secret", Kind: SettingText, Secret: true, Group: "Gateway"},
		{Name: "LOG_LEVEL", Label: "Log level", Value: "info", Kind: SettingChoice, Options: []string{"debug", "info", "warn"}, Group: "Gateway"},
		{Name: "HEALTH_INTERVAL", Label: "Check every", Value: "5m", Kind: SettingDuration, Group: "Health checks"},
		{Name: "REASONING_OUTPUT", Label: "Reasoning", Value: "content", Kind: SettingChoice, Options: []string{"content", "think", "off"}, OverriddenBy: "the environment", Group: "Upstream"},
		{Name: "UPSTREAM_TIMEOUT", Label: "Timeout", Value: "120", Kind: SettingDuration, OverriddenBy: "flag -timeout", Group: "Upstream"},
		{Name: "START_HIDDEN", Label: "Start hidden", Value: "false", Kind: SettingBool, Group: "Desktop"},
	}
}

func TestSettingsValidateInPlaceAndSaveOnlyChanges(t *testing.T) {
	fc := newFake()
	fc.settings = testSettings()
	fc.saveRes = SaveResult{Applied: []string{"HEALTH_INTERVAL", "START_HIDDEN"}, Restart: []string{"PORT"}}
	u, _ := newTestUI(t, fc, Options{StartPanel: PanelSettings})
	p := u.settings

	if !p.save.Disabled() {
		t.Error("Save enabled with nothing changed")
	}
	port := p.byName["PORT"]
	port.entry.SetText("70000")
	if !port.err.Visible() || !strings.Contains(port.err.Text, "between 1 and 65535") {
		t.Errorf("bad port message = %q (visible %v)", port.err.Text, port.err.Visible())
	}
	if !p.save.Disabled() {
		t.Error("Save enabled with an invalid port")
	}
	port.entry.SetText("78x")
	if !strings.Contains(port.err.Text, "whole number") {
		t.Errorf("non-numeric port message = %q", port.err.Text)
	}
	port.entry.SetText("8080")
	if port.err.Visible() {
		t.Errorf("valid port still flagged: %q", port.err.Text)
	}
	dur := p.byName["HEALTH_INTERVAL"]
	dur.entry.SetText("soon")
	if !dur.err.Visible() || !p.save.Disabled() {
		t.Error("bad duration accepted")
	}
	dur.entry.SetText("300")
	tapCheck(p.byName["START_HIDDEN"].check)
	if p.save.Disabled() {
		t.Fatal("Save disabled with valid changes")
	}
	test.Tap(p.save)

	if len(fc.saved) != 1 {
		t.Fatalf("SaveSettings calls = %d", len(fc.saved))
	}
	want := map[string]string{"PORT": "8080", "HEALTH_INTERVAL": "300", "START_HIDDEN": "true"}
	if !reflect.DeepEqual(fc.saved[0], want) {
		t.Errorf("SaveSettings got %v, want %v", fc.saved[0], want)
	}
	if !p.result.Visible() || !strings.Contains(p.result.Text, "Applied now: HEALTH_INTERVAL, START_HIDDEN") || !strings.Contains(p.result.Text, "restart of the app: PORT") {
		t.Errorf("result = %q", p.result.Text)
	}
	if !p.save.Disabled() {
		t.Error("Save still enabled after saving")
	}
}

func TestSettingsOverriddenAreDisabledAndNoted(t *testing.T) {
	fc := newFake()
	fc.settings = testSettings()
	u, _ := newTestUI(t, fc, Options{StartPanel: PanelSettings})
	p := u.settings
	if !p.byName["REASONING_OUTPUT"].choice.Disabled() || !p.byName["UPSTREAM_TIMEOUT"].entry.Disabled() {
		t.Error("an overridden setting can be edited")
	}
	if p.byName["PORT"].entry.Disabled() {
		t.Error("PORT is disabled")
	}
	text := richText(p.content)
	for _, s := range []string{"Set by the environment", "Set by flag -timeout", "applies after restart"} {
		if !strings.Contains(text, s) {
			t.Errorf("settings panel does not say %q", s)
		}
	}
	if !p.byName["API_KEY"].entry.Password {
		t.Error("the secret setting is not masked")
	}
	// Groups come in the documented order.
	var groups []string
	for _, o := range p.groups.Objects {
		groups = append(groups, richText(o))
	}
	order := []string{"Gateway", "Health checks", "Upstream", "Desktop"}
	for i, g := range order {
		if i >= len(groups) || !strings.HasPrefix(groups[i], g) {
			t.Errorf("group %d = %.20q, want %q", i, groups[min(i, len(groups)-1)], g)
		}
	}
}

func TestSettingsServerErrorsKeepInput(t *testing.T) {
	fc := newFake()
	fc.settings = testSettings()
	fc.saveErr = &FieldErrors{"PORT": "port 8080 is used by another program"}
	u, _ := newTestUI(t, fc, Options{StartPanel: PanelSettings})
	p := u.settings
	p.byName["PORT"].entry.SetText("8080")
	test.Tap(p.save)
	port := p.byName["PORT"]
	if port.err.Text != "port 8080 is used by another program" || !port.err.Visible() {
		t.Errorf("PORT message = %q", port.err.Text)
	}
	if port.entry.Text != "8080" {
		t.Errorf("input lost: %q", port.entry.Text)
	}
	if p.save.Disabled() {
		t.Error("cannot retry")
	}

	test.Tap(p.revert)
	if port.entry.Text != "7860" || port.err.Visible() || !p.save.Disabled() {
		t.Errorf("revert: %q err=%v", port.entry.Text, port.err.Visible())
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]string{"300": "5m0s", "5m": "5m0s", "1h30m": "1h30m0s", " 250ms ": "250ms", "0": "0s"} {
		d, err := parseDuration(in)
		if err != nil || d.String() != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %s", in, d, err, want)
		}
	}
	for _, in := range []string{"", "soon", "-5", "-1m", "5 m"} {
		if _, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) accepted", in)
		}
	}
}

// An empty field shows what empty means: the setting's default, or for a
// number or duration without one, the form it takes. A secret's default
// is never shown.
func TestSettingsEmptyFieldShowsTheDefault(t *testing.T) {
	fc := newFake()
	fc.settings = []Setting{
		{Name: "HOST", Label: "Listen address", Default: "127.0.0.1", Kind: SettingText, Group: "Gateway"},
		{Name: "SESSION_CACHE_SIZE", Label: "Sessions kept", Kind: SettingNumber, Group: "Gateway"},
		{Name: "ADMIN_KEY", Label: "Admin key", Default: "from admin.key", Kind: SettingText, Secret: true, Group: "Gateway"},
	}
	u, _ := newTestUI(t, fc, Options{StartPanel: PanelSettings})
	p := u.settings
	for name, want := range map[string]string{"HOST": "127.0.0.1", "SESSION_CACHE_SIZE": "a whole number", "ADMIN_KEY": ""} {
		if got := p.byName[name].entry.PlaceHolder; got != want {
			t.Errorf("%s: placeholder %q, want %q", name, got, want)
		}
	}
}
