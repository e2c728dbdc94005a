package upstream

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestMintJWT(t *testing.T) {
	key := SigningKey{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "kid-\"1"}
	iat := time.Unix(1_700_000_000, 0)
	jwt := MintJWT(key, "2026259595", iat, iat.Add(300*time.Second))
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("jwt has %d parts", len(parts))
	}
	mac := hmac.New(sha256.New, key.Key)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if want := base64.RawURLEncoding.EncodeToString(mac.Sum(nil)); parts[2] != want {
		t.Fatalf("bad signature")
	}
	var hdr map[string]any
	var claims map[string]any
	for i, dst := range []*map[string]any{&hdr, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
	}
	if hdr["alg"] != "HS256" || hdr["typ"] != "JWT" || hdr["kid"] != "kid-\"1" {
		t.Errorf("header = %v", hdr)
	}
	if claims["iss"] != "https://business.gemini.google" || claims["aud"] != "https://biz-discoveryengine.googleapis.com" ||
		claims["sub"] != "csesidx/2026259595" || claims["iat"] != float64(1_700_000_000) ||
		claims["nbf"] != float64(1_700_000_000) || claims["exp"] != float64(1_700_000_300) {
		t.Errorf("claims = %v", claims)
	}
}

func TestParseOXSRF(t *testing.T) {
	tests := []struct {
		name, body string
		key        string
		kid        string
		expires    bool
		ok         bool
	}{
		{"xssi prefix", ")]}'\n{\"xsrfToken\":\"c2VjcmV0LWtleQ\",\"keyId\":\"k1\",\"expirationTime\":\"2026-01-01T00:00:00Z\"}", "secret-key", "k1", true, true},
		{"no prefix padded", `{"xsrfToken":"c2VjcmV0LWtleQ==","keyId":"k2"}`, "secret-key", "k2", false, true},
		{"crlf after prefix", ")]}'\r\n{\"xsrfToken\":\"_-8\",\"keyId\":\"k3\"}", "\xff\xef", "k3", false, true},
		{"expired body", ")]}'\n{\"message\":\"Session has expired.\",\"status\":\"EXPIRED_SIGN_IN\"}", "", "", false, false},
		{"no key id", `)]}'` + "\n" + `{"xsrfToken":"c2VjcmV0"}`, "", "", false, false},
		{"html", "<html>", "", "", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParseOXSRF([]byte(tc.body))
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v", err)
			}
			if !tc.ok {
				return
			}
			if string(k.Key) != tc.key || k.KeyID != tc.kid || k.Expires.IsZero() == tc.expires {
				t.Errorf("got key %q kid %q expires %v", k.Key, k.KeyID, k.Expires)
			}
		})
	}
	if m := xssiMessage([]byte(")]}'\n{\"message\":\"Session has expired.\",\"status\":\"EXPIRED_SIGN_IN\"}")); m != "Session has expired. (EXPIRED_SIGN_IN)" {
		t.Errorf("xssiMessage = %q", m)
	}
}
