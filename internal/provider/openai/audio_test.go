package openai

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/provider/providertest"
)

// TestSpeak: speech is relayed to /audio/speech with only model rewritten;
// the audio comes back byte for byte with its content type.
func TestSpeak(t *testing.T) {
	audio := "ID3\x03\x00binary\xff\xfe"
	srv, got := providertest.Upstream(t, providertest.Reply{Body: audio, Header: map[string]string{"Content-Type": "audio/mpeg"}})
	resp, err := newClient(srv, func(cfg *provider.Config) { cfg.Model = "tts-1" }).Speak(context.Background(),
		&llm.SpeechRequest{Raw: []byte(`{"model":"voice","input":"hi","voice":"alloy"}`)})
	if err != nil {
		t.Fatal(err)
	}
	up := providertest.Receive(t, got)
	if up.Path != "/v1/audio/speech" || string(up.Body) != `{"model":"tts-1","input":"hi","voice":"alloy"}` {
		t.Errorf("got %s %s, want /v1/audio/speech with only model rewritten", up.Path, up.Body)
	}
	if string(resp.Raw) != audio || resp.ContentType != "audio/mpeg" || resp.Usage != (llm.Usage{}) {
		t.Errorf("got %+v, want the audio verbatim", resp)
	}
}

// TestTranscribe: the form is written again field for field with model
// rewritten and the file as it came; the answer's usage is read as
// tokens, as seconds, or as verbose_json's duration; a text answer has
// none; a JSON answer that is not whole is the provider failing.
func TestTranscribe(t *testing.T) {
	var answer, contentType string
	var fields map[string]string
	var file []byte
	var filename, path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.Path
		_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		mr := multipart.NewReader(r.Body, params["boundary"])
		fields = map[string]string{}
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			b, _ := io.ReadAll(p)
			if p.FileName() != "" {
				file, filename = b, p.FileName()
				continue
			}
			fields[p.FormName()] = string(b)
		}
		w.Header().Set("Content-Type", contentType)
		_, _ = io.WriteString(w, answer)
	}))
	defer srv.Close()
	c := newClient(srv, func(cfg *provider.Config) { cfg.Model = "whisper-1" })
	req := &llm.FormRequest{Op: "audio/translations", Model: "route",
		Fields: []llm.FormField{{Name: "model", Value: "route"}, {Name: "response_format", Value: "json"}},
		Files:  []llm.FormFile{{Field: "file", Filename: "talk.wav", ContentType: "audio/wav", Data: []byte("RIFF\x00\x01audio")}}}

	for _, tt := range []struct {
		answer, contentType string
		usage               llm.Usage
		seconds             float64
	}{
		{`{"text":"hi","usage":{"type":"tokens","input_tokens":30,"output_tokens":2,"total_tokens":32}}`, "application/json", llm.Usage{InputTokens: 30, OutputTokens: 2}, 0},
		{`{"text":"hi","usage":{"type":"duration","seconds":7}}`, "application/json", llm.Usage{}, 7},
		{`{"task":"translate","duration":8.5,"text":"hi","segments":[]}`, "application/json; charset=utf-8", llm.Usage{}, 8.5},
		// An upstream's nonsense is clamped: never a negative cost.
		{`{"text":"hi","usage":{"type":"tokens","input_tokens":-30,"output_tokens":1e30}}`, "application/json", llm.Usage{OutputTokens: llm.MaxReportedTokens}, 0},
		{`{"text":"hi","usage":{"type":"duration","seconds":-7}}`, "application/json", llm.Usage{}, 0},
	} {
		answer, contentType = tt.answer, tt.contentType
		resp, err := c.Transcribe(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if string(resp.Raw) != tt.answer || resp.ContentType != tt.contentType || resp.Usage != tt.usage || resp.Seconds != tt.seconds {
			t.Errorf("%s: got %+v", tt.answer, resp)
		}
	}
	if path != "/v1/audio/translations" || fields["model"] != "whisper-1" || fields["response_format"] != "json" || len(fields) != 2 ||
		!bytes.Equal(file, req.Files[0].Data) || filename != "talk.wav" {
		t.Errorf("sent to %s: fields %v, file %q %q", path, fields, filename, file)
	}

	// A form without a model gets the deployment's; a text answer comes
	// as it is.
	req.Fields = []llm.FormField{{Name: "response_format", Value: "text"}}
	answer, contentType = "hi\n", "text/plain; charset=utf-8"
	if resp, err := c.Transcribe(context.Background(), req); err != nil || fields["model"] != "whisper-1" || string(resp.Raw) != answer || resp.ContentType != contentType {
		t.Errorf("no model: %+v %v, fields %v", resp, err, fields)
	}

	answer, contentType = `{"text":"cut`, "application/json"
	if _, err := c.Transcribe(context.Background(), req); provider.KindOf(err) != provider.KindUnavailable {
		t.Errorf("a cut JSON answer: %v, want unavailable", err)
	}
}

// TestEditImages: an image edit's form goes to /images/edits with every
// file and model rewritten; the answer is read as a generation's.
func TestEditImages(t *testing.T) {
	var files []string
	var model, path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.Path
		_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		mr := multipart.NewReader(r.Body, params["boundary"])
		files = nil
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			b, _ := io.ReadAll(p)
			if p.FileName() != "" {
				files = append(files, p.FormName()+"="+p.FileName()+":"+string(b))
			} else if p.FormName() == "model" {
				model = string(b)
			}
		}
		_, _ = io.WriteString(w, `{"created":1,"data":[{"b64_json":"AA=="}],"usage":{"input_tokens":90,"output_tokens":1056}}`)
	}))
	defer srv.Close()
	req := &llm.FormRequest{Op: "images/edits", Fields: []llm.FormField{{Name: "prompt", Value: "blue"}},
		Files: []llm.FormFile{{Field: "image[]", Filename: "a.png", Data: []byte("A")}, {Field: "image[]", Filename: "b.png", Data: []byte("B")}, {Field: "mask", Filename: "m.png", Data: []byte("M")}}}
	resp, err := newClient(srv, func(cfg *provider.Config) { cfg.Model = "gpt-image-1" }).EditImages(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if path != "/v1/images/edits" || model != "gpt-image-1" || strings.Join(files, " ") != "image[]=a.png:A image[]=b.png:B mask=m.png:M" {
		t.Errorf("sent to %s: model %q, files %q", path, model, files)
	}
	if resp.Images != 1 || resp.Usage.InputTokens != 90 || resp.Usage.OutputTokens != 1056 {
		t.Errorf("got %+v", resp)
	}
}
