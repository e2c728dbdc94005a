package upstream

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// tokenEntry caches one account's JWT. lock is a one-slot channel rather than
// a mutex so that a request waiting behind another's getoxsrf can give up
// when its own context ends.
type tokenEntry struct {
	lock      chan struct{}
	jwt       string
	refreshAt time.Time
	credsHash [32]byte
}

// Token returns a valid JWT for the account, minting one from a fresh
// getoxsrf signing key when the cached one is missing, old or was minted for
// other credentials. Concurrent callers for one account share one getoxsrf.
func (c *Client) Token(ctx context.Context, cr Credentials) (string, error) {
	e := c.tokens.entry(cr.AccountID)
	select {
	case e.lock <- struct{}{}:
	case <-ctx.Done():
		return "", &Error{Op: "getoxsrf", Kind: KindTransient, Err: ctx.Err(), Message: "cancelled while waiting for a token"}
	}
	defer func() { <-e.lock }()

	now := c.cfg.Now()
	h := credsHash(cr)
	if e.jwt != "" && now.Before(e.refreshAt) && e.credsHash == h {
		return e.jwt, nil
	}
	key, err := c.GetOXSRF(ctx, cr)
	if err != nil {
		return "", err
	}
	exp := now.Add(c.cfg.JWTLifetime)
	if !key.Expires.IsZero() && key.Expires.Before(exp) {
		exp = key.Expires
	}
	jwt := MintJWT(key, cr.CSESIDX, now, exp)
	refreshAt := now.Add(c.cfg.JWTRefreshAfter)
	if margin := exp.Add(-(c.cfg.JWTLifetime - c.cfg.JWTRefreshAfter)); margin.Before(refreshAt) {
		refreshAt = margin
	}
	e.jwt, e.refreshAt, e.credsHash = jwt, refreshAt, h
	return jwt, nil
}

func credsHash(cr Credentials) [32]byte {
	return sha256.Sum256([]byte(cr.SecureCSES + "\x00" + cr.HostCOSES + "\x00" + cr.CSESIDX))
}

// SigningKey is what getoxsrf returns: an HMAC key and its id.
type SigningKey struct {
	Key     []byte
	KeyID   string
	Expires time.Time // zero when the upstream did not say
}

// GetOXSRF exchanges the account's cookies for a signing key. It always
// calls the upstream; use Token for the cached path.
func (c *Client) GetOXSRF(ctx context.Context, cr Credentials) (SigningKey, error) {
	const op = "getoxsrf"
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	u := c.cfg.BusinessURL + "/auth/getoxsrf?csesidx=" + url.QueryEscape(cr.CSESIDX)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return SigningKey{}, &Error{Op: op, Kind: KindBadRequest, Message: "build request"}
	}
	req.Header.Set("Cookie", cookieHeader(cr))
	req.Header.Set("User-Agent", c.userAgent(cr))
	req.Header.Set("Referer", c.cfg.Origin+"/")
	req.Header.Set("Accept", "*/*")
	resp, err := c.http.Do(req)
	if err != nil {
		return SigningKey{}, networkError(op, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return SigningKey{}, networkError(op, err)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode/100 == 3:
		return SigningKey{}, c.redirectError(op, req.URL, resp, body)
	case resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusForbidden:
		return SigningKey{}, authRefused(op, resp, body)
	default:
		e := httpError(op, resp.StatusCode, resp.Header, body)
		if e.Kind != KindQuota {
			e.Kind = KindTransient
		}
		return SigningKey{}, e
	}
	key, err := ParseOXSRF(body)
	if err != nil {
		// A body without a key is the upstream saying the cookies are dead;
		// a body that is not what getoxsrf sends is a broken answer (a
		// proxy's page, a cut connection), which says nothing about them.
		kind := KindTransient
		if errors.Is(err, errNoKey) {
			kind = KindExpired
		}
		return SigningKey{}, &Error{Op: op, Kind: kind, HTTPStatus: http.StatusOK, Message: err.Error()}
	}
	return key, nil
}

// redirectError classifies a getoxsrf redirect: to a refreshcookies URL
// the sign-in lives and its cookies can be re-issued (KindStale); anywhere
// else it is the sign-in page, and the cookies are expired.
func (c *Client) redirectError(op string, from *url.URL, resp *http.Response, body []byte) *Error {
	e := httpError(op, resp.StatusCode, resp.Header, body)
	e.Kind = KindExpired
	e.Message = "redirected to sign-in: cookies expired"
	loc, err := from.Parse(resp.Header.Get("Location"))
	if err == nil && isRefreshCookiesURL(loc) {
		e.Kind = KindStale
		e.Message = "cookies are stale: the upstream offers a cookie refresh"
		e.refreshURL = loc.String()
	}
	return e
}

// cookieHeader builds the raw Cookie header. net/http's Cookie type would
// quote or reject some characters that these values may contain.
func cookieHeader(cr Credentials) string {
	s := "__Secure-C_SES=" + cr.SecureCSES
	if cr.HostCOSES != "" {
		s += "; __Host-C_OSES=" + cr.HostCOSES
	}
	return s
}

type parseError string

func (e parseError) Error() string { return string(e) }

// errNoKey is a well-formed getoxsrf answer without a key: the cookies no
// longer sign in.
var errNoKey error = parseError("getoxsrf answered without a signing key: cookies expired")

// stripXSSI removes Google's anti-XSSI prefix `)]}'` and the line break after it.
func stripXSSI(b []byte) []byte {
	b = bytes.TrimLeft(b, " \t\r\n\ufeff")
	if rest, ok := bytes.CutPrefix(b, []byte(")]}'")); ok {
		b = bytes.TrimLeft(rest, ",\r\n \t")
	}
	return b
}

// ParseOXSRF decodes a getoxsrf body (XSSI prefix optional). A 200 body
// without a key means the cookies are no longer valid.
func ParseOXSRF(body []byte) (SigningKey, error) {
	var r struct {
		XSRFToken      string `json:"xsrfToken"`
		KeyID          string `json:"keyId"`
		ExpirationTime string `json:"expirationTime"`
	}
	if err := json.Unmarshal(stripXSSI(body), &r); err != nil {
		return SigningKey{}, parseError("getoxsrf answer is not JSON")
	}
	if r.XSRFToken == "" || r.KeyID == "" {
		return SigningKey{}, errNoKey
	}
	key, err := decodeB64URL(r.XSRFToken)
	if err != nil || len(key) == 0 {
		return SigningKey{}, parseError("getoxsrf signing key is not base64url")
	}
	k := SigningKey{Key: key, KeyID: r.KeyID}
	if r.ExpirationTime != "" {
		if t, err := time.Parse(time.RFC3339Nano, r.ExpirationTime); err == nil {
			k.Expires = t
		}
	}
	return k, nil
}

// xssiStatus extracts "status" from an XSSI-prefixed error body.
func xssiStatus(body []byte) string {
	var r struct {
		Status string `json:"status"`
	}
	if json.Unmarshal(stripXSSI(body), &r) != nil {
		return ""
	}
	return r.Status
}

// xssiMessage extracts "message" (and "status") from an XSSI-prefixed error body.
func xssiMessage(body []byte) string {
	var r struct {
		Message string `json:"message"`
		Status  string `json:"status"`
	}
	if json.Unmarshal(stripXSSI(body), &r) != nil || r.Message == "" {
		return ""
	}
	if r.Status != "" {
		return trimMessage(r.Message + " (" + r.Status + ")")
	}
	return trimMessage(r.Message)
}

// decodeB64URL accepts base64url with or without padding, and tolerates the
// standard alphabet too.
func decodeB64URL(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
	return base64.RawURLEncoding.DecodeString(s)
}

// Claims the upstream checks in a widget token.
const (
	jwtIssuer   = "https://business.gemini.google"
	jwtAudience = "https://biz-discoveryengine.googleapis.com"
)

func jsonString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

// MintJWT signs the widget bearer token locally (HS256, kid = key id,
// sub = csesidx/<n>), as the web app does.
func MintJWT(k SigningKey, csesidx string, iat, exp time.Time) string {
	var b strings.Builder
	b.Grow(512)
	header := `{"alg":"HS256","typ":"JWT","kid":` + jsonString(k.KeyID) + `}`
	payload := `{"iss":"` + jwtIssuer + `","aud":"` + jwtAudience + `","sub":` + jsonString("csesidx/"+csesidx) +
		`,"iat":` + strconv.FormatInt(iat.Unix(), 10) +
		`,"exp":` + strconv.FormatInt(exp.Unix(), 10) +
		`,"nbf":` + strconv.FormatInt(iat.Unix(), 10) + `}`
	enc := base64.RawURLEncoding
	b.WriteString(enc.EncodeToString([]byte(header)))
	b.WriteByte('.')
	b.WriteString(enc.EncodeToString([]byte(payload)))
	mac := hmac.New(sha256.New, k.Key)
	mac.Write([]byte(b.String()))
	b.WriteByte('.')
	b.WriteString(enc.EncodeToString(mac.Sum(nil)))
	return b.String()
}

// authRefused is a 401 or 403 of the auth host (getoxsrf or
// refreshcookies): the cookies are expired, or the sign-in behind them is
// over (EXPIRED_SIGN_IN); the XSSI body's message, if any, says why.
func authRefused(op string, resp *http.Response, body []byte) *Error {
	e := httpError(op, resp.StatusCode, resp.Header, body)
	e.Kind = KindExpired
	if xssiStatus(body) == "EXPIRED_SIGN_IN" {
		e.Kind = KindSignIn
	}
	if m := xssiMessage(body); m != "" {
		e.Message = m
	}
	return e
}
