package gateway

import (
	"fmt"
	"net/url"
	"strings"
)

// originPattern is one CORS_ORIGINS entry parsed into its parts. A
// wildcard stands only for a whole port ("http://localhost:*") or a whole
// extension id ("chrome-extension://*"); nothing else is matched by
// prefix, so "http://localhost*" cannot let http://localhost.evil.com in.
type originPattern struct {
	any      bool // "*": every origin (the owner's explicit choice)
	scheme   string
	host     string // "*" = any extension id
	port     string // "*" = any port; "" = the scheme's default
	anyHost  bool
	anyPort  bool
	original string
}

// extensionSchemes are the browser-extension origins whose host part is an
// extension id.
var extensionSchemes = map[string]bool{
	"chrome-extension": true, "moz-extension": true, "safari-web-extension": true, "ms-browser-extension": true,
}

// parseOriginPattern parses scheme://host[:port] where host may be "*" for
// an extension scheme and port may be "*".
func parseOriginPattern(p string) (originPattern, error) {
	p = strings.TrimSpace(p)
	if p == "*" {
		return originPattern{any: true, original: p}, nil
	}
	scheme, rest, ok := strings.Cut(p, "://")
	if !ok || scheme == "" || rest == "" {
		return originPattern{}, fmt.Errorf("%q: want scheme://host[:port], e.g. http://localhost:3000 or chrome-extension://*", p)
	}
	scheme = strings.ToLower(scheme)
	if strings.ContainsAny(rest, "/?#@") {
		return originPattern{}, fmt.Errorf("%q: an origin has no path, query or user part", p)
	}
	op := originPattern{scheme: scheme, original: p}
	if rest == "*" {
		if !extensionSchemes[scheme] {
			return originPattern{}, fmt.Errorf("%q: a wildcard host is only allowed for extension origins (chrome-extension://*); list the host, with :* for any port", p)
		}
		op.anyHost = true
		return op, nil
	}
	host, port := rest, ""
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.HasSuffix(rest, "]") {
		host, port = rest[:i], rest[i+1:]
		if port == "" {
			return originPattern{}, fmt.Errorf("%q: empty port", p)
		}
	}
	if port == "*" {
		op.anyPort = true
	} else if port != "" {
		for _, c := range port {
			if c < '0' || c > '9' {
				return originPattern{}, fmt.Errorf("%q: the port must be a number or *", p)
			}
		}
	}
	if host == "" || strings.Contains(host, "*") {
		return originPattern{}, fmt.Errorf("%q: wildcards are allowed only for a port (:*) or an extension id (chrome-extension://*)", p)
	}
	op.host, op.port = strings.ToLower(strings.Trim(host, "[]")), port
	return op, nil
}

// ParseOrigins checks CORS_ORIGINS entries.
func ParseOrigins(list []string) error {
	for _, p := range list {
		if _, err := parseOriginPattern(p); err != nil {
			return fmt.Errorf("CORS_ORIGINS: %w", err)
		}
	}
	return nil
}

func defaultPort(scheme string) string {
	switch scheme {
	case "http", "ws":
		return "80"
	case "https", "wss":
		return "443"
	}
	return ""
}

func (op originPattern) matches(scheme, host, port string) bool {
	if op.any {
		return true
	}
	if scheme != op.scheme {
		return false
	}
	if op.anyHost {
		// An extension id: one label of letters, digits and "-".
		if host == "" || port != "" {
			return false
		}
		for _, c := range host {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
		return true
	}
	if host != op.host {
		return false
	}
	if op.anyPort {
		return true
	}
	want := op.port
	if want == "" {
		want = defaultPort(scheme)
	}
	if port == "" {
		port = defaultPort(scheme)
	}
	return port == want
}

// originAllowed matches an Origin header against the allow-list.
func originAllowed(origin string, allowed []string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme == "" || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		// "null" and other opaque origins only match "*".
		for _, a := range allowed {
			if strings.TrimSpace(a) == "*" {
				return true
			}
		}
		return false
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	for _, a := range allowed {
		op, err := parseOriginPattern(a)
		if err != nil {
			continue
		}
		if op.matches(scheme, host, port) {
			return true
		}
	}
	return false
}
