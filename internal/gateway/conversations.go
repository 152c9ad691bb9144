package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/cache"
	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// OpenAI's Conversations API keeps a conversation's items upstream, in the
// account that made it, for Responses API requests that name it (their
// conversation field) to read and add to. The gateway makes a
// conversation at the first OpenAI deployment that serves the Responses
// API and remembers, per tenant, which deployment made it, as it does for
// responses and videos: another tenant's conversation, or one not made
// through the gateway, is a 404, and a Responses request naming it goes
// only to deployments of the same provider (the same upstream account),
// where the conversation is.
const (
	// conversationAffinityTTL: OpenAI keeps a conversation until it is
	// deleted; the gateway remembers it this long.
	conversationAffinityTTL = 365 * 24 * time.Hour
	// maxConversationAnswer bounds the upstream answer to a create.
	maxConversationAnswer = 8 << 20
)

func conversationObjectKey(tenant, id string) string {
	return cache.TenantPrefix(tenant) + "conversation:" + id
}

func conversationNotFound(id string) *apiError {
	return &apiError{status: http.StatusNotFound, code: "conversation_not_found", anthropicType: "not_found_error",
		message: "no conversation " + strconv.Quote(truncate(id, 100)) + " was made through this gateway for this API key's tenant"}
}

// reaches reports whether p may have a request served by the deployment
// named dep: by its name as the model, or through a route it may use that
// targets it.
func (rt *runtime) reaches(p *Principal, dep string) bool {
	if p.allows(dep) {
		return true
	}
	for i := range rt.cfg.Routes {
		if route := &rt.cfg.Routes[i]; p.allows(route.Name) && slices.Contains(route.Targets, dep) {
			return true
		}
	}
	return false
}

// conversationHolder is the deployment new conversations are made at: the
// first, in config order, whose provider relays the Responses API.
func (rt *runtime) conversationHolder() (*deployment, forwarder, bool) {
	for i := range rt.cfg.Deployments {
		d, ok := rt.deployments[rt.cfg.Deployments[i].Name]
		if !ok {
			continue
		}
		r, relays := d.prov.(relayer)
		f, forwards := d.prov.(forwarder)
		if relays && forwards && r.Relays(llm.DialectOpenAIResponses) {
			return d, f, true
		}
	}
	return nil, nil, false
}

// keptAt is the deployment that made the object id kept under key(id),
// with its forwarder, when the gateway knows it and the deployment is
// still configured; else notFound, or a 503 when the store failed.
func (g *Gateway) keptAt(ctx context.Context, rt *runtime, id string, key func(id string) string, notFound *apiError) (*deployment, forwarder, *apiError) {
	if !validResponseID(id) {
		return nil, nil, notFound
	}
	dep, err := g.keptDeployment(ctx, key(id))
	if err != nil {
		return nil, nil, errResponseStore
	}
	d, ok := rt.deployments[dep]
	if !ok {
		return nil, nil, notFound
	}
	f, ok := d.prov.(forwarder)
	if !ok {
		return nil, nil, notFound
	}
	return d, f, nil
}

// conversationAt is the deployment that made conversation id for tenant
// (keptAt).
func (g *Gateway) conversationAt(ctx context.Context, rt *runtime, tenant, id string) (*deployment, forwarder, *apiError) {
	return g.keptAt(ctx, rt, id, func(id string) string { return conversationObjectKey(tenant, id) }, conversationNotFound(id))
}

// conversationBody is the JSON object a POST sends upstream: the client's
// body, which must be one ({} when empty).
func conversationBody(body []byte) ([]byte, error) {
	if len(strings.TrimSpace(string(body))) == 0 {
		return []byte("{}"), nil
	}
	if msg := objectProblem(body); msg != "" {
		return nil, badField("", msg)
	}
	return body, nil
}

// ServeConversations serves POST /v1/conversations: the conversation is
// made at the conversation holder (its items and metadata relayed as the
// client sent them) and remembered for the caller's tenant.
func (g *Gateway) ServeConversations(w http.ResponseWriter, r *http.Request) {
	x, r := g.start(r, openAIDialect, "switchyard.conversations")
	defer g.finish(r.Context(), x)
	rt, body, ok := g.authenticated(w, r, x)
	if !ok {
		return
	}
	body, err := conversationBody(body)
	if err != nil {
		g.failErr(w, x, err)
		return
	}
	d, f, ok := rt.conversationHolder()
	if !ok {
		g.fail(w, x, &apiError{status: http.StatusBadRequest, code: "no_capable_deployment", anthropicType: "invalid_request_error",
			message: "no deployment serves the Conversations API: it needs an OpenAI deployment (provider kind openai)"})
		return
	}
	x.decision.Route = d.cfg.Name
	if !rt.reaches(x.who, d.cfg.Name) {
		// A key limited to routes that never reach the holder may not
		// keep objects in its account.
		g.fail(w, x, routeNotAllowed(d.cfg.Name))
		return
	}
	if !g.admitFree(r.Context(), w, x, rt) {
		return
	}
	at := executor.Attempt{Deployment: d.cfg.Name, Start: g.now()}
	raw, status, err := fetch(r.Context(), d, f, http.MethodPost, "conversations", r.URL.RawQuery, body, maxConversationAnswer)
	at.Duration = g.now().Sub(at.Start)
	id := gjson.GetBytes(raw, "id").Str
	if err == nil && !validResponseID(id) {
		err = &provider.Error{Kind: provider.KindUnavailable, Status: status, Message: "conversation without a valid id"}
	}
	g.recordCall(w, r.Context(), x, at, status, err)
	if err != nil {
		g.failErr(w, x, err)
		return
	}
	g.keep(r.Context(), conversationObjectKey(x.who.TenantID, id), d.cfg.Name, conversationAffinityTTL)
	x.status = status
	_ = wirejson.Write(w, status, raw)
}

// recordCall records a request's one upstream call made outside the
// executor (making a conversation, relaying a request for a kept object),
// at ended with status or err, as the executor records a relayed call's:
// the deployment that answered, the attempt (its log line, usage record,
// metrics and span), and the route headers.
func (g *Gateway) recordCall(w http.ResponseWriter, ctx context.Context, x *exchange, at executor.Attempt, status int, err error) {
	recordAttempt(ctx, x, at, status, err)
	g.setRouteHeaders(w, x)
}

// recordAttempt records on x a call made outside the executor, at ended
// with status or err, as recordCall does, without the headers.
func recordAttempt(ctx context.Context, x *exchange, at executor.Attempt, status int, err error) {
	x.trace = &executor.Trace{}
	switch {
	case err == nil:
		at.Status = status
		x.trace.Deployment = at.Deployment
	case ctx.Err() != nil:
		// The client went away (or a shutdown ended the request): not
		// the upstream's failure, as the executor tells it.
		at.Err, at.Kind = ctx.Err(), provider.KindOf(ctx.Err())
	default:
		at.Err, at.Kind = err, provider.KindOf(err)
		if pe := (*provider.Error)(nil); errors.As(err, &pe) {
			at.Status = pe.Status
		}
	}
	x.trace.Attempts = append(x.trace.Attempts, at)
}

// ServeConversationObject serves the rest of the Conversations API, relayed
// to the deployment that made the conversation: GET, POST (metadata) and
// DELETE /v1/conversations/{id}, GET and POST /v1/conversations/{id}/items,
// and GET and DELETE /v1/conversations/{id}/items/{item}. A deleted
// conversation is forgotten.
func (g *Gateway) ServeConversationObject(w http.ResponseWriter, r *http.Request) {
	x, r := g.start(r, openAIDialect, "switchyard.conversations.object")
	defer g.finish(r.Context(), x)
	rt, body, ok := g.authenticatedObject(w, r, x)
	if !ok {
		return
	}
	id := r.PathValue("id")
	d, f, ae := g.conversationAt(r.Context(), rt, x.who.TenantID, id)
	if ae != nil {
		g.fail(w, x, ae)
		return
	}
	op := "conversations/" + url.PathEscape(id)
	if strings.Contains(r.URL.Path, "/items") {
		op += "/items"
		if item := r.PathValue("item"); item != "" {
			if !validResponseID(item) {
				g.fail(w, x, &apiError{status: http.StatusNotFound, code: "item_not_found", anthropicType: "not_found_error",
					message: "no item " + strconv.Quote(truncate(item, 100)) + " in conversation " + strconv.Quote(id)})
				return
			}
			op += "/" + item
		}
	}
	var send []byte
	if r.Method == http.MethodPost {
		var err error
		if send, err = conversationBody(body); err != nil {
			g.failErr(w, x, err)
			return
		}
	}
	gone := &apiError{status: http.StatusNotFound, code: "conversation_not_found", anthropicType: "not_found_error",
		message: "conversation " + strconv.Quote(id) + " (or the item named) was not found at the deployment that made it"}
	if g.forwardObject(w, r, x, d, f, op, send, gone) && r.Method == http.MethodDelete && r.PathValue("item") == "" {
		g.forget(r.Context(), conversationObjectKey(x.who.TenantID, id))
	}
}

// pinConversation narrows the plan of a Responses API request that names a
// conversation to the deployments of the provider (upstream account) that
// holds it, and answers the client when it cannot: a conversation this
// tenant did not make through the gateway is a 404, as on the
// Conversations API's own endpoints, and a model without a deployment of
// that provider a 400.
func (g *Gateway) pinConversation(w http.ResponseWriter, ctx context.Context, x *exchange, p *executor.Plan) bool {
	id := x.req.Conversation
	if id == "" {
		return true
	}
	d, _, ae := g.conversationAt(ctx, x.rt, x.who.TenantID, id)
	if ae != nil {
		g.fail(w, x, ae)
		return false
	}
	kept := p.Targets[:0]
	for _, t := range p.Targets {
		if td, ok := x.rt.deployments[t.Deployment]; ok && td.cfg.Provider == d.cfg.Provider {
			kept = append(kept, t)
		}
	}
	if len(kept) == 0 {
		g.failErr(w, x, badField("conversation", "conversation "+strconv.Quote(id)+" is kept by provider "+strconv.Quote(d.cfg.Provider)+
			", and model "+strconv.Quote(x.decision.Route)+" has no deployment of it"))
		return false
	}
	p.Targets = kept
	x.decision.Reason += "; conversation: kept by provider " + d.cfg.Provider
	return true
}

// objectProblem says why a body relayed as it is (a conversation, a
// compaction, a client secret's session) is refused: not a JSON object,
// or not UTF-8, which JSON text must be and the parsed endpoints refuse
// too (audit AS, AS1); "" when it is fine.
func objectProblem(body []byte) string {
	if !wirejson.Valid(body) || !gjson.ParseBytes(body).IsObject() {
		return "the request body must be a JSON object"
	}
	if p := wirejson.UTF8Problem(body); p != "" {
		return "the request body is not valid JSON: " + p
	}
	return ""
}
