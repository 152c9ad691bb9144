package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/llm"
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
	ex, status := rt.explain(r.Context(), openAIDialect, req, router.Info{Tier: who.Tier, TenantID: who.TenantID, KeyID: who.KeyID, Headers: r.Header})
	// Recorded (a usage record at no cost, metrics) under no route: an
	// explanation is not a request of the route it explains, whose counts
	// it would inflate.
	x.decision = router.Decision{Reason: "explain"}
	x.status = status
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(x.status)
	_ = json.NewEncoder(w).Encode(ex)
}

// Explain is the routing decision for req, a chat request of dialect d
// (llm.DialectOpenAI or llm.DialectAnthropic), as a gateway serving cfg
// would make it for a caller of info, without calling any model or making
// any connection: `switchyard route explain`'s, the same as POST
// /v1/route/explain's. routed is false when serving would refuse the
// request (the explanation's error says why); err is set only when cfg
// cannot be built or d is not a chat dialect.
func Explain(ctx context.Context, cfg *config.Config, d llm.Dialect, req *llm.Request, info router.Info) (ex router.Explanation, routed bool, err error) {
	var dia *dialect
	switch d {
	case llm.DialectOpenAI:
		dia = openAIDialect
	case llm.DialectAnthropic:
		dia = anthropicDialect
	default:
		return ex, false, fmt.Errorf("gateway: explain: unsupported dialect %q", d)
	}
	rt, err := New(Options{}).build(cfg)
	if err != nil {
		return ex, false, err
	}
	defer func() {
		for _, t := range rt.transports {
			t.CloseIdleConnections()
		}
	}()
	ex, status := rt.explain(ctx, dia, req, info)
	return ex, status == http.StatusOK, nil
}

// explain is the decision for req, of dialect d, as serving it would make
// it (chat.go's serveChat): the router's plan less the deployments that
// could not take the request, each named in Skipped with why: one whose
// API does not serve what the request uses (llm.Request.RelayOnly), one
// whose translation cannot carry it (carryPlan), and one require_params (the route's, or the X-Switchyard-Require-Params
// header of info.Headers) would skip. status is what serving would
// answer: 200, or the refusal's, whose code and message are then in the
// explanation's error.
func (rt *runtime) explain(ctx context.Context, d *dialect, req *llm.Request, info router.Info) (router.Explanation, int) {
	dec, err := rt.router.Explain(ctx, req, info)
	if err != nil {
		return dec.Explain(err), routeError(err).status
	}
	p := rt.plan(dec)
	refused := rt.relayPlan(p, dec, d, req)
	dropped(&dec, p, func(string) string { return "does not serve " + req.RelayOnly })
	if refused == nil {
		var uncarried map[string]string
		uncarried, refused = rt.carryPlan(p, dec, d, req)
		dropped(&dec, p, func(name string) string { return "cannot carry " + uncarried[name] })
	}
	if refused == nil {
		_, refused = rt.requireParams(p, &dec, d, req, info.Headers)
		dropped(&dec, p, func(string) string { return "require_params" })
	}
	ex := dec.Explain(nil)
	if refused != nil {
		ex.Error = &router.ExplanationError{Code: refused.code, Message: refused.message}
		return ex, refused.status
	}
	return ex, http.StatusOK
}

// dropped moves the deployments of dec that p no longer has to dec's
// Skipped, with why each was dropped; a cascade's stages are left as they
// are (its refusal, if any, says which stage could not take the request).
func dropped(dec *router.Decision, p *executor.Plan, why func(name string) string) {
	if dec.Cascade != nil || len(p.Targets) >= len(dec.Deployments) {
		return
	}
	kept := make([]string, 0, len(p.Targets))
	for _, t := range p.Targets {
		kept = append(kept, t.Deployment)
	}
	for _, name := range dec.Deployments {
		if !slices.Contains(kept, name) {
			dec.Skipped = append(dec.Skipped, name+": "+why(name))
		}
	}
	dec.Deployments = kept
}
