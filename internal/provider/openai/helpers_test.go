package openai

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/provider/providertest"
)

func TestMain(m *testing.M) { providertest.VerifyTestMain(m) }

const testKey = "sk-test-s3cret"

// newClient returns a Client for srv with a fixed clock.
func newClient(srv *httptest.Server, mod func(*provider.Config)) *Client {
	cfg := provider.Config{BaseURL: srv.URL + "/v1", APIKey: testKey, Model: "gpt-4o-mini", HTTPClient: srv.Client()}
	if mod != nil {
		mod(&cfg)
	}
	c := New(cfg)
	c.now = func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }
	return c
}

// adapter is this package's Client as providertest's shared checks build it.
var adapter = providertest.Adapter{
	New: func(srv *httptest.Server, mod func(*provider.Config)) provider.Provider { return newClient(srv, mod) },
	Key: testKey,
}
