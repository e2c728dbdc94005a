package gateway

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// F5: CORS patterns are parsed into scheme, host and port; a wildcard
// stands only for a port or an extension id, so lookalike hosts are out.
func TestOriginPatterns(t *testing.T) {
	allowed := []string{"chrome-extension://*", "http://localhost:*", "http://127.0.0.1:3000", "app://obsidian.md", "https://chat.example"}
	tests := []struct {
		origin string
		ok     bool
	}{
		{"chrome-extension://abcdefghijklmnop", true},
		{"http://localhost:5173", true},
		{"http://localhost", true},
		{"http://127.0.0.1:3000", true},
		{"app://obsidian.md", true},
		{"https://chat.example", true},
		{"https://chat.example:443", true},
		{"http://localhost.evil.com", false},
		{"http://localhost.evil.com:5173", false},
		{"http://localhost:5173.evil.com", false},
		{"https://localhost:5173", false},
		{"http://127.0.0.1:30000", false},
		{"http://127.0.0.1:3000.evil.com", false},
		{"https://chat.example.evil.com", false},
		{"https://chat.example:8443", false},
		{"chrome-extension://abc.evil.com", false},
		{"chrome-extension-evil://abc", false},
		{"null", false},
		{"app://obsidian.md.evil", false},
	}
	for _, tc := range tests {
		if got := originAllowed(tc.origin, allowed); got != tc.ok {
			t.Errorf("%s: allowed=%v, want %v", tc.origin, got, tc.ok)
		}
	}
	// Prefix patterns are refused when the configuration is checked.
	for _, bad := range []string{"http://localhost*", "https://*.example.com", "*.example.com", "http://*", "localhost:3000"} {
		if err := (Config{CORSOrigins: []string{bad}, Models: DefaultModels, DefaultModel: "gemini-auto"}).Validate(); err == nil || !strings.Contains(err.Error(), "CORS_ORIGINS") {
			t.Errorf("%q accepted: %v", bad, err)
		}
	}
	if !originAllowed("https://anything.example", []string{"*"}) {
		t.Error(`"*" no longer allows everything`)
	}
}

// F9: the image-URL address filter refuses every address that is not
// global unicast, after unwrapping the IPv4 address inside IPv6 forms.
func TestPublicAddr(t *testing.T) {
	refused := []string{
		"127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "0.1.2.3",
		"240.0.0.1", "255.255.255.255", "198.18.0.1", "198.19.255.254", "192.0.2.1", "203.0.113.9", "224.0.0.1",
		"::1", "::", "fe80::1", "fc00::1", "fec0::1", "ff02::1", "2001:db8::1",
		"::ffff:127.0.0.1",                     // IPv4-mapped
		"::127.0.0.1",                          // IPv4-compatible
		"::a9fe:a9fe",                          // IPv4-compatible 169.254.169.254
		"64:ff9b::7f00:1",                      // NAT64 of 127.0.0.1
		"64:ff9b::a9fe:a9fe",                   // NAT64 of the metadata service
		"64:ff9b:1::a00:1",                     // local-use NAT64 of 10.0.0.1
		"2002:7f00:1::1",                       // 6to4 of 127.0.0.1
		"2002:c0a8:101::1",                     // 6to4 of 192.168.1.1
		"2001:0:4136:e378:8000:63bf:80ff:fffe", // Teredo of 127.0.0.1
	}
	for _, s := range refused {
		if publicAddr(netip.MustParseAddr(s)) {
			t.Errorf("%s counted as public", s)
		}
	}
	for _, s := range []string{"8.8.8.8", "1.1.1.1", "2a00:1450:4001:80b::200e", "64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8"} {
		if !publicAddr(netip.MustParseAddr(s)) {
			t.Errorf("%s counted as not public", s)
		}
	}
}

// F7: a client's request id is kept only when made of safe characters;
// client strings in the log are cut.
func TestRequestIDAndClip(t *testing.T) {
	for _, in := range []string{"abc\nlevel=ERROR msg=forged", `x" admin=true`, strings.Repeat("a", 65), "ü", "a b"} {
		if got := requestID(in); got == in || !strings.HasPrefix(got, "req_") {
			t.Errorf("requestID(%q) = %q", in, got)
		}
	}
	if got := requestID("trace-01.ab:cd_9"); got != "trace-01.ab:cd_9" {
		t.Errorf("a sane id was replaced: %q", got)
	}
	long := strings.Repeat("é", 100_000)
	c := clip(long, logFieldMax)
	if len(c) > logFieldMax+32 || !strings.Contains(c, "200000 bytes") || !strings.HasPrefix(long, strings.TrimSuffix(c[:strings.Index(c, "…(")], "")) {
		t.Errorf("clip: %d bytes: %q", len(c), c[len(c)-20:])
	}
}

// Generated files are served with nosniff: a file that sniffs as HTML
// cannot run as a page on the gateway's origin.
func TestFilesNoSniff(t *testing.T) {
	s := New(DefaultConfig(), Deps{})
	name, err := s.files.put("image/png", []byte("<html><script>alert(1)</script></html>"))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "http://127.0.0.1/files/"+name, nil)
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Header().Get("X-Content-Type-Options") != "nosniff" || rec.Header().Get("Content-Type") != "image/png" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
}

// FuzzOriginAllowed holds the CORS matcher to its rules for any Origin and
// pattern: no panic; a match on a non-"*" pattern means the origin's
// scheme and host are the pattern's (or an extension id under an extension
// pattern).
func FuzzOriginAllowed(f *testing.F) {
	for _, s := range [][2]string{{"http://localhost:3000", "http://localhost:*"}, {"chrome-extension://abc", "chrome-extension://*"},
		{"http://localhost.evil.com", "http://localhost*"}, {"null", "*"}, {"http://[::1]:80", "http://[::1]"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, origin, pattern string) {
		if !originAllowed(origin, []string{pattern}) || strings.TrimSpace(pattern) == "*" {
			return
		}
		op, err := parseOriginPattern(pattern)
		if err != nil {
			t.Fatalf("an invalid pattern %q matched %q", pattern, origin)
		}
		if !strings.HasPrefix(strings.ToLower(origin), op.scheme+"://") {
			t.Fatalf("%q matched %q with another scheme", origin, pattern)
		}
		if !op.anyHost && !strings.Contains(strings.ToLower(origin), op.host) {
			t.Fatalf("%q matched %q without its host", origin, pattern)
		}
	})
}
