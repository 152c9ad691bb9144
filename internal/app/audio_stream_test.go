package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-gw/switchyard/internal/sim"
)

// sseData is the data of each frame of an event stream.
func sseData(t *testing.T, body io.Reader) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// trailerCost is the X-Switchyard-Cost trailer of a response whose body
// was read to its end.
func trailerCost(hr *http.Response) float64 {
	c, _ := strconv.ParseFloat(hr.Trailer.Get("X-Switchyard-Cost"), 64)
	return c
}

// TestAudioStreams: streamed transcriptions and speech through the gateway
// with the official SDK. The events come as the deployment sent them; the
// deltas make up the whole text (or audio); the usage of the done event
// prices the call, in the cost trailer; a whisper-style deployment that
// ignores stream still answers as a stream; a stream cut before its first
// delta fails over, one cut after it reaches the client as an error, never
// as a shorter answer, and is recorded as partial.
func TestAudioStreams(t *testing.T) {
	simCfg := withFaults(fastSim(), "sim-transcribe", sim.Fault{Type: sim.FaultCut, After: 0, Times: 1})
	cfg := strings.Replace(baseConfig, "routes:\n", audioDeployments, 1)
	s := startStack(t, simCfg, cfg)
	ctx := context.Background()
	oa := s.openai()
	const said = "Signal failure at the junction means the eight fifteen is running late."

	wav, _ := speak(t, oa, said)

	// Streamed speech: base64 deltas of exactly the audio, then done.
	resp, err := s.hc.Post(s.base+"/v1/audio/speech", "application/json",
		strings.NewReader(`{"model":"tts","input":"`+said+`","voice":"alloy","response_format":"wav","stream_format":"sse"}`))
	if err != nil {
		t.Fatal(err)
	}
	frames := sseData(t, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") || len(frames) < 2 {
		t.Fatalf("streamed speech: %d %v, %d frames", resp.StatusCode, resp.Header, len(frames))
	}
	var audio []byte
	for _, f := range frames[:len(frames)-1] {
		var ev struct{ Type, Audio string }
		if err := json.Unmarshal([]byte(f), &ev); err != nil || ev.Type != "speech.audio.delta" {
			t.Fatalf("speech frame %s: %v", f, err)
		}
		b, err := base64.StdEncoding.DecodeString(ev.Audio)
		if err != nil {
			t.Fatal(err)
		}
		audio = append(audio, b...)
	}
	var done struct {
		Type  string
		Usage struct {
			InputTokens  int `json:"input_tokens"`
			OutputTokens int `json:"output_tokens"`
		} `json:"usage"`
	}
	_ = json.Unmarshal([]byte(frames[len(frames)-1]), &done)
	if !bytes.Equal(audio, wav) || done.Type != "speech.audio.done" {
		t.Errorf("streamed speech: %d bytes (want the %d of the plain answer), last event %s", len(audio), len(wav), frames[len(frames)-1])
	}
	if raw := done.Usage; raw.InputTokens == 0 || trailerCost(resp) != float64(raw.InputTokens)*60/1e6 {
		t.Errorf("streamed speech cost %v, want its %d input tokens at 60 per million", trailerCost(resp), raw.InputTokens)
	}

	// A streamed transcription, read by the SDK. The deployment's first
	// attempt is cut before any delta: it is tried again, unseen.
	var hr *http.Response
	st := oa.Audio.Transcriptions.NewStreaming(ctx, openai.AudioTranscriptionNewParams{Model: "transcribe",
		File: openai.File(bytes.NewReader(wav), "speech.wav", "audio/wav")}, option.WithResponseInto(&hr))
	var text strings.Builder
	var final openai.TranscriptionStreamEventUnion
	for st.Next() {
		ev := st.Current()
		switch ev.Type {
		case "transcript.text.delta":
			text.WriteString(ev.Delta)
		case "transcript.text.done":
			final = ev
		}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if text.String() != said || final.Text != said || final.Usage.InputTokens == 0 {
		t.Fatalf("streamed transcription: deltas %q, done %+v", text.String(), final)
	}
	if n := len(s.sim.Calls("sim-transcribe")); n != 2 {
		t.Errorf("sim-transcribe saw %d calls, want 2 (the cut one, then the retry)", n)
	}
	if want := (float64(final.Usage.InputTokens)*6 + float64(final.Usage.OutputTokens)*10) / 1e6; trailerCost(hr) < want*0.999 || trailerCost(hr) > want*1.001 {
		t.Errorf("streamed transcription cost %v, want %v", trailerCost(hr), want)
	}

	// Whisper ignores stream and answers whole: the client still gets the
	// stream it asked for, priced by the seconds.
	st = oa.Audio.Transcriptions.NewStreaming(ctx, openai.AudioTranscriptionNewParams{Model: "whisper",
		File: openai.File(bytes.NewReader(wav), "speech.wav", "audio/wav")}, option.WithResponseInto(&hr))
	text.Reset()
	final = openai.TranscriptionStreamEventUnion{}
	for st.Next() {
		if ev := st.Current(); ev.Type == "transcript.text.delta" {
			text.WriteString(ev.Delta)
		} else {
			final = ev
		}
	}
	st.Close()
	if st.Err() != nil || text.String() != said || final.Type != "transcript.text.done" || final.Text != said || trailerCost(hr) <= 0 {
		t.Errorf("whisper, streamed: %v, deltas %q, done %+v, cost %v", st.Err(), text.String(), final, trailerCost(hr))
	}

	// Cut after two deltas: the SDK raises an error; the record is partial.
	s.sim.SetConfig(withFaults(fastSim(), "sim-transcribe", sim.Fault{Type: sim.FaultCut, After: 2}))
	st = oa.Audio.Transcriptions.NewStreaming(ctx, openai.AudioTranscriptionNewParams{Model: "transcribe",
		File: openai.File(bytes.NewReader(wav), "speech.wav", "audio/wav")}, option.WithResponseInto(&hr))
	deltas := 0
	for st.Next() {
		if st.Current().Type == "transcript.text.done" {
			t.Error("a cut stream ended with a done event")
		}
		deltas++
	}
	st.Close()
	if st.Err() == nil || deltas != 2 {
		t.Errorf("cut stream: %d deltas, error %v; want 2 and an error", deltas, st.Err())
	}
	line := s.requestLog(hr.Header.Get("X-Request-Id"))
	if line["partial"] != true || line["stream"] != true || line["status"] != float64(200) || line["error"] != "unavailable" {
		t.Errorf("cut stream's request log: %v", line)
	}

	// Translations do not stream.
	resp2, body := postForm(t, s, "/v1/audio/translations", map[string]string{"model": "whisper", "stream": "true"}, wav)
	if resp2.StatusCode != 400 || !strings.Contains(string(body), "stream") {
		t.Errorf("streamed translation: %d %s", resp2.StatusCode, body)
	}
}

// speak is said as WAV from the deployment tts, through the SDK, with the
// response (its body read).
func speak(t *testing.T, oa openai.Client, said string) ([]byte, *http.Response) {
	t.Helper()
	speech, err := oa.Audio.Speech.New(context.Background(), openai.AudioSpeechNewParams{Model: "tts", Input: said,
		Voice: openai.AudioSpeechNewParamsVoiceUnion{OfString: openai.String("alloy")}, ResponseFormat: openai.AudioSpeechNewParamsResponseFormatWAV})
	if err != nil {
		t.Fatal(err)
	}
	wav, err := io.ReadAll(speech.Body)
	speech.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return wav, speech
}

// postForm posts a multipart form of fields and one file (the field
// "file") to path.
func postForm(t *testing.T, s *stack, path string, fields map[string]string, file []byte) (*http.Response, []byte) {
	t.Helper()
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", "speech.wav")
	_, _ = fw.Write(file)
	_ = mw.Close()
	return s.post(path, form.String(), "Content-Type", mw.FormDataContentType())
}
