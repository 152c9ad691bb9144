package sim

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// OpenAI's audio endpoints: text to speech, POST /v1/audio/speech, and
// speech to text, POST /v1/audio/transcriptions and
// POST /v1/audio/translations.
//
// # Speech
//
// The request is JSON: model, input (required, 1 to 4096 characters),
// voice (required: one of speechVoices, or an object {"id": ...} naming a
// custom voice), response_format (mp3, the default, opus, aac, flac, wav
// or pcm), speed (0.25 to 4.0; checked, not applied), instructions (a
// string, unused) and stream_format ("audio", the default, or "sse"). Any
// other top-level field is refused, as OpenAI does. The call goes through
// uploadTurn like an embeddings call (faults, estimateTokens of the input's
// bytes against the context window, latency).
//
// The answer is the audio, with the format's Content-Type (audioTypes).
// Its duration is one second per speechCharsPerSecond characters of
// input, at least one second. A wav answer is a real RIFF/WAVE file:
// 16-bit PCM, 24 kHz, mono, a quiet triangle-wave tone, with the input
// text in a LIST/INFO chunk's ICMT sub-chunk. Every other format is a
// simulator container, not real audio:
//
//	SIMAUDIO1\n<format>\n<duration in seconds>\n<input text>
//
// The same request gets the same bytes.
//
// With stream_format "sse" the answer streams those bytes as
// speech.audio.delta events, then a speech.audio.done event with usage
// (see audio_stream.go). Every speech model streams: OpenAI's tts-1 and
// tts-1-hd refuse "sse", but the simulator cannot tell such a model.
//
// # Transcriptions and translations
//
// The request is multipart/form-data: file (required) and model
// (required), language, prompt, response_format (json, the default, text,
// srt, verbose_json or vtt), temperature (0 to 1), timestamp_granularities[]
// (word, segment), include[] (logprobs; accepted, not answered),
// chunking_strategy ("auto" or a JSON object of type server_vad, also as
// the bracketed fields the SDKs send, chunking_strategy[type] ...) and
// stream (a boolean; see below). Both endpoints take the same fields. Any
// other field gets OpenAI's
// "Unrecognized request argument" 400; a body that is not
// multipart/form-data and an empty file get a 400 too. A body over 25 MiB gets
// OpenAI's 413 (a server_error), recorded under the model when the form
// named it before the limit.
//
// The transcript is the text a simulator answer carries: a WAV's ICMT
// sub-chunk, or a SIMAUDIO1 container's text; of any other file it is
// "(audio of N bytes)". The duration is a WAV's samples over its rate, a
// container's duration, or one second per genericBytesPerSecond bytes of
// any other file, and at least one second; whole seconds are billed (the
// duration rounded up). A translation answers as a transcription, except
// that its verbose_json task is "translate"; the language is always
// "english".
//
// The call goes through uploadTurn with audioTokensPerSecond tokens per
// billed second of audio (the prompt is not counted). Answers:
//
//   - json: {"text", "usage"}. A model whose name holds "whisper" bills
//     by duration, usage {"type": "duration", "seconds"}; any other (as
//     gpt-4o-transcribe) by tokens, usage {"type": "tokens",
//     "input_tokens" (the audio tokens), "output_tokens" (estimateTokens of
//     the transcript's bytes), "total_tokens", "input_token_details":
//     {"text_tokens": 0, "audio_tokens"}}.
//   - text: the transcript and a newline; srt and vtt: one cue spanning the
//     whole duration. All three text/plain.
//   - verbose_json, for whisper models only (others get OpenAI's 400
//     unsupported_value): task, language, duration (to the
//     millisecond), text, one segment
//     spanning the duration, words (evenly spaced) when
//     timestamp_granularities[] asks for them, and usage by duration.
//
// A transcription with stream true ("true" in any case, or another of
// strconv.ParseBool's spellings of true, as "1") from a model that
// bills by tokens streams transcript.text.delta events and a
// transcript.text.done event with the json answer's text and usage (see
// audio_stream.go), in the json or text format only: any other gets
// OpenAI's 400 on response_format. A whisper model ignores stream, as
// whisper-1 does, and answers as without it. A translation refuses
// stream=true with a 400: OpenAI's translations do not stream.

// Limits and constants of the audio endpoints.
const (
	maxSpeechInput        = 4096  // characters of a speech input
	speechRate            = 24000 // samples per second of a speech WAV
	speechCharsPerSecond  = 15    // input characters per second of speech
	maxFormBody           = 25 << 20
	maxFormDrain          = 32 << 20 // bytes of a too large body read after the limit
	genericBytesPerSecond = 16000    // duration of a file the simulator did not make
	audioTokensPerSecond  = 10
	simAudioMagic         = "SIMAUDIO1\n"
	tonePeriod            = 120 // samples per period of the speech tone (200 Hz)
	toneStep              = 100 // amplitude per sample of the tone's ramp
)

// speechVoices are the built-in voices.
var speechVoices = []string{
	"alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova",
	"sage", "shimmer", "verse", "marin", "cedar",
}

// speechFormats are the speech response formats, in OpenAI's order.
var speechFormats = []string{"mp3", "opus", "aac", "flac", "wav", "pcm"}

// audioTypes is the Content-Type of each speech format.
var audioTypes = map[string]string{
	"mp3": "audio/mpeg", "opus": "audio/ogg", "aac": "audio/aac",
	"flac": "audio/flac", "wav": "audio/wav", "pcm": "audio/pcm",
}

// speechFields are the top-level fields a speech request may have.
var speechFields = []string{"model", "input", "voice", "response_format", "speed", "instructions", "stream_format"}

// transcriptFormats are the response formats of transcriptions and
// translations.
var transcriptFormats = []string{"json", "text", "srt", "verbose_json", "vtt"}

// audioFormFields are the form fields of a transcription or translation.
var audioFormFields = []string{
	"file", "model", "language", "prompt", "response_format", "temperature",
	"timestamp_granularities[]", "include[]", "stream", "chunking_strategy",
	"chunking_strategy[type]", "chunking_strategy[prefix_padding_ms]",
	"chunking_strategy[silence_duration_ms]", "chunking_strategy[threshold]",
}

// supportedValues lists values as OpenAI's errors do: 'a', 'b', and 'c'.
func supportedValues(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = "'" + v + "'"
	}
	switch len(q) {
	case 1:
		return q[0]
	case 2:
		return q[0] + " and " + q[1]
	}
	return strings.Join(q[:len(q)-1], ", ") + ", and " + q[len(q)-1]
}

// invalidValue is OpenAI's refusal of a value not among vals.
func invalidValue(v string, vals []string) string {
	return fmt.Sprintf("Invalid value: '%s'. Supported values are: %s.", v, supportedValues(vals))
}

// speechRequest is what the simulator reads of a speech request.
type speechRequest struct {
	input  string
	format string
	sse    bool // stream_format is "sse"
}

// speechParams reads a speech request's fields (model aside), or returns
// the message of a 400.
func speechParams(fields map[string]json.RawMessage) (speechRequest, string) {
	req := speechRequest{format: "mp3"}
	var streamFormat string
	strs := map[string]*string{"input": &req.input, "response_format": &req.format, "stream_format": &streamFormat}
	for _, k := range []string{"input", "response_format", "instructions", "stream_format"} {
		if !present(fields, k) {
			continue
		}
		var v string
		if json.Unmarshal(fields[k], &v) != nil {
			return req, fmt.Sprintf("Invalid type for '%s': expected a string, but got %s instead.", k, oaKind(fields[k]))
		}
		if p := strs[k]; p != nil {
			*p = v
		}
	}
	req.sse = streamFormat == "sse"
	switch n := utf8.RuneCountInString(req.input); {
	case !present(fields, "input"):
		return req, "Missing required parameter: 'input'."
	case n == 0:
		return req, "Invalid 'input': string too short. Expected a string with minimum length 1, but got an empty string instead."
	case n > maxSpeechInput:
		return req, fmt.Sprintf("Invalid 'input': string too long. Expected a string with maximum length %d, but got a string with length %d instead.", maxSpeechInput, n)
	}
	if msg := voiceProblem(fields); msg != "" {
		return req, msg
	}
	if !slices.Contains(speechFormats, req.format) {
		return req, invalidValue(req.format, speechFormats)
	}
	if present(fields, "speed") {
		var speed float64
		switch {
		case json.Unmarshal(fields["speed"], &speed) != nil:
			return req, fmt.Sprintf("Invalid type for 'speed': expected a decimal, but got %s instead.", oaKind(fields["speed"]))
		case speed < 0.25:
			return req, fmt.Sprintf("Invalid 'speed': decimal below minimum value. Expected a value >= 0.25, but got %g instead.", speed)
		case speed > 4:
			return req, fmt.Sprintf("Invalid 'speed': decimal above maximum value. Expected a value <= 4, but got %g instead.", speed)
		}
	}
	if streamFormat != "" && streamFormat != "audio" && !req.sse {
		return req, invalidValue(streamFormat, []string{"sse", "audio"})
	}
	return req, ""
}

// voiceProblem checks a speech request's voice, or returns the message of
// a 400.
func voiceProblem(fields map[string]json.RawMessage) string {
	if !present(fields, "voice") {
		return "Missing required parameter: 'voice'."
	}
	raw := fields["voice"]
	switch oaKind(raw) {
	case "a string":
		var v string
		_ = json.Unmarshal(raw, &v)
		if !slices.Contains(speechVoices, v) {
			return invalidValue(v, speechVoices)
		}
	case "an object":
		var v struct {
			ID json.RawMessage `json:"id"`
		}
		var id string
		switch {
		case json.Unmarshal(raw, &v) != nil || len(v.ID) == 0 || string(v.ID) == "null":
			return "Missing required parameter: 'voice.id'."
		case json.Unmarshal(v.ID, &id) != nil:
			return fmt.Sprintf("Invalid type for 'voice.id': expected a string, but got %s instead.", oaKind(v.ID))
		case id == "":
			return "Invalid 'voice.id': string too short. Expected a string with minimum length 1, but got an empty string instead."
		}
	default:
		return fmt.Sprintf("Invalid type for 'voice': expected one of a string or an object, but got %s instead.", oaKind(raw))
	}
	return ""
}

// speechSamples is the number of samples of the speech of input.
func speechSamples(input string) int {
	return max(speechRate, utf8.RuneCountInString(input)*speechRate/speechCharsPerSecond)
}

// speechAudio is the speech of input in format: a WAV file, or a
// SIMAUDIO1 container for every other format.
func speechAudio(format, input string) []byte {
	samples := speechSamples(input)
	if format == "wav" {
		return speechWAV(input, samples)
	}
	secs := float64(samples) / speechRate
	return []byte(simAudioMagic + format + "\n" + strconv.FormatFloat(secs, 'f', -1, 64) + "\n" + input)
}

// speechWAV is a RIFF/WAVE file of samples 16-bit mono PCM samples at
// speechRate, a quiet triangle-wave tone, carrying text in a LIST/INFO
// chunk's ICMT sub-chunk (NUL-terminated, padded to an even size).
func speechWAV(text string, samples int) []byte {
	icmt := append([]byte(text), 0)
	pad := len(icmt) % 2
	info := 4 + 8 + len(icmt) + pad // "INFO", the sub-chunk's header, its data
	data := 2 * samples
	size := 4 + (8 + 16) + (8 + info) + (8 + data)
	le := binary.LittleEndian
	b := make([]byte, 0, 8+size)
	b = append(b, "RIFF"...)
	b = le.AppendUint32(b, uint32(size))
	b = append(b, "WAVE"...)
	b = append(b, "fmt "...)
	b = le.AppendUint32(b, 16)
	b = le.AppendUint16(b, 1) // PCM
	b = le.AppendUint16(b, 1) // mono
	b = le.AppendUint32(b, speechRate)
	b = le.AppendUint32(b, speechRate*2) // bytes per second
	b = le.AppendUint16(b, 2)            // bytes per sample frame
	b = le.AppendUint16(b, 16)           // bits per sample
	b = append(b, "LIST"...)
	b = le.AppendUint32(b, uint32(info))
	b = append(b, "INFOICMT"...)
	b = le.AppendUint32(b, uint32(len(icmt)))
	b = append(b, icmt...)
	if pad == 1 {
		b = append(b, 0)
	}
	b = append(b, "data"...)
	b = le.AppendUint32(b, uint32(data))
	var period [tonePeriod * 2]byte
	for i := range tonePeriod {
		v := i
		if i >= tonePeriod/2 {
			v = tonePeriod - i
		}
		le.PutUint16(period[2*i:], uint16(int16((v-tonePeriod/4)*toneStep)))
	}
	for len(b) < cap(b) {
		b = append(b, period[:min(len(period), cap(b)-len(b))]...)
	}
	return b
}

// audioContent is what the simulator hears in an audio file: its
// transcript and its duration in seconds (at least 1).
func audioContent(file []byte) (string, float64) {
	text, secs, ok := readWAV(file)
	if !ok {
		text, secs, ok = readSimAudio(file)
	}
	if !ok {
		secs = float64(len(file)) / genericBytesPerSecond
	}
	if text == "" {
		text = fmt.Sprintf("(audio of %d bytes)", len(file))
	}
	return text, max(secs, 1)
}

// readWAV reads a RIFF/WAVE file: the text of its ICMT sub-chunk ("" when
// it has none) and its duration. ok is false when b is no WAV file.
func readWAV(b []byte) (text string, secs float64, ok bool) {
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return "", 0, false
	}
	le := binary.LittleEndian
	var rate, align, data int
	var haveFmt bool
	for rest := b[12:]; len(rest) >= 8; {
		id := string(rest[:4])
		size := int(min(uint64(le.Uint32(rest[4:8])), uint64(len(rest)-8))) // a streamed WAV may say 0xFFFFFFFF
		body := rest[8 : 8+size]
		switch {
		case id == "fmt " && size >= 16:
			rate, align, haveFmt = int(le.Uint32(body[4:8])), int(le.Uint16(body[12:14])), true
		case id == "data":
			data = size
		case id == "LIST" && size >= 4 && string(body[:4]) == "INFO":
			for sub := body[4:]; len(sub) >= 8; {
				n := int(min(uint64(le.Uint32(sub[4:8])), uint64(len(sub)-8)))
				if string(sub[:4]) == "ICMT" {
					text = string(bytes.TrimSuffix(sub[8:8+n], []byte{0}))
				}
				sub = sub[min(len(sub), 8+n+n%2):]
			}
		}
		rest = rest[min(len(rest), 8+size+size%2):]
	}
	if !haveFmt || rate <= 0 || align <= 0 {
		return text, 0, true
	}
	return text, float64(data/align) / float64(rate), true
}

// readSimAudio reads a SIMAUDIO1 container: its text and duration. ok is
// false when b is none.
func readSimAudio(b []byte) (text string, secs float64, ok bool) {
	rest, found := bytes.CutPrefix(b, []byte(simAudioMagic))
	if !found {
		return "", 0, false
	}
	parts := strings.SplitN(string(rest), "\n", 3)
	if len(parts) != 3 {
		return "", 0, false
	}
	secs, err := strconv.ParseFloat(parts[1], 64)
	if err != nil || secs < 0 || math.IsInf(secs, 0) || math.IsNaN(secs) {
		return "", 0, false
	}
	return parts[2], secs, true
}

// transcriptRequest is what the simulator reads of a transcription or
// translation request.
type transcriptRequest struct {
	format string
	words  bool // timestamp_granularities[] asks for words
	stream bool // stream is true
}

// transcriptParams reads a transcription or translation form's fields
// (model aside), or returns the message of a 400. noun names the task
// ("transcriptions", "translations"); streams tells whether it may stream,
// else stream=true is refused.
func transcriptParams(form multipartForm, noun string, streams bool) (transcriptRequest, string) {
	req := transcriptRequest{format: "json"}
	if form.has("response_format") {
		req.format = form.value("response_format")
	}
	if !slices.Contains(transcriptFormats, req.format) {
		return req, invalidValue(req.format, transcriptFormats)
	}
	if form.has("temperature") {
		t, err := strconv.ParseFloat(form.value("temperature"), 64)
		switch {
		case err != nil || math.IsNaN(t):
			return req, fmt.Sprintf("Invalid type for 'temperature': expected a decimal, but got '%s' instead.", form.value("temperature"))
		case t < 0:
			return req, fmt.Sprintf("Invalid 'temperature': decimal below minimum value. Expected a value >= 0, but got %g instead.", t)
		case t > 1:
			return req, fmt.Sprintf("Invalid 'temperature': decimal above maximum value. Expected a value <= 1, but got %g instead.", t)
		}
	}
	for _, g := range form.values["timestamp_granularities[]"] {
		if g != "word" && g != "segment" {
			return req, invalidValue(g, []string{"word", "segment"})
		}
		req.words = req.words || g == "word"
	}
	for _, v := range form.values["include[]"] {
		if v != "logprobs" {
			return req, invalidValue(v, []string{"logprobs"})
		}
	}
	if form.has("chunking_strategy") {
		var vad struct {
			Type string `json:"type"`
		}
		if cs := form.value("chunking_strategy"); cs != "auto" && (json.Unmarshal([]byte(cs), &vad) != nil || vad.Type != "server_vad") {
			return req, fmt.Sprintf("Invalid 'chunking_strategy': expected 'auto' or an object of type 'server_vad', but got '%s' instead.", cs)
		}
	}
	if form.has("chunking_strategy[type]") && form.value("chunking_strategy[type]") != "server_vad" {
		return req, invalidValue(form.value("chunking_strategy[type]"), []string{"server_vad"})
	}
	var msg string
	if streams {
		req.stream, msg = streamFlag(form)
	} else {
		msg = streamProblem(form, noun)
	}
	if msg != "" {
		return req, msg
	}
	switch file, ok := form.file("file"); {
	case !ok:
		return req, "Missing required parameter: 'file'."
	case len(file) == 0:
		return req, "Audio file is too short. Minimum audio length is 0.1 seconds."
	}
	return req, ""
}

// whisperModel tells whether a model answers as whisper-1: usage by
// duration, verbose_json.
func whisperModel(model string) bool { return strings.Contains(strings.ToLower(model), "whisper") }

// cueTime renders seconds as an SRT (sep ',') or WebVTT (sep '.') time.
func cueTime(secs float64, sep string) string {
	ms := int64(math.Round(secs * 1000))
	return fmt.Sprintf("%02d:%02d:%02d%s%03d", ms/3600000, ms/60000%60, ms/1000%60, sep, ms%1000)
}

// millis rounds seconds to milliseconds.
func millis(secs float64) float64 { return math.Round(secs*1000) / 1000 }

func (s *Server) handleSpeech(w http.ResponseWriter, r *http.Request) {
	d := openAI{s}
	fields, model, rw, ok := s.openAIObject(w, r, "", speechFields...)
	if !ok {
		return
	}
	req, msg := speechParams(fields)
	if req.sse {
		rw.c.update(func(k *Call) { k.Stream = true })
	}
	m, ok := s.modelFor(rw, model, msg)
	if !ok {
		return
	}
	p := &prompt{}
	p.add(req.input)
	_, f, ok := s.uploadTurn(rw, r, d, m, p, []int{estimateTokens(len(req.input))}, req.sse)
	if !ok {
		return
	}
	audio := speechAudio(req.format, req.input)
	id := "req_" + s.nextID(24)
	if req.sse {
		s.streamSpeech(rw, r, m, f, id, audio, newSpeechUsage(req.input))
		return
	}
	h := rw.Header()
	h.Set("Content-Type", audioTypes[req.format])
	h.Set("Content-Length", strconv.Itoa(len(audio)))
	h.Set("x-request-id", id)
	rw.WriteHeader(http.StatusOK)
	_, _ = rw.Write(audio)
}

func (s *Server) handleTranscriptions(w http.ResponseWriter, r *http.Request) {
	s.handleAudioText(w, r, "transcribe", "transcriptions")
}

func (s *Server) handleTranslations(w http.ResponseWriter, r *http.Request) {
	s.handleAudioText(w, r, "translate", "translations")
}

// handleAudioText answers a transcription or translation: task is the
// verbose_json task, noun the endpoint's name. Transcriptions may stream.
func (s *Server) handleAudioText(w http.ResponseWriter, r *http.Request, task, noun string) {
	d := openAI{s}
	form, model, rw, ok := s.openAIForm(w, r, audioForm)
	if !ok {
		return
	}
	req, msg := transcriptParams(form, noun, task == "transcribe")
	m, ok := s.modelFor(rw, model, msg)
	if !ok {
		return
	}
	whisper := whisperModel(m.Name)
	req.stream = req.stream && !whisper // whisper-1 ignores stream
	if e := transcriptFormatProblem(req, m.Name, whisper); e != nil {
		writeOpenAIError(rw, http.StatusBadRequest, *e, 0)
		return
	}
	file, _ := form.file("file")
	text, secs := audioContent(file)
	billed := int(math.Ceil(secs))
	audioTokens := billed * audioTokensPerSecond
	p := &prompt{}
	p.add(text)
	_, f, ok := s.uploadTurn(rw, r, d, m, p, []int{audioTokens}, req.stream)
	if !ok {
		return
	}
	t := transcript{task: task, text: text, secs: secs, id: "req_" + s.nextID(24),
		usage: map[string]any{"type": "duration", "seconds": billed}}
	if !whisper {
		usage := newTokensUsage(audioTokens, text)
		if req.stream {
			s.streamTranscript(rw, r, m, f, t.id, text, usage)
			return
		}
		t.usage = usage
	}
	writeTranscript(rw, req, t)
}

// transcriptFormatProblem is OpenAI's 400 for a response_format the
// model does not answer in, or nil: a streamed one other than json and
// text, and verbose_json from a model that is not whisper's.
func transcriptFormatProblem(req transcriptRequest, model string, whisper bool) *oaError {
	switch {
	case req.stream && req.format != "json" && req.format != "text":
		return &oaError{
			Message: fmt.Sprintf("response_format '%s' is not supported with stream. Use 'json' or 'text' instead.", req.format),
			Type:    "invalid_request_error", Param: strp("response_format"), Code: strp("unsupported_value"),
		}
	case req.format == "verbose_json" && !whisper:
		return &oaError{
			Message: fmt.Sprintf("response_format 'verbose_json' is not compatible with model '%s'. Use 'json' or 'text' instead.", model),
			Type:    "invalid_request_error", Param: strp("response_format"), Code: strp("unsupported_value"),
		}
	}
	return nil
}

// transcript is the answer of a transcription or translation, before its
// response format.
type transcript struct {
	task  string  // verbose_json's task: transcribe or translate
	text  string  // the transcript
	secs  float64 // the audio's duration
	usage any     // by duration (whisper models), else a tokensUsage
	id    string  // the x-request-id
}

// writeTranscript sends t in the request's response format.
func writeTranscript(w http.ResponseWriter, req transcriptRequest, t transcript) {
	headers := map[string]string{"x-request-id": t.id}
	switch req.format {
	case "json":
		writeJSON(w, http.StatusOK, map[string]any{"text": t.text, "usage": t.usage}, headers)
	case "verbose_json":
		writeJSON(w, http.StatusOK, verboseTranscript(t, req.words), headers)
	default:
		var out string
		switch req.format {
		case "text":
			out = t.text + "\n"
		case "srt":
			out = fmt.Sprintf("1\n%s --> %s\n%s\n\n", cueTime(0, ","), cueTime(t.secs, ","), t.text)
		case "vtt":
			out = fmt.Sprintf("WEBVTT\n\n%s --> %s\n%s\n\n", cueTime(0, "."), cueTime(t.secs, "."), t.text)
		}
		h := w.Header()
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Content-Length", strconv.Itoa(len(out)))
		for k, v := range headers {
			h.Set(k, v)
		}
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, out)
	}
}

// verboseTranscript is the verbose_json answer of t: one segment spanning
// the duration, and evenly spaced words when words is set.
func verboseTranscript(t transcript, words bool) map[string]any {
	answer := map[string]any{
		"task": t.task, "language": "english", "duration": millis(t.secs), "text": t.text,
		"segments": []map[string]any{{
			"id": 0, "seek": 0, "start": 0.0, "end": millis(t.secs), "text": t.text, "tokens": []int{},
			"temperature": 0.0, "avg_logprob": -0.1, "compression_ratio": 1.0, "no_speech_prob": 0.0,
		}},
		"usage": t.usage,
	}
	if words {
		ws := strings.Fields(t.text)
		list := make([]map[string]any, len(ws))
		for i, wd := range ws {
			list[i] = map[string]any{
				"word": wd, "start": millis(t.secs * float64(i) / float64(len(ws))), "end": millis(t.secs * float64(i+1) / float64(len(ws))),
			}
		}
		answer["words"] = list
	}
	return answer
}
