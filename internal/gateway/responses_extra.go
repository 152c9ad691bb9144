package gateway

import (
	"context"
	"net/http"
	"strconv"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/openaiapi"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/tokens"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// Two more endpoints of the Responses API that only OpenAI's own API
// serves: a compaction (POST /v1/responses/compact), a model call that
// makes a long conversation short (the user's messages and one opaque
// compaction item, which later requests send back as input), and an input
// token count (POST /v1/responses/input_tokens), free.

// relaysResponses reports whether a deployment's provider serves the
// Responses API's own endpoints (an OpenAI deployment, not Azure's URL
// layout).
func relaysResponses(p provider.Provider) bool {
	r, ok := p.(relayer)
	_, compacts := p.(provider.Compactor)
	return ok && compacts && r.Relays(llm.DialectOpenAIResponses)
}

// ServeResponsesCompact serves POST /v1/responses/compact (serveRelayed):
// to the route's OpenAI deployments, with retries and fail-over, priced
// by the usage it reports like any call.
func (g *Gateway) ServeResponsesCompact(w http.ResponseWriter, r *http.Request) {
	g.serveRelayed(w, r, "switchyard.responses.compact", func(body []byte, _ string) (relayed, error) {
		model, err := compactModel(body)
		if err != nil {
			return relayed{}, err
		}
		req := &llm.RelayRequest{Model: model, Raw: body}
		rl := relayed{
			model: model, inputTokens: tokens.FromBytes(len(body)),
			capability: config.CapChat, what: "the Responses API's compaction", serves: relaysResponses, pinWithin: true,
			call: calling(req, g.exec.CompactResponse, func(resp *llm.RelayResponse) relayedAnswer {
				return relayedAnswer{raw: resp.Raw, usage: resp.Usage}
			}),
		}
		prev, conv := gjson.GetBytes(body, "previous_response_id").Str, ""
		parsed, perr := openaiapi.ParseResponses(body)
		if perr == nil {
			conv = parsed.Conversation
		}
		if prev != "" || conv != "" {
			// A compaction answers with the chain's messages: only the
			// tenant's own, and at the deployment that made it. A response
			// the gateway translated is kept here, not upstream: its
			// conversation is sent as the input instead.
			rl.pin = func(ctx context.Context, tenant string) (string, *apiError) {
				if prev != "" {
					if perr == nil {
						expanded, ok, ae := g.continueTranslated(ctx, tenant, parsed)
						if ae != nil {
							return "", ae
						}
						if ok {
							req.Raw = expanded
							return model, nil
						}
					}
					dep, ae := g.continuedAt(ctx, &Principal{TenantID: tenant}, prev)
					if ae != nil || dep != "" {
						return dep, ae
					}
				}
				if conv != "" {
					d, _, ae := g.conversationAt(ctx, g.rt.Load(), tenant, conv)
					if ae != nil {
						return "", ae
					}
					return d.cfg.Name, nil
				}
				return model, nil
			}
		}
		return rl, nil
	})
}

// compactModel checks a compaction's body: a JSON object naming its
// model.
func compactModel(body []byte) (string, error) {
	if msg := objectProblem(body); msg != "" {
		return "", badField("", msg)
	}
	m := gjson.GetBytes(body, "model")
	if m.Type != gjson.String || m.Str == "" {
		return "", badField("model", "missing required parameter: 'model'")
	}
	if p := gjson.GetBytes(body, "previous_response_id"); p.Exists() && p.Type != gjson.String && p.Type != gjson.Null {
		return "", badField("previous_response_id", "previous_response_id must be a string")
	}
	return m.Str, nil
}

// ServeResponsesInputTokens serves POST /v1/responses/input_tokens: the
// first OpenAI deployment of the route (of the first one in config order
// when the request names no model) counts the request; otherwise, or when
// that call fails, the answer is the gateway's estimate, as for
// Anthropic's count_tokens (HeaderTokenCount says which). A follow-up of
// a response the gateway translated is counted with its kept
// conversation.
func (g *Gateway) ServeResponsesInputTokens(w http.ResponseWriter, r *http.Request) {
	x, r := g.start(r, openAIDialect, "switchyard.responses.input_tokens")
	defer g.finish(r.Context(), x)
	rt, body, ok := g.authenticated(w, r, x)
	if !ok {
		return
	}
	model := gjson.GetBytes(body, "model").Str
	parsed := body
	if model == "" && wirejson.Valid(body) && gjson.ParseBytes(body).IsObject() {
		// The model is optional here: parse it as a request of any.
		parsed, _ = sjson.SetBytes(body, "model", "-")
	}
	req, err := openaiapi.ParseResponses(parsed)
	if err != nil {
		g.failErr(w, x, err)
		return
	}
	continued, ok, e := g.continueTranslated(r.Context(), x.who.TenantID, req)
	if e != nil {
		g.fail(w, x, e)
		return
	}
	if ok {
		if req, err = openaiapi.ParseResponses(continued); err != nil {
			g.failErr(w, x, err)
			return
		}
		body = continued
	}
	if _, e := g.continuedAt(r.Context(), x.who, req.Continues); e != nil {
		g.fail(w, x, e)
		return
	}
	var names []string
	switch {
	case req.Conversation != "":
		// Only the tenant's own conversation, counted where it is kept.
		d, _, ae := g.conversationAt(r.Context(), rt, x.who.TenantID, req.Conversation)
		if ae != nil {
			g.fail(w, x, ae)
			return
		}
		x.decision.Route, names = d.cfg.Name, []string{d.cfg.Name}
	case model == "":
		if d, _, ok := rt.conversationHolder(); ok {
			x.decision.Route, names = d.cfg.Name, []string{d.cfg.Name}
		}
	default:
		dec, err := rt.router.PlanFor(model, nil, callerInfo(x.who))
		x.decision = dec
		if err != nil {
			g.fail(w, x, routeError(err))
			return
		}
		names = dec.Deployments
	}
	if x.decision.Route != "" && !x.who.allows(x.decision.Route) {
		g.fail(w, x, routeNotAllowed(x.decision.Route))
		return
	}
	if !g.admitFree(r.Context(), w, x, rt) { // as count_tokens
		return
	}
	n, source := g.countFirst(r.Context(), x, rt, names, tokens.Input(req), func(d *deployment) func(context.Context) (int, error) {
		c, ok := d.prov.(provider.Compactor)
		if !ok || !relaysResponses(d.prov) {
			return nil
		}
		rr := &llm.RelayRequest{Model: model, Raw: body}
		return func(ctx context.Context) (int, error) { return c.CountResponseTokens(ctx, rr) }
	})
	x.status = http.StatusOK
	g.setRouteHeaders(w, x)
	w.Header().Set(HeaderTokenCount, source)
	_ = wirejson.Write(w, http.StatusOK, []byte(`{"object":"response.input_tokens","input_tokens":`+strconv.Itoa(n)+`}`))
}
