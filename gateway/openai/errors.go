// Package openai is the OpenAI wire format of the gateway: request decoding
// into the gateway's chat model, response and chunk encoding, the SSE
// writer, the error shape, and the token estimate. It holds no HTTP server
// code; the gateway package adapts it to net/http.
package openai

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Error is an OpenAI-shaped error with its HTTP status:
// {"error":{"message","type","param","code"}}.
type Error struct {
	Status  int    `json:"-"`
	Message string `json:"message"`
	Type    string `json:"type"`
	Param   string `json:"param,omitempty"`
	Code    string `json:"code,omitempty"`
	// RetryAfter, in seconds, becomes a Retry-After header when > 0.
	RetryAfter int `json:"-"`
}

func (e *Error) Error() string { return e.Message }

// Error types, as OpenAI names them.
const (
	TypeInvalidRequest = "invalid_request_error"
	TypeAuthentication = "authentication_error"
	TypePermission     = "permission_error"
	TypeNotFound       = "not_found_error"
	TypeRateLimit      = "rate_limit_error"
	TypeServer         = "server_error"
	TypeUnavailable    = "service_unavailable_error"
)

// BadRequest is a 400 about one parameter.
func BadRequest(param, code, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Type: TypeInvalidRequest, Param: param, Code: code, Message: msg}
}

// NewError builds an error of any status.
func NewError(status int, typ, code, msg string) *Error {
	return &Error{Status: status, Type: typ, Code: code, Message: msg}
}

// errorBody is the envelope; param and code are always present (null when
// empty) because some SDKs expect the keys.
type errorBody struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

// MarshalBody returns the JSON error envelope.
func (e *Error) MarshalBody() []byte {
	var b errorBody
	b.Error.Message, b.Error.Type = e.Message, e.Type
	if e.Param != "" {
		b.Error.Param = &e.Param
	}
	if e.Code != "" {
		b.Error.Code = &e.Code
	}
	out, _ := json.Marshal(&b) // plain strings always marshal
	return out
}

// Write sends the error as an HTTP response.
func (e *Error) Write(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	status := e.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	w.WriteHeader(status)
	w.Write(append(e.MarshalBody(), '\n'))
}
