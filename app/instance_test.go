package app

import (
	"errors"
	"sync/atomic"
	"testing"
)

func TestSingleInstance(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	dir := t.TempDir()
	first, err := acquireInstance(dir)
	if err != nil {
		t.Fatal(err)
	}
	var shown atomic.Int32
	first.OnShow(func() { shown.Add(1) })
	if _, err := acquireInstance(dir); !errors.Is(err, errAnotherInstance) {
		t.Fatalf("second launch: %v", err)
	}
	if shown.Load() != 1 {
		t.Fatalf("first instance shown %d times", shown.Load())
	}
	// Another data directory is another app.
	other, err := acquireInstance(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	other.Close()
	first.Close()
	// After the first one quit (or crashed, leaving the socket file), a
	// new launch takes over.
	again, err := acquireInstance(dir)
	if err != nil {
		t.Fatal(err)
	}
	again.Close()
}
