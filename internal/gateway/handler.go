package gateway

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/propagation"

	"github.com/switchyard-gw/switchyard/internal/anthropicapi"
	"github.com/switchyard-gw/switchyard/internal/httpmux"
	"github.com/switchyard-gw/switchyard/internal/openaiapi"
)

// Handler returns the API endpoints: OpenAI chat completions, embeddings and
// models, and Anthropic messages.
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	// Every path's methods, for the Allow header of a 405.
	methods := map[string][]string{}
	var paths []string
	handle := func(pattern string, h http.HandlerFunc) {
		mux.HandleFunc(pattern, h)
		method, path, _ := strings.Cut(pattern, " ")
		if _, ok := methods[path]; !ok {
			paths = append(paths, path)
		}
		methods[path] = append(methods[path], method)
	}
	handle("POST /v1/chat/completions", g.ServeOpenAIChat)
	handle("GET /v1/chat/completions", g.ServeStoredCompletionList)
	handle("GET /v1/chat/completions/{id}", g.ServeStoredCompletion)
	handle("POST /v1/chat/completions/{id}", g.ServeStoredCompletion)
	handle("DELETE /v1/chat/completions/{id}", g.ServeStoredCompletion)
	handle("GET /v1/chat/completions/{id}/messages", g.ServeStoredCompletion)
	handle("POST /chat/completions", g.ServeOpenAIChat)
	handle("POST /v1/responses", g.ServeOpenAIResponses)
	handle("GET /v1/responses", g.ServeResponsesWebSocket)
	handle("POST /v1/responses/compact", g.ServeResponsesCompact)
	handle("POST /v1/responses/input_tokens", g.ServeResponsesInputTokens)
	handle("GET /responses", g.ServeResponsesWebSocket)
	handle("GET /v1/responses/{id}", g.ServeOpenAIResponseObject)
	handle("DELETE /v1/responses/{id}", g.ServeOpenAIResponseObject)
	handle("POST /v1/responses/{id}/cancel", g.ServeOpenAIResponseObject)
	handle("GET /v1/responses/{id}/input_items", g.ServeOpenAIResponseObject)
	handle("POST /v1/completions", g.ServeOpenAICompletions)
	handle("POST /completions", g.ServeOpenAICompletions)
	handle("POST /responses", g.ServeOpenAIResponses)
	handle("POST /v1/messages", g.ServeAnthropicMessages)
	handle("POST /v1/messages/count_tokens", g.ServeAnthropicCountTokens)
	handle("POST /v1/embeddings", g.ServeEmbeddings)
	handle("POST /embeddings", g.ServeEmbeddings)
	handle("POST /v1/moderations", g.ServeModerations)
	handle("POST /moderations", g.ServeModerations)
	handle("POST /v1/images/generations", g.ServeImages)
	handle("POST /images/generations", g.ServeImages)
	handle("POST /v1/images/edits", g.ServeImageEdits)
	handle("POST /images/edits", g.ServeImageEdits)
	handle("POST /v1/images/variations", g.ServeImageVariations)
	handle("POST /images/variations", g.ServeImageVariations)
	handle("POST /v1/audio/speech", g.ServeSpeech)
	handle("POST /audio/speech", g.ServeSpeech)
	handle("POST /v1/audio/transcriptions", g.ServeTranscriptions)
	handle("POST /audio/transcriptions", g.ServeTranscriptions)
	handle("POST /v1/audio/translations", g.ServeTranslations)
	handle("POST /audio/translations", g.ServeTranslations)
	handle("GET /v1/models", g.ServeModels)
	handle("GET /models", g.ServeModels)
	handle("GET /v1/models/{model...}", g.ServeModel)
	handle("GET /models/{model...}", g.ServeModel)
	handle("POST /v1/route/explain", g.ServeExplain)
	handle("GET /v1/realtime", g.ServeRealtime)
	handle("POST /v1/realtime/client_secrets", g.ServeRealtimeClientSecrets)
	handle("POST /v1/videos", g.ServeVideos)
	handle("GET /v1/videos", g.ServeVideoList)
	handle("GET /v1/videos/{id}", g.ServeVideoObject)
	handle("DELETE /v1/videos/{id}", g.ServeVideoObject)
	handle("GET /v1/videos/{id}/content", g.ServeVideoObject)
	handle("POST /v1/videos/{id}/remix", g.ServeVideoRemix)
	handle("POST /v1/conversations", g.ServeConversations)
	handle("POST /conversations", g.ServeConversations)
	for _, p := range []string{"/v1/conversations/{id}", "/conversations/{id}"} {
		handle("GET "+p, g.ServeConversationObject)
		handle("POST "+p, g.ServeConversationObject)
		handle("DELETE "+p, g.ServeConversationObject)
		handle("GET "+p+"/items", g.ServeConversationObject)
		handle("POST "+p+"/items", g.ServeConversationObject)
		handle("GET "+p+"/items/{item}", g.ServeConversationObject)
		handle("DELETE "+p+"/items/{item}", g.ServeConversationObject)
	}
	// The same paths with another method, and every other path, get an
	// error in the API's own format rather than net/http's plain text.
	for _, path := range paths {
		anthropicPath := strings.HasPrefix(path, "/v1/messages")
		httpmux.HandleWrongMethods(mux, path, methods[path], func(allow string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Allow", allow)
				d := openAIDialect
				if anthropicPath || AnthropicClient(r) {
					d = anthropicDialect
				}
				d.writeError(w, &apiError{status: http.StatusMethodNotAllowed, code: "method_not_allowed", anthropicType: "invalid_request_error",
					message: r.Method + " is not allowed on " + path + " (allowed: " + allow + ")"})
			}
		})
	}
	notFound := func(w http.ResponseWriter, r *http.Request) {
		d := openAIDialect
		if AnthropicClient(r) {
			d = anthropicDialect
		}
		d.writeError(w, &apiError{status: http.StatusNotFound, code: "unknown_url", anthropicType: "not_found_error",
			message: "no such endpoint: " + r.Method + " " + strconv.Quote(truncate(r.URL.Path, 200))})
	}
	// The Videos API's character, edit and extension endpoints are not
	// served: they would otherwise read as a video id's wrong method.
	for _, p := range []string{"POST /v1/videos/characters", "POST /v1/videos/edits", "POST /v1/videos/extensions"} {
		mux.HandleFunc(p, notFound)
	}
	mux.HandleFunc("/", notFound)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if httpmux.Unclean(r.URL.Path) {
			notFound(w, r) // not ServeMux's redirect to the cleaned path
			return
		}
		if r.Header.Get("Traceparent") != "" { // canonical: Get allocates otherwise
			// A caller's W3C trace context: the request's span joins
			// its trace (and, parent-based, its sampling decision).
			r = r.WithContext(traceContext.Extract(r.Context(), propagation.HeaderCarrier(r.Header)))
		}
		httpmux.Serve(mux, w, r) // methods no pattern names (PROPFIND) get their 405 too
	})
}

var traceContext = propagation.TraceContext{}

// truncate cuts s to at most n bytes, for echoing client input in messages.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// modelsDialect is the dialect a models request is answered in: the
// Anthropic SDKs send anthropic-version, and get the Anthropic Models API's
// shape (and errors); everyone else OpenAI's.
func modelsDialect(r *http.Request) *dialect {
	if r.Header.Get("anthropic-version") != "" {
		return anthropicDialect
	}
	return openAIDialect
}

// ServeModels serves GET /v1/models: every route and deployment name the
// caller's key may put in "model", in OpenAI's list shape or, for an
// Anthropic client, Anthropic's.
func (g *Gateway) ServeModels(w http.ResponseWriter, r *http.Request) {
	x, r := g.start(r, modelsDialect(r), "switchyard.models")
	defer g.finish(r.Context(), x)
	rt, _, ok := g.authenticated(w, r, x)
	if !ok {
		return
	}
	ids := make([]string, 0, len(rt.cfg.Routes)+len(rt.cfg.Deployments))
	for _, rr := range rt.cfg.Routes {
		if x.who.allows(rr.Name) {
			ids = append(ids, rr.Name)
		}
	}
	for _, d := range rt.cfg.Deployments {
		if x.who.allows(d.Name) {
			ids = append(ids, d.Name)
		}
	}
	sort.Strings(ids)
	if x.dialect == anthropicDialect {
		page, more, err := anthropicapi.PageModels(ids, r.URL.Query())
		if err != nil {
			g.failErr(w, x, err)
			return
		}
		x.status = http.StatusOK
		_ = anthropicapi.WriteModels(w, page, more, g.now())
		return
	}
	x.status = http.StatusOK
	_ = openaiapi.WriteModels(w, ids)
}

// ServeModel serves GET /v1/models/{model}: the model object of a route or
// deployment the caller's key may use, else 404 model_not_found (a name
// the key may not use is not confirmed to exist).
func (g *Gateway) ServeModel(w http.ResponseWriter, r *http.Request) {
	x, r := g.start(r, modelsDialect(r), "switchyard.models")
	defer g.finish(r.Context(), x)
	rt, _, ok := g.authenticated(w, r, x)
	if !ok {
		return
	}
	id := r.PathValue("model")
	if !rt.names(id) || !x.who.allows(id) {
		g.fail(w, x, &apiError{status: http.StatusNotFound, code: "model_not_found", anthropicType: "not_found_error",
			message: "model " + strconv.Quote(truncate(id, 200)) + " does not exist or this key may not use it"})
		return
	}
	x.decision.Route = id
	x.status = http.StatusOK
	if x.dialect == anthropicDialect {
		_ = anthropicapi.WriteModel(w, id, g.now())
		return
	}
	_ = openaiapi.WriteModel(w, id)
}

// AnthropicClient reports whether r comes from an Anthropic client (it
// carries anthropic-version or x-api-key), whose errors are in
// Anthropic's format on any path the gateway refuses, and on the
// endpoints mounted beside the gateway's (files, batches, feedback).
func AnthropicClient(r *http.Request) bool {
	return r.Header.Get("anthropic-version") != "" || r.Header.Get("x-api-key") != ""
}
