package signin

import (
	"net/url"
	"strings"
	"time"
	"unicode"
)

// Cookie names of a Gemini Business sign-in.
const (
	CookieSES  = "__Secure-C_SES"
	CookieOSES = "__Host-C_OSES"
)

// Site describes where the sign-in happens; every pattern derives from
// GEMINI_BUSINESS_URL.
type Site struct {
	scheme string
	host   string // lower case, with port if any
	path   string // base path without trailing slash ("" for the real site)
}

// ParseSite reads GEMINI_BUSINESS_URL.
func ParseSite(businessURL string) (Site, error) {
	u, err := url.Parse(strings.TrimSpace(businessURL))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return Site{}, &url.Error{Op: "parse", URL: "GEMINI_BUSINESS_URL", Err: errBadURL}
	}
	return Site{scheme: u.Scheme, host: strings.ToLower(u.Host), path: strings.TrimRight(u.Path, "/")}, nil
}

type constErr string

func (e constErr) Error() string { return string(e) }

const errBadURL = constErr("want an http:// or https:// URL")

// StartURL is the page a sign-in opens and a refresh visits:
// GEMINI_BUSINESS_URL + "/".
func (s Site) StartURL() string { return s.scheme + "://" + s.host + s.path + "/" }

// Hostname is the host without a port: the domain the cookies belong to.
func (s Site) Hostname() string {
	if h, _, ok := strings.Cut(s.host, ":"); ok && !strings.HasPrefix(s.host, "[") {
		return h
	}
	return s.host
}

// MatchHome reports whether raw is the home page a finished sign-in lands
// on, <business origin>[base path]/home/cid/<config_id>…?csesidx=<n>, and
// returns the config id and csesidx.
func (s Site) MatchHome(raw string) (configID, csesidx string, ok bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != s.scheme || strings.ToLower(u.Host) != s.host {
		return "", "", false
	}
	rest, found := strings.CutPrefix(u.EscapedPath(), s.path+"/home/cid/")
	if !found {
		return "", "", false
	}
	configID, _, _ = strings.Cut(rest, "/")
	if configID == "" || len(configID) > 100 || strings.ContainsFunc(configID, func(r rune) bool {
		return !(r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)) || r > unicode.MaxASCII
	}) {
		return "", "", false
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return "", "", false
	}
	csesidx = q.Get("csesidx")
	if csesidx == "" || len(csesidx) > 20 || strings.Trim(csesidx, "0123456789") != "" {
		return "", "", false
	}
	return strings.ToLower(configID), csesidx, true
}

// IsSignInPage reports whether raw is a page that asks the person to sign
// in: the login or verification hosts next to the business host, Google's
// account pages, or a login/account-chooser path on the business host.
func (s Site) IsSignInPage(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	host := strings.ToLower(u.Hostname())
	base := s.Hostname()
	switch {
	case host == "accounts.google.com":
		return true
	case host != base && strings.HasSuffix(host, "."+base):
		// auth.business.gemini.google, accountverification.business.gemini.google
		return true
	}
	p := strings.ToLower(u.Path)
	return host == base && (strings.Contains(p, "/login") || strings.Contains(p, "accountchooser") || strings.Contains(p, "/signin"))
}

// Cookie is one browser cookie, as much of it as selection needs.
type Cookie struct {
	Name    string
	Value   string
	Domain  string
	Path    string
	Expires time.Time // zero for a session cookie
}

// SelectCookies picks the sign-in cookies for the business host out of
// every cookie of the browser: __Secure-C_SES on the business host or a
// parent domain (".business.gemini.google"), __Host-C_OSES host-only on the
// business host. Among several candidates the most specific domain wins,
// then the latest expiry. ok is false when __Secure-C_SES is missing.
func (s Site) SelectCookies(all []Cookie) (ses, oses Cookie, ok bool) {
	host := s.Hostname()
	better := func(c, cur Cookie, found bool) bool {
		if !found {
			return true
		}
		cl, curl := len(strings.TrimPrefix(c.Domain, ".")), len(strings.TrimPrefix(cur.Domain, "."))
		if cl != curl {
			return cl > curl
		}
		if strings.HasPrefix(c.Domain, ".") != strings.HasPrefix(cur.Domain, ".") {
			return strings.HasPrefix(c.Domain, ".")
		}
		return c.Expires.After(cur.Expires)
	}
	var foundSES, foundOSES bool
	for _, c := range all {
		if c.Value == "" {
			continue
		}
		d := strings.ToLower(c.Domain)
		switch c.Name {
		case CookieSES:
			bare := strings.TrimPrefix(d, ".")
			if bare != host && !strings.HasSuffix(host, "."+bare) {
				continue
			}
			if better(c, ses, foundSES) {
				ses, foundSES = c, true
			}
		case CookieOSES:
			if d != host || (c.Path != "" && c.Path != "/") {
				continue
			}
			if better(c, oses, foundOSES) {
				oses, foundOSES = c, true
			}
		}
	}
	return ses, oses, foundSES
}

// SplitArgs splits BROWSER_ARGS on white space. A part in double or single
// quotes stays one argument without its quotes, so
// --host-resolver-rules="MAP *.example 127.0.0.1:8443" is one flag.
func SplitArgs(s string) []string {
	var (
		out   []string
		cur   strings.Builder
		quote rune
		have  bool
	)
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, have = r, true
		case unicode.IsSpace(r):
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if have {
		out = append(out, cur.String())
	}
	return out
}
