package gateway

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/switchyard-gw/switchyard/internal/cache"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/reqid"
)

// HeaderCache says how the response cache served a request: hit (the
// answer is a stored one), miss (none stored; the answer is stored when it
// completes) or bypass (the request's Cache-Control said no-store). Absent
// when the cache is off.
const HeaderCache = "X-Switchyard-Cache"

// HeaderCacheSimilarity is the cosine similarity of a semantic hit's last
// user message to the one whose answer it is.
const HeaderCacheSimilarity = "X-Switchyard-Cache-Similarity"

// Cache endpoints, part of the key: one request body means different things
// on different endpoints.
const (
	cacheOpenAIChat        = "openai.chat"
	cacheAnthropicMessages = "anthropic.messages"
	cacheOpenAIResponses   = "openai.responses"
	cacheOpenAICompletions = "openai.completions"
	cacheOpenAIEmbeddings  = "openai.embeddings"
	cacheOpenAIModerations = "openai.moderations"
)

// How long the request path waits for the cache: a lookup before the
// upstream call, a store after the client has the answer.
const (
	cacheLookupTimeout = 100 * time.Millisecond
	cacheStoreTimeout  = time.Second
)

// Values of the result label of switchyard_cache_total.
const (
	cacheResultHit          = "hit"
	cacheResultSemanticHit  = "semantic_hit"
	cacheResultMiss         = "miss"
	cacheResultBypass       = "bypass"
	cacheResultError        = "error"
	cacheResultStored       = "stored"
	cacheResultTooLarge     = "too_large"
	cacheResultNotCacheable = "not_cacheable"
	cacheResultCoalesced    = "coalesced"
)

// cached is the response cache step, after admission and before any
// upstream call. On a hit it has answered and returns hit true. Otherwise
// it returns the writer the answer must go through and, when the answer
// may be stored, a function to call once the answer is complete. With the
// cache off it returns w and nil at no cost.
//
// A hit calls no model: its usage record says cache_hit, with no
// deployment, and no tokens or cost but a semantic lookup's embedding. Only complete answers are stored: a
// 200 whose stream ended with its terminal event and that fits
// cache.max_entry_bytes. The key holds the tenant, so tenants never see
// each other's answers; the route the request was decided to, so an
// answer is only served to a key that may use that route; and the tier
// and arm (cacheScope).
//
// A non-streamed miss with an identical request already upstream waits for
// that request's answer (flights) and is served it as a hit; when that
// answer is not one to store, it goes upstream itself.
func (g *Gateway) cached(w http.ResponseWriter, r *http.Request, x *exchange, rt *runtime, endpoint string, body []byte, stream bool) (http.ResponseWriter, func(), bool) {
	cc := rt.cfg.Cache
	if g.cache == nil || !cc.Enabled() {
		return w, nil, false
	}
	route := x.decision.Route
	if x.decision.NoCache {
		return w, nil, false // a route on the way opted out
	}
	if endpoint == cacheOpenAIResponses && (anyTopLevel(body, "conversation", gjson.Result.Exists) || anyTopLevel(body, "background", gjson.Result.Bool)) {
		// The conversation named is state upstream that each turn adds
		// to: the same body is another request every time. A background
		// response's answer is a queued job, not the answer to keep.
		return w, nil, false
	}
	if endpoint == cacheAnthropicMessages && anyTopLevel(body, "thread", notNull) {
		// A thread is a conversation Anthropic keeps, which each turn
		// creates or adds to, as a Responses conversation is.
		return w, nil, false
	}
	if endpoint == cacheOpenAIChat && anyTopLevel(body, "store", gjson.Result.Bool) {
		// store: true asks the provider to keep a new completion, which
		// the tenant may list, update or delete: an earlier one's
		// answer, perhaps deleted since, is not that.
		return w, nil, false
	}
	lookup, keep := cacheDirectives(r.Header)
	if !keep {
		w.Header().Set(HeaderCache, cacheResultBypass)
		g.countCache(route, cacheResultBypass)
		return w, nil, false
	}
	key := cache.Key(x.who.TenantID, endpoint, cacheScope(x), body)
	sem := g.semanticQuery(rt, x, endpoint, route, body)
	// An answer made by a deployment that did not get every field of the
	// request does not serve a request that requires them.
	// Nor is an answer served older than the ttl in force (a reload may
	// have lowered it), or a Responses answer whose response, or the one
	// it continues, the tenant has deleted.
	ttl := cc.TTL.D()
	fits := func(e *cache.Entry) bool {
		return e != nil && (!x.requireParams || len(rt.lost(x.dialect, x.req, e.Deployment)) == 0) &&
			g.now().Sub(e.Stored) <= ttl &&
			(endpoint != cacheOpenAIResponses || !g.responseGone(r.Context(), x.who.TenantID, e, previousResponse(x)))
	}
	if lookup {
		if e := g.cacheGet(r, route, key); fits(e) {
			g.countCache(route, cacheResultHit)
			g.serveCached(w, x, e, 0)
			return w, nil, true
		}
	}
	// An identical request in flight is joined before the semantic lookup:
	// its answer (from upstream or its own semantic hit) is this one's, so
	// embedding the question again would be paid for nothing. A burst of
	// one question costs one call and one embedding.
	var fl *flight // this request's flight, when it leads one
	if lookup && !stream {
		f, leader := g.flights.join(key)
		if leader {
			fl = f
		} else if e := g.flights.wait(r.Context(), f); fits(e) {
			g.countCache(route, cacheResultCoalesced)
			g.serveCached(w, x, e, 0)
			return w, nil, true
		}
	}
	if lookup {
		if e, similarity := g.semanticLookup(r, x, route, sem); fits(e) {
			if fl != nil {
				g.flights.land(key, fl, e) // those that joined get the same answer
			}
			g.countCache(route, cacheResultSemanticHit)
			g.serveCached(w, x, e, similarity)
			return w, nil, true
		}
	}
	g.countCache(route, cacheResultMiss)
	w.Header().Set(HeaderCache, cacheResultMiss)
	cw := &captureWriter{ResponseWriter: w, limit: cc.MaxEntryBytes}
	save := func() {
		var e *cache.Entry
		if fl != nil {
			defer func() { g.flights.land(key, fl, e) }()
		}
		switch {
		case x.status != http.StatusOK || cw.status != http.StatusOK || x.partial || x.errKind != "" || x.uncacheable:
			return
		case cw.over:
			g.countCache(route, cacheResultTooLarge)
			return
		case !cacheableType(cw.Header().Get("Content-Type")):
			g.countCache(route, cacheResultNotCacheable)
			return
		}
		e = &cache.Entry{ContentType: cw.Header().Get("Content-Type"), Model: x.model, Stored: g.now(), Body: cw.buf}
		if x.trace != nil {
			e.Deployment = x.trace.Deployment
		}
		// Written after the handler returns, so neither the end of the
		// client's response (a stream's last chunk) nor the request's
		// logged latency waits for a slow cache.
		ctx := context.WithoutCancel(r.Context())
		g.stores.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, cacheStoreTimeout)
			defer cancel()
			if err := g.cache.Set(ctx, key, e, cc.TTL.D()); err != nil {
				g.log.Warn("cache store failed", "request_id", reqid.From(ctx), "err", err)
				g.countCache(route, cacheResultError)
				return
			}
			g.countCache(route, cacheResultStored)
			if sem != nil && sem.vec != nil {
				g.semantic.Add(sem.ns, sem.vec, key, cc.TTL.D())
			}
		})
	}
	return cw, save, false
}

// cacheScope is the routing part of a cache key: the route, the plan's
// first deployment, the key's tier and the weighted arm. The same body on
// the same route can be planned elsewhere (a tier's own route, a rule on a
// header, another A/B arm, an open circuit); it then gets the answers of
// where it is sent, and an A/B test never sees one arm's answers served
// to the other.
func cacheScope(x *exchange) string {
	primary := ""
	if len(x.decision.Deployments) > 0 {
		primary = x.decision.Deployments[0]
	}
	scope := x.decision.Route + "\x00" + primary + "\x00tier=" + x.who.Tier + "\x00arm=" + x.decision.Arm
	if x.req != nil && x.req.Beta != "" {
		scope += "\x00beta=" + x.req.Beta // a beta can change the answer
	}
	return scope
}

// cacheGet reads the entry under key, bounded in time; a failure is
// logged, counted and served as a miss: a cache that fails costs an
// upstream call, never the request.
func (g *Gateway) cacheGet(r *http.Request, route, key string) *cache.Entry {
	ctx, cancel := context.WithTimeout(r.Context(), cacheLookupTimeout)
	defer cancel()
	e, err := g.cache.Get(ctx, key)
	if err != nil {
		g.log.Warn("cache lookup failed", "request_id", reqid.From(r.Context()), "err", err)
		g.countCache(route, cacheResultError)
	}
	return e
}

// serveCached writes a stored answer: the same body, with Age saying how
// old it is and the route headers of this request; a semantic hit also
// says its similarity.
func (g *Gateway) serveCached(w http.ResponseWriter, x *exchange, e *cache.Entry, similarity float64) {
	x.cacheHit = true
	x.status = http.StatusOK
	x.model = e.Model
	h := w.Header()
	h.Set("Content-Type", e.ContentType)
	if strings.HasPrefix(e.ContentType, "text/event-stream") {
		h.Set("Cache-Control", "no-cache")
	}
	h.Set(HeaderCache, cacheResultHit)
	if similarity > 0 {
		h.Set(HeaderCacheSimilarity, strconv.FormatFloat(similarity, 'f', 4, 64))
	}
	h.Set("Age", strconv.FormatInt(int64(max(g.now().Sub(e.Stored), 0)/time.Second), 10))
	h.Set("Content-Length", strconv.Itoa(len(e.Body)))
	_, cost := x.accounted() // a semantic hit's embedding call
	h.Set(HeaderCost, costHeader(cost))
	if e.Deployment != "" && x.req != nil && x.rt != nil && x.dialect.untranslated != nil {
		// The answer is still one made without what its deployment does
		// not get: the client is told so, as on the miss.
		if dropped := droppedHeader(x.rt.lost(x.dialect, x.req, e.Deployment)); dropped != "" {
			h.Set(HeaderDropped, dropped)
		}
	}
	g.setRouteHeaders(w, x)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(e.Body)
}

// cacheableType reports whether a response of this content type is an
// answer worth storing (JSON or an SSE stream).
func cacheableType(ct string) bool {
	return strings.HasPrefix(ct, "application/json") || strings.HasPrefix(ct, "text/event-stream")
}

// cacheDirectives reads the request's Cache-Control: no-cache skips the
// lookup (the fresh answer is still stored), no-store skips both.
func cacheDirectives(h http.Header) (lookup, keep bool) {
	lookup, keep = true, true
	for _, v := range h.Values("Cache-Control") {
		for d := range strings.SplitSeq(v, ",") {
			switch strings.ToLower(strings.TrimSpace(d)) {
			case "no-cache":
				lookup = false
			case "no-store":
				lookup, keep = false, false
			}
		}
	}
	return lookup, keep
}

func (g *Gateway) countCache(route, result string) {
	// route is a decided, admitted route: a configured name.
	if g.metrics != nil && g.metrics.Cache != nil {
		g.metrics.Cache.WithLabelValues(route, result).Inc()
	}
}

// captureWriter passes a response through and keeps a copy of its body, up
// to limit bytes, for the cache.
type captureWriter struct {
	http.ResponseWriter
	limit  int64
	status int
	buf    []byte
	over   bool
}

func (c *captureWriter) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *captureWriter) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if !c.over {
		if int64(len(c.buf)+len(p)) > c.limit {
			c.over, c.buf = true, nil
		} else {
			c.buf = append(c.buf, p...)
		}
	}
	return c.ResponseWriter.Write(p)
}

// Flush lets streams through the capture flush per event.
func (c *captureWriter) Flush() { _ = http.NewResponseController(c.ResponseWriter).Flush() }

// Unwrap gives http.ResponseController the writer underneath.
func (c *captureWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// semQuery is a request's side of the semantic lookup: its namespace
// (everything but the last user message's content) and, once embedded, the
// embedding of that message.
type semQuery struct {
	ns   string
	text string
	vec  []float32
}

// semanticQuery prepares the semantic lookup of a chat request, or returns
// nil when it has none (semantic off, embeddings, no user text).
func (g *Gateway) semanticQuery(rt *runtime, x *exchange, endpoint, route string, body []byte) *semQuery {
	sc := rt.cfg.Cache.Semantic
	if g.semantic == nil || sc.EmbeddingDeployment == "" || x.req == nil || x.req.LastUserText == "" {
		return nil
	}
	stripped, ok := withoutLastUserContent(x.dialect.name, body)
	if !ok {
		return nil
	}
	return &semQuery{ns: cache.Key(x.who.TenantID, endpoint+".semantic", cacheScope(x), stripped), text: x.req.LastUserText}
}

// semanticLookup embeds the last user message (its cost joins the
// request's, like a classifier call) and looks for a stored answer to a
// message that close in the same namespace. An embedding that fails or
// takes longer than cache.semantic.timeout is a miss.
func (g *Gateway) semanticLookup(r *http.Request, x *exchange, route string, q *semQuery) (*cache.Entry, float64) {
	if q == nil {
		return nil, 0
	}
	sc := x.rt.cfg.Cache.Semantic
	ctx, cancel := context.WithTimeout(r.Context(), sc.Timeout.D())
	vec, err := g.embedText(ctx, sc.EmbeddingDeployment, q.text)
	cancel()
	if err != nil {
		g.log.Warn("cache embedding failed", "request_id", reqid.From(r.Context()), "err", err)
		g.countCache(route, cacheResultError)
		return nil, 0
	}
	q.vec = vec
	key, similarity, ok := g.semantic.Nearest(q.ns, vec, sc.Threshold)
	if !ok {
		return nil, 0
	}
	return g.cacheGet(r, route, key), similarity
}

// withoutLastUserContent is a chat request body with the text of its last
// user message removed, or false when it has none. Only the parts whose text
// is embedded go (embeddedPart): the embedding compares that text alone, so
// an image, a file, audio, a tool result (an agent's fresh tool output) or
// a part type the dialect does not read as text stays in the namespace,
// and a message that differs in them never matches.
func withoutLastUserContent(d llm.Dialect, body []byte) ([]byte, bool) {
	field := "messages"
	if d == llm.DialectOpenAIResponses {
		field = "input"
	}
	list := gjson.GetBytes(body, field)
	path := ""
	switch {
	case list.Type == gjson.String:
		path = field
	case list.IsArray():
		i := 0
		list.ForEach(func(_, m gjson.Result) bool {
			if m.Get("role").Str == "user" {
				path = field + "." + strconv.Itoa(i) + ".content"
			}
			i++
			return true
		})
	}
	if path == "" {
		return nil, false
	}
	if parts := gjson.GetBytes(body, path); parts.IsArray() {
		var kept []byte
		parts.ForEach(func(_, p gjson.Result) bool {
			if !embeddedPart(d, p.Get("type").Str) {
				if kept == nil {
					kept = append(kept, '[')
				} else {
					kept = append(kept, ',')
				}
				kept = append(kept, p.Raw...)
			}
			return true
		})
		if kept != nil {
			out, err := sjson.SetRawBytes(body, path, append(kept, ']'))
			return out, err == nil
		}
	}
	out, err := sjson.DeleteBytes(body, path)
	return out, err == nil
}

// embeddedPart reports whether a content part of type t in dialect d is
// text its parser puts in the last user message's text (LastUserText),
// which the semantic cache embeds: an input_text part of a Chat
// Completions or Messages request is not, so it must keep a request's
// namespace apart.
func embeddedPart(d llm.Dialect, t string) bool {
	switch d {
	case llm.DialectOpenAIResponses:
		return t == "input_text" || t == "output_text" || t == "refusal"
	case llm.DialectOpenAI:
		return t == "text" || t == "refusal"
	}
	return t == "text"
}

// notNull reports whether v is present and not null.
func notNull(v gjson.Result) bool { return v.Exists() && v.Type != gjson.Null }

// anyTopLevel reports whether any top-level member of body named key
// satisfies is: a body may name a member twice, and where gjson reads the
// first, an upstream may read the last ({"store":false,"store":true} is
// stored upstream), so each is looked at (found by audit V).
func anyTopLevel(body []byte, key string, is func(gjson.Result) bool) bool {
	found := false
	gjson.ParseBytes(body).ForEach(func(k, v gjson.Result) bool {
		if k.Str == key && is(v) {
			found = true
		}
		return !found
	})
	return found
}
