package ui

import (
	"fmt"
	"strconv"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// overviewPanel shows where the gateway serves, its key, its counters and
// copy-ready setup for common clients.
type overviewPanel struct {
	sh *shell

	portBanner, secretBanner, errBanner *banner
	usePort                             *widget.Button

	badge     *stateBadge
	stateText *widget.Label
	startStop *widget.Button

	baseURL *widget.Label

	key      string // the real key; shown only when revealed
	revealed bool
	keyLabel *widget.Label
	reveal   *widget.Button

	requests, streams, accounts *widget.Label

	client      *widget.Select
	snippetView *widget.Label
	snippetNote *widget.Label

	status  Status // last seen, for the buttons' actions
	busy    bool   // a start/stop/port change is under way
	content fyne.CanvasObject
}

func newOverviewPanel(sh *shell) *overviewPanel {
	p := &overviewPanel{sh: sh}

	p.usePort = widget.NewButtonWithIcon("Use another port", theme.ConfirmIcon(), p.onUsePort)
	p.usePort.Importance = widget.HighImportance
	p.portBanner = newBanner(kindWarn, theme.WarningIcon(), p.usePort)
	p.secretBanner = newBanner(kindBad, theme.ErrorIcon())
	p.errBanner = newBanner(kindBad, theme.ErrorIcon())

	p.badge = newStateBadge()
	p.stateText = widget.NewLabel("")
	p.startStop = widget.NewButton("", p.onStartStop)

	p.baseURL = &widget.Label{TextStyle: fyne.TextStyle{Monospace: true}, Selectable: true}
	copyURL := widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() {
		p.sh.copyText("base URL", p.baseURL.Text)
	})

	p.keyLabel = &widget.Label{TextStyle: fyne.TextStyle{Monospace: true}}
	p.reveal = widget.NewButtonWithIcon("Reveal", theme.VisibilityIcon(), p.toggleReveal)
	copyKey := widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() {
		p.sh.copyText("API key", p.key)
	})
	regen := widget.NewButtonWithIcon("Regenerate…", theme.ViewRefreshIcon(), p.confirmRegenerate)

	p.requests = &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, SizeName: theme.SizeNameHeadingText}
	p.streams = &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, SizeName: theme.SizeNameHeadingText}
	p.accounts = &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, SizeName: theme.SizeNameHeadingText}

	p.snippetView = &widget.Label{TextStyle: fyne.TextStyle{Monospace: true}, Selectable: true}
	p.snippetNote = note("")
	p.client = widget.NewSelect(setupClients(), func(string) { p.renderSnippet() })
	copySnippet := widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), p.copySnippet)

	gateway := widget.NewCard("Gateway", "", container.NewVBox(
		container.NewBorder(nil, nil, p.badge, p.startStop, p.stateText),
		widget.NewSeparator(),
		container.New(layout.NewFormLayout(),
			widget.NewLabel("Base URL"), container.NewBorder(nil, nil, nil, copyURL, p.baseURL),
			widget.NewLabel("API key"), container.NewBorder(nil, nil, nil, container.NewHBox(p.reveal, copyKey, regen), p.keyLabel),
		),
	))

	stat := func(l *widget.Label, caption string) fyne.CanvasObject {
		return widget.NewCard("", "", container.NewVBox(l, note(caption)))
	}
	stats := container.NewGridWithColumns(3,
		stat(p.requests, "requests today"),
		stat(p.streams, "active streams"),
		stat(p.accounts, "accounts usable / total"),
	)

	snippetBox := container.NewStack(
		widget.NewCard("", "", container.NewHScroll(p.snippetView)),
	)
	setup := widget.NewCard("Connect a client", "Copy puts the real key in the text; the view shows it only when revealed.",
		container.NewBorder(
			container.NewBorder(nil, nil, nil, copySnippet, p.client),
			p.snippetNote, nil, nil, snippetBox),
	)

	top := container.NewVBox(heading("Overview"), p.portBanner.box, p.secretBanner.box, p.errBanner.box, gateway, stats, setup)
	p.content = container.NewVScroll(container.NewPadded(top))

	p.client.SetSelected(clientCurl)
	p.refresh()
	return p
}

func (p *overviewPanel) object() fyne.CanvasObject { return p.content }

// refresh re-reads the cached status; cheap, so it runs on every gateway,
// request and account event.
func (p *overviewPanel) refresh() {
	st := p.sh.c.Status()
	p.status = st

	p.portBanner.set("Port in use", portInUseText(st))
	if st.PortInUse && st.SuggestedPort > 0 {
		p.usePort.SetText("Use port " + strconv.Itoa(st.SuggestedPort))
		p.usePort.Show()
	} else {
		p.usePort.Hide()
	}
	p.secretBanner.set("Accounts cannot be added", st.SecretWarning)
	errMsg := ""
	if !st.Running && st.Err != "" && !st.PortInUse {
		errMsg = st.Err
	}
	p.errBanner.set("The gateway did not start", errMsg)

	switch {
	case !st.Running:
		p.badge.Set("stopped", kindOff)
		p.stateText.SetText("Stopped")
	case st.State == StateNoUsable:
		p.badge.Set("no usable account", kindBad)
		p.stateText.SetText("Serving on " + st.Addr + " — but no account can answer")
	case st.State == StateDegraded:
		p.badge.Set("degraded", kindWarn)
		p.stateText.SetText("Serving on " + st.Addr)
	default:
		p.badge.Set("serving", kindGood)
		p.stateText.SetText("Serving on " + st.Addr)
	}
	if st.Running {
		p.startStop.SetText("Stop gateway")
		p.startStop.SetIcon(theme.MediaStopIcon())
	} else {
		p.startStop.SetText("Start gateway")
		p.startStop.SetIcon(theme.MediaPlayIcon())
	}
	if p.busy {
		p.startStop.Disable()
	} else {
		p.startStop.Enable()
	}

	p.baseURL.SetText(p.sh.c.BaseURL())
	p.key = p.sh.c.APIKey()
	p.renderKey()

	p.requests.SetText(strconv.FormatInt(st.RequestsToday, 10))
	p.streams.SetText(strconv.FormatInt(st.ActiveStreams, 10))
	p.accounts.SetText(fmt.Sprintf("%d / %d", st.Usable, st.Total))
	p.renderSnippet()
	p.sh.changed()
}

// portInUseText is the banner text for a port conflict, empty without one.
func portInUseText(st Status) string {
	if !st.PortInUse {
		return ""
	}
	port := portOf(st.Addr)
	if port == "" {
		port = "7860"
	}
	return "Port " + port + " is used by another program (Stable Diffusion WebUI and Gradio apps often use it)."
}

func portOf(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			return addr[i+1:]
		}
	}
	return ""
}

func (p *overviewPanel) renderKey() {
	if p.revealed {
		p.keyLabel.SetText(p.key)
		p.reveal.SetText("Hide")
		p.reveal.SetIcon(theme.VisibilityOffIcon())
	} else {
		p.keyLabel.SetText(maskKey(p.key))
		p.reveal.SetText("Reveal")
		p.reveal.SetIcon(theme.VisibilityIcon())
	}
}

func (p *overviewPanel) toggleReveal() {
	p.revealed = !p.revealed
	p.renderKey()
	p.renderSnippet()
}

// shownKey is the key as the view may show it.
func (p *overviewPanel) shownKey() string {
	if p.revealed {
		return p.key
	}
	return maskKey(p.key)
}

func (p *overviewPanel) renderSnippet() {
	if p.snippetView == nil || p.client == nil {
		return
	}
	c := p.client.Selected
	p.snippetView.SetText(snippet(c, p.sh.c.BaseURL(), p.shownKey(), p.sh.c.Models()))
	switch c {
	case clientCursor:
		p.snippetNote.SetText("Nothing to copy: a tunnel (and the risk of exposing the gateway) is your call.")
	case clientOpenWebUI, clientCherry, clientContinue:
		p.snippetNote.SetText("The gateway serves /v1/models, so model pickers fill themselves.")
	default:
		p.snippetNote.SetText("")
	}
}

func (p *overviewPanel) copySnippet() {
	text := snippet(p.client.Selected, p.sh.c.BaseURL(), p.key, p.sh.c.Models())
	p.sh.copyText(p.client.Selected+" setup", text)
}

func (p *overviewPanel) onStartStop() {
	running := p.status.Running
	p.busy = true
	p.startStop.Disable()
	p.sh.env.async(func() {
		var err error
		if running {
			err = p.sh.c.StopGateway()
		} else {
			err = p.sh.c.StartGateway()
		}
		p.sh.env.dispatch(func() {
			p.busy = false
			p.refresh()
			if err != nil {
				p.sh.showError(err)
			}
		})
	})
}

func (p *overviewPanel) onUsePort() {
	port := p.status.SuggestedPort
	if port <= 0 {
		return
	}
	p.usePort.Disable()
	p.sh.env.async(func() {
		err := p.sh.c.UsePort(port)
		p.sh.env.dispatch(func() {
			p.usePort.Enable()
			p.refresh()
			if err != nil {
				p.sh.showError(err)
				return
			}
			p.sh.toast(fmt.Sprintf("Now serving on port %d — update your clients' base URL", port))
		})
	})
}

func (p *overviewPanel) confirmRegenerate() {
	dialog.NewConfirm("Regenerate the API key?",
		"Every client that uses the current key stops working until you give it the new one.",
		func(ok bool) {
			if ok {
				p.regenerate()
			}
		}, p.sh.win).Show()
}

func (p *overviewPanel) regenerate() {
	p.sh.env.async(func() {
		k, err := p.sh.c.RegenerateAPIKey()
		p.sh.env.dispatch(func() {
			if err != nil {
				p.sh.showError(err)
				return
			}
			p.key = k
			p.renderKey()
			p.renderSnippet()
			p.sh.toast("New API key generated — update your clients")
		})
	})
}
