package upstream

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestAllowedURL(t *testing.T) {
	c, err := New(Config{BusinessURL: "https://business.gemini.google", AuthURL: "https://auth.business.gemini.google",
		APIURL: "http://127.0.0.1:8080/api"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url  string
		want bool
	}{
		{"https://business.gemini.google/refreshcookies?x=1", true},
		{"https://BUSINESS.gemini.google:443/refreshcookies", true},
		{"https://auth.business.gemini.google/refreshcookies", true},
		{"http://127.0.0.1:8080/business/refreshcookies", true},
		{"http://business.gemini.google/refreshcookies", false},          // downgrade to plain HTTP
		{"https://business.gemini.google:8443/refreshcookies", false},    // another port
		{"https://evil.example/refreshcookies", false},                   // another host
		{"https://business.gemini.google.evil.example/x", false},         // suffix trick
		{"https://evilbusiness.gemini.google/x", false},                  // not a configured host
		{"https://accounts.google.com/ServiceLogin", false},              // Google's own, not the upstream's
		{"https://user:pw@business.gemini.google/refreshcookies", false}, // credentials in the URL
		{"ftp://business.gemini.google/refreshcookies", false},
		{"http://127.0.0.1:8081/business/refreshcookies", false},
	}
	for _, tc := range tests {
		if got := c.allowedURL(mustURL(t, tc.url)); got != tc.want {
			t.Errorf("allowedURL(%s) = %v, want %v", tc.url, got, tc.want)
		}
	}
}

func TestRefreshAndSignInURLs(t *testing.T) {
	for _, tc := range []struct {
		url             string
		refresh, signIn bool
	}{
		{"https://business.gemini.google/refreshcookies?continue=x", true, false},
		{"https://auth.business.gemini.google/RefreshCookies", true, false},
		{"https://auth.business.gemini.google/login?continueUrl=https%3A%2F%2Fbusiness.gemini.google%2Frefreshcookies", false, true},
		{"https://auth.business.gemini.google/login/email?x=1", false, true},
		{"https://accounts.google.com/v3/signin/identifier", false, true},
		{"https://accountverification.business.gemini.google/v1/verify-oob-code", false, true},
		{"https://auth.business.gemini.google/accountchooser", false, true},
		{"https://business.gemini.google/home/cid/abc?csesidx=1", false, false},
	} {
		u := mustURL(t, tc.url)
		if isRefreshCookiesURL(u) != tc.refresh || isSignInURL(u) != tc.signIn {
			t.Errorf("%s: refresh %v sign-in %v", tc.url, isRefreshCookiesURL(u), isSignInURL(u))
		}
	}
}

func TestParseSetCookie(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	sc, ok := parseSetCookie(`__Secure-C_SES=CSE.a/b+c=="; Domain=.business.gemini.google; Path=/; Expires=Sat, 02 May 2026 12:00:00 GMT; Secure; HttpOnly; SameSite=None`, now)
	if !ok || sc.name != "__Secure-C_SES" || sc.value != "CSE.a/b+c==" || sc.domain != "business.gemini.google" ||
		!sc.secure || !sc.httpOnly || !sc.expires.Equal(now.Add(24*time.Hour)) || sc.deleted {
		t.Fatalf("%+v", sc)
	}
	sc, _ = parseSetCookie("__Host-C_OSES=x; Max-Age=60; Expires=Sat, 02 May 2026 12:00:00 GMT; Path=/; Secure", now)
	if !sc.expires.Equal(now.Add(time.Minute)) {
		t.Errorf("Max-Age must win over Expires: %v", sc.expires)
	}
	for _, l := range []string{"__Secure-C_SES=; Max-Age=0; Secure", "__Secure-C_SES=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure"} {
		if sc, _ := parseSetCookie(l, now); !sc.deleted {
			t.Errorf("%q: not a deletion", l)
		}
	}
	if _, ok := parseSetCookie("garbage", now); ok {
		t.Error("a header without = parsed")
	}
}

func TestMergeSetCookies(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	exp := "Sat, 02 May 2026 12:00:00 GMT"
	tests := []struct {
		name      string
		host      string
		lines     []string
		wantSES   string
		wantOSES  string
		reissued  bool
		deleted   bool
		expiresOK bool
	}{
		{"both re-issued", "business.gemini.google", []string{
			"__Secure-C_SES=CSE.new; Domain=.business.gemini.google; Path=/; Expires=" + exp + "; Secure; HttpOnly",
			"__Host-C_OSES=COS.new; Path=/; Expires=" + exp + "; Secure; HttpOnly",
			"NID=other; Domain=.google.com",
		}, "CSE.new", "COS.new", true, false, true},
		{"C_SES from the auth host for its parent domain", "auth.business.gemini.google", []string{
			"__Secure-C_SES=CSE.new; Domain=business.gemini.google; Path=/; Secure",
		}, "CSE.new", "COS.old", true, false, false},
		{"C_SES from the business host for a subdomain", "business.gemini.google", []string{
			"__Secure-C_SES=CSE.new; Domain=auth.business.gemini.google; Path=/; Secure",
		}, "CSE.old", "COS.old", false, false, false},
		{"domain of another site", "business.gemini.google", []string{
			"__Secure-C_SES=CSE.evil; Domain=evil.example; Path=/; Secure",
		}, "CSE.old", "COS.old", false, false, false},
		{"__Secure- without Secure", "business.gemini.google", []string{"__Secure-C_SES=CSE.x; Path=/"}, "CSE.old", "COS.old", false, false, false},
		{"__Host- with a Domain", "business.gemini.google", []string{"__Host-C_OSES=COS.x; Domain=business.gemini.google; Path=/; Secure"}, "CSE.old", "COS.old", false, false, false},
		{"__Host- without Path=/", "business.gemini.google", []string{"__Host-C_OSES=COS.x; Path=/a; Secure"}, "CSE.old", "COS.old", false, false, false},
		{"a value that would smuggle a header", "business.gemini.google", []string{"__Secure-C_SES=CSE.a\r\nX: y; Secure"}, "CSE.old", "COS.old", false, false, false},
		{"session cookie deleted", "business.gemini.google", []string{"__Secure-C_SES=; Max-Age=0; Path=/; Secure"}, "CSE.old", "COS.old", false, true, false},
		{"only C_OSES", "business.gemini.google", []string{"__Host-C_OSES=COS.n; Path=/; Secure"}, "CSE.old", "COS.n", false, false, false},
		{"last one wins", "business.gemini.google", []string{"__Secure-C_SES=CSE.1; Secure", "__Secure-C_SES=CSE.2; Secure"}, "CSE.2", "COS.old", true, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cr := Credentials{SecureCSES: "CSE.old", HostCOSES: "COS.old", CSESIDX: "1"}
			h := http.Header{}
			for _, l := range tc.lines {
				h.Add("Set-Cookie", l)
			}
			e, re, del := mergeSetCookies(&cr, h, tc.host, now)
			if cr.SecureCSES != tc.wantSES || cr.HostCOSES != tc.wantOSES || re != tc.reissued || del != tc.deleted || (!e.IsZero()) != tc.expiresOK {
				t.Fatalf("got %s/%s reissued %v deleted %v expires %v", cr.SecureCSES, cr.HostCOSES, re, del, e)
			}
		})
	}
}

// refreshSite is an httptest upstream whose getoxsrf and refreshcookies
// behave as a test says.
func refreshSite(t *testing.T, handler http.HandlerFunc) (*Client, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	c, err := New(Config{BusinessURL: srv.URL + "/b", AuthURL: srv.URL + "/a", APIURL: srv.URL + "/api"})
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

var testCreds = Credentials{AccountID: "t", SecureCSES: "CSE.old-secret", HostCOSES: "COS.old-secret", CSESIDX: "4242"}

func TestRefreshCookiesOverHTTP(t *testing.T) {
	exp := time.Now().Add(20 * time.Hour).UTC().Truncate(time.Second)
	var sawCookie []string
	c, srv := refreshSite(t, func(w http.ResponseWriter, r *http.Request) {
		sawCookie = append(sawCookie, r.Header.Get("Cookie"))
		switch r.URL.Path {
		case "/b/auth/getoxsrf":
			if strings.Contains(r.Header.Get("Cookie"), "CSE.new") {
				w.Write([]byte(")]}'\n{\"xsrfToken\":\"AAAA\",\"keyId\":\"k\"}"))
				return
			}
			http.Redirect(w, r, "/a/refreshcookies?continue="+url.QueryEscape("/b/auth/getoxsrf?csesidx=4242"), http.StatusFound)
		case "/a/refreshcookies":
			// One hop more on the auth host, setting C_OSES first.
			w.Header().Add("Set-Cookie", "__Host-C_OSES=COS.new; Path=/; Secure; HttpOnly")
			http.Redirect(w, r, "/b/refreshcookies", http.StatusFound)
		case "/b/refreshcookies":
			w.Header().Add("Set-Cookie", "__Secure-C_SES=CSE.new; Path=/; Expires="+exp.Format(http.TimeFormat)+"; Secure; HttpOnly")
			http.Redirect(w, r, "/b/auth/getoxsrf?csesidx=4242", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	})
	_, err := c.GetOXSRF(context.Background(), testCreds)
	var ue *Error
	if !errors.As(err, &ue) || ue.Kind != KindStale || !strings.HasPrefix(ue.RefreshURL(), srv.URL+"/a/refreshcookies") {
		t.Fatalf("stale getoxsrf: %v", err)
	}
	if strings.Contains(err.Error(), "refreshcookies?") || strings.Contains(err.Error(), "4242") {
		t.Errorf("the error shows the URL: %v", err)
	}
	rot, err := c.RefreshCookies(context.Background(), testCreds, ue.RefreshURL())
	if err != nil {
		t.Fatal(err)
	}
	if rot.Credentials.SecureCSES != "CSE.new" || rot.Credentials.HostCOSES != "COS.new" || rot.Credentials.CSESIDX != "4242" || !rot.ExpiresAt.Equal(exp) {
		t.Fatalf("rotation %+v", rot)
	}
	// The second hop carried the cookie the first one set.
	if last := sawCookie[len(sawCookie)-1]; !strings.Contains(last, "COS.new") || !strings.Contains(last, "CSE.old-secret") {
		t.Errorf("cookies on the second hop: %q", last)
	}
	if _, err := c.GetOXSRF(context.Background(), rot.Credentials); err != nil {
		t.Fatalf("getoxsrf with the new cookies: %v", err)
	}
}

func TestRefreshCookiesFailures(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("cookies were sent off-host: %q", r.Header.Get("Cookie"))
	}))
	defer other.Close()
	tests := []struct {
		name    string
		handler http.HandlerFunc
		kind    Kind
	}{
		{"off-host redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/refreshcookies", http.StatusFound)
		}, KindExpired},
		{"ends on the login page", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/b/refreshcookies" {
				http.Redirect(w, r, "/a/login?continueUrl=x", http.StatusFound)
				return
			}
			t.Errorf("followed to %s", r.URL.Path)
		}, KindSignIn},
		{"deletes the cookie", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Add("Set-Cookie", "__Secure-C_SES=; Max-Age=0; Path=/; Secure")
			w.Write([]byte("<html>"))
		}, KindSignIn},
		{"EXPIRED_SIGN_IN", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(401)
			w.Write([]byte(")]}'\n{\"message\":\"Session has expired.\",\"status\":\"EXPIRED_SIGN_IN\"}"))
		}, KindSignIn},
		{"re-issues nothing", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>ok</html>")) }, KindTransient},
		{"server error", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }, KindTransient},
		{"redirect loop", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/b/refreshcookies", http.StatusFound)
		}, KindTransient},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, srv := refreshSite(t, tc.handler)
			_, err := c.RefreshCookies(context.Background(), testCreds, srv.URL+"/b/refreshcookies")
			if KindOf(err) != tc.kind {
				t.Fatalf("kind %v (%v), want %v", KindOf(err), err, tc.kind)
			}
			for _, s := range []string{testCreds.SecureCSES, testCreds.HostCOSES, testCreds.CSESIDX} {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("error reveals a secret: %v", err)
				}
			}
		})
	}
	// A refresh URL off the hosts is refused before any request.
	c, _ := refreshSite(t, func(http.ResponseWriter, *http.Request) {})
	if _, err := c.RefreshCookies(context.Background(), testCreds, other.URL+"/refreshcookies"); KindOf(err) != KindExpired {
		t.Fatalf("off-host start: %v", err)
	}
}

func TestGetOXSRFClassifies(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		kind    Kind
	}{
		{"200 not JSON is transient", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>proxy error</html>")) }, KindTransient},
		{"200 bad base64 key is transient", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(")]}'\n{\"xsrfToken\":\"!!!\",\"keyId\":\"k\"}"))
		}, KindTransient},
		{"200 without a key is expiry", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(")]}'\n{}")) }, KindExpired},
		{"302 to the login page is expiry", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/a/login", http.StatusFound)
		}, KindExpired},
		{"302 to refreshcookies is stale", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/b/refreshcookies?continue=%2F", http.StatusFound)
		}, KindStale},
		{"401 EXPIRED_SIGN_IN needs sign-in", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(401)
			w.Write([]byte(")]}'\n{\"message\":\"Session has expired.\",\"status\":\"EXPIRED_SIGN_IN\"}"))
		}, KindSignIn},
		{"plain 401 is expiry", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(401) }, KindExpired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := refreshSite(t, tc.handler)
			if _, err := c.GetOXSRF(context.Background(), testCreds); KindOf(err) != tc.kind {
				t.Fatalf("kind %v (%v), want %v", KindOf(err), err, tc.kind)
			}
		})
	}
}
