//go:build !nogui

package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/gemgate/gemini-gateway/gateway"
	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/gateway/events"
	"github.com/gemgate/gemini-gateway/gateway/pool"
	"github.com/gemgate/gemini-gateway/gateway/signin"
	"github.com/gemgate/gemini-gateway/ui"
)

// controller is the one implementation of ui.Controller: the desktop
// window's view of the running App. Its event side (request log, UI
// subscriptions) is in controller_events.go.
type controller struct {
	a *App

	mu        sync.Mutex
	portInUse bool
	suggested int
	startErr  string
	reqs      []ui.RequestRow                    // ring of the last maxRequests
	waiters   map[string]chan events.RequestInfo // chat requests waiting for their log line

	sub  *events.Subscription // the request log's own subscription
	done chan struct{}        // closed when keepLog returns
}

var _ ui.Controller = (*controller)(nil)

func newController(a *App) *controller {
	c := &controller{a: a, waiters: map[string]chan events.RequestInfo{}, done: make(chan struct{})}
	c.sub = a.Bus.Subscribe(1024)
	go c.keepLog()
	return c
}

// close stops keeping the request log.
func (c *controller) close() {
	c.sub.Close()
	<-c.done
}

// Status

func (c *controller) Status() ui.Status {
	a := c.a
	cfg := a.Config()
	st := ui.Status{
		Running: a.GatewayRunning(), Addr: cfg.Gateway.Addr(), SecretWarning: a.SecretWarning,
		SecretStore: a.SecretBackend, DataDir: cfg.DataDir, Version: Version,
		ExpiryNotice: cfg.Browser.ExpiryNotice,
	}
	if addr := a.Server.Addr(); addr != "" {
		st.Addr = addr
	}
	stats := a.Server.Stats()
	st.ActiveStreams, st.RequestsToday = stats.ActiveStreams, a.Requests.Today()
	enabled := 0
	for _, v := range a.Pool.Snapshot() {
		st.Total++
		if v.Enabled {
			enabled++
		}
		if v.Usable {
			st.Usable++
		}
	}
	switch {
	case !st.Running:
		st.State = ui.StateStopped
	case st.Usable == 0:
		st.State = ui.StateNoUsable
	case st.Usable < enabled:
		st.State = ui.StateDegraded
	default:
		st.State = ui.StateServing
	}
	c.mu.Lock()
	st.PortInUse, st.SuggestedPort, st.Err = c.portInUse, c.suggested, c.startErr
	c.mu.Unlock()
	return st
}

func (c *controller) StartGateway() error {
	err := c.a.StartGateway()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.portInUse, c.suggested, c.startErr = false, 0, ""
	if err != nil {
		c.startErr = err.Error()
		var inUse *gateway.ErrPortInUse
		if errors.As(err, &inUse) {
			c.portInUse = true
			cfg := c.a.Config()
			c.suggested = nextFreePort(cfg.Gateway.Host, cfg.Gateway.Port)
		}
	}
	c.a.Bus.Publish(events.Event{Kind: events.GatewayState})
	return err
}

// nextFreePort finds a free port after p (0 when none of the next 100 is).
func nextFreePort(host string, p int) int {
	for q := p + 1; q <= p+100 && q < 65536; q++ {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(q)))
		if err == nil {
			ln.Close()
			return q
		}
	}
	return 0
}

func (c *controller) StopGateway() error {
	ctx, cancel := context.WithTimeout(context.Background(), c.a.Config().Gateway.ShutdownGrace+5*time.Second)
	defer cancel()
	err := c.a.StopGateway(ctx)
	c.a.Bus.Publish(events.Event{Kind: events.GatewayState})
	return err
}

func (c *controller) UsePort(port int) error {
	if _, err := c.SaveSettings(map[string]string{"PORT": strconv.Itoa(port)}); err != nil {
		return err
	}
	if !c.a.GatewayRunning() {
		return c.StartGateway()
	}
	return nil
}

func (c *controller) BaseURL() string {
	host, port, err := net.SplitHostPort(c.Status().Addr)
	if err != nil {
		return "http://" + c.a.Config().Gateway.Addr() + "/v1"
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/v1"
}

func (c *controller) APIKey() string { return c.a.Server.Config().APIKey }

func (c *controller) RegenerateAPIKey() (string, error) {
	if _, src, ok := layerValue(c.a.Config().Layers, "API_KEY"); ok && src != "settings" {
		return "", fmt.Errorf("API_KEY is set by %s; change it there", src)
	}
	key := NewAPIKey()
	if _, err := c.SaveSettings(map[string]string{"API_KEY": key}); err != nil {
		return "", err
	}
	return c.APIKey(), nil
}

// Accounts

func (c *controller) Accounts() []ui.Account {
	views := c.a.Pool.Snapshot()
	out := make([]ui.Account, len(views))
	for i, v := range views {
		out[i] = uiAccount(v)
		out[i].BrowserProfile = c.a.Signer != nil && c.a.Signer.HasProfile(signin.ProfileName(v.ID))
	}
	return out
}

func uiAccount(v pool.AccountView) ui.Account {
	a := v.Account
	u := ui.Account{
		ID: a.ID, Name: a.Name, ConfigID: a.ConfigID, Enabled: a.Enabled, ReadOnly: a.ReadOnly,
		State: uiAccountState(v.State), Reason: v.Reason, Usable: v.Usable, LastUsed: a.LastUsedAt, Requests: a.RequestCount,
		LastCheck: a.LastCheckAt, LastCheckOK: a.LastCheckOK, LastLatency: a.LastCheckLatency, LastMessage: a.LastCheckMessage,
		HintSecureCSES: a.SecretHints.SecureCSES, HintHostCOSES: a.SecretHints.HostCOSES, HintCSESIDX: a.SecretHints.CSESIDX,
	}
	if v.CooldownRemaining > 0 {
		u.CooldownUntil = a.CooldownUntil
	}
	u.ExpiresAt, u.LastSignInAt, u.LastRefreshAt = a.ExpiresAt, a.LastSignInAt, a.LastRefreshAt
	now := time.Now()
	for _, q := range v.Quotas {
		uq := ui.Quota{Kind: q.Kind.String(), Used: q.Used, Limit: q.Limit}
		if q.CooldownRemaining > 0 {
			uq.CoolUntil = now.Add(q.CooldownRemaining)
		}
		u.Quotas = append(u.Quotas, uq)
	}
	return u
}

// uiAccountState is the one place a pool state becomes the UI's.
func uiAccountState(s pool.State) ui.AccountState {
	switch s {
	case pool.StateHealthy:
		return ui.AccountHealthy
	case pool.StateCooling:
		return ui.AccountCooling
	case pool.StateExpired:
		return ui.AccountExpired
	case pool.StateBanned:
		return ui.AccountBanned
	case pool.StateUnhealthy:
		return ui.AccountUnhealthy
	case pool.StateDisabled:
		return ui.AccountDisabled
	case pool.StateNeedsSignIn:
		return ui.AccountNeedsSignIn
	default:
		return ui.AccountUnchecked
	}
}

func accountInput(in ui.AccountInput) accounts.Input {
	on := in.Enabled
	return accounts.Input{Name: in.Name, SecureCSES: in.SecureCSES, HostCOSES: in.HostCOSES, CSESIDX: in.CSESIDX, ConfigID: in.ConfigID, IsActive: &on}
}

// fieldErrors turns account errors into per-field messages for the form.
func fieldErrors(err error) error {
	if err == nil {
		return nil
	}
	var ve *accounts.ValidationError
	if errors.As(err, &ve) {
		fe := ui.FieldErrors{}
		for k, v := range ve.Fields {
			fe[k] = v
		}
		return &fe
	}
	return &ui.FieldErrors{"": err.Error()}
}

func (c *controller) view(id int64) ui.Account {
	for _, a := range c.Accounts() {
		if a.ID == id {
			return a
		}
	}
	return ui.Account{ID: id}
}

func (c *controller) AddAccount(in ui.AccountInput) (ui.Account, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := c.a.Accounts.Create(ctx, accountInput(in))
	if err != nil {
		return ui.Account{}, fieldErrors(err)
	}
	c.checkSoon(a.ID)
	return c.view(a.ID), nil
}

// checkSoon checks a new or changed account in the background, so its
// state is known by the time the user looks.
func (c *controller) checkSoon(id int64) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c.a.Checker.CheckOne(ctx, id)
	}()
}

func (c *controller) UpdateAccount(id int64, in ui.AccountInput) (ui.Account, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.a.Accounts.Update(ctx, id, accountInput(in)); err != nil {
		return ui.Account{}, fieldErrors(err)
	}
	if in.SecureCSES != "" || in.HostCOSES != "" || in.CSESIDX != "" || in.ConfigID != "" {
		c.checkSoon(id)
	}
	return c.view(id), nil
}

func (c *controller) DeleteAccount(id int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.a.Accounts.Delete(ctx, id)
}

func (c *controller) SetEnabled(id int64, on bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := c.a.Accounts.SetEnabled(ctx, id, on)
	if err == nil && on {
		c.checkSoon(id)
	}
	return err
}

func (c *controller) ParseImport(text string) ui.ImportPreview {
	inputs, problems := accounts.ParseImport(text)
	p := ui.ImportPreview{Format: string(accounts.DetectFormat(text))}
	for _, in := range inputs {
		h := accounts.Hints(in.Secrets())
		hint := "__Secure-C_SES " + h.SecureCSES + ", csesidx " + h.CSESIDX
		if h.HostCOSES != "" {
			hint += ", __Host-C_OSES " + h.HostCOSES
		}
		on := in.IsActive == nil || *in.IsActive
		p.Items = append(p.Items, ui.ImportItem{Input: ui.AccountInput{Name: in.Name, SecureCSES: in.SecureCSES, HostCOSES: in.HostCOSES,
			CSESIDX: in.CSESIDX, ConfigID: in.ConfigID, Enabled: on}, Hint: hint})
	}
	for _, pr := range problems {
		p.Problems = append(p.Problems, pr.String())
	}
	return p
}

func (c *controller) Import(items []ui.AccountInput) ui.ImportResult {
	var res ui.ImportResult
	for i, in := range items {
		a, err := c.AddAccount(in)
		if err != nil {
			res.Problems = append(res.Problems, fmt.Sprintf("item %d: %v", i+1, err))
			continue
		}
		res.Added = append(res.Added, a.Name)
	}
	return res
}

func (c *controller) CheckAccount(ctx context.Context, id int64) ui.CheckResult {
	o := c.a.Checker.CheckOne(ctx, id)
	return ui.CheckResult{OK: o.OK, Latency: o.Latency, Message: o.Message, Disabled: o.Disabled}
}

func (c *controller) CheckAll(ctx context.Context, progress func(done, total int)) ui.HealthSummary {
	s := c.a.Checker.CheckAll(ctx, progress)
	return ui.HealthSummary{Checked: s.Checked, Healthy: s.Healthy, Failed: s.Failed, Disabled: s.Disabled, Took: s.Took}
}

func (c *controller) Models() []string {
	ms := c.a.Server.Config().Models
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

// UnavailableModels are the served models the upstream currently refuses.
func (c *controller) UnavailableModels() map[string]string {
	out := map[string]string{}
	for _, m := range c.a.Server.ModelStatuses() {
		if !m.Available {
			out[m.ID] = m.Reason
		}
	}
	return out
}
