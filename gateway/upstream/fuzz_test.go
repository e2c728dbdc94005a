package upstream

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func scanBytes(b []byte, oneByte bool) ([]string, error) {
	var r io.Reader = bytes.NewReader(b)
	if oneByte {
		r = iotest.OneByteReader(r)
	}
	got, _, err := scanAll(r)
	return got, err
}

// FuzzArrayScanner checks that the scanner never panics, that reading the
// body one byte at a time gives exactly what reading it whole gives, and
// (differentially) that whenever encoding/json accepts the body as an array
// of objects, the scanner yields the same elements without error.
func FuzzArrayScanner(f *testing.F) {
	for _, s := range []string{
		sampleBody, `[]`, `[{"a":"}]"}]`, `{"error":{"code":429}}`, `[{"a":1},,{"b":2}]`,
		"[{\"t\":\"\\\"\"}\r\n,{}]", `[{"a":[{"b":{}}]}`, `[{"t":"春🌸"}]`, `<html>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		whole, errWhole := scanBytes(body, false)
		bytewise, errByte := scanBytes(body, true)
		if strings.Join(whole, "\x00") != strings.Join(bytewise, "\x00") || (errWhole == nil) != (errByte == nil) {
			t.Fatalf("whole %q (%v) vs bytewise %q (%v)", whole, errWhole, bytewise, errByte)
		}
		var ref []json.RawMessage
		if json.Unmarshal(body, &ref) != nil {
			return
		}
		for _, r := range ref {
			if len(r) == 0 || r[0] != '{' {
				return
			}
		}
		if errWhole != nil {
			t.Fatalf("valid array rejected: %v", errWhole)
		}
		if len(whole) != len(ref) {
			t.Fatalf("got %d elements, encoding/json %d", len(whole), len(ref))
		}
		for i := range ref {
			if !bytes.Equal(bytes.TrimSpace(ref[i]), []byte(whole[i])) {
				t.Fatalf("element %d: %q vs %q", i, whole[i], ref[i])
			}
		}
	})
}

// FuzzStreamDecode feeds arbitrary bodies to the answer decoder: it must end
// with io.EOF or an *Error, never panic, and the text it emitted must be
// what a truncation error reports as partial.
func FuzzStreamDecode(f *testing.F) {
	f.Add([]byte(sampleBody))
	f.Add([]byte("[" + el("a\n<ctrl46>b\nc", false) + "," + succeeded + "]"))
	f.Add([]byte(`[{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[{"retryDelay":"3s"}]}}]`))
	f.Add([]byte(`[{"streamAssistResponse":{"answer":{"state":"SKIPPED","assistSkippedReasons":["X"]}}}]`))
	f.Add([]byte("[" + el("**T**", false) + "," + el("x", false)))
	f.Fuzz(func(t *testing.T, body []byte) {
		s := newTestStream(iotest.HalfReader(bytes.NewReader(body)))
		var text strings.Builder
		for i := 0; ; i++ {
			ev, err := s.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				var ue *Error
				if !errors.As(err, &ue) {
					t.Fatalf("error of type %T: %v", err, err)
				}
				if ue.Partial != "" && ue.Partial != text.String() {
					t.Fatalf("partial %q, emitted %q", ue.Partial, text.String())
				}
				return
			}
			if ev.Kind == EventText {
				text.WriteString(ev.Text)
			}
			if i > 1<<20 {
				t.Fatal("no end")
			}
		}
	})
}

// FuzzParseOXSRF: the getoxsrf decoder never panics and only succeeds with a
// non-empty key and key id.
func FuzzParseOXSRF(f *testing.F) {
	f.Add([]byte(")]}'\n{\"xsrfToken\":\"c2VjcmV0LWtleQ\",\"keyId\":\"k1\",\"expirationTime\":\"2026-01-01T00:00:00Z\"}"))
	f.Add([]byte(")]}'\n{\"message\":\"Session has expired.\",\"status\":\"EXPIRED_SIGN_IN\"}"))
	f.Add([]byte(`{"xsrfToken":"a+b/c==","keyId":"x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		k, err := ParseOXSRF(body)
		if err == nil && (len(k.Key) == 0 || k.KeyID == "") {
			t.Fatalf("accepted %q without a key", body)
		}
		_ = xssiMessage(body)
	})
}

// FuzzMergeSetCookies: Set-Cookie headers from the upstream (untrusted)
// never panic the parser, and a cookie taken into the credentials is
// always one a Cookie header can carry (no header smuggling) and never a
// cookie other than the two the client keeps.
func FuzzMergeSetCookies(f *testing.F) {
	f.Add("__Secure-C_SES=CSE.x; Domain=.business.gemini.google; Path=/; Expires=Sat, 02 May 2026 12:00:00 GMT; Secure; HttpOnly", "business.gemini.google")
	f.Add("__Host-C_OSES=COS.y; Path=/; Max-Age=86400; Secure", "business.gemini.google")
	f.Add("__Secure-C_SES=; Max-Age=0; Secure", "auth.business.gemini.google")
	f.Add("NID=1; __Secure-C_SES=a;;;= ;Secure", "127.0.0.1")
	f.Fuzz(func(t *testing.T, line, host string) {
		now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
		cr := Credentials{SecureCSES: "CSE.old", HostCOSES: "COS.old", CSESIDX: "1"}
		h := http.Header{}
		for _, l := range strings.Split(line, "\n") {
			h.Add("Set-Cookie", l)
		}
		_, reissued, _ := mergeSetCookies(&cr, h, host, now)
		for _, v := range []string{cr.SecureCSES, cr.HostCOSES} {
			if v == "" || cookieValue(v) {
				t.Fatalf("took an unusable cookie value %q from %q", v, line)
			}
		}
		if reissued && cr.SecureCSES == "CSE.old" && !strings.Contains(line, "CSE.old") {
			t.Fatalf("reported a re-issue that did not happen: %q", line)
		}
		if cr.CSESIDX != "1" {
			t.Fatal("a Set-Cookie changed the csesidx")
		}
	})
}
