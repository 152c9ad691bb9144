package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/openaiapi"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/provider/bedrock"
	"github.com/switchyard-gw/switchyard/internal/router"
	"github.com/switchyard-gw/switchyard/internal/sse"
	"github.com/switchyard-gw/switchyard/internal/tokens"
)

// relayed is a request whose answer is the provider's own body
// (embeddings, moderations, images, audio), as serveRelayed needs it.
type relayed struct {
	// model is what the request names; inputTokens its input's estimate.
	model       string
	inputTokens int
	// windowTokens, when set, is what must fit a deployment's context
	// window instead of inputTokens: an embeddings batch's largest input,
	// since an embedding model's window bounds each input, not their sum.
	windowTokens int
	// capability is what a deployment needs (config.Cap*), and serves
	// whether its provider can answer; what names the request in errors.
	capability string
	serves     func(provider.Provider) bool
	what       string
	// prefer, when set, picks among the deployments with the capability
	// for a request that names no model (by their model).
	prefer func(model string) bool
	// cacheEndpoint keys the response cache; "" keeps the answers out of
	// it (a generated image is not the answer to a repeated request).
	cacheEndpoint string
	// units is how many priced units (images) the request asks for, each
	// at the deployment's price.per_image; seconds how many seconds of
	// video, each at price.per_second, or the most seconds of audio an
	// upload to transcribe holds, at price.per_minute (for the budget's
	// reservation).
	units, seconds int
	// outputTokens is the most output tokens the answer can report (n
	// images of a gpt-image model at their size and quality), reserved
	// against TPM and, at output_per_mtok, budgets, on deployments priced
	// by tokens (see tokenPriced).
	outputTokens int
	// pin, when set, names the one deployment the request must go to for
	// the caller's tenant (a remix goes where its video is), or refuses.
	pin func(ctx context.Context, tenant string) (string, *apiError)
	// pinWithin: the pinned deployment narrows the plan of the model the
	// client named (a route its key may use, which admission checks), as a
	// Responses follow-up's does (pinContinued), instead of replacing it.
	pinWithin bool
	// call sends the request along the plan.
	call func(ctx context.Context, p *executor.Plan, inputTokens int) (relayedAnswer, *executor.Trace, error)
	// stream, when set, sends it instead, for an answer that comes as a
	// stream of events (relayStream); serves then says whether a provider
	// can stream it.
	stream func(ctx context.Context, p *executor.Plan, inputTokens int) (llm.Stream, *executor.Trace, error)
}

// calling is a relayed request's call: do (an executor method) sends req
// along the plan, and answer reads what serveRelayed needs of its answer
// (which is nil when do failed).
func calling[R, A any](req R, do func(context.Context, *executor.Plan, R, int) (A, *executor.Trace, error), answer func(A) relayedAnswer) func(context.Context, *executor.Plan, int) (relayedAnswer, *executor.Trace, error) {
	return func(ctx context.Context, p *executor.Plan, input int) (relayedAnswer, *executor.Trace, error) {
		resp, trace, err := do(ctx, p, req, input)
		if err != nil {
			return relayedAnswer{}, trace, err
		}
		return answer(resp), trace, nil
	}
}

// streaming is a relayed request's stream: do (an executor method) sends
// req along the plan for an answer that comes as events.
func streaming[R any](req R, do func(context.Context, *executor.Plan, R, int) (llm.Stream, *executor.Trace, error)) func(context.Context, *executor.Plan, int) (llm.Stream, *executor.Trace, error) {
	return func(ctx context.Context, p *executor.Plan, input int) (llm.Stream, *executor.Trace, error) {
		return do(ctx, p, req, input)
	}
}

// relayedAnswer is what serveRelayed needs of a relayed request's answer.
type relayedAnswer struct {
	model   string    // "": the deployment's model
	usage   llm.Usage // zero input tokens: estimated from the request
	raw     []byte
	dropped []string // fields a translating adapter could not send
	units   int      // priced units in the answer (images)
	seconds float64  // audio transcribed, priced per minute; video made, per second
	// keptID is the id of an object the answer made that stays at the
	// deployment (a video job), remembered under keepFor(tenant, id) for
	// keepTTL so later requests for it reach that deployment.
	keptID  string
	keepFor func(tenant, id string) string
	keepTTL time.Duration
	// contentType is the answer's ("": application/json).
	contentType string
}

// serveRelayed serves a relayed request through the executor, like chat:
// parse reads the body (of that content type) into the request; the
// deployments of the route's plan that can answer it are tried in order,
// with retries, fail-over, circuit breaking, timeouts and the overall
// deadline; admission, the response cache and accounting as for any
// call. A request that names no model (optional in OpenAI's API for
// moderations, images and audio) goes to the first deployment with the
// capability.
func (g *Gateway) serveRelayed(w http.ResponseWriter, r *http.Request, span string, parse func(body []byte, contentType string) (relayed, error)) {
	x, r := g.start(r, openAIDialect, span)
	defer g.finish(r.Context(), x)
	rt, body, ok := g.authenticated(w, r, x)
	if !ok {
		return
	}
	req, err := parse(body, r.Header.Get("Content-Type"))
	if err != nil {
		g.failErr(w, x, err)
		return
	}
	pinned := ""
	if req.pin != nil {
		dep, ae := req.pin(r.Context(), x.who.TenantID)
		if ae != nil {
			g.fail(w, x, ae)
			return
		}
		if req.pinWithin && req.model != "" {
			pinned = dep
		} else {
			req.model = dep
		}
	}
	if req.model == "" {
		if req.model = rt.firstWith(req.capability, req.prefer); req.model == "" {
			g.fail(w, x, &apiError{status: http.StatusBadRequest, code: "no_capable_deployment", anthropicType: "invalid_request_error",
				message: "no deployment serves " + req.what + " (capabilities." + req.capability + "); name a model"})
			return
		}
	}
	plan, ae := rt.passthroughPlan(x, req)
	if ae != nil {
		g.fail(w, x, ae)
		return
	}
	pinContinued(x, plan, pinned)
	input := req.inputTokens
	reserve, cost := rt.relayedWorstCase(plan, req)
	if !g.admit(w, r, x, rt, reserve, cost) {
		return
	}
	if req.cacheEndpoint != "" {
		cw, save, hit := g.cached(w, r, x, rt, req.cacheEndpoint, body, req.stream != nil)
		if hit {
			return
		}
		if save != nil {
			defer save()
		}
		w = cw
	}
	if req.stream != nil {
		g.relayStream(w, r, x, rt, req, plan, input)
		return
	}
	resp, trace, err := req.call(r.Context(), plan, req.window())
	x.trace = trace
	g.setRouteHeaders(w, x)
	if err != nil {
		g.failErr(w, x, err)
		return
	}
	x.model = resp.model
	if d, ok := rt.deployments[x.trace.Deployment]; ok && x.model == "" {
		x.model = d.cfg.Model // an answer that names no model (images)
	}
	x.usage = resp.usage
	if x.usage.InputTokens == 0 {
		x.usage.InputTokens, x.usage.Estimated = input, true
	}
	// What the deployment charges beyond tokens counts with the request's
	// other costs.
	x.priorCost += rt.unitCost(x.trace.Deployment, resp.units, resp.seconds)
	x.status = http.StatusOK
	if resp.keptID != "" && validResponseID(resp.keptID) {
		g.keep(r.Context(), resp.keepFor(x.who.TenantID, resp.keptID), x.trace.Deployment, resp.keepTTL)
	}
	_, spent := x.accounted()
	w.Header().Set(HeaderCost, costHeader(spent))
	if dropped := droppedHeader(resp.dropped); dropped != "" {
		w.Header().Set(HeaderDropped, dropped)
	}
	if resp.contentType == "" {
		resp.contentType = "application/json"
	}
	w.Header().Set("Content-Type", resp.contentType)
	_, _ = w.Write(resp.raw)
}

// relayStream serves a relayed request whose answer is a stream of events
// (streamed audio and images). The executor commits to a deployment at its first
// content event, failing over before that as for chat. Each event's frame
// is relayed as it came, flushed when the next one would wait for the
// network. The usage of the terminal event is the call's, with the
// request's priced units (images) once it completes; a stream that fails
// or ends before it is a partial answer: the client gets OpenAI's in-band
// error frame (its SDK raises it), and the call is billed from what was
// sent, marked estimated.
func (g *Gateway) relayStream(w http.ResponseWriter, r *http.Request, x *exchange, rt *runtime, req relayed, plan *executor.Plan, input int) {
	st, trace, err := req.stream(r.Context(), plan, req.window())
	x.trace = trace
	g.setRouteHeaders(w, x)
	if err != nil {
		g.failErr(w, x, err)
		return
	}
	defer st.Close()
	x.ttft, x.streamed = trace.TTFT, true
	x.status = http.StatusOK
	if d, ok := rt.deployments[trace.Deployment]; ok {
		x.model = d.cfg.Model
	}
	var outBytes int
	var seconds float64
	var done bool
	// The cost is known at the end: it follows the stream as a trailer.
	w.Header().Set("Trailer", HeaderCost)
	defer func() {
		if !done || x.usage == (llm.Usage{}) {
			x.usage.Estimated = true
			x.usage.InputTokens = max(x.usage.InputTokens, input)
			x.usage.OutputTokens = max(x.usage.OutputTokens, tokens.FromBytes(outBytes))
		}
		units := 0
		if done {
			units = req.units // a stream's images are priced when it completes
		}
		x.priorCost += rt.unitCost(trace.Deployment, units, seconds)
		_, spent := x.accounted()
		w.Header().Set(HeaderCost, costHeader(spent))
	}()
	out := sse.NewResponseWriter(w, "gateway")
	buffered, batch := st.(llm.Buffering)
	if batch {
		out.Batch()
	}
	defer out.Flush()
	for {
		ev, err := st.Next()
		if errors.Is(err, io.EOF) && done {
			return
		}
		if errors.Is(err, io.EOF) {
			err = &provider.Error{Kind: provider.KindUnavailable, Message: "stream ended before its terminal event", Err: provider.ErrStreamTruncated}
		}
		if err != nil {
			if x.streamFailed(r.Context(), err) {
				out.Fail(func(w http.ResponseWriter) { openaiapi.WriteErrorFor(w, err) }, func() []byte { return openaiapi.AppendStreamError(nil, err) })
			}
			return
		}
		outBytes += len(ev.Text)
		if ev.Usage != nil {
			x.usage.Merge(*ev.Usage)
		}
		seconds += ev.Seconds
		done = done || ev.Done
		_, err = out.Write(ev.Raw)
		if err == nil && batch && !buffered.Buffered() {
			err = out.Flush()
		}
		if err != nil {
			// The client went away, or the shutdown closed its connection;
			// the deferred Close cancels upstream.
			x.writeFailed(r.Context())
			return
		}
	}
}

// window is the tokens of req that must fit a deployment's context window.
func (req *relayed) window() int {
	if req.windowTokens > 0 {
		return req.windowTokens
	}
	return req.inputTokens
}

// relayedWorstCase is the most tokens req can use and the most it can
// cost on any deployment of the plan: its input, the output tokens it may
// report where the deployment is priced by tokens, and its units and
// seconds at the deployment's prices. Admission reserves both, the tokens
// against TPM and the cost against budgets.
func (rt *runtime) relayedWorstCase(plan *executor.Plan, req relayed) (reserve int, cost float64) {
	for _, t := range plan.Targets {
		u := llm.Usage{InputTokens: req.inputTokens}
		if rt.tokenPriced(t.Deployment) {
			u.OutputTokens = req.outputTokens
		}
		reserve = max(reserve, u.InputTokens+u.OutputTokens)
		cost = max(cost, rt.cost(t.Deployment, u)+rt.unitCost(t.Deployment, req.units, float64(req.seconds)))
	}
	return reserve, cost
}

// tokenPriced reports whether a deployment's answers are priced by the
// tokens they report (gpt-image models), not only per image (DALL-E, whose
// answers report no tokens: price.per_image set, output_per_mtok not).
func (rt *runtime) tokenPriced(deployment string) bool {
	d, ok := rt.deployments[deployment]
	return ok && (d.cfg.Price.PerImage == 0 || d.cfg.Price.OutputPerMTok > 0)
}

// unitCost is what a deployment charges beyond tokens: for images, and
// for seconds of audio (price.per_minute) or of video (price.per_second).
func (rt *runtime) unitCost(deployment string, images int, seconds float64) float64 {
	if d, ok := rt.deployments[deployment]; ok {
		p := d.cfg.Price
		return float64(images)*p.PerImage + seconds/60*p.PerMinute + seconds*p.PerSecond
	}
	return 0
}

// firstWith is the first deployment in config order with the capability,
// or "". With prefer, the first of them whose model it accepts comes
// first, when there is one.
func (rt *runtime) firstWith(capability string, prefer func(model string) bool) string {
	first := ""
	for i := range rt.cfg.Deployments {
		d := &rt.cfg.Deployments[i]
		if !d.Capabilities.Has(capability) {
			continue
		}
		if prefer == nil || prefer(d.Model) {
			return d.Name
		}
		if first == "" {
			first = d.Name
		}
	}
	return first
}

// callerInfo is what routing knows of the caller of a request planned
// without features (PlanFor): its tenant's and tier's route entries apply.
func callerInfo(who *Principal) router.Info {
	if who == nil {
		return router.Info{}
	}
	return router.Info{Tier: who.Tier, TenantID: who.TenantID, KeyID: who.KeyID}
}

// passthroughPlan is the executor plan for req, with its routing decision in
// x: the decision's deployments whose provider serves it.
func (rt *runtime) passthroughPlan(x *exchange, req relayed) (*executor.Plan, *apiError) {
	dec, err := rt.router.PlanFor(req.model, []string{req.capability}, callerInfo(x.who))
	x.decision = dec
	if err != nil {
		return nil, routeError(err)
	}
	p := &executor.Plan{Route: dec.Route, Targets: make([]executor.Target, 0, len(dec.Deployments))}
	for _, name := range dec.Deployments {
		if d, ok := rt.deployments[name]; ok && req.serves(d.prov) {
			p.Targets = append(p.Targets, d.target)
		}
	}
	if len(p.Targets) == 0 {
		return nil, &apiError{status: http.StatusBadRequest, code: "no_capable_deployment", anthropicType: "invalid_request_error",
			message: "route " + strconv.Quote(dec.Route) + " has no deployment whose provider serves " + req.what}
	}
	return p, nil
}

// textEmbedder is an embedder whose models may embed text only, not token
// ids (Bedrock's).
type textEmbedder interface{ EmbedsTextOnly() bool }

var _ textEmbedder = (*bedrock.Client)(nil)

// ServeEmbeddings serves POST /v1/embeddings (serveRelayed), to the
// deployments with capabilities.embeddings (for an input of token ids,
// those that take them).
func (g *Gateway) ServeEmbeddings(w http.ResponseWriter, r *http.Request) {
	g.serveRelayed(w, r, "switchyard.embeddings", func(body []byte, _ string) (relayed, error) {
		req, in, err := openaiapi.ParseEmbeddingsInput(body)
		if err != nil {
			return relayed{}, err
		}
		what, serves := "embeddings", func(p provider.Provider) bool { _, ok := p.(provider.Embedder); return ok }
		if in.TokenIDs {
			// Only the deployments that take token ids serve it.
			what, serves = "embeddings of token ids (Bedrock's embedding models take text, not token ids)", func(p provider.Provider) bool {
				_, ok := p.(provider.Embedder)
				t, text := p.(textEmbedder)
				return ok && !(text && t.EmbedsTextOnly())
			}
		}
		return relayed{
			model: req.Model, inputTokens: tokens.FromBytes(req.InputBytes), windowTokens: tokens.FromBytes(in.LargestBytes),
			capability: config.CapEmbeddings, what: what, cacheEndpoint: cacheOpenAIEmbeddings,
			serves: serves,
			call: calling(req, g.exec.Embed, func(resp *llm.EmbedResponse) relayedAnswer {
				return relayedAnswer{model: resp.Model, usage: resp.Usage, raw: resp.Raw, dropped: resp.Dropped}
			}),
		}, nil
	})
}
