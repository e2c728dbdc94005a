//go:build linux && !nogui

package app

import (
	"strings"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
	"github.com/gemgate/gemini-gateway/internal/instance"
)

// "quit" on the single-instance channel stops the desktop app gracefully
// even while it is hidden: on Windows that is how a GUI program is stopped
// from outside, so the path is tested here too.
func TestDesktopAppQuitsOnInstanceMessage(t *testing.T) {
	needDesktop(t)
	fake := fakeupstream.Start(fakeupstream.Options{})
	defer fake.Close()
	app := startDesktopApp(t, fake)
	for _, kv := range app.Cmd.Env {
		if v, ok := strings.CutPrefix(kv, "XDG_RUNTIME_DIR="); ok {
			t.Setenv("XDG_RUNTIME_DIR", v) // the app's socket directory
		}
	}
	if err := instance.Send(app.data, instance.Quit); err != nil {
		t.Fatal(err)
	}
	select {
	case <-app.Done:
		if code := app.Cmd.ProcessState.ExitCode(); code != 0 {
			t.Fatalf("exit code %d", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("quit did not end the app")
	}
	if err := instance.Send(app.data, instance.Show); err == nil {
		t.Fatal("the channel still answers after quit")
	}
}
