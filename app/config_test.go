package app

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/pool"
)

func TestResolvePrecedence(t *testing.T) {
	layers := []Layer{
		{Source: "settings", Vars: map[string]string{"PORT": "7001", "API_KEY": "from-settings", "REASONING_OUTPUT": "think"}},
		{Source: "/data/.env", Vars: map[string]string{"PORT": "7002", "HEALTH_CHECK_INTERVAL": "60"}},
		{Source: "./.env", Vars: map[string]string{"PORT": "7003"}},
		{Source: "environment", Vars: map[string]string{"PORT": "7004", "HEALTH_CHECK_TIMEOUT": "2m"}},
		{Source: "flag", Vars: map[string]string{"PORT": "7005"}},
	}
	c, err := Resolve(layers)
	if err != nil {
		t.Fatal(err)
	}
	if c.Gateway.Port != 7005 || c.Sources["PORT"] != "flag" {
		t.Errorf("PORT = %d from %s", c.Gateway.Port, c.Sources["PORT"])
	}
	if c.Gateway.APIKey != "from-settings" || c.Gateway.Reasoning != "think" {
		t.Errorf("settings layer lost: %+v", c.Gateway)
	}
	if c.Health.Interval != time.Minute || c.Health.Timeout != 2*time.Minute {
		t.Errorf("durations: %v %v", c.Health.Interval, c.Health.Timeout)
	}
	// Defaults where nothing is set: the Python gateway's.
	if !c.Health.Enabled || c.Health.RetryCount != 2 || c.Health.Concurrency != 5 || !c.Health.AutoDisable || c.Health.NetworkErrorThreshold != 3 {
		t.Errorf("health defaults: %+v", c.Health)
	}
	if c.Pool.Strategy != pool.StrategyFailover || c.Gateway.Host != "127.0.0.1" {
		t.Errorf("defaults: %s %s", c.Pool.Strategy, c.Gateway.Host)
	}
}

func TestResolveErrorsNameTheVariable(t *testing.T) {
	tests := []struct{ name, value, want string }{
		{"PORT", "http", "PORT (from environment): want a whole number from 0 to 65535"},
		{"HEALTH_CHECK_INTERVAL", "often", "HEALTH_CHECK_INTERVAL"},
		{"HEALTH_CHECK_ENABLED", "maybe", "want true or false"},
		{"GEMINI_API_URL", "ftp://x", "want an http:// or https:// URL"},
		{"PROXY", "gopher://p:1", "scheme \"gopher\" is not supported"},
		{"SELECTION_STRATEGY", "random", "want failover or round-robin"},
		{"DATABASE_URL", "mysql://x", "want a PostgreSQL URL"},
		{"GATEWAY_SECRET_KEY", "short", "at least 16 characters"},
		{"TIME_ZONE", "Mars/Base", "IANA time zone"},
		{"CSESIDX", "12a", "CSESIDX: must be a number"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]string{tc.name: tc.value}
			if tc.name == "CSESIDX" {
				vars["SECURE_C_SES"] = "CSE.abcdef"
				vars["CONFIG_ID"] = "5f2b8c1e-93a4-4d7f-b2e6-0c9a1d3e7f48"
			}
			_, err := Resolve([]Layer{{Source: "environment", Vars: vars}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestEnvAccountFromEnvironment(t *testing.T) {
	c, err := Resolve([]Layer{EnvironLayer([]string{
		"SECURE_C_SES=CSE.abcdefgh", "CSESIDX=2026259595", "CONFIG_ID=5F2B8C1E-93A4-4D7F-B2E6-0C9A1D3E7F48", "UNRELATED=x",
	})})
	if err != nil {
		t.Fatal(err)
	}
	if c.EnvAccount == nil || c.EnvAccount.SecureCSES != "CSE.abcdefgh" || c.EnvAccount.ConfigID != "5f2b8c1e-93a4-4d7f-b2e6-0c9a1d3e7f48" {
		t.Fatalf("env account = %v", c.EnvAccount)
	}
	if _, err := Resolve([]Layer{EnvironLayer([]string{"SECURE_C_SES=CSE.abcdefgh"})}); err == nil || !strings.Contains(err.Error(), "CSESIDX") {
		t.Errorf("incomplete env account: %v", err)
	}
}

func TestLoadReadsDotEnvAndSettings(t *testing.T) {
	cwd, data := t.TempDir(), t.TempDir()
	t.Chdir(cwd)
	os.WriteFile(filepath.Join(cwd, ".env"), []byte("# comment\nexport PORT=7101\nAPI_KEY='quoted key'\nREASONING_OUTPUT=off # trailing\n"), 0o600)
	os.WriteFile(filepath.Join(data, ".env"), []byte("PORT=7102\nSHUTDOWN_GRACE=5s\n"), 0o600)
	if err := SaveSettings(data, map[string]string{"PORT": "7103", "SELECTION_STRATEGY": "round-robin"}); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(filepath.Join(data, "settings.json"))
	// Windows has no POSIX modes (the profile's ACL keeps %APPDATA% private).
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("settings.json mode %v", fi.Mode().Perm())
	}
	c, err := Load(Options{Flags: map[string]string{}}, []string{"GATEWAY_DATA_DIR=" + data})
	if err != nil {
		t.Fatal(err)
	}
	if c.Gateway.Port != 7101 || c.Gateway.APIKey != "quoted key" || c.Gateway.Reasoning != "off" {
		t.Errorf("cwd .env: port %d key %q reasoning %q", c.Gateway.Port, c.Gateway.APIKey, c.Gateway.Reasoning)
	}
	if c.Gateway.ShutdownGrace != 5*time.Second || c.Pool.Strategy != pool.StrategyRoundRobin {
		t.Errorf("data .env or settings lost: %v %s", c.Gateway.ShutdownGrace, c.Pool.Strategy)
	}
	if c.DataDir != data || len(c.EnvFiles) != 2 {
		t.Errorf("data dir %s env files %v", c.DataDir, c.EnvFiles)
	}
	o, err := ParseFlags([]string{"-port", "7200", "-set", "LOG_LEVEL=debug", "-headless"}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	c, err = Load(o, []string{"GATEWAY_DATA_DIR=" + data, "PORT=7300"})
	if err != nil || c.Gateway.Port != 7200 || c.LogLevel != "debug" || !c.Headless {
		t.Fatalf("flags: %v %+v", err, c)
	}
}

func TestLanguageAndTimeZoneDefaults(t *testing.T) {
	if got := languageFromLocale("", "de_DE.UTF-8"); got != "de-DE" {
		t.Errorf("got %q", got)
	}
	if got := languageFromLocale("C.UTF-8", ""); got != "en-US" {
		t.Errorf("got %q", got)
	}
	t.Setenv("TZ", "Asia/Tokyo")
	if got := systemTimeZone(); got != "Asia/Tokyo" {
		t.Errorf("got %q", got)
	}
}

// TestReadDotEnvSharedSyntax checks that a .env file is read with the same
// syntax as a .env block pasted into the importer (internal/dotenv): the
// forms the two used to read differently, and an error that names the
// line without quoting it.
func TestReadDotEnvSharedSyntax(t *testing.T) {
	p := filepath.Join(t.TempDir(), ".env")
	os.WriteFile(p, []byte("A=\"x\\ny\"\nset B=2\n$env:C = \"3\"\nD=\"a\\qb\"\n"), 0o600)
	got, err := ReadDotEnv(p)
	if err != nil || got["A"] != "x\ny" || got["B"] != "2" || got["C"] != "3" || got["D"] != `a\qb` {
		t.Errorf("ReadDotEnv = %q, %v", got, err)
	}
	os.WriteFile(p, []byte("A=1\nAPI_KEY=\"sk-secret-value\n"), 0o600)
	_, err = ReadDotEnv(p)
	if err == nil || !strings.Contains(err.Error(), ".env:2") || strings.Contains(err.Error(), "sk-secret") {
		t.Errorf("error %v: want the line named and its value not quoted", err)
	}
}
