package gateway

import (
	"net/http"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/openaiapi"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/tokens"
)

// ServeModerations serves POST /v1/moderations (serveRelayed), to the
// deployments with capabilities.moderation: the body relayed with only
// model rewritten, the answer returned verbatim. model is optional, as in
// OpenAI's API: without it, the first deployment that moderates serves
// the request. OpenAI reports no usage for moderations: the input is
// estimated, and priced at the deployment's input price (usually none).
func (g *Gateway) ServeModerations(w http.ResponseWriter, r *http.Request) {
	g.serveRelayed(w, r, "switchyard.moderations", func(body []byte, _ string) (relayed, error) {
		req, err := openaiapi.ParseModerations(body)
		if err != nil {
			return relayed{}, err
		}
		return relayed{
			model: req.Model, inputTokens: tokens.FromBytes(req.InputBytes),
			capability: config.CapModeration, what: "moderations", cacheEndpoint: cacheOpenAIModerations,
			serves: func(p provider.Provider) bool { _, ok := p.(provider.Moderator); return ok },
			call: calling(req, g.exec.Moderate, func(resp *llm.ModerationResponse) relayedAnswer {
				return relayedAnswer{model: resp.Model, raw: resp.Raw}
			}),
		}, nil
	})
}
