package ui

import (
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/systray"
)

// SysTray is the real tray: a StatusNotifierItem with a D-Bus menu on
// Linux (the notification area on Windows, the menu bar on macOS), driven
// through fyne.io/systray directly rather than through Fyne's desktop.App.
// The difference matters: Fyne runs a tray click on its event loop and
// waits for it there, so that loop could never sleep while the window is
// hidden. Here a click is handed to Dispatch like any other event, and the
// app's Dispatch wakes the loop (see app/idle_linux.go).
type SysTray struct {
	dispatch Dispatch
	icons    map[GatewayState][]byte
	onTap    func()

	mu    sync.Mutex
	ready bool
	menu  []trayEntry
	state GatewayState
	end   func()
}

// trayEntry is what the tray shows of one menu item, copied so that the
// tray never reads a *fyne.MenuItem off the Fyne goroutine.
type trayEntry struct {
	separator bool
	label     string
	checked   bool
	disabled  bool
	action    func()
}

// NewSysTray makes a tray with a PNG icon per gateway state (the Linux
// tray ignores SVG). onTap runs, through dispatch, when the icon itself is
// clicked (show the window); menu actions run through dispatch too.
func NewSysTray(icons map[GatewayState][]byte, onTap func(), dispatch Dispatch) *SysTray {
	return &SysTray{dispatch: dispatch, icons: icons, onTap: onTap, state: StateStopped}
}

// Start puts the icon in the tray. Call it once, on the Fyne goroutine
// after the app started (macOS wants its main thread).
func (t *SysTray) Start() {
	start, end := systray.RunWithExternalLoop(t.onReady, nil)
	t.mu.Lock()
	t.end = end
	t.mu.Unlock()
	start()
}

// Stop takes the icon out of the tray.
func (t *SysTray) Stop() {
	t.mu.Lock()
	end := t.end
	t.end = nil
	t.mu.Unlock()
	if end != nil {
		end()
	}
}

func (t *SysTray) onReady() {
	systray.SetTitle("Gemini Gateway")
	systray.SetTooltip("Gemini Gateway")
	if t.onTap != nil {
		systray.SetOnTapped(func() { t.dispatch(t.onTap) })
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ready = true
	t.applyIcon()
	t.applyMenu()
}

// SetMenu shows m's items. Checked items get a checkbox, disabled ones are
// greyed out, separators stay separators.
func (t *SysTray) SetMenu(m *fyne.Menu) {
	entries := make([]trayEntry, 0, len(m.Items))
	for _, it := range m.Items {
		entries = append(entries, trayEntry{
			separator: it.IsSeparator,
			label:     it.Label,
			checked:   it.Checked,
			disabled:  it.Disabled || it.Action == nil,
			action:    it.Action,
		})
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.menu = entries
	if t.ready {
		t.applyMenu()
	}
}

// SetState shows the icon of a gateway state.
func (t *SysTray) SetState(s GatewayState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.state = s
	if t.ready {
		t.applyIcon()
	}
}

// applyMenu rebuilds the whole D-Bus menu; t.mu is held.
func (t *SysTray) applyMenu() {
	// ResetMenu closes the click channels of the old items, which ends
	// their listeners below.
	systray.ResetMenu()
	var last *systray.MenuItem
	for _, e := range t.menu {
		if e.separator {
			systray.AddSeparator()
			continue
		}
		var mi *systray.MenuItem
		if e.checked {
			mi = systray.AddMenuItemCheckbox(e.label, "", true)
		} else {
			mi = systray.AddMenuItem(e.label, "")
		}
		if e.disabled {
			mi.Disable()
		}
		if e.action != nil {
			go func(clicks chan struct{}, action func()) {
				for range clicks {
					t.dispatch(action)
				}
			}(mi.ClickedCh, e.action)
		}
		last = mi
	}
	// ResetMenu announced the new layout before it had any items; updating
	// an existing item announces it again, complete, so a panel that
	// fetched it in between does not keep an empty menu.
	if last != nil {
		last.SetTooltip("")
	}
}

func (t *SysTray) applyIcon() {
	if ic := t.icons[t.state]; ic != nil {
		systray.SetIcon(ic)
	}
}
