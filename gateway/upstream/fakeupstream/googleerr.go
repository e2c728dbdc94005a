package fakeupstream

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// Google-style error bodies of the API host, compact. Only the 429 body was
// captured from the real service (ED); the others follow Google's
// convention. They are written pretty-printed, as Google's front end does.
const (
	// QuotaExhaustedBody is the 429 body captured by ED.
	QuotaExhaustedBody = `{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"LLM_OVERLOADED","domain":"discoveryengine.googleapis.com"}]}}`
	// UnauthenticatedBody is the 401 body for a rejected JWT or configId.
	UnauthenticatedBody = `{"error":{"code":401,"message":"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.","status":"UNAUTHENTICATED"}}`
	// PermissionDeniedBody is the 403 body of a banned account.
	PermissionDeniedBody = `{"error":{"code":403,"message":"The caller does not have permission","status":"PERMISSION_DENIED"}}`
	// InternalErrorBody is the 500 body of the "http-500" scenario.
	InternalErrorBody = `{"error":{"code":500,"message":"Internal error encountered.","status":"INTERNAL"}}`
	// InternalMidstreamElement is the error element of "internal-midstream".
	InternalMidstreamElement = `{"error":{"code":500,"status":"INTERNAL","message":"planner exploded"}}`
)

// googleError mirrors google.rpc.Status as the JSON front end renders it.
type googleError struct {
	Error googleErrorBody `json:"error"`
}

type googleErrorBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  string `json:"status"`
	Details []any  `json:"details,omitempty"`
}

func errorJSON(code int, status, message string) string {
	b, _ := json.Marshal(googleError{Error: googleErrorBody{Code: code, Message: message, Status: status}})
	return string(b)
}

// writeGoogleError writes a Google error with the given HTTP status.
func writeGoogleError(w http.ResponseWriter, code int, status, message string) {
	writeRawError(w, code, errorJSON(code, status, message))
}

// writeRawError writes a JSON body pretty-printed with two spaces.
func writeRawError(w http.ResponseWriter, code int, body string) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=UTF-8")
	h.Set("Vary", "Origin, X-Origin, Referer")
	if code == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/"`)
	}
	w.WriteHeader(code)
	_, _ = w.Write(prettyJSON([]byte(body)))
}

// prettyJSON re-indents valid JSON and leaves anything else untouched, so
// hand-written malformed bodies still reach the client byte for byte.
func prettyJSON(b []byte) []byte {
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		return b
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

func writeJSON(w http.ResponseWriter, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Vary", "Origin, X-Origin, Referer")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

func badRequest(w http.ResponseWriter, msg string) {
	writeGoogleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", msg)
}

func notFound(w http.ResponseWriter, msg string) {
	writeGoogleError(w, http.StatusNotFound, "NOT_FOUND", msg)
}
