package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/gateway/events"
	"github.com/gemgate/gemini-gateway/gateway/signin"
	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
)

// startSiteApp builds the real app against the fake sign-in site with the
// upstream's real URLs (GEMINI_BUSINESS_URL=https://business.gemini.google
// and so on): the browser reaches the site through BROWSER_ARGS, the
// gateway's HTTP client through the site's transport.
func startSiteApp(t *testing.T, site *fakeupstream.SignInSite, data string) *testApp {
	t.Helper()
	key := "sk-test-signin"
	env := map[string]string{
		"GATEWAY_DATA_DIR": data, "PORT": "0", "API_KEY": key,
		"GATEWAY_SECRET_KEY":   "sealed secrets for the sign-in test",
		"BROWSER_ARGS":         site.BrowserArgs(),
		"HEALTH_CHECK_ENABLED": "false", "LOG_LEVEL": "debug",
		"BROWSER_REFRESH_INTERVAL": "0",
	}
	cfg, err := Resolve([]Layer{{Source: "test", Vars: env}})
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = data
	cfg.Upstream.Transport = site.Transport()
	logs := &lockedBuffer{}
	a, err := Build(context.Background(), cfg, logs)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.StartGateway(); err != nil {
		t.Fatal(err)
	}
	ta := &testApp{App: a, base: "http://" + a.Server.Addr(), key: key, log: logs, bodies: &lockedBuffer{}}
	t.Cleanup(func() { ta.close(t) })
	return ta
}

func (a *testApp) close(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if a.Server != nil && a.GatewayRunning() {
		a.Close(ctx)
		if t.Failed() {
			t.Logf("app log:\n%s", a.log.String())
		}
	}
}

// TestBrowserSignInEndToEnd follows one account through the app's own
// code paths against the fake site: signed in with the browser, it
// serves; after a restart a silent browser refresh rotates its cookie and
// it still serves; when the sign-in's hard limit passes, the admin refresh
// answers needs_sign_in, the account leaves the rotation and the UI is
// told (AccountNeedsSignIn); signing in again brings the same account back.
func TestBrowserSignInEndToEnd(t *testing.T) {
	needBrowserDisplay(t)
	fake := fakeupstream.Start(fakeupstream.Options{})
	defer fake.Close()
	site, err := fake.StartSignInSite(fakeupstream.SignInSiteOptions{AutoFill: signinEmail})
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	site.AddUser(signinEmail, signinConfigID)
	data := t.TempDir()
	ctx := context.Background()

	a := startSiteApp(t, site, data)
	start := time.Now()
	acct, res, err := SignInAccount(ctx, a.Signer, a.Accounts, a.Redactor, 0, "work")
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	t.Logf("sign-in through the app: %v", time.Since(start).Round(time.Millisecond))
	if acct.LastSignInAt.IsZero() || acct.ExpiresAt.Sub(res.ExpiresAt).Abs() > time.Second {
		t.Fatalf("lifecycle not recorded: last sign-in %v, expires %v (cookie %v)", acct.LastSignInAt, acct.ExpiresAt, res.ExpiresAt)
	}
	if !a.Signer.HasProfile(signin.ProfileName(acct.ID)) {
		t.Fatal("the account has no browser profile after signing in")
	}
	chat := func(x *testApp, msg string) int {
		c, _ := x.call(t, "POST", "/v1/chat/completions", fmt.Sprintf(chatBody, false, msg))
		return c
	}
	if c := chat(a, "first"); c != 200 {
		t.Fatalf("chat after sign-in: %d", c)
	}
	a.close(t)

	// Restart; the cookie is stale: a silent browser refresh rotates it.
	b := startSiteApp(t, site, data)
	site.StaleCookies()
	start = time.Now()
	out, err := b.Refresher.browser(ctx, acct.ID)
	if err != nil || out.Result != "refreshed" {
		t.Fatalf("silent refresh after restart: %+v, %v", out, err)
	}
	t.Logf("silent browser refresh through the app: %v", time.Since(start).Round(time.Millisecond))
	if c := chat(b, "after the rotation"); c != 200 {
		t.Fatalf("chat after the rotation: %d", c)
	}

	// The hard limit passes: needs_sign_in, never chosen, the UI is told.
	sub := b.Bus.Subscribe(64)
	defer sub.Close()
	site.EndSignIns(signinEmail)
	code, body := b.call(t, "POST", fmt.Sprintf("/api/admin/accounts/%d/refresh", acct.ID), "")
	var rr struct {
		Result string `json:"result"`
	}
	json.Unmarshal([]byte(body), &rr)
	if code != 200 || rr.Result != "needs_sign_in" {
		t.Fatalf("admin refresh after the hard limit: %d %s", code, body)
	}
	got, _ := b.Accounts.Get(ctx, acct.ID)
	if got.Status != accounts.StatusNeedsSignIn {
		t.Fatalf("state %q, want needs_sign_in", got.Status)
	}
	notified := false
	for !notified {
		select {
		case ev := <-sub.C:
			notified = ev.Kind == events.AccountNeedsSignIn && ev.AccountID == acct.ID
		case <-time.After(5 * time.Second):
			t.Fatal("no AccountNeedsSignIn event")
		}
	}
	if c := chat(b, "while signed out"); c == 200 {
		t.Fatal("an account that needs sign-in served a request")
	}

	// Sign in again: same id, new csesidx, it serves again.
	again, res2, err := SignInAccount(ctx, b.Signer, b.Accounts, b.Redactor, acct.ID, "")
	if err != nil {
		t.Fatalf("sign in again: %v", err)
	}
	if again.ID != acct.ID || again.Name != "work" || res2.Secrets.CSESIDX == res.Secrets.CSESIDX || again.Status == accounts.StatusNeedsSignIn {
		t.Fatalf("sign in again: id %d name %q new csesidx %v status %q", again.ID, again.Name, res2.Secrets.CSESIDX != res.Secrets.CSESIDX, again.Status)
	}
	waitUntil(t, 5*time.Second, "the account to serve again", func() bool { return chat(b, "back") == 200 })

	for _, s := range []string{b.log.String(), b.bodies.String()} {
		for _, v := range []string{res.Secrets.SecureCSES, res.Secrets.CSESIDX, res2.Secrets.SecureCSES, res2.Secrets.HostCOSES, res2.Secrets.CSESIDX} {
			if strings.Contains(s, v) {
				t.Fatal("a secret is in the log or an HTTP answer")
			}
		}
	}
}
