package gateway

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchyard-gw/switchyard/internal/anthropicapi"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/httpmux"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/openaiapi"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/provider/anthropic"
	"github.com/switchyard-gw/switchyard/internal/provider/bedrock"
	"github.com/switchyard-gw/switchyard/internal/provider/openai"
	"github.com/switchyard-gw/switchyard/internal/reqid"
	"github.com/switchyard-gw/switchyard/internal/router"
	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/tokens"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// Response headers that say how a request was served.
const (
	HeaderRoute      = "X-Switchyard-Route"
	HeaderPolicy     = "X-Switchyard-Policy"
	HeaderReason     = "X-Switchyard-Reason"
	HeaderDeployment = "X-Switchyard-Deployment"
	HeaderAttempts   = "X-Switchyard-Attempts"
	HeaderArm        = "X-Switchyard-Arm"
	// HeaderDropped lists the request's top-level fields that the
	// answering deployment never saw, because the request was translated
	// for its API and they have no counterpart there.
	HeaderDropped = "X-Switchyard-Dropped-Params"
	// HeaderCost is what the request cost in USD, as its usage record
	// says: a header on a complete answer, a trailer after a stream.
	HeaderCost = "X-Switchyard-Cost"
)

// exchange is the state of one client request as it moves through the steps;
// it becomes the usage record and the log line at the end.
type exchange struct {
	start    time.Time
	dialect  *dialect
	req      *llm.Request
	decision router.Decision
	trace    *executor.Trace
	status   int
	errKind  string
	usage    llm.Usage
	model    string
	partial  bool
	// uncacheable is set for an answer served although it is not the
	// answer to keep (a cascade's earlier stage, served because every
	// later stage failed): the response cache does not store it.
	uncacheable bool
	// streamed is set for a relayed answer sent as a stream (streamed
	// audio), which has no chat request to say so.
	streamed bool
	ttft     time.Duration
	who      *Principal
	adm      Admission
	rt       *runtime   // the config the request runs on
	side     *sideCalls // classifier and judge calls made for it
	ownSide  sideCalls  // side's storage when start made x: no allocation of its own
	// priorCost and priorUsage are what earlier cascade stages cost;
	// priorCost also holds what a relayed answer costs beyond its tokens
	// (images, seconds of audio).
	priorCost  float64
	priorUsage llm.Usage
	span       trace.Span
	cacheHit   bool   // answered from the response cache
	respID     string // the upstream's id of a relayed answer (Responses API affinity)
	// remember, when set, keeps where a relayed answer was made (the
	// Responses API's affinity, a stored completion) once its id is
	// known, before the client sees the answer and can name it.
	remember func(context.Context, *exchange)
	// requireParams: only a deployment that gets every field of the
	// request may answer it (see runtime.requireParams).
	requireParams bool
	// operation names the upstream calls in traces (OpenTelemetry's
	// gen_ai.operation.name): chat, embeddings, generate_content...
	operation string
	// reqCtx is the request's context, for failErr to tell a request
	// ended by a shutdown (the client is waiting) from one its client left.
	reqCtx context.Context
}

// ServeOpenAIChat serves POST /v1/chat/completions.
func (g *Gateway) ServeOpenAIChat(w http.ResponseWriter, r *http.Request) {
	g.serveChat(w, r, openAIDialect)
}

// ServeOpenAIResponses serves POST /v1/responses, the OpenAI Responses
// API: relayed to the route's OpenAI deployments, translated for the
// others when the request allows.
func (g *Gateway) ServeOpenAIResponses(w http.ResponseWriter, r *http.Request) {
	g.serveChat(w, r, openAIResponsesDialect)
}

// ServeOpenAICompletions serves POST /v1/completions, OpenAI's legacy
// Completions API, relayed to the route's deployments that serve it.
func (g *Gateway) ServeOpenAICompletions(w http.ResponseWriter, r *http.Request) {
	g.serveChat(w, r, openAICompletionsDialect)
}

// ServeAnthropicMessages serves POST /v1/messages.
func (g *Gateway) ServeAnthropicMessages(w http.ResponseWriter, r *http.Request) {
	g.serveChat(w, r, anthropicDialect)
}

// start opens the exchange of one API request and its span; the caller
// defers finish on the returned request's context.
func (g *Gateway) start(r *http.Request, d *dialect, spanName string) (*exchange, *http.Request) {
	x := &exchange{start: g.now(), dialect: d, operation: operationOf(spanName)}
	x.side = &x.ownSide
	ctx, span := g.tracer.Start(r.Context(), spanName, trace.WithSpanKind(trace.SpanKindServer))
	x.span = span
	ctx = context.WithValue(ctx, sideCallsKey{}, x.side)
	x.reqCtx = ctx
	return x, r.WithContext(ctx)
}

// operationOf is the GenAI operation of a request's upstream calls, by
// its span's name: OpenTelemetry's names where one fits (chat,
// embeddings; generate_content for images, audio and video), else the
// endpoint's (moderations, realtime).
func operationOf(spanName string) string {
	switch op := strings.TrimPrefix(spanName, "switchyard."); op {
	case "images", "speech", "transcriptions", "translations", "videos":
		return "generate_content"
	case "chat", "embeddings", "moderations", "realtime":
		return op
	}
	return "chat"
}

// authenticatedObject is authenticated for a request about an object
// kept upstream (a stored completion, response, conversation or video, or
// a list of them): it costs nothing, but calls the shared upstream
// account, so it is admitted against the caller's request rate too.
func (g *Gateway) authenticatedObject(w http.ResponseWriter, r *http.Request, x *exchange) (rt *runtime, body []byte, ok bool) {
	if rt, body, ok = g.authenticated(w, r, x); ok {
		ok = g.admitFree(r.Context(), w, x, rt)
	}
	return rt, body, ok
}

// authenticated runs the steps every API request shares after start: the
// config in force, authentication and the body. On failure it has answered
// the client and returns ok false.
func (g *Gateway) authenticated(w http.ResponseWriter, r *http.Request, x *exchange) (rt *runtime, body []byte, ok bool) {
	rt = g.rt.Load()
	if rt == nil {
		g.fail(w, x, &apiError{status: http.StatusServiceUnavailable, code: "not_ready", anthropicType: "api_error", message: "the gateway has no configuration loaded"})
		return nil, nil, false
	}
	x.rt = rt
	who, ok := r.Context().Value(principalKey{}).(*Principal)
	if !ok {
		var err error
		if who, err = rt.guard.Authenticate(r.Context(), r.Header); err != nil {
			if d := (*Denied)(nil); errors.As(err, &d) && d.Who != nil {
				x.who = d.Who // a known key refused: its tenant's record
			}
			g.deny(r.Context(), w, x, err)
			return nil, nil, false
		}
	}
	x.who = who
	limit := rt.cfg.Server.MaxBodyBytes
	if _, ok := r.Context().Value(continuedKey{}).(string); ok {
		// A WebSocket-mode turn carrying the conversation its connection
		// kept: the client sent only its new input (within the limit,
		// as the connection's frames are), the rest is the kept part.
		if limit <= 0 {
			limit = config.DefaultMaxBodyBytes
		}
		limit += maxWSKeptBytes
	}
	body, e := readBody(w, r, limit)
	if e != nil {
		g.fail(w, x, e)
		return nil, nil, false
	}
	return rt, body, true
}

func routeNotAllowed(route string) *apiError {
	return &apiError{status: http.StatusForbidden, code: "route_not_allowed", anthropicType: "permission_error", message: "this API key may not use model " + strconv.Quote(route)}
}

// admit checks the caller may use the decided route and reserves the
// request's tokens and cost against its limits and budgets.
func (g *Gateway) admit(w http.ResponseWriter, r *http.Request, x *exchange, rt *runtime, tokens int, cost float64) bool {
	if !x.who.allows(x.decision.Route) {
		g.fail(w, x, routeNotAllowed(x.decision.Route))
		return false
	}
	adm, err := rt.guard.Admit(r.Context(), x.who, x.decision.Route, tokens, cost)
	if err != nil {
		g.deny(r.Context(), w, x, err)
		return false
	}
	x.adm = adm
	return true
}

func (g *Gateway) serveChat(w http.ResponseWriter, r *http.Request, d *dialect) {
	x, r := g.start(r, d, "switchyard.chat")
	defer g.finish(r.Context(), x)
	rt, body, ok := g.authenticated(w, r, x)
	if !ok {
		return
	}
	who := x.who
	req, err := d.parse(body)
	if err != nil {
		g.failErr(w, x, err)
		return
	}
	if d == anthropicDialect {
		req.Beta = anthropicBeta(r.Header)
	}
	continuedAt := "" // the deployment that made the response req continues
	if d == openAIResponsesDialect {
		// A follow-up of a response the gateway translated carries the
		// kept conversation instead of naming it.
		continued, ok, e := g.continueTranslated(r.Context(), who.TenantID, req)
		if e != nil {
			g.fail(w, x, e)
			return
		}
		if ok {
			prev := req.Continues
			if req, err = d.parse(continued); err != nil {
				g.failErr(w, x, err)
				return
			}
			req.PreviousResponseID = prev
			body = continued
		}
		if continuedAt, e = g.continuedAt(r.Context(), who, req.Continues); e != nil {
			g.fail(w, x, e)
			return
		}
		if prev, ok := r.Context().Value(continuedKey{}).(string); ok && req.PreviousResponseID == "" {
			req.PreviousResponseID = prev // a WebSocket-mode turn the connection expanded
		}
	}
	x.req = req
	dec, err := rt.router.Plan(r.Context(), req, router.Info{Tier: who.Tier, TenantID: who.TenantID, KeyID: who.KeyID, Headers: r.Header})
	x.decision = dec
	if err != nil {
		if dec.Route != "" {
			g.setRouteHeaders(w, x) // which route refused, and why (its skips)
		}
		e := routeError(err)
		if nc := (*router.NoCapableError)(nil); errors.As(err, &nc) && nc.Window == 0 && nc.Missing != "" {
			e.param = x.dialect.capabilityParams[nc.Missing]
		}
		g.fail(w, x, e)
		return
	}
	plan := rt.plan(dec)
	if e := rt.relayPlan(plan, dec, d, req); e != nil {
		g.setRouteHeaders(w, x)
		g.fail(w, x, e)
		return
	}
	if d == openAIResponsesDialect {
		if err := jsonObjectPlan(plan, dec.Route, req); err != nil {
			g.setRouteHeaders(w, x)
			g.failErr(w, x, err)
			return
		}
	}
	if _, e := rt.carryPlan(plan, dec, d, req); e != nil {
		g.setRouteHeaders(w, x)
		g.fail(w, x, e)
		return
	}
	required, e := rt.requireParams(plan, &x.decision, d, req, r.Header)
	if e != nil {
		g.setRouteHeaders(w, x)
		g.fail(w, x, e)
		return
	}
	x.requireParams = required
	if d == openAIDialect && req.Stored {
		x.remember = g.rememberCompletion
	}
	if d == openAIResponsesDialect {
		if !g.pinConversation(w, r.Context(), x, plan) {
			return
		}
		pinContinued(x, plan, continuedAt)
		x.remember = g.rememberResponse
	}
	input := dec.InputTokens
	if input <= 0 {
		input = tokens.Input(req)
	}
	reserve, cost := rt.worstCase(dec, input, req)
	if !g.admit(w, r, x, rt, reserve, cost) {
		return
	}
	w, save, hit := g.cached(w, r, x, rt, d.cacheEndpoint, body, req.Stream)
	if hit {
		return
	}
	if save != nil {
		defer save()
	}
	if dec.Cascade != nil {
		g.cascade(w, r, x, rt, input)
		return
	}
	if req.Stream {
		g.stream(w, r, x, rt, plan, input)
		return
	}
	resp, trace, err := g.exec.Chat(r.Context(), plan, req, input)
	x.trace = trace
	g.setRouteHeaders(w, x)
	if err != nil {
		g.failErr(w, x, shutdownOr(r.Context(), err))
		return
	}
	g.respond(w, r, x, resp, input)
}

// respond writes a complete answer and accounts its usage.
func (g *Gateway) respond(w http.ResponseWriter, r *http.Request, x *exchange, resp *llm.Response, input int) {
	x.model = resp.Model
	if resp.Dialect == x.dialect.name {
		x.setRespID(r.Context(), resp.ID) // a relayed answer's: a translated one is not kept upstream
	}
	x.usage = usageOf(resp, input)
	if x.usage.Estimated && resp.Dialect != x.dialect.name {
		// A translated answer shows the client what it is billed, as a
		// stream's closing usage does, not zeros; a relayed one goes
		// out as the provider wrote it.
		resp.Usage = x.usage
	}
	x.status = http.StatusOK
	_, cost := x.accounted()
	w.Header().Set(HeaderCost, costHeader(cost))
	if x.dialect == openAIResponsesDialect && resp.Dialect != x.dialect.name {
		// The gateway names a translated response, and keeps it under
		// that name (see keepTranslated).
		for i := range resp.ToolCalls {
			if resp.ToolCalls[i].ID == "" {
				resp.ToolCalls[i].ID = "call_" + rand.Text()
			}
		}
		resp.ID = "resp_" + rand.Text()
		// Encoded here, once, so that what the gateway keeps is what the
		// client got.
		object, history, err := openaiapi.EncodeTranslatedResponse(x.req, resp)
		if err != nil {
			g.fail(w, x, errInternal)
			return
		}
		// Kept before the client has it, so a follow-up sent the moment
		// it arrives finds it.
		g.keepTranslated(r.Context(), x, resp.ID, object, history)
		if err := wirejson.Write(w, http.StatusOK, object); err != nil {
			g.log.Debug("write response", "request_id", reqid.From(r.Context()), "err", err)
		}
		return
	}
	if x.dialect == openAIResponsesDialect && resp.Dialect == x.dialect.name {
		resp.Raw = openaiapi.NamePreviousResponse(resp.Raw, x.req.PreviousResponseID)
	}
	if err := x.dialect.writeResponse(w, resp); err != nil {
		g.log.Debug("write response", "request_id", reqid.From(r.Context()), "err", err)
	}
}

// usageOf is the response's usage, or an estimate flagged as such when the
// provider reported none.
func usageOf(resp *llm.Response, input int) llm.Usage {
	u := resp.Usage
	if u.InputTokens == 0 && u.OutputTokens == 0 {
		out := len(resp.Text) + toolBytes(resp.ToolCalls)
		for _, t := range resp.Thinking {
			out += len(t.Text) + len(t.Redacted)
		}
		u = llm.Usage{InputTokens: input, OutputTokens: tokens.FromBytes(out), Estimated: true}
	}
	return u
}

// setRespID records the upstream's id of a relayed answer and, when the
// request asks for it, remembers where it was made: before the answer
// reaches the client, so a follow-up sent the moment it arrives finds it.
func (x *exchange) setRespID(ctx context.Context, id string) {
	x.respID = id
	if x.remember != nil {
		x.remember(ctx, x)
	}
}

// headerSafe drops bytes that may not appear in a header value.
func headerSafe(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			b := []byte(s)
			for j := range b {
				if b[j] < ' ' && b[j] != '\t' || b[j] == 0x7f {
					b[j] = ' '
				}
			}
			return string(b)
		}
	}
	return s
}

// stream serves a streaming request: the executor returns a committed stream
// (fail-over happens before the first content byte); afterwards a failure is
// written in-band and the stream ends without a success terminator.
func (g *Gateway) stream(w http.ResponseWriter, r *http.Request, x *exchange, rt *runtime, plan *executor.Plan, input int) {
	ctx := r.Context()
	st, trace, err := g.exec.Stream(ctx, plan, x.req, input)
	x.trace = trace
	g.setRouteHeaders(w, x)
	if err != nil {
		g.failErr(w, x, shutdownOr(ctx, err))
		return
	}
	defer st.Close()
	if trace != nil {
		x.ttft = trace.TTFT
	}
	x.status = http.StatusOK
	// The cost is known at the end: it follows the stream as a trailer.
	w.Header().Set("Trailer", HeaderCost)
	defer func() {
		_, cost := x.accounted()
		w.Header().Set(HeaderCost, costHeader(cost))
	}()
	sw := x.dialect.newStream(w, x.req, st.Dialect())
	if c, ok := sw.(interface {
		OnTranslated(func(id string, object, history []byte))
	}); ok {
		// Kept before the terminal event goes out, so a follow-up sent the
		// moment the client has it finds it.
		c.OnTranslated(func(id string, object, history []byte) { g.keepTranslated(r.Context(), x, id, object, history) })
	}
	if p, ok := st.(llm.Passthrough); ok && st.Dialect() == x.dialect.name {
		p.SetPassthrough() // frames are relayed verbatim: decode less
	}
	// Events already in memory go out in one write: flush only when the
	// next event would wait for the network.
	buffered, batch := st.(llm.Buffering)
	if batch {
		sw.Batch()
	}
	defer sw.Flush()
	var outBytes int
	// finalUsage: a usage report at or after the finish reason, the
	// provider's final count even if the client then went away.
	var sawUsage, finished, finalUsage bool
	for {
		ev, err := st.Next()
		if err == io.EOF {
			x.closingUsage(sw, input, outBytes, &sawUsage)
			if err := sw.Finish(); err != nil {
				x.partial = true
			}
			break
		}
		if err != nil {
			if err = shutdownOr(ctx, err); x.streamFailed(ctx, err) {
				sw.WriteError(err)
			}
			break
		}
		if ev.Model != "" {
			x.model = ev.Model
		}
		if ev.Start && x.respID == "" && st.Dialect() == x.dialect.name {
			x.setRespID(r.Context(), ev.ID)
		}
		outBytes += len(ev.Text)
		if t := ev.Thinking; t != nil {
			outBytes += len(t.Text) + len(t.Redacted)
		}
		for _, tc := range ev.ToolCalls {
			outBytes += len(tc.Name) + len(tc.Arguments)
		}
		finished = finished || ev.FinishReason != ""
		if ev.Usage != nil {
			sawUsage = true
			finalUsage = finalUsage || finished
			x.usage.Merge(*ev.Usage)
		}
		if ev.Done {
			x.closingUsage(sw, input, outBytes, &sawUsage)
		}
		err = sw.WriteEvent(ev)
		if err == nil && batch && !buffered.Buffered() {
			err = sw.Flush()
		}
		if err != nil {
			// The client went away, or the shutdown closed its connection;
			// the deferred Close cancels upstream.
			x.writeFailed(ctx)
			break
		}
	}

	if !sawUsage || x.partial && !finalUsage {
		x.estimateUsage(input, outBytes)
	} else if x.usage.InputTokens == 0 {
		// The provider counted the output but not the input (an
		// Anthropic-compatible message_start without usage): the input
		// is the estimate, as for a relayed answer, never 0 as if
		// counted.
		x.usage.InputTokens, x.usage.Estimated = input, true
	}
}

// estimateUsage bills a stream without usage, or cut before its final
// usage (Anthropic's message_start reports 1 output token), from what was
// sent (input tokens, outBytes of output), and says so: no count it
// carries is the provider's final one.
func (x *exchange) estimateUsage(input, outBytes int) {
	x.usage.Estimated = true
	if x.usage.InputTokens == 0 {
		x.usage.InputTokens = input
	}
	est := tokens.FromBytes(outBytes)
	if limit := x.outputLimit(); limit > 0 {
		// The byte estimate runs over what the deployment may have
		// written (a tokenizer packs more bytes a token): no more is
		// billed than the request allowed, which its reservation held.
		est = min(est, limit)
	}
	if est > x.usage.OutputTokens {
		x.usage.OutputTokens = est
	}
}

// outputLimit is the most output tokens the answering deployment may have
// written for the request, all its choices and a translated effort's
// thinking included (what worstCase reserves), 0 when unknown.
func (x *exchange) outputLimit() int {
	if x.rt == nil || x.req == nil || x.trace == nil {
		return 0
	}
	d, ok := x.rt.deployments[x.trace.Deployment]
	if !ok {
		return 0
	}
	return max(x.req.Choices, x.req.Generations, 1) * thinkingCap(d, x.req, outputCap(d, x.req.MaxTokens))
}

// closingUsage gives a stream that reported no usage (*saw false) the
// estimate, and one that reported no input count the input estimate, so that the client's closing usage (OpenAI's usage chunk,
// Anthropic's message_delta, response.completed) is what is billed, never
// zeros.
func (x *exchange) closingUsage(sw streamWriter, input, outBytes int, saw *bool) {
	if *saw {
		if x.usage.InputTokens == 0 && input > 0 {
			// Output counted, input not: the closing usage shows the
			// input estimate that is billed, not 0.
			x.usage.InputTokens, x.usage.Estimated = input, true
			u := x.usage
			_ = sw.WriteEvent(llm.Event{Usage: &u})
		}
		return
	}
	x.estimateUsage(input, outBytes)
	u := x.usage
	_ = sw.WriteEvent(llm.Event{Usage: &u})
	*saw = true
}

// errShutdownStream is what a request ended by a shutdown (ErrShuttingDown)
// tells its client.
var errShutdownStream = &provider.Error{Kind: provider.KindUnavailable, Message: ErrShuttingDown.Error() + "; send the request again"}

// shutdownOr is errShutdownStream when ctx was ended by a shutdown, else
// err.
func shutdownOr(ctx context.Context, err error) error {
	if shuttingDown(ctx) {
		return errShutdownStream
	}
	return err
}

// shuttingDown reports whether ctx was ended by a shutdown
// (ErrShuttingDown), not by its client leaving.
func shuttingDown(ctx context.Context) bool {
	return ctx.Err() != nil && errors.Is(context.Cause(ctx), ErrShuttingDown)
}

// streamFailed records that a committed stream failed with err, and
// reports whether the client is still there to be told.
func (x *exchange) streamFailed(ctx context.Context, err error) bool {
	x.partial = true
	x.errKind = provider.KindOf(err).String()
	if err == errShutdownStream || shuttingDown(ctx) {
		x.errKind = "shutdown"
		return true
	}
	if ctx.Err() != nil {
		x.errKind = "client_cancelled"
		return false
	}
	return true
}

// writeFailed records that a committed answer could not be written to
// its client: partial, and client_cancelled, or shutdown when the
// shutdown deadline had ended the request (ctx) and the server then closed
// the connection of a client slow to read, which had not left.
func (x *exchange) writeFailed(ctx context.Context) {
	x.partial = true
	x.errKind = "client_cancelled"
	if shuttingDown(ctx) {
		x.errKind = "shutdown"
	}
}

// deny answers a Guard's refusal in the client's dialect.
func (g *Gateway) deny(ctx context.Context, w http.ResponseWriter, x *exchange, err error) {
	var d *Denied
	if !errors.As(err, &d) {
		g.log.Error("guard failed", "request_id", reqid.From(ctx), "err", err)
		d = &Denied{Status: http.StatusServiceUnavailable, Code: "auth_unavailable", Type: "api_error", Message: "the gateway could not check the API key"}
	}
	d.SetRetryAfter(w.Header())
	g.fail(w, x, &apiError{status: d.Status, code: d.Code, anthropicType: d.Type, message: d.Message})
}

// worstCase is the most tokens req can use and the most it can cost on
// the decision's plan, from the input estimate (once, or per choice for a
// deployment of another API, which makes a call per choice) and, per
// answer (a legacy Completions best_of makes more answers than it
// returns), max_tokens
// (the deployment's output limit when max_tokens is unset): on the deployment where that is most, or on a cascade the sum
// over its stages and their judges, since a cascade pays every stage it
// calls. Admission reserves both, the tokens against TPM and the cost
// against budgets, and settle refunds what the call did not use.
func (rt *runtime) worstCase(dec router.Decision, input int, req *llm.Request) (reserve int, cost float64) {
	n := max(req.Choices, req.Generations, 1)
	if dec.Cascade != nil {
		return rt.cascadeWorstCase(dec.Cascade, input, n, req)
	}
	for _, name := range dec.Deployments {
		d, ok := rt.deployments[name]
		if !ok {
			continue
		}
		out := thinkingCap(d, req, outputCap(d, req.MaxTokens))
		// OpenAI's API bills the input once for all the choices (and
		// legacy Completions' prompts are in input already); another
		// API's deployment makes a call, with the whole input, per choice.
		calls := 1
		if d.prov.Dialect() != llm.DialectOpenAI {
			calls = n
		}
		reserve = max(reserve, calls*input+n*out)
		cost = max(cost, rt.cost(name, llm.Usage{InputTokens: calls * input, OutputTokens: n * out}))
	}
	return reserve, cost
}

// thinkingCap is out, the most output tokens one answer of d can have,
// with the thinking budget a translation for a Claude reasoning
// deployment adds to an OpenAI client's max_tokens for its reasoning
// effort (provider.Thinking), which is billed as output. An Anthropic
// client's max_tokens already holds its thinking.
func thinkingCap(d *deployment, req *llm.Request, out int) int {
	if req.Effort == "" || !d.cfg.Capabilities.Has(config.CapReasoning) || d.prov.Dialect() == llm.DialectOpenAI {
		return out
	}
	return provider.ThinkingReserve(req.Effort, out, d.cfg.MaxOutputTokens)
}

// outputCap is the most output tokens one answer of d can have for a
// request asking for maxTokens (0: unset): what the client allowed, which
// goes upstream as it is (a max_tokens above the deployment's
// max_output_tokens is not cut, so it is not reserved cut either), else
// the deployment's max_output_tokens.
func outputCap(d *deployment, maxTokens int) int {
	if maxTokens <= 0 {
		return d.cfg.MaxOutputTokens
	}
	return maxTokens
}

// readBody reads the request body up to limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *apiError) {
	if limit <= 0 {
		limit = config.DefaultMaxBodyBytes
	}
	body, failure := httpmux.ReadBody(w, r, limit)
	switch failure {
	case httpmux.BodyRead:
		return body, nil
	case httpmux.BodyTooLarge:
		return nil, tooLarge(limit)
	case httpmux.BodyTimeout:
		return nil, errBodyTimeout
	case httpmux.BodyGone:
		// Nobody to answer: recorded as a client that left, not a
		// malformed body.
		return nil, errClientGoneUploading
	}
	return nil, &apiError{status: http.StatusBadRequest, code: "invalid_body", anthropicType: "invalid_request_error", message: "could not read the request body"}
}

var errClientGoneUploading = &apiError{status: statusClientClosed, code: "client_cancelled", anthropicType: "invalid_request_error",
	message: "the client closed the connection before its request body was in"}

var errBodyTimeout = &apiError{status: http.StatusRequestTimeout, code: "request_timeout", anthropicType: "timeout_error",
	message: "the request body was not received within the server's read timeout"}

func tooLarge(limit int64) *apiError {
	return &apiError{status: http.StatusRequestEntityTooLarge, code: "request_too_large", anthropicType: "request_too_large",
		message: "request body exceeds " + strconv.FormatInt(limit, 10) + " bytes"}
}

// errInternal answers what should not happen (an encoder of our own
// failing), with nothing of the cause.
var errInternal = &apiError{status: http.StatusInternalServerError, code: "internal_error", anthropicType: "api_error", message: "internal error"}

func routeError(err error) *apiError {
	var nc *router.NoCapableError
	switch {
	case errors.As(err, &nc) && nc.Window > 0: // explain's: serving answers the executor's
		return &apiError{status: http.StatusBadRequest, code: "context_length_exceeded", anthropicType: "invalid_request_error", message: nc.WindowMessage()}
	case errors.As(err, &nc):
		return &apiError{status: http.StatusBadRequest, code: "no_capable_deployment", anthropicType: "invalid_request_error", message: nc.Error()[len("router: "):]}
	case errors.Is(err, router.ErrUnknownModel):
		return &apiError{status: http.StatusNotFound, code: "model_not_found", anthropicType: "not_found_error", message: err.Error()[len("router: "):]}
	}
	return errInternal
}

// relayer is a provider that relays dialects it does not translate (the
// OpenAI adapter: the Responses and legacy Completions APIs).
type relayer interface{ Relays(llm.Dialect) bool }

var _ relayer = (*openai.Client)(nil)

// relayPlan keeps, when req can only be relayed (it uses what only
// OpenAI's own API serves), the plan's targets that relay d, in order, or
// says why none can serve it.
func (rt *runtime) relayPlan(p *executor.Plan, dec router.Decision, d *dialect, req *llm.Request) *apiError {
	if req.RelayOnly != "" {
		kept := p.Targets[:0]
		for _, t := range p.Targets {
			if r, ok := t.Provider.(relayer); (ok && r.Relays(d.name)) || t.Provider.Dialect() == d.name {
				kept = append(kept, t)
			}
		}
		p.Targets = kept
		if len(kept) == 0 {
			relayers := cmp.Or(d.relayers, "OpenAI deployments")
			return &apiError{status: http.StatusBadRequest, code: "no_capable_deployment", anthropicType: "invalid_request_error", param: req.RelayOnlyParam,
				message: "model " + strconv.Quote(dec.Route) + " has no deployment that serves this " + d.title + " request: it uses " + req.RelayOnly +
					", which only " + relayers + " serve (a request translated for another provider cannot carry it)"}
		}
	}
	switch {
	case dec.Cascade != nil && d.noCascade:
		// A cascade compares and replays answers in the canonical form,
		// which a relayed dialect is never translated to.
		return &apiError{status: http.StatusBadRequest, code: "unsupported_parameter", anthropicType: "invalid_request_error",
			message: "model " + strconv.Quote(dec.Route) + " is a cascade route, which does not serve the " + d.title}
	}
	return nil
}

// HeaderRequireParams, "true" or "false", says whether a request goes only
// to deployments that get every field of it; it overrides the route's
// require_params.
const HeaderRequireParams = "X-Switchyard-Require-Params"

// requireParams keeps, when the request requires its params (its header,
// else its route's require_params), the plan's targets that get every
// top-level field of req: those of its own API, and those whose
// translation leaves nothing out. It notes the targets it skipped in dec's
// reason, or says why none can serve the request; and it reports whether
// the request requires its params.
func (rt *runtime) requireParams(p *executor.Plan, dec *router.Decision, d *dialect, req *llm.Request, h http.Header) (bool, *apiError) {
	on := false
	if rc, ok := rt.cfg.Route(dec.Route); ok {
		on = rc.RequireParams
	}
	switch v := h.Get(HeaderRequireParams); v {
	case "":
	case "true", "false":
		on = v == "true"
	default:
		return false, &apiError{status: http.StatusBadRequest, code: "invalid_request_error", anthropicType: "invalid_request_error",
			message: HeaderRequireParams + " must be true or false, not " + strconv.Quote(truncate(v, 40))}
	}
	if !on || d.untranslated == nil {
		return on, nil
	}
	var skipped []string // "deployment (fields it would lose)"
	loses := func(name string) bool {
		l := rt.lost(d, req, name)
		if len(l) > 0 {
			// As many as X-Switchyard-Dropped-Params names: the list
			// goes into X-Switchyard-Reason, and a body of thousands of
			// unknown fields must not make a header no client reads
			// (found by audit AF).
			skipped = append(skipped, name+" ("+droppedHeader(l)+")")
		}
		return len(l) > 0
	}
	if dec.Cascade != nil {
		// A cascade may answer from any stage: each must take it whole.
		for _, name := range dec.Cascade.Stages {
			loses(name)
		}
		if len(skipped) == 0 {
			return true, nil
		}
		dec.Reason += "; require_params: refused " + strings.Join(skipped, "; ")
		return true, &apiError{status: http.StatusBadRequest, code: "unsupported_parameter", anthropicType: "invalid_request_error",
			message: "model " + strconv.Quote(dec.Route) + " is a cascade route with stages that would not get every field of this request, which requires them: " +
				strings.Join(skipped, "; ")}
	}
	p.Targets = slices.DeleteFunc(p.Targets, func(t executor.Target) bool { return loses(t.Deployment) })
	if len(skipped) == 0 {
		return true, nil
	}
	// Named before an empty plan's refusal too: the reason of a 400 goes
	// to its header, usage record and log line (found by audit AV, AV2).
	dec.Reason += "; require_params: skipped " + strings.Join(skipped, "; ")
	if len(p.Targets) == 0 {
		return true, &apiError{status: http.StatusBadRequest, code: "unsupported_parameter", anthropicType: "invalid_request_error",
			message: "model " + strconv.Quote(dec.Route) + " has no deployment that gets every field of this request, which requires them (" +
				HeaderRequireParams + " or the route's require_params): " + strings.Join(skipped, "; ") + " would not get them"}
	}
	rearm(p, dec)
	return true, nil
}

// rearm moves the request of a weighted route whose arm has no deployment
// left in p to the first arm that has one, and says so in the reason, as
// the router does for an arm that lacks a capability: an A/B test then
// counts it for the arm that serves it (found by audit AV, AV3).
func rearm(p *executor.Plan, dec *router.Decision) {
	if dec.Arm == "" || dec.ArmOf == nil {
		return
	}
	for _, t := range p.Targets {
		if dec.ArmOf[t.Deployment] == dec.Arm {
			return
		}
	}
	for _, t := range p.Targets {
		if arm := dec.ArmOf[t.Deployment]; arm != "" {
			dec.Reason += "; " + dec.ArmRoute + ": arm " + dec.Arm + " cannot serve this request; arm " + arm
			dec.Arm = arm
			return
		}
	}
}

// lost lists the plainly named top-level fields of req that deployment
// name would not get: none when it speaks or relays d, or is unknown.
func (rt *runtime) lost(d *dialect, req *llm.Request, name string) []string {
	dep, ok := rt.deployments[name]
	if !ok || d.untranslated == nil || dep.prov.Dialect() == d.name {
		return nil
	}
	if r, ok := dep.prov.(relayer); ok && r.Relays(d.name) {
		return nil // relayed as the client sent it (the Responses and Completions APIs to OpenAI)
	}
	names := d.untranslated(req.Raw, dep.cfg.Capabilities.Has(config.CapReasoning))
	if dep.prov.Dialect() == llm.DialectBedrock {
		names = bedrockLost(req.Raw, names)
	}
	carried := tierCarried(req, dep.prov.Dialect())
	return slices.DeleteFunc(names, func(n string) bool { return !reqid.Plain(n) || n == "service_tier" && carried })
}

// tierCarried reports whether a deployment speaking target gets the
// request's service_tier in its own terms: Bedrock's serviceTier
// (default, flex, priority) or Anthropic's service_tier (auto,
// standard_only), from an OpenAI client's tier or an Anthropic client's.
func tierCarried(req *llm.Request, target llm.Dialect) bool {
	tier := gjson.GetBytes(req.Raw, "service_tier").Str
	if req.Dialect == llm.DialectAnthropic {
		tier = anthropicapi.ServiceTier(tier)
	}
	switch target {
	case llm.DialectBedrock:
		return bedrock.ServiceTier(tier) != ""
	case llm.DialectAnthropic:
		return anthropic.ServiceTier(tier) != ""
	}
	return false
}

// bedrockLost is lost (the fields any translation leaves out, top-level
// or inside one, as output_config.effort) with those that the other APIs'
// translations carry but Bedrock's Converse API has no counterpart for
// (who the user is, parallel tool calls), in body order.
func bedrockLost(raw []byte, lost []string) []string {
	var out []string
	gjson.ParseBytes(raw).ForEach(func(k, v gjson.Result) bool {
		named := false
		for _, n := range lost {
			if n == k.Str || strings.HasPrefix(n, k.Str) && len(n) > len(k.Str) && n[len(k.Str)] == '.' {
				out = append(out, n)
				named = true
			}
		}
		switch {
		case named, v.Type == gjson.Null:
		case k.Str == "user", k.Str == "metadata", k.Str == "parallel_tool_calls":
			out = append(out, k.Str)
		}
		return true
	})
	return out
}

// plan turns a router decision into executor targets.
func (rt *runtime) plan(dec router.Decision) *executor.Plan {
	p := &executor.Plan{Route: dec.Route, Targets: make([]executor.Target, 0, len(dec.Deployments))}
	for _, name := range dec.Deployments {
		if d, ok := rt.deployments[name]; ok {
			p.Targets = append(p.Targets, d.target)
		}
	}
	return p
}

func (g *Gateway) setRouteHeaders(w http.ResponseWriter, x *exchange) {
	// One backing array for every value instead of one per Header.Set (the
	// header names are canonical constants).
	vals := make([]string, 0, 7)
	h := w.Header()
	set := func(k, v string) {
		vals = append(vals, v)
		h[k] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	if x.knownRoute() {
		set(HeaderRoute, x.decision.Route)
	}
	if x.decision.Policy != "" {
		set(HeaderPolicy, x.decision.Policy)
	}
	if x.decision.Reason != "" {
		set(HeaderReason, headerSafe(x.decision.Reason))
	}
	if x.decision.Arm != "" {
		set(HeaderArm, x.decision.Arm)
	}
	if x.trace != nil {
		if x.trace.Deployment != "" {
			set(HeaderDeployment, x.trace.Deployment)
			if dropped := x.dropped(); dropped != "" {
				set(HeaderDropped, dropped)
			}
		}
		set(HeaderAttempts, strconv.Itoa(attempts(x.trace)))
	}
}

// knownRoute reports whether the request's route names a configured route
// or deployment: a model the client made up is the client's text, which a
// response header must not echo (it may be megabytes long or hold bytes no
// HTTP client parses).
func (x *exchange) knownRoute() bool {
	name := x.decision.Route
	if name == "" || x.rt == nil {
		return false
	}
	if _, ok := x.rt.deployments[name]; ok {
		return true
	}
	_, ok := x.rt.cfg.Route(name)
	return ok
}

// dropped names, comma-separated, the request's top-level fields that the
// answering deployment did not get because the request was translated for
// it; "" when it was relayed, or nothing was left out.
func (x *exchange) dropped() string {
	if x.cacheHit || x.req == nil || x.rt == nil || x.dialect.untranslated == nil {
		return ""
	}
	return droppedHeader(x.rt.lost(x.dialect, x.req, x.trace.Deployment))
}

// droppedHeader is HeaderDropped's value for the names of dropped fields.
// The names are the client's: only plain ones go into a header, and no
// more than a few.
func droppedHeader(names []string) string {
	// names is the caller's own (a fresh list): it is filtered in place.
	names = slices.DeleteFunc(names, func(n string) bool { return !reqid.Plain(n) })
	if len(names) > maxDroppedNames {
		names = append(names[:maxDroppedNames], "...")
	}
	return strings.Join(names, ", ")
}

const maxDroppedNames = 16

// attempts counts upstream calls (skipped targets are not calls).
func attempts(t *executor.Trace) int {
	if t == nil {
		return 0
	}
	n := 0
	for _, a := range t.Attempts {
		if a.Skipped == "" {
			n++
		}
	}
	return n
}

func (g *Gateway) fail(w http.ResponseWriter, x *exchange, e *apiError) {
	x.status = e.status
	x.errKind = e.code
	if e.status == statusClientClosed {
		return // nobody is listening
	}
	x.dialect.writeError(w, e)
}

// statusClientClosed is what a request the client abandoned is logged and
// recorded with (nginx's 499: no response was sent).
const statusClientClosed = 499

func (g *Gateway) failErr(w http.ResponseWriter, x *exchange, err error) {
	if x.reqCtx != nil {
		// Every endpoint's upstream call ended by the shutdown deadline
		// tells its client so, not only the chat paths.
		err = shutdownOr(x.reqCtx, err)
	}
	x.status = x.dialect.statusOf(err)
	x.errKind = provider.KindOf(err).String()
	switch bre := (*llm.BadRequestError)(nil); {
	case errors.As(err, &bre):
		x.errKind = openaiapi.CodeInvalidRequest // what the client was told
	case err == errShutdownStream:
		x.errKind = "shutdown"
	}
	var pe *provider.Error
	if errors.As(err, &pe) && pe.RetryAfter > 0 {
		provider.SetRetryWait(w.Header(), pe.RetryAfter)
	}
	switch provider.KindOf(err) {
	case provider.KindAuth, provider.KindQuota, provider.KindNotFound:
		// A 502/503 that a retry cannot cure: the gateway's credential,
		// account or upstream model is wrong, on every deployment tried.
		w.Header().Set(headerShouldRetry, "false")
	}
	if errors.Is(err, context.Canceled) {
		x.status = statusClientClosed
		x.errKind = "client_cancelled"
		return // nobody is listening
	}
	x.dialect.writeErrorFor(w, err)
}

func toolBytes(calls []llm.ToolCall) int {
	n := 0
	for _, c := range calls {
		n += len(c.Name) + len(c.Arguments)
	}
	return n
}

// Recorder receives one usage record per client request; the usage ledger
// implements it. Enqueue must not block.
type Recorder interface {
	Enqueue(rec store.UsageRecord)
}
