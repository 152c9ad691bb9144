package gateway

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-gw/switchyard/internal/anthropicapi"
	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/tokens"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// HeaderTokenCount says where a count_tokens answer came from: "provider"
// (an Anthropic deployment of the route counted it) or "estimate" (the
// gateway's own estimate, when no deployment of the route can count or the
// one asked failed).
const HeaderTokenCount = "X-Switchyard-Token-Count"

// countTimeout bounds the provider's count when the deployment sets no
// timeout: counting is cheap, and an estimate is always at hand.
const countTimeout = 10 * time.Second

// ServeAnthropicCountTokens serves POST /v1/messages/count_tokens: the
// first deployment of the route whose provider can count (an Anthropic
// or a Bedrock one) counts the request; otherwise, or when that call
// fails, the answer is the gateway's estimate. Either way the answer is
// {"input_tokens": N} and costs nothing.
func (g *Gateway) ServeAnthropicCountTokens(w http.ResponseWriter, r *http.Request) {
	x, r := g.start(r, anthropicDialect, "switchyard.count_tokens")
	defer g.finish(r.Context(), x)
	rt, body, ok := g.authenticated(w, r, x)
	if !ok {
		return
	}
	req, err := anthropicapi.ParseCountTokens(body)
	if err != nil {
		g.failErr(w, x, err)
		return
	}
	req.Beta = anthropicBeta(r.Header)
	dec, err := rt.router.PlanFor(req.Model, nil, callerInfo(x.who))
	x.decision = dec
	if err != nil {
		g.fail(w, x, routeError(err))
		return
	}
	if !x.who.allows(dec.Route) {
		g.fail(w, x, routeNotAllowed(dec.Route))
		return
	}
	// Free, but it may call the provider through the shared upstream
	// account: it counts against the caller's request rate.
	if !g.admitFree(r.Context(), w, x, rt) {
		return
	}
	n, source := g.countFirst(r.Context(), x, rt, dec.Deployments, tokens.Input(req), func(d *deployment) func(context.Context) (int, error) {
		tc, ok := d.prov.(provider.TokenCounter)
		if !ok {
			return nil
		}
		return func(ctx context.Context) (int, error) { return tc.CountTokens(ctx, req) }
	})
	x.status = http.StatusOK
	g.setRouteHeaders(w, x)
	w.Header().Set(HeaderTokenCount, source)
	_ = wirejson.Write(w, http.StatusOK, []byte(`{"input_tokens":`+strconv.Itoa(n)+`}`))
}

// countFirst is a token count by the first of the deployments names whose
// provider can count (counter returns its count call, or nil when it
// cannot), within the deployment's timeout (at most countTimeout), and
// "provider"; or estimate and "estimate" when none can, or that one call
// fails: one provider's count is the answer, the route is not walked.
// The call is x's attempt (its headers, log line, usage record and
// metrics name the deployment that counted).
func (g *Gateway) countFirst(ctx context.Context, x *exchange, rt *runtime, names []string, estimate int, counter func(*deployment) func(context.Context) (int, error)) (int, string) {
	for _, name := range names {
		d, ok := rt.deployments[name]
		if !ok {
			continue
		}
		count := counter(d)
		if count == nil {
			continue
		}
		timeout := d.target.Timeout
		if timeout <= 0 || timeout > countTimeout {
			timeout = countTimeout
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		at := executor.Attempt{Deployment: name, Start: g.now()}
		n, err := count(cctx)
		at.Duration = g.now().Sub(at.Start)
		cancel()
		recordAttempt(ctx, x, at, http.StatusOK, err)
		if err == nil {
			return n, "provider"
		}
		g.log.Debug("token count: provider count failed; answering the estimate", "deployment", name, "err", err)
		break
	}
	return estimate, "estimate"
}

// anthropicBeta is the client's anthropic-beta header, its values joined
// (a client may send the header more than once).
func anthropicBeta(h http.Header) string {
	return strings.Join(h.Values("anthropic-beta"), ",")
}
