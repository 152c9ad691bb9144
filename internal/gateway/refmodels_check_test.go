package gateway_test

import (
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/gateway"
)

// TestCheckRejectsUnknownRefModel: `switchyard check` (gateway.Check)
// refuses a learned route whose ref_models names a reference model the
// router file does not have, as serve would.
func TestCheckRejectsUnknownRefModel(t *testing.T) {
	c, err := config.Parse([]byte(`
providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}]
deployments:
  - {name: cheap, provider: p, model: m1}
  - {name: strong, provider: p, model: m2}
routes:
  - {name: smart, policy: learned, targets: [strong, cheap], learned: {router_file: ../../routers/default.json, quality: 0.5, ref_models: {cheap: gpt-3.5-turbo-1106, strong: gpt-4-turbo}}}
`), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	err = gateway.Check(c)
	if want := `route "smart": learned.ref_models.strong: reference model "gpt-4-turbo" is not in`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want an error containing %q", err, want)
	}
}
