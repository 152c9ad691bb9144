package anthropic

import (
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/provider/providertest"
)

func TestHTTPErrorClassification(t *testing.T) {
	providertest.HTTPErrors(t, adapter, []providertest.ErrorCase{
		{Name: "429 retry-after seconds", Reply: providertest.Reply{Status: 429, Header: map[string]string{"retry-after": "7"}, Fixture: "error_rate_limit.json"},
			Kind: provider.KindRateLimited, RetryAfter: 7 * time.Second, Message: "exceed the rate limit"},
		{Name: "429 retry-after-ms", Reply: providertest.Reply{Status: 429, Header: map[string]string{"retry-after-ms": "1500"}, Fixture: "error_rate_limit.json"},
			Kind: provider.KindRateLimited, RetryAfter: 1500 * time.Millisecond},
		{Name: "429 retry-after date", Reply: providertest.Reply{Status: 429, Header: map[string]string{"Retry-After": "Wed, 01 Jan 2025 00:01:00 GMT"}, Fixture: "error_rate_limit.json"},
			Kind: provider.KindRateLimited, RetryAfter: time.Minute},
		{Name: "529 overloaded", Reply: providertest.Reply{Status: 529, Fixture: "error_overloaded.json"},
			Kind: provider.KindUnavailable, Message: "Overloaded"},
		{Name: "500", Reply: providertest.Reply{Status: 500, Body: `{"type":"error","error":{"type":"api_error","message":"Internal server error"}}`},
			Kind: provider.KindUnavailable, Message: "Internal server error"},
		{Name: "502 html", Reply: providertest.Reply{Status: 502, Body: "<html>bad gateway</html>"},
			Kind: provider.KindUnavailable, Message: "Bad Gateway"},
		{Name: "503", Reply: providertest.Reply{Status: 503, Body: ""}, Kind: provider.KindUnavailable, Message: "Service Unavailable"},
		{Name: "401", Reply: providertest.Reply{Status: 401, Fixture: "error_auth.json"}, Kind: provider.KindAuth, Message: "invalid x-api-key"},
		{Name: "403", Reply: providertest.Reply{Status: 403, Body: `{"type":"error","error":{"type":"permission_error","message":"Your API key does not have permission to use the specified resource."}}`},
			Kind: provider.KindAuth},
		{Name: "408", Reply: providertest.Reply{Status: 408, Body: ""}, Kind: provider.KindTimeout},
		{Name: "504", Reply: providertest.Reply{Status: 504, Body: `{"type":"error","error":{"type":"timeout_error","message":"Request timed out"}}`},
			Kind: provider.KindTimeout, Message: "Request timed out"},
		{Name: "400 prompt too long", Reply: providertest.Reply{Status: 400, Fixture: "error_prompt_too_long.json"},
			Kind: provider.KindContextLength, Message: "prompt is too long"},
		{Name: "400 input and max_tokens exceed context", Reply: providertest.Reply{Status: 400, Fixture: "error_context_max_tokens.json"},
			Kind: provider.KindContextLength, Message: "exceed context limit"},
		{Name: "413 exceeds the context window", Reply: providertest.Reply{Status: 413, Body: `{"type":"error","error":{"type":"request_too_large","message":"Request exceeds the context window"}}`},
			Kind: provider.KindContextLength},
		{Name: "400 content policy", Reply: providertest.Reply{Status: 400, Fixture: "error_policy.json"},
			Kind: provider.KindContentRejected, Message: "content filtering policy"},
		{Name: "400 credit balance", Reply: providertest.Reply{Status: 400, Fixture: "error_billing.json"},
			Kind: provider.KindQuota, Message: "credit balance"},
		{Name: "400 other", Reply: providertest.Reply{Status: 400, Fixture: "error_invalid.json"},
			Kind: provider.KindBadRequest, Message: "unexpected tool_use_id"},
		{Name: "404", Reply: providertest.Reply{Status: 404, Body: `{"type":"error","error":{"type":"not_found_error","message":"model: claude-x"}}`},
			Kind: provider.KindNotFound, Message: "model: claude-x"},
		{Name: "404 wrong path", Reply: providertest.Reply{Status: 404, Body: "404 page not found"},
			Kind: provider.KindNotFound, Message: "Not Found"},
		{Name: "key echoed is redacted", Reply: providertest.Reply{Status: 401, Body: `{"type":"error","error":{"type":"authentication_error","message":"bad key sk-ant-test-s3cret"}}`},
			Kind: provider.KindAuth, Message: "bad key [redacted]"},
	})
}

func TestTransportErrors(t *testing.T) {
	providertest.TransportErrors(t, adapter)
}

// TestEchoedHeaderSecrets runs the shared check that an error echoing the
// request's headers shows none of the deployment's header values.
func TestEchoedHeaderSecrets(t *testing.T) {
	providertest.EchoedHeaderSecrets(t, adapter)
}
