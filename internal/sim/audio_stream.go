package sim

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strings"
	"unicode"
)

// The streamed answers of OpenAI's audio endpoints: a transcription with
// stream=true from a model billing by tokens (a whisper model ignores
// stream, as whisper-1 does), and speech with stream_format "sse". Both
// are server-sent events of data lines only (no event lines), each a JSON
// object with a type, and no [DONE] after the last:
//
//	data: {"type":"transcript.text.delta","delta":"Mind "}
//	data: {"type":"transcript.text.delta","delta":"the "}
//	data: {"type":"transcript.text.delta","delta":"gap."}
//	data: {"type":"transcript.text.done","text":"Mind the gap.","usage":{"type":"tokens",...}}
//
//	data: {"type":"speech.audio.delta","audio":"U0lNQVVE"}
//	...
//	data: {"type":"speech.audio.done","usage":{"input_tokens":4,"output_tokens":10,"total_tokens":14}}
//
// A transcript streams a word a delta, each word with the whitespace after
// it, so the deltas make up the text exactly; the done event carries the
// text and the usage a json answer would. Speech streams the bytes the
// same request answers without streaming, base64 (standard encoding) in
// chunks of speechChunk bytes, smaller for short audio so that it still
// takes speechMinChunks deltas. The deltas are paced as a chat stream's
// tokens (the first after FirstToken, then TokensPerSecond), and the
// mid-stream faults count them: the done event is the stream's
// terminator.

// Chunking of streamed speech.
const (
	speechChunk     = 4096 // bytes of audio in a speech.audio.delta, at most
	speechMinChunks = 4    // deltas of speech shorter than that many chunks
)

// tokensUsage is the usage of a transcription by a model that bills by
// tokens (gpt-4o-transcribe style), in OpenAI's field order.
type tokensUsage struct {
	Type              string `json:"type"`
	InputTokens       int    `json:"input_tokens"`
	InputTokenDetails struct {
		TextTokens  int `json:"text_tokens"`
		AudioTokens int `json:"audio_tokens"`
	} `json:"input_token_details"`
	OutputTokens int `json:"output_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

// newTokensUsage bills audioTokens in (the prompt is not counted) and
// estimateTokens of the transcript's bytes out.
func newTokensUsage(audioTokens int, text string) tokensUsage {
	out := estimateTokens(len(text))
	u := tokensUsage{Type: "tokens", InputTokens: audioTokens, OutputTokens: out, TotalTokens: audioTokens + out}
	u.InputTokenDetails.AudioTokens = audioTokens
	return u
}

// speechUsage is the usage of streamed speech.
type speechUsage struct {
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

// newSpeechUsage bills the speech of input: estimateTokens of the input's
// bytes in (as the context window counts it, at least 1), and
// audioTokensPerSecond per second of the audio out, whole seconds rounded
// up, as a transcription of that audio bills its input.
func newSpeechUsage(input string) speechUsage {
	in := estimateTokens(len(input))
	secs := int(math.Ceil(float64(speechSamples(input)) / speechRate))
	out := secs * audioTokensPerSecond
	return speechUsage{InputTokens: in, OutputTokens: out, TotalTokens: in + out}
}

// transcriptDelta is a transcript.text.delta event: one piece of the text.
type transcriptDelta struct {
	Type  string `json:"type"`
	Delta string `json:"delta"`
}

// transcriptDone is the transcript.text.done event: the whole text and the
// usage.
type transcriptDone struct {
	Type  string      `json:"type"`
	Text  string      `json:"text"`
	Usage tokensUsage `json:"usage"`
}

// speechDelta is a speech.audio.delta event: one chunk of the audio, base64.
type speechDelta struct {
	Type  string `json:"type"`
	Audio string `json:"audio"`
}

// speechDone is the speech.audio.done event: the usage.
type speechDone struct {
	Type  string      `json:"type"`
	Usage speechUsage `json:"usage"`
}

// audioStream writes the typed events of an audio stream: a delta event
// per piece, then the done event as the terminator.
type audioStream struct {
	*sse
	id    string                 // the x-request-id
	delta func(piece string) any // the delta event of a piece
	done  any                    // the done event
}

var _ streamer = (*audioStream)(nil)

func (a *audioStream) start() error { return a.header(map[string]string{"x-request-id": a.id}) }

func (a *audioStream) token(piece string) error { return a.event("", a.delta(piece)) }

// ping sends nothing: OpenAI's audio streams have no keep-alive event.
func (a *audioStream) ping() error { return nil }

// malformed sends a delta event cut off inside its string.
func (a *audioStream) malformed() error {
	b, err := json.Marshal(a.delta(""))
	if err != nil {
		return err
	}
	return a.event("", strings.TrimSuffix(string(b), `"}`))
}

func (a *audioStream) fail() error { return a.event("", oaStreamError()) }

// finish sends the done event, unless the terminator is to be left out:
// the done event is an audio stream's terminator.
func (a *audioStream) finish(terminator bool) error {
	if !terminator {
		return nil
	}
	return a.event("", a.done)
}

// streamEvents paces pieces out through st as chat streams pace tokens,
// after the headers: the first after m's FirstToken (plus the delay of a
// slow_first_token fault), then one every 1/TokensPerSecond. f is the
// request's fault, injected when it is a mid-stream one. Audio and image
// streams go through it.
func (s *Server) streamEvents(rw http.ResponseWriter, r *http.Request, m Model, f *Fault, st streamer, pieces []string) {
	ttft := m.FirstToken
	var mid *Fault
	if f != nil {
		switch {
		case f.Type == FaultSlowFirstToken:
			ttft += f.Delay
		case f.Type.midStream():
			mid = f
		}
	}
	s.stream(r.Context(), rw, st, reply{tokens: pieces}, ttft, gap(m), mid)
}

// streamTranscript streams a transcription of text: a delta a word (see
// wordPieces), then the done event with usage. id is the x-request-id.
func (s *Server) streamTranscript(rw http.ResponseWriter, r *http.Request, m Model, f *Fault, id, text string, usage tokensUsage) {
	st := &audioStream{sse: newSSE(rw), id: id,
		delta: func(p string) any { return transcriptDelta{Type: "transcript.text.delta", Delta: p} },
		done:  transcriptDone{Type: "transcript.text.done", Text: text, Usage: usage},
	}
	s.streamEvents(rw, r, m, f, st, wordPieces(text))
}

// streamSpeech streams audio in base64 chunks (see speechPieces), then the
// done event with usage. id is the x-request-id.
func (s *Server) streamSpeech(rw http.ResponseWriter, r *http.Request, m Model, f *Fault, id string, audio []byte, usage speechUsage) {
	st := &audioStream{sse: newSSE(rw), id: id,
		delta: func(p string) any { return speechDelta{Type: "speech.audio.delta", Audio: p} },
		done:  speechDone{Type: "speech.audio.done", Usage: usage},
	}
	s.streamEvents(rw, r, m, f, st, speechPieces(audio))
}

// wordPieces splits text into words, each with the whitespace that follows
// it (whitespace before the first word goes with it), so that the pieces
// concatenate to text.
func wordPieces(text string) []string {
	var out []string
	start, word, space := 0, false, false
	for i, c := range text {
		if unicode.IsSpace(c) {
			space = word
			continue
		}
		if space {
			out = append(out, text[start:i])
			start, space = i, false
		}
		word = true
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}

// speechPieces splits audio into chunks of speechChunk bytes (audio
// shorter than speechMinChunks such chunks into at most speechMinChunks
// chunks of equal size, the last maybe shorter) and encodes each in
// standard base64.
func speechPieces(audio []byte) []string {
	size := min(speechChunk, max(1, (len(audio)+speechMinChunks-1)/speechMinChunks))
	var out []string
	for b := range slices.Chunk(audio, size) {
		out = append(out, base64.StdEncoding.EncodeToString(b))
	}
	return out
}
