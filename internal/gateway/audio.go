package gateway

import (
	"context"
	"net/http"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/openaiapi"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/tokens"
)

// servesAudio reports whether a provider serves OpenAI's audio endpoints.
func servesAudio(p provider.Provider) bool { _, ok := p.(provider.AudioProvider); return ok }

// ServeSpeech serves POST /v1/audio/speech (serveRelayed), to the
// deployments with capabilities.speech: the body relayed with only model
// rewritten, the audio returned as it came, never cached. It is priced
// on its input text, estimated as tokens.
func (g *Gateway) ServeSpeech(w http.ResponseWriter, r *http.Request) {
	x, r := g.start(r, openAIDialect, "switchyard.speech")
	defer g.finish(r.Context(), x)
	rt, body, ok := g.authenticated(w, r, x)
	if !ok {
		return
	}
	req, err := openaiapi.ParseSpeech(body)
	if err != nil {
		g.failErr(w, x, err)
		return
	}
	model, ok := g.modelOrFirst(w, x, rt, req.Model, config.CapSpeech, "speech")
	if !ok {
		return
	}
	g.serveRelayed(w, r, x, rt, body, relayed{
		model: model, inputTokens: tokens.FromBytes(req.InputBytes),
		capability: config.CapSpeech, what: "speech", serves: servesAudio,
		call: func(ctx context.Context, p *executor.Plan, input int) (relayedAnswer, *executor.Trace, error) {
			resp, trace, err := g.exec.Speak(ctx, p, req, input)
			return audioAnswer(resp), trace, err
		},
	})
}

// ServeTranscriptions serves POST /v1/audio/transcriptions, and
// ServeTranslations /v1/audio/translations: the multipart form is read,
// routed by its model field to the deployments with
// capabilities.transcription, and written again for the
// deployment with only model rewritten; the answer (JSON or text) is
// returned as it came. It is priced by the tokens it reports
// (gpt-4o-transcribe), or by its seconds at price.per_minute (whisper-1).
func (g *Gateway) ServeTranscriptions(w http.ResponseWriter, r *http.Request) {
	g.serveTranscription(w, r, "audio/transcriptions", "switchyard.transcriptions")
}

// ServeTranslations: see ServeTranscriptions.
func (g *Gateway) ServeTranslations(w http.ResponseWriter, r *http.Request) {
	g.serveTranscription(w, r, "audio/translations", "switchyard.translations")
}

func (g *Gateway) serveTranscription(w http.ResponseWriter, r *http.Request, op, span string) {
	x, r := g.start(r, openAIDialect, span)
	defer g.finish(r.Context(), x)
	rt, body, ok := g.authenticated(w, r, x)
	if !ok {
		return
	}
	req, input, err := openaiapi.ParseTranscription(body, r.Header.Get("Content-Type"), op)
	if err != nil {
		g.failErr(w, x, err)
		return
	}
	model, ok := g.modelOrFirst(w, x, rt, req.Model, config.CapTranscription, "transcription")
	if !ok {
		return
	}
	g.serveRelayed(w, r, x, rt, body, relayed{
		model: model, inputTokens: input,
		capability: config.CapTranscription, what: "transcription", serves: servesAudio,
		call: func(ctx context.Context, p *executor.Plan, input int) (relayedAnswer, *executor.Trace, error) {
			resp, trace, err := g.exec.Transcribe(ctx, p, req, input)
			return audioAnswer(resp), trace, err
		},
	})
}

// audioAnswer is what serveRelayed needs of an audio answer (nil: none).
func audioAnswer(resp *llm.AudioResponse) relayedAnswer {
	if resp == nil {
		return relayedAnswer{}
	}
	return relayedAnswer{usage: resp.Usage, seconds: resp.Seconds, raw: resp.Raw, contentType: resp.ContentType}
}

// modelOrFirst is the model a request names, or, when it names none (the
// model is optional in OpenAI's API for some endpoints), the first
// deployment with the capability; with none, it fails the request.
func (g *Gateway) modelOrFirst(w http.ResponseWriter, x *exchange, rt *runtime, model, capability, what string) (string, bool) {
	if model != "" {
		return model, true
	}
	if model = rt.firstWith(capability); model == "" {
		g.fail(w, x, &apiError{status: http.StatusBadRequest, code: "no_capable_deployment", anthropicType: "invalid_request_error",
			message: "no deployment serves " + what + " (capabilities." + capability + "); name a model"})
		return "", false
	}
	return model, true
}
