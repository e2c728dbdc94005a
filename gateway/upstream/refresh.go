package upstream

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Cookie refresh without a browser. Within a live sign-in, getoxsrf may
// answer a redirect to a refreshcookies URL instead of a key; visiting it
// with the current cookies re-issues them through Set-Cookie. The client
// follows that chain itself, but only on the upstream's own hosts (those of
// BusinessURL, AuthURL and APIURL, scheme and port included, so a redirect
// can neither carry the cookies elsewhere nor downgrade them to plain
// HTTP), through the same transport as every other call (PROXY, system
// certificate store).

// Cookie names the client sends and takes back.
const (
	CookieSecureCSES = "__Secure-C_SES"
	CookieHostCOSES  = "__Host-C_OSES"
)

// maxRefreshHops bounds the redirects followed in one refresh.
const maxRefreshHops = 6

// Rotation is what a cookie refresh obtained: the account's credentials
// with the re-issued cookies merged in, and the __Secure-C_SES expiry when
// the upstream gave one.
type Rotation struct {
	Credentials Credentials
	ExpiresAt   time.Time
}

// isRefreshCookiesURL reports whether u is a refreshcookies URL (any host:
// where it may be followed is a separate question, see allowedURL).
func isRefreshCookiesURL(u *url.URL) bool {
	return strings.Contains(strings.ToLower(u.Path), "refreshcookies")
}

// isSignInURL reports whether u is a page that asks the person to sign in:
// the login or account-chooser pages of the auth host, Google's accounts
// host, or an email-code verification.
func isSignInURL(u *url.URL) bool {
	h := strings.ToLower(u.Hostname())
	if h == "accounts.google.com" || strings.HasPrefix(h, "accountverification.") {
		return true
	}
	p := strings.ToLower(u.Path)
	for _, s := range []string{"/login", "/signin", "/sign-in", "servicelogin", "accountchooser", "account-chooser", "verify-oob-code"} {
		if strings.Contains(p, s) {
			return true
		}
	}
	return false
}

// origin is scheme://hostname:port of u, with the scheme's default port
// made explicit, lower-cased: the unit a redirect must stay within.
func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

// allowedURL reports whether the client may send the account's cookies to
// u: an http(s) URL on the origin of one of the configured upstream hosts.
func (c *Client) allowedURL(u *url.URL) bool {
	if u == nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return false
	}
	o := origin(u)
	for _, base := range []string{c.cfg.BusinessURL, c.cfg.AuthURL, c.cfg.APIURL} {
		b, err := url.Parse(base)
		if err == nil && b.Host != "" && origin(b) == o {
			return true
		}
	}
	return false
}

// setCookie is one parsed Set-Cookie header, the parts a client needs.
type setCookie struct {
	name, value      string
	domain, path     string
	secure, httpOnly bool
	expires          time.Time // zero: a session cookie
	deleted          bool      // Max-Age <= 0 or Expires in the past
}

// parseSetCookie reads one Set-Cookie header by hand: the value is taken
// byte for byte (net/http's parser drops values with some characters these
// cookies may hold). now decides whether an expiry deletes the cookie.
func parseSetCookie(line string, now time.Time) (setCookie, bool) {
	parts := strings.Split(line, ";")
	name, value, ok := strings.Cut(strings.TrimSpace(parts[0]), "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return setCookie{}, false
	}
	sc := setCookie{name: name, value: strings.Trim(strings.TrimSpace(value), `"`)}
	var maxAge *int
	for _, attr := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(attr), "=")
		v = strings.TrimSpace(v)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "domain":
			sc.domain = strings.TrimPrefix(strings.ToLower(v), ".")
		case "path":
			sc.path = v
		case "secure":
			sc.secure = true
		case "httponly":
			sc.httpOnly = true
		case "expires":
			if t, err := http.ParseTime(v); err == nil {
				sc.expires = t
			}
		case "max-age":
			if n, err := strconv.Atoi(v); err == nil {
				maxAge = &n
			}
		}
	}
	if maxAge != nil { // Max-Age wins over Expires (RFC 6265 §5.3)
		if *maxAge <= 0 {
			sc.deleted = true
		} else {
			sc.expires = now.Add(time.Duration(*maxAge) * time.Second)
		}
	} else if !sc.expires.IsZero() && !sc.expires.After(now) {
		sc.deleted = true
	}
	return sc, true
}

// acceptable applies the rules a browser applies to the two cookies that
// matter here (RFC 6265 §5.3 and the cookie-prefix rules): a Domain must
// domain-match the host that set it; __Secure- needs Secure; __Host- needs
// Secure, Path=/ and no Domain.
func (sc setCookie) acceptable(host string) bool {
	host = strings.ToLower(host)
	if sc.domain != "" && host != sc.domain && !strings.HasSuffix(host, "."+sc.domain) {
		return false
	}
	switch {
	case strings.HasPrefix(sc.name, "__Host-"):
		return sc.secure && sc.domain == "" && sc.path == "/"
	case strings.HasPrefix(sc.name, "__Secure-"):
		return sc.secure
	}
	return true
}

// mergeSetCookies applies the Set-Cookie headers of one response to cr:
// only __Secure-C_SES and __Host-C_OSES are taken, each only when a browser
// would accept it from host. It reports the new __Secure-C_SES expiry and
// whether that cookie was re-issued or deleted.
func mergeSetCookies(cr *Credentials, h http.Header, host string, now time.Time) (expires time.Time, reissued, deleted bool) {
	for _, line := range h.Values("Set-Cookie") {
		sc, ok := parseSetCookie(line, now)
		if !ok || (sc.name != CookieSecureCSES && sc.name != CookieHostCOSES) || !sc.acceptable(host) {
			continue
		}
		if sc.deleted || sc.value == "" {
			if sc.name == CookieSecureCSES {
				deleted = true
			}
			continue
		}
		if cookieValue(sc.value) {
			continue
		}
		switch sc.name {
		case CookieSecureCSES:
			cr.SecureCSES, expires, reissued, deleted = sc.value, sc.expires, true, false
		case CookieHostCOSES:
			cr.HostCOSES = sc.value
		}
	}
	return expires, reissued, deleted
}

// cookieValue reports whether v holds a byte a Cookie header cannot carry
// (a hostile Set-Cookie must not smuggle a header into the next request).
func cookieValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; b <= ' ' || b == ';' || b == ',' || b == '"' || b == '\\' || b > '~' {
			return true
		}
	}
	return false
}

// RefreshCookies follows a refreshcookies URL (from a KindStale error) with
// the account's cookies and returns them re-issued. Errors: KindSignIn when
// the chain ends on a sign-in page or the upstream deletes the cookie or
// says EXPIRED_SIGN_IN; KindExpired when a redirect leaves the upstream's
// hosts (refused, so the cookies never go there) or the cookies are
// refused otherwise; KindTransient for network trouble, 5xx, too many
// redirects, or a chain that re-issued nothing. Messages never hold a
// cookie or a URL (which may carry the csesidx).
func (c *Client) RefreshCookies(ctx context.Context, cr Credentials, refreshURL string) (Rotation, error) {
	const op = "refreshcookies"
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	u, err := url.Parse(refreshURL)
	if err != nil {
		return Rotation{}, &Error{Op: op, Kind: KindTransient, Message: "the refresh URL is not a URL"}
	}
	next := cr
	var expires time.Time
	reissued := false
	for hop := 0; hop < maxRefreshHops; hop++ {
		if !c.allowedURL(u) {
			return Rotation{}, &Error{Op: op, Kind: KindExpired,
				Message: "refused to follow a cookie refresh off the upstream's hosts; sign in again"}
		}
		if isSignInURL(u) {
			return Rotation{}, &Error{Op: op, Kind: KindSignIn, Message: "the cookie refresh ended on a sign-in page: the sign-in is over"}
		}
		if strings.HasSuffix(u.Path, "/auth/getoxsrf") {
			break // back where it started: the caller asks again with the new cookies
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return Rotation{}, &Error{Op: op, Kind: KindTransient, Message: "build request"}
		}
		req.Header.Set("Cookie", cookieHeader(next))
		req.Header.Set("User-Agent", c.userAgent(cr))
		req.Header.Set("Referer", c.cfg.Origin+"/")
		req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*")
		req.Header.Set("Accept-Language", c.cfg.AcceptLanguage)
		resp, err := c.http.Do(req)
		if err != nil {
			return Rotation{}, networkError(op, err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if err != nil {
			return Rotation{}, networkError(op, err)
		}
		exp, got, deleted := mergeSetCookies(&next, resp.Header, u.Hostname(), c.cfg.Now())
		if deleted {
			return Rotation{}, &Error{Op: op, Kind: KindSignIn, Message: "the upstream deleted the session cookie: the sign-in is over"}
		}
		if got {
			reissued, expires = true, exp
		}
		switch {
		case resp.StatusCode/100 == 3:
			loc, err := u.Parse(resp.Header.Get("Location"))
			if err != nil || resp.Header.Get("Location") == "" {
				return Rotation{}, &Error{Op: op, Kind: KindTransient, HTTPStatus: resp.StatusCode, Message: "a redirect without a usable Location"}
			}
			u = loc
			continue
		case resp.StatusCode/100 == 2:
		case resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusForbidden:
			return Rotation{}, authRefused(op, resp, body)
		default:
			e := httpError(op, resp.StatusCode, resp.Header, body)
			e.Kind = KindTransient
			return Rotation{}, e
		}
		if !reissued {
			return Rotation{}, &Error{Op: op, Kind: KindTransient, HTTPStatus: resp.StatusCode, Message: "the cookie refresh re-issued no session cookie"}
		}
		return Rotation{Credentials: next, ExpiresAt: expires}, nil
	}
	if reissued {
		return Rotation{Credentials: next, ExpiresAt: expires}, nil
	}
	return Rotation{}, &Error{Op: op, Kind: KindTransient, Message: "the cookie refresh re-issued no session cookie"}
}
