package app

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestSettingDefaultsAsDocumented pins the defaults the table writes in
// -help, the Settings panel and README, all read from Defaults(): a
// package's DefaultConfig that changes shows here.
func TestSettingDefaultsAsDocumented(t *testing.T) {
	want := map[string]string{
		"HOST": "127.0.0.1", "PORT": "7860", "ALLOW_KEYLESS_LOOPBACK": "false", "REASONING_OUTPUT": "reasoning_content",
		"DEFAULT_MODEL": "gemini-auto", "MODEL_STICKINESS": "true", "KEEPALIVE_INTERVAL": "10s", "MODEL_FALLBACK": "false",
		"MODEL_RECHECK": "1h", "MAX_BODY_BYTES": "20971520", "MAX_BODY_BYTES_IN_FLIGHT": "134217728", "READ_BODY_TIMEOUT": "30s",
		"MAX_CONCURRENT_PER_CLIENT": "2048", "READ_HEADER_TIMEOUT": "10s", "MAX_HEADER_BYTES": "65536", "SHUTDOWN_GRACE": "30s",
		"PPROF": "false", "SELECTION_STRATEGY": "failover", "MAX_ATTEMPTS": "3", "QUOTA_COOLDOWN": "600s",
		"UNAUTHORIZED_COOLDOWN": "2h", "SESSION_TTL": "2h", "SESSION_CACHE_SIZE": "10000", "BROWSER_REFRESH_INTERVAL": "1h",
		"EXPIRY_NOTICE": "1h", "BROWSER_PATH": "found automatically", "GATEWAY_DATA_DIR": "the OS user config dir",
		"HEALTH_CHECK_ENABLED": "true", "HEALTH_CHECK_INTERVAL": "300s", "HEALTH_CHECK_TIMEOUT": "30s",
		"HEALTH_CHECK_RETRY_COUNT": "2", "HEALTH_CHECK_CONCURRENT_LIMIT": "5", "HEALTH_CHECK_AUTO_DISABLE": "true",
		"HEALTH_CHECK_NETWORK_ERROR_THRESHOLD": "3", "LANGUAGE_CODE": "from LANG, else en-US", "TIME_ZONE": "the system's",
		"USER_AGENT": "desktop Chrome", "UPSTREAM_FIRST_BYTE_TIMEOUT": "120s", "UPSTREAM_IDLE_TIMEOUT": "120s",
		"UPSTREAM_MEDIA_TIMEOUT": "600s", "UPSTREAM_CONNECT_TIMEOUT": "15s", "GEMINI_BUSINESS_URL": "https://business.gemini.google",
		"GEMINI_AUTH_URL": "https://auth.business.gemini.google", "GEMINI_API_URL": "https://biz-discoveryengine.googleapis.com",
		"START_AT_LOGIN": "false", "LOG_LEVEL": "info", "LOG_FORMAT": "text", "TOOLS_SPEC": "per-turn",
		"IMAGE_DAILY_LIMIT": "2", "VIDEO_DAILY_LIMIT": "1", "IMAGE_COOLDOWN": "4h", "VIDEO_COOLDOWN": "4h", "GENERATED_FILE_TTL": "24h",
	}
	d := Defaults()
	for _, s := range Settings() {
		if got := s.Default(d); got != want[s.Name] {
			t.Errorf("%s: default %q, want %q", s.Name, got, want[s.Name])
		}
	}
}

// TestSettingDefaultsParseBack applies each written default to the
// defaults: it must parse and change nothing, so what -help and README
// say is what a run without the variable gets.
func TestSettingDefaultsParseBack(t *testing.T) {
	for _, s := range Settings() {
		if s.DefaultText != "" || s.at == nil {
			continue
		}
		c, want := Defaults(), Defaults()
		if err := s.apply(c, s.Default(want)); err != nil {
			t.Errorf("%s: default %q does not parse: %v", s.Name, s.Default(want), err)
			continue
		}
		if !reflect.DeepEqual(c, want) {
			t.Errorf("%s: applying its default %q changed the configuration", s.Name, s.Default(want))
		}
	}
}

// TestSettingsTableWellFormed checks what the generic parsing relies on.
func TestSettingsTableWellFormed(t *testing.T) {
	names, flags := map[string]bool{}, map[string]bool{}
	groups := []string{}
	for _, s := range Settings() {
		if names[s.Name] {
			t.Errorf("%s listed twice", s.Name)
		}
		names[s.Name] = true
		if s.Flag != "" && flags[s.Flag] {
			t.Errorf("flag -%s used twice", s.Flag)
		}
		flags[s.Flag] = true
		if s.Help == "" || s.Group == "" {
			t.Errorf("%s: no help or group", s.Name)
		}
		if s.at == nil && s.set == nil {
			t.Errorf("%s: sets nothing", s.Name)
		}
		if (s.Kind == KindChoice) != (len(s.Options) > 0) {
			t.Errorf("%s: options %v for kind %d", s.Name, s.Options, s.Kind)
		}
		if s.Kind == KindNumber && s.Max <= s.Min {
			t.Errorf("%s: bounds %d..%d", s.Name, s.Min, s.Max)
		}
		if len(groups) == 0 || groups[len(groups)-1] != s.Group {
			for _, g := range groups {
				if g == s.Group {
					t.Errorf("%s: group %q is split in two", s.Name, s.Group)
				}
			}
			groups = append(groups, s.Group)
		}
		if s.Name == "GATEWAY_SECRET_KEY" && s.InPanel() {
			t.Error("the secret key must not be editable next to the database it unlocks")
		}
	}
}

func TestSettingChoicesAndNumbersRefuseBadValues(t *testing.T) {
	tests := []struct{ name, value, want string }{
		{"LOG_LEVEL", "loud", "want debug, info, warn or error"},
		{"LOG_FORMAT", "xml", "want text or json"},
		{"REASONING_OUTPUT", "x", "want reasoning_content, think or off"},
		{"TOOLS_SPEC", "some", "want per-turn or all"},
		{"MAX_ATTEMPTS", "0", "want a whole number from 1 to 20"},
		{"MAX_BODY_BYTES_IN_FLIGHT", "12x", "want a whole number from 1024 to 1099511627776"},
		{"SESSION_TTL", "-5", "must not be negative"},
		{"PUBLIC_BASE_URL", "gw.example.com", "want an http:// or https:// URL"},
		{"HOST", " [] ", "must not be empty"},
		{"TRUSTED_PROXIES", "10.0.0.0/99", "want IP addresses or CIDR prefixes"},
	}
	for _, tc := range tests {
		_, err := Resolve([]Layer{{Source: "environment", Vars: map[string]string{tc.name: tc.value}}})
		if err == nil || !strings.Contains(err.Error(), tc.name+" (from environment): "+tc.want) {
			t.Errorf("%s=%q: err = %v, want %q", tc.name, tc.value, err, tc.want)
		}
	}
	c, err := Resolve([]Layer{{Source: "environment", Vars: map[string]string{
		"LOG_LEVEL": " WARN ", "HOST": "[::1]", "GEMINI_API_URL": "http://127.0.0.1:9/api/", "SESSION_TTL": "1.5",
		"MAX_BODY_BYTES": "4096", "CORS_ORIGINS": " a , ,b ", "MODEL_ALIASES": "gpt-5*=gemini-2.5-pro",
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if c.LogLevel != "warn" || c.Gateway.Host != "::1" || c.Upstream.APIURL != "http://127.0.0.1:9/api" ||
		c.Pool.SessionTTL != 1500*time.Millisecond || c.Gateway.MaxBodyBytes != 4096 ||
		!reflect.DeepEqual(c.Gateway.CORSOrigins, []string{"a", "b"}) || len(c.Gateway.ModelAliases) != 1 {
		t.Errorf("parsed: %+v", c)
	}
}

// TestHealthLimitsShared: HEALTH_CHECK_AUTO_DISABLE and
// _NETWORK_ERROR_THRESHOLD reach both the pool and the health checker.
func TestHealthLimitsShared(t *testing.T) {
	c, err := Resolve([]Layer{{Source: "settings", Vars: map[string]string{
		"HEALTH_CHECK_AUTO_DISABLE": "false", "HEALTH_CHECK_NETWORK_ERROR_THRESHOLD": "7"}}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Pool.AutoDisable || c.Health.AutoDisable || c.Pool.NetworkErrorThreshold != 7 || c.Health.NetworkErrorThreshold != 7 {
		t.Errorf("pool %+v, health %+v", c.Pool, c.Health)
	}
	d := Defaults()
	if d.Health.AutoDisable != d.Pool.AutoDisable || d.Health.NetworkErrorThreshold != d.Pool.NetworkErrorThreshold {
		t.Errorf("defaults differ: pool %+v, health %+v", d.Pool, d.Health)
	}
}

// TestUISettingsFromTheTable: GATEWAY_UI_* come through the table like
// every other variable (and so are listed by -help).
func TestUISettingsFromTheTable(t *testing.T) {
	c, err := Resolve([]Layer{EnvironLayer([]string{"GATEWAY_UI_HIDDEN=1", "GATEWAY_UI_PANEL=settings"})})
	if err != nil {
		t.Fatal(err)
	}
	if !c.UI.Hidden || c.UI.StartPanel != "settings" {
		t.Errorf("UI = %+v", c.UI)
	}
	// As before the table: any value hides the window, even "0".
	if c, _ := Resolve([]Layer{EnvironLayer([]string{"GATEWAY_UI_HIDDEN=0"})}); !c.UI.Hidden {
		t.Error("GATEWAY_UI_HIDDEN=0 did not hide")
	}
	if c, _ := Resolve(nil); c.UI.Hidden || c.UI.StartPanel != "" {
		t.Errorf("default UI = %+v", c.UI)
	}
}

func TestHelpListsEverySettingAndFlag(t *testing.T) {
	var out bytes.Buffer
	if _, err := ParseFlags([]string{"-help"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v", err)
	}
	help := out.String()
	for _, s := range Settings() {
		if !strings.Contains(help, "\n  "+s.Name+" ") {
			t.Errorf("-help misses %s", s.Name)
		}
	}
	if !strings.Contains(help, `[default "7860"]`) || !strings.Contains(help, "\nHealth checks:\n") {
		t.Errorf("-help lacks a default or a group:\n%s", help)
	}
	flags := map[string]string{"host": "HOST", "port": "PORT", "data-dir": "GATEWAY_DATA_DIR",
		"database-url": "DATABASE_URL", "log-level": "LOG_LEVEL", "log-format": "LOG_FORMAT"}
	for f, name := range flags {
		o, err := ParseFlags([]string{"-" + f, "v-" + f}, &out)
		if err != nil || len(o.Flags) != 1 || o.Flags[name] != "v-"+f {
			t.Errorf("-%s: %v %v", f, o.Flags, err)
		}
	}
}

// TestREADMESettingsTables fails when a settings table in README.md is not
// the one the code makes; UPDATE_README=1 (make settings-readme) rewrites
// them instead.
func TestREADMESettingsTables(t *testing.T) {
	const path = "../README.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := RewriteSettingsTables(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("UPDATE_README") == "1" {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got != string(b) {
		t.Error("README.md's settings tables differ from the settings table: run `make settings-readme`")
	}
	if !strings.Contains(got, "| `HEALTH_CHECK_INTERVAL` | `300s` |") || !strings.Contains(got, "| `TOOLS_SPEC` | `per-turn` |") {
		t.Error("README lacks the generated rows")
	}
}

func TestRewriteSettingsTablesRefusesBadMarkers(t *testing.T) {
	for _, readme := range []string{
		"no table here\n",
		"<!-- settings PORT -->\n| old |\n",
		"<!-- settings NOT_A_SETTING -->\n<!-- /settings -->\n",
	} {
		if _, err := RewriteSettingsTables(readme); err == nil {
			t.Errorf("%q: no error", readme)
		}
	}
	got, err := RewriteSettingsTables("a\n<!-- settings PORT HOST -->\n| stale |\n<!-- /settings -->\nb\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "a\n<!-- settings PORT HOST -->\n| Variable | Default | Meaning | In the app |\n|---|---|---|---|\n" +
		"| `PORT` (`-port`) | `7860` | port of the OpenAI-compatible API | Gateway: live (listener restarts) |\n" +
		"| `HOST` (`-host`) | `127.0.0.1` | address to listen on; anything but loopback needs API_KEY | Gateway: live (listener restarts) |\n" +
		"<!-- /settings -->\nb\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
