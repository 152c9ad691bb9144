package openaiapi

import (
	"bytes"
	"errors"
	"mime"
	"mime/multipart"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

func TestParseSpeech(t *testing.T) {
	req, err := ParseSpeech([]byte(`{"model":"tts","input":"hello there","voice":"alloy","extra":1}`))
	if err != nil || req.Model != "tts" || req.InputBytes != 11 {
		t.Fatalf("got %+v, %v", req, err)
	}
	if req, err := ParseSpeech([]byte(`{"input":"x","voice":"alloy"}`)); err != nil || req.Model != "" {
		t.Errorf("no model: got %+v, %v; want it optional", req, err)
	}
	for body, want := range map[string]bool{`{"input":"x","stream_format":"sse"}`: true, `{"input":"x","stream_format":"audio"}`: false, `{"input":"x"}`: false} {
		if req, err := ParseSpeech([]byte(body)); err != nil || req.Stream != want {
			t.Errorf("%s: got %+v, %v; want Stream %v", body, req, err, want)
		}
	}
	for _, body := range []string{`{"model":"tts"}`, `{"input":""}`, `{"input":3}`, `{"model":1,"input":"x"}`, `[]`} {
		var bre *BadRequestError
		if _, err := ParseSpeech([]byte(body)); !errors.As(err, &bre) {
			t.Errorf("%s: got %v, want a bad request", body, err)
		}
	}
}

// form is a multipart form of fields (name, value pairs) and files.
func form(t testing.TB, fields []string, files ...llm.FormFile) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for i := 0; i+1 < len(fields); i += 2 {
		if err := mw.WriteField(fields[i], fields[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		w, err := mw.CreateFormFile(f.Field, f.Filename)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(f.Data)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), mw.FormDataContentType()
}

func TestParseTranscription(t *testing.T) {
	audio := llm.FormFile{Field: "file", Filename: "a.mp3", ContentType: "application/octet-stream", Data: bytes.Repeat([]byte{7}, 3000)}
	body, ct := form(t, []string{"model", "whisper", "language", "en", "timestamp_granularities[]", "word"}, audio)
	req, tokens, err := ParseTranscription(body, ct, "audio/transcriptions")
	if err != nil {
		t.Fatal(err)
	}
	want := &llm.FormRequest{Op: "audio/transcriptions", Model: "whisper", Files: []llm.FormFile{audio},
		Fields: []llm.FormField{{Name: "model", Value: "whisper"}, {Name: "language", Value: "en"}, {Name: "timestamp_granularities[]", Value: "word"}}}
	if d := cmp.Diff(want, req); d != "" || tokens != 3 {
		t.Errorf("(-want +got):\n%s; %d tokens, want 3", d, tokens)
	}

	for name, c := range map[string]struct {
		fields []string
		files  []llm.FormFile
		ct     string
	}{
		"no file":        {fields: []string{"model", "m"}},
		"empty file":     {files: []llm.FormFile{{Field: "file", Filename: "a.mp3"}}},
		"two files":      {files: []llm.FormFile{audio, audio}},
		"another file":   {files: []llm.FormFile{audio, {Field: "extra", Filename: "b", Data: []byte{1}}}},
		"not a form":     {files: []llm.FormFile{audio}, ct: "application/json"},
		"no boundary":    {files: []llm.FormFile{audio}, ct: "multipart/form-data"},
		"wrong boundary": {files: []llm.FormFile{audio}, ct: "multipart/form-data; boundary=nope"},
	} {
		body, ct := form(t, c.fields, c.files...)
		if c.ct != "" {
			ct = c.ct
		}
		var bre *BadRequestError
		if _, _, err := ParseTranscription(body, ct, "audio/transcriptions"); !errors.As(err, &bre) {
			t.Errorf("%s: got %v, want a bad request", name, err)
		}
	}
	// A transcription may stream; a translation may not.
	body, ct = form(t, []string{"model", "m", "stream", "True"}, audio)
	if req, _, err := ParseTranscription(body, ct, "audio/transcriptions"); err != nil || !req.Stream {
		t.Errorf("streamed transcription: got %+v, %v; want Stream", req, err)
	}
	var bre *BadRequestError
	if _, _, err := ParseTranscription(body, ct, "audio/translations"); !errors.As(err, &bre) || bre.Param != "stream" {
		t.Errorf("streamed translation: got %v, want a bad request on stream", err)
	}
	if req, _, _, err := ParseImageEdits(form(t, []string{"prompt", "p", "stream", "true"}, llm.FormFile{Field: "image", Filename: "a.png", Data: []byte{1}})); err != nil || !req.Stream {
		t.Errorf("streamed image edit: got %+v, %v; want Stream", req, err)
	}
}

func TestParseImageEdits(t *testing.T) {
	img := llm.FormFile{Field: "image[]", Filename: "a.png", ContentType: "application/octet-stream", Data: bytes.Repeat([]byte{1}, 2048)}
	mask := llm.FormFile{Field: "mask", Filename: "m.png", ContentType: "application/octet-stream", Data: []byte{2}}
	body, ct := form(t, []string{"prompt", "make it blue", "n", "3"}, img, img, mask)
	req, n, tokens, err := ParseImageEdits(body, ct)
	if err != nil {
		t.Fatal(err)
	}
	if req.Op != "images/edits" || req.Model != "" || len(req.Files) != 3 || n != 3 || tokens != 3+4+1 {
		t.Errorf("got %+v, n %d, %d tokens", req, n, tokens)
	}
	for name, c := range map[string]struct {
		fields []string
		files  []llm.FormFile
	}{
		"no image":      {fields: []string{"prompt", "p"}, files: []llm.FormFile{mask}},
		"no prompt":     {files: []llm.FormFile{img}},
		"n too large":   {fields: []string{"prompt", "p", "n", "11"}, files: []llm.FormFile{img}},
		"n not integer": {fields: []string{"prompt", "p", "n", "two"}, files: []llm.FormFile{img}},
		"a file field":  {fields: []string{"prompt", "p"}, files: []llm.FormFile{img, {Field: "prompt", Filename: "p.txt", Data: []byte("x")}}},
	} {
		body, ct := form(t, c.fields, c.files...)
		var bre *BadRequestError
		if _, _, _, err := ParseImageEdits(body, ct); !errors.As(err, &bre) {
			t.Errorf("%s: got %v, want a bad request", name, err)
		}
	}
}

// FuzzParseForm: any body under a multipart content type is either read
// (a transcription with exactly one non-empty file; an edit with an image
// and a prompt; a variation with one image) or refused as a bad request;
// it never panics.
func FuzzParseForm(f *testing.F) {
	audio := llm.FormFile{Field: "file", Filename: "a.wav", Data: []byte("RIFF")}
	img := llm.FormFile{Field: "image", Filename: "a.png", Data: []byte("\x89PNG")}
	for _, seed := range [][]string{{"model", "m"}, {"prompt", "p", "n", "2"}, {"stream", "true"}} {
		body, ct := form(f, seed, audio, img)
		_, params, _ := mime.ParseMediaType(ct)
		f.Add(body, params["boundary"])
	}
	f.Fuzz(func(t *testing.T, body []byte, boundary string) {
		ct := "multipart/form-data; boundary=" + boundary
		var bre *BadRequestError
		if req, _, err := ParseTranscription(body, ct, "audio/transcriptions"); err != nil {
			if !errors.As(err, &bre) {
				t.Fatalf("transcription: %v, want a bad request", err)
			}
		} else if len(req.Files) != 1 || len(req.Files[0].Data) == 0 {
			t.Fatalf("transcription read with files %+v", req.Files)
		}
		if req, n, _, err := ParseImageEdits(body, ct); err != nil {
			if !errors.As(err, &bre) {
				t.Fatalf("edit: %v, want a bad request", err)
			}
		} else if len(req.Files) == 0 || n < 1 || n > 10 {
			t.Fatalf("edit read with %d files, n %d", len(req.Files), n)
		}
		if req, n, _, err := ParseImageVariations(body, ct); err != nil {
			if !errors.As(err, &bre) {
				t.Fatalf("variation: %v, want a bad request", err)
			}
		} else if len(req.Files) != 1 || n < 1 || n > 10 {
			t.Fatalf("variation read with %d files, n %d", len(req.Files), n)
		}
		if req, seconds, _, err := ParseVideo(body, ct); err != nil {
			if !errors.As(err, &bre) {
				t.Fatalf("video: %v, want a bad request", err)
			}
		} else if req.Form == nil || seconds < 1 || seconds > 120 {
			t.Fatalf("video read as %+v, %d seconds", req, seconds)
		}
	})
}

func TestParseImageVariations(t *testing.T) {
	img := llm.FormFile{Field: "image", Filename: "a.png", ContentType: "image/png", Data: bytes.Repeat([]byte{1}, 3000)}
	body, ct := form(t, []string{"model", "dall-e-2", "n", "2", "size", "256x256"}, img)
	req, n, tokens, err := ParseImageVariations(body, ct)
	if err != nil {
		t.Fatal(err)
	}
	if req.Op != "images/variations" || req.Model != "dall-e-2" || len(req.Files) != 1 || len(req.Fields) != 3 || n != 2 || tokens != 3 {
		t.Errorf("got %+v, n %d, %d tokens", req, n, tokens)
	}
	for name, c := range map[string]struct {
		fields []string
		files  []llm.FormFile
		param  string
	}{
		"no image":    {fields: []string{"n", "1"}, param: "image"},
		"empty image": {files: []llm.FormFile{{Field: "image", Filename: "a.png"}}, param: "image"},
		"two images":  {files: []llm.FormFile{img, img}, param: "image"},
		"a mask":      {files: []llm.FormFile{img, {Field: "mask", Filename: "m.png", Data: []byte{1}}}, param: "mask"},
		"n zero":      {fields: []string{"n", "0"}, files: []llm.FormFile{img}, param: "n"},
		"streamed":    {fields: []string{"stream", "true"}, files: []llm.FormFile{img}, param: "stream"},
	} {
		body, ct := form(t, c.fields, c.files...)
		var bre *BadRequestError
		if _, _, _, err := ParseImageVariations(body, ct); !errors.As(err, &bre) || bre.Param != c.param {
			t.Errorf("%s: got %v, want a bad request on %s", name, err, c.param)
		}
	}
}
