package sim

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	oaoption "github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"
)

// streamBlocks reads a stream to its end and returns its frames, the text
// between blank lines, failing the test when it does not end with one.
// err is the read error.
func streamBlocks(t *testing.T, body io.Reader) ([]string, error) {
	t.Helper()
	b, err := io.ReadAll(body)
	s := string(b)
	if s == "" {
		return nil, err
	}
	if !strings.HasSuffix(s, "\n\n") {
		t.Errorf("got a stream ending %q, want each event followed by a blank line", s[max(0, len(s)-40):])
	}
	return strings.Split(strings.TrimSuffix(s, "\n\n"), "\n\n"), err
}

// audioEvents reads an audio stream to its end and returns the data of
// each event, failing the test on an event that is not a single data
// line (OpenAI's audio streams have no event lines). err is the read error.
func audioEvents(t *testing.T, body io.Reader) ([]string, error) {
	t.Helper()
	blocks, err := streamBlocks(t, body)
	var out []string
	for _, blk := range blocks {
		data, ok := strings.CutPrefix(blk, "data: ")
		if !ok || strings.Contains(data, "\n") {
			t.Errorf("got event %q, want one data line", blk)
			continue
		}
		out = append(out, data)
	}
	return out, err
}

// eventOf decodes an event's data, failing the test when it is no JSON object.
func eventOf(t *testing.T, data string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(data), &m); err != nil {
		t.Fatalf("got event %q, want a JSON object", data)
	}
	return m
}

// typesOf lists the type of each event ("?" for undecodable data, "error"
// for an error frame).
func typesOf(evs []string) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		var m map[string]any
		switch {
		case json.Unmarshal([]byte(e), &m) != nil:
			out[i] = "?"
		case m["error"] != nil:
			out[i] = "error"
		default:
			out[i], _ = m["type"].(string)
		}
	}
	return out
}

// repeated is n copies of s followed by the rest.
func repeated(s string, n int, rest ...string) []string {
	return append(slices.Repeat([]string{s}, n), rest...)
}

// streamTranscription posts a streamed transcription of file and returns
// the response (body closed) and, when it is a 200, its events.
func streamTranscription(t *testing.T, ctx context.Context, c *http.Client, url string, file []byte, fields ...string) (*http.Response, []string, error) {
	t.Helper()
	resp := postForm(t, ctx, c, url+"/v1/audio/transcriptions", file, append([]string{"stream", "true"}, fields...)...)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp, nil, nil
	}
	evs, err := audioEvents(t, resp.Body)
	return resp, evs, err
}

// speechBody is a JSON speech request in a built-in voice, with extra
// fields as key, value pairs.
func speechBody(model, input, format string, kv ...any) map[string]any {
	return with(map[string]any{"model": model, "input": input, "voice": "alloy", "response_format": format}, kv...)
}

// streamSpeechReq posts a speech request with stream_format sse and returns
// the response (body closed) and, when it is a 200, its events.
func streamSpeechReq(t *testing.T, ctx context.Context, c *http.Client, url string, body map[string]any, headers ...string) (*http.Response, []string, error) {
	t.Helper()
	resp := post(t, ctx, c, url+"/v1/audio/speech", with(body, "stream_format", "sse"), headers...)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp, nil, nil
	}
	evs, err := audioEvents(t, resp.Body)
	return resp, evs, err
}

// speechBytes concatenates the decoded audio of speech.audio.delta events
// and returns their sizes.
func speechBytes(t *testing.T, evs []string) ([]byte, []int) {
	t.Helper()
	var audio []byte
	var sizes []int
	for _, e := range evs {
		m := map[string]any{}
		if json.Unmarshal([]byte(e), &m) != nil || m["type"] != "speech.audio.delta" {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(m["audio"].(string))
		if err != nil || len(m) != 2 {
			t.Errorf("got delta %s, want type and standard base64 audio only", e)
		}
		audio = append(audio, b...)
		sizes = append(sizes, len(b))
	}
	return audio, sizes
}

func TestTranscriptionStreamWire(t *testing.T) {
	s, url, c, _ := audioSim(t)
	audio := []byte("SIMAUDIO1\nwav\n2.5\nfull steam ahead") // 3 billed seconds: 30 audio tokens
	resp, evs, err := streamTranscription(t, t.Context(), c, url, audio, "model", "sim-transcribe")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("got %d %v, want a 200 stream", resp.StatusCode, err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Errorf("got Content-Type %q, want text/event-stream", ct)
	}
	if id := resp.Header.Get("x-request-id"); !strings.HasPrefix(id, "req_") {
		t.Errorf("got x-request-id %q, want req_...", id)
	}
	want := []string{
		`{"type":"transcript.text.delta","delta":"full "}`,
		`{"type":"transcript.text.delta","delta":"steam "}`,
		`{"type":"transcript.text.delta","delta":"ahead"}`,
		`{"type":"transcript.text.done","text":"full steam ahead","usage":{"type":"tokens","input_tokens":30,` +
			`"input_token_details":{"text_tokens":0,"audio_tokens":30},"output_tokens":4,"total_tokens":34}}`,
	}
	if !slices.Equal(evs, want) {
		t.Errorf("got events\n%s\nwant\n%s", strings.Join(evs, "\n"), strings.Join(want, "\n"))
	}
	calls := s.Calls("sim-transcribe")
	if c := calls[len(calls)-1]; !c.Stream || c.Status != http.StatusOK || c.Path != "/v1/audio/transcriptions" || c.Fault != "" {
		t.Errorf("got call %+v, want a streamed 200", c)
	}
}

func TestTranscriptionStream(t *testing.T) {
	_, url, c, oa := audioSim(t)
	ctx := t.Context()
	input := "Mind the gap between the train and the platform, please."
	_, audio := speak(t, oa, speechReq("sim-tts", input, openai.AudioSpeechNewParamsResponseFormatWAV))
	non := decode(t, postForm(t, ctx, c, url+"/v1/audio/transcriptions", audio, "model", "sim-transcribe"))
	words := []string{"Mind ", "the ", "gap ", "between ", "the ", "train ", "and ", "the ", "platform, ", "please."}

	for _, tt := range []struct{ name, stream, format string }{
		{"json by default", "true", ""},
		{"json", "true", "json"},
		{"text", "true", "text"},
		{"TRUE", "TRUE", ""},
		{"tRuE", "tRuE", "text"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fields := []string{"model", "sim-transcribe", "stream", tt.stream}
			if tt.format != "" {
				fields = append(fields, "response_format", tt.format)
			}
			resp := postForm(t, ctx, c, url+"/v1/audio/transcriptions", audio, fields...)
			defer resp.Body.Close()
			evs, err := audioEvents(t, resp.Body)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("got %d %v, want a 200 stream", resp.StatusCode, err)
			}
			if got, want := typesOf(evs), repeated("transcript.text.delta", len(words), "transcript.text.done"); !slices.Equal(got, want) {
				t.Fatalf("got events %v, want %v", got, want)
			}
			var deltas []string
			for _, e := range evs[:len(words)] {
				m := eventOf(t, e)
				d, _ := m["delta"].(string)
				if len(m) != 2 {
					t.Errorf("got delta %s, want type and delta only", e)
				}
				deltas = append(deltas, d)
			}
			if !slices.Equal(deltas, words) || strings.Join(deltas, "") != non["text"] {
				t.Errorf("got deltas %q, want %q, making up %q", deltas, words, non["text"])
			}
			done := eventOf(t, evs[len(evs)-1])
			if len(done) != 3 || done["text"] != non["text"] || !reflect.DeepEqual(done["usage"], non["usage"]) {
				t.Errorf("got done %v, want type, the text and the usage of %v", done, non)
			}
		})
	}
}

func TestTranscriptionStreamPacing(t *testing.T) {
	m := Model{Name: "slow-transcribe", FirstToken: 40 * time.Millisecond, TokensPerSecond: 100}
	_, url, c, _ := audioSim(t, m)
	audio := []byte("SIMAUDIO1\nwav\n1\none two three")
	start := time.Now()
	_, evs, err := streamTranscription(t, t.Context(), c, url, audio, "model", m.Name)
	if err != nil || len(evs) != 4 {
		t.Fatalf("got %d events, %v; want 4", len(evs), err)
	}
	// first token, then two gaps of 10ms
	if got, want := time.Since(start), 60*time.Millisecond; got < want {
		t.Errorf("stream took %v, want >= %v", got, want)
	}
}

func TestTranscriptionStreamIgnoredOrRefused(t *testing.T) {
	s, url, c, _ := audioSim(t)
	ctx := t.Context()
	audio := []byte("SIMAUDIO1\nmp3\n2\nall change")

	t.Run("whisper ignores stream", func(t *testing.T) {
		for _, format := range []string{"json", "text", "verbose_json"} {
			plain := postForm(t, ctx, c, url+"/v1/audio/transcriptions", audio, "model", "sim-whisper", "response_format", format)
			want, _ := io.ReadAll(plain.Body)
			plain.Body.Close()
			resp := postForm(t, ctx, c, url+"/v1/audio/transcriptions", audio, "model", "sim-whisper", "response_format", format, "stream", "true")
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || plain.StatusCode != http.StatusOK || !bytes.Equal(got, want) ||
				resp.Header.Get("Content-Type") != plain.Header.Get("Content-Type") {
				t.Errorf("%s: got %d %q %q, want %d %q %q", format, resp.StatusCode, resp.Header.Get("Content-Type"), got,
					plain.StatusCode, plain.Header.Get("Content-Type"), want)
			}
		}
		calls := s.Calls("sim-whisper")
		if c := calls[len(calls)-1]; !c.Stream || c.Status != http.StatusOK {
			t.Errorf("got call %+v, want the stream flag recorded on a 200", c)
		}
	})

	t.Run("translations refuse stream", func(t *testing.T) {
		for _, model := range []string{"sim-whisper", "sim-transcribe"} {
			resp := postForm(t, ctx, c, url+"/v1/audio/translations", audio, "model", model, "stream", "true")
			body := decode(t, resp)
			msg, _ := get(body, "error", "message").(string)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(msg, "does not stream translations") {
				t.Errorf("%s: got %d %v, want a 400", model, resp.StatusCode, body)
			}
		}
	})

	t.Run("formats a stream cannot take", func(t *testing.T) {
		for _, format := range []string{"srt", "vtt", "verbose_json"} {
			resp := postForm(t, ctx, c, url+"/v1/audio/transcriptions", audio, "model", "sim-transcribe", "response_format", format, "stream", "true")
			body := decode(t, resp)
			want := fmt.Sprintf("response_format '%s' is not supported with stream. Use 'json' or 'text' instead.", format)
			if resp.StatusCode != http.StatusBadRequest || get(body, "error", "param") != "response_format" ||
				get(body, "error", "type") != "invalid_request_error" || get(body, "error", "message") != want {
				t.Errorf("%s: got %d %v, want a 400 on response_format", format, resp.StatusCode, body)
			}
		}
	})

	t.Run("stream false", func(t *testing.T) {
		resp := postForm(t, ctx, c, url+"/v1/audio/transcriptions", audio, "model", "sim-transcribe", "stream", "False")
		if body := decode(t, resp); resp.StatusCode != http.StatusOK || body["text"] != "all change" {
			t.Errorf("got %d %v, want a json answer", resp.StatusCode, body)
		}
	})
}

func TestTranscriptionStreamSDK(t *testing.T) {
	_, _, _, oa := audioSim(t)
	ctx := t.Context()
	input := "Change here for the branch line."
	_, audio := speak(t, oa, speechReq("sim-tts", input, openai.AudioSpeechNewParamsResponseFormatMP3))
	params := func() openai.AudioTranscriptionNewParams {
		return openai.AudioTranscriptionNewParams{Model: "sim-transcribe", File: audioFile(audio, "a.mp3", "audio/mpeg")}
	}
	want := transcribe(t, oa, params()).AsTranscription()

	st := oa.Audio.Transcriptions.NewStreaming(ctx, params())
	defer st.Close()
	var text strings.Builder
	var done []openai.TranscriptionTextDoneEvent
	deltas := 0
	for st.Next() {
		switch ev := st.Current(); ev.Type {
		case "transcript.text.delta":
			deltas++
			text.WriteString(ev.AsTranscriptTextDelta().Delta)
		case "transcript.text.done":
			done = append(done, ev.AsTranscriptTextDone())
		default:
			t.Errorf("got event %s, want transcript.text.delta or done", ev.RawJSON())
		}
	}
	if err := st.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if deltas != 6 || text.String() != input {
		t.Errorf("got %d deltas making %q, want 6 making %q", deltas, text.String(), input)
	}
	if len(done) != 1 {
		t.Fatalf("got %d done events, want 1", len(done))
	}
	u, wu := done[0].Usage, want.Usage.AsTokens()
	if done[0].Text != input || u.Type != "tokens" || u.InputTokens != wu.InputTokens || u.OutputTokens != wu.OutputTokens ||
		u.TotalTokens != wu.TotalTokens || u.InputTokenDetails.AudioTokens != wu.InputTokenDetails.AudioTokens ||
		!u.InputTokenDetails.JSON.TextTokens.Valid() || len(u.JSON.ExtraFields) != 0 {
		t.Errorf("got done %s, want the text and usage %s", done[0].RawJSON(), want.Usage.RawJSON())
	}

	t.Run("stream_error surfaces as an error", func(t *testing.T) {
		st := oa.Audio.Transcriptions.NewStreaming(ctx, params(), oaoption.WithHeader("X-Sim-Fault", "stream_error;after=1"))
		defer st.Close()
		n := 0
		for st.Next() {
			n++
		}
		if err := st.Err(); n != 1 || err == nil || !strings.Contains(err.Error(), "server_error") {
			t.Errorf("got %d events and %v, want one delta then the in-band error", n, err)
		}
	})

	t.Run("speech", func(t *testing.T) {
		p := speechReq("sim-tts", input, openai.AudioSpeechNewParamsResponseFormatWAV)
		_, plain := speak(t, oa, p)
		p.StreamFormat = openai.AudioSpeechNewParamsStreamFormatSSE
		resp, err := oa.Audio.Speech.New(ctx, p)
		type speechEvent struct {
			Type  string `json:"type"`
			Audio []byte `json:"audio"`
			Usage *struct {
				InputTokens  int64 `json:"input_tokens"`
				OutputTokens int64 `json:"output_tokens"`
				TotalTokens  int64 `json:"total_tokens"`
			} `json:"usage"`
		}
		st := ssestream.NewStream[speechEvent](ssestream.NewDecoder(resp), err)
		defer st.Close()
		var got []byte
		var last speechEvent
		for st.Next() {
			last = st.Current()
			got = append(got, last.Audio...)
		}
		if err := st.Err(); err != nil || !bytes.Equal(got, plain) {
			t.Errorf("got %d bytes, %v; want the %d bytes of the plain answer", len(got), err, len(plain))
		}
		if last.Type != "speech.audio.done" || last.Usage == nil || last.Usage.InputTokens != 8 || last.Usage.OutputTokens != 30 || last.Usage.TotalTokens != 38 {
			t.Errorf("got last event %+v, want speech.audio.done with usage", last)
		}
	})
}

func TestSpeechStream(t *testing.T) {
	s, url, c, _ := audioSim(t)
	ctx := t.Context()
	long := strings.Repeat("All aboard! ", 3) + "Next stop: yard." // 52 characters: 3.467s, 4 billed; 13 bytes: 13 tokens
	for _, tt := range []struct {
		name, input, format string
		chunks              int
		usage               string
	}{
		{"wav", long, "wav", 41, `{"input_tokens":13,"output_tokens":40,"total_tokens":53}`},                  // 166518 bytes
		{"short wav", "Hi!", "wav", 12, `{"input_tokens":1,"output_tokens":10,"total_tokens":11}`},            // 48068 bytes
		{"mp3", long, "mp3", 4, `{"input_tokens":13,"output_tokens":40,"total_tokens":53}`},                   // 84-byte container
		{"pcm", "Hi!", "pcm", 4, `{"input_tokens":1,"output_tokens":10,"total_tokens":11}`},                   // 19-byte container
		{"default format", "Mind the gap.", "", 4, `{"input_tokens":4,"output_tokens":10,"total_tokens":14}`}, // mp3, 29 bytes
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := speechBody("sim-tts", tt.input, tt.format)
			if tt.format == "" {
				delete(body, "response_format")
			}
			plain := post(t, ctx, c, url+"/v1/audio/speech", body)
			want, _ := io.ReadAll(plain.Body)
			plain.Body.Close()

			resp, evs, err := streamSpeechReq(t, ctx, c, url, body)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("got %d %v, want a 200 stream", resp.StatusCode, err)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
				t.Errorf("got Content-Type %q, want text/event-stream", ct)
			}
			if got, wantTypes := typesOf(evs), repeated("speech.audio.delta", tt.chunks, "speech.audio.done"); !slices.Equal(got, wantTypes) {
				t.Fatalf("got events %v, want %v", got, wantTypes)
			}
			got, sizes := speechBytes(t, evs)
			if !bytes.Equal(got, want) {
				t.Errorf("got %d bytes, want the %d bytes of the plain answer", len(got), len(want))
			}
			if slices.Max(sizes) > 4096 {
				t.Errorf("got chunk sizes %v, want at most 4096", sizes)
			}
			if done, want := evs[len(evs)-1], `{"type":"speech.audio.done","usage":`+tt.usage+`}`; done != want {
				t.Errorf("got done %s, want %s", done, want)
			}
		})
	}

	t.Run("stream_format audio", func(t *testing.T) {
		resp := post(t, ctx, c, url+"/v1/audio/speech", speechBody("sim-tts", "Hi!", "pcm", "stream_format", "audio"))
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "audio/pcm" || string(b) != "SIMAUDIO1\npcm\n1\nHi!" {
			t.Errorf("got %q %q, want the audio", ct, b)
		}
	})

	streamed := 0
	for i, c := range s.Calls("sim-tts") {
		if c.Status != http.StatusOK || c.Path != "/v1/audio/speech" {
			t.Errorf("call %d: got %+v, want a 200 on /v1/audio/speech", i, c)
		}
		if c.Stream {
			streamed++
		}
	}
	if streamed != 5 {
		t.Errorf("got %d calls with the stream flag, want the 5 sse requests", streamed)
	}
}

// audioStreams are the two audio streams, each as a function sending one
// request with the given X-Sim-Fault header (empty for none).
func audioStreams(c *http.Client, url string) []struct {
	name string
	send func(t *testing.T, ctx context.Context, fault string) (*http.Response, []string, error)
} {
	return []struct {
		name string
		send func(t *testing.T, ctx context.Context, fault string) (*http.Response, []string, error)
	}{
		{"transcription", func(t *testing.T, ctx context.Context, fault string) (*http.Response, []string, error) {
			t.Helper()
			// five words: five deltas
			return streamTranscription(t, ctx, faultClient(c, fault), url, []byte("SIMAUDIO1\nwav\n1\none two three four five"), "model", "sim-transcribe")
		}},
		{"speech", func(t *testing.T, ctx context.Context, fault string) (*http.Response, []string, error) {
			t.Helper()
			// a 19-byte container: four deltas
			return streamSpeechReq(t, ctx, faultClient(c, fault), url, speechBody("sim-tts", "Hi!", "mp3"))
		}},
	}
}

func TestAudioStreamFaults(t *testing.T) {
	s, url, c, _ := audioSim(t)
	tests := []struct {
		name  string
		fault string
		// check gets the events (types), their total delta count and the read error.
		check func(t *testing.T, types []string, deltas int, err error)
	}{
		{"cut", "cut;after=2", func(t *testing.T, types []string, deltas int, err error) {
			if !errors.Is(err, io.ErrUnexpectedEOF) || len(types) != 2 || countDeltas(types) != 2 {
				t.Errorf("got %v, %v; want two deltas then an unexpected EOF", types, err)
			}
		}},
		{"cut before any delta", "cut", func(t *testing.T, types []string, deltas int, err error) {
			if !errors.Is(err, io.ErrUnexpectedEOF) || len(types) != 0 {
				t.Errorf("got %v, %v; want no event then an unexpected EOF", types, err)
			}
		}},
		{"missing_done", "missing_done", func(t *testing.T, types []string, deltas int, err error) {
			if err != nil || len(types) != deltas || countDeltas(types) != deltas {
				t.Errorf("got %v, %v; want %d deltas, no done, a clean end", types, err, deltas)
			}
		}},
		{"stream_error", "stream_error;after=2", func(t *testing.T, types []string, deltas int, err error) {
			if err != nil || len(types) != 3 || countDeltas(types) != 2 || types[2] != "error" {
				t.Errorf("got %v, %v; want two deltas, an error frame, a clean end", types, err)
			}
		}},
		{"malformed", "malformed;after=1", func(t *testing.T, types []string, deltas int, err error) {
			if err != nil || len(types) != deltas+2 || types[1] != "?" || countDeltas(types) != deltas ||
				!strings.HasSuffix(types[len(types)-1], ".done") {
				t.Errorf("got %v, %v; want a delta, an undecodable event, the other deltas and done", types, err)
			}
		}},
		{"stall", "stall;after=1", func(t *testing.T, types []string, deltas int, err error) {
			if !errors.Is(err, context.DeadlineExceeded) || len(types) != 1 || countDeltas(types) != 1 {
				t.Errorf("got %v, %v; want one delta, then nothing until the deadline", types, err)
			}
		}},
	}
	for _, st := range audioStreams(c, url) {
		_, clean, err := st.send(t, t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		deltas := countDeltas(typesOf(clean))
		for _, tt := range tests {
			t.Run(st.name+"/"+tt.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
				defer cancel()
				resp, evs, err := st.send(t, ctx, tt.fault)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("got status %d, want 200", resp.StatusCode)
				}
				types := typesOf(evs)
				tt.check(t, types, deltas, err)
				if tt.name == "stream_error" && len(evs) > 0 {
					if m := eventOf(t, evs[len(evs)-1]); get(m, "error", "type") != "server_error" || get(m, "error", "message") == nil {
						t.Errorf("got error frame %s, want OpenAI's server_error", evs[len(evs)-1])
					}
				}
			})
		}
	}
	for _, model := range []string{"sim-transcribe", "sim-tts"} {
		calls := s.Calls(model)
		for _, c := range calls[1:] {
			if c.Fault == "" || !c.Stream || c.Status != http.StatusOK {
				t.Errorf("%s: got call %+v, want a streamed 200 with its fault", model, c)
			}
		}
	}
}

func TestAudioStreamFaultMatching(t *testing.T) {
	flaky := func(name string) Model {
		return Model{Name: name, Faults: []Fault{{Type: FaultCut, After: 1, Times: 1}}}
	}
	s, url, c, _ := audioSim(t, flaky("flaky-transcribe"), flaky("flaky-tts"))
	ctx := t.Context()
	audio := []byte("SIMAUDIO1\nwav\n1\none two three")

	t.Run("transcription", func(t *testing.T) {
		// Not streamed: served, and the fault's Times not used up.
		if body := decode(t, postForm(t, ctx, c, url+"/v1/audio/transcriptions", audio, "model", "flaky-transcribe")); body["text"] != "one two three" {
			t.Errorf("got %v, want the json answer", body)
		}
		_, evs, err := streamTranscription(t, ctx, c, url, audio, "model", "flaky-transcribe")
		if !errors.Is(err, io.ErrUnexpectedEOF) || len(evs) != 1 {
			t.Errorf("got %d events, %v; want the stream cut after a delta", len(evs), err)
		}
		_, evs, err = streamTranscription(t, ctx, c, url, audio, "model", "flaky-transcribe")
		if err != nil || len(evs) != 4 {
			t.Errorf("got %d events, %v; want the whole stream once Times is used up", len(evs), err)
		}
		faults := []FaultType{}
		for _, c := range s.Calls("flaky-transcribe") {
			faults = append(faults, c.Fault)
		}
		if want := []FaultType{"", FaultCut, ""}; !slices.Equal(faults, want) {
			t.Errorf("got faults %q, want %q", faults, want)
		}
	})

	t.Run("speech", func(t *testing.T) {
		body := speechBody("flaky-tts", "Hi!", "mp3")
		resp := post(t, ctx, c, url+"/v1/audio/speech", body)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "SIMAUDIO1\nmp3\n1\nHi!" {
			t.Errorf("got %q, want the audio", b)
		}
		_, evs, err := streamSpeechReq(t, ctx, c, url, body)
		if !errors.Is(err, io.ErrUnexpectedEOF) || len(evs) != 1 {
			t.Errorf("got %d events, %v; want the stream cut after a delta", len(evs), err)
		}
	})

	t.Run("header on a whisper stream is ignored", func(t *testing.T) {
		resp := postForm(t, ctx, faultClient(c, "cut"), url+"/v1/audio/transcriptions", audio, "model", "sim-whisper", "stream", "true")
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("got %d %q, want a json answer", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	})

	t.Run("pre-answer faults", func(t *testing.T) {
		resp := postForm(t, ctx, faultClient(c, "status;status=429;retry_after=1s"), url+"/v1/audio/transcriptions", audio,
			"model", "sim-transcribe", "stream", "true")
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" {
			t.Errorf("transcription: got %d, want a 429 with Retry-After", resp.StatusCode)
		}
		resp, _, _ = streamSpeechReq(t, ctx, c, url, speechBody("sim-tts", "Hi!", "mp3"), "X-Sim-Fault", "status;status=503")
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("speech: got %d, want a 503", resp.StatusCode)
		}
		calls := s.Calls("sim-tts")
		if c := calls[len(calls)-1]; c.Fault != FaultStatus || !c.Stream || c.Status != http.StatusServiceUnavailable {
			t.Errorf("got call %+v, want a streamed 503 status fault", c)
		}
		b, _ := json.Marshal(with(speechBody("sim-tts", "Hi!", "mp3"), "stream_format", "sse"))
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/audio/speech", bytes.NewReader(b))
		if resp, err := faultClient(c, "reset").Do(req); err == nil {
			resp.Body.Close()
			t.Errorf("reset: got status %d, want a transport error", resp.StatusCode)
		}
	})
}

// faultTransport sends every request with an X-Sim-Fault header.
type faultTransport struct {
	next  http.RoundTripper
	fault string
}

func (f faultTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Sim-Fault", f.fault)
	return f.next.RoundTrip(r)
}

// faultClient is c sending X-Sim-Fault: fault on every request, or c itself
// when fault is empty.
func faultClient(c *http.Client, fault string) *http.Client {
	if fault == "" {
		return c
	}
	return &http.Client{Transport: faultTransport{next: c.Transport, fault: fault}}
}

// countDeltas counts the delta events among types.
func countDeltas(types []string) int {
	n := 0
	for _, ty := range types {
		if strings.HasSuffix(ty, ".delta") {
			n++
		}
	}
	return n
}

func TestWordPieces(t *testing.T) {
	for _, tt := range []struct {
		text string
		want []string
	}{
		{"", nil},
		{"one", []string{"one"}},
		{"one two", []string{"one ", "two"}},
		{"  lead  and trail\n", []string{"  lead  ", "and ", "trail\n"}},
		{"tab\tand\nline", []string{"tab\t", "and\n", "line"}},
		{"   ", []string{"   "}},
	} {
		if got := wordPieces(tt.text); !slices.Equal(got, tt.want) || strings.Join(got, "") != tt.text {
			t.Errorf("wordPieces(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestSpeechPieces(t *testing.T) {
	for _, tt := range []struct {
		n     int
		sizes []int
	}{
		{1, []int{1}},
		{5, []int{2, 2, 1}},
		{18, []int{5, 5, 5, 3}},
		{10000, []int{2500, 2500, 2500, 2500}},
		{4*4096 + 1, []int{4096, 4096, 4096, 4096, 1}},
	} {
		audio := make([]byte, tt.n)
		for i := range audio {
			audio[i] = byte(i)
		}
		var got []byte
		var sizes []int
		for _, p := range speechPieces(audio) {
			b, err := base64.StdEncoding.DecodeString(p)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, b...)
			sizes = append(sizes, len(b))
		}
		if !bytes.Equal(got, audio) || !slices.Equal(sizes, tt.sizes) {
			t.Errorf("%d bytes: got chunks of %v, want %v making up the audio", tt.n, sizes, tt.sizes)
		}
	}
}
