package ui

import (
	"context"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Panel names for Options.StartPanel and UI.SelectPanel.
const (
	PanelOverview = "overview"
	PanelAccounts = "accounts"
	PanelHealth   = "health"
	PanelChat     = "chat"
	PanelSettings = "settings"
	PanelLogs     = "logs"
	PanelClients  = "clients"
	PanelUsage    = "usage"
)

// Preference keys for the remembered window size.
const (
	prefWidth  = "window.width"
	prefHeight = "window.height"
)

// defaultSize is the first-run window size.
func defaultSize() fyne.Size { return fyne.NewSize(1000, 680) }

// Options tune the UI.
type Options struct {
	// StartPanel is the panel shown first ("overview", "accounts", …).
	// Empty: the overview, or the accounts panel when there is no account
	// yet.
	StartPanel string
	// Notify enables OS notifications when accounts stop working.
	Notify bool
	// OnQuit runs for the tray's Quit item (on the Fyne goroutine). Nil:
	// the app's Quit.
	OnQuit func()
	// OnVisible, if set, is told (on the Fyne goroutine) when the window
	// is shown and when closing it only hid it, so the app can let its
	// event loop sleep while nothing is on screen.
	OnVisible func(visible bool)
}

// UI is the desktop interface: one window with a panel per concern, the
// tray menu, and notifications.
type UI struct {
	sh     *shell
	opts   Options
	ctx    context.Context
	cancel context.CancelFunc

	tabs   *container.AppTabs
	names  []string
	status *widget.Label

	overview *overviewPanel
	accounts *accountsPanel
	health   *healthPanel
	chat     *chatPanel
	settings *settingsPanel
	logs     *logsPanel
	clients  *clientsPanel // nil when the controller has no client keys
	usage    *usagePanel
	notifier *notifier

	tray      *fyne.Menu
	traySig   string
	trayState GatewayState
	trayHost  TrayHost // nil without a tray

	stopToast    func()
	stopTrayTick func()
	stopClock    func()
	cancelSub    func()
	closed       bool
}

// New builds the window (not shown yet) and subscribes to the controller's
// events. dispatch runs a function on the Fyne goroutine (fyne.Do in the
// app); the UI never calls fyne.Do itself. Call it on the Fyne goroutine
// or before the app runs.
func New(a fyne.App, c Controller, dispatch Dispatch, opts Options) *UI {
	return newUI(a, c, realEnv(dispatch), opts)
}

func newUI(a fyne.App, c Controller, e env, opts Options) *UI {
	w := a.NewWindow("Gemini Gateway")
	ctx, cancel := context.WithCancel(context.Background())
	u := &UI{opts: opts, ctx: ctx, cancel: cancel, trayState: StateStopped}
	u.status = &widget.Label{Importance: widget.LowImportance, Truncation: fyne.TextTruncateEllipsis}
	u.sh = &shell{c: c, env: e, app: a, win: w, toast: u.toast}

	u.overview = newOverviewPanel(u.sh)
	u.accounts = newAccountsPanel(u.sh, ctx)
	u.health = newHealthPanel(u.sh, ctx)
	u.chat = newChatPanel(u.sh, ctx)
	u.settings = newSettingsPanel(u.sh)
	u.logs = newLogsPanel(u.sh)
	u.notifier = newNotifier(u.sh, opts.Notify)
	u.accounts.onUserToggle = u.notifier.toggledByUser
	u.sh.onChange = u.syncTray

	u.names = []string{PanelOverview, PanelAccounts, PanelHealth, PanelChat, PanelSettings, PanelLogs}
	u.tabs = container.NewAppTabs(
		container.NewTabItemWithIcon("Overview", theme.HomeIcon(), u.overview.object()),
		container.NewTabItemWithIcon("Accounts", theme.AccountIcon(), u.accounts.object()),
		container.NewTabItemWithIcon("Health", theme.ConfirmIcon(), u.health.object()),
		container.NewTabItemWithIcon("Chat", theme.MailComposeIcon(), u.chat.object()),
		container.NewTabItemWithIcon("Settings", theme.SettingsIcon(), u.settings.object()),
		container.NewTabItemWithIcon("Logs", theme.ListIcon(), u.logs.object()),
	)
	if cc, ok := c.(ClientsController); ok {
		u.clients = newClientsPanel(u.sh, cc)
		u.usage = newUsagePanel(u.sh, cc)
		u.names = append(u.names, PanelClients, PanelUsage)
		u.tabs.Append(container.NewTabItemWithIcon("Clients", theme.LoginIcon(), u.clients.object()))
		u.tabs.Append(container.NewTabItemWithIcon("Usage", theme.GridIcon(), u.usage.object()))
	}
	u.tabs.SetTabLocation(container.TabLocationLeading)
	statusBar := container.NewPadded(u.status)
	w.SetContent(container.NewBorder(nil, statusBar, nil, nil, u.tabs))
	w.Resize(u.savedSize())
	w.SetCloseIntercept(u.onCloseRequest)

	start := opts.StartPanel
	if start == "" {
		start = PanelOverview
		if len(c.Accounts()) == 0 {
			start = PanelAccounts
		}
	}
	u.SelectPanel(start)

	u.tray = fyne.NewMenu("Gemini Gateway")
	u.syncTray()
	// Relative times ("3 min ago") go stale while nothing happens, and
	// other instances on a shared pool add to "requests today".
	u.stopClock = e.every(30*time.Second, func() {
		u.accounts.refreshTimes()
		u.health.redraw()
		u.overview.refresh()
		u.notifier.expiryNotices()
		if u.usage != nil && u.tabs.Selected() != nil && u.tabs.Selected().Content == u.usage.object() {
			u.usage.reload()
		}
	})
	u.cancelSub = c.Subscribe(func(ev Event) {
		e.dispatch(func() { u.handle(ev) })
	})
	return u
}

// handle fans an event out to the panels; on the UI goroutine.
func (u *UI) handle(ev Event) {
	if u.closed {
		return
	}
	switch ev.Kind {
	case EventAccounts:
		u.accounts.reload()
		u.health.reload()
		u.overview.refresh()
		u.notifier.accountsChanged()
	case EventGateway:
		u.overview.refresh()
		u.accounts.reload()
		u.chat.reloadModels()
	case EventRequest:
		if ev.Request != nil {
			u.logs.add(*ev.Request)
		}
		u.overview.refresh()
	case EventHealth:
		if ev.Health != nil {
			u.health.roundDone(*ev.Health)
		}
		u.health.reload()
		u.accounts.reload()
		u.notifier.accountsChanged()
	}
	u.syncTray()
}

// Window is the main window.
func (u *UI) Window() fyne.Window { return u.sh.win }

// Show brings the window up and to the front.
func (u *UI) Show() {
	u.sh.win.Show()
	u.sh.win.RequestFocus()
	if u.opts.OnVisible != nil {
		u.opts.OnVisible(true)
	}
}

// SelectPanel shows a panel by name ("overview", "accounts", "health",
// "chat", "settings", "logs"); unknown names are ignored.
func (u *UI) SelectPanel(name string) {
	for i, n := range u.names {
		if n == name {
			u.tabs.SelectIndex(i)
			return
		}
	}
}

// TrayMenu is the live tray menu. The UI keeps its items current and, once
// InstallTray has put it in the tray, refreshes the tray when its labels or
// checks change.
func (u *UI) TrayMenu() *fyne.Menu { return u.tray }

// TrayState is the gateway state the tray icon should show.
func (u *UI) TrayState() GatewayState { return u.trayState }

// TrayHost shows the tray menu and the icon of a gateway state in the
// system tray. SysTray is the real one.
type TrayHost interface {
	SetMenu(m *fyne.Menu)
	SetState(s GatewayState)
}

// InstallTray puts the menu and the state's icon in the tray through host
// and keeps them current from then on. With a tray, closing the window
// hides it instead of quitting. Call it on the Fyne goroutine or before
// the app runs.
func (u *UI) InstallTray(host TrayHost) {
	u.trayHost = host
	host.SetMenu(u.tray)
	host.SetState(u.trayState)
}

// Close stops subscriptions, timers and running requests, and saves the
// window size. Call it on the Fyne goroutine, e.g. after the app's Run
// returns.
func (u *UI) Close() {
	if u.closed {
		return
	}
	u.saveSize()
	u.closed = true
	if u.cancelSub != nil {
		u.cancelSub()
	}
	u.cancel()
	for _, stop := range []func(){u.stopToast, u.stopTrayTick, u.stopClock} {
		if stop != nil {
			stop()
		}
	}
	u.health.close()
	u.chat.close()
	u.notifier.stop()
}

// onCloseRequest saves the size and, with a tray, only hides the window.
func (u *UI) onCloseRequest() {
	u.saveSize()
	if u.trayHost != nil {
		u.sh.win.Hide()
		if u.opts.OnVisible != nil {
			u.opts.OnVisible(false)
		}
		return
	}
	u.sh.win.Close()
}

func (u *UI) savedSize() fyne.Size {
	p := u.sh.app.Preferences()
	def := defaultSize()
	w := float32(p.FloatWithFallback(prefWidth, float64(def.Width)))
	h := float32(p.FloatWithFallback(prefHeight, float64(def.Height)))
	if w < 480 || h < 360 {
		return def
	}
	return fyne.NewSize(w, h)
}

func (u *UI) saveSize() {
	s := u.sh.win.Canvas().Size()
	if s.Width < 480 || s.Height < 360 {
		return // minimised or not laid out yet
	}
	p := u.sh.app.Preferences()
	p.SetFloat(prefWidth, float64(s.Width))
	p.SetFloat(prefHeight, float64(s.Height))
}

// toast shows a short confirmation in the status line for a few seconds.
func (u *UI) toast(msg string) {
	if u.stopToast != nil {
		u.stopToast()
	}
	u.status.SetText(msg)
	u.stopToast = u.sh.env.after(4*time.Second, func() {
		u.stopToast = nil
		u.status.SetText("")
	})
}

// trayActions wires the tray items to the panels.
func (u *UI) trayActions() TrayActions {
	return TrayActions{
		StartStop:   func() { u.overview.onStartStop() },
		CopyBaseURL: func() { u.sh.copyText("base URL", u.sh.c.BaseURL()) },
		CopyKey:     func() { u.sh.copyText("API key", u.sh.c.APIKey()) },
		Toggle:      func(id int64, on bool) { u.accounts.setEnabled(id, on) },
		SignIn:      func(id int64) { u.Show(); u.accounts.signIn(id, "") },
		CheckAll:    func() { u.health.runCheckAll() },
		Open:        u.Show,
		Quit:        u.quit,
	}
}

func (u *UI) quit() {
	if u.opts.OnQuit != nil {
		u.opts.OnQuit()
		return
	}
	u.sh.app.Quit()
}

// stateOf is the tray state for a status.
func stateOf(st Status) GatewayState {
	if !st.Running {
		return StateStopped
	}
	if st.State == "" {
		return StateServing
	}
	return st.State
}

// syncTray rebuilds the tray menu's items and refreshes the real tray
// only when what it shows changed (a refresh resets the whole D-Bus menu).
// While an account cools, it re-checks every two seconds so the countdown
// labels move; they change at most once a minute.
func (u *UI) syncTray() {
	if u.tray == nil || u.closed {
		return
	}
	st := u.sh.c.Status()
	accts := u.sh.c.Accounts()
	now := u.sh.env.now()
	m := trayMenuAt(st, accts, u.trayActions(), now)
	if sig := menuSignature(m); sig != u.traySig {
		u.traySig = sig
		u.tray.Items = m.Items
		if u.trayHost != nil {
			u.trayHost.SetMenu(u.tray)
		}
	}
	if s := stateOf(st); s != u.trayState {
		u.trayState = s
		if u.trayHost != nil {
			u.trayHost.SetState(s)
		}
	}
	cool := false
	for _, a := range accts {
		if a.Enabled && cooling(a, now) {
			cool = true
			break
		}
	}
	switch {
	case cool && u.stopTrayTick == nil:
		u.stopTrayTick = u.sh.env.every(2*time.Second, u.syncTray)
	case !cool && u.stopTrayTick != nil:
		u.stopTrayTick()
		u.stopTrayTick = nil
	}
}
