package openaiapi

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"slices"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// uploadBytesPerToken is what a byte of an upload (audio, an image to edit)
// weighs in token estimates: about 1 KB a token, so a minute of mp3
// (about 1 MB) counts a thousand tokens against limits.
const uploadBytesPerToken = 1024

// ParseSpeech reads a text-to-speech request: model (optional: "" when
// absent) and the size of input, a required non-empty string.
// stream_format "sse" asks for the audio as events (req.Stream).
func ParseSpeech(body []byte) (*llm.SpeechRequest, error) {
	root, err := parseObject(body)
	if err != nil {
		return nil, err
	}
	if err := refuseCaseVariants(root, speechFields); err != nil {
		return nil, err
	}
	req := &llm.SpeechRequest{Raw: body}
	if m := root.Get("model"); m.Exists() && m.Type != gjson.Null {
		if req.Model, err = modelValue(m); err != nil {
			return nil, err
		}
	}
	input := root.Get("input")
	if input.Type != gjson.String || input.Str == "" {
		return nil, badRequest("input", "input must be a non-empty string")
	}
	req.Stream = root.Get("stream_format").Str == "sse"
	req.InputBytes = len(input.Str)
	return req, nil
}

// ParseTranscription reads a transcription or translation (op: its path
// under the API root), a multipart form of contentType with one file (the
// field "file"). model is optional ("" when absent). A transcription may
// ask for its answer as events (stream true: req.Stream); a translation
// may not, as OpenAI's translations never stream. It also returns the
// upload's weight in estimated tokens.
func ParseTranscription(body []byte, contentType, op string) (*llm.FormRequest, int, error) {
	req, err := parseForm(body, contentType, op, "file")
	if err != nil {
		return nil, 0, err
	}
	if len(req.Files) != 1 || len(req.Files[0].Data) == 0 {
		return nil, 0, badRequest("file", "missing required parameter: 'file' (one audio file)")
	}
	if req.Stream && op != "audio/transcriptions" {
		return nil, 0, badRequest("stream", "translations are not streamed: leave stream unset or false")
	}
	return req, len(req.Files[0].Data)/uploadBytesPerToken + 1, nil
}

// An upload's duration bounds what a transcription priced per minute
// (whisper-1) can cost: AudioSeconds is the budget's reservation for it.
const (
	// minAudioBytesPerSecond is the lowest bitrate assumed of an audio
	// file whose duration its header does not give: 16 kbit/s, below the
	// usual speech settings of mp3, m4a and webm/ogg (Opus).
	minAudioBytesPerSecond = 16000 / 8
	// maxAudioUpload is the largest audio file OpenAI's transcription
	// endpoints take (25 MB): a larger one is refused, at no charge.
	maxAudioUpload = 25 << 20
)

// AudioSeconds is the most whole seconds of audio an upload holds, at
// least 1: a WAV file's duration from its header (its data over its
// sample rate and frame size, rounded up), else its size (counting at most
// maxAudioUpload) at minAudioBytesPerSecond.
func AudioSeconds(data []byte) int {
	if secs, ok := wavSeconds(data); ok {
		return max(int(math.Ceil(secs)), 1)
	}
	return max((min(len(data), maxAudioUpload)+minAudioBytesPerSecond-1)/minAudioBytesPerSecond, 1)
}

// wavSeconds is the duration of a RIFF/WAVE file (its data chunk's
// frames over the fmt chunk's sample rate), or false when b is none or
// its header does not say.
func wavSeconds(b []byte) (float64, bool) {
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return 0, false
	}
	le := binary.LittleEndian
	var rate, align, data uint64
	haveData := false
	for rest := b[12:]; len(rest) >= 8; {
		// A streamed WAV may give a size of 0xFFFFFFFF: what is there counts.
		size := min(uint64(le.Uint32(rest[4:8])), uint64(len(rest)-8))
		body := rest[8 : 8+size]
		switch string(rest[:4]) {
		case "fmt ":
			if size >= 16 {
				rate, align = uint64(le.Uint32(body[4:8])), uint64(le.Uint16(body[12:14]))
			}
		case "data":
			data, haveData = size, true
		}
		rest = rest[min(uint64(len(rest)), 8+size+size%2):]
	}
	if rate == 0 || align == 0 || !haveData {
		return 0, false
	}
	return float64(data/align) / float64(rate), true
}

// parseForm reads a multipart form of contentType: its plain fields in
// order, and its files, which only the fields named in files may be. A
// stream field set to true sets req.Stream; the caller refuses it where
// the endpoint does not stream.
func parseForm(body []byte, contentType, op string, files ...string) (*llm.FormRequest, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, badRequest("", "the request must be a multipart/form-data form")
	}
	req := &llm.FormRequest{Op: op}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, badRequest("", "malformed multipart form: "+err.Error())
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return nil, badRequest("", "malformed multipart form: "+err.Error())
		}
		name := p.FormName()
		switch {
		case p.FileName() != "" && !slices.Contains(files, name):
			return nil, badRequest(name, "the field "+name+" may not be a file")
		case p.FileName() != "":
			req.Files = append(req.Files, llm.FormFile{Field: name, Filename: p.FileName(), ContentType: p.Header.Get("Content-Type"), Data: data})
		default:
			v := string(data)
			switch {
			case name == "model":
				req.Model = v
			case name == "stream":
				req.Stream = strings.EqualFold(v, "true")
			}
			req.Fields = append(req.Fields, llm.FormField{Name: name, Value: v})
		}
	}
	return req, nil
}

// ParseImageEdits reads an image edit, a multipart form of contentType:
// one or more images (image, or repeated image[]), an optional mask, a
// non-empty prompt and n (1 to 10, default 1). model is optional ("" when
// absent). It also returns n and the request's weight in estimated tokens
// (the prompt's, and the uploads').
func ParseImageEdits(body []byte, contentType string) (*llm.FormRequest, int, int, error) {
	req, err := parseForm(body, contentType, "images/edits", "image", "image[]", "mask")
	if err != nil {
		return nil, 0, 0, err
	}
	images, upload := 0, 0
	for _, f := range req.Files {
		if f.Field != "mask" {
			images++
		}
		upload += len(f.Data)
	}
	if images == 0 {
		return nil, 0, 0, badRequest("image", "missing required parameter: 'image'")
	}
	n, err := formImages(req)
	if err != nil {
		return nil, 0, 0, err
	}
	prompt := ""
	for _, f := range req.Fields {
		if f.Name == "prompt" {
			prompt = f.Value
		}
	}
	if prompt == "" {
		return nil, 0, 0, badRequest("prompt", "prompt must be a non-empty string")
	}
	return req, n, (len(prompt)+3)/4 + upload/uploadBytesPerToken + 1, nil
}

// ParseImageVariations reads a request for variations of an image (DALL-E
// 2), a multipart form of contentType: one non-empty image (the field
// image) and n (1 to 10, default 1). model is optional ("" when absent).
// Variations are not streamed. It also returns n and the upload's weight
// in estimated tokens.
func ParseImageVariations(body []byte, contentType string) (*llm.FormRequest, int, int, error) {
	req, err := parseForm(body, contentType, "images/variations", "image")
	if err != nil {
		return nil, 0, 0, err
	}
	if len(req.Files) != 1 || len(req.Files[0].Data) == 0 {
		return nil, 0, 0, badRequest("image", "missing required parameter: 'image' (one image file)")
	}
	if req.Stream {
		return nil, 0, 0, badRequest("stream", "image variations are not streamed: leave stream unset or false")
	}
	n, err := formImages(req)
	if err != nil {
		return nil, 0, 0, err
	}
	return req, n, len(req.Files[0].Data)/uploadBytesPerToken + 1, nil
}

// formImages is the number of images a form asks for: its field n, an
// integer from 1 to 10, or 1.
func formImages(req *llm.FormRequest) (int, error) {
	n := 1
	for _, f := range req.Fields {
		if f.Name != "n" {
			continue
		}
		v, err := strconv.Atoi(f.Value)
		if err != nil || v < 1 || v > maxImages {
			return 0, badRequest("n", "n must be an integer from 1 to 10")
		}
		n = v
	}
	return n, nil
}
