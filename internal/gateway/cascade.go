package gateway

import (
	"net/http"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/router"
	"github.com/switchyard-gw/switchyard/internal/tokens"
)

// cascade serves a cascade route: each stage is called non-streaming, its
// answer checked, and the first that passes (or the last stage's) is the
// answer. A streaming client gets the chosen answer replayed as a stream, so
// an answer that fails its check never reaches it. The usage record carries
// the cost of every stage and why each escalation happened.
func (g *Gateway) cascade(w http.ResponseWriter, r *http.Request, x *exchange, rt *runtime, input int) {
	c := x.decision.Cascade
	ctx := r.Context()
	var whys []string
	total := &executor.Trace{}
	// The last answer that failed its check: served when every later
	// stage fails, rather than a 503 for a request that has an answer.
	var kept *llm.Response
	keptStage := ""
	// escalate counts the kept answer as an escalated stage's, paid for
	// and not served.
	escalate := func() {
		if kept != nil {
			u := usageOf(kept, input)
			x.priorCost += rt.cost(keptStage, u)
			x.priorUsage = x.priorUsage.Add(u)
			kept = nil
		}
	}
	// A stage whose circuit is open is skipped, as a fallback route skips
	// an open target, rather than called (and waited for) on every
	// request; when every stage that could take the request is open and
	// nothing was called, the first open one is probed anyway, as the
	// executor does for a whole plan (found by audit AV, AV1).
	firstOpen, probe := -1, -1
	var lastErr error // the last stage call's failure
	for i := 0; i < len(c.Stages); i++ {
		stage := c.Stages[i]
		d, ok := rt.deployments[stage]
		if !ok {
			continue
		}
		plan := &executor.Plan{Route: x.decision.Route, Targets: []executor.Target{d.target}, SkipOpen: i != probe}
		resp, trace, err := g.exec.Chat(ctx, plan, x.req, input)
		if trace != nil {
			total.Attempts = append(total.Attempts, trace.Attempts...)
			total.Deployment = trace.Deployment
			total.TTFT = trace.TTFT
		}
		last := i == len(c.Stages)-1
		if err != nil {
			open := attempts(trace) == 0 && skippedOpen(trace)
			if open {
				whys = append(whys, stage+": circuit open, skipped")
				if firstOpen < 0 {
					firstOpen = i
				}
			} else {
				// The kind only: an upstream's message can carry what
				// clients must not see (a masked key, an internal URL).
				whys = append(whys, stage+": "+provider.KindOf(err).String())
				if attempts(trace) > 0 {
					lastErr = err
				}
			}
			if last && kept != nil && ctx.Err() == nil {
				break
			}
			if last && probe < 0 && firstOpen >= 0 && attempts(total) == 0 && ctx.Err() == nil {
				probe = firstOpen
				whys = append(whys, "every stage open: probing "+c.Stages[probe])
				i = probe - 1
				continue
			}
			if last || ctx.Err() != nil {
				if open && lastErr != nil {
					err = lastErr // what the stages called answered, not the skip
				}
				escalate()
				x.trace = total
				x.decision.Reason = joinReason(x.decision.Reason, whys)
				g.setRouteHeaders(w, x)
				g.failErr(w, x, err)
				return
			}
			if !open {
				total.Fallbacks++
			}
			continue
		}
		// The last stage's answer is returned whatever a check says, so it
		// is not checked (a judge check would be a paid call for nothing).
		pass, why := last, ""
		if !last {
			pass, why = c.Check(ctx, i, x.req, resp)
		}
		if !pass {
			escalate()
			whys = append(whys, stage+" escalated: "+why)
			kept, keptStage = resp, stage
			total.Fallbacks++
			continue
		}
		escalate()
		x.trace = total
		x.decision.Reason = joinReason(x.decision.Reason, whys)
		g.setRouteHeaders(w, x)
		if x.req.Stream {
			g.replay(w, x, resp, input)
			return
		}
		g.respond(w, r, x, resp, input)
		return
	}
	if kept != nil && ctx.Err() == nil {
		// Every later stage failed: the kept answer is the answer,
		// counted as such, not as an escalated stage's.
		total.Deployment = keptStage
		x.trace = total
		x.uncacheable = true // failed its check; the stage after it may be back soon
		x.decision.Reason = joinReason(x.decision.Reason, append(whys, "answered by "+keptStage+", the last stage that answered"))
		g.setRouteHeaders(w, x)
		if x.req.Stream {
			g.replay(w, x, kept, input)
			return
		}
		g.respond(w, r, x, kept, input)
		return
	}
	escalate()
	x.trace = total
	g.setRouteHeaders(w, x)
	g.fail(w, x, &apiError{status: http.StatusServiceUnavailable, code: "no_capable_deployment", anthropicType: "overloaded_error", message: "no cascade stage could be reached"})
}

// skippedOpen reports whether the executor skipped a target of t for its
// open circuit.
func skippedOpen(t *executor.Trace) bool {
	if t == nil {
		return false
	}
	for _, a := range t.Attempts {
		if a.Skipped == executor.SkipCircuitOpen {
			return true
		}
	}
	return false
}

// judgeFraming is what a judge call adds to the question and the answer
// beyond its prompt ("Question:", "Answer:" and the messages' overhead), in
// tokens, rounded up.
const judgeFraming = 16

// judgeMaxTokens is the judge call's max_tokens (router's runJudge asks
// for a score, a number).
const judgeMaxTokens = 8

// cascadeWorstCase is worstCase for a cascade: every stage may be called,
// each with the request's input and up to n answers of its output cap,
// (with the thinking budget a translated reasoning effort adds, as
// worstCase has), and every stage but the last may have each judge of the
// route's checks read the question and its answer; all of it is charged
// to the request.
func (rt *runtime) cascadeWorstCase(c *router.Cascade, input, n int, req *llm.Request) (reserve int, cost float64) {
	var judges []*config.Judge
	for i := range rt.cfg.Routes {
		if rt.cfg.Routes[i].Name != c.Route {
			continue
		}
		for _, ch := range rt.cfg.Routes[i].Checks {
			if ch.Judge != nil {
				judges = append(judges, ch.Judge)
			}
		}
	}
	for i, stage := range c.Stages {
		d, ok := rt.deployments[stage]
		if !ok {
			continue
		}
		out := thinkingCap(d, req, outputCap(d, req.MaxTokens))
		reserve += input + n*out
		cost += float64(n) * rt.cost(stage, llm.Usage{InputTokens: input, OutputTokens: out})
		if i == len(c.Stages)-1 {
			break // the last stage's answer is not checked
		}
		for _, j := range judges {
			prompt := j.Prompt
			if prompt == "" {
				prompt = router.DefaultJudgePrompt
			}
			// The judge reads the last user message (at most the
			// request's input), the answer and its prompt.
			u := llm.Usage{InputTokens: input + out + tokens.FromBytes(len(prompt)) + judgeFraming, OutputTokens: judgeMaxTokens}
			reserve += u.InputTokens + u.OutputTokens
			cost += rt.cost(j.Deployment, u)
		}
	}
	return reserve, cost
}

// replay writes a complete answer to a streaming client as a stream.
func (g *Gateway) replay(w http.ResponseWriter, x *exchange, resp *llm.Response, input int) {
	x.model = resp.Model
	x.status = http.StatusOK
	u := usageOf(resp, input)
	x.usage = u
	// The whole answer is known: its cost (every stage's) goes out as a
	// header, before the first event, as a complete answer's does.
	_, cost := x.accounted()
	w.Header().Set(HeaderCost, costHeader(cost))
	sw := x.dialect.newStream(w, x.req, replayDialect)
	events := []llm.Event{{Start: true, ID: resp.ID, Model: resp.Model, Usage: &llm.Usage{InputTokens: u.InputTokens}}}
	for i, t := range resp.Thinking {
		events = append(events, llm.Event{Thinking: &llm.ThinkingDelta{Index: i, Text: t.Text, Signature: t.Signature, Redacted: t.Redacted}})
	}
	if resp.Text != "" {
		events = append(events, llm.Event{Text: resp.Text})
	}
	for i, tc := range resp.ToolCalls {
		events = append(events, llm.Event{ToolCalls: []llm.ToolCallDelta{{Index: i, ID: tc.ID, Name: tc.Name, Arguments: tc.Arguments}}})
	}
	finish := resp.FinishReason
	if finish == "" {
		finish = llm.FinishStop
	}
	events = append(events, llm.Event{FinishReason: finish, StopSequence: resp.StopSequence, Usage: &u}, llm.Event{Done: true})
	for _, ev := range events {
		if err := sw.WriteEvent(ev); err != nil {
			if x.reqCtx != nil {
				x.writeFailed(x.reqCtx)
			} else {
				x.partial, x.errKind = true, "client_cancelled"
			}
			return
		}
	}
	if err := sw.Finish(); err != nil {
		x.partial = true
	}
}

// replayDialect marks events built by the gateway itself: no client dialect
// equals it, so the stream writers always encode them.
const replayDialect llm.Dialect = "switchyard"

func joinReason(base string, whys []string) string {
	if len(whys) == 0 {
		return base
	}
	return base + "; " + strings.Join(whys, "; ")
}

// cost prices usage at a deployment's rates.
func (rt *runtime) cost(deployment string, u llm.Usage) float64 {
	d, ok := rt.deployments[deployment]
	if !ok {
		return 0
	}
	return d.cfg.Price.Cost(u.InputTokens, u.CachedInputTokens, u.CacheWriteTokens, u.OutputTokens)
}
