package gateway

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/switchyard-gw/switchyard/internal/openaiapi"
	"github.com/switchyard-gw/switchyard/internal/router"
)

// ServeExplain serves POST /v1/route/explain: the body is an OpenAI chat
// request; the answer is the routing decision as JSON (router.Explanation)
// with its reasons, made without calling any model. A request that cannot
// be routed gets 404 (unknown model) or 400 (no capable deployment) with
// the same JSON and its error field set.
func (g *Gateway) ServeExplain(w http.ResponseWriter, r *http.Request) {
	x, r := g.start(r, openAIDialect, "switchyard.explain")
	defer g.finish(r.Context(), x)
	rt, body, ok := g.authenticated(w, r, x)
	if !ok {
		return
	}
	req, err := openaiapi.ParseChat(body)
	if err != nil {
		g.failErr(w, x, err)
		return
	}
	who := x.who
	if !who.allows(req.Model) {
		x.decision.Reason = "explain"
		g.fail(w, x, routeNotAllowed(req.Model))
		return
	}
	dec, err := rt.router.Explain(r.Context(), req, router.Info{Tier: who.Tier, TenantID: who.TenantID, KeyID: who.KeyID, Headers: r.Header})
	// Recorded (a usage record at no cost, metrics) under no route: an
	// explanation is not a request of the route it explains, whose counts
	// it would inflate.
	x.decision = router.Decision{Reason: "explain"}
	x.status = http.StatusOK
	if err != nil {
		x.status = routeError(err).status
	}
	var refused *apiError
	if err == nil {
		// The deployments require_params would skip, as serving would.
		p := rt.plan(dec)
		_, refused = rt.requireParams(p, &dec, openAIDialect, req, r.Header)
		if dec.Cascade == nil && len(p.Targets) < len(dec.Deployments) {
			kept := make([]string, 0, len(p.Targets))
			for _, t := range p.Targets {
				kept = append(kept, t.Deployment)
			}
			for _, name := range dec.Deployments {
				if !slices.Contains(kept, name) {
					dec.Skipped = append(dec.Skipped, name+": require_params")
				}
			}
			dec.Deployments = kept
		}
	}
	ex := dec.Explain(err)
	if refused != nil {
		x.status = refused.status
		ex.Error = &router.ExplanationError{Code: refused.code, Message: refused.message}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(x.status)
	_ = json.NewEncoder(w).Encode(ex)
}
