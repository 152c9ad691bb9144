package openaiapi

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// audioBytesPerToken is what a byte of uploaded audio weighs in token
// estimates: about 1 KB of compressed speech a token, so a minute of mp3
// (about 1 MB) counts a thousand tokens against limits.
const audioBytesPerToken = 1024

// ParseSpeech reads a text-to-speech request: model (optional: "" when
// absent) and the size of input, a required non-empty string. Streamed
// speech (stream_format "sse") is refused.
func ParseSpeech(body []byte) (*llm.SpeechRequest, error) {
	root, err := parseObject(body)
	if err != nil {
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
	if f := root.Get("stream_format"); f.Type == gjson.String && f.Str == "sse" {
		return nil, badRequest("stream_format", "stream_format sse is not supported by this gateway: ask for audio")
	}
	req.InputBytes = len(input.Str)
	return req, nil
}

// ParseTranscription reads a transcription or translation (op), a
// multipart form of contentType: its fields in order, and its one file
// (the field "file"). model is optional ("" when absent). Streamed
// transcriptions (stream true) are refused. It also returns the upload's
// weight in estimated tokens.
func ParseTranscription(body []byte, contentType, op string) (*llm.TranscriptionRequest, int, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, 0, badRequest("", "the request must be multipart/form-data with a file")
	}
	req := &llm.TranscriptionRequest{Op: op}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	haveFile := false
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, badRequest("", "malformed multipart form: "+err.Error())
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return nil, 0, badRequest("", "malformed multipart form: "+err.Error())
		}
		name := p.FormName()
		switch {
		case name == "file":
			if haveFile {
				return nil, 0, badRequest("file", "only one file may be sent")
			}
			haveFile = true
			req.File = llm.FormFile{Field: name, Filename: p.FileName(), ContentType: p.Header.Get("Content-Type"), Data: data}
		case p.FileName() != "":
			return nil, 0, badRequest(name, "only the field file may be a file")
		default:
			v := string(data)
			switch name {
			case "model":
				req.Model = v
			case "stream":
				if strings.EqualFold(v, "true") {
					return nil, 0, badRequest("stream", "streamed transcriptions are not supported by this gateway")
				}
			}
			req.Fields = append(req.Fields, llm.FormField{Name: name, Value: v})
		}
	}
	if !haveFile || len(req.File.Data) == 0 {
		return nil, 0, badRequest("file", "missing required parameter: 'file'")
	}
	return req, len(req.File.Data)/audioBytesPerToken + 1, nil
}
