//go:build !nogui

package app

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/events"
	"github.com/gemgate/gemini-gateway/gateway/upstream"
	"github.com/gemgate/gemini-gateway/ui"
)

// panelSettings are the settings the Settings panel edits, in display
// order: the table's rows with a Label. GATEWAY_SECRET_KEY has none on
// purpose: saving it next to the database it unlocks would defeat it.
func panelSettings() []Setting {
	var out []Setting
	for _, s := range Settings() {
		if s.InPanel() {
			out = append(out, s)
		}
	}
	return out
}

// uiKind is the panel's widget for a kind of setting.
func uiKind(k Kind) ui.SettingKind {
	switch k {
	case KindNumber:
		return ui.SettingNumber
	case KindBool:
		return ui.SettingBool
	case KindChoice:
		return ui.SettingChoice
	case KindDuration:
		return ui.SettingDuration
	}
	return ui.SettingText
}

// layerValue is a variable's raw value in the highest layer that sets it.
func layerValue(layers []Layer, name string) (string, string, bool) {
	for i := len(layers) - 1; i >= 0; i-- {
		if v, ok := layers[i].Vars[name]; ok {
			return v, layers[i].Source, true
		}
	}
	return "", "", false
}

func (c *controller) Settings() []ui.Setting {
	cfg := c.a.Config()
	d := Defaults()
	rows := panelSettings()
	out := make([]ui.Setting, 0, len(rows))
	for _, s := range rows {
		def := s.Default(d)
		v, src, _ := layerValue(cfg.Layers, s.Name)
		if v == "" && (s.Kind == KindChoice || s.Kind == KindBool) {
			// Their defaults are concrete values: show the one in effect.
			v = def
		}
		u := ui.Setting{Name: s.Name, Label: s.Label, Help: s.Help, Value: v, Default: def, Kind: uiKind(s.Kind), Options: s.Options,
			Secret: s.Secret, Group: s.Group, Restart: s.Applies == AppliesRestart}
		if def != "" {
			u.Help += " (default " + def + ")"
		}
		if src != "" && src != "settings" {
			u.OverriddenBy = src
		}
		out = append(out, u)
	}
	return out
}

// saveMu makes each SaveSettings one load-change-save-apply: the UI calls
// it from goroutines, and two at once would each save the settings file
// without the other's change.
var saveMu sync.Mutex

// SaveSettings validates each changed value, stores them in settings.json
// and applies what can be applied without restarting the app.
func (c *controller) SaveSettings(values map[string]string) (ui.SaveResult, error) {
	saveMu.Lock()
	defer saveMu.Unlock()
	known := map[string]bool{}
	for _, s := range panelSettings() {
		known[s.Name] = true
	}
	fe := ui.FieldErrors{}
	for name, v := range values {
		if !known[name] {
			fe[name] = "not a setting the app can change"
			continue
		}
		if v == "" {
			continue
		}
		if _, err := Resolve([]Layer{{Source: "settings", Vars: map[string]string{name: v}}}); err != nil {
			fe[name] = strings.TrimPrefix(err.Error(), name+" (from settings): ")
		}
	}
	if len(fe) > 0 {
		return ui.SaveResult{}, &fe
	}
	cur := c.a.Config()
	saved, err := LoadSettings(cur.DataDir)
	if err != nil {
		return ui.SaveResult{}, &ui.FieldErrors{"": err.Error()}
	}
	for name, v := range values {
		if strings.TrimSpace(v) == "" {
			delete(saved, name)
		} else {
			saved[name] = v
		}
	}
	layers := append([]Layer(nil), cur.Layers...)
	replaced := false
	for i := range layers {
		if layers[i].Source == "settings" {
			layers[i] = Layer{Source: "settings", Vars: saved}
			replaced = true
		}
	}
	if !replaced {
		layers = append([]Layer{{Source: "settings", Vars: saved}}, layers...)
	}
	next, err := Resolve(layers)
	if err != nil {
		return ui.SaveResult{}, &ui.FieldErrors{"": err.Error()}
	}
	next.Headless, next.DataDir, next.EnvFiles = cur.Headless, cur.DataDir, cur.EnvFiles
	if next.Gateway.AdminKey == "" {
		next.Gateway.AdminKey = cur.Gateway.AdminKey // from admin.key, read at start
	}
	if err := next.Gateway.Validate(); err != nil {
		return ui.SaveResult{}, &ui.FieldErrors{"": err.Error()}
	}
	if err := SaveSettings(cur.DataDir, saved); err != nil {
		return ui.SaveResult{}, &ui.FieldErrors{"": "could not save the settings: " + err.Error()}
	}
	return c.apply(cur, next, values)
}

// apply puts a new configuration into effect.
func (c *controller) apply(cur, next *Config, changed map[string]string) (ui.SaveResult, error) {
	a := c.a
	var res ui.SaveResult
	kinds := map[Applies]bool{}
	for _, s := range panelSettings() {
		if _, ok := changed[s.Name]; !ok {
			continue
		}
		kinds[s.Applies] = true
		if s.Applies == AppliesRestart {
			res.Restart = append(res.Restart, s.Name)
		} else {
			res.Applied = append(res.Applied, s.Name)
		}
	}
	a.Redactor.Add(next.Gateway.APIKey)
	a.SetConfig(next)
	a.Pool.SetConfig(next.Pool)
	a.Checker.SetConfig(next.Health)
	if kinds[AppliesUpstream] {
		up, err := upstream.New(next.Upstream)
		if err != nil {
			return res, &ui.FieldErrors{"PROXY": err.Error()}
		}
		a.swapUpstream(up)
	}
	listenerChanged := next.Gateway.Addr() != cur.Gateway.Addr()
	if listenerChanged && a.GatewayRunning() {
		ctx, cancel := context.WithTimeout(context.Background(), next.Gateway.ShutdownGrace+5*time.Second)
		err := a.StopGateway(ctx)
		cancel()
		if err != nil {
			return res, &ui.FieldErrors{"PORT": "could not stop the gateway: " + err.Error()}
		}
		if err := a.Server.SetConfig(next.Gateway); err != nil {
			return res, &ui.FieldErrors{"HOST": err.Error()}
		}
		if err := c.StartGateway(); err != nil {
			return res, &ui.FieldErrors{"PORT": err.Error()}
		}
	} else if err := a.Server.SetConfig(next.Gateway); err != nil {
		return res, &ui.FieldErrors{"": err.Error()}
	}
	if kinds[AppliesDesktop] {
		if err := SetStartAtLogin(next.StartAtLogin); err != nil {
			return res, &ui.FieldErrors{"START_AT_LOGIN": err.Error()}
		}
	}
	a.Bus.Publish(eventGateway())
	return res, nil
}

// swapUpstream replaces the upstream client (proxy, timeouts or hosts
// changed); requests in flight finish on the old one.
func (a *App) swapUpstream(up *upstream.Client) {
	a.upMu.Lock()
	defer a.upMu.Unlock()
	old := a.upClient
	a.upClient = up
	a.Pool.SetUpstream(up)
	a.Server.SetUpstream(up)
	old.CloseIdleConnections()
}

func eventGateway() events.Event { return events.Event{Kind: events.GatewayState} }
