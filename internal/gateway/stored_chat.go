package gateway

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-gw/switchyard/internal/cache"
)

// A Chat Completions request with store: true asks the provider to keep
// its answer, which OpenAI's stored-completions endpoints then list,
// show, update (metadata), delete and show the messages of. A kept
// completion lives in the account of the deployment that answered, so
// the gateway remembers, per tenant, which deployment made each stored
// completion it relayed (a translated answer is kept nowhere upstream),
// as it does for responses: another tenant's id is a 404, and the list
// shows a tenant only its own.
const (
	// storedCompletionTTL: OpenAI keeps stored completions 30 days.
	storedCompletionTTL = 30 * 24 * time.Hour
	// maxCompletionList bounds each upstream list page the gateway reads.
	maxCompletionList = 16 << 20
)

func storedCompletionKey(tenant, id string) string {
	return cache.TenantPrefix(tenant) + "chatcmpl:" + id
}

// rememberCompletion records which deployment made the stored completion
// x relayed.
func (g *Gateway) rememberCompletion(ctx context.Context, x *exchange) {
	if !validResponseID(x.respID) || x.trace == nil || x.trace.Deployment == "" || x.who == nil {
		return
	}
	g.keep(ctx, storedCompletionKey(x.who.TenantID, x.respID), x.trace.Deployment, storedCompletionTTL)
}

func completionNotFound(id string) *apiError {
	return &apiError{status: http.StatusNotFound, code: "completion_not_found", anthropicType: "not_found_error",
		message: "no stored completion " + strconv.Quote(truncate(id, 100)) + " was made through this gateway for this API key's tenant (or it has expired)"}
}

// ServeStoredCompletion serves GET, POST (metadata) and DELETE
// /v1/chat/completions/{id} and GET /v1/chat/completions/{id}/messages,
// relayed to the deployment that made the completion. A deleted
// completion is forgotten.
func (g *Gateway) ServeStoredCompletion(w http.ResponseWriter, r *http.Request) {
	x, r := g.start(r, openAIDialect, "switchyard.chat.stored")
	defer g.finish(r.Context(), x)
	rt, body, ok := g.authenticatedObject(w, r, x)
	if !ok {
		return
	}
	id := r.PathValue("id")
	d, f, ae := g.keptAt(r.Context(), rt, id, func(id string) string { return storedCompletionKey(x.who.TenantID, id) }, completionNotFound(id))
	if ae != nil {
		g.fail(w, x, ae)
		return
	}
	op := "chat/completions/" + url.PathEscape(id)
	if strings.HasSuffix(r.URL.Path, "/messages") {
		op += "/messages"
	}
	var send []byte
	if r.Method == http.MethodPost {
		var err error
		if send, err = conversationBody(body); err != nil {
			g.failErr(w, x, err)
			return
		}
	}
	gone := &apiError{status: http.StatusNotFound, code: "completion_not_found", anthropicType: "not_found_error",
		message: "stored completion " + strconv.Quote(id) + " was not found at the deployment that made it (deleted or expired)"}
	if g.forwardObject(w, r, x, d, f, op, send, gone) && r.Method == http.MethodDelete {
		g.forget(r.Context(), storedCompletionKey(x.who.TenantID, id))
	}
}

// ServeStoredCompletionList serves GET /v1/chat/completions: the list of
// the first OpenAI deployment (model, metadata[k], after, limit, order)
// with only the completions this tenant stored through the gateway at
// deployments of that provider (the same account) in it. The filters go
// upstream, to the account the tenants share, but what matches there of
// another tenant's is neither shown nor counted (see serveOwnList).
func (g *Gateway) ServeStoredCompletionList(w http.ResponseWriter, r *http.Request) {
	x, r := g.start(r, openAIDialect, "switchyard.chat.stored.list")
	defer g.finish(r.Context(), x)
	rt, _, ok := g.authenticatedObject(w, r, x)
	if !ok {
		return
	}
	d, f, ok := rt.conversationHolder()
	if !ok {
		g.fail(w, x, &apiError{status: http.StatusBadRequest, code: "no_capable_deployment", anthropicType: "invalid_request_error",
			message: "no deployment keeps stored chat completions: it needs an OpenAI deployment (provider kind openai)"})
		return
	}
	x.decision.Route = d.cfg.Name
	g.serveOwnList(w, r, x, d.cfg.Name, d, f, ownList{
		op: "chat/completions", what: "stored chat completion", maxBytes: maxCompletionList,
		filter: func(p string) bool { return p == "model" || metadataFilter(p) },
		mine: func(ctx context.Context, id string) (bool, error) {
			if !validResponseID(id) {
				return false, nil
			}
			dep, err := g.keptDeployment(ctx, storedCompletionKey(x.who.TenantID, id))
			kd, ok := rt.deployments[dep]
			return ok && kd.cfg.Provider == d.cfg.Provider, err
		},
	})
}
