package gateway_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// TestCompletionsDefaultMaxTokens: a legacy Completions request without
// max_tokens gets the API's default of 16 on a deployment of another API,
// as an OpenAI deployment applies to the relayed body, not the
// deployment's max_output_tokens; one that sets it keeps its own.
func TestCompletionsDefaultMaxTokens(t *testing.T) {
	an := newUpstreamLog(t, anthropicAnswer)
	base := gw(t, `
providers:
  - {name: an, kind: anthropic, base_url: "`+an.srv.URL+`"}
deployments:
  - {name: claude, provider: an, model: m, context_window: 200000, max_output_tokens: 64000}
`, nil)
	for _, tc := range []struct {
		body string
		want int64
	}{
		{`{"model":"claude","prompt":"Once upon a time"}`, 16},
		{`{"model":"claude","prompt":"Once upon a time","max_tokens":null}`, 16},
		{`{"model":"claude","prompt":"Once upon a time","max_tokens":300}`, 300},
	} {
		resp, err := http.Post(base+"/v1/completions", "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", tc.body, resp.StatusCode, b)
		}
		calls := an.calls()
		last := calls[len(calls)-1]
		sent := last[strings.Index(last, "{"):]
		if got := gjson.Get(sent, "max_tokens").Int(); got != tc.want {
			t.Errorf("%s: max_tokens sent = %d, want %d", tc.body, got, tc.want)
		}
	}
}
