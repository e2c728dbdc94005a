//go:build linux

package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStartAtLoginWritesXDGAutostart(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	if StartsAtLogin() {
		t.Fatal("on before set")
	}
	if err := SetStartAtLogin(true); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "autostart", AppID+".desktop"))
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	if !strings.Contains(string(b), "[Desktop Entry]") || !strings.Contains(string(b), exe) || !StartsAtLogin() {
		t.Fatalf("entry: %s", b)
	}
	if err := SetStartAtLogin(false); err != nil || StartsAtLogin() {
		t.Fatalf("off: %v", err)
	}
	if err := SetStartAtLogin(false); err != nil {
		t.Fatalf("off twice: %v", err)
	}
}
