package upstream

import (
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
)

// The cookie refresh goes through PROXY like every upstream call: the
// upstream's hosts here do not even resolve; only the proxy can reach them.
func TestRefreshGoesThroughProxy(t *testing.T) {
	var seen atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		if r.URL.Host != "business.upstream.invalid" {
			t.Errorf("proxied request for %s", r.URL.Host)
		}
		switch r.URL.Path {
		case "/auth/getoxsrf":
			if strings.Contains(r.Header.Get("Cookie"), "CSE.new") {
				w.Write([]byte(")]}'\n{\"xsrfToken\":\"AAAA\",\"keyId\":\"k\"}"))
				return
			}
			http.Redirect(w, r, "http://business.upstream.invalid/refreshcookies", http.StatusFound)
		case "/refreshcookies":
			w.Header().Add("Set-Cookie", "__Secure-C_SES=CSE.new; Path=/; Secure; HttpOnly")
			http.Redirect(w, r, "/auth/getoxsrf", http.StatusFound)
		}
	}))
	defer proxy.Close()
	c, err := New(Config{BusinessURL: "http://business.upstream.invalid", AuthURL: "http://auth.upstream.invalid",
		APIURL: "http://api.upstream.invalid", Proxy: proxy.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetOXSRF(context.Background(), testCreds)
	ue, ok := err.(*Error)
	if !ok || ue.Kind != KindStale {
		t.Fatalf("getoxsrf: %v", err)
	}
	rot, err := c.RefreshCookies(context.Background(), testCreds, ue.RefreshURL())
	if err != nil || rot.Credentials.SecureCSES != "CSE.new" {
		t.Fatalf("refresh: %+v %v", rot, err)
	}
	if _, err := c.GetOXSRF(context.Background(), rot.Credentials); err != nil {
		t.Fatal(err)
	}
	if seen.Load() != 3 {
		t.Errorf("%d requests through the proxy, want 3", seen.Load())
	}
}

// The client trusts the system certificate store, and with it Go's
// SSL_CERT_FILE: a TLS upstream signed by a private CA is trusted once the
// CA is in that file, and refused otherwise. The system roots load once per
// process, so each case runs in a child process.
func TestSystemCertStoreHonoursSSLCertFile(t *testing.T) {
	if u := os.Getenv("GG_CERT_CHILD_URL"); u != "" {
		certChild(t, u)
		return
	}
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		// There Go verifies through the OS's own store (CryptoAPI, the
		// macOS keychain) and SSL_CERT_FILE/SSL_CERT_DIR do not apply.
		t.Skip("SSL_CERT_FILE is a Unix mechanism; " + runtime.GOOS + " uses the system store")
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(")]}'\n{\"xsrfToken\":\"AAAA\",\"keyId\":\"k\"}"))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	defer srv.Close()
	certFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(certFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	emptyFile := filepath.Join(t.TempDir(), "empty.pem")
	if err := os.WriteFile(emptyFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, file string
		ok         bool
	}{
		{"CA in SSL_CERT_FILE", certFile, true},
		{"CA unknown", emptyFile, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestSystemCertStoreHonoursSSLCertFile$", "-test.count=1")
			cmd.Env = append(os.Environ(), "GG_CERT_CHILD_URL="+srv.URL, "SSL_CERT_FILE="+tc.file, "SSL_CERT_DIR="+t.TempDir())
			out, err := cmd.CombinedOutput()
			got := strings.Contains(string(out), "CHILD OK")
			if got != tc.ok || (!tc.ok && !strings.Contains(string(out), "CHILD FAIL")) {
				t.Fatalf("ok=%v (%v): %s", got, err, out)
			}
		})
	}
}

// certChild is the child process: one getoxsrf over TLS with the default
// transport, its outcome on stdout.
func certChild(t *testing.T, u string) {
	c, err := New(Config{BusinessURL: u, AuthURL: u, APIURL: u})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetOXSRF(context.Background(), testCreds); err != nil {
		fmt.Println("CHILD FAIL", err)
		return
	}
	fmt.Println("CHILD OK")
}
