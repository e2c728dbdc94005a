package signin

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestMatchHome(t *testing.T) {
	real, _ := ParseSite("https://business.gemini.google")
	prefixed, _ := ParseSite("http://127.0.0.1:8080/business/")
	const cid = "0b8a2c7e-4f51-4d61-9a3e-5c2f9e1d7a40"
	cases := []struct {
		name     string
		site     Site
		url      string
		cid, idx string
		ok       bool
	}{
		{"home", real, "https://business.gemini.google/home/cid/" + cid + "?csesidx=123456", cid, "123456", true},
		{"home with more path and params", real, "https://business.gemini.google/home/cid/" + cid + "/r/session/1?hl=en&csesidx=42#x", cid, "42", true},
		{"upper-case config id is lowered", real, "https://business.gemini.google/home/cid/" + strings.ToUpper(cid) + "?csesidx=7", cid, "7", true},
		{"no csesidx", real, "https://business.gemini.google/home/cid/" + cid, "", "", false},
		{"csesidx not a number", real, "https://business.gemini.google/home/cid/" + cid + "?csesidx=12a", "", "", false},
		{"other host", real, "https://evil.example/home/cid/" + cid + "?csesidx=1", "", "", false},
		{"look-alike host", real, "https://business.gemini.google.evil.example/home/cid/" + cid + "?csesidx=1", "", "", false},
		{"auth host", real, "https://auth.business.gemini.google/home/cid/" + cid + "?csesidx=1", "", "", false},
		{"http instead of https", real, "http://business.gemini.google/home/cid/" + cid + "?csesidx=1", "", "", false},
		{"no config id", real, "https://business.gemini.google/home/cid/?csesidx=1", "", "", false},
		{"login page", real, "https://auth.business.gemini.google/login?continueUrl=x", "", "", false},
		{"base path", prefixed, "http://127.0.0.1:8080/business/home/cid/" + cid + "?csesidx=9", cid, "9", true},
		{"base path missing", prefixed, "http://127.0.0.1:8080/home/cid/" + cid + "?csesidx=9", "", "", false},
		{"garbage", real, "::::", "", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cid, idx, ok := c.site.MatchHome(c.url)
			if ok != c.ok || cid != c.cid || idx != c.idx {
				t.Fatalf("MatchHome(%q) = %q, %q, %v; want %q, %q, %v", c.url, cid, idx, ok, c.cid, c.idx, c.ok)
			}
		})
	}
}

func TestStartURLAndSignInPages(t *testing.T) {
	s, err := ParseSite("https://business.gemini.google/")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.StartURL(); got != "https://business.gemini.google/" {
		t.Fatalf("StartURL = %q", got)
	}
	if _, err := ParseSite("ftp://x"); err == nil {
		t.Fatal("ParseSite accepted ftp://")
	}
	for u, want := range map[string]bool{
		"https://auth.business.gemini.google/login?continueUrl=x":                      true,
		"https://accountverification.business.gemini.google/v1/verify-oob-code?email=": true,
		"https://accounts.google.com/v3/signin/identifier":                             true,
		"https://business.gemini.google/accountchooser":                                true,
		"https://business.gemini.google/home/cid/x?csesidx=1":                          false,
		"https://business.gemini.google/":                                              false,
		"https://gemini.google/":                                                       false,
		"about:blank":                                                                  false,
	} {
		if got := s.IsSignInPage(u); got != want {
			t.Errorf("IsSignInPage(%q) = %v, want %v", u, got, want)
		}
	}
}

func TestSelectCookies(t *testing.T) {
	s, _ := ParseSite("https://business.gemini.google")
	t1 := time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Hour)
	all := []Cookie{
		{Name: CookieSES, Value: "other-site", Domain: ".example.com", Expires: t2},
		{Name: CookieSES, Value: "parent", Domain: ".gemini.google", Expires: t2},
		{Name: CookieSES, Value: "right-old", Domain: ".business.gemini.google", Expires: t1},
		{Name: CookieSES, Value: "right-new", Domain: ".business.gemini.google", Expires: t2},
		{Name: CookieSES, Value: "", Domain: ".business.gemini.google", Expires: t2.Add(time.Hour)},
		{Name: CookieOSES, Value: "sub-host", Domain: "auth.business.gemini.google", Path: "/"},
		{Name: CookieOSES, Value: "with-domain", Domain: ".business.gemini.google", Path: "/"},
		{Name: CookieOSES, Value: "host-only", Domain: "business.gemini.google", Path: "/"},
		{Name: "NID", Value: "x", Domain: ".google.com"},
	}
	ses, oses, ok := s.SelectCookies(all)
	if !ok || ses.Value != "right-new" || !ses.Expires.Equal(t2) || oses.Value != "host-only" {
		t.Fatalf("got %q (%v), %q, %v", ses.Value, ses.Expires, oses.Value, ok)
	}
	// Only a parent-domain cookie: still usable (it is sent to the host).
	ses, _, ok = s.SelectCookies(all[:2])
	if !ok || ses.Value != "parent" {
		t.Fatalf("parent domain: got %q, %v", ses.Value, ok)
	}
	if _, _, ok := s.SelectCookies(all[:1]); ok {
		t.Fatal("a cookie of another site was taken")
	}
	// A host-only __Secure-C_SES on the exact host beats the parent domain.
	ses, _, _ = s.SelectCookies([]Cookie{{Name: CookieSES, Value: "parent", Domain: ".gemini.google"}, {Name: CookieSES, Value: "host", Domain: "business.gemini.google"}})
	if ses.Value != "host" {
		t.Fatalf("got %q", ses.Value)
	}
	// A configured host with a port matches cookies by host name only.
	local, _ := ParseSite("https://business.gemini.google:8443")
	if ses, _, ok := local.SelectCookies(all); !ok || ses.Value != "right-new" {
		t.Fatalf("with port: %q %v", ses.Value, ok)
	}
}

func TestSplitArgs(t *testing.T) {
	for in, want := range map[string][]string{
		"":                   nil,
		"  --a  --b=1\t--c ": {"--a", "--b=1", "--c"},
		`--host-resolver-rules="MAP *.gemini.google 127.0.0.1:8443" --ignore-certificate-errors`: {"--host-resolver-rules=MAP *.gemini.google 127.0.0.1:8443", "--ignore-certificate-errors"},
		`--x='a b' ""`: {"--x=a b", ""},
	} {
		if got := SplitArgs(in); !reflect.DeepEqual(got, want) {
			t.Errorf("SplitArgs(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFindBrowser(t *testing.T) {
	files := map[string]bool{}
	onPath := map[string]string{}
	f := func(goos string, env map[string]string) finder {
		return finder{
			goos:   goos,
			env:    func(k string) string { return env[k] },
			isFile: func(p string) bool { return files[p] },
			lookPath: func(n string) (string, error) {
				if p, ok := onPath[n]; ok {
					return p, nil
				}
				return "", errors.New("not found")
			},
		}
	}
	win := map[string]string{"ProgramFiles": `C:\Program Files`, "ProgramFiles(x86)": `C:\Program Files (x86)`, "LOCALAPPDATA": `C:\Users\ann\AppData\Local`}

	if _, err := f("windows", win).find(""); !errors.Is(err, ErrNoBrowser) {
		t.Fatalf("nothing installed: %v", err)
	}
	files[`C:\Users\ann\AppData\Local\BraveSoftware\Brave-Browser\Application\brave.exe`] = true
	if p, _ := f("windows", win).find(""); !strings.HasSuffix(p, `brave.exe`) {
		t.Fatalf("windows brave in LocalAppData: %q", p)
	}
	files[`C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe`] = true
	if p, _ := f("windows", win).find(""); p != `C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe` {
		t.Fatalf("windows edge before brave: %q", p)
	}
	files[`C:\Users\ann\AppData\Local\Google\Chrome\Application\chrome.exe`] = true
	if p, _ := f("windows", win).find(""); p != `C:\Users\ann\AppData\Local\Google\Chrome\Application\chrome.exe` {
		t.Fatalf("windows chrome first: %q", p)
	}

	files["/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge"] = true
	if p, _ := f("darwin", map[string]string{"HOME": "/Users/ann"}).find(""); p != "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge" {
		t.Fatalf("mac edge: %q", p)
	}

	if _, err := f("linux", nil).find(""); !errors.Is(err, ErrNoBrowser) {
		t.Fatalf("linux nothing: %v", err)
	}
	onPath["chromium"] = "/usr/bin/chromium"
	if p, _ := f("linux", nil).find(""); p != "/usr/bin/chromium" {
		t.Fatalf("linux chromium: %q", p)
	}
	onPath["google-chrome"] = "/usr/bin/google-chrome"
	if p, _ := f("linux", nil).find(""); p != "/usr/bin/google-chrome" {
		t.Fatalf("linux chrome first: %q", p)
	}

	// BROWSER_PATH wins, and a wrong one is an error, not a fallback.
	files["/opt/my/browser"] = true
	if p, _ := f("linux", nil).find("/opt/my/browser"); p != "/opt/my/browser" {
		t.Fatalf("override: %q", p)
	}
	if _, err := f("linux", nil).find("/nope"); err == nil || !strings.Contains(err.Error(), "BROWSER_PATH") {
		t.Fatalf("bad override: %v", err)
	}
}

func TestProfileNames(t *testing.T) {
	base := filepath.Join(string(filepath.Separator)+"data", "browser-profiles")
	s := New(Config{ProfilesDir: base})
	if got := ProfileName(42); got != "account-42" {
		t.Fatalf("ProfileName = %q", got)
	}
	for _, bad := range []string{"", "../x", "a/b", "Ann@example.com", strings.Repeat("a", 65)} {
		if _, err := s.ProfileDir(bad); err == nil {
			t.Errorf("ProfileDir(%q) accepted", bad)
		}
	}
	if d, err := s.ProfileDir("account-42"); err != nil || d != filepath.Join(base, "account-42") {
		t.Fatalf("ProfileDir = %q, %v", d, err)
	}
}

func TestResultHidesSecrets(t *testing.T) {
	var r Result
	r.Secrets.SecureCSES, r.Secrets.HostCOSES, r.Secrets.CSESIDX = "SESVALUE", "OSESVALUE", "987654"
	for _, s := range []string{r.String(), r.GoString()} {
		if strings.Contains(s, "SESVALUE") || strings.Contains(s, "987654") {
			t.Fatalf("secret in %q", s)
		}
	}
	if got := scrub("failed GET https://x/home/cid/a?csesidx=123456 cookie __Secure-C_SES=abcdef; x"); strings.Contains(got, "123456") || strings.Contains(got, "abcdef") {
		t.Fatalf("scrub left a secret: %q", got)
	}
}
