package logging

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	var r Redactor
	r.Add("CSE.AXUaAjfSECRETvalue123", "2026259595", "short")
	tests := []struct{ in, mustNot, must string }{
		{"cookie CSE.AXUaAjfSECRETvalue123 leaked", "SECRETvalue", Mask},
		{"csesidx is 2026259595!", "2026259595", Mask},
		{"short is not a secret", "", "short"},
		{"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "eyJzdWIi", Mask},
		{"token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl in text", "c2lnbmF0dXJl", Mask},
		{"Cookie: __Secure-C_SES=CSE.unregistered-value; __Host-C_OSES=COS.other", "unregistered", "__Secure-C_SES=" + Mask},
		{"GET /auth/getoxsrf?csesidx=987654321", "987654321", Mask},
		{`{"secure_c_ses":"CSE.abcdef","csesidx":"12345678"}`, "CSE.abcdef", Mask},
		{`{"xsrfToken":"c2VjcmV0LWtleQ"}`, "c2VjcmV0LWtleQ", Mask},
	}
	for _, tc := range tests {
		got := r.Redact(tc.in)
		if tc.mustNot != "" && strings.Contains(got, tc.mustNot) {
			t.Errorf("Redact(%q) = %q still contains %q", tc.in, got, tc.mustNot)
		}
		if !strings.Contains(got, tc.must) {
			t.Errorf("Redact(%q) = %q lacks %q", tc.in, got, tc.must)
		}
	}
	r.Remove("2026259595")
	if got := r.Redact("id 2026259595"); got != "id 2026259595" {
		t.Errorf("removed secret still masked: %q", got)
	}
}

func TestHandlerRedactsEverywhere(t *testing.T) {
	var buf bytes.Buffer
	r := &Redactor{}
	r.Add("CSE.topsecretcookie")
	log := slog.New(NewHandler(slog.NewJSONHandler(&buf, nil), r))
	log = log.With("ctx", "with CSE.topsecretcookie")
	log.WithGroup("g").Info("msg CSE.topsecretcookie",
		"s", "a CSE.topsecretcookie b",
		"err", errors.New("failed with CSE.topsecretcookie"),
		"any", struct{ V string }{"CSE.topsecretcookie"},
		slog.Group("inner", "x", "CSE.topsecretcookie"),
		"n", 42)
	out := buf.String()
	if strings.Contains(out, "topsecretcookie") {
		t.Fatalf("secret leaked: %s", out)
	}
	if strings.Count(out, Mask) != 6 || !strings.Contains(out, `"n":42`) {
		t.Errorf("unexpected output: %s", out)
	}
}

func TestTriggersCoverPatterns(t *testing.T) {
	if len(triggers) != len(patterns) {
		t.Fatal("a pattern without triggers")
	}
	var r Redactor
	for _, in := range []string{"BEARER abcdefghijkl", "bearer abcdefghijkl", "CSESIDX=12345678", "Csesidx: 12345678",
		"__HOST-C_OSES=abc", "SECURE_C_SES: \"x1y2z3\"", "XSRFTOKEN=abcdef"} {
		if got := r.Redact(in); !strings.Contains(got, Mask) {
			t.Errorf("Redact(%q) = %q", in, got)
		}
	}
}

func BenchmarkRedactPlain(b *testing.B) {
	var r Redactor
	r.Add("CSE.a-registered-cookie-value", "2026259595")
	s := "request_id=req_0123456789abcdef model_served=gemini-2.5-pro account=work status=200"
	b.ReportAllocs()
	for b.Loop() {
		r.Redact(s)
	}
}
