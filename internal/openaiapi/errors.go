package openaiapi

import (
	"errors"
	"net/http"

	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/sse"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// Error types of the OpenAI error object (the "type" field).
const (
	TypeInvalidRequest = "invalid_request_error"
	TypeAuthentication = "authentication_error"
	TypePermission     = "permission_error"
	TypeNotFound       = "not_found_error"
	TypeRateLimit      = "rate_limit_exceeded"
	TypeServer         = "server_error"
)

// Stable error codes (the "code" field) Switchyard returns; see the package
// comment for when each is used.
const (
	CodeInvalidRequest         = "invalid_request"
	CodeContextLengthExceeded  = "context_length_exceeded"
	CodeContentPolicyViolation = "content_policy_violation"
	CodeRateLimitExceeded      = "rate_limit_exceeded"
	CodeUpstreamUnavailable    = "upstream_unavailable"
	CodeUpstreamTimeout        = "upstream_timeout"
	CodeUpstreamConnection     = "upstream_connection_failed"
	CodeUpstreamAuth           = "upstream_auth_failed"
	CodeUpstreamQuota          = "upstream_quota_exhausted"
	CodeUpstreamNotFound       = "upstream_not_found"
	CodeUpstreamError          = "upstream_error"
	CodeInternal               = "internal_error"
)

// errorBody is the OpenAI error envelope.
type errorBody struct {
	Error errorObject `json:"error"`
}

type errorObject struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// typeForStatus picks the OpenAI error type for an HTTP status.
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
	case status >= 500:
		return TypeServer
	}
	return TypeInvalidRequest
}

func marshalError(status int, code, param, message string) []byte {
	obj := errorObject{Message: message, Type: typeForStatus(status)}
	if code != "" {
		obj.Code = &code
	}
	if param != "" {
		obj.Param = &param
	}
	b, _ := wirejson.Marshal(errorBody{Error: obj})
	return b
}

// AppendStreamError appends OpenAI's in-band error frame for err,
// data: {"error":{...}}, as a stream that fails after it started ends.
func AppendStreamError(dst []byte, err error) []byte {
	return sse.AppendFrame(dst, "", marshalError(ErrorFor(err)))
}

// WriteError writes an error response in the OpenAI format:
// {"error":{"message","type","param","code"}}. The type follows from status;
// code may be empty (then null).
func WriteError(w http.ResponseWriter, status int, code, message string) {
	WriteErrorParam(w, status, code, "", message)
}

// WriteErrorParam is WriteError naming the request parameter at fault in
// param (null when empty).
func WriteErrorParam(w http.ResponseWriter, status int, code, param, message string) {
	_ = wirejson.Write(w, status, marshalError(status, code, param, message))
}

// KindStatus maps a classified upstream failure to the HTTP status and error
// code a client sees. Failures that are not the client's fault (our upstream
// credential, quota, a deployment the provider does not know) are 5xx.
func KindStatus(k provider.Kind) (status int, code string) {
	switch k {
	case provider.KindRateLimited:
		return http.StatusTooManyRequests, CodeRateLimitExceeded
	case provider.KindUnavailable:
		return http.StatusServiceUnavailable, CodeUpstreamUnavailable
	case provider.KindTimeout:
		return http.StatusGatewayTimeout, CodeUpstreamTimeout
	case provider.KindConnection:
		return http.StatusBadGateway, CodeUpstreamConnection
	case provider.KindContextLength:
		return http.StatusBadRequest, CodeContextLengthExceeded
	case provider.KindContentRejected:
		return http.StatusBadRequest, CodeContentPolicyViolation
	case provider.KindBadRequest:
		return http.StatusBadRequest, CodeInvalidRequest
	case provider.KindAuth:
		return http.StatusBadGateway, CodeUpstreamAuth
	case provider.KindQuota:
		return http.StatusServiceUnavailable, CodeUpstreamQuota
	case provider.KindNotFound:
		return http.StatusBadGateway, CodeUpstreamNotFound
	}
	return http.StatusBadGateway, CodeUpstreamError
}

// ErrorFor returns the status, code, param and client-safe message for err:
// a *BadRequestError is 400 with its param; a provider failure (or a
// deadline) follows KindStatus, with the provider's message when it is the
// client's to read, and a refused request keeps the provider's own code
// (requestCode); anything else is a 500 "internal error" that reveals
// nothing of the cause.
func ErrorFor(err error) (status int, code, param, message string) {
	var bre *BadRequestError
	if errors.As(err, &bre) {
		return http.StatusBadRequest, CodeInvalidRequest, bre.Param, bre.Message
	}
	if k, msg, ok := provider.ClientView(err, provider.Kind.ClientMessage); ok {
		status, code = KindStatus(k)
		if provider.TooLarge(err) {
			status, code = http.StatusRequestEntityTooLarge, "request_too_large"
		}
		if c := requestCode(err, k); c != "" {
			code = c
		}
		return status, code, requestParam(err, k), msg
	}
	return http.StatusInternalServerError, CodeInternal, "", "internal error"
}

// requestParam is the request field a provider's refusal of the request
// names (an OpenAI deployment's error.param: the request was relayed, so
// it is the client's own field), "" for any other failure.
func requestParam(err error, k provider.Kind) string {
	var pe *provider.Error
	switch {
	case k != provider.KindBadRequest && k != provider.KindContextLength && k != provider.KindContentRejected:
		return ""
	case errors.As(err, &pe) && len(pe.Param) <= 200:
		return pe.Param
	}
	return ""
}

// requestCode is the provider's own code for its refusal of the request as
// invalid (an OpenAI deployment's error.code, such as
// unsupported_parameter or invalid_value, which SDKs branch on; the
// request was relayed, so it is about the client's own body), "" for any
// other failure: those the gateway classifies itself (rate limits, auth,
// quota, context length, content policy, unavailable) keep its codes.
func requestCode(err error, k provider.Kind) string {
	var pe *provider.Error
	if k != provider.KindBadRequest || !errors.As(err, &pe) || pe.Kind != provider.KindBadRequest {
		return ""
	}
	return provider.PlainCode(pe.Code)
}

// WriteErrorFor writes err as an OpenAI error response (see ErrorFor), with a
// Retry-After header when the provider gave one.
func WriteErrorFor(w http.ResponseWriter, err error) {
	status, code, param, message := ErrorFor(err)
	provider.SetRetryAfter(w.Header(), err)
	WriteErrorParam(w, status, code, param, message)
}
