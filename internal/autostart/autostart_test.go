package autostart

import "testing"

// checkOnOff turns a on and off twice and checks Enabled each time.
func checkOnOff(t *testing.T, a App) {
	t.Helper()
	if a.Enabled() {
		t.Fatal("on before Set")
	}
	for i := 0; i < 2; i++ {
		if err := a.Set(true); err != nil {
			t.Fatal(err)
		}
		if !a.Enabled() {
			t.Fatal("off after Set(true)")
		}
		if err := a.Set(false); err != nil {
			t.Fatal(err)
		}
		if a.Enabled() {
			t.Fatal("on after Set(false)")
		}
	}
	if err := a.Set(false); err != nil {
		t.Fatalf("off twice: %v", err)
	}
}
