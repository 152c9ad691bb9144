package gateway

import (
	"net/http"
	"strconv"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/openaiapi"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/router"
	"github.com/switchyard-gw/switchyard/internal/tokens"
)

// ServeModerations serves POST /v1/moderations: routed like embeddings
// to deployments with capabilities.moderation, the body relayed with
// only model rewritten and the answer returned verbatim. model is
// optional, as in OpenAI's API: without it, the first deployment that
// moderates serves the request.
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
	plan, dec, ae := rt.moderationPlan(req.Model)
	x.decision = dec
	if ae != nil {
		g.fail(w, x, ae)
		return
	}
	input := tokens.FromBytes(req.InputBytes)
	cost := 0.0
	for _, t := range plan.Targets {
		cost = max(cost, rt.cost(t.Deployment, llm.Usage{InputTokens: input}))
	}
	if !g.admit(w, r, x, rt, input, cost) {
		return
	}
	w, save, hit := g.cached(w, r, x, rt, cacheOpenAIModerations, body)
	if hit {
		return
	}
	if save != nil {
		defer save()
	}
	resp, trace, err := g.exec.Moderate(r.Context(), plan, req, input)
	x.trace = trace
	g.setRouteHeaders(w, x)
	if err != nil {
		g.failErr(w, x, err)
		return
	}
	// OpenAI reports no usage for moderations: the input is estimated,
	// and priced at the deployment's input price (usually none).
	x.model = resp.Model
	x.usage = llm.Usage{InputTokens: input, Estimated: true}
	x.status = http.StatusOK
	_, spent := x.accounted()
	w.Header().Set(HeaderCost, costHeader(spent))
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(resp.Raw)
}

// moderationPlan is the executor plan for a moderations request naming
// model ("" for the first deployment with capabilities.moderation): the
// decision's deployments whose provider can moderate.
func (rt *runtime) moderationPlan(model string) (*executor.Plan, router.Decision, *apiError) {
	if model == "" {
		for i := range rt.cfg.Deployments {
			if d := &rt.cfg.Deployments[i]; d.Capabilities.Has(config.CapModeration) {
				model = d.Name
				break
			}
		}
		if model == "" {
			return nil, router.Decision{}, &apiError{status: http.StatusBadRequest, code: "no_capable_deployment", anthropicType: "invalid_request_error",
				message: "no deployment serves moderations (capabilities.moderation); name a model"}
		}
	}
	dec, err := rt.router.PlanFor(model, []string{config.CapModeration})
	if err != nil {
		return nil, dec, routeError(err)
	}
	p := &executor.Plan{Route: dec.Route, Targets: make([]executor.Target, 0, len(dec.Deployments))}
	for _, name := range dec.Deployments {
		if d, ok := rt.deployments[name]; ok {
			if _, ok := d.prov.(provider.Moderator); ok {
				p.Targets = append(p.Targets, d.target)
			}
		}
	}
	if len(p.Targets) == 0 {
		return nil, dec, &apiError{status: http.StatusBadRequest, code: "no_capable_deployment", anthropicType: "invalid_request_error",
			message: "route " + strconv.Quote(dec.Route) + " has no deployment whose provider serves moderations"}
	}
	return p, dec, nil
}
