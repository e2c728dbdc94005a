//go:build windows

package autostart

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"golang.org/x/sys/windows/registry"
)

// The test uses the real HKCU Run key (under Wine, the test prefix's) with
// a value name of its own, removed at the end.
func TestSetWritesRunValue(t *testing.T) {
	var b [6]byte
	rand.Read(b[:])
	a := App{ID: "io.example.autostarttest", Name: "Autostart Test " + hex.EncodeToString(b[:])}
	t.Cleanup(func() { a.Set(false) })
	checkOnOff(t, a)
	if err := a.Set(true); err != nil {
		t.Fatal(err)
	}
	k, err := registry.OpenKey(registry.CURRENT_USER, RunKey, registry.QUERY_VALUE)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	v, typ, err := k.GetStringValue(a.Name)
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	if v != `"`+exe+`"` || typ != registry.SZ {
		t.Fatalf("Run value = %q (type %d), want the quoted executable %q", v, typ, exe)
	}
	// Another app's value is left alone.
	other := App{Name: a.Name + " other"}
	if other.Enabled() {
		t.Fatal("unrelated value reported on")
	}
}
