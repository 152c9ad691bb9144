package sim

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	oaoption "github.com/openai/openai-go/v3/option"
)

// audioSim starts the sim for audio tests: sim-tts, sim-whisper (whisper-1
// style), sim-transcribe (gpt-4o-transcribe style) and the given models. It
// returns the server, its base URL, a plain HTTP client and an OpenAI client.
func audioSim(t *testing.T, models ...Model) (*Server, string, *http.Client, openai.Client) {
	t.Helper()
	cfg := Config{Models: append([]Model{
		{Name: "sim-tts", ContextWindow: 4096}, {Name: "sim-whisper", ContextWindow: 32768}, {Name: "sim-transcribe", ContextWindow: 32768},
	}, models...)}
	s, url, c := startSim(t, cfg)
	oa := openai.NewClient(oaoption.WithBaseURL(url+"/v1"), oaoption.WithAPIKey("sk-test"),
		oaoption.WithMaxRetries(0), oaoption.WithHTTPClient(c))
	return s, url, c, oa
}

// speechReq is a speech request in a built-in voice.
func speechReq(model, input string, format openai.AudioSpeechNewParamsResponseFormat) openai.AudioSpeechNewParams {
	return openai.AudioSpeechNewParams{Model: model, Input: input, ResponseFormat: format,
		Voice: openai.AudioSpeechNewParamsVoiceUnion{OfAudioSpeechNewsVoiceString2: openai.String("alloy")}}
}

// speak asks for speech and returns the response (body read and closed)
// and its body.
func speak(t *testing.T, oa openai.Client, params openai.AudioSpeechNewParams) (*http.Response, []byte) {
	t.Helper()
	resp, err := oa.Audio.Speech.New(t.Context(), params)
	if err != nil {
		t.Fatalf("speech: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read speech: %v", err)
	}
	return resp, b
}

// wavInfo is what a test reads of a WAV file, independently of readWAV.
type wavInfo struct {
	format, channels, bits int
	rate, byteRate         int
	samples                int
	comment                string
}

// parseWAV walks a RIFF/WAVE file's chunks and fails the test when it is
// not a well-formed one.
func parseWAV(t *testing.T, b []byte) wavInfo {
	t.Helper()
	le := binary.LittleEndian
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		t.Fatalf("got %q..., want a RIFF/WAVE header", b[:min(len(b), 12)])
	}
	if size := int(le.Uint32(b[4:8])); size != len(b)-8 {
		t.Errorf("got RIFF size %d, want %d", size, len(b)-8)
	}
	var w wavInfo
	var sawFmt, sawData bool
	for rest := b[12:]; len(rest) > 0; {
		if len(rest) < 8 {
			t.Fatalf("got %d stray bytes after the chunks", len(rest))
		}
		id, size := string(rest[:4]), int(le.Uint32(rest[4:8]))
		if 8+size > len(rest) {
			t.Fatalf("chunk %q: size %d overruns the file", id, size)
		}
		body := rest[8 : 8+size]
		switch id {
		case "fmt ":
			sawFmt = true
			w.format, w.channels = int(le.Uint16(body[0:2])), int(le.Uint16(body[2:4]))
			w.rate, w.byteRate, w.bits = int(le.Uint32(body[4:8])), int(le.Uint32(body[8:12])), int(le.Uint16(body[14:16]))
		case "data":
			sawData = true
			w.samples = size / 2
		case "LIST":
			if string(body[:4]) != "INFO" || string(body[4:8]) != "ICMT" {
				t.Fatalf("got LIST %q, want INFO with ICMT", body[:8])
			}
			n := int(le.Uint32(body[8:12]))
			if n == 0 || body[12+n-1] != 0 {
				t.Errorf("got ICMT %q, want a NUL-terminated string", body[12:12+n])
			}
			w.comment = string(body[12 : 12+n-1])
		}
		rest = rest[8+size+size%2:]
	}
	if !sawFmt || !sawData {
		t.Fatalf("got fmt %v data %v, want both chunks", sawFmt, sawData)
	}
	return w
}

func TestSpeechWAV(t *testing.T) {
	s, _, _, oa := audioSim(t)
	input := strings.Repeat("All aboard! ", 3) + "Next stop: yard." // 52 characters
	resp, b := speak(t, oa, speechReq("sim-tts", input, openai.AudioSpeechNewParamsResponseFormatWAV))
	if ct := resp.Header.Get("Content-Type"); ct != "audio/wav" {
		t.Errorf("got Content-Type %q, want audio/wav", ct)
	}
	if id := resp.Header.Get("x-request-id"); !strings.HasPrefix(id, "req_") {
		t.Errorf("got x-request-id %q, want req_...", id)
	}
	w := parseWAV(t, b)
	if w.format != 1 || w.channels != 1 || w.rate != 24000 || w.bits != 16 || w.byteRate != 48000 {
		t.Errorf("got format %d, %d channels, %d Hz, %d bits, %d B/s; want PCM mono 24000 Hz 16-bit 48000 B/s", w.format, w.channels, w.rate, w.bits, w.byteRate)
	}
	if want := 52 * 1600; w.samples != want {
		t.Errorf("got %d samples (%.3fs), want %d (52 characters at 15 a second)", w.samples, float64(w.samples)/24000, want)
	}
	if w.comment != input {
		t.Errorf("got ICMT %q, want the input %q", w.comment, input)
	}
	silent := true
	for i := 0; i+1 < len(b) && i < 4000; i += 2 {
		silent = silent && b[len(b)-1-i] == 0
	}
	if silent {
		t.Errorf("got silence at the end, want a tone")
	}

	_, again := speak(t, oa, speechReq("sim-tts", input, openai.AudioSpeechNewParamsResponseFormatWAV))
	if !bytes.Equal(again, b) {
		t.Errorf("got other bytes for the same request")
	}

	// Short inputs last a second; odd-length text is padded.
	_, b = speak(t, oa, speechReq("sim-tts", "Hi!", openai.AudioSpeechNewParamsResponseFormatWAV))
	if w := parseWAV(t, b); w.samples != 24000 || w.comment != "Hi!" {
		t.Errorf("got %d samples and %q, want 24000 and Hi!", w.samples, w.comment)
	}

	for i, c := range s.Calls("sim-tts") {
		if c.Path != "/v1/audio/speech" || c.Status != http.StatusOK || c.Stream {
			t.Errorf("call %d: got %+v, want a 200 on /v1/audio/speech", i, c)
		}
	}
}

func TestSpeechContainer(t *testing.T) {
	_, _, _, oa := audioSim(t)
	input := "The 5:15 to Crewe departs from platform 4." // 42 characters: 2.8s
	for format, ct := range map[openai.AudioSpeechNewParamsResponseFormat]string{
		"": "audio/mpeg", "mp3": "audio/mpeg", "opus": "audio/ogg", "aac": "audio/aac", "flac": "audio/flac", "pcm": "audio/pcm",
	} {
		t.Run(string(format), func(t *testing.T) {
			resp, b := speak(t, oa, speechReq("sim-tts", input, format))
			name := string(format)
			if name == "" {
				name = "mp3"
			}
			want := "SIMAUDIO1\n" + name + "\n" + "2.8" + "\n" + input
			if got := resp.Header.Get("Content-Type"); got != ct || string(b) != want {
				t.Errorf("got %q %q, want %q %q", got, b, ct, want)
			}
		})
	}

	t.Run("every parameter", func(t *testing.T) {
		params := openai.AudioSpeechNewParams{Model: "sim-tts", Input: "hello",
			Voice:          openai.AudioSpeechNewParamsVoiceUnion{OfAudioSpeechNewsVoiceID: &openai.AudioSpeechNewParamsVoiceID{ID: "voice_1234"}},
			Instructions:   openai.String("Speak like a conductor."),
			Speed:          openai.Float(0.25),
			ResponseFormat: openai.AudioSpeechNewParamsResponseFormatMP3,
			StreamFormat:   openai.AudioSpeechNewParamsStreamFormatAudio,
		}
		if _, b := speak(t, oa, params); string(b) != "SIMAUDIO1\nmp3\n1\nhello" {
			t.Errorf("got %q, want the container of one second of hello", b)
		}
	})
}

// transcribe sends audio to the transcriptions endpoint.
func transcribe(t *testing.T, oa openai.Client, params openai.AudioTranscriptionNewParams, opts ...oaoption.RequestOption) *openai.AudioTranscriptionNewResponseUnion {
	t.Helper()
	res, err := oa.Audio.Transcriptions.New(t.Context(), params, opts...)
	if err != nil {
		t.Fatalf("transcription: %v", err)
	}
	return res
}

func audioFile(b []byte, name, ct string) io.Reader { return openai.File(bytes.NewReader(b), name, ct) }

func TestAudioRoundTrip(t *testing.T) {
	s, _, _, oa := audioSim(t)
	input := "Mind the gap between the train and the platform, please." // 57 characters: 3.8s, 4 billed
	for _, tt := range []struct {
		format    openai.AudioSpeechNewParamsResponseFormat
		name, ct  string
		wantNamed string
	}{
		{openai.AudioSpeechNewParamsResponseFormatWAV, "speech.wav", "audio/wav", "wav"},
		{openai.AudioSpeechNewParamsResponseFormatMP3, "speech.mp3", "audio/mpeg", "mp3"},
		{openai.AudioSpeechNewParamsResponseFormatOpus, "speech.ogg", "audio/ogg", "opus"},
	} {
		t.Run(tt.wantNamed, func(t *testing.T) {
			_, audio := speak(t, oa, speechReq("sim-tts", input, tt.format))

			res := transcribe(t, oa, openai.AudioTranscriptionNewParams{Model: "sim-whisper", File: audioFile(audio, tt.name, tt.ct)})
			tr := res.AsTranscription()
			if tr.Text != input || len(tr.JSON.ExtraFields) != 0 {
				t.Errorf("whisper: got %s, want the text %q and usage alone", res.RawJSON(), input)
			}
			d := tr.Usage.AsDuration()
			if tr.Usage.Type != "duration" || d.Seconds != 4 || len(d.JSON.ExtraFields) != 0 {
				t.Errorf("whisper: got usage %s, want duration 4 seconds", tr.Usage.RawJSON())
			}

			res = transcribe(t, oa, openai.AudioTranscriptionNewParams{Model: "sim-transcribe", File: audioFile(audio, tt.name, tt.ct),
				Language: openai.String("en"), Prompt: openai.String("Railway announcements."), Temperature: openai.Float(0.2),
				Include: []openai.TranscriptionInclude{openai.TranscriptionIncludeLogprobs}})
			tr = res.AsTranscription()
			if tr.Text != input {
				t.Errorf("transcribe: got text %q, want %q", tr.Text, input)
			}
			u := tr.Usage.AsTokens()
			out := int64(estimateTokens(len(input)))
			if tr.Usage.Type != "tokens" || u.InputTokens != 40 || u.OutputTokens != out || u.TotalTokens != 40+out ||
				!u.InputTokenDetails.JSON.TextTokens.Valid() || u.InputTokenDetails.TextTokens != 0 || u.InputTokenDetails.AudioTokens != 40 ||
				len(u.JSON.ExtraFields) != 0 || len(u.InputTokenDetails.JSON.ExtraFields) != 0 {
				t.Errorf("transcribe: got usage %s, want 40 audio tokens in, %d out", tr.Usage.RawJSON(), out)
			}
		})
	}

	t.Run("other audio", func(t *testing.T) {
		res := transcribe(t, oa, openai.AudioTranscriptionNewParams{Model: "sim-whisper", File: audioFile(make([]byte, 40000), "a.flac", "audio/flac")})
		tr := res.AsTranscription()
		if tr.Text != "(audio of 40000 bytes)" || tr.Usage.Seconds != 3 {
			t.Errorf("got %s, want (audio of 40000 bytes) billed 3 seconds (2.5 rounded up)", res.RawJSON())
		}
		res = transcribe(t, oa, openai.AudioTranscriptionNewParams{Model: "sim-whisper", File: audioFile([]byte("RIFF"), "a.wav", "audio/wav")})
		if tr := res.AsTranscription(); tr.Text != "(audio of 4 bytes)" || tr.Usage.Seconds != 1 {
			t.Errorf("got %s, want (audio of 4 bytes) billed 1 second", res.RawJSON())
		}
	})

	t.Run("a WAV the simulator did not make", func(t *testing.T) {
		// 2 s of 8 kHz stereo 16-bit, no ICMT, data size unknown (streamed).
		w := speechWAV("", 0)[:12]
		w = append(w, "fmt \x10\x00\x00\x00\x01\x00\x02\x00\x40\x1f\x00\x00\x00\x7d\x00\x00\x04\x00\x10\x00"...)
		w = append(w, "data\xff\xff\xff\xff"...)
		w = append(w, make([]byte, 2*8000*4)...)
		res := transcribe(t, oa, openai.AudioTranscriptionNewParams{Model: "sim-whisper", File: audioFile(w, "x.wav", "audio/wav"),
			ResponseFormat: openai.AudioResponseFormatVerboseJSON})
		if v := res.AsTranscriptionVerbose(); v.Text != fmt.Sprintf("(audio of %d bytes)", len(w)) || v.Duration != 2 {
			t.Errorf("got %s, want the byte count and a duration of 2", res.RawJSON())
		}
	})

	for i, c := range s.Calls("sim-whisper") {
		if c.Path != "/v1/audio/transcriptions" || c.Status != http.StatusOK || c.Stream {
			t.Errorf("call %d: got %+v, want a 200 on /v1/audio/transcriptions", i, c)
		}
	}
}

func TestTranscriptionFormats(t *testing.T) {
	_, _, _, oa := audioSim(t)
	ctx := t.Context()
	input := "Platform two for the express." // 29 characters: 1.933s, 2 billed
	_, audio := speak(t, oa, speechReq("sim-tts", input, openai.AudioSpeechNewParamsResponseFormatWAV))
	params := func(model string, format openai.AudioResponseFormat) openai.AudioTranscriptionNewParams {
		return openai.AudioTranscriptionNewParams{Model: model, File: audioFile(audio, "speech.wav", "audio/wav"), ResponseFormat: format}
	}

	for _, tt := range []struct {
		format openai.AudioResponseFormat
		want   string
	}{
		{openai.AudioResponseFormatText, input + "\n"},
		{openai.AudioResponseFormatSRT, "1\n00:00:00,000 --> 00:00:01,933\n" + input + "\n\n"},
		{openai.AudioResponseFormatVTT, "WEBVTT\n\n00:00:00.000 --> 00:00:01.933\n" + input + "\n\n"},
	} {
		for _, model := range []string{"sim-whisper", "sim-transcribe"} {
			t.Run(string(tt.format)+" "+model, func(t *testing.T) {
				var got string
				var hr *http.Response
				if err := oa.Post(ctx, "audio/transcriptions", params(model, tt.format), &got, oaoption.WithResponseInto(&hr)); err != nil {
					t.Fatal(err)
				}
				if ct := hr.Header.Get("Content-Type"); got != tt.want || ct != "text/plain; charset=utf-8" {
					t.Errorf("got %q %q, want %q text/plain; charset=utf-8", ct, got, tt.want)
				}
			})
		}
	}

	t.Run("verbose_json", func(t *testing.T) {
		res := transcribe(t, oa, params("sim-whisper", openai.AudioResponseFormatVerboseJSON))
		v := res.AsTranscriptionVerbose()
		if v.Text != input || v.Language != "english" || v.Duration != 1.933 || len(v.JSON.ExtraFields) != 1 || !strings.Contains(v.RawJSON(), `"task":"transcribe"`) {
			t.Errorf("got %s, want task transcribe, english, 1.933 seconds and the text", res.RawJSON())
		}
		if v.Usage.Type != "duration" || v.Usage.Seconds != 2 || v.JSON.Words.Valid() {
			t.Errorf("got usage %s and words %v, want duration 2 and no words", v.Usage.RawJSON(), v.Words)
		}
		if len(v.Segments) != 1 {
			t.Fatalf("got %d segments, want 1", len(v.Segments))
		}
		sg := v.Segments[0]
		if sg.ID != 0 || sg.Seek != 0 || sg.Start != 0 || sg.End != 1.933 || sg.Text != input || !sg.JSON.Tokens.Valid() || len(sg.Tokens) != 0 ||
			sg.Temperature != 0 || sg.AvgLogprob != -0.1 || sg.CompressionRatio != 1 || sg.NoSpeechProb != 0 || len(sg.JSON.ExtraFields) != 0 {
			t.Errorf("got segment %s, want one spanning 0 to 1.933", sg.RawJSON())
		}

		p := params("sim-whisper", openai.AudioResponseFormatVerboseJSON)
		p.TimestampGranularities = []string{"word", "segment"}
		v = transcribe(t, oa, p).AsTranscriptionVerbose()
		if len(v.Words) != 5 || v.Words[0].Word != "Platform" || v.Words[0].Start != 0 || v.Words[4].Word != "express." || v.Words[4].End != 1.933 {
			t.Errorf("got words %s, want five spanning the duration", v.RawJSON())
		}
	})

	t.Run("verbose_json refused by token models", func(t *testing.T) {
		_, err := oa.Audio.Transcriptions.New(ctx, params("sim-transcribe", openai.AudioResponseFormatVerboseJSON))
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || apiErr.Code != "unsupported_value" || apiErr.Param != "response_format" ||
			apiErr.Message != "response_format 'verbose_json' is not compatible with model 'sim-transcribe'. Use 'json' or 'text' instead." {
			t.Errorf("got %v, want OpenAI's 400 unsupported_value", err)
		}
	})
}

func TestTranslations(t *testing.T) {
	s, _, _, oa := audioSim(t)
	ctx := t.Context()
	input := "Le train arrive en gare."
	_, audio := speak(t, oa, speechReq("sim-tts", input, openai.AudioSpeechNewParamsResponseFormatMP3))

	res, err := oa.Audio.Translations.New(ctx, openai.AudioTranslationNewParams{Model: "sim-whisper", File: audioFile(audio, "speech.mp3", "audio/mpeg"),
		Prompt: openai.String("Trains."), Temperature: openai.Float(0)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != input {
		t.Errorf("got %s, want the text %q", res.RawJSON(), input)
	}

	var v openai.TranscriptionVerbose
	err = oa.Post(ctx, "audio/translations", openai.AudioTranslationNewParams{Model: "sim-whisper", File: audioFile(audio, "speech.mp3", "audio/mpeg"),
		ResponseFormat: openai.AudioTranslationNewParamsResponseFormatVerboseJSON}, &v)
	if err != nil {
		t.Fatal(err)
	}
	if v.Text != input || v.Language != "english" || v.Duration != 1.6 || !strings.Contains(v.RawJSON(), `"task":"translate"`) {
		t.Errorf("got %s, want task translate, english, 1.6 seconds", v.RawJSON())
	}

	var srt string
	err = oa.Post(ctx, "audio/translations", openai.AudioTranslationNewParams{Model: "sim-whisper", File: audioFile(audio, "speech.mp3", "audio/mpeg"),
		ResponseFormat: openai.AudioTranslationNewParamsResponseFormatSRT}, &srt)
	if want := "1\n00:00:00,000 --> 00:00:01,600\n" + input + "\n\n"; err != nil || srt != want {
		t.Errorf("got %q %v, want %q", srt, err, want)
	}

	for i, c := range s.Calls("sim-whisper") {
		if c.Path != "/v1/audio/translations" || c.Status != http.StatusOK {
			t.Errorf("call %d: got %+v, want a 200 on /v1/audio/translations", i, c)
		}
	}
}

// wantAPIError checks err is OpenAI's error of status holding msg.
func wantAPIError(t *testing.T, err error, status int, code, msg string) {
	t.Helper()
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("got %v, want *openai.Error", err)
	}
	if apiErr.StatusCode != status || apiErr.Code != code || apiErr.Type != "invalid_request_error" || !strings.Contains(apiErr.Message, msg) {
		t.Errorf("got %d %q %q %q, want %d %q invalid_request_error containing %q", apiErr.StatusCode, apiErr.Code, apiErr.Type, apiErr.Message, status, code, msg)
	}
}

func TestSpeechErrors(t *testing.T) {
	s, _, _, oa := audioSim(t, Model{Name: "tiny-tts", ContextWindow: 2})
	ctx := t.Context()
	ok := speechReq("sim-tts", "hello", "")
	tests := []struct {
		name   string
		params openai.AudioSpeechNewParams
		opts   []oaoption.RequestOption
		status int
		code   string
		msg    string
	}{
		{"no voice", openai.AudioSpeechNewParams{Model: "sim-tts", Input: "hello"}, nil, 400, "", "Missing required parameter: 'voice'."},
		{"unknown voice", ok, []oaoption.RequestOption{oaoption.WithJSONSet("voice", "bob")}, 400, "",
			"Invalid value: 'bob'. Supported values are: 'alloy', 'ash', 'ballad', 'coral', 'echo', 'fable', 'onyx', 'nova', 'sage', 'shimmer', 'verse', 'marin', and 'cedar'."},
		{"voice without id", ok, []oaoption.RequestOption{oaoption.WithJSONSet("voice", map[string]any{})}, 400, "", "Missing required parameter: 'voice.id'."},
		{"voice a number", ok, []oaoption.RequestOption{oaoption.WithJSONSet("voice", 3)}, 400, "", "Invalid type for 'voice'"},
		{"input too long", speechReq("sim-tts", strings.Repeat("é", 4097), ""), nil, 400, "",
			"Invalid 'input': string too long. Expected a string with maximum length 4096, but got a string with length 4097 instead."},
		{"empty input", speechReq("sim-tts", "", ""), nil, 400, "", "Invalid 'input': string too short."},
		{"no input", ok, []oaoption.RequestOption{oaoption.WithJSONDel("input")}, 400, "", "Missing required parameter: 'input'."},
		{"unknown model", speechReq("nope", "hello", ""), nil, 404, "model_not_found", "The model `nope` does not exist"},
		{"no model", speechReq("", "hello", ""), nil, 400, "", "you must provide a model parameter"},
		{"bad format", speechReq("sim-tts", "hello", "ogg"), nil, 400, "",
			"Invalid value: 'ogg'. Supported values are: 'mp3', 'opus', 'aac', 'flac', 'wav', and 'pcm'."},
		{"too fast", ok, []oaoption.RequestOption{oaoption.WithJSONSet("speed", 4.5)}, 400, "", "Invalid 'speed': decimal above maximum value."},
		{"too slow", ok, []oaoption.RequestOption{oaoption.WithJSONSet("speed", 0.1)}, 400, "", "Invalid 'speed': decimal below minimum value."},
		{"bad stream_format", ok, []oaoption.RequestOption{oaoption.WithJSONSet("stream_format", "chunks")}, 400, "",
			"Invalid value: 'chunks'. Supported values are: 'sse' and 'audio'."},
		{"unknown field", ok, []oaoption.RequestOption{oaoption.WithJSONSet("temperature", 1)}, 400, "", "Unrecognized request argument supplied: temperature"},
		{"context window", speechReq("tiny-tts", strings.Repeat("long ", 4), ""), nil, 400, "context_length_exceeded", "maximum context length is 2 tokens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := oa.Audio.Speech.New(ctx, tt.params, tt.opts...)
			if err == nil {
				resp.Body.Close()
			}
			wantAPIError(t, err, tt.status, tt.code, tt.msg)
		})
	}

	t.Run("fault", func(t *testing.T) {
		before := len(s.Calls("sim-tts"))
		_, err := oa.Audio.Speech.New(ctx, ok, oaoption.WithHeader("X-Sim-Fault", "status;status=503"))
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("got %v, want a 503", err)
		}
		calls := s.Calls("sim-tts")
		if len(calls) != before+1 {
			t.Fatalf("got %d calls, want %d", len(calls), before+1)
		}
		if c := calls[len(calls)-1]; c.Fault != FaultStatus || c.Status != http.StatusServiceUnavailable || c.Path != "/v1/audio/speech" {
			t.Errorf("got call %+v, want a 503 status fault on /v1/audio/speech", c)
		}
	})
}

func TestTranscriptionErrors(t *testing.T) {
	s, _, _, oa := audioSim(t, Model{Name: "tiny-whisper", ContextWindow: 5})
	ctx := t.Context()
	params := func(model string) openai.AudioTranscriptionNewParams {
		return openai.AudioTranscriptionNewParams{Model: model, File: audioFile([]byte("SIMAUDIO1\nmp3\n1\nhi"), "a.mp3", "audio/mpeg")}
	}
	with := func(p openai.AudioTranscriptionNewParams, extra map[string]any) openai.AudioTranscriptionNewParams {
		p.SetExtraFields(extra)
		return p
	}
	tests := []struct {
		name   string
		params openai.AudioTranscriptionNewParams
		status int
		code   string
		msg    string
	}{
		{"no file", openai.AudioTranscriptionNewParams{Model: "sim-whisper"}, 400, "", "Missing required parameter: 'file'."},
		{"empty file", openai.AudioTranscriptionNewParams{Model: "sim-whisper", File: audioFile(nil, "a.wav", "audio/wav")}, 400, "", "Audio file is too short."},
		{"no model", params(""), 400, "", "you must provide a model parameter"},
		{"unknown model", params("nope"), 404, "model_not_found", "The model `nope` does not exist"},
		{"stream in srt", with(params("sim-transcribe"), map[string]any{"stream": "true", "response_format": "srt"}), 400, "unsupported_value",
			"response_format 'srt' is not supported with stream"},
		{"unknown field", with(params("sim-whisper"), map[string]any{"voice": "alloy"}), 400, "", "Unrecognized request argument supplied: voice"},
		{"bad format", with(params("sim-whisper"), map[string]any{"response_format": "diarized_json"}), 400, "",
			"Invalid value: 'diarized_json'. Supported values are: 'json', 'text', 'srt', 'verbose_json', and 'vtt'."},
		{"temperature too high", with(params("sim-whisper"), map[string]any{"temperature": "1.5"}), 400, "", "Invalid 'temperature': decimal above maximum value."},
		{"bad granularity", with(params("sim-whisper"), map[string]any{"timestamp_granularities[]": "char"}), 400, "",
			"Invalid value: 'char'. Supported values are: 'word' and 'segment'."},
		{"bad chunking", with(params("sim-whisper"), map[string]any{"chunking_strategy": "manual"}), 400, "", "Invalid 'chunking_strategy'"},
		{"context window", params("tiny-whisper"), 400, "context_length_exceeded", "maximum context length is 5 tokens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := oa.Audio.Transcriptions.New(ctx, tt.params)
			wantAPIError(t, err, tt.status, tt.code, tt.msg)
		})
	}

	t.Run("stream recorded", func(t *testing.T) {
		calls := s.Calls("sim-transcribe")
		var streamed int
		for _, c := range calls {
			if c.Stream {
				streamed++
			}
		}
		if streamed != 1 {
			t.Errorf("got %d calls with the stream flag, want 1", streamed)
		}
	})

	t.Run("chunking strategies", func(t *testing.T) {
		p := params("sim-whisper")
		p.ChunkingStrategy.OfAudioTranscriptionNewsChunkingStrategyVadConfig = &openai.AudioTranscriptionNewParamsChunkingStrategyVadConfig{
			Type: "server_vad", Threshold: openai.Float(0.5), PrefixPaddingMs: openai.Int(300), SilenceDurationMs: openai.Int(200)}
		if tr := transcribe(t, oa, p).AsTranscription(); tr.Text != "hi" {
			t.Errorf("server_vad: got %q, want hi", tr.Text)
		}
		p = params("sim-whisper")
		p.ChunkingStrategy.OfAuto = "auto"
		if tr := transcribe(t, oa, p).AsTranscription(); tr.Text != "hi" {
			t.Errorf("auto: got %q, want hi", tr.Text)
		}
	})

	t.Run("fault", func(t *testing.T) {
		wantInjected429(t, s, "sim-whisper", "/v1/audio/transcriptions", func() error {
			_, err := oa.Audio.Transcriptions.New(ctx, params("sim-whisper"), oaoption.WithHeader("X-Sim-Fault", "status;status=429"))
			return err
		})
	})

	t.Run("too large", func(t *testing.T) {
		_, err := oa.Audio.Transcriptions.New(ctx, openai.AudioTranscriptionNewParams{Model: "sim-whisper",
			File: audioFile(make([]byte, maxFormBody), "big.wav", "audio/wav")})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusRequestEntityTooLarge || apiErr.Type != "server_error" ||
			!strings.HasPrefix(apiErr.Message, "Maximum content size limit (26214400) exceeded (") || !strings.HasSuffix(apiErr.Message, " bytes read)") {
			t.Fatalf("got %v, want OpenAI's 413", err)
		}
		// The file comes first, so the model was never read.
		calls := s.Calls("")
		if len(calls) == 0 {
			t.Fatal("got no calls under no model")
		}
		if c := calls[len(calls)-1]; c.Status != http.StatusRequestEntityTooLarge || c.Path != "/v1/audio/transcriptions" {
			t.Errorf("got call %+v under no model, want a 413", c)
		}
	})
}

// postForm sends a multipart form: fields in order (name, value), then
// the file when it is not nil (see postParts). The caller closes the
// response.
func postForm(t *testing.T, ctx context.Context, c *http.Client, url string, file []byte, fields ...string) *http.Response {
	t.Helper()
	var parts []formPart
	for i := 0; i+1 < len(fields); i += 2 {
		parts = append(parts, formPart{name: fields[i], value: fields[i+1]})
	}
	if file != nil {
		parts = append(parts, formPart{name: "file", value: string(file), file: true})
	}
	return postParts(t, ctx, c, url, parts...)
}

func TestAudioRaw(t *testing.T) {
	s, url, c, _ := audioSim(t)
	ctx := t.Context()
	endpoint := url + "/v1/audio/transcriptions"
	audio := []byte("SIMAUDIO1\nwav\n2.5\nfull steam ahead")

	t.Run("whisper json shape", func(t *testing.T) {
		resp := postForm(t, ctx, c, endpoint, audio, "model", "sim-whisper")
		body := decode(t, resp)
		u, _ := body["usage"].(map[string]any)
		if resp.StatusCode != http.StatusOK || len(body) != 2 || body["text"] != "full steam ahead" || len(u) != 2 || u["type"] != "duration" || u["seconds"] != 3.0 {
			t.Errorf("got %d %v, want text and usage by duration (3 seconds)", resp.StatusCode, body)
		}
	})

	t.Run("tokens json shape", func(t *testing.T) {
		resp := postForm(t, ctx, c, endpoint, audio, "model", "sim-transcribe")
		body := decode(t, resp)
		u, _ := body["usage"].(map[string]any)
		d, _ := u["input_token_details"].(map[string]any)
		if resp.StatusCode != http.StatusOK || len(body) != 2 || len(u) != 5 || u["type"] != "tokens" || u["input_tokens"] != 30.0 ||
			u["output_tokens"] != 4.0 || u["total_tokens"] != 34.0 || len(d) != 2 || d["text_tokens"] != 0.0 || d["audio_tokens"] != 30.0 {
			t.Errorf("got %d %v, want text and usage by tokens", resp.StatusCode, body)
		}
	})

	t.Run("verbose_json shape", func(t *testing.T) {
		resp := postForm(t, ctx, c, url+"/v1/audio/translations", audio, "model", "sim-whisper", "response_format", "verbose_json",
			"timestamp_granularities[]", "word", "timestamp_granularities[]", "segment")
		body := decode(t, resp)
		if resp.StatusCode != http.StatusOK || len(body) != 7 || body["task"] != "translate" || body["duration"] != 2.5 {
			t.Errorf("got %d %v, want task, language, duration, text, segments, words and usage", resp.StatusCode, body)
		}
		if seg, _ := get(body, "segments", 0).(map[string]any); len(seg) != 10 {
			t.Errorf("got segment %v, want its ten fields", seg)
		}
		if w := get(body, "words", 2); w == nil || get(w, "word") != "ahead" || get(w, "end") != 2.5 {
			t.Errorf("got words %v, want the last one, ahead, to end at 2.5", body["words"])
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		tests := []struct {
			name   string
			send   func() *http.Response
			status int
			msg    string
		}{
			{"json body", func() *http.Response { return post(t, ctx, c, endpoint, map[string]any{"model": "sim-whisper"}) }, 400,
				"Invalid Content-Type header (application/json), expected multipart/form-data."},
			{"unknown fields", func() *http.Response {
				return postForm(t, ctx, c, endpoint, audio, "model", "sim-whisper", "seed", "1", "n", "2")
			}, 400, "Unrecognized request arguments supplied: n, seed"},
			{"stream not a boolean", func() *http.Response {
				return postForm(t, ctx, c, endpoint, audio, "model", "sim-whisper", "stream", "maybe")
			}, 400, "Invalid type for 'stream'"},
			{"bad include", func() *http.Response {
				return postForm(t, ctx, c, endpoint, audio, "model", "sim-transcribe", "include[]", "words")
			}, 400, "Invalid value: 'words'. Supported values are: 'logprobs'."},
			{"too large, model first", func() *http.Response {
				return postForm(t, ctx, c, endpoint, make([]byte, maxFormBody), "model", "sim-whisper")
			}, 413, "Maximum content size limit (26214400) exceeded ("},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp := tt.send()
				body := decode(t, resp)
				msg, _ := get(body, "error", "message").(string)
				if resp.StatusCode != tt.status || !strings.HasPrefix(msg, tt.msg) {
					t.Errorf("got %d %v, want %d %q", resp.StatusCode, body, tt.status, tt.msg)
				}
			})
		}
		calls := s.Calls("sim-whisper")
		if c := calls[len(calls)-1]; c.Status != http.StatusRequestEntityTooLarge {
			t.Errorf("got last call %+v, want the 413 recorded under its model", c)
		}
	})

	t.Run("speech bad JSON", func(t *testing.T) {
		resp := post(t, ctx, c, url+"/v1/audio/speech", []byte(`{"model": "sim-tts"`))
		body := decode(t, resp)
		if msg, _ := get(body, "error", "message").(string); resp.StatusCode != 400 || !strings.HasPrefix(msg, "We could not parse the JSON body of your request.") {
			t.Errorf("got %d %v, want a 400", resp.StatusCode, body)
		}
	})
}

func TestReadAudio(t *testing.T) {
	for _, tt := range []struct {
		name string
		file []byte
		text string
		secs float64
	}{
		{"sim wav", speechAudio("wav", strings.Repeat("x", 30)), strings.Repeat("x", 30), 2},
		{"container", speechAudio("flac", strings.Repeat("y", 45)), strings.Repeat("y", 45), 3},
		{"container with newlines", []byte("SIMAUDIO1\npcm\n0.5\na\nb"), "a\nb", 1},
		{"bad container", []byte("SIMAUDIO1\npcm\nlong\nhi"), "(audio of 21 bytes)", 1},
		{"truncated wav", []byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00"), "(audio of 18 bytes)", 1},
		{"other", make([]byte, 64000), "(audio of 64000 bytes)", 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			text, secs := audioContent(tt.file)
			if text != tt.text || secs != tt.secs {
				t.Errorf("got %q %v, want %q %v", text, secs, tt.text, tt.secs)
			}
		})
	}
}

func TestDefaultAudioModels(t *testing.T) {
	_, url, c := startSim(t, DefaultConfig())
	oa := openai.NewClient(oaoption.WithBaseURL(url+"/v1"), oaoption.WithAPIKey("sk-test"),
		oaoption.WithMaxRetries(0), oaoption.WithHTTPClient(c))
	_, audio := speak(t, oa, speechReq("sim-tts", "Default yard.", openai.AudioSpeechNewParamsResponseFormatWAV))
	for _, tt := range []struct{ model, usage string }{{"sim-whisper", "duration"}, {"sim-transcribe", "tokens"}} {
		tr := transcribe(t, oa, openai.AudioTranscriptionNewParams{Model: tt.model, File: audioFile(audio, "a.wav", "audio/wav")}).AsTranscription()
		if tr.Text != "Default yard." || tr.Usage.Type != tt.usage {
			t.Errorf("%s: got %s, want the text and usage by %s", tt.model, tr.RawJSON(), tt.usage)
		}
	}
}
