package gateway

import (
	"crypto/tls"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestPublicBase(t *testing.T) {
	trusted, err := ParseTrustedProxies("10.0.0.0/8, 127.0.0.1 ,::1")
	if err != nil || len(trusted) != 3 {
		t.Fatalf("%v %v", trusted, err)
	}
	if _, err := ParseTrustedProxies("10.0.0.0/8,proxy.local"); err == nil {
		t.Error("a host name was accepted as a proxy address")
	}
	cases := []struct {
		name, public, remote, proto, host, want string
		tls                                     bool
	}{
		{name: "request address", remote: "192.0.2.1:5000", want: "http://gw.local:7860"},
		{name: "tls request", remote: "192.0.2.1:5000", tls: true, want: "https://gw.local:7860"},
		{name: "configured base wins", public: "https://pub.example.com/", remote: "10.1.2.3:1", proto: "http", host: "x.example", want: "https://pub.example.com"},
		{name: "trusted proxy", remote: "10.1.2.3:1", proto: "https", host: "chat.example.org", want: "https://chat.example.org"},
		{name: "trusted proxy, first of a list", remote: "[::1]:1", proto: "https, http", host: "a.example, b.example", want: "https://a.example"},
		{name: "untrusted proxy ignored", remote: "192.0.2.9:1", proto: "https", host: "evil.example", want: "http://gw.local:7860"},
		{name: "bad forwarded host ignored", remote: "10.1.2.3:1", proto: "ftp", host: "a b/c", want: "http://gw.local:7860"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := New(Config{PublicBaseURL: c.public, TrustedProxies: trusted}, Deps{})
			r := httptest.NewRequest("GET", "http://gw.local:7860/v1/images/generations", nil)
			r.RemoteAddr = c.remote
			if c.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if c.proto != "" {
				r.Header.Set("X-Forwarded-Proto", c.proto)
				r.Header.Set("X-Forwarded-Host", c.host)
			}
			if got := s.publicBase(r); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestFileStoreExpiresOnDiskAndInMemory(t *testing.T) {
	for _, dir := range []string{"", t.TempDir()} {
		now := time.Now()
		f := newFileStore(dir, time.Hour, 1<<20)
		f.now = func() time.Time { return now }
		name, err := f.put("image/png", []byte("png bytes"))
		if err != nil {
			t.Fatal(err)
		}
		if sf, err := f.get(name); err != nil || string(sf.data) != "png bytes" || sf.mime != "image/png" {
			t.Fatalf("dir %q: get %+v %v", dir, sf, err)
		}
		for _, bad := range []string{"../x.png", name + "x", "0123.png", "0123456789abcdef0123456789abcdef.exe"} {
			if _, err := f.get(bad); err == nil {
				t.Errorf("dir %q: served %q", dir, bad)
			}
		}
		if dir != "" {
			// On disk the age is the file's: make it old.
			old := now.Add(-2 * time.Hour)
			os.Chtimes(filepath.Join(dir, name), old, old)
		} else {
			f.now = func() time.Time { return now.Add(2 * time.Hour) }
		}
		if _, err := f.get(name); err == nil {
			t.Errorf("dir %q: expired file served", dir)
		}
		if dir != "" {
			if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
				t.Error("expired file left on disk")
			}
		}
	}
}
