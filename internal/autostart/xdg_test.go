//go:build linux

package autostart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSetWritesXDGAutostart(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	a := App{ID: "io.example.autostarttest", Name: "Autostart Test", Comment: "a test"}
	checkOnOff(t, a)
	if err := a.Set(true); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "autostart", a.ID+".desktop"))
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	for _, want := range []string{"[Desktop Entry]", "Name=Autostart Test", "Exec=\"" + exe + "\"", "Icon=" + a.ID} {
		if !strings.Contains(string(b), want) {
			t.Errorf("entry lacks %q:\n%s", want, b)
		}
	}
	a.Set(false)
}
