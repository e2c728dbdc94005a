//go:build !nogui

package app

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
	"github.com/gemgate/gemini-gateway/ui"
)

// uiLoop is the "UI goroutine" of these tests: every widget access and
// every dispatched update runs on it, so the race detector sees one owner.
type uiLoop struct{ c chan func() }

func newUILoop(t *testing.T) *uiLoop {
	l := &uiLoop{c: make(chan func(), 256)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for f := range l.c {
			f()
		}
	}()
	t.Cleanup(func() { close(l.c); <-done })
	return l
}

func (l *uiLoop) dispatch(f func()) { l.c <- f }

// do runs f on the loop and waits for it.
func (l *uiLoop) do(f func()) {
	done := make(chan struct{})
	l.c <- func() { f(); close(done) }
	<-done
}

// walk visits every object under o, widgets' rendered children included.
func walk(o fyne.CanvasObject, visit func(fyne.CanvasObject)) {
	if o == nil {
		return
	}
	visit(o)
	switch x := o.(type) {
	case *fyne.Container:
		for _, c := range x.Objects {
			walk(c, visit)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(x).Objects() {
			walk(c, visit)
		}
	}
}

func labels(o fyne.CanvasObject) []string {
	var out []string
	walk(o, func(c fyne.CanvasObject) {
		switch x := c.(type) {
		case *widget.Label:
			out = append(out, x.Text)
		case *widget.RichText:
			out = append(out, x.String())
		}
	})
	return out
}

// TestChatPanelStreamsThroughTheRealGateway drives the Chat panel with the
// real controller: the reply arrives over HTTP from the app's own listener,
// from the fake upstream, and the view grows while it streams.
func TestChatPanelStreamsThroughTheRealGateway(t *testing.T) {
	// Elements 250 ms apart: at 120 ms a machine at load 23 once saw the
	// reply in fewer than three sizes between its 40 ms polls.
	fake := fakeupstream.Start(fakeupstream.Options{ElementDelay: 250 * time.Millisecond, SplitWrites: true})
	defer fake.Close()
	d := fakeupstream.DemoAccount(41)
	fake.AddAccount(d)
	a := startApp(t, fake, map[string]string{"SECURE_C_SES": d.SecureCSES, "CSESIDX": d.CSESIDX, "CONFIG_ID": d.ConfigID})
	ctrl := newController(a.App)
	defer ctrl.close()

	test.NewTempApp(t)
	loop := newUILoop(t)
	var u *ui.UI
	var root fyne.CanvasObject
	loop.do(func() {
		u = ui.New(fyne.CurrentApp(), ctrl, loop.dispatch, ui.Options{StartPanel: ui.PanelChat})
		root = u.Window().Content()
		var input interface{ SetText(string) }
		var send *widget.Button
		walk(root, func(o fyne.CanvasObject) {
			// The message box is a widget that embeds widget.Entry.
			if v := reflect.ValueOf(o); v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Struct {
				if ph := v.Elem().FieldByName("PlaceHolder"); ph.IsValid() && ph.String() == "Message (Ctrl+Enter to send)" {
					input = o.(interface{ SetText(string) })
				}
			}
			switch x := o.(type) {
			case *widget.Button:
				if x.Text == "Send" {
					send = x
				}
			}
		})
		if input == nil || send == nil {
			t.Fatal("chat input or Send button not found")
		}
		input.SetText("Write a couplet")
		test.Tap(send)
	})
	defer loop.do(u.Close)

	var sizes []int
	deadline := time.Now().Add(20 * time.Second)
	var all []string
	for time.Now().Before(deadline) {
		loop.do(func() { all = labels(root) })
		answer := ""
		for _, l := range all {
			if strings.HasPrefix(l, "Here is a spring couplet") {
				answer = l
			}
		}
		if n := len(answer); n > 0 && (len(sizes) == 0 || sizes[len(sizes)-1] != n) {
			sizes = append(sizes, n)
		}
		if answer == fakeupstream.NormalAnswer && footer(all) != "" {
			break
		}
		time.Sleep(40 * time.Millisecond)
	}
	if len(sizes) < 3 {
		t.Fatalf("the reply did not grow while streaming: sizes %v, labels %q", sizes, all)
	}
	f := footer(all)
	if !strings.Contains(f, "TTFT") || !strings.Contains(f, "tok/s") || !strings.Contains(f, "account environment") {
		t.Errorf("footer = %q", f)
	}
	// What the panel showed came through the real listener.
	rows := ctrl.RecentRequests()
	if len(rows) != 1 || rows[0].Status != 200 || rows[0].Account != "environment" || !strings.HasPrefix(rows[0].ID, "chat-") {
		t.Errorf("request log = %+v", rows)
	}
	if turns := fake.Sessions(d.CSESIDX); len(turns) != 1 || turns[0].Turns[0].Query != "Write a couplet" {
		t.Errorf("upstream saw %+v", turns)
	}
}

func footer(all []string) string {
	for _, l := range all {
		if strings.HasPrefix(l, "TTFT") {
			return l
		}
	}
	return ""
}
