package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/switchyard-gw/switchyard/internal/cache"
	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/openaiapi"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/reqid"
	"github.com/switchyard-gw/switchyard/internal/sse"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
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
	Forward(ctx context.Context, method, op, rawQuery string, body []byte) (*http.Response, error)
}

func affinityKey(tenant, id string) string { return cache.TenantPrefix(tenant) + "resp:" + id }

// goneKey marks a response deleted through the gateway, so that the
// response cache does not answer a repeated request with it (see
// responseGone).
func goneKey(tenant, id string) string { return affinityKey(tenant, id) + ":gone" }

// markGone remembers that the tenant deleted response id, for as long as
// a cached answer naming it can live.
func (g *Gateway) markGone(ctx context.Context, rt *runtime, tenant, id string) {
	if g.cache != nil && rt.cfg.Cache.Enabled() {
		g.keep(ctx, goneKey(tenant, id), "-", rt.cfg.Cache.TTL.D())
	}
}

// responseGone reports whether a cached Responses API answer names a
// response the tenant has deleted since (its first "id" of a resp_ id is
// the response's, in a whole object as in a stream's first event), or
// continues one (previous, when not empty).
func (g *Gateway) responseGone(ctx context.Context, tenant string, e *cache.Entry, previous string) bool {
	ctx, cancel := context.WithTimeout(ctx, cacheLookupTimeout)
	defer cancel()
	gone := func(id string) bool {
		v, err := g.affinity.Get(ctx, goneKey(tenant, id))
		return err == nil && v != nil
	}
	if previous != "" && gone(previous) {
		return true
	}
	i := bytes.Index(e.Body, []byte(`"id":"resp_`))
	if i < 0 {
		return false
	}
	rest := e.Body[i+len(`"id":"`):]
	end := bytes.IndexByte(rest, '"')
	return end >= 0 && gone(string(rest[:end]))
}

// previousResponse is the response a Responses request continues, if any:
// kept upstream (Continues), or one the gateway translated.
func previousResponse(x *exchange) string {
	switch {
	case x.req == nil:
		return ""
	case x.req.Continues != "":
		return x.req.Continues
	}
	return x.req.PreviousResponseID
}

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
// or "" when the gateway does not know it; an error when it cannot tell
// (the store failed).
func (g *Gateway) responseDeployment(ctx context.Context, tenant, id string) (string, error) {
	if !validResponseID(id) {
		return "", nil
	}
	return g.keptDeployment(ctx, affinityKey(tenant, id))
}

// keptDeployment is the deployment remembered under key, or "" when none
// is; an error when the store failed.
func (g *Gateway) keptDeployment(ctx context.Context, key string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, affinityTimeout)
	defer cancel()
	e, err := g.affinity.Get(ctx, key)
	if err != nil {
		g.log.Warn("affinity lookup failed", "request_id", reqid.From(ctx), "err", err)
		return "", err
	}
	if e == nil {
		return "", nil
	}
	return e.Deployment, nil
}

// errResponseStore answers a request the gateway cannot serve because its
// store of responses failed: saying "not found" would be a lie.
var errResponseStore = &apiError{status: http.StatusServiceUnavailable, code: "service_unavailable", anthropicType: "api_error",
	message: "the gateway's store of responses is unreachable; try again"}

// rememberResponse records which deployment made the response x created.
func (g *Gateway) rememberResponse(ctx context.Context, x *exchange) {
	if !validResponseID(x.respID) || x.trace == nil || x.trace.Deployment == "" || x.who == nil {
		return
	}
	g.keep(ctx, affinityKey(x.who.TenantID, x.respID), x.trace.Deployment, responseAffinityTTL)
}

// keep remembers deployment under key for ttl, even when the client has
// gone away.
func (g *Gateway) keep(ctx context.Context, key, deployment string, ttl time.Duration) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if err := g.affinity.Set(ctx, key, &cache.Entry{Deployment: deployment}, ttl); err != nil {
		g.log.Warn("affinity store failed", "request_id", reqid.From(ctx), "err", err)
	}
}

// continuedAt is the deployment that made the response a request
// continues (previous_response_id), or "" when the gateway does not know
// it. A tenant's request may continue only that tenant's responses: one
// the gateway does not know for it is a 404, as OpenAI answers for a
// response it does not have (another tenant's must not be reachable
// through an upstream account the tenants share), and a store failure a
// 503. Without tenants (static keys, an open gateway) an unknown response
// goes where the route says, and the provider answers for it.
func (g *Gateway) continuedAt(ctx context.Context, who *Principal, id string) (string, *apiError) {
	if id == "" {
		return "", nil
	}
	strict := who != nil && who.TenantID != ""
	tenant := ""
	if who != nil {
		tenant = who.TenantID
	}
	dep, err := g.responseDeployment(ctx, tenant, id)
	switch {
	case err != nil && strict:
		return "", errResponseStore
	case dep == "" && strict:
		return "", &apiError{status: http.StatusNotFound, code: "previous_response_not_found", anthropicType: "not_found_error",
			message: "Previous response with id " + strconv.Quote(truncate(id, 100)) + " not found: the gateway knows no such response of this API key's tenant"}
	}
	return dep, nil
}

// forget drops what the gateway keeps under key (an object deleted
// upstream), even when the client has gone away.
func (g *Gateway) forget(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if _, err := g.affinity.Delete(ctx, key); err != nil {
		g.log.Warn("affinity delete failed", "request_id", reqid.From(ctx), "err", err)
	}
}

// pinContinued narrows the plan of a request that continues a response
// made by deployment dep to dep, when the plan has it: no other
// deployment knows the response.
func pinContinued(x *exchange, p *executor.Plan, dep string) {
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

// jsonObjectPlan keeps, for a Responses API request whose text.format is
// json_object (JSON with no schema, which Anthropic's and Bedrock's APIs
// have no way to ask for), the plan's targets that speak OpenAI's API
// (OpenAI and Azure deployments), in order; a route with none is a 400
// naming text.format.
func jsonObjectPlan(p *executor.Plan, route string, req *llm.Request) error {
	if !req.JSONMode || gjson.GetBytes(req.Raw, "text.format.type").Str != "json_object" {
		return nil
	}
	kept := p.Targets[:0]
	for _, t := range p.Targets {
		if _, ok := t.Provider.(relayer); ok {
			kept = append(kept, t)
		}
	}
	p.Targets = kept
	if len(kept) == 0 {
		return &llm.BadRequestError{Param: "text.format", Message: "text.format of type \"json_object\" has no counterpart on an Anthropic or Bedrock deployment, and model " +
			strconv.Quote(route) + " has no OpenAI or Azure deployment; use json_schema"}
	}
	return nil
}

// ServeOpenAIResponseObject serves the Responses API's object endpoints:
// GET and DELETE /v1/responses/{id}, POST /v1/responses/{id}/cancel and
// GET /v1/responses/{id}/input_items, relayed to the deployment that made
// the response (a 404 when this tenant made none of that id through the
// gateway, or it expired).
func (g *Gateway) ServeOpenAIResponseObject(w http.ResponseWriter, r *http.Request) {
	x, r := g.start(r, openAIDialect, "switchyard.responses.object")
	defer g.finish(r.Context(), x)
	rt, _, ok := g.authenticatedObject(w, r, x)
	if !ok {
		return
	}
	id := r.PathValue("id")
	dep, err := g.responseDeployment(r.Context(), x.who.TenantID, id)
	if err != nil {
		g.fail(w, x, errResponseStore)
		return
	}
	d, known := rt.deployments[dep]
	f, relays := forwarder(nil), false
	if known {
		f, relays = d.prov.(forwarder)
	}
	if !relays {
		k, err := g.keptTranslated(r.Context(), x.who.TenantID, id)
		if err != nil {
			g.fail(w, x, errResponseStore)
			return
		}
		if k != nil && k.Response != nil {
			g.serveKept(w, r, x, id, k)
			return
		}
		g.fail(w, x, responseNotFound(id))
		return
	}
	op := "responses/" + id
	switch {
	case strings.HasSuffix(r.URL.Path, "/cancel"):
		op += "/cancel"
	case strings.HasSuffix(r.URL.Path, "/input_items"):
		op += "/input_items"
	}
	if r.Method == http.MethodDelete {
		// Before the client learns it is deleted, so its next request
		// finds the cache forgetting it; a failed delete only costs a
		// cache miss.
		g.markGone(r.Context(), rt, x.who.TenantID, id)
	}
	g.forwardObject(w, r, x, d, f, op, nil, &apiError{status: http.StatusNotFound, code: "response_not_found", anthropicType: "not_found_error",
		message: "response " + strconv.Quote(id) + " was not found at the deployment that made it (deleted or expired)"})
}

// forwardObject relays a request for an object kept at the deployment d (a
// response, a video, a conversation) to op under its API, with body
// (JSON) when not nil, within the
// deployment's timeout, and sends back the answer as it comes (a JSON
// object, a background response's event stream, a video's bytes). The
// upstream's 404 is about the object (deleted, or expired there), and is
// answered with gone. It reports whether the upstream answered 2xx.
//
// A stream (GET /v1/responses/{id}?stream=true, a background response's)
// is bounded as a streamed call is, not by timeout: by first_token_timeout
// until its first event, then by idle_timeout between events (see
// relayObjectStream).
func (g *Gateway) forwardObject(w http.ResponseWriter, r *http.Request, x *exchange, d *deployment, f forwarder, op string, body []byte, gone *apiError) bool {
	x.decision.Route = d.cfg.Name
	var ctx context.Context
	var cancel context.CancelFunc
	var wd *watchdog
	if r.Method == http.MethodGet && queryTrue(r.URL.Query().Get("stream")) {
		ctx, cancel = context.WithCancel(r.Context())
		wd = newWatchdog(cancel)
		defer wd.stop()
		wd.arm("first token", d.cfg.FirstTokenTimeout.D())
	} else {
		ctx, cancel = d.timeoutContext(r.Context())
	}
	defer cancel()
	at := executor.Attempt{Deployment: d.cfg.Name, Start: g.now()}
	resp, err := f.Forward(ctx, r.Method, op, r.URL.RawQuery, body)
	at.Duration = g.now().Sub(at.Start)
	status := 0
	switch {
	case err == nil:
		status = resp.StatusCode
	case wd != nil && wd.fired.Load():
		err = wd.err() // the first-token timeout, not the cancel it caused
	}
	g.recordCall(w, r.Context(), x, at, status, err)
	var pe *provider.Error
	switch {
	case errors.As(err, &pe) && pe.Status == http.StatusNotFound:
		g.fail(w, x, gone)
		return false
	case err != nil:
		g.failErr(w, x, err)
		return false
	}
	defer resp.Body.Close()
	x.status = resp.StatusCode
	for _, h := range []string{"Content-Type", "Content-Length", "Content-Disposition"} {
		if v := resp.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	if wd != nil && resp.StatusCode/100 == 2 && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		g.relayObjectStream(r.Context(), w, x, d, wd, resp.Body)
		return true
	}
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return true
			}
			_ = rc.Flush()
		}
		if rerr == io.EOF {
			return true
		}
		if rerr != nil {
			x.partial = true
			return true
		}
	}
}

// terminalResponseEvents are the events that end a Responses API stream:
// after one the stream is whole (or the client was told it failed).
var terminalResponseEvents = map[string]bool{
	"response.completed": true, "response.incomplete": true, "response.failed": true, "error": true,
}

// relayObjectStream relays a Responses API event stream, event by event,
// with the idle_timeout of d between events (wd, armed for the first
// one). A stream that ends, fails or times out before its terminal event
// ends with an in-band error event, never a clean end the client would
// take for the whole answer.
func (g *Gateway) relayObjectStream(ctx context.Context, w http.ResponseWriter, x *exchange, d *deployment, wd *watchdog, body io.Reader) {
	rc := http.NewResponseController(w)
	rd := sse.NewReader(body)
	seq := -1
	for {
		f, err := rd.Next()
		if err != nil {
			switch {
			case wd.fired.Load():
				err = wd.err()
			case err == io.EOF:
				err = &provider.Error{Kind: provider.KindUnavailable, Message: "the upstream stream ended before its terminal event"}
			default:
				err = &provider.Error{Kind: provider.KindConnection, Message: "the upstream stream failed before its terminal event", Err: err}
			}
			if err = shutdownOr(ctx, err); x.streamFailed(ctx, err) {
				_, _ = w.Write(openaiapi.ResponsesErrorEvent(seq+1, err))
				_ = rc.Flush()
			}
			return
		}
		wd.arm("idle gap", d.cfg.IdleTimeout.D())
		if _, werr := w.Write(f.Raw); werr != nil {
			x.writeFailed(ctx)
			return
		}
		_ = rc.Flush()
		if f.IsComment() {
			continue
		}
		data := gjson.Parse(f.Data)
		if n := data.Get("sequence_number"); n.Type == gjson.Number {
			seq = int(n.Int())
		}
		typ := f.Event
		if typ == "" {
			typ = data.Get("type").Str
		}
		if terminalResponseEvents[typ] {
			return
		}
	}
}

// watchdog cancels a call when the bound it was last armed with passes.
type watchdog struct {
	timer *time.Timer
	fired atomic.Bool
	what  string
	limit time.Duration
}

func newWatchdog(cancel context.CancelFunc) *watchdog {
	wd := &watchdog{}
	wd.timer = time.AfterFunc(time.Hour, func() {
		wd.fired.Store(true)
		cancel()
	})
	wd.timer.Stop()
	return wd
}

// arm restarts the watchdog with bound what of length limit; a limit of 0
// is no bound. Only the relaying goroutine arms it.
func (wd *watchdog) arm(what string, limit time.Duration) {
	if wd.fired.Load() {
		return
	}
	wd.what, wd.limit = what, limit
	if limit > 0 {
		wd.timer.Reset(limit)
	} else {
		wd.timer.Stop()
	}
}

func (wd *watchdog) stop() { wd.timer.Stop() }

// err is the timeout error of the bound that fired.
func (wd *watchdog) err() error {
	return &provider.Error{Kind: provider.KindTimeout, Message: "upstream " + wd.what + " timed out after " + wd.limit.String()}
}

// queryTrue reports whether a query parameter's value means true.
func queryTrue(v string) bool {
	b, err := strconv.ParseBool(v)
	return err == nil && b
}

// fetch sends a request for an object to op at deployment d, within the
// deployment's timeout, and reads the whole answer (at most limit bytes)
// and its status.
func fetch(ctx context.Context, d *deployment, f forwarder, method, op, rawQuery string, body []byte, limit int64) ([]byte, int, error) {
	ctx, cancel := d.timeoutContext(ctx)
	defer cancel()
	resp, err := f.Forward(ctx, method, op, rawQuery, body)
	if err != nil {
		return nil, 0, err
	}
	raw, err := provider.ReadBodyUpTo(ctx, resp, limit)
	return raw, resp.StatusCode, err
}

func responseNotFound(id string) *apiError {
	return &apiError{status: http.StatusNotFound, code: "response_not_found", anthropicType: "not_found_error",
		message: "no response " + strconv.Quote(truncate(id, 100)) + " was made through this gateway for this API key's tenant (or it has expired)"}
}

// serveKept serves the object endpoints for a response the gateway
// translated and keeps: the response object, its input items, its
// deletion. It ran to completion before it was kept, so it cannot be
// cancelled.
func (g *Gateway) serveKept(w http.ResponseWriter, r *http.Request, x *exchange, id string, k *keptResponse) {
	switch {
	case strings.HasSuffix(r.URL.Path, "/cancel"):
		g.fail(w, x, &apiError{status: http.StatusBadRequest, code: "invalid_request_error", anthropicType: "invalid_request_error",
			message: "response " + strconv.Quote(id) + " is not a background response; only background responses can be cancelled"})
	case strings.HasSuffix(r.URL.Path, "/input_items"):
		page, err := inputItemsPage(id, k.Input, k.IDs, r.URL.Query())
		if err != nil {
			g.fail(w, x, err)
			return
		}
		x.status = http.StatusOK
		_ = wirejson.Write(w, http.StatusOK, page)
	case r.Method == http.MethodDelete:
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), time.Second)
		defer cancel()
		deleted, err := g.affinity.Delete(ctx, conversationKey(x.who.TenantID, id))
		if err != nil {
			g.log.Warn("kept response delete failed", "request_id", reqid.From(ctx), "err", err)
			g.fail(w, x, &apiError{status: http.StatusServiceUnavailable, code: "service_unavailable", anthropicType: "api_error",
				message: "the response could not be deleted now; try again"})
			return
		}
		if !deleted { // deleted meanwhile, or expired
			g.fail(w, x, responseNotFound(id))
			return
		}
		g.markGone(r.Context(), x.rt, x.who.TenantID, id)
		body, _ := json.Marshal(struct {
			ID      string `json:"id"`
			Object  string `json:"object"`
			Deleted bool   `json:"deleted"`
		}{id, "response", true})
		x.status = http.StatusOK
		_ = wirejson.Write(w, http.StatusOK, body)
	default:
		x.status = http.StatusOK
		_ = wirejson.Write(w, http.StatusOK, k.Response)
	}
}

// inputItemsPage is a page of the input items of kept response id, as the
// Responses API lists them: each item with its id (ids[i] when the entry
// has them, see keptResponse.IDs; else the item's own, or one derived from
// id and its position), a message's text as content parts; query's limit
// (1-100, default 20), order (asc, or desc by default) and after (an item
// id) as OpenAI takes them.
func inputItemsPage(id string, input []byte, ids []string, query url.Values) ([]byte, *apiError) {
	bad := func(param, msg string) *apiError {
		return &apiError{status: http.StatusBadRequest, code: "invalid_request_error", anthropicType: "invalid_request_error",
			message: "invalid " + param + ": " + msg}
	}
	limit := 20
	if v := query.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return nil, bad("limit", "want an integer from 1 to 100")
		}
		limit = n
	}
	order := query.Get("order")
	switch order {
	case "":
		order = "desc"
	case "asc", "desc":
	default:
		return nil, bad("order", "want asc or desc")
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(input, &raw); err != nil {
		return nil, errInternal
	}
	items := make([]listedItem, len(raw))
	for i, it := range raw {
		itemID := ""
		if len(ids) >= len(raw) {
			itemID = ids[i]
		} else {
			itemID = keptItemID(id, i, it)
		}
		items[i] = listItem(itemID, it)
	}
	if order == "desc" {
		slices.Reverse(items)
	}
	if after := query.Get("after"); after != "" {
		i := slices.IndexFunc(items, func(it listedItem) bool { return it.id == after })
		if i < 0 {
			return nil, bad("after", "no input item "+strconv.Quote(truncate(after, 100))+" in this response")
		}
		items = items[i+1:]
	}
	more := len(items) > limit
	if more {
		items = items[:limit]
	}
	type page struct {
		Object  string            `json:"object"`
		Data    []json.RawMessage `json:"data"`
		FirstID *string           `json:"first_id"`
		LastID  *string           `json:"last_id"`
		HasMore bool              `json:"has_more"`
	}
	p := page{Object: "list", Data: make([]json.RawMessage, len(items)), HasMore: more}
	for i, it := range items {
		p.Data[i] = it.body
	}
	if len(items) > 0 {
		p.FirstID, p.LastID = &items[0].id, &items[len(items)-1].id
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, errInternal
	}
	return b, nil
}

type listedItem struct {
	id   string
	body json.RawMessage
}

// keptItemID is the id of item i of the conversation kept with response
// id: the item's own, else one made of id and i.
func keptItemID(id string, i int, item []byte) string {
	if own := gjson.GetBytes(item, "id").Str; own != "" {
		return own
	}
	prefix := "item_"
	switch typ := gjson.GetBytes(item, "type").Str; {
	case typ == "message" || typ == "" && gjson.GetBytes(item, "role").Exists():
		prefix = "msg_"
	case typ == "function_call":
		prefix = "fc_"
	case typ == "function_call_output":
		prefix = "fco_"
	case typ == "reasoning":
		prefix = "rs_"
	}
	return prefix + strings.TrimPrefix(id, "resp_") + "_" + strconv.Itoa(i)
}

// listItem is an input item, of id itemID, as the input item list shows
// it.
func listItem(itemID string, item []byte) listedItem {
	typ := gjson.GetBytes(item, "type").Str
	if typ == "" && gjson.GetBytes(item, "role").Exists() {
		typ = "message"
		item, _ = sjson.SetBytes(item, "type", typ)
	}
	if gjson.GetBytes(item, "id").Str != itemID {
		item, _ = sjson.SetBytes(item, "id", itemID)
	}
	if typ == "message" {
		if c := gjson.GetBytes(item, "content"); c.Type == gjson.String {
			part := "input_text"
			if gjson.GetBytes(item, "role").Str == "assistant" {
				part = "output_text"
			}
			item, _ = sjson.SetBytes(item, "content", []map[string]any{{"type": part, "text": c.Str}})
		}
	}
	if !gjson.GetBytes(item, "status").Exists() {
		item, _ = sjson.SetBytes(item, "status", "completed")
	}
	return listedItem{id: itemID, body: item}
}

// A response the gateway translated is not kept upstream, so the gateway
// keeps it (unless the client asked for store false), per tenant, for as
// long as OpenAI keeps stored responses: the response object the client
// got, for GET /v1/responses/{id}; and its conversation (the request's
// input items and the answer's output items, as input items), for
// GET /v1/responses/{id}/input_items and for a follow-up naming it in
// previous_response_id, which is rewritten into a self-contained request
// any deployment of the route can serve.

func conversationKey(tenant, id string) string { return cache.TenantPrefix(tenant) + "conv:" + id }

// keptResponse is what the gateway keeps of a response it translated.
// Entries written before the response object was kept hold only the
// conversation, as one JSON array.
type keptResponse struct {
	Input    json.RawMessage `json:"input"`
	Output   json.RawMessage `json:"output"`
	Response json.RawMessage `json:"response,omitempty"`
	// IDs are the ids of the conversation's items (Input's, then
	// Output's), given once when it is kept: an item keeps its id in every
	// response of a chain that lists it, the answer's items those of its
	// response object. The items themselves carry only the client's own
	// ids, so a continuing request sends no id an upstream does not know.
	IDs []string `json:"ids,omitempty"`
}

// conversation is the input items of a request continuing k.
func (k *keptResponse) conversation() []byte { return joinArrays(k.Input, k.Output) }

// itemIDs is the ids of the items of k's conversation, k being response
// id: its IDs, or, for an entry kept without them, ids made as the input
// item list made them then.
func (k *keptResponse) itemIDs(id string) []string {
	items := gjson.ParseBytes(k.conversation()).Array()
	if len(k.IDs) == len(items) {
		return k.IDs
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = keptItemID(id, i, []byte(it.Raw))
	}
	return ids
}

// keptTranslated is the kept response id of tenant, or nil when the
// gateway keeps none (an unreadable entry counts as none); an error when
// it cannot tell (the store failed).
func (g *Gateway) keptTranslated(ctx context.Context, tenant, id string) (*keptResponse, error) {
	if !validResponseID(id) {
		return nil, nil
	}
	lctx, cancel := context.WithTimeout(ctx, affinityTimeout)
	defer cancel()
	e, err := g.affinity.Get(lctx, conversationKey(tenant, id))
	if err != nil {
		g.log.Warn("kept response lookup failed", "request_id", reqid.From(ctx), "err", err)
		return nil, err
	}
	if e == nil {
		return nil, nil
	}
	body := bytes.TrimSpace(e.Body)
	switch {
	case len(body) == 0:
		return nil, nil
	case body[0] == '[':
		return &keptResponse{Input: body}, nil
	}
	var k keptResponse
	if err := json.Unmarshal(body, &k); err != nil {
		g.log.Warn("kept response unreadable", "request_id", reqid.From(ctx), "err", err)
		return nil, nil
	}
	return &k, nil
}

// continueTranslated returns req's body rewritten to carry the kept
// conversation of the response it continues, and true, when the gateway
// translated that response; otherwise false; errResponseStore when it
// cannot tell.
func (g *Gateway) continueTranslated(ctx context.Context, tenant string, req *llm.Request) ([]byte, bool, *apiError) {
	if req.Continues == "" {
		return nil, false, nil
	}
	k, err := g.keptTranslated(ctx, tenant, req.Continues)
	if err != nil {
		return nil, false, errResponseStore
	}
	if k == nil {
		return nil, false, nil
	}
	body, err := sjson.DeleteBytes(req.Raw, "previous_response_id")
	if err == nil {
		body, err = sjson.SetRawBytes(body, "input", joinArrays(k.conversation(), inputItems(req.Raw)))
	}
	if err != nil {
		return nil, false, nil
	}
	return body, true, nil
}

// keepTranslated keeps translated response id: object is what the client
// got, history its output as input items. A request with store false
// keeps nothing, as OpenAI keeps nothing of one.
func (g *Gateway) keepTranslated(ctx context.Context, x *exchange, id string, object, history []byte) {
	if x.who == nil || !validResponseID(id) {
		return
	}
	if st := gjson.GetBytes(x.req.Raw, "store"); st.Exists() && st.Type == gjson.False {
		return
	}
	input := inputItems(x.req.Raw)
	body, err := json.Marshal(keptResponse{Input: input, Output: history, Response: object, IDs: g.keptItemIDs(ctx, x, id, input, object, history)})
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if err := g.affinity.Set(ctx, conversationKey(x.who.TenantID, id), &cache.Entry{Stored: g.now(), Body: body}, responseAffinityTTL); err != nil {
		g.log.Warn("kept response store failed", "request_id", reqid.From(ctx), "err", err)
	}
}

// keptItemIDs gives the items of translated response id's conversation
// (input, then history) their ids (see keptResponse.IDs): those of the
// response it continued, kept, for its items that lead input; the
// answer's, from its response object, for history; else the item's own,
// or one made of id and its position.
func (g *Gateway) keptItemIDs(ctx context.Context, x *exchange, id string, input, object, history []byte) []string {
	in, out := gjson.ParseBytes(input).Array(), gjson.ParseBytes(history).Array()
	ids := make([]string, 0, len(in)+len(out))
	if prev := x.req.PreviousResponseID; prev != "" {
		if k, err := g.keptTranslated(ctx, x.who.TenantID, prev); err == nil && k != nil {
			if kept := k.itemIDs(prev); len(kept) <= len(in) {
				ids = append(ids, kept...)
			}
		}
	}
	for i := len(ids); i < len(in); i++ {
		ids = append(ids, keptItemID(id, i, []byte(in[i].Raw)))
	}
	answer := gjson.GetBytes(object, "output").Array()
	for i, it := range out {
		if len(answer) == len(out) && answer[i].Get("id").Str != "" {
			ids = append(ids, answer[i].Get("id").Str)
		} else {
			ids = append(ids, keptItemID(id, len(in)+i, []byte(it.Raw)))
		}
	}
	return ids
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
