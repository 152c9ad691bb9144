package gateway_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAudioNonAnswerFailsOver: an audio answer that is not what was asked
// (a web page, as a base_url missing its /v1 gives; JSON without the
// transcript's text) is the deployment failing: the request fails over to
// the route's next deployment, streamed or not, and a route with no other
// is an error, not that page as a success.
func TestAudioNonAnswerFailsOver(t *testing.T) {
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!doctype html><html><body>Sign in to continue</body></html>")
	}))
	t.Cleanup(page.Close)
	empty := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{}`)
	}))
	t.Cleanup(empty.Close)
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/audio/speech" {
			io.Copy(io.Discard, r.Body)
			if strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
				w.Header().Set("Content-Type", "text/event-stream")
				io.WriteString(w, "data: {\"type\":\"speech.audio.delta\",\"audio\":\"SUQz\"}\n\ndata: {\"type\":\"speech.audio.done\",\"usage\":{\"input_tokens\":2,\"output_tokens\":3,\"total_tokens\":5}}\n\n")
				return
			}
			w.Header().Set("Content-Type", "audio/mpeg")
			io.WriteString(w, "ID3 audio")
			return
		}
		r.ParseMultipartForm(1 << 20)
		switch r.FormValue("response_format") {
		case "text":
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			io.WriteString(w, "hello there\n")
		default:
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"text":"hello there","usage":{"type":"duration","seconds":2}}`)
		}
	}))
	t.Cleanup(good.Close)
	base := gw(t, `
providers:
  - {name: page, kind: openai, base_url: "`+page.URL+`/v1"}
  - {name: empty, kind: openai, base_url: "`+empty.URL+`/v1"}
  - {name: good, kind: openai, base_url: "`+good.URL+`/v1"}
deployments:
  - {name: stt-page, provider: page, model: whisper-1, capabilities: {chat: false, transcription: true}}
  - {name: stt-empty, provider: empty, model: whisper-1, capabilities: {chat: false, transcription: true}}
  - {name: stt, provider: good, model: whisper-1, capabilities: {chat: false, transcription: true}}
  - {name: tts-page, provider: page, model: tts-1, capabilities: {chat: false, speech: true}}
  - {name: tts, provider: good, model: tts-1, capabilities: {chat: false, speech: true}}
routes:
  - {name: listen, targets: [stt-page, stt]}
  - {name: listen-empty, targets: [stt-empty, stt]}
  - {name: listen-page-only, targets: [stt-page]}
  - {name: voice, targets: [tts-page, tts]}
`, nil)
	transcribe := func(fields ...string) (int, string, http.Header) {
		t.Helper()
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		for i := 0; i+1 < len(fields); i += 2 {
			mw.WriteField(fields[i], fields[i+1])
		}
		fw, _ := mw.CreateFormFile("file", "clip.wav")
		fw.Write([]byte("RIFF....WAVE"))
		mw.Close()
		resp, err := http.Post(base+"/v1/audio/transcriptions", mw.FormDataContentType(), &b)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out), resp.Header
	}
	for _, tc := range []struct {
		name   string
		fields []string
		want   string
	}{
		{"json after a web page", []string{"model", "listen"}, `"text":"hello there"`},
		{"text after a web page", []string{"model", "listen", "response_format", "text"}, "hello there\n"},
		{"json after an empty object", []string{"model", "listen-empty"}, `"text":"hello there"`},
		{"stream after a web page", []string{"model", "listen", "stream", "true"}, `"delta":"hello there"`},
		{"stream after an empty object", []string{"model", "listen-empty", "stream", "true"}, `"delta":"hello there"`},
	} {
		code, body, h := transcribe(tc.fields...)
		if code != http.StatusOK || h.Get("X-Switchyard-Deployment") != "stt" || !strings.Contains(body, tc.want) || strings.Contains(body, "doctype") {
			t.Errorf("%s: %d from %q: %q, want stt's answer", tc.name, code, h.Get("X-Switchyard-Deployment"), body)
		}
	}
	if code, body, _ := transcribe("model", "listen-page-only"); code < 500 || strings.Contains(body, "doctype") {
		t.Errorf("a web page and nothing else: %d %q, want an upstream error", code, body)
	}

	speak := func(body string) (int, string, http.Header) {
		t.Helper()
		resp, err := http.Post(base+"/v1/audio/speech", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out), resp.Header
	}
	if code, body, h := speak(`{"model":"voice","input":"hello","voice":"alloy"}`); code != http.StatusOK || h.Get("X-Switchyard-Deployment") != "tts" || body != "ID3 audio" || h.Get("Content-Type") != "audio/mpeg" {
		t.Errorf("speech after a web page: %d from %q (%s): %q, want tts's audio", code, h.Get("X-Switchyard-Deployment"), h.Get("Content-Type"), body)
	}
	if code, body, h := speak(`{"model":"voice","input":"hello","voice":"alloy","stream_format":"sse"}`); code != http.StatusOK || h.Get("X-Switchyard-Deployment") != "tts" || !strings.Contains(body, "speech.audio.done") || strings.Contains(body, "PCFkb2N0") {
		t.Errorf("streamed speech after a web page: %d from %q: %q, want tts's events", code, h.Get("X-Switchyard-Deployment"), body)
	}
}
