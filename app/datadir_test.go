package app

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The data directory is <user config dir>/gemini-gateway: %APPDATA% on
// Windows, ~/.config (XDG_CONFIG_HOME) on Linux.
func TestDefaultDataDirFollowsThePlatform(t *testing.T) {
	switch runtime.GOOS {
	case "windows":
		appData := t.TempDir()
		t.Setenv("APPDATA", appData)
		if got, want := DefaultDataDir(), filepath.Join(appData, "gemini-gateway"); !strings.EqualFold(got, want) {
			t.Fatalf("DefaultDataDir() = %q, want %q", got, want)
		}
	case "linux":
		cfg := t.TempDir()
		t.Setenv("XDG_CONFIG_HOME", cfg)
		if got, want := DefaultDataDir(), filepath.Join(cfg, "gemini-gateway"); got != want {
			t.Fatalf("DefaultDataDir() = %q, want %q", got, want)
		}
	}
	// Load uses it when GATEWAY_DATA_DIR is not set.
	o, err := ParseFlags(nil, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(o, []string{"HOME=" + t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != DefaultDataDir() {
		t.Fatalf("Load: data dir %q, want %q", cfg.DataDir, DefaultDataDir())
	}
}
