package gateway

import (
	"context"
	"net/http"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/executor"
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
	x, r := g.start(r, openAIDialect, "switchyard.moderations")
	defer g.finish(r.Context(), x)
	rt, body, ok := g.authenticated(w, r, x)
	if !ok {
		return
	}
	req, err := openaiapi.ParseModerations(body)
	if err != nil {
		g.failErr(w, x, err)
		return
	}
	model, ok := g.modelOrFirst(w, x, rt, req.Model, config.CapModeration, "moderations")
	if !ok {
		return
	}
	g.serveRelayed(w, r, x, rt, body, relayed{
		model: model, inputTokens: tokens.FromBytes(req.InputBytes),
		capability: config.CapModeration, what: "moderations", cacheEndpoint: cacheOpenAIModerations,
		serves: func(p provider.Provider) bool { _, ok := p.(provider.Moderator); return ok },
		call: func(ctx context.Context, p *executor.Plan, input int) (relayedAnswer, *executor.Trace, error) {
			resp, trace, err := g.exec.Moderate(ctx, p, req, input)
			if err != nil {
				return relayedAnswer{}, trace, err
			}
			return relayedAnswer{model: resp.Model, raw: resp.Raw}, trace, nil
		},
	})
}

// firstWith is the first deployment in config order with the capability,
// or "".
func (rt *runtime) firstWith(capability string) string {
	for i := range rt.cfg.Deployments {
		if d := &rt.cfg.Deployments[i]; d.Capabilities.Has(capability) {
			return d.Name
		}
	}
	return ""
}
