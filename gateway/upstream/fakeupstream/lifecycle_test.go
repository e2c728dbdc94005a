package fakeupstream

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for lifecycle tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// getoxsrf calls the fake with raw cookies and no redirect following.
func getoxsrf(t *testing.T, s *Server, csesidx, ses, oses string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", s.BusinessURL()+"/auth/getoxsrf?csesidx="+csesidx, nil)
	req.Header.Set("Cookie", "__Secure-C_SES="+ses+"; __Host-C_OSES="+oses)
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// setCookieValue finds a cookie's value and attributes in Set-Cookie lines.
func setCookieLine(h http.Header, name string) string {
	for _, l := range h.Values("Set-Cookie") {
		if strings.HasPrefix(l, name+"=") {
			return l
		}
	}
	return ""
}

func cookieVal(line string) string {
	v, _, _ := strings.Cut(line, ";")
	_, v, _ = strings.Cut(v, "=")
	return v
}

func TestSignInLifecycle(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	s := Start(Options{Seed: 7, Now: clk.Now, SignInLifetime: 12 * time.Hour, CookieStaleAfter: time.Hour, RotationGrace: time.Minute})
	defer s.Close()
	a := DemoAccount(1)
	s.AddAccount(a)

	if r := getoxsrf(t, s, a.CSESIDX, a.SecureCSES, a.HostCOSES); r.StatusCode != 200 {
		t.Fatalf("fresh cookies: %d", r.StatusCode)
	}
	if st := s.CookieState(a.SecureCSES); st != CookieFresh {
		t.Fatalf("state %s", st)
	}

	// Stale: getoxsrf points at refreshcookies on the business host.
	clk.Add(time.Hour)
	r := getoxsrf(t, s, a.CSESIDX, a.SecureCSES, a.HostCOSES)
	loc, _ := url.Parse(r.Header.Get("Location"))
	if r.StatusCode != http.StatusFound || loc == nil || loc.Path != "/"+HostBusiness+"/refreshcookies" {
		t.Fatalf("stale getoxsrf: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if s.CookieState(a.SecureCSES) != CookieStale {
		t.Fatal("not stale")
	}

	// The refresh re-issues both cookies and sends the client back.
	req, _ := http.NewRequest("GET", loc.String(), nil)
	req.Header.Set("Cookie", "__Secure-C_SES="+a.SecureCSES+"; __Host-C_OSES="+a.HostCOSES)
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ses, oses := setCookieLine(resp.Header, "__Secure-C_SES"), setCookieLine(resp.Header, "__Host-C_OSES")
	if resp.StatusCode != http.StatusFound || !strings.Contains(resp.Header.Get("Location"), "/auth/getoxsrf") {
		t.Fatalf("refreshcookies: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, l := range []string{ses, oses} {
		for _, attr := range []string{"Secure", "HttpOnly", "Path=/", "Expires="} {
			if !strings.Contains(l, attr) {
				t.Errorf("%q lacks %s", l, attr)
			}
		}
	}
	if strings.Contains(oses, "Domain=") || strings.Contains(ses, "Domain=") {
		t.Errorf("cookies for 127.0.0.1 must be host-only: %q %q", ses, oses)
	}
	newSES, newOSES := cookieVal(ses), cookieVal(oses)
	if newSES == a.SecureCSES || newSES == "" || newOSES == a.HostCOSES {
		t.Fatal("cookies not rotated")
	}
	if exp, err := http.ParseTime(strings.TrimPrefix(strings.Split(ses[strings.Index(ses, "Expires="):], ";")[0], "Expires=")); err != nil ||
		!exp.Equal(clk.Now().Add(11*time.Hour)) { // capped at the end of the sign-in
		t.Errorf("Expires %v (%v)", exp, err)
	}
	if r := getoxsrf(t, s, a.CSESIDX, newSES, newOSES); r.StatusCode != 200 {
		t.Fatalf("rotated cookies: %d", r.StatusCode)
	}
	// Old cookies: within the grace, then never again.
	if r := getoxsrf(t, s, a.CSESIDX, a.SecureCSES, a.HostCOSES); r.StatusCode != 200 {
		t.Fatalf("old cookies within the grace: %d", r.StatusCode)
	}
	clk.Add(2 * time.Minute)
	if r := getoxsrf(t, s, a.CSESIDX, a.SecureCSES, a.HostCOSES); r.StatusCode != 401 {
		t.Fatalf("old cookies after the grace: %d", r.StatusCode)
	}
	if _, rot := s.Lifecycle(a.ConfigID); rot != 1 {
		t.Errorf("rotations %d", rot)
	}

	// The hard limit: EXPIRED_SIGN_IN, and refreshcookies sends to login.
	clk.Add(11 * time.Hour)
	if r := getoxsrf(t, s, a.CSESIDX, newSES, newOSES); r.StatusCode != 401 {
		t.Fatalf("past the hard limit: %d", r.StatusCode)
	}
	if s.CookieState(newSES) != CookieSignedOut {
		t.Fatal("not signed out")
	}
	if _, _, _, ok := s.RefreshCookies(newSES); ok {
		t.Fatal("refreshed a dead sign-in")
	}
	req, _ = http.NewRequest("GET", s.BusinessURL()+"/refreshcookies", nil)
	req.Header.Set("Cookie", "__Secure-C_SES="+newSES)
	resp, err = noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.Contains(resp.Header.Get("Location"), "/"+HostAuth+"/login") || resp.Header.Get("Set-Cookie") != "" {
		t.Fatalf("dead refresh: %q %q", resp.Header.Get("Location"), resp.Header.Get("Set-Cookie"))
	}

	// A new sign-in: new csesidx and cookies, same config id, fresh limit.
	cses, coses, idx, exp := s.SignIn(a.ConfigID)
	if idx == a.CSESIDX || cses == newSES || coses == "" || !exp.After(clk.Now()) {
		t.Fatalf("sign-in: idx %s exp %v", idx, exp)
	}
	if got, ok := s.AccountByConfig(a.ConfigID); !ok || got.CSESIDX != idx {
		t.Fatal("account not re-keyed")
	}
	if r := getoxsrf(t, s, idx, cses, coses); r.StatusCode != 200 {
		t.Fatalf("after sign-in: %d", r.StatusCode)
	}
	if r := getoxsrf(t, s, a.CSESIDX, cses, coses); r.StatusCode != 401 {
		t.Fatalf("old csesidx still answers: %d", r.StatusCode)
	}
}

func TestSetCookiesDomain(t *testing.T) {
	h := http.Header{}
	r, _ := http.NewRequest("GET", "https://business.gemini.google:8443/refreshcookies", nil)
	SetCookies(h, r, "CSE.a", "COS.b", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	ses, oses := setCookieLine(h, "__Secure-C_SES"), setCookieLine(h, "__Host-C_OSES")
	if !strings.Contains(ses, "Domain=.business.gemini.google") || strings.Contains(oses, "Domain") ||
		!strings.Contains(ses, "Expires=Fri, 02 Jan 2026 03:04:05 GMT") {
		t.Fatalf("%q / %q", ses, oses)
	}
}

// Without lifecycle options nothing ever goes stale or ends.
func TestNoLifecycleByDefault(t *testing.T) {
	clk := &fakeClock{t: time.Now()}
	s := Start(Options{Seed: 3, Now: clk.Now})
	defer s.Close()
	a := DemoAccount(2)
	s.AddAccount(a)
	clk.Add(1000 * time.Hour)
	if r := getoxsrf(t, s, a.CSESIDX, a.SecureCSES, a.HostCOSES); r.StatusCode != 200 {
		t.Fatalf("%d", r.StatusCode)
	}
}
