package openai

import (
	"net/http"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/provider"
)

// TestClassifyDropsSecretCodeAndParam: an upstream echoing its API key or a
// configured header value in error.code or error.param does not pass it to
// the client; plain codes and params are kept.
func TestClassifyDropsSecretCodeAndParam(t *testing.T) {
	c := New(provider.Config{Model: "gpt-4o", BaseURL: "http://127.0.0.1:1/v1",
		APIKey: "sk-proj-UPSTREAMsecret0001", Headers: map[string]string{"X-Org": "org-hidden42"}})
	for _, tc := range []struct{ body, code, param string }{
		{`{"error":{"message":"key sk-proj-UPSTREAMsecret0001 may not","type":"invalid_request_error","code":"sk-proj-UPSTREAMsecret0001","param":"sk-proj-UPSTREAMsecret0001"}}`, "", ""},
		{`{"error":{"message":"bad","type":"invalid_request_error","code":"x-org-hidden42-y","param":"messages.org-hidden42"}}`, "", ""},
		{`{"error":{"message":"bad","type":"invalid_request_error","code":"unsupported_value","param":"temperature"}}`, "unsupported_value", "temperature"},
	} {
		e := c.classify(http.StatusBadRequest, nil, []byte(tc.body))
		if e.Code != tc.code || e.Param != tc.param {
			t.Errorf("%s: code %q param %q; want %q, %q", tc.body, e.Code, e.Param, tc.code, tc.param)
		}
		if e.Message == "" || c.secrets.Redact(e.Message) != e.Message {
			t.Errorf("%s: message %q not redacted", tc.body, e.Message)
		}
	}
}
