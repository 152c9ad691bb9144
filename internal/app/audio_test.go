package app

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// audioDeployments are a speech deployment, a whisper-style transcription
// deployment priced per minute and a gpt-4o-transcribe-style one priced by
// tokens.
const audioDeployments = `  - name: tts
    provider: sim-openai
    model: sim-tts
    price: {input_per_mtok: 60}
    capabilities: {chat: false, speech: true}
  - name: whisper
    provider: sim-openai
    model: sim-whisper
    price: {per_minute: 0.006}
    capabilities: {chat: false, transcription: true}
  - name: transcribe
    provider: sim-openai
    model: sim-transcribe
    price: {input_per_mtok: 6, output_per_mtok: 10}
    capabilities: {chat: false, transcription: true}
routes:
`

// TestAudio: the OpenAI SDK's speech, transcriptions and translations are
// relayed to deployments that serve them: speech's audio comes back byte
// for byte, and transcribed gives back its text (the simulator's audio
// carries it); costs come from the input, the seconds or the tokens; a
// request without a model goes to a deployment serving its endpoint.
func TestAudio(t *testing.T) {
	cfg := strings.Replace(baseConfig, "routes:\n", audioDeployments, 1)
	s := startStack(t, fastSim(), cfg)
	ctx := context.Background()
	oa := s.openai()
	cost := func(hr *http.Response) float64 {
		c, _ := strconv.ParseFloat(hr.Header.Get("X-Switchyard-Cost"), 64)
		return c
	}
	const said = "All trains to the coast leave from platform nine this morning."

	wav, speech := speak(t, oa, said)
	if !bytes.HasPrefix(wav, []byte("RIFF")) || speech.Header.Get("Content-Type") != "audio/wav" {
		t.Fatalf("speech: %d bytes starting %q, content type %q", len(wav), wav[:min(len(wav), 4)], speech.Header.Get("Content-Type"))
	}
	if c, want := cost(speech), float64((len(said)+3)/4)*60/1e6; c <= 0 || c > want*1.5 {
		t.Errorf("speech cost %v, want about %v (its input at 60 per million tokens)", c, want)
	}

	// Whisper-style: the text back, priced by its seconds.
	var hr *http.Response
	tr, err := oa.Audio.Transcriptions.New(ctx, openai.AudioTranscriptionNewParams{Model: "whisper",
		File: openai.File(bytes.NewReader(wav), "speech.wav", "audio/wav")}, option.WithResponseInto(&hr))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Text != said || tr.Usage.Seconds <= 0 || hr.Header.Get("X-Switchyard-Deployment") != "whisper" {
		t.Fatalf("whisper: %+v, headers %v", tr, hr.Header)
	}
	if c, want := cost(hr), tr.Usage.Seconds/60*0.006; c < want*0.999 || c > want*1.001 {
		t.Errorf("whisper cost %v, want %v for %v s", c, want, tr.Usage.Seconds)
	}

	// gpt-4o-transcribe-style: priced by its tokens.
	tr, err = oa.Audio.Transcriptions.New(ctx, openai.AudioTranscriptionNewParams{Model: "transcribe",
		File: openai.File(bytes.NewReader(wav), "speech.wav", "audio/wav")}, option.WithResponseInto(&hr))
	if err != nil {
		t.Fatal(err)
	}
	if want := (float64(tr.Usage.InputTokens)*6 + float64(tr.Usage.OutputTokens)*10) / 1e6; tr.Text != said || want == 0 || cost(hr) < want*0.999 || cost(hr) > want*1.001 {
		t.Errorf("transcribe: %+v, cost %v, want %v", tr, cost(hr), want)
	}

	// A translation; and a text answer passes as text.
	tl, err := oa.Audio.Translations.New(ctx, openai.AudioTranslationNewParams{Model: "whisper", File: openai.File(bytes.NewReader(wav), "speech.wav", "audio/wav")})
	if err != nil || tl.Text != said {
		t.Errorf("translation: %+v, %v", tl, err)
	}

	// No model: the first deployment serving the endpoint (not tts).
	resp, body := postForm(t, s, "/v1/audio/transcriptions", map[string]string{"response_format": "text"}, wav)
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != said || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") ||
		resp.Header.Get("X-Switchyard-Deployment") != "whisper" {
		t.Errorf("no model, text: %d %q, headers %v", resp.StatusCode, body, resp.Header)
	}

	// What the gateway refuses: a chat deployment, no file.
	resp, body = s.post("/v1/audio/speech", `{"model":"medium","input":"hi","voice":"alloy"}`)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "speech") {
		t.Errorf("speech from a chat deployment: %d %s", resp.StatusCode, body)
	}
	resp, body = s.post("/v1/audio/transcriptions", "--x--\r\n", "Content-Type", "multipart/form-data; boundary=x")
	if resp.StatusCode != 400 || !strings.Contains(string(body), "file") {
		t.Errorf("no file: %d %s", resp.StatusCode, body)
	}
}
