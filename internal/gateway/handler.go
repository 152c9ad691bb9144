package gateway

import (
	"errors"
	"net/http"
	"sort"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/openaiapi"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/router"
	"github.com/switchyard-gw/switchyard/internal/tokens"
)

// Handler returns the API endpoints: OpenAI chat completions, embeddings and
// models, and Anthropic messages.
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", g.ServeOpenAIChat)
	mux.HandleFunc("POST /chat/completions", g.ServeOpenAIChat)
	mux.HandleFunc("POST /v1/messages", g.ServeAnthropicMessages)
	mux.HandleFunc("POST /v1/embeddings", g.ServeEmbeddings)
	mux.HandleFunc("POST /embeddings", g.ServeEmbeddings)
	mux.HandleFunc("GET /v1/models", g.ServeModels)
	mux.HandleFunc("GET /models", g.ServeModels)
	mux.HandleFunc("POST /v1/route/explain", g.ServeExplain)
	return mux
}

// ServeModels serves GET /v1/models: every route and deployment name a client
// may put in "model".
func (g *Gateway) ServeModels(w http.ResponseWriter, r *http.Request) {
	x, r := g.start(r, openAIDialect, "switchyard.models")
	defer g.finish(r.Context(), x)
	rt, _, ok := g.authenticated(w, r, x)
	if !ok {
		return
	}
	ids := make([]string, 0, len(rt.cfg.Routes)+len(rt.cfg.Deployments))
	for _, rr := range rt.cfg.Routes {
		ids = append(ids, rr.Name)
	}
	for _, d := range rt.cfg.Deployments {
		ids = append(ids, d.Name)
	}
	sort.Strings(ids)
	x.status = http.StatusOK
	_ = openaiapi.WriteModels(w, ids)
}

// ServeEmbeddings serves POST /v1/embeddings. It tries the deployments of the
// route's plan that can embed, in order, failing over on errors that are not
// the request's fault; there is no same-deployment retry here.
func (g *Gateway) ServeEmbeddings(w http.ResponseWriter, r *http.Request) {
	x, r := g.start(r, openAIDialect, "switchyard.embeddings")
	defer g.finish(r.Context(), x)
	rt, body, ok := g.authenticated(w, r, x)
	if !ok {
		return
	}
	req, err := openaiapi.ParseEmbeddings(body)
	if err != nil {
		g.failErr(w, x, err)
		return
	}
	names, dec, ae := rt.embeddingTargets(req.Model)
	x.decision = dec
	if ae != nil {
		g.fail(w, x, ae)
		return
	}
	input := tokens.FromBytes(req.InputBytes)
	cost := 0.0
	for _, name := range names {
		if c := rt.cost(name, llm.Usage{InputTokens: input}); c > cost {
			cost = c
		}
	}
	if !g.admit(w, r, x, rt, input, cost) {
		return
	}
	var lastErr error
	for _, name := range names {
		d := rt.deployments[name]
		emb, ok := d.prov.(provider.Embedder)
		if !ok {
			continue
		}
		if x.trace == nil {
			x.trace = &executor.Trace{}
		} else {
			x.trace.Fallbacks++
		}
		x.trace.Deployment = name
		x.trace.Attempts = append(x.trace.Attempts, executor.Attempt{Deployment: name})
		resp, err := emb.Embed(r.Context(), req)
		if err != nil {
			last := &x.trace.Attempts[len(x.trace.Attempts)-1]
			last.Err, last.Kind = err, provider.KindOf(err)
			lastErr = err
			if k := provider.KindOf(err); !k.Fallbackable() || errors.Is(err, r.Context().Err()) && r.Context().Err() != nil {
				break
			}
			continue
		}
		x.model = resp.Model
		x.usage = resp.Usage
		if x.usage.InputTokens == 0 {
			x.usage = llm.Usage{InputTokens: input, Estimated: true}
		}
		x.status = http.StatusOK
		g.setRouteHeaders(w, x)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(resp.Raw)
		return
	}
	if lastErr == nil {
		lastErr = &provider.Error{Kind: provider.KindUnavailable, Message: "no embedding deployment could be reached"}
	}
	if x.trace != nil {
		x.trace.Deployment = ""
	}
	g.setRouteHeaders(w, x)
	g.failErr(w, x, lastErr)
}

func (rt *runtime) embeddingTargets(model string) ([]string, router.Decision, *apiError) {
	dec, err := rt.router.PlanFor(model, []string{config.CapEmbeddings})
	if err != nil {
		return nil, dec, routeError(err)
	}
	return dec.Deployments, dec, nil
}
