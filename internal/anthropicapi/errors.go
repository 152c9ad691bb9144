package anthropicapi

import (
	"errors"
	"net/http"

	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// Error types of the Anthropic error object (the "type" field of "error").
const (
	TypeInvalidRequest = "invalid_request_error"
	TypeAuthentication = "authentication_error"
	TypePermission     = "permission_error"
	TypeNotFound       = "not_found_error"
	TypeRateLimit      = "rate_limit_error"
	TypeAPI            = "api_error"
	TypeTimeout        = "timeout_error"
	TypeOverloaded     = "overloaded_error"
)

// StatusOverloaded is Anthropic's non-standard "overloaded" status.
const StatusOverloaded = 529

type errorBody struct {
	Type  string      `json:"type"`
	Error errorObject `json:"error"`
}

type errorObject struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// typeForStatus picks the error type for an HTTP status.
func typeForStatus(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return TypeAuthentication
	case status == http.StatusForbidden:
		return TypePermission
	case status == http.StatusNotFound:
		return TypeNotFound
	case status == http.StatusTooManyRequests:
		return TypeRateLimit
	case status == http.StatusGatewayTimeout:
		return TypeTimeout
	case status == StatusOverloaded:
		return TypeOverloaded
	case status >= 500:
		return TypeAPI
	}
	return TypeInvalidRequest
}

func marshalError(errType, message string) []byte {
	b, _ := wirejson.Marshal(errorBody{Type: "error", Error: errorObject{Type: errType, Message: message}})
	return b
}

// WriteError writes an error response in the Anthropic format:
// {"type":"error","error":{"type","message"}}. An empty errType follows
// from status.
func WriteError(w http.ResponseWriter, status int, errType, message string) {
	if errType == "" {
		errType = typeForStatus(status)
	}
	_ = wirejson.Write(w, status, marshalError(errType, message))
}

// KindStatus maps a classified upstream failure to the HTTP status and error
// type a client sees. Failures that are not the client's fault (our upstream
// credential, quota, a deployment the provider does not know) are 5xx.
func KindStatus(k provider.Kind) (status int, errType string) {
	switch k {
	case provider.KindRateLimited:
		return http.StatusTooManyRequests, TypeRateLimit
	case provider.KindUnavailable:
		return StatusOverloaded, TypeOverloaded
	case provider.KindTimeout:
		return http.StatusGatewayTimeout, TypeTimeout
	case provider.KindContextLength, provider.KindContentRejected, provider.KindBadRequest:
		return http.StatusBadRequest, TypeInvalidRequest
	case provider.KindQuota:
		return http.StatusServiceUnavailable, TypeAPI
	}
	// KindConnection, KindAuth, KindNotFound, KindUnknown.
	return http.StatusBadGateway, TypeAPI
}

// kindMessage is the client message for a kind when the provider gave
// none: Kind.ClientMessage, in Anthropic's words where its API has its own.
func kindMessage(k provider.Kind) string {
	switch k {
	case provider.KindUnavailable:
		return "Overloaded"
	case provider.KindContextLength:
		return "prompt is too long for the model's context window"
	}
	return k.ClientMessage()
}

// ErrorFor returns the status, error type and client-safe message for err:
// a *BadRequestError is a 400 invalid_request_error; a provider failure (or
// a deadline) follows KindStatus, with the provider's message when it is the
// client's to read; anything else is a 500 api_error "internal error" that
// reveals nothing of the cause.
func ErrorFor(err error) (status int, errType, message string) {
	var bre *BadRequestError
	if errors.As(err, &bre) {
		return http.StatusBadRequest, TypeInvalidRequest, bre.Message
	}
	if k, msg, ok := provider.ClientView(err, kindMessage); ok {
		status, errType = KindStatus(k)
		if provider.TooLarge(err) {
			status, errType = http.StatusRequestEntityTooLarge, "request_too_large"
		}
		return status, errType, msg
	}
	return http.StatusInternalServerError, TypeAPI, "internal error"
}

// WriteErrorFor writes err as an Anthropic error response (see ErrorFor),
// with a Retry-After header when the provider gave one.
func WriteErrorFor(w http.ResponseWriter, err error) {
	status, errType, message := ErrorFor(err)
	provider.SetRetryAfter(w.Header(), err)
	WriteError(w, status, errType, message)
}
