//go:build darwin

package autostart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSetWritesLaunchAgent(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	a := App{ID: "io.example.autostarttest", Name: "Autostart Test"}
	checkOnOff(t, a)
	if err := a.Set(true); err != nil {
		t.Fatal(err)
	}
	defer a.Set(false)
	b, err := os.ReadFile(filepath.Join(os.Getenv("HOME"), "Library", "LaunchAgents", a.ID+".plist"))
	if err != nil || !strings.Contains(string(b), "<string>"+a.ID+"</string>") {
		t.Fatalf("plist: %v\n%s", err, b)
	}
}
