//go:build !nogui

package app

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/gateway/events"
	"github.com/gemgate/gemini-gateway/gateway/pool"
	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
	"github.com/gemgate/gemini-gateway/ui"
)

func TestControllerAccounts(t *testing.T) {
	needKeychain(t)
	fake := fakeupstream.Start(fakeupstream.Options{})
	defer fake.Close()
	d := fakeupstream.DemoAccount(51)
	fake.AddAccount(d)
	a := startApp(t, fake, nil)
	c := newController(a.App)
	defer c.close()

	_, err := c.AddAccount(ui.AccountInput{Name: "x", SecureCSES: "CSE.ok-value", CSESIDX: "12ab", ConfigID: "nope", Enabled: true})
	var fe *ui.FieldErrors
	if !errors.As(err, &fe) || (*fe)["csesidx"] == "" || (*fe)["config_id"] == "" || (*fe)["secure_c_ses"] != "" {
		t.Fatalf("field errors = %v", err)
	}
	acct, err := c.AddAccount(ui.AccountInput{Name: "work", SecureCSES: d.SecureCSES, CSESIDX: d.CSESIDX, ConfigID: d.ConfigID, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Second, "the background check of the new account", func() bool {
		for _, x := range c.Accounts() {
			if x.ID == acct.ID {
				return x.State == ui.AccountHealthy && x.LastCheckOK
			}
		}
		return false
	})
	if err := c.SetEnabled(acct.ID, false); err != nil {
		t.Fatal(err)
	}
	if st := c.Status(); st.Usable != 0 || st.State != ui.StateNoUsable {
		t.Errorf("status after disabling the only account: %+v", st)
	}
	p := c.ParseImport("SECURE_C_SES=CSE.pasted-value\nCSESIDX=2026000001\nCONFIG_ID=" + d.ConfigID)
	if p.Format != "env" || len(p.Items) != 1 || strings.Contains(p.Items[0].Hint, "pasted-value") {
		t.Errorf("preview = %+v", p)
	}
	res := c.Import([]ui.AccountInput{p.Items[0].Input})
	if len(res.Added) != 1 || len(res.Problems) != 0 {
		t.Errorf("import = %+v", res)
	}
}

func TestControllerSettings(t *testing.T) {
	fake := fakeupstream.Start(fakeupstream.Options{})
	defer fake.Close()
	d := fakeupstream.DemoAccount(52)
	fake.AddAccount(d)
	a := startApp(t, fake, map[string]string{"SECURE_C_SES": d.SecureCSES, "CSESIDX": d.CSESIDX, "CONFIG_ID": d.ConfigID})
	c := newController(a.App)
	defer c.close()

	byName := map[string]ui.Setting{}
	for _, s := range c.Settings() {
		byName[s.Name] = s
	}
	if byName["REASONING_OUTPUT"].Value != "reasoning_content" || byName["HEALTH_CHECK_ENABLED"].OverriddenBy != "test" {
		t.Errorf("settings: %+v %+v", byName["REASONING_OUTPUT"], byName["HEALTH_CHECK_ENABLED"])
	}
	if _, ok := byName["GATEWAY_SECRET_KEY"]; ok {
		t.Error("the secret key must not be editable next to the database it unlocks")
	}

	_, err := c.SaveSettings(map[string]string{"PORT": "99999", "REASONING_OUTPUT": "loud", "HEALTH_CHECK_INTERVAL": "5m"})
	var fe *ui.FieldErrors
	if !errors.As(err, &fe) || (*fe)["PORT"] == "" || (*fe)["REASONING_OUTPUT"] == "" || (*fe)["HEALTH_CHECK_INTERVAL"] != "" {
		t.Fatalf("validation: %v", err)
	}

	// Live: the reasoning mode changes on the running server.
	admin := a.Server.Config().AdminKey
	res, err := c.SaveSettings(map[string]string{"REASONING_OUTPUT": "off", "DATABASE_URL": "postgres://u@db:5432/x"})
	if err != nil {
		t.Fatal(err)
	}
	// The admin key read from admin.key at start survives a save.
	if got := a.Server.Config().AdminKey; admin == "" || got != admin {
		t.Errorf("admin key after saving settings: %q, was %q", got, admin)
	}
	if a.Server.Config().Reasoning != "off" || strings.Join(res.Restart, ",") != "DATABASE_URL" {
		t.Errorf("apply: %+v reasoning %q", res, a.Server.Config().Reasoning)
	}
	saved, _ := LoadSettings(a.Config().DataDir)
	if saved["REASONING_OUTPUT"] != "off" {
		t.Errorf("not saved: %v", saved)
	}

	// The port moves: the listener restarts on it, and a port taken by
	// another program is reported with a free one to offer.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := ln.Addr().(*net.TCPAddr).Port
	_, err = c.SaveSettings(map[string]string{"PORT": strconv.Itoa(taken)})
	if err == nil {
		t.Fatal("moving to a taken port succeeded")
	}
	st := c.Status()
	if !st.PortInUse || st.SuggestedPort <= taken || st.Running {
		t.Fatalf("status = %+v", st)
	}
	if err := c.UsePort(st.SuggestedPort); err != nil {
		t.Fatal(err)
	}
	if st = c.Status(); !st.Running || st.PortInUse || !strings.HasSuffix(st.Addr, ":"+strconv.Itoa(st.SuggestedPort)) && !strings.Contains(c.BaseURL(), strconv.Itoa(a.Config().Gateway.Port)) {
		t.Fatalf("after UsePort: %+v", st)
	}
	resp, err := http.Get(strings.TrimSuffix(c.BaseURL(), "/v1") + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz on the new port: %v", err)
	}
	resp.Body.Close()

	// A new API key applies at once.
	key, err := c.RegenerateAPIKey()
	if err != nil || !strings.HasPrefix(key, "sk-gg-") || a.Server.Config().APIKey != key {
		t.Fatalf("regenerate: %q %v", key, err)
	}
}

// The account view carries the lifecycle times and the needs_sign_in
// state the UI shows ("expires in 9 h", "refreshed 12 min ago").
func TestUIAccountLifecycleFields(t *testing.T) {
	exp := time.Date(2026, 6, 1, 20, 0, 0, 0, time.UTC)
	in, ref := exp.Add(-20*time.Hour), exp.Add(-time.Hour)
	u := uiAccount(pool.AccountView{Account: accounts.Account{ID: 3, Enabled: true, Status: accounts.StatusNeedsSignIn,
		ExpiresAt: exp, LastSignInAt: in, LastRefreshAt: ref}, State: pool.StateNeedsSignIn, Reason: "needs sign-in: over"})
	if !u.ExpiresAt.Equal(exp) || !u.LastSignInAt.Equal(in) || !u.LastRefreshAt.Equal(ref) || u.State != ui.AccountNeedsSignIn || u.Usable {
		t.Fatalf("%+v", u)
	}
}

// TestControllerSaveSettingsConcurrent saves two settings from two
// goroutines, as the UI may: neither save may lose the other's change.
func TestControllerSaveSettingsConcurrent(t *testing.T) {
	fake := fakeupstream.Start(fakeupstream.Options{})
	defer fake.Close()
	d := fakeupstream.DemoAccount(53)
	fake.AddAccount(d)
	a := startApp(t, fake, map[string]string{"SECURE_C_SES": d.SecureCSES, "CSESIDX": d.CSESIDX, "CONFIG_ID": d.ConfigID})
	c := newController(a.App)
	defer c.close()
	var wg sync.WaitGroup
	for _, kv := range [][3]string{{"REASONING_OUTPUT", "off", "think"}, {"HEALTH_CHECK_INTERVAL", "5m", "7m"}} {
		wg.Go(func() {
			for i := range 8 {
				if _, err := c.SaveSettings(map[string]string{kv[0]: kv[1+i%2]}); err != nil {
					t.Errorf("%s: %v", kv[0], err)
				}
			}
		})
	}
	wg.Wait()
	saved, _ := LoadSettings(a.Config().DataDir)
	if saved["REASONING_OUTPUT"] != "think" || saved["HEALTH_CHECK_INTERVAL"] != "7m" {
		t.Errorf("saved %v: a concurrent save lost a change", saved)
	}
}

// TestControllerShowsDroppedEvents blocks a UI subscriber so the bus drops
// its events, and checks that the subscriber is told so in a request-log
// row, while the controller's own request log goes on without waiting.
func TestControllerShowsDroppedEvents(t *testing.T) {
	c := newController(&App{Bus: &events.Bus{}})
	defer c.close()
	release, held := make(chan struct{}), make(chan struct{}, 1)
	var sawDropped atomic.Bool // the log keeps 1,000 rows, fewer than the buffer
	cancel := c.Subscribe(func(ev ui.Event) {
		if ev.Request != nil && strings.Contains(ev.Request.Error, "events dropped") {
			sawDropped.Store(true)
		}
		select {
		case held <- struct{}{}:
			<-release // hold the consumer on the first event
		default:
		}
	})
	defer cancel()
	publish := func(id string) {
		c.a.Bus.Publish(events.Event{Kind: events.RequestFinished, Request: &events.RequestInfo{ID: id, Status: 200}})
	}
	publish("first")
	<-held
	publish("while held")
	waitUntil(t, 5*time.Second, "the request log to record a request while a subscriber is stuck", func() bool {
		rows := c.RecentRequests()
		return len(rows) == 2 && rows[1].ID == "while held"
	})
	for i := range 1100 { // more than the controller's buffer of 1024
		publish(fmt.Sprint("r", i))
	}
	close(release)
	waitUntil(t, 5*time.Second, "a row saying events were dropped", sawDropped.Load)
}

// TestUIAccountStateCoversThePool maps every pool state to a distinct UI
// state whose label reads the same (the admin API's "needs_sign_in" reads
// "needs sign-in").
func TestUIAccountStateCoversThePool(t *testing.T) {
	seen := map[ui.AccountState]pool.State{}
	for _, s := range []pool.State{pool.StateHealthy, pool.StateUnknown, pool.StateCooling, pool.StateExpired,
		pool.StateBanned, pool.StateUnhealthy, pool.StateDisabled, pool.StateNeedsSignIn} {
		got := uiAccountState(s)
		if prev, dup := seen[got]; dup {
			t.Errorf("%q and %q both map to %v", prev, s, got)
		}
		seen[got] = s
		want := strings.ReplaceAll(string(s), "_", " ")
		if s == pool.StateNeedsSignIn {
			want = "needs sign-in"
		}
		if got.Label() != want {
			t.Errorf("%q shows as %q, want %q", s, got.Label(), want)
		}
	}
}

// TestControllerSubscribeCancel: every UI subscriber gets the events, and
// one that cancelled gets none after.
func TestControllerSubscribeCancel(t *testing.T) {
	c := newController(&App{Bus: &events.Bus{}})
	defer c.close()
	var gone, kept atomic.Int32
	cancelGone := c.Subscribe(func(ui.Event) { gone.Add(1) })
	cancelKept := c.Subscribe(func(ev ui.Event) {
		if ev.Kind == ui.EventGateway {
			kept.Add(1)
		}
	})
	defer cancelKept()
	cancelGone()
	cancelGone() // a second cancel is harmless
	c.a.Bus.Publish(events.Event{Kind: events.GatewayState})
	waitUntil(t, 5*time.Second, "the remaining subscriber to get the event", func() bool { return kept.Load() == 1 })
	if n := gone.Load(); n != 0 {
		t.Errorf("a cancelled subscriber got %d events", n)
	}
}
