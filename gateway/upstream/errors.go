package upstream

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Kind classifies an upstream failure by what the caller should do about it.
// The account pool decides failover and cooldowns from the Kind alone.
type Kind uint8

const (
	// KindTransient is a network error, a 5xx, a FAILED answer or a truncated
	// stream: try again, here or on another account.
	KindTransient Kind = iota + 1
	// KindExpired means the account's cookies no longer sign in (getoxsrf
	// refused them, or the API rejected a freshly minted token).
	KindExpired
	// KindBanned means the account is restricted (HTTP 403).
	KindBanned
	// KindQuota means the account is rate limited (HTTP or in-body 429).
	KindQuota
	// KindSessionGone means the upstream no longer knows the session (404).
	KindSessionGone
	// KindBadRequest means the request itself was refused (400): retrying it
	// elsewhere will not help.
	KindBadRequest
	// KindEmpty means the stream ended without answer text or a file,
	// typically thoughts only.
	KindEmpty
	// KindPolicy means the upstream skipped the query (SKIPPED state), for a
	// content-policy violation or because it did not look like a question.
	KindPolicy
	// KindStale means getoxsrf redirected to a refreshcookies URL: the
	// sign-in lives but its cookies must be re-issued (Client.RefreshCookies).
	KindStale
	// KindSignIn means the sign-in behind the cookies is over (getoxsrf
	// answered EXPIRED_SIGN_IN, or a cookie refresh ended on a sign-in
	// page): only signing in again helps.
	KindSignIn
	// KindUnauthorized means the API refused a freshly minted token (HTTP
	// 401 or UNAUTHENTICATED after a retry with a new one) although getoxsrf
	// accepted the cookies: refresh, then cool down, do not give up on the
	// account.
	KindUnauthorized
	// KindAuthTrouble means the account answered like a half-signed-in one:
	// a 200 stream with session tokens (uToken) and no answer at all. It
	// counts against the account, not as an empty reply, or a half-dead
	// account is retried on every request.
	KindAuthTrouble
	// KindAccountState means a call that carries nothing from the client
	// (widgetCreateSession) was refused with a 400: the account's state,
	// not the request, is at fault. Another account may serve; the client
	// is not told its request was bad.
	KindAccountState
)

var kindNames = [...]string{
	KindTransient:    "transient",
	KindExpired:      "expired",
	KindBanned:       "banned",
	KindQuota:        "quota",
	KindSessionGone:  "session_gone",
	KindBadRequest:   "bad_request",
	KindEmpty:        "empty_answer",
	KindPolicy:       "content_policy",
	KindStale:        "stale_cookies",
	KindSignIn:       "needs_sign_in",
	KindUnauthorized: "unauthorized",
	KindAuthTrouble:  "auth_trouble",
	KindAccountState: "account_state",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "unknown"
}

// Error is the one error type the client returns for upstream failures.
// Messages never contain cookies or tokens: they are built from the
// upstream's own error text and the operation name only.
type Error struct {
	Kind Kind
	// Op is the protocol call that failed: "getoxsrf", "widgetStreamAssist", …
	Op string
	// HTTPStatus is the upstream HTTP status, 0 for network errors and
	// in-body errors.
	HTTPStatus int
	// Status is Google's error status string ("RESOURCE_EXHAUSTED", …) or the
	// skipped reasons for KindPolicy.
	Status string
	// Message is the upstream's message, trimmed.
	Message string
	// RetryAfter is the wait the upstream asked for, when it said.
	RetryAfter time.Duration
	// Partial is the answer text received before a stream broke.
	Partial string
	// Network is true when the failure was below HTTP (dial, reset, timeout).
	Network bool
	// Err is the underlying cause, if any.
	Err error

	// refreshURL is where a KindStale getoxsrf redirected; unexported so
	// that it never lands in a log by accident.
	refreshURL string
}

// RefreshURL is the refreshcookies URL of a KindStale error, "" otherwise.
func (e *Error) RefreshURL() string { return e.refreshURL }

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("upstream ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(e.Kind.String())
	if e.HTTPStatus != 0 {
		b.WriteString(" (HTTP ")
		b.WriteString(strconv.Itoa(e.HTTPStatus))
		b.WriteString(")")
	}
	if e.Status != "" {
		b.WriteString(" ")
		b.WriteString(e.Status)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Err != nil && e.Message == "" {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of an upstream error anywhere in err's chain, or 0.
func KindOf(err error) Kind {
	var ue *Error
	if errors.As(err, &ue) {
		return ue.Kind
	}
	return 0
}

// maxMessage bounds upstream messages copied into errors and logs.
const maxMessage = 300

func trimMessage(s string) string {
	s = strings.TrimSpace(s)
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// googleError is the standard Google API error body, used both as an HTTP
// error body and as an element inside a 200 stream.
type googleError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Status  string          `json:"status"`
	Details []googleDetails `json:"details"`
}

type googleDetails struct {
	Type       string `json:"@type"`
	Reason     string `json:"reason"`
	RetryDelay string `json:"retryDelay"`
}

// retryDelay reads a google.rpc.RetryInfo delay ("30s", "1.5s") if present.
func (g *googleError) retryDelay() time.Duration {
	for _, d := range g.Details {
		if d.RetryDelay == "" {
			continue
		}
		if v, err := time.ParseDuration(d.RetryDelay); err == nil && v > 0 {
			return v
		}
	}
	return 0
}

func (g *googleError) reason() string {
	for _, d := range g.Details {
		if d.Reason != "" {
			return d.Reason
		}
	}
	return ""
}

// kindForStatus maps a widget call's HTTP status to a Kind.
func kindForStatus(code int) Kind {
	switch {
	case code == http.StatusUnauthorized:
		return KindUnauthorized
	case code == http.StatusForbidden:
		return KindBanned
	case code == http.StatusNotFound:
		return KindSessionGone
	case code == http.StatusTooManyRequests:
		return KindQuota
	case code == http.StatusBadRequest, code == http.StatusRequestEntityTooLarge,
		code == http.StatusUnsupportedMediaType:
		return KindBadRequest
	default:
		return KindTransient
	}
}

// httpError builds an Error from a non-2xx widget response. body is at most
// a few KiB of the response; hdr supplies Retry-After.
func httpError(op string, code int, hdr http.Header, body []byte) *Error {
	e := &Error{Op: op, HTTPStatus: code, Kind: kindForStatus(code)}
	var env struct {
		Error *googleError `json:"error"`
	}
	if err := json.Unmarshal(stripXSSI(body), &env); err == nil && env.Error != nil {
		e.Status = env.Error.Status
		e.Message = trimMessage(env.Error.Message)
		e.RetryAfter = env.Error.retryDelay()
		if r := env.Error.reason(); r != "" && e.Status != "" {
			e.Status += "/" + r
		}
	} else if len(body) > 0 && looksLikeText(body) {
		e.Message = trimMessage(string(body))
	}
	if e.Message == "" {
		e.Message = http.StatusText(code)
	}
	if ra := parseRetryAfter(hdr.Get("Retry-After")); ra > 0 {
		e.RetryAfter = ra
	}
	return e
}

// inBodyError builds an Error from an {"error":…} element inside a 200 stream.
func inBodyError(op string, g *googleError, partial string) *Error {
	k := kindForStatus(g.Code)
	switch g.Status {
	case "RESOURCE_EXHAUSTED":
		k = KindQuota
	case "INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE":
		k = KindBadRequest
	case "UNAUTHENTICATED":
		k = KindUnauthorized
	case "PERMISSION_DENIED":
		k = KindBanned
	case "NOT_FOUND":
		k = KindSessionGone
	case "INTERNAL", "UNAVAILABLE", "DEADLINE_EXCEEDED", "ABORTED", "UNKNOWN":
		k = KindTransient
	}
	status := g.Status
	if r := g.reason(); r != "" && status != "" {
		status += "/" + r
	}
	return &Error{Op: op, Kind: k, Status: status, Message: trimMessage(g.Message),
		RetryAfter: g.retryDelay(), Partial: partial}
}

// parseRetryAfter understands delay-seconds and HTTP-date forms.
func parseRetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

func looksLikeText(b []byte) bool {
	for _, c := range b {
		if c < 0x09 || (c > 0x0d && c < 0x20) {
			return false
		}
	}
	return true
}

// networkError wraps a transport-level failure.
func networkError(op string, err error) *Error {
	return &Error{Op: op, Kind: KindTransient, Network: true, Err: err,
		Message: fmt.Sprintf("network error: %v", redactURLError(err))}
}
