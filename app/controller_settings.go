//go:build !nogui

package app

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/upstream"
	"github.com/gemgate/gemini-gateway/ui"
)

// How a changed setting takes effect.
type applyKind int

const (
	applyLive     applyKind = iota // server, pool or health-check settings: at once
	applyListener                  // the listener is restarted on the new address
	applyUpstream                  // the upstream client is rebuilt
	applyApp                       // needs an app restart
	applyDesktop                   // start at login
)

type uiSetting struct {
	name, label, group string
	kind               ui.SettingKind
	options            []string
	secret             bool
	apply              applyKind
}

// uiSettings are the settings the Settings panel edits, in display order.
// GATEWAY_SECRET_KEY is deliberately absent: saving it next to the
// database it unlocks would defeat it.
var uiSettings = []uiSetting{
	{"HOST", "Listen address", "Gateway", ui.SettingText, nil, false, applyListener},
	{"PORT", "Port", "Gateway", ui.SettingNumber, nil, false, applyListener},
	{"API_KEY", "API key", "Gateway", ui.SettingText, nil, true, applyLive},
	{"ALLOW_KEYLESS_LOOPBACK", "Let programs on this computer in without a key (only while no client key exists)", "Gateway", ui.SettingBool, nil, false, applyLive},
	{"REASONING_OUTPUT", "Reasoning output", "Gateway", ui.SettingChoice, []string{"reasoning_content", "think", "off"}, false, applyLive},
	{"DEFAULT_MODEL", "Default model", "Gateway", ui.SettingText, nil, false, applyLive},
	{"MODEL_STICKINESS", "Model stickiness", "Gateway", ui.SettingBool, nil, false, applyLive},
	{"CORS_ORIGINS", "Browser origins allowed (CORS)", "Gateway", ui.SettingText, nil, false, applyLive},
	{"ALLOWED_HOSTS", "Extra Host names", "Gateway", ui.SettingText, nil, false, applyLive},
	{"KEEPALIVE_INTERVAL", "Keep-alive interval", "Gateway", ui.SettingDuration, nil, false, applyLive},
	{"SELECTION_STRATEGY", "Account selection", "Accounts", ui.SettingChoice, []string{"failover", "round-robin"}, false, applyLive},
	{"MAX_ATTEMPTS", "Accounts tried per request", "Accounts", ui.SettingNumber, nil, false, applyLive},
	{"QUOTA_COOLDOWN", "Cooldown after a quota error", "Accounts", ui.SettingDuration, nil, false, applyLive},
	{"UNAUTHORIZED_COOLDOWN", "Cooldown after refused sign-in tokens", "Accounts", ui.SettingDuration, nil, false, applyLive},
	{"SESSION_TTL", "Conversation session lifetime", "Accounts", ui.SettingDuration, nil, false, applyLive},
	{"SESSION_CACHE_SIZE", "Conversations remembered", "Accounts", ui.SettingNumber, nil, false, applyLive},
	{"DATABASE_URL", "Shared PostgreSQL pool (DATABASE_URL)", "Accounts", ui.SettingText, nil, true, applyApp},
	{"BROWSER_REFRESH_INTERVAL", "Silent refresh with the browser, about every", "Accounts", ui.SettingDuration, nil, false, applyLive},
	{"EXPIRY_NOTICE", "Notify before a sign-in expires", "Accounts", ui.SettingDuration, nil, false, applyLive},
	{"BROWSER_PATH", "Browser for signing in (empty: find one)", "Accounts", ui.SettingText, nil, false, applyApp},
	{"HEALTH_CHECK_ENABLED", "Health checks", "Health checks", ui.SettingBool, nil, false, applyLive},
	{"HEALTH_CHECK_INTERVAL", "Interval", "Health checks", ui.SettingDuration, nil, false, applyLive},
	{"HEALTH_CHECK_TIMEOUT", "Timeout per check", "Health checks", ui.SettingDuration, nil, false, applyLive},
	{"HEALTH_CHECK_RETRY_COUNT", "Retries", "Health checks", ui.SettingNumber, nil, false, applyLive},
	{"HEALTH_CHECK_CONCURRENT_LIMIT", "Checks at once", "Health checks", ui.SettingNumber, nil, false, applyLive},
	{"HEALTH_CHECK_AUTO_DISABLE", "Turn off failing accounts", "Health checks", ui.SettingBool, nil, false, applyLive},
	{"HEALTH_CHECK_NETWORK_ERROR_THRESHOLD", "Network errors before an account counts as down", "Health checks", ui.SettingNumber, nil, false, applyLive},
	{"PROXY", "Proxy (http, https, socks5)", "Upstream", ui.SettingText, nil, false, applyUpstream},
	{"LANGUAGE_CODE", "Language", "Upstream", ui.SettingText, nil, false, applyUpstream},
	{"TIME_ZONE", "Time zone", "Upstream", ui.SettingText, nil, false, applyUpstream},
	{"USER_AGENT", "User agent", "Upstream", ui.SettingText, nil, false, applyUpstream},
	{"UPSTREAM_FIRST_BYTE_TIMEOUT", "First-byte timeout", "Upstream", ui.SettingDuration, nil, false, applyUpstream},
	{"UPSTREAM_IDLE_TIMEOUT", "Idle timeout", "Upstream", ui.SettingDuration, nil, false, applyUpstream},
	{"UPSTREAM_MEDIA_TIMEOUT", "Image and video turn timeout", "Upstream", ui.SettingDuration, nil, false, applyUpstream},
	{"TOOLS_SPEC", "Tools sent upstream", "Media", ui.SettingChoice, []string{"per-turn", "all"}, false, applyLive},
	{"IMAGE_DAILY_LIMIT", "Images per account and day", "Media", ui.SettingNumber, nil, false, applyLive},
	{"VIDEO_DAILY_LIMIT", "Videos per account and day", "Media", ui.SettingNumber, nil, false, applyLive},
	{"IMAGE_COOLDOWN", "Cooldown after an image quota error", "Media", ui.SettingDuration, nil, false, applyLive},
	{"VIDEO_COOLDOWN", "Cooldown after a video quota error", "Media", ui.SettingDuration, nil, false, applyLive},
	{"GENERATED_FILE_TTL", "Keep generated files for", "Media", ui.SettingDuration, nil, false, applyLive},
	{"PUBLIC_BASE_URL", "Public base URL of generated files", "Media", ui.SettingText, nil, false, applyLive},
	{"TRUSTED_PROXIES", "Trusted reverse proxies", "Media", ui.SettingText, nil, false, applyLive},
	{"MODEL_ALIASES", "Model names of other vendors (claude-*=gemini-2.5-pro)", "Gateway", ui.SettingText, nil, false, applyLive},
	{"MODEL_FALLBACK", "Serve refused models with the nearest one", "Gateway", ui.SettingBool, nil, false, applyLive},
	{"MODEL_RECHECK", "Try a refused model again after", "Gateway", ui.SettingDuration, nil, false, applyLive},
	{"START_AT_LOGIN", "Start at login", "Desktop", ui.SettingBool, nil, false, applyDesktop},
	{"LOG_LEVEL", "Log level", "Desktop", ui.SettingChoice, []string{"debug", "info", "warn", "error"}, false, applyApp},
}

func settingHelp() map[string]Setting {
	m := map[string]Setting{}
	for _, s := range Settings() {
		m[s.Name] = s
	}
	return m
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
	help := settingHelp()
	out := make([]ui.Setting, 0, len(uiSettings))
	for _, s := range uiSettings {
		h := help[s.name]
		v, src, _ := layerValue(cfg.Layers, s.name)
		if v == "" && (s.kind == ui.SettingChoice || s.kind == ui.SettingBool) {
			// Their defaults are concrete values: show the one in effect.
			v = h.Default
		}
		u := ui.Setting{Name: s.name, Label: s.label, Help: h.Help, Value: v, Kind: s.kind, Options: s.options,
			Secret: s.secret, Group: s.group, Restart: s.apply == applyApp}
		if h.Default != "" {
			u.Help += " (default " + h.Default + ")"
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
	known := map[string]uiSetting{}
	for _, s := range uiSettings {
		known[s.name] = s
	}
	fe := ui.FieldErrors{}
	for name, v := range values {
		if _, ok := known[name]; !ok {
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
	kinds := map[applyKind]bool{}
	for _, s := range uiSettings {
		if _, ok := changed[s.name]; !ok {
			continue
		}
		kinds[s.apply] = true
		if s.apply == applyApp {
			res.Restart = append(res.Restart, s.name)
		} else {
			res.Applied = append(res.Applied, s.name)
		}
	}
	a.Redactor.Add(next.Gateway.APIKey)
	a.SetConfig(next)
	a.Pool.SetConfig(next.Pool)
	a.Checker.SetConfig(next.Health)
	if kinds[applyUpstream] {
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
	if kinds[applyDesktop] {
		if err := SetStartAtLogin(next.StartAtLogin); err != nil {
			return res, &ui.FieldErrors{"START_AT_LOGIN": err.Error()}
		}
	}
	a.Bus.Publish(eventGateway())
	return res, nil
}
