package fakeupstream

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The sign-in lifecycle of a fake account (all off unless Options ask):
//
//   - A sign-in lives for Options.SignInLifetime from when it was made
//     (AddAccount or SignIn). After that getoxsrf answers 401
//     EXPIRED_SIGN_IN and refreshcookies sends the browser to the login page.
//   - Its cookies go stale Options.CookieStaleAfter after they were issued:
//     getoxsrf then answers 302 to <business>/refreshcookies?continue=…,
//     which re-issues both cookies (Set-Cookie, Secure, HttpOnly, Path=/,
//     Expires; __Secure-C_SES with Domain=business.gemini.google when the
//     request came for a *.gemini.google host, host-only otherwise) and
//     redirects back to continue.
//   - After a rotation the previous cookies work for Options.RotationGrace,
//     then never again.
//
// The exported methods below are what a fake sign-in site (a browser test)
// builds on.

// CookieState is what the fake thinks of a presented __Secure-C_SES.
type CookieState string

// Cookie states returned by Server.CookieState.
const (
	CookieFresh     CookieState = "fresh"      // signs in; getoxsrf hands out a key
	CookieStale     CookieState = "stale"      // signs in, but getoxsrf redirects to refreshcookies
	CookieSignedOut CookieState = "signed_out" // the sign-in passed its hard limit
	CookieUnknown   CookieState = "unknown"    // no account has this cookie (or it was rotated away)
)

// defaultCookieLifetime is the __Secure-C_SES Expires the real service
// sets, about a day out.
const defaultCookieLifetime = 24 * time.Hour

// signInOver reports whether st's sign-in passed its hard limit; s.mu held.
func (s *Server) signInOver(st *accountState, now time.Time) bool {
	if st.Expired {
		return true
	}
	return s.opts.SignInLifetime > 0 && !now.Before(st.signedInAt.Add(s.opts.SignInLifetime))
}

// stale reports whether st's current cookies must be refreshed; s.mu held.
func (s *Server) stale(st *accountState, now time.Time) bool {
	return s.opts.CookieStaleAfter > 0 && !now.Before(st.cookiesAt.Add(s.opts.CookieStaleAfter))
}

// cookieExpiry is the Expires of cookies issued at now; s.mu held.
func (s *Server) cookieExpiry(st *accountState, now time.Time) time.Time {
	life := s.opts.CookieLifetime
	if life <= 0 {
		life = defaultCookieLifetime
	}
	exp := now.Add(life)
	if s.opts.SignInLifetime > 0 {
		if end := st.signedInAt.Add(s.opts.SignInLifetime); end.Before(exp) {
			exp = end
		}
	}
	return exp.Truncate(time.Second)
}

// findByCookie returns the account a __Secure-C_SES belongs to, as its
// current cookie or as a rotated one still in its grace; s.mu held.
func (s *Server) findByCookie(ses string, now time.Time) (*accountState, bool) {
	if ses == "" {
		return nil, false
	}
	for _, st := range s.accounts {
		if st.SecureCSES == ses {
			return st, true
		}
		if st.prevSES == ses && now.Before(st.prevUntil) {
			return st, false
		}
	}
	return nil, false
}

// rotate issues new cookies for st; s.mu held.
func (s *Server) rotate(st *accountState, now time.Time) {
	st.prevSES, st.prevCOSES = st.SecureCSES, st.HostCOSES
	st.prevUntil = now.Add(s.opts.RotationGrace)
	st.SecureCSES = "CSE." + s.randHex(24)
	st.HostCOSES = "COS." + s.randHex(16)
	st.cookiesAt = now
	st.rotations++
}

// CookieState says what a presented __Secure-C_SES is worth now.
func (s *Server) CookieState(ses string) CookieState {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st, current := s.findByCookie(ses, now)
	switch {
	case st == nil:
		return CookieUnknown
	case s.signInOver(st, now):
		return CookieSignedOut
	case current && s.stale(st, now):
		return CookieStale
	}
	return CookieFresh
}

// SignIn makes a fresh sign-in of the account with that config id, as a
// person completing the login page would: a new csesidx (the account is
// re-keyed under it), new cookies, a new hard limit. The config id stays.
// It panics on an unknown config id (see AccountByConfig).
func (s *Server) SignIn(configID string) (cses, coses, csesidx string, expires time.Time) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var st *accountState
	for _, a := range s.accounts {
		if a.ConfigID == configID {
			st = a
			break
		}
	}
	if st == nil {
		panic(fmt.Sprintf("fakeupstream: SignIn: unknown config id %q", configID))
	}
	delete(s.accounts, st.CSESIDX)
	for {
		csesidx = s.randDigits(10)
		if s.accounts[csesidx] == nil && csesidx != st.CSESIDX {
			break
		}
	}
	st.CSESIDX = csesidx
	st.Expired = false
	st.signedInAt, st.cookiesAt = now, now
	st.SecureCSES = "CSE." + s.randHex(24)
	st.HostCOSES = "COS." + s.randHex(16)
	st.prevSES, st.prevCOSES, st.prevUntil = "", "", time.Time{}
	st.curKey = nil
	st.signIns++
	s.accounts[csesidx] = st
	return st.SecureCSES, st.HostCOSES, csesidx, s.cookieExpiry(st, now)
}

// RefreshCookies does what the refreshcookies page does for a presented
// __Secure-C_SES: while the sign-in lives, it re-issues both cookies
// (ok true); a cookie that is unknown or whose sign-in is over gets
// nothing (ok false). Refreshing fresh cookies rotates them too, as the
// real page does.
func (s *Server) RefreshCookies(ses string) (cses, coses string, expires time.Time, ok bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st, current := s.findByCookie(ses, now)
	if st == nil || s.signInOver(st, now) {
		return "", "", time.Time{}, false
	}
	if current {
		s.rotate(st, now)
	}
	// A rotated cookie within its grace gets the cookies issued since.
	return st.SecureCSES, st.HostCOSES, s.cookieExpiry(st, now), true
}

// AccountByConfig returns a copy of the account with that config id.
func (s *Server) AccountByConfig(configID string) (Account, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.accounts {
		if st.ConfigID == configID {
			return st.Account, true
		}
	}
	return Account{}, false
}

// Lifecycle counts what happened to an account (by config id): sign-ins
// made with SignIn and cookie rotations.
func (s *Server) Lifecycle(configID string) (signIns, rotations int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.accounts {
		if st.ConfigID == configID {
			return st.signIns, st.rotations
		}
	}
	return 0, 0
}

// SetCookies writes the Set-Cookie headers of a cookie issue: Secure,
// HttpOnly, Path=/, Expires; __Secure-C_SES on the business domain when
// the request came for a *.gemini.google host (host-only otherwise, e.g.
// on 127.0.0.1), __Host-C_OSES always host-only.
func SetCookies(h http.Header, r *http.Request, cses, coses string, expires time.Time) {
	exp := expires.UTC().Format(http.TimeFormat)
	domain := ""
	host := strings.ToLower(r.Host)
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	if host == "gemini.google" || strings.HasSuffix(host, ".gemini.google") {
		domain = "; Domain=.business.gemini.google"
	}
	h.Add("Set-Cookie", "__Secure-C_SES="+cses+domain+"; Path=/; Expires="+exp+"; Secure; HttpOnly; SameSite=None")
	if coses != "" {
		h.Add("Set-Cookie", "__Host-C_OSES="+coses+"; Path=/; Expires="+exp+"; Secure; HttpOnly; SameSite=None")
	}
}

// serveRefreshCookies is GET <business>/refreshcookies?continue=URL.
func (s *Server) serveRefreshCookies(w http.ResponseWriter, r *http.Request) {
	cookies := parseCookies(r.Header)
	cses, coses, exp, ok := s.RefreshCookies(cookies["__Secure-C_SES"])
	if !ok {
		http.Redirect(w, r, s.loginURL(r), http.StatusFound)
		return
	}
	SetCookies(w.Header(), r, cses, coses, exp)
	cont := r.URL.Query().Get("continue")
	if u, err := url.Parse(cont); cont == "" || err != nil || (u.Host != "" && u.Host != r.Host) {
		cont = "/" + HostBusiness + "/"
	}
	http.Redirect(w, r, cont, http.StatusFound)
}

// loginURL is the fake's sign-in page on the auth host.
func (s *Server) loginURL(r *http.Request) string {
	cont := "http://" + r.Host + "/" + HostBusiness + "/"
	return "http://" + r.Host + "/" + HostAuth + "/login?continueUrl=" + url.QueryEscape(cont)
}

// refreshURL is where a stale getoxsrf redirects.
func refreshURL(r *http.Request) string {
	back := "/" + HostBusiness + "/auth/getoxsrf?" + r.URL.RawQuery
	return "http://" + r.Host + "/" + HostBusiness + "/refreshcookies?continue=" + url.QueryEscape(back)
}
