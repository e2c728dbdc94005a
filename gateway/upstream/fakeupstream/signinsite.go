package fakeupstream

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Real host names the sign-in site answers for, over HTTPS, on one
// loopback listener. A browser reaches them with
// --host-resolver-rules="MAP *.gemini.google 127.0.0.1:PORT"; Go clients
// with SignInSite.Transport.
const (
	SiteBusinessHost = "business.gemini.google"
	SiteAuthHost     = "auth.business.gemini.google"
	SiteVerifyHost   = "accountverification.business.gemini.google"
	SiteAPIHost      = "biz-discoveryengine.googleapis.com"
)

// SignInSiteOptions configures the sign-in site. A sign-in's hard limit,
// when cookies go stale and their expiry are the Server's
// (Options.SignInLifetime, CookieStaleAfter, CookieLifetime).
type SignInSiteOptions struct {
	// AutoFill, when set to a user's email, makes the login pages fill in
	// that email and its code and submit them by themselves (for a browser
	// the test cannot drive, such as one another process starts).
	AutoFill string
}

// SignInSite is the fake of Gemini Business's sign-in: a login page
// (email, then an emailed code), the cookies a finished sign-in sets,
// the redirect to /home/cid/<config_id>?csesidx=<n>, cookie rotation
// through /refreshcookies while the sign-in lives, and the login page once
// it is over. It builds on the Server's sign-in lifecycle (Server.SignIn,
// RefreshCookies, CookieState), so the same fake serves getoxsrf and the
// widget calls with the cookies the site issued.
type SignInSite struct {
	srv  *Server
	opts SignInSiteOptions
	ts   *httptest.Server
	cert *x509.Certificate

	mu      sync.Mutex
	users   map[string]string // email → config id
	codes   map[string]string // email → code sent
	pending map[string]string // one-time callback token → email
	stale   map[string]bool   // __Secure-C_SES values StaleCookies marked
}

// StartSignInSite starts the sign-in site on a random loopback port with a
// self-signed certificate made now.
func (s *Server) StartSignInSite(opts SignInSiteOptions) (*SignInSite, error) {
	site := &SignInSite{
		srv: s, opts: opts,
		users: map[string]string{}, codes: map[string]string{}, pending: map[string]string{}, stale: map[string]bool{},
	}
	cert, leaf, err := selfSignedCert()
	if err != nil {
		return nil, err
	}
	site.cert = leaf
	site.ts = httptest.NewUnstartedServer(http.HandlerFunc(site.serve))
	site.ts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	site.ts.StartTLS()
	return site, nil
}

func selfSignedCert() (tls.Certificate, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "fakeupstream sign-in site"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(48 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{SiteBusinessHost, "*." + SiteBusinessHost, SiteAPIHost},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, leaf, nil
}

// Close stops the site.
func (site *SignInSite) Close() { site.ts.Close() }

// Addr is the site's 127.0.0.1:PORT.
func (site *SignInSite) Addr() string { return site.ts.Listener.Addr().String() }

// BrowserArgs are the browser flags that send the real host names to the
// site and accept its certificate: for BROWSER_ARGS in tests only.
func (site *SignInSite) BrowserArgs() string {
	return `--host-resolver-rules="MAP *.gemini.google ` + site.Addr() + `" --ignore-certificate-errors`
}

// CertPEM is the site's certificate (to trust it through SSL_CERT_FILE).
func (site *SignInSite) CertPEM() []byte {
	return []byte("-----BEGIN CERTIFICATE-----\n" + wrap64(base64.StdEncoding.EncodeToString(site.cert.Raw)) + "-----END CERTIFICATE-----\n")
}

func wrap64(s string) string {
	var b strings.Builder
	for len(s) > 64 {
		b.WriteString(s[:64] + "\n")
		s = s[64:]
	}
	return b.String() + s + "\n"
}

// Transport is an HTTP transport for Go clients: every host it is asked
// for is dialled at the site, whose certificate it trusts. With it the
// gateway's upstream client uses the real URLs (GEMINI_BUSINESS_URL
// https://business.gemini.google and so on).
func (site *SignInSite) Transport() *http.Transport {
	pool := x509.NewCertPool()
	pool.AddCert(site.cert)
	addr := site.Addr()
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 16,
	}
}

// AddUser makes email a Gemini Business user with that config id.
func (site *SignInSite) AddUser(email, configID string) {
	site.mu.Lock()
	defer site.mu.Unlock()
	site.users[strings.ToLower(email)] = strings.ToLower(configID)
}

// Code is the code last "emailed" to email ("" when none was asked for).
func (site *SignInSite) Code(email string) string {
	site.mu.Lock()
	defer site.mu.Unlock()
	return site.codes[strings.ToLower(email)]
}

// configIDs lists the users' config ids.
func (site *SignInSite) configIDs() []string {
	site.mu.Lock()
	defer site.mu.Unlock()
	out := make([]string, 0, len(site.users))
	for _, c := range site.users {
		out = append(out, c)
	}
	return out
}

// SignInCount is the number of sign-ins made through the site.
func (site *SignInSite) SignInCount() int {
	n := 0
	for _, c := range site.configIDs() {
		s, _ := site.srv.Lifecycle(c)
		n += s
	}
	return n
}

// RefreshCount is the number of cookie rotations of the site's users.
func (site *SignInSite) RefreshCount() int {
	n := 0
	for _, c := range site.configIDs() {
		_, r := site.srv.Lifecycle(c)
		n += r
	}
	return n
}

// EndSignIns ends the sign-in of email now, as its hard limit does.
func (site *SignInSite) EndSignIns(email string) {
	site.mu.Lock()
	cid := site.users[strings.ToLower(email)]
	site.mu.Unlock()
	if a, ok := site.srv.AccountByConfig(cid); ok {
		site.srv.UpdateAccount(a.CSESIDX, func(a *Account) { a.Expired = true })
	}
}

// StaleCookies makes the next home-page visit of every user rotate its
// cookies through /refreshcookies, as if they had gone stale.
func (site *SignInSite) StaleCookies() {
	for _, c := range site.configIDs() {
		if a, ok := site.srv.AccountByConfig(c); ok {
			site.mu.Lock()
			site.stale[a.SecureCSES] = true
			site.mu.Unlock()
		}
	}
}

// serve routes by Host, as the real front ends do.
func (site *SignInSite) serve(w http.ResponseWriter, r *http.Request) {
	host := strings.ToLower(r.Host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	w.Header().Set("Cache-Control", "no-store")
	switch host {
	case SiteBusinessHost:
		switch {
		case r.URL.Path == "/" && r.Method == http.MethodGet:
			site.serveRoot(w, r)
			return
		case strings.HasPrefix(r.URL.Path, "/home/cid/") && r.Method == http.MethodGet:
			site.serveHome(w, r)
			return
		case r.URL.Path == "/refreshcookies" && r.Method == http.MethodGet:
			site.serveRefresh(w, r)
			return
		case r.URL.Path == "/signin-callback" && r.Method == http.MethodGet:
			site.serveCallback(w, r)
			return
		}
		site.delegate(w, r, HostBusiness)
	case SiteAuthHost:
		switch r.URL.Path {
		case "/login", "/login/email":
			site.serveLogin(w, r)
			return
		}
		site.delegate(w, r, HostAuth)
	case SiteVerifyHost:
		site.serveVerify(w, r)
	case SiteAPIHost:
		site.delegate(w, r, HostAPI)
	default:
		http.NotFound(w, r)
	}
}

// delegate hands a protocol call (getoxsrf, list-sessions, widget calls)
// to the Server, as if it had come in under the host's path prefix.
func (site *SignInSite) delegate(w http.ResponseWriter, r *http.Request, host string) {
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/" + host + r.URL.Path
	r2.URL.RawPath = ""
	site.srv.serveHTTP(w, r2)
}

// signedIn returns the account whose current __Secure-C_SES the request
// carries, and what the Server thinks of that cookie.
func (site *SignInSite) signedIn(r *http.Request) (*Account, CookieState) {
	ses := parseCookies(r.Header)["__Secure-C_SES"]
	st := site.srv.CookieState(ses)
	for _, c := range site.configIDs() {
		if a, ok := site.srv.AccountByConfig(c); ok && a.SecureCSES == ses {
			site.mu.Lock()
			if site.stale[ses] && st == CookieFresh {
				st = CookieStale
			}
			site.mu.Unlock()
			return &a, st
		}
	}
	return nil, st
}

func (site *SignInSite) loginURL() string {
	return "https://" + SiteAuthHost + "/login?continueUrl=" + url.QueryEscape("https://"+SiteBusinessHost+"/")
}

func homePath(a *Account) string { return "/home/cid/" + a.ConfigID + "?csesidx=" + a.CSESIDX }

// serveRoot sends a signed-in browser home (through /refreshcookies when
// its cookies are stale, or are rotated-away ones still in their grace)
// and any other to the login page.
func (site *SignInSite) serveRoot(w http.ResponseWriter, r *http.Request) {
	a, st := site.signedIn(r)
	to := site.loginURL()
	switch {
	case st == CookieUnknown || st == CookieSignedOut:
	case a == nil || st == CookieStale:
		to = "/refreshcookies?continue=" + url.QueryEscape("/")
	default:
		to = homePath(a)
	}
	http.Redirect(w, r, to, http.StatusFound)
}

func (site *SignInSite) serveHome(w http.ResponseWriter, r *http.Request) {
	a, st := site.signedIn(r)
	if a == nil || st == CookieSignedOut || st == CookieUnknown {
		http.Redirect(w, r, site.loginURL(), http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = io.WriteString(w, `<!doctype html><title>Gemini Business</title><h1 id="home">Gemini Business</h1><p>Signed in.</p>`)
}

// serveRefresh re-issues the cookies while the sign-in lives (the
// Server's refreshcookies); the csesidx stays.
func (site *SignInSite) serveRefresh(w http.ResponseWriter, r *http.Request) {
	ses := parseCookies(r.Header)["__Secure-C_SES"]
	cses, coses, exp, ok := site.srv.RefreshCookies(ses)
	if !ok {
		http.Redirect(w, r, site.loginURL(), http.StatusFound)
		return
	}
	site.mu.Lock()
	delete(site.stale, ses)
	site.mu.Unlock()
	SetCookies(w.Header(), r, cses, coses, exp)
	to := r.URL.Query().Get("continue")
	if !strings.HasPrefix(to, "/") || strings.HasPrefix(to, "//") {
		to = "/"
	}
	http.Redirect(w, r, to, http.StatusFound)
}

// token returns a random cookie-safe value.
func (site *SignInSite) token(n int) string {
	return base64.RawURLEncoding.EncodeToString(site.srv.randBytes(n))
}

const pageStyle = `<style>body{font-family:sans-serif;max-width:28em;margin:4em auto}input,button{font-size:1.1em;margin:.3em 0;display:block}</style>`

func (site *SignInSite) autofill(field, value, button string) string {
	if value == "" {
		return ""
	}
	return fmt.Sprintf(`<script>setTimeout(function(){document.getElementById(%q).value=%q;document.getElementById(%q).click()},150)</script>`, field, value, button)
}

// serveLogin is the first step: the email.
func (site *SignInSite) serveLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		_ = r.ParseForm()
		email := strings.ToLower(strings.TrimSpace(r.PostForm.Get("email")))
		site.mu.Lock()
		_, known := site.users[email]
		code := ""
		if known {
			code = fmt.Sprintf("%06d", site.srv.randUint64()%1000000)
			site.codes[email] = code
		}
		site.mu.Unlock()
		if !known {
			site.page(w, http.StatusOK, `<h1>Sign in</h1><p id="error">No Gemini Business account uses this email.</p><p><a href="/login">Try again</a></p>`)
			return
		}
		http.Redirect(w, r, "https://"+SiteVerifyHost+"/v1/verify-oob-code?email="+url.QueryEscape(email), http.StatusFound)
		return
	}
	site.page(w, http.StatusOK, `<h1>Sign in to Gemini Business</h1>
<form method="post" action="/login/email"><label>Work email <input id="email" name="email" type="email" autocomplete="email"></label>
<button id="continue" type="submit">Continue with email</button></form>`+site.autofill("email", site.opts.AutoFill, "continue"))
}

// serveVerify is the second step: the code "sent by email".
func (site *SignInSite) serveVerify(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/verify-oob-code" {
		http.NotFound(w, r)
		return
	}
	email := strings.ToLower(r.URL.Query().Get("email"))
	if r.Method == http.MethodPost {
		_ = r.ParseForm()
		code := strings.TrimSpace(r.PostForm.Get("code"))
		site.mu.Lock()
		want := site.codes[email]
		ok := want != "" && code == want
		tok := ""
		if ok {
			delete(site.codes, email)
			tok = site.token(16)
			site.pending[tok] = email
		}
		site.mu.Unlock()
		if !ok {
			site.page(w, http.StatusOK, `<h1>Check your email</h1><p id="error">That code is not right.</p>`+site.codeForm(email))
			return
		}
		http.Redirect(w, r, "https://"+SiteBusinessHost+"/signin-callback?t="+url.QueryEscape(tok), http.StatusFound)
		return
	}
	auto := ""
	if site.opts.AutoFill != "" && email == strings.ToLower(site.opts.AutoFill) {
		auto = site.autofill("code", site.Code(email), "verify")
	}
	site.page(w, http.StatusOK, `<h1>Check your email</h1><p>We sent a code to `+html.EscapeString(email)+`.</p>`+site.codeForm(email)+auto)
}

func (site *SignInSite) codeForm(email string) string {
	return `<form method="post" action="/v1/verify-oob-code?email=` + html.EscapeString(url.QueryEscape(email)) + `">
<label>Code <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code"></label>
<button id="verify" type="submit">Verify</button></form>`
}

// serveCallback finishes a sign-in on the business host, so that the
// host-only __Host-C_OSES can be set there, then shows the home page.
func (site *SignInSite) serveCallback(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("t")
	site.mu.Lock()
	email, ok := site.pending[tok]
	delete(site.pending, tok)
	cid := site.users[email]
	site.mu.Unlock()
	if !ok {
		http.Redirect(w, r, site.loginURL(), http.StatusFound)
		return
	}
	if _, known := site.srv.AccountByConfig(cid); !known {
		// The account's first sign-in: the Server learns the account, and
		// SignIn below gives it its first real cookies.
		site.srv.AddAccount(Account{SecureCSES: "CSE." + site.srv.randHex(24), CSESIDX: site.srv.randDigits(10), ConfigID: cid, QuotaLeft: -1})
	}
	cses, coses, idx, exp := site.srv.SignIn(cid)
	SetCookies(w.Header(), r, cses, coses, exp)
	http.Redirect(w, r, homePath(&Account{ConfigID: cid, CSESIDX: idx}), http.StatusFound)
}

func (site *SignInSite) page(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, "<!doctype html><meta charset=utf-8><title>Sign in - Gemini Business</title>"+pageStyle+body)
}
