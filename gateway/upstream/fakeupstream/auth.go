package fakeupstream

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Protocol constants the fake checks JWTs against (docs/upstream-protocol.md, "Signing in").
const (
	jwtIssuer   = "https://business.gemini.google"
	jwtAudience = "https://biz-discoveryengine.googleapis.com"
	// nbfSkew is the tolerance for a client clock running ahead.
	nbfSkew = 60
	// keyLifetime is how long a signing key from getoxsrf stays valid.
	keyLifetime = time.Hour
	// xssiPrefix precedes JSON from the web-app hosts.
	xssiPrefix = ")]}'\n"
)

// Bodies of the web-app hosts (XSSI prefix included).
const (
	// ExpiredSignInBody is getoxsrf's 401 body seen in the wild.
	ExpiredSignInBody = xssiPrefix + `{"message":"Session has expired.","status":"EXPIRED_SIGN_IN"}`
	// InvalidCookiesBody is list-sessions' 401 body when cookies are missing or wrong.
	InvalidCookiesBody = xssiPrefix + `{"message":"Invalid cookies.","status":"INVALID_COOKIES"}`
)

// parseCookies splits raw Cookie headers by hand, as the real front end
// sees them: values are compared byte for byte, never unquoted.
func parseCookies(h http.Header) map[string]string {
	out := map[string]string{}
	for _, line := range h.Values("Cookie") {
		for _, part := range strings.Split(line, ";") {
			part = strings.TrimSpace(part)
			name, value, ok := strings.Cut(part, "=")
			if !ok || name == "" {
				continue
			}
			if _, dup := out[name]; !dup {
				out[name] = value
			}
		}
	}
	return out
}

func (s *Server) serveBusiness(w http.ResponseWriter, r *http.Request, path string) {
	switch {
	case path == "/auth/getoxsrf" && r.Method == http.MethodGet:
		s.serveGetoxsrf(w, r)
	case path == "/refreshcookies" && r.Method == http.MethodGet:
		s.serveRefreshCookies(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) serveAuthHost(w http.ResponseWriter, r *http.Request, path string) {
	switch {
	case path == "/list-sessions" && r.Method == http.MethodGet:
		s.serveListAuthSessions(w, r)
	case path == "/login" && r.Method == http.MethodGet:
		// Target of the "redirect" auth mode: a client that follows the
		// 302 gets an HTML page, as it would from the real sign-in page.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = fmt.Fprint(w, "<!doctype html><title>Sign in - Gemini Business</title><p>Sign in to continue.</p>")
	default:
		http.NotFound(w, r)
	}
}

type getoxsrfResponse struct {
	XSRFToken      string `json:"xsrfToken,omitempty"`
	KeyID          string `json:"keyId,omitempty"`
	ExpirationTime string `json:"expirationTime,omitempty"`
}

func (s *Server) serveGetoxsrf(w http.ResponseWriter, r *http.Request) {
	idx := r.URL.Query().Get("csesidx")
	cookies := parseCookies(r.Header)
	now := s.now()

	s.mu.Lock()
	s.getoxsrfs[idx]++
	st := s.accounts[idx]
	var (
		status int
		body   string
	)
	current := st != nil && s.cookiesMatch(st, cookies, s.opts.RequireHostCOSES)
	graced := st != nil && !current && s.graceMatch(st, cookies, now)
	switch {
	case st == nil || (!current && !graced):
		status, body = http.StatusUnauthorized, ExpiredSignInBody
	case st.AuthMode == AuthModeRedirect:
		status = http.StatusFound
	case s.signInOver(st, now):
		status, body = http.StatusUnauthorized, ExpiredSignInBody
	case current && s.stale(st, now):
		status = http.StatusSeeOther
	case st.AuthMode == AuthModeNoKey:
		status, body = http.StatusOK, xssiPrefix+"{}"
	default:
		k := s.keyForGetoxsrf(st, now)
		b, _ := json.Marshal(getoxsrfResponse{
			XSRFToken:      base64.RawURLEncoding.EncodeToString(k.secret),
			KeyID:          k.id,
			ExpirationTime: k.expires.UTC().Format(time.RFC3339),
		})
		status, body = http.StatusOK, xssiPrefix+string(b)
	}
	s.mu.Unlock()

	switch status {
	case http.StatusFound:
		http.Redirect(w, r, s.loginURL(r), http.StatusFound)
		return
	case http.StatusSeeOther:
		http.Redirect(w, r, refreshURL(r), http.StatusFound)
		return
	}
	writeXSSI(w, status, body)
}

func writeXSSI(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// cookiesMatch is called with s.mu held.
func (s *Server) cookiesMatch(st *accountState, c map[string]string, needCOSES bool) bool {
	ses, ok := c["__Secure-C_SES"]
	if !ok || ses != st.SecureCSES {
		return false
	}
	if needCOSES && st.HostCOSES != "" {
		if c["__Host-C_OSES"] != st.HostCOSES {
			return false
		}
	}
	return true
}

// graceMatch reports whether c holds st's previous cookies within their
// grace after a rotation; s.mu held.
func (s *Server) graceMatch(st *accountState, c map[string]string, now time.Time) bool {
	if st.prevSES == "" || !now.Before(st.prevUntil) || c["__Secure-C_SES"] != st.prevSES {
		return false
	}
	return !s.opts.RequireHostCOSES || st.prevCOSES == "" || c["__Host-C_OSES"] == st.prevCOSES
}

// keyForGetoxsrf returns the key to hand out, minting one when needed. It
// is called with s.mu held.
func (s *Server) keyForGetoxsrf(st *accountState, now time.Time) *signingKey {
	k := st.curKey
	mustRotate := k == nil || !now.Before(k.expires) || s.opts.RotateKeys ||
		// After an "http-401-once" the client must get a key that did not
		// exist when the 401 was issued, or its retry could never succeed.
		(st.pending401 && k.seq <= st.revokedUpTo)
	if !mustRotate {
		k.expires = now.Add(keyLifetime)
		return k
	}
	s.pruneKeys(now)
	s.keySeq++
	id := base64.RawURLEncoding.EncodeToString(s.randBytes(12))
	k = &signingKey{
		id:      id,
		secret:  s.randBytes(32),
		csesidx: st.CSESIDX,
		seq:     s.keySeq,
		expires: now.Add(keyLifetime),
	}
	s.keys[id] = k
	st.curKey = k
	return k
}

// pruneKeys drops expired keys so that RotateKeys under load does not grow
// the map forever. Called with s.mu held.
func (s *Server) pruneKeys(now time.Time) {
	for id, k := range s.keys {
		if !now.Before(k.expires) {
			delete(s.keys, id)
		}
	}
}

type authSessionsResponse struct {
	Sessions []authSession `json:"sessions"`
}

type authSession struct {
	CSESIDX     string `json:"csesidx"`
	Expired     bool   `json:"expired"`
	Subject     string `json:"subject"`
	DisplayName string `json:"displayName"`
}

// serveListAuthSessions answers the cheap account probe. Unlike getoxsrf it
// always wants __Host-C_OSES when the account has one (LX's observation).
func (s *Server) serveListAuthSessions(w http.ResponseWriter, r *http.Request) {
	cookies := parseCookies(r.Header)
	s.mu.Lock()
	var resp authSessionsResponse
	for _, st := range s.accounts {
		if s.cookiesMatch(st, cookies, true) {
			resp.Sessions = append(resp.Sessions, authSession{
				CSESIDX:     st.CSESIDX,
				Expired:     st.Expired,
				Subject:     "user" + st.CSESIDX + "@example.com",
				DisplayName: "Fake User " + st.CSESIDX,
			})
		}
	}
	s.mu.Unlock()
	if len(resp.Sessions) == 0 {
		writeXSSI(w, http.StatusUnauthorized, InvalidCookiesBody)
		return
	}
	b, _ := json.Marshal(resp)
	writeXSSI(w, http.StatusOK, xssiPrefix+string(b))
}

type jwtHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

type jwtClaims struct {
	Iss string   `json:"iss"`
	Aud string   `json:"aud"`
	Sub string   `json:"sub"`
	Iat *float64 `json:"iat"`
	Exp *float64 `json:"exp"`
	Nbf *float64 `json:"nbf"`
}

// caller is the authenticated side of an API call.
type caller struct {
	account Account // snapshot at authentication time
	keySeq  uint64
}

// authenticate verifies the Bearer JWT as docs/upstream-protocol.md ("Signing in")
// describes the token. On
// failure it returns a short reason, which the 401 carries in a debug
// header (the real service says nothing; tests and humans like to know).
func (s *Server) authenticate(r *http.Request) (caller, string) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return caller{}, "missing bearer token"
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return caller{}, "token is not three segments"
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return caller{}, "header is not base64url"
	}
	var hdr jwtHeader
	if err := json.Unmarshal(hb, &hdr); err != nil {
		return caller{}, "header is not JSON"
	}
	if hdr.Alg != "HS256" {
		return caller{}, "alg is not HS256"
	}
	now := s.now()
	s.mu.Lock()
	k := s.keys[hdr.Kid]
	var secret []byte
	var keyCSESIDX string
	var seq uint64
	if k != nil && now.Before(k.expires) {
		secret, keyCSESIDX, seq = k.secret, k.csesidx, k.seq
	}
	s.mu.Unlock()
	if secret == nil {
		return caller{}, "unknown or expired kid"
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return caller{}, "signature is not base64url"
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return caller{}, "bad signature"
	}
	pb, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return caller{}, "payload is not base64url"
	}
	var c jwtClaims
	if err := json.Unmarshal(pb, &c); err != nil {
		return caller{}, "payload is not JSON"
	}
	switch {
	case c.Sub != "csesidx/"+keyCSESIDX:
		return caller{}, "sub does not match the key's account"
	case c.Aud != jwtAudience:
		return caller{}, "wrong aud"
	case c.Iss != jwtIssuer:
		return caller{}, "wrong iss"
	case c.Exp == nil || c.Nbf == nil:
		return caller{}, "exp or nbf missing"
	}
	t := float64(now.Unix())
	if t < *c.Nbf-nbfSkew {
		return caller{}, "token not valid yet"
	}
	if t >= *c.Exp {
		return caller{}, "token expired"
	}
	s.mu.Lock()
	st := s.accounts[keyCSESIDX]
	var acct Account
	if st != nil {
		acct = st.Account
	}
	s.mu.Unlock()
	if st == nil {
		return caller{}, "account removed"
	}
	return caller{account: acct, keySeq: seq}, ""
}
