package gateway

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// publicBase is the scheme://host the client reaches this gateway at, for
// links to generated files: PUBLIC_BASE_URL when set; else what a trusted
// reverse proxy says in X-Forwarded-Proto/Host; else the request's own
// address. Forwarded headers from anyone else are ignored: a client must
// not be able to point links elsewhere.
func (s *Server) publicBase(r *http.Request) string {
	cfg := s.Config()
	if cfg.PublicBaseURL != "" {
		return strings.TrimRight(cfg.PublicBaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if trustedProxy(r.RemoteAddr, cfg.TrustedProxies) {
		if p := firstForwarded(r.Header.Get("X-Forwarded-Proto")); p == "http" || p == "https" {
			scheme = p
		}
		if h := firstForwarded(r.Header.Get("X-Forwarded-Host")); validHost(h) {
			host = h
		}
	}
	return scheme + "://" + host
}

// trustedProxy reports whether remote (ip:port) is in one of the prefixes.
func trustedProxy(remote string, trusted []netip.Prefix) bool {
	if len(trusted) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// firstForwarded is the first value of a comma-separated forwarded header
// (the one the outermost proxy saw).
func firstForwarded(v string) string {
	v, _, _ = strings.Cut(v, ",")
	return strings.ToLower(strings.TrimSpace(v))
}

// validHost accepts host or host:port made of hostname characters only.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}

// ParseTrustedProxies reads a comma-separated list of addresses and CIDR
// prefixes (TRUSTED_PROXIES).
func ParseTrustedProxies(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, err
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}
