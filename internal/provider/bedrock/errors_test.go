package bedrock

import (
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/provider/providertest"
)

// typed is a reply of an AWS error: status, X-Amzn-ErrorType and a JSON body.
func typed(status int, typ, body string) providertest.Reply {
	return providertest.Reply{Status: status, Header: map[string]string{"X-Amzn-ErrorType": typ, "x-amzn-RequestId": testRequestID}, Body: body}
}

// TestHTTPErrorClassification: AWS error types, statuses and messages
// classify, the same for Chat and ChatStream.
func TestHTTPErrorClassification(t *testing.T) {
	withFixture := func(r providertest.Reply, fixture string) providertest.Reply { r.Fixture = fixture; return r }
	providertest.HTTPErrors(t, adapter, []providertest.ErrorCase{
		{Name: "429 throttling with retry-after", Reply: providertest.Reply{Status: 429,
			Header: map[string]string{"X-Amzn-ErrorType": "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/", "Retry-After": "7"}, Fixture: "error_throttling.json"},
			Kind: provider.KindRateLimited, RetryAfter: 7 * time.Second, Message: "Too many requests"},
		{Name: "429 model not ready", Reply: typed(429, "ModelNotReadyException", `{"message":"Model is not ready for inference."}`),
			Kind: provider.KindRateLimited, Message: "not ready"},
		{Name: "400 service quota exceeded is rate limited", Reply: typed(400, "ServiceQuotaExceededException", `{"message":"Your request exceeds the service quota for your account."}`),
			Kind: provider.KindRateLimited, Message: "service quota"},
		{Name: "503 service unavailable", Reply: typed(503, "ServiceUnavailableException", `{"message":"Bedrock is unable to process your request."}`),
			Kind: provider.KindUnavailable, Message: "unable to process"},
		{Name: "500 internal server", Reply: typed(500, "InternalServerException", `{"message":"The system encountered an unexpected error during processing."}`),
			Kind: provider.KindUnavailable, Message: "unexpected error"},
		{Name: "424 model error", Reply: typed(424, "ModelErrorException", `{"message":"The model encountered an error processing the request."}`),
			Kind: provider.KindUnavailable, Message: "model encountered an error"},
		{Name: "408 model timeout", Reply: typed(408, "ModelTimeoutException", `{"message":"Model has timed out in processing the request."}`),
			Kind: provider.KindTimeout, Message: "timed out"},
		{Name: "403 access denied", Reply: withFixture(typed(403, "AccessDeniedException", ""), "error_access_denied.json"),
			Kind: provider.KindAuth, Message: "don't have access"},
		{Name: "403 unrecognized client", Reply: typed(403, "UnrecognizedClientException", `{"message":"The security token included in the request is invalid."}`),
			Kind: provider.KindAuth, Message: "security token"},
		{Name: "400 expired token, type in the body", Reply: providertest.Reply{Status: 400, Body: `{"__type":"com.amazon.coral.service#ExpiredTokenException","message":"The security token included in the request is expired"}`},
			Kind: provider.KindAuth, Message: "expired"},
		{Name: "400 invalid signature, type as code", Reply: providertest.Reply{Status: 400, Body: `{"code":"InvalidSignatureException","Message":"Signature expired"}`},
			Kind: provider.KindAuth, Message: "Signature expired"},
		{Name: "404 resource not found", Reply: typed(404, "ResourceNotFoundException", `{"message":"The provided model identifier is invalid."}`),
			Kind: provider.KindNotFound, Message: "model identifier"},
		{Name: "404 wrong path", Reply: providertest.Reply{Status: 404, Body: "<UnknownOperationException/>"},
			Kind: provider.KindNotFound, Message: "Not Found"},
		{Name: "400 validation", Reply: withFixture(typed(400, "ValidationException", ""), "error_validation.json"),
			Kind: provider.KindBadRequest, Message: "unexpected `tool_use_id`"},
		{Name: "400 input is too long", Reply: withFixture(typed(400, "ValidationException", ""), "error_too_long.json"),
			Kind: provider.KindContextLength, Message: "Input is too long"},
		{Name: "400 prompt exceeds the context window", Reply: typed(400, "ValidationException", `{"message":"The model returned the following errors: prompt is 210000 tokens, which exceeds the context window"}`),
			Kind: provider.KindContextLength},
		{Name: "400 maximum context length", Reply: typed(400, "ValidationException", `{"message":"This model's maximum context length is 8192 tokens."}`),
			Kind: provider.KindContextLength},
		{Name: "400 input length", Reply: typed(400, "ValidationException", `{"message":"Input length and max_tokens exceed context limit"}`),
			Kind: provider.KindContextLength},
		{Name: "400 blocked by content filters", Reply: typed(400, "ValidationException", `{"message":"The request was blocked by content filters."}`),
			Kind: provider.KindContentRejected, Message: "content filters"},
		{Name: "400 guardrail", Reply: typed(400, "ValidationException", `{"message":"Guardrail intervened."}`),
			Kind: provider.KindContentRejected},
		{Name: "409 conflict", Reply: typed(409, "ConflictException", `{"message":"Conflict"}`), Kind: provider.KindBadRequest},
		{Name: "502 html", Reply: providertest.Reply{Status: 502, Body: "<html>bad gateway</html>"},
			Kind: provider.KindUnavailable, Message: "Bad Gateway"},
		{Name: "503 type and no message", Reply: typed(503, "ServiceUnavailableException", ""),
			Kind: provider.KindUnavailable, Message: "ServiceUnavailableException"},
		{Name: "key echoed is redacted", Reply: typed(403, "UnrecognizedClientException", `{"message":"bad key bedrock-api-key-s3cret"}`),
			Kind: provider.KindAuth, Message: "bad key [redacted]"},
	})
}

// TestTransportErrors runs the shared checks of failures before the
// response headers.
func TestTransportErrors(t *testing.T) {
	providertest.TransportErrors(t, adapter)
}

// TestErrorType: the bare type name, whichever way AWS qualifies it.
func TestErrorType(t *testing.T) {
	for in, want := range map[string]string{
		"ValidationException": "ValidationException",
		"ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/": "ValidationException",
		"com.amazon.coral.service#UnrecognizedClientException":                     "UnrecognizedClientException",
		"": "",
	} {
		if got := errorType(in); got != want {
			t.Errorf("errorType(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestEchoedHeaderSecrets runs the shared check that an error echoing the
// request's headers shows none of the deployment's header values.
func TestEchoedHeaderSecrets(t *testing.T) {
	providertest.EchoedHeaderSecrets(t, adapter)
}
