// Package logging provides the gateway's slog handler that scrubs secrets
// from every record, so that no call site has to remember to: known secret
// values (each account's cookies and csesidx, the API key) are replaced
// wherever they appear, and anything shaped like a JWT, a bearer token or a
// Gemini cookie pair is masked even when it was never registered.
package logging

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Mask replaces a secret in output.
const Mask = "[REDACTED]"

// Redactor knows the secret values to scrub. Safe for concurrent use.
type Redactor struct {
	mu      sync.RWMutex
	secrets map[string]int // value → reference count
	sorted  []string       // longest first, so a secret containing another is masked whole
}

// minSecretLen avoids masking short, common strings; every real secret here
// is longer (a csesidx has about ten digits).
const minSecretLen = 6

// Add registers secret values.
func (r *Redactor) Add(values ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.secrets == nil {
		r.secrets = make(map[string]int)
	}
	for _, v := range values {
		if len(v) >= minSecretLen {
			r.secrets[v]++
		}
	}
	r.resort()
}

// Remove unregisters values added before.
func (r *Redactor) Remove(values ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range values {
		if n := r.secrets[v]; n > 1 {
			r.secrets[v] = n - 1
		} else {
			delete(r.secrets, v)
		}
	}
	r.resort()
}

func (r *Redactor) resort() {
	r.sorted = r.sorted[:0]
	for v := range r.secrets {
		r.sorted = append(r.sorted, v)
	}
	sort.Slice(r.sorted, func(i, j int) bool { return len(r.sorted[i]) > len(r.sorted[j]) })
}

var patterns = []*regexp.Regexp{
	// JWTs: three base64url segments, the first two JSON objects ("eyJ").
	regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+`),
	// Cookie pairs and bearer tokens.
	regexp.MustCompile(`(?i)(__Secure-C_SES|__Host-C_OSES|C_SES|C_OSES)=[^;,\s"']+`),
	regexp.MustCompile(`(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}`),
	regexp.MustCompile(`(?i)(csesidx["'=:\s]+)\d{4,}`),
	regexp.MustCompile(`(?i)("?(?:secure_c_ses|host_c_oses|xsrfToken)"?\s*[:=]\s*"?)[^"\s,;}]+`),
}

// triggers are literal substrings without which a pattern cannot match:
// checking them first keeps the regular expressions off the common path
// (they cost a sixth of a request's CPU when run on every log value).
var triggers = [][]string{
	{"eyJ"},
	{"_SES=", "_OSES=", "_ses=", "_oses=", "_Ses=", "_Oses="},
	{"earer", "EARER"},
	{"sesidx", "SESIDX", "Sesidx"},
	{"c_ses", "C_SES", "c_oses", "C_OSES", "srfToken", "SRFTOKEN", "srftoken", "_Ses", "_Oses"},
}

func mayMatch(i int, s string) bool {
	for _, t := range triggers[i] {
		if strings.Contains(s, t) {
			return true
		}
	}
	return false
}

// Redact returns s with every secret masked.
func (r *Redactor) Redact(s string) string {
	if s == "" {
		return s
	}
	if r != nil {
		r.mu.RLock()
		for _, v := range r.sorted {
			if strings.Contains(s, v) {
				s = strings.ReplaceAll(s, v, Mask)
			}
		}
		r.mu.RUnlock()
	}
	for i, re := range patterns {
		if !mayMatch(i, s) {
			continue
		}
		if i == 0 {
			s = re.ReplaceAllString(s, Mask)
			continue
		}
		s = re.ReplaceAllStringFunc(s, func(m string) string {
			sub := re.FindStringSubmatch(m)
			if len(sub) > 1 && sub[1] != "" && len(sub[1]) < len(m) {
				prefix := sub[1]
				if strings.HasSuffix(strings.ToUpper(prefix), "SES") || strings.HasSuffix(strings.ToUpper(prefix), "OSES") {
					prefix += "="
				}
				return prefix + Mask
			}
			return Mask
		})
	}
	return s
}

// Handler wraps another slog.Handler and redacts every string it passes on:
// the message, attribute values (also inside groups), errors and anything
// formatted with fmt.
type Handler struct {
	inner slog.Handler
	r     *Redactor
}

// NewHandler wraps inner.
func NewHandler(inner slog.Handler, r *Redactor) *Handler { return &Handler{inner: inner, r: r} }

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.Redact(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.inner.Handle(ctx, out)
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(as))
	for i, a := range as {
		clean[i] = h.attr(a)
	}
	return &Handler{inner: h.inner.WithAttrs(clean), r: h.r}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{inner: h.inner.WithGroup(name), r: h.r}
}

func (h *Handler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.r.Redact(v.String()))
	case slog.KindGroup:
		g := v.Group()
		clean := make([]any, len(g))
		for i, ga := range g {
			clean[i] = h.attr(ga)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, h.r.Redact(x.Error()))
		case nil:
			return a
		default:
			return slog.String(a.Key, h.r.Redact(fmt.Sprint(x)))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
