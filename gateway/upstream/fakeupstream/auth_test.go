package fakeupstream

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestGetoxsrf(t *testing.T) {
	fixed := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a := DemoAccount(1)
	good := "__Secure-C_SES=" + a.SecureCSES + "; __Host-C_OSES=" + a.HostCOSES
	tests := []struct {
		name       string
		opts       Options
		mutate     func(*Account)
		csesidx    string
		cookie     string
		wantStatus int
		wantBody   string // exact, if set
		check      func(t *testing.T, resp *http.Response, body string)
	}{
		{
			name: "ok", cookie: good, wantStatus: 200,
			check: func(t *testing.T, _ *http.Response, body string) {
				rest, ok := strings.CutPrefix(body, ")]}'\n")
				if !ok {
					t.Fatalf("no XSSI prefix: %q", body)
				}
				var k struct{ XSRFToken, KeyID, ExpirationTime string }
				if err := json.Unmarshal([]byte(rest), &k); err != nil {
					t.Fatal(err)
				}
				key, err := base64.RawURLEncoding.DecodeString(k.XSRFToken)
				if err != nil || len(key) != 32 {
					t.Errorf("xsrfToken %q: %d bytes, %v", k.XSRFToken, len(key), err)
				}
				if k.KeyID == "" {
					t.Error("empty keyId")
				}
				if want := fixed.Add(time.Hour).Format(time.RFC3339); k.ExpirationTime != want {
					t.Errorf("expirationTime = %q, want %q", k.ExpirationTime, want)
				}
			},
		},
		{name: "ok with only the secure cookie", cookie: "__Secure-C_SES=" + a.SecureCSES, wantStatus: 200},
		{name: "missing cookie", wantStatus: 401, wantBody: ExpiredSignInBody},
		{name: "wrong cookie", cookie: "__Secure-C_SES=CSE.nope", wantStatus: 401, wantBody: ExpiredSignInBody},
		{name: "cookie of another account", cookie: "__Secure-C_SES=" + DemoAccount(2).SecureCSES, wantStatus: 401},
		{name: "unknown csesidx", csesidx: "999", cookie: good, wantStatus: 401},
		{name: "host cookie required and missing", opts: Options{RequireHostCOSES: true}, cookie: "__Secure-C_SES=" + a.SecureCSES, wantStatus: 401},
		{name: "host cookie required and present", opts: Options{RequireHostCOSES: true}, cookie: good, wantStatus: 200},
		{
			name: "expired", mutate: func(a *Account) { a.Expired = true }, cookie: good,
			wantStatus: 401, wantBody: ")]}'\n" + `{"message":"Session has expired.","status":"EXPIRED_SIGN_IN"}`,
		},
		{
			name: "redirect", mutate: func(a *Account) { a.AuthMode = AuthModeRedirect }, cookie: good, wantStatus: 302,
			check: func(t *testing.T, resp *http.Response, _ string) {
				if loc := resp.Header.Get("Location"); !strings.Contains(loc, "/auth/login?continueUrl=") {
					t.Errorf("Location = %q, want the auth host's login page", loc)
				}
			},
		},
		{
			name: "nokey", mutate: func(a *Account) { a.AuthMode = AuthModeNoKey }, cookie: good, wantStatus: 200,
			check: func(t *testing.T, _ *http.Response, body string) {
				if strings.Contains(body, "keyId") || strings.Contains(body, "xsrfToken") || !strings.HasPrefix(body, ")]}'") {
					t.Errorf("body = %q, want an XSSI body without keyId/xsrfToken", body)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.Now = func() time.Time { return fixed }
			s, _ := startFakeNoKey(t, opts)
			if tt.mutate != nil {
				s.UpdateAccount(a.CSESIDX, tt.mutate)
			}
			idx := a.CSESIDX
			if tt.csesidx != "" {
				idx = tt.csesidx
			}
			req, _ := http.NewRequest(http.MethodGet, s.BusinessURL()+"/auth/getoxsrf?csesidx="+idx, nil)
			if tt.cookie != "" {
				req.Header.Set("Cookie", tt.cookie)
			}
			c := newClient(t, s, a)
			resp, body := c.do(req)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %q)", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantBody != "" && body != tt.wantBody {
				t.Errorf("body = %q, want %q", body, tt.wantBody)
			}
			if tt.check != nil {
				tt.check(t, resp, body)
			}
			if got := s.GetoxsrfCount(idx); got != 1 {
				t.Errorf("GetoxsrfCount = %d, want 1", got)
			}
		})
	}
}

// startFakeNoKey starts a server without fetching a key for the client.
func startFakeNoKey(t *testing.T, opts Options) (*Server, *client) {
	t.Helper()
	opts.Seed = 7
	s := Start(opts)
	t.Cleanup(s.Close)
	s.AddAccount(DemoAccount(1))
	s.AddAccount(DemoAccount(2))
	return s, newClient(t, s, DemoAccount(1))
}

func TestGetoxsrfKeyReuseAndRotation(t *testing.T) {
	for _, rotate := range []bool{false, true} {
		t.Run(map[bool]string{false: "reuse", true: "rotate"}[rotate], func(t *testing.T) {
			_, c := startFake(t, Options{RotateKeys: rotate})
			oldKid, oldTok := c.kid, c.token()
			c.refresh()
			if same := c.kid == oldKid; same == rotate {
				t.Fatalf("second keyId same=%v with RotateKeys=%v", same, rotate)
			}
			// A token signed with the older key stays valid until its expiry.
			resp, body := c.do(c.widgetRequest(context.Background(), "widgetCreateSession", c.envelope("createSessionRequest", map[string]any{}), oldTok))
			if resp.StatusCode != 200 {
				t.Fatalf("old key rejected: %d %s", resp.StatusCode, body)
			}
		})
	}
}

func TestSigningKeyExpires(t *testing.T) {
	now := time.Now()
	clock := newTestClock(now)
	_, c := startFakeNoKey(t, Options{Now: clock.Now})
	c.refresh()
	tok := c.token()
	// An hour and a bit later the key is gone, even for a fresh token.
	later := now.Add(61 * time.Minute)
	clock.Set(later)
	tok2 := mintJWT(c.key, stdHeader(c.kid), stdClaims(c.acct.CSESIDX, later))
	for _, tk := range []string{tok, tok2} {
		resp, _ := c.do(c.widgetRequest(context.Background(), "widgetCreateSession", c.envelope("createSessionRequest", map[string]any{}), tk))
		if resp.StatusCode != 401 {
			t.Errorf("status = %d, want 401 after key expiry", resp.StatusCode)
		}
	}
}

func TestListAuthSessions(t *testing.T) {
	s, c := startFake(t, Options{})
	get := func(cookie string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, s.AuthURL()+"/list-sessions?csesidx="+c.acct.CSESIDX+"&rt=json", nil)
		req.Header.Set("Cookie", cookie)
		return c.do(req)
	}
	resp, body := get(c.cookie())
	if resp.StatusCode != 200 || !strings.HasPrefix(body, ")]}'\n") {
		t.Fatalf("status %d body %q", resp.StatusCode, body)
	}
	var out struct {
		Sessions []struct {
			CSESIDX string
			Expired bool
			Subject string
		}
	}
	if err := json.Unmarshal([]byte(body[5:]), &out); err != nil || len(out.Sessions) != 1 || out.Sessions[0].CSESIDX != c.acct.CSESIDX || out.Sessions[0].Expired {
		t.Fatalf("sessions = %+v (%v)", out, err)
	}
	resp, body = get("__Secure-C_SES=" + c.acct.SecureCSES)
	if resp.StatusCode != 401 || body != InvalidCookiesBody {
		t.Fatalf("without __Host-C_OSES: %d %q, want 401 INVALID_COOKIES", resp.StatusCode, body)
	}
}

func TestJWTVerification(t *testing.T) {
	_, c := startFake(t, Options{})
	other := DemoAccount(2)
	now := time.Now()
	claims := func(edit func(m map[string]any)) map[string]any {
		m := stdClaims(c.acct.CSESIDX, now)
		if edit != nil {
			edit(m)
		}
		return m
	}
	tests := []struct {
		name       string
		token      func() string
		configID   string
		wantStatus int
	}{
		{name: "valid", token: func() string { return c.token() }, wantStatus: 200},
		{name: "nbf within 60s skew", token: func() string {
			return mintJWT(c.key, stdHeader(c.kid), claims(func(m map[string]any) { m["nbf"] = now.Unix() + 30 }))
		}, wantStatus: 200},
		{name: "keys in another order", token: func() string {
			return mintJWT(c.key, map[string]any{"kid": c.kid, "alg": "HS256"}, claims(nil))
		}, wantStatus: 200},
		{name: "no token", token: func() string { return "" }, wantStatus: 401},
		{name: "two segments", token: func() string { return strings.Join(strings.Split(c.token(), ".")[:2], ".") }, wantStatus: 401},
		{name: "alg none", token: func() string {
			return mintJWT(c.key, map[string]any{"alg": "none", "kid": c.kid}, claims(nil))
		}, wantStatus: 401},
		{name: "alg HS512", token: func() string {
			return mintJWT(c.key, map[string]any{"alg": "HS512", "kid": c.kid}, claims(nil))
		}, wantStatus: 401},
		{name: "bad signature", token: func() string { return mintJWT([]byte("another key"), stdHeader(c.kid), claims(nil)) }, wantStatus: 401},
		{name: "tampered payload keeps old signature", token: func() string {
			parts := strings.Split(c.token(), ".")
			forged := strings.Split(mintJWT(c.key, stdHeader(c.kid), claims(func(m map[string]any) { m["exp"] = now.Unix() + 9999 })), ".")
			return parts[0] + "." + forged[1] + "." + parts[2]
		}, wantStatus: 401},
		{name: "padded base64", token: func() string {
			parts := strings.Split(c.token(), ".")
			return parts[0] + "==." + parts[1] + "." + parts[2]
		}, wantStatus: 401},
		{name: "unknown kid", token: func() string { return mintJWT(c.key, stdHeader("nope"), claims(nil)) }, wantStatus: 401},
		{name: "expired", token: func() string {
			return mintJWT(c.key, stdHeader(c.kid), claims(func(m map[string]any) { m["exp"] = now.Unix() - 1 }))
		}, wantStatus: 401},
		{name: "missing exp", token: func() string {
			return mintJWT(c.key, stdHeader(c.kid), claims(func(m map[string]any) { delete(m, "exp") }))
		}, wantStatus: 401},
		{name: "future nbf beyond skew", token: func() string {
			return mintJWT(c.key, stdHeader(c.kid), claims(func(m map[string]any) { m["nbf"] = now.Unix() + 120 }))
		}, wantStatus: 401},
		{name: "wrong aud", token: func() string {
			return mintJWT(c.key, stdHeader(c.kid), claims(func(m map[string]any) { m["aud"] = "gemini-business-api" }))
		}, wantStatus: 401},
		{name: "wrong iss", token: func() string {
			return mintJWT(c.key, stdHeader(c.kid), claims(func(m map[string]any) { m["iss"] = "gemini-business" }))
		}, wantStatus: 401},
		{name: "sub of another account", token: func() string {
			return mintJWT(c.key, stdHeader(c.kid), claims(func(m map[string]any) { m["sub"] = "csesidx/" + other.CSESIDX }))
		}, wantStatus: 401},
		{name: "sub without prefix", token: func() string {
			return mintJWT(c.key, stdHeader(c.kid), claims(func(m map[string]any) { m["sub"] = c.acct.CSESIDX }))
		}, wantStatus: 401},
		{name: "configId of another account", token: func() string { return c.token() }, configID: other.ConfigID, wantStatus: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := c.envelope("createSessionRequest", map[string]any{})
			if tt.configID != "" {
				env["configId"] = tt.configID
			}
			resp, body := c.do(c.widgetRequest(context.Background(), "widgetCreateSession", env, tt.token()))
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d; reason %q; body %s", resp.StatusCode, tt.wantStatus, resp.Header.Get("X-Fake-Upstream-Reason"), body)
			}
			if tt.wantStatus == 401 && errorStatus(t, body) != "UNAUTHENTICATED" {
				t.Errorf("body %s, want UNAUTHENTICATED", body)
			}
		})
	}
}

func TestEnvelopeValidation(t *testing.T) {
	_, c := startFake(t, Options{})
	tests := []struct {
		name string
		edit func(m map[string]any)
	}{
		{"missing configId", func(m map[string]any) { delete(m, "configId") }},
		{"missing additionalParams", func(m map[string]any) { delete(m, "additionalParams") }},
		{"missing method request", func(m map[string]any) { delete(m, "createSessionRequest") }},
		{"method request not an object", func(m map[string]any) { m["createSessionRequest"] = "x" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := c.envelope("createSessionRequest", map[string]any{})
			tt.edit(env)
			resp, body := c.do(c.widgetRequest(context.Background(), "widgetCreateSession", env, c.token()))
			if resp.StatusCode != 400 || errorStatus(t, body) != "INVALID_ARGUMENT" {
				t.Fatalf("status %d body %s, want 400 INVALID_ARGUMENT", resp.StatusCode, body)
			}
		})
	}
}

func TestBannedAccount(t *testing.T) {
	s, c := startFake(t, Options{})
	sess := c.createSession()
	s.UpdateAccount(c.acct.CSESIDX, func(a *Account) { a.Banned = true })
	calls := []struct {
		name string
		do   func() (*http.Response, string)
	}{
		{"createSession", func() (*http.Response, string) {
			return c.call("widgetCreateSession", "createSessionRequest", map[string]any{})
		}},
		{"streamAssist", func() (*http.Response, string) { return c.stream(sess, "hi", nil) }},
		{"download", func() (*http.Response, string) {
			req, _ := http.NewRequest(http.MethodGet, s.APIURL()+"/v1alpha/"+sess+":downloadFile?fileId=x&alt=media", nil)
			req.Header.Set("Authorization", "Bearer "+c.token())
			return c.do(req)
		}},
	}
	for _, tt := range calls {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := tt.do()
			if resp.StatusCode != 403 || errorStatus(t, body) != "PERMISSION_DENIED" {
				t.Fatalf("status %d body %s, want 403 PERMISSION_DENIED", resp.StatusCode, body)
			}
		})
	}
	// getoxsrf itself still works: a ban is a data-plane matter.
	if resp, _ := c.getoxsrf(c.cookie()); resp.StatusCode != 200 {
		t.Errorf("getoxsrf of a banned account: %d", resp.StatusCode)
	}
}
