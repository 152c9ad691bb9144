package gateway

import (
	"net/http"
	"sort"
	"strconv"

	"github.com/switchyard-gw/switchyard/internal/anthropicapi"
	"github.com/switchyard-gw/switchyard/internal/openaiapi"
)

// Handler returns the API endpoints: OpenAI chat completions, embeddings and
// models, and Anthropic messages.
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", g.ServeOpenAIChat)
	mux.HandleFunc("GET /v1/chat/completions", g.ServeStoredCompletionList)
	mux.HandleFunc("GET /v1/chat/completions/{id}", g.ServeStoredCompletion)
	mux.HandleFunc("POST /v1/chat/completions/{id}", g.ServeStoredCompletion)
	mux.HandleFunc("DELETE /v1/chat/completions/{id}", g.ServeStoredCompletion)
	mux.HandleFunc("GET /v1/chat/completions/{id}/messages", g.ServeStoredCompletion)
	mux.HandleFunc("POST /chat/completions", g.ServeOpenAIChat)
	mux.HandleFunc("POST /v1/responses", g.ServeOpenAIResponses)
	mux.HandleFunc("GET /v1/responses", g.ServeResponsesWebSocket)
	mux.HandleFunc("POST /v1/responses/compact", g.ServeResponsesCompact)
	mux.HandleFunc("POST /v1/responses/input_tokens", g.ServeResponsesInputTokens)
	mux.HandleFunc("GET /responses", g.ServeResponsesWebSocket)
	mux.HandleFunc("GET /v1/responses/{id}", g.ServeOpenAIResponseObject)
	mux.HandleFunc("DELETE /v1/responses/{id}", g.ServeOpenAIResponseObject)
	mux.HandleFunc("POST /v1/responses/{id}/cancel", g.ServeOpenAIResponseObject)
	mux.HandleFunc("GET /v1/responses/{id}/input_items", g.ServeOpenAIResponseObject)
	mux.HandleFunc("POST /v1/completions", g.ServeOpenAICompletions)
	mux.HandleFunc("POST /completions", g.ServeOpenAICompletions)
	mux.HandleFunc("POST /responses", g.ServeOpenAIResponses)
	mux.HandleFunc("POST /v1/messages", g.ServeAnthropicMessages)
	mux.HandleFunc("POST /v1/messages/count_tokens", g.ServeAnthropicCountTokens)
	mux.HandleFunc("POST /v1/embeddings", g.ServeEmbeddings)
	mux.HandleFunc("POST /embeddings", g.ServeEmbeddings)
	mux.HandleFunc("POST /v1/moderations", g.ServeModerations)
	mux.HandleFunc("POST /moderations", g.ServeModerations)
	mux.HandleFunc("POST /v1/images/generations", g.ServeImages)
	mux.HandleFunc("POST /images/generations", g.ServeImages)
	mux.HandleFunc("POST /v1/images/edits", g.ServeImageEdits)
	mux.HandleFunc("POST /images/edits", g.ServeImageEdits)
	mux.HandleFunc("POST /v1/images/variations", g.ServeImageVariations)
	mux.HandleFunc("POST /images/variations", g.ServeImageVariations)
	mux.HandleFunc("POST /v1/audio/speech", g.ServeSpeech)
	mux.HandleFunc("POST /audio/speech", g.ServeSpeech)
	mux.HandleFunc("POST /v1/audio/transcriptions", g.ServeTranscriptions)
	mux.HandleFunc("POST /audio/transcriptions", g.ServeTranscriptions)
	mux.HandleFunc("POST /v1/audio/translations", g.ServeTranslations)
	mux.HandleFunc("POST /audio/translations", g.ServeTranslations)
	mux.HandleFunc("GET /v1/models", g.ServeModels)
	mux.HandleFunc("GET /models", g.ServeModels)
	mux.HandleFunc("GET /v1/models/{model...}", g.ServeModel)
	mux.HandleFunc("GET /models/{model...}", g.ServeModel)
	mux.HandleFunc("POST /v1/route/explain", g.ServeExplain)
	mux.HandleFunc("GET /v1/realtime", g.ServeRealtime)
	mux.HandleFunc("POST /v1/realtime/client_secrets", g.ServeRealtimeClientSecrets)
	mux.HandleFunc("POST /v1/videos", g.ServeVideos)
	mux.HandleFunc("GET /v1/videos", g.ServeVideoList)
	mux.HandleFunc("GET /v1/videos/{id}", g.ServeVideoObject)
	mux.HandleFunc("DELETE /v1/videos/{id}", g.ServeVideoObject)
	mux.HandleFunc("GET /v1/videos/{id}/content", g.ServeVideoObject)
	mux.HandleFunc("POST /v1/videos/{id}/remix", g.ServeVideoRemix)
	mux.HandleFunc("POST /v1/conversations", g.ServeConversations)
	mux.HandleFunc("POST /conversations", g.ServeConversations)
	for _, p := range []string{"/v1/conversations/{id}", "/conversations/{id}"} {
		mux.HandleFunc("GET "+p, g.ServeConversationObject)
		mux.HandleFunc("POST "+p, g.ServeConversationObject)
		mux.HandleFunc("DELETE "+p, g.ServeConversationObject)
		mux.HandleFunc("GET "+p+"/items", g.ServeConversationObject)
		mux.HandleFunc("POST "+p+"/items", g.ServeConversationObject)
		mux.HandleFunc("GET "+p+"/items/{item}", g.ServeConversationObject)
		mux.HandleFunc("DELETE "+p+"/items/{item}", g.ServeConversationObject)
	}
	// The same paths with another method, and every other path, get an
	// error in the API's own format rather than net/http's plain text.
	for _, e := range []struct {
		path, allow string
		d           *dialect
	}{
		{"/v1/chat/completions", "GET, POST", openAIDialect},
		{"/v1/chat/completions/{id}", "GET, POST, DELETE", openAIDialect},
		{"/v1/chat/completions/{id}/messages", "GET", openAIDialect},
		{"/chat/completions", "POST", openAIDialect},
		{"/v1/responses", "POST", openAIDialect},
		{"/v1/completions", "POST", openAIDialect},
		{"/completions", "POST", openAIDialect},
		{"/responses", "POST", openAIDialect},
		{"/v1/messages", "POST", anthropicDialect},
		{"/v1/messages/count_tokens", "POST", anthropicDialect},
		{"/v1/embeddings", "POST", openAIDialect},
		{"/embeddings", "POST", openAIDialect},
		{"/v1/moderations", "POST", openAIDialect},
		{"/moderations", "POST", openAIDialect},
		{"/v1/images/generations", "POST", openAIDialect},
		{"/images/generations", "POST", openAIDialect},
		{"/v1/images/edits", "POST", openAIDialect},
		{"/images/edits", "POST", openAIDialect},
		{"/v1/images/variations", "POST", openAIDialect},
		{"/images/variations", "POST", openAIDialect},
		{"/v1/audio/speech", "POST", openAIDialect},
		{"/audio/speech", "POST", openAIDialect},
		{"/v1/audio/transcriptions", "POST", openAIDialect},
		{"/audio/transcriptions", "POST", openAIDialect},
		{"/v1/audio/translations", "POST", openAIDialect},
		{"/audio/translations", "POST", openAIDialect},
		{"/v1/models", "GET, HEAD", openAIDialect},
		{"/models", "GET, HEAD", openAIDialect},
		{"/v1/route/explain", "POST", openAIDialect},
		{"/v1/realtime", "GET", openAIDialect},
		{"/v1/realtime/client_secrets", "POST", openAIDialect},
		{"/v1/videos", "GET, POST", openAIDialect},
		{"/v1/videos/{id}", "GET, DELETE", openAIDialect},
		{"/v1/videos/{id}/content", "GET", openAIDialect},
		{"/v1/videos/{id}/remix", "POST", openAIDialect},
		{"/v1/conversations", "POST", openAIDialect},
		{"/v1/conversations/{id}", "GET, POST, DELETE", openAIDialect},
		{"/v1/conversations/{id}/items", "GET, POST", openAIDialect},
		{"/v1/conversations/{id}/items/{item}", "GET, DELETE", openAIDialect},
	} {
		mux.HandleFunc(e.path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", e.allow)
			e.d.writeError(w, &apiError{status: http.StatusMethodNotAllowed, code: "method_not_allowed", anthropicType: "invalid_request_error",
				message: r.Method + " is not allowed on " + e.path + " (allowed: " + e.allow + ")"})
		})
	}
	notFound := func(w http.ResponseWriter, r *http.Request) {
		d := openAIDialect
		if r.Header.Get("anthropic-version") != "" || r.Header.Get("x-api-key") != "" {
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
	return mux
}

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
	x.status = http.StatusOK
	if x.dialect == anthropicDialect {
		_ = anthropicapi.WriteModels(w, ids, g.now())
		return
	}
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
