package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/switchyard-gw/switchyard/internal/cache"
	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/reqid"
)

// A Responses API response lives at the deployment that made it: a
// follow-up naming it (previous_response_id) must go there, and so must a
// retrieval (GET /v1/responses/{id} and the others). The gateway remembers
// which deployment made each response, per tenant, for as long as OpenAI
// keeps stored responses.
const (
	responseAffinityTTL = 30 * 24 * time.Hour
	affinityTimeout     = 100 * time.Millisecond
	maxResponseIDLen    = 256
)

// forwarder is a provider that relays the Responses API's object endpoints
// (the OpenAI adapter).
type forwarder interface {
	Forward(ctx context.Context, method, op, rawQuery string) (*http.Response, error)
}

func affinityKey(tenant, id string) string { return cache.TenantPrefix(tenant) + "resp:" + id }

// validResponseID reports whether id looks like an upstream response id
// (letters, digits, '_' and '-'): anything else is never looked up or
// remembered, so a client cannot steer a relayed path elsewhere.
func validResponseID(id string) bool {
	if id == "" || len(id) > maxResponseIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// responseDeployment is the deployment that made response id for tenant,
// or "" when the gateway does not know it.
func (g *Gateway) responseDeployment(ctx context.Context, tenant, id string) string {
	if !validResponseID(id) {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, affinityTimeout)
	defer cancel()
	e, err := g.affinity.Get(ctx, affinityKey(tenant, id))
	if err != nil {
		g.log.Warn("response affinity lookup failed", "request_id", reqid.From(ctx), "err", err)
		return ""
	}
	if e == nil {
		return ""
	}
	return e.Deployment
}

// rememberResponse records which deployment made the response x created.
func (g *Gateway) rememberResponse(ctx context.Context, x *exchange) {
	if !validResponseID(x.respID) || x.trace == nil || x.trace.Deployment == "" || x.who == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if err := g.affinity.Set(ctx, affinityKey(x.who.TenantID, x.respID), &cache.Entry{Deployment: x.trace.Deployment}, responseAffinityTTL); err != nil {
		g.log.Warn("response affinity store failed", "request_id", reqid.From(ctx), "err", err)
	}
}

// pinContinued narrows the plan of a request that continues a response to
// the deployment that made it, when the plan has it: no other deployment
// knows the response.
func (g *Gateway) pinContinued(ctx context.Context, x *exchange, p *executor.Plan) {
	dep := g.responseDeployment(ctx, x.who.TenantID, x.req.Continues)
	if dep == "" {
		return
	}
	for _, t := range p.Targets {
		if t.Deployment == dep {
			p.Targets = []executor.Target{t}
			x.decision.Reason += "; previous_response_id: made by " + dep
			return
		}
	}
}

// ServeOpenAIResponseObject serves the Responses API's object endpoints:
// GET and DELETE /v1/responses/{id}, POST /v1/responses/{id}/cancel and
// GET /v1/responses/{id}/input_items, relayed to the deployment that made
// the response (a 404 when this tenant made none of that id through the
// gateway, or it expired).
func (g *Gateway) ServeOpenAIResponseObject(w http.ResponseWriter, r *http.Request) {
	x, r := g.start(r, openAIDialect, "switchyard.responses.object")
	defer g.finish(r.Context(), x)
	rt, _, ok := g.authenticated(w, r, x)
	if !ok {
		return
	}
	id := r.PathValue("id")
	dep := g.responseDeployment(r.Context(), x.who.TenantID, id)
	d, known := rt.deployments[dep]
	f, relays := forwarder(nil), false
	if known {
		f, relays = d.prov.(forwarder)
	}
	if !relays {
		g.fail(w, x, &apiError{status: http.StatusNotFound, code: "response_not_found", anthropicType: "not_found_error",
			message: "no response " + strconv.Quote(truncate(id, 100)) + " was made through this gateway for this API key's tenant (or it has expired)"})
		return
	}
	x.decision.Route = dep
	op := "responses/" + id
	switch {
	case strings.HasSuffix(r.URL.Path, "/cancel"):
		op += "/cancel"
	case strings.HasSuffix(r.URL.Path, "/input_items"):
		op += "/input_items"
	}
	ctx := r.Context()
	if t := d.cfg.Timeout.D(); t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	resp, err := f.Forward(ctx, r.Method, op, r.URL.RawQuery)
	var pe *provider.Error
	switch {
	case errors.As(err, &pe) && pe.Status == http.StatusNotFound:
		// Here the upstream's 404 is about the response (deleted, or
		// expired there), not a misconfigured deployment.
		g.fail(w, x, &apiError{status: http.StatusNotFound, code: "response_not_found", anthropicType: "not_found_error",
			message: "response " + strconv.Quote(id) + " was not found at the deployment that made it (deleted or expired)"})
		return
	case err != nil:
		g.failErr(w, x, err)
		return
	}
	defer resp.Body.Close()
	x.status = resp.StatusCode
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.Header().Set(HeaderDeployment, dep)
	w.WriteHeader(resp.StatusCode)
	// A background response's event stream (?stream=true) goes out as it
	// comes; a JSON object in one piece.
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			_ = rc.Flush()
		}
		if rerr == io.EOF {
			return
		}
		if rerr != nil {
			x.partial = true
			return
		}
	}
}

// A response the gateway translated is not kept upstream, so the gateway
// keeps its conversation (the request's input items and the answer's
// output items, as input items) for a follow-up naming it in
// previous_response_id: that follow-up is rewritten into a self-contained
// request, which any deployment of the route can serve.

func conversationKey(tenant, id string) string { return cache.TenantPrefix(tenant) + "conv:" + id }

// continueTranslated returns req's body rewritten to carry the kept
// conversation of the response it continues, and true, when the gateway
// translated that response; otherwise false.
func (g *Gateway) continueTranslated(ctx context.Context, tenant string, req *llm.Request) ([]byte, bool) {
	if req.Continues == "" || !validResponseID(req.Continues) {
		return nil, false
	}
	lctx, cancel := context.WithTimeout(ctx, affinityTimeout)
	defer cancel()
	e, err := g.affinity.Get(lctx, conversationKey(tenant, req.Continues))
	if err != nil {
		g.log.Warn("conversation lookup failed", "request_id", reqid.From(ctx), "err", err)
		return nil, false
	}
	if e == nil || len(e.Body) == 0 {
		return nil, false
	}
	body, err := sjson.DeleteBytes(req.Raw, "previous_response_id")
	if err == nil {
		body, err = sjson.SetRawBytes(body, "input", joinArrays(e.Body, inputItems(req.Raw)))
	}
	if err != nil {
		return nil, false
	}
	return body, true
}

// rememberConversation keeps the conversation of translated response id:
// the input items of x's request, then output.
func (g *Gateway) rememberConversation(ctx context.Context, x *exchange, id string, output []byte) {
	if x.who == nil || !validResponseID(id) {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	conv := joinArrays(inputItems(x.req.Raw), output)
	if err := g.affinity.Set(ctx, conversationKey(x.who.TenantID, id), &cache.Entry{Stored: g.now(), Body: conv}, responseAffinityTTL); err != nil {
		g.log.Warn("conversation store failed", "request_id", reqid.From(ctx), "err", err)
	}
}

// inputItems is a Responses API body's input as a JSON array of items: a
// string is one user message.
func inputItems(raw []byte) []byte {
	in := gjson.GetBytes(raw, "input")
	switch {
	case in.IsArray():
		return []byte(in.Raw)
	case in.Type == gjson.String:
		b, _ := json.Marshal([]map[string]string{{"role": "user", "content": in.Str}})
		return b
	}
	return []byte("[]")
}

// joinArrays concatenates two JSON arrays.
func joinArrays(a, b []byte) []byte {
	a, b = bytes.TrimSpace(a), bytes.TrimSpace(b)
	switch {
	case len(a) < 3:
		return b
	case len(b) < 3:
		return a
	}
	out := make([]byte, 0, len(a)+len(b))
	out = append(out, a[:len(a)-1]...)
	out = append(out, ',')
	return append(out, b[1:]...)
}
