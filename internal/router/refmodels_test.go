package router

import (
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/config"
)

// TestLearnedRefModelsMustBeInTheFile: a learned.ref_models value the
// router file does not have is an error naming the route, the deployment
// and the model, not a target silently ranked last with no prediction.
func TestLearnedRefModelsMustBeInTheFile(t *testing.T) {
	const head = `
providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}]
deployments:
  - {name: cheap, provider: p, model: m1}
  - {name: strong, provider: p, model: m2}
routes:
`
	tests := []struct {
		name, route, want string
	}{
		{"known", `  - {name: smart, policy: learned, targets: [strong, cheap], learned: {router_file: ../../routers/default.json, quality: 0.5, ref_models: {cheap: gpt-3.5-turbo-1106, strong: gpt-4-1106-preview}}}`, ""},
		{"misspelt", `  - {name: smart, policy: learned, targets: [strong, cheap], learned: {router_file: ../../routers/default.json, quality: 0.5, ref_models: {cheap: gpt-3.5-turbo-1106, strong: gpt-4-1106-previw}}}`,
			`router: route "smart": learned.ref_models.strong: reference model "gpt-4-1106-previw" is not in ../../routers/default.json (it has `},
		{"all misspelt, first by deployment name", `  - {name: smart, policy: learned, targets: [strong, cheap], learned: {router_file: ../../routers/default.json, quality: 0.5, ref_models: {strong: gpt4, cheap: gpt3}}}`,
			`learned.ref_models.cheap: reference model "gpt3"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(head+tt.route+"\n"), func(string) string { return "" })
			if err != nil {
				t.Fatal(err)
			}
			_, err = New(cfg, Options{})
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got %v, want a router", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
