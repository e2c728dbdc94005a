//go:build !nogui

package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/gemgate/gemini-gateway/assets"
	"github.com/gemgate/gemini-gateway/gateway"
	"github.com/gemgate/gemini-gateway/internal/idleloop"
	"github.com/gemgate/gemini-gateway/internal/instance"
	"github.com/gemgate/gemini-gateway/ui"
)

// runGUI is the desktop app: the window, the tray, and the gateway
// in-process. Closing the window hides it; Quit in the tray (or a signal)
// ends Run, after which the gateway shuts down gracefully.
func runGUI(cfg *Config) int {
	inst, code, ok := acquireInstance(cfg.DataDir)
	if !ok {
		return code
	}
	defer inst.Close()
	ensureDesktopAPIKey(cfg)

	fa := fyneapp.NewWithID(AppID)
	fa.SetIcon(fyne.NewStaticResource("icon.png", assets.Icon()))

	logOut, closeLog := guiLogOutput(cfg.DataDir)
	defer closeLog()
	ctx := context.Background()
	a, err := Build(ctx, cfg, logOut)
	if err != nil {
		showFatal(fa, "Gemini Gateway could not start", err.Error())
		return 1
	}
	ctrl := newController(a)
	startGatewayForGUI(a, ctrl)

	// Fyne's loop sleeps while the window is hidden; everything that
	// needs it (panel updates, tray clicks, a second launch) goes through
	// idle.Do, which wakes it.
	idle := idleloop.New()
	quit := quitDriver(fa, idle)
	stopSignals := wakeOnSignal(idle)
	defer stopSignals()
	hidden := cfg.UI.Hidden
	u, tray := newWindowAndTray(fa, ctrl, idle, quit, cfg.UI.StartPanel)
	fa.Lifecycle().SetOnStarted(func() {
		tray.Start()
		idle.SetHidden(hidden)
		idle.Start()
		// Once the loop runs (a message that came earlier is delivered
		// now). Quit is a graceful stop from outside: on Windows a GUI
		// program gets no signal it could handle.
		inst.Handle(instance.Show, func() { idle.Do(u.Show) })
		inst.Handle(instance.Quit, func() { idle.Do(quit) })
	})
	if !hidden {
		u.Show()
	}
	a.Log.Info("desktop app ready", "addr", a.Server.Addr(), "data_dir", cfg.DataDir)
	fa.Run()

	// Quit skips close intercepts: shut down here, after Run.
	shutdownGUI(ctx, a, ctrl, u, tray)
	return 0
}

// acquireInstance takes the single-instance lock of dataDir. When it
// cannot, ok is false and code is the exit code: 0 when another instance
// runs (it was asked to show itself), 1 on an error.
func acquireInstance(dataDir string) (inst *instance.Lock, code int, ok bool) {
	inst, err := instance.Acquire(dataDir)
	if errors.Is(err, instance.ErrAnotherInstance) {
		fmt.Fprintln(os.Stderr, "gemini-gateway:", err)
		return nil, 0, false
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gemini-gateway:", err)
		return nil, 1, false
	}
	return inst, 0, true
}

// ensureDesktopAPIKey gives the desktop app an API key unless the owner
// chose keyless use on loopback in Settings: it generates one on first run.
func ensureDesktopAPIKey(cfg *Config) {
	if cfg.Gateway.APIKey == "" && !cfg.Gateway.AllowKeylessLoopback {
		if err := ensureAPIKey(cfg); err != nil {
			fmt.Fprintln(os.Stderr, "gemini-gateway: could not save a new API key:", err)
		}
	}
}

// guiLogOutput is stderr and, when it opens, the log file in dataDir;
// closeLog closes that file.
func guiLogOutput(dataDir string) (out io.Writer, closeLog func()) {
	if f, err := openLogFile(dataDir); err == nil {
		return io.MultiWriter(os.Stderr, f), func() { f.Close() }
	}
	return os.Stderr, func() {}
}

// startGatewayForGUI starts serving; a failure is left for the Overview to
// show (a port in use there offers another), and logged unless it is that.
func startGatewayForGUI(a *App, ctrl *controller) {
	if err := ctrl.StartGateway(); err != nil {
		var inUse *gateway.ErrPortInUse
		if !errors.As(err, &inUse) {
			a.Log.Error("gateway did not start", "err", err)
		}
	}
}

// quitDriver returns the Quit of the tray and of a second launch.
func quitDriver(fa fyne.App, idle *idleloop.Loop) func() {
	return func() {
		idle.Stop()
		// The driver's Quit, as Fyne's own SIGTERM handler does, not the
		// app's: that one first closes every window, and Fyne 2.7 then
		// crashes on a mouse event still queued for a closed window (its
		// processMouseMoved uses the nil viewport) when Quit comes while
		// the pointer is over the window. Windows go with the driver.
		fa.Driver().Quit()
	}
}

// wakeOnSignal wakes the loop on SIGINT and SIGTERM: Fyne quits on them by
// queueing Quit on its loop, which must be awake to run it. stop ends the
// watch.
func wakeOnSignal(idle *idleloop.Loop) (stop func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		if _, ok := <-sigs; ok {
			idle.Stop()
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(sigs)
	}
}

// newWindowAndTray builds the main window and the system tray icon showing
// the gateway's state.
func newWindowAndTray(fa fyne.App, ctrl *controller, idle *idleloop.Loop, quit func(), startPanel string) (*ui.UI, *ui.SysTray) {
	u := ui.New(fa, ctrl, idle.Do, ui.Options{
		StartPanel: startPanel,
		Notify:     true,
		OnQuit:     quit,
		OnVisible:  func(visible bool) { idle.SetHidden(!visible) },
	})
	tray := ui.NewSysTray(map[ui.GatewayState][]byte{
		ui.StateServing:  assets.Tray(assets.TrayServing),
		ui.StateDegraded: assets.Tray(assets.TrayDegraded),
		ui.StateNoUsable: assets.Tray(assets.TrayDown),
		ui.StateStopped:  assets.Tray(assets.TrayStopped),
	}, u.Show, idle.Do)
	u.InstallTray(tray)
	return u, tray
}

// shutdownGUI takes the desktop app down after Run: tray, window, event
// forwarding, then the gateway, whose open streams get the grace period.
func shutdownGUI(ctx context.Context, a *App, ctrl *controller, u *ui.UI, tray *ui.SysTray) {
	a.Log.Info("desktop app quitting: letting open streams finish", "grace", a.Config().Gateway.ShutdownGrace.String())
	tray.Stop()
	u.Close()
	ctrl.close()
	grace := a.Config().Gateway.ShutdownGrace
	sctx, cancel := context.WithTimeout(ctx, grace+5*time.Second)
	defer cancel()
	if err := a.Close(sctx); err != nil {
		a.Log.Warn("shutdown", "err", err)
	}
}

// ensureAPIKey generates an API key, saves it with the settings and puts
// it into cfg (its settings layer too, so the Settings panel shows it).
func ensureAPIKey(cfg *Config) error {
	saved, err := LoadSettings(cfg.DataDir)
	if err != nil {
		return err
	}
	key := NewAPIKey()
	saved["API_KEY"] = key
	if err := SaveSettings(cfg.DataDir, saved); err != nil {
		return err
	}
	cfg.Gateway.APIKey = key
	for i := range cfg.Layers {
		if cfg.Layers[i].Source == "settings" {
			cfg.Layers[i].Vars = saved
		}
	}
	return nil
}

// showFatal shows a start-up failure in a window (a double-clicked app has
// no terminal to print to) and waits for the user to close it.
func showFatal(fa fyne.App, title, msg string) {
	fmt.Fprintln(os.Stderr, "gemini-gateway:", msg)
	w := fa.NewWindow(title)
	text := widget.NewLabel(msg)
	text.Wrapping = fyne.TextWrapWord
	w.SetContent(container.NewBorder(nil, container.NewCenter(widget.NewButton("Quit", fa.Quit)), nil, nil,
		container.NewPadded(widget.NewCard(title, "", text))))
	w.Resize(fyne.NewSize(560, 260))
	w.ShowAndRun()
}
