package openai

import (
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/provider/providertest"
)

func TestHTTPErrorClassification(t *testing.T) {
	providertest.HTTPErrors(t, adapter, []providertest.ErrorCase{
		{Name: "429 retry-after seconds", Reply: providertest.Reply{Status: 429, Header: map[string]string{"Retry-After": "2"}, Fixture: "error_rate_limit.json"},
			Kind: provider.KindRateLimited, RetryAfter: 2 * time.Second, Message: "Rate limit reached for gpt-4o-mini"},
		{Name: "429 retry-after-ms wins", Reply: providertest.Reply{Status: 429, Header: map[string]string{"Retry-After": "2", "retry-after-ms": "300"}, Fixture: "error_rate_limit.json"},
			Kind: provider.KindRateLimited, RetryAfter: 300 * time.Millisecond},
		{Name: "429 retry-after date", Reply: providertest.Reply{Status: 429, Header: map[string]string{"Retry-After": "Wed, 01 Jan 2025 00:00:05 GMT"}, Fixture: "error_rate_limit.json"},
			Kind: provider.KindRateLimited, RetryAfter: 5 * time.Second},
		{Name: "429 without hint", Reply: providertest.Reply{Status: 429, Fixture: "error_rate_limit.json"}, Kind: provider.KindRateLimited},
		{Name: "429 insufficient_quota", Reply: providertest.Reply{Status: 429, Fixture: "error_quota.json"},
			Kind: provider.KindQuota, Message: "You exceeded your current quota"},
		{Name: "401", Reply: providertest.Reply{Status: 401, Fixture: "error_auth.json"},
			Kind: provider.KindAuth, Message: "Incorrect API key provided: [redacted]."},
		{Name: "403", Reply: providertest.Reply{Status: 403, Body: `{"error":{"message":"Country not supported","type":"request_forbidden","code":"unsupported_country_region_territory"}}`},
			Kind: provider.KindAuth, Message: "Country not supported"},
		{Name: "408", Reply: providertest.Reply{Status: 408, Body: "timeout"}, Kind: provider.KindTimeout, Message: "Request Timeout"},
		{Name: "504 html", Reply: providertest.Reply{Status: 504, Body: "<html>gateway timeout</html>"},
			Kind: provider.KindTimeout, Message: "Gateway Timeout"},
		{Name: "500", Reply: providertest.Reply{Status: 500, Fixture: "error_server.json"},
			Kind: provider.KindUnavailable, Message: "The server is overloaded or not ready yet."},
		{Name: "502", Reply: providertest.Reply{Status: 502, Body: "bad gateway"}, Kind: provider.KindUnavailable, Message: "Bad Gateway"},
		{Name: "503", Reply: providertest.Reply{Status: 503, Fixture: "error_server.json"}, Kind: provider.KindUnavailable},
		{Name: "529", Reply: providertest.Reply{Status: 529, Body: `{"error":{"message":"Overloaded","type":"overloaded_error"}}`},
			Kind: provider.KindUnavailable, Message: "Overloaded"},
		{Name: "400 context length", Reply: providertest.Reply{Status: 400, Fixture: "error_context_length.json"},
			Kind: provider.KindContextLength, Message: "This model's maximum context length is 128000 tokens."},
		{Name: "413 context length by message", Reply: providertest.Reply{Status: 413, Body: `{"error":{"message":"input exceeds the context window of this model"}}`},
			Kind: provider.KindContextLength},
		{Name: "400 azure content filter", Reply: providertest.Reply{Status: 400, Fixture: "error_content_filter.json"},
			Kind: provider.KindContentRejected, Message: "content management policy"},
		{Name: "400 content policy violation", Reply: providertest.Reply{Status: 400, Body: `{"error":{"message":"Your request was rejected as a result of our safety system.","type":"invalid_request_error","code":"content_policy_violation"}}`},
			Kind: provider.KindContentRejected},
		{Name: "400 other", Reply: providertest.Reply{Status: 400, Fixture: "error_bad_request.json"},
			Kind: provider.KindBadRequest, Message: "Invalid value for 'temperature'"},
		{Name: "404 model_not_found", Reply: providertest.Reply{Status: 404, Body: `{"error":{"message":"The model does not exist","type":"invalid_request_error","code":"model_not_found"}}`},
			Kind: provider.KindNotFound, Message: "The model does not exist"},
		{Name: "404 azure deployment", Reply: providertest.Reply{Status: 404, Body: `{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}`},
			Kind: provider.KindNotFound, Message: "deployment for this resource"},
		{Name: "404 wrong path", Reply: providertest.Reply{Status: 404, Body: "404 page not found"},
			Kind: provider.KindNotFound, Message: "Not Found"},
		{Name: "400 model_not_found", Reply: providertest.Reply{Status: 400, Body: `{"error":{"message":"The model does not exist","type":"invalid_request_error","code":"model_not_found"}}`},
			Kind: provider.KindNotFound},
		{Name: "422", Reply: providertest.Reply{Status: 422, Body: `{"error":"unprocessable"}`},
			Kind: provider.KindBadRequest, Message: "unprocessable"},
	})
}

func TestTransportErrors(t *testing.T) {
	providertest.TransportErrors(t, adapter)
}

// TestErrorParam: the field an OpenAI error names is kept, for a client
// whose request was relayed as it sent it.
func TestErrorParam(t *testing.T) {
	for fixture, want := range map[string]string{"error_bad_request.json": "temperature", "error_context_length.json": "messages", "error_server.json": ""} {
		if got := New(provider.Config{Model: "m"}).classify(400, nil, providertest.Fixture(t, fixture)).Param; got != want {
			t.Errorf("%s: param %q, want %q", fixture, got, want)
		}
	}
}

// TestErrorCode: the code an OpenAI error gives is kept when it is a plain
// identifier, for a client whose SDK branches on it (found by audit A).
func TestErrorCode(t *testing.T) {
	long := strings.Repeat("x", 65)
	for body, want := range map[string]string{
		`{"error":{"message":"m","type":"invalid_request_error","param":"max_tokens","code":"unsupported_parameter"}}`: "unsupported_parameter",
		`{"error":{"message":"m","code":"invalid_image_url"}}`:                                                         "invalid_image_url",
		`{"error":{"message":"m","code":null}}`:                                                                        "",
		`{"error":{"message":"m","code":"not a code"}}`:                                                                "",
		`{"error":{"message":"m","code":"` + long + `"}}`:                                                              "",
	} {
		if got := New(provider.Config{Model: "m"}).classify(400, nil, []byte(body)).Code; got != want {
			t.Errorf("%s: code %q, want %q", body, got, want)
		}
	}
}

// TestEchoedHeaderSecrets runs the shared check that an error echoing the
// request's headers shows none of the deployment's header values.
func TestEchoedHeaderSecrets(t *testing.T) {
	providertest.EchoedHeaderSecrets(t, adapter)
}
