package gateway

import (
	"net/http"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/openaiapi"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/tokens"
)

// servesAudio reports whether a provider serves OpenAI's audio endpoints.
func servesAudio(p provider.Provider) bool { _, ok := p.(provider.AudioProvider); return ok }

// streamsAudio reports whether a provider streams OpenAI's audio answers.
func streamsAudio(p provider.Provider) bool { _, ok := p.(provider.AudioStreamer); return ok }

// ServeSpeech serves POST /v1/audio/speech (serveRelayed), to the
// deployments with capabilities.speech: the body relayed with only model
// rewritten, the audio returned as it came, never cached. It is priced
// on its input text, estimated as tokens, or by the usage a stream's
// speech.audio.done reports. With stream_format "sse" the answer is
// relayed as a stream of events (relayStream).
func (g *Gateway) ServeSpeech(w http.ResponseWriter, r *http.Request) {
	g.serveRelayed(w, r, "switchyard.speech", func(body []byte, _ string) (relayed, error) {
		req, err := openaiapi.ParseSpeech(body)
		if err != nil {
			return relayed{}, err
		}
		rel := relayed{
			model: req.Model, inputTokens: tokens.FromBytes(req.InputBytes),
			capability: config.CapSpeech, what: "speech", serves: servesAudio,
			call: calling(req, g.exec.Speak, audioAnswer),
		}
		if req.Stream {
			rel.what, rel.serves = "streamed speech", streamsAudio
			rel.stream = streaming(req, g.exec.SpeakStream)
		}
		return rel, nil
	})
}

// ServeTranscriptions serves POST /v1/audio/transcriptions, and
// ServeTranslations /v1/audio/translations (serveRelayed): the multipart
// form is read, routed by its model field to the deployments with
// capabilities.transcription, and written again for the deployment with
// only model rewritten; the answer (JSON or text) is returned as it came.
// It is priced by the tokens it reports (gpt-4o-transcribe), or by its
// seconds at price.per_minute (whisper-1), against which budgets reserve
// the most the upload can hold (openaiapi.AudioSeconds). A transcription with stream
// true is relayed as a stream of events (relayStream).
func (g *Gateway) ServeTranscriptions(w http.ResponseWriter, r *http.Request) {
	g.serveTranscription(w, r, "audio/transcriptions", "switchyard.transcriptions")
}

// ServeTranslations: see ServeTranscriptions.
func (g *Gateway) ServeTranslations(w http.ResponseWriter, r *http.Request) {
	g.serveTranscription(w, r, "audio/translations", "switchyard.translations")
}

func (g *Gateway) serveTranscription(w http.ResponseWriter, r *http.Request, op, span string) {
	g.serveRelayed(w, r, span, func(body []byte, contentType string) (relayed, error) {
		req, input, err := openaiapi.ParseTranscription(body, contentType, op)
		if err != nil {
			return relayed{}, err
		}
		rel := relayed{
			model: req.Model, inputTokens: input,
			// The reservation at price.per_minute: the most the upload can
			// hold; the answer's own duration is what is charged.
			seconds:    openaiapi.AudioSeconds(req.Files[0].Data),
			capability: config.CapTranscription, what: "transcription", serves: servesAudio,
			call: calling(req, g.exec.Transcribe, audioAnswer),
		}
		if req.Stream {
			rel.what, rel.serves = "streamed transcription", streamsAudio
			rel.stream = streaming(req, g.exec.TranscribeStream)
		}
		return rel, nil
	})
}

// audioAnswer is what serveRelayed needs of an audio answer.
func audioAnswer(resp *llm.AudioResponse) relayedAnswer {
	return relayedAnswer{usage: resp.Usage, seconds: resp.Seconds, raw: resp.Raw, contentType: resp.ContentType}
}
