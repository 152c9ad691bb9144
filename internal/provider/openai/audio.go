package openai

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"slices"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

var _ provider.AudioProvider = (*Client)(nil)

// maxAudioBody bounds an audio answer (speech: an hour of mp3 is about
// 60 MiB).
const maxAudioBody = 128 << 20

// Speak relays a text-to-speech request with model rewritten; the answer
// is the audio, with its content type.
func (c *Client) Speak(ctx context.Context, req *llm.SpeechRequest) (*llm.AudioResponse, error) {
	body, ok := provider.SetMembers(req.Raw, provider.Member{Key: "model", Raw: c.modelJSON})
	if !ok {
		return nil, notObject()
	}
	hr, err := provider.NewPost(ctx, c.endpoint("audio/speech"), body, false, c.cfg.Headers)
	if err != nil {
		return nil, fmt.Errorf("openai: build request: %w", err)
	}
	hr.Header.Set("Accept", "*/*") // the answer is audio
	return c.audio(ctx, hr, nil)
}

// Transcribe relays a transcription or translation (see postForm).
func (c *Client) Transcribe(ctx context.Context, req *llm.FormRequest) (*llm.AudioResponse, error) {
	hr, err := c.formRequest(ctx, req)
	if err != nil {
		return nil, err
	}
	format := "json" // OpenAI's default response_format
	for _, f := range req.Fields {
		if f.Name == "response_format" && f.Value != "" {
			format = f.Value
		}
	}
	return c.audio(ctx, hr, &format)
}

// formRequest is the request relaying a multipart form: written again,
// field for field and file for file, with model rewritten (or added,
// when the client named none).
func (c *Client) formRequest(ctx context.Context, req *llm.FormRequest) (*http.Request, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fields := req.Fields
	if !slices.ContainsFunc(fields, func(f llm.FormField) bool { return f.Name == "model" }) {
		fields = append([]llm.FormField{{Name: "model"}}, fields...)
	}
	var err error
	for _, f := range fields {
		v := f.Value
		if f.Name == "model" {
			v = c.cfg.Model
		}
		if err = mw.WriteField(f.Name, v); err != nil {
			break
		}
	}
	for _, f := range req.Files {
		if err != nil {
			break
		}
		h := make(textproto.MIMEHeader)
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, f.Field, f.Filename))
		ct := f.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		h.Set("Content-Type", ct)
		var part io.Writer
		if part, err = mw.CreatePart(h); err == nil {
			_, err = part.Write(f.Data)
		}
	}
	if err == nil {
		err = mw.Close()
	}
	if err != nil {
		return nil, &provider.Error{Kind: provider.KindBadRequest, Message: "cannot encode the form", Err: err}
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint(req.Op), &buf)
	if err != nil {
		return nil, fmt.Errorf("openai: build request: %w", err)
	}
	for k, v := range c.cfg.Headers {
		hr.Header.Set(k, v)
	}
	hr.Header.Set("Content-Type", mw.FormDataContentType())
	hr.Header.Set("Accept", "application/json")
	return hr, nil
}

// audio sends an audio request and reads its answer: speech when format
// is nil, else a transcription asked for in *format (its
// response_format). A transcription's JSON answer gives its usage: tokens
// (gpt-4o-transcribe), or seconds of audio (whisper-1: usage.seconds, or
// verbose_json's duration). An answer that is not what was asked (a web
// page, JSON without the text) is the deployment failing: unavailable, so
// the request fails over.
func (c *Client) audio(ctx context.Context, hr *http.Request, format *string) (*llm.AudioResponse, error) {
	resp, err := c.send(hr)
	if err != nil {
		return nil, err
	}
	raw, err := provider.ReadBodyUpTo(ctx, resp, maxAudioBody)
	if err != nil {
		return nil, err
	}
	out := &llm.AudioResponse{ContentType: resp.Header.Get("Content-Type"), Raw: raw}
	problem := ""
	if format == nil {
		problem = speechProblem(raw, out.ContentType)
	} else {
		problem = transcriptProblem(raw, out.ContentType, *format)
	}
	if problem != "" {
		return nil, &provider.Error{Kind: provider.KindUnavailable, Status: resp.StatusCode, Message: problem}
	}
	if format != nil && wirejson.Valid(raw) && gjson.ParseBytes(raw).IsObject() {
		out.Usage, out.Seconds = transcriptUsage(raw)
	}
	return out, nil
}

// jsonTranscripts are the response_formats whose answer is a JSON object
// with the transcript's text.
var jsonTranscripts = map[string]bool{"json": true, "verbose_json": true, "diarized_json": true}

// transcriptProblem says what makes raw, of contentType, no answer to a
// transcription asked for in format ("" when not known), or "": a JSON
// answer (asked for, or so typed) must be an object with the text; a
// text, srt or vtt one must not be a web page.
func transcriptProblem(raw []byte, contentType, format string) string {
	mt := mediaType(contentType)
	if jsonTranscripts[format] || mt == "application/json" {
		if !wirejson.Valid(raw) {
			return "malformed transcription response (" + describeType(mt) + ", not JSON)"
		}
		if gjson.GetBytes(raw, "text").Type != gjson.String {
			return "transcription response without its text"
		}
		return ""
	}
	if webPage(mt) {
		return "transcription response is a web page (" + mt + ")"
	}
	return ""
}

// speechProblem says what makes raw, of contentType, no speech audio, or
// "": it must be audio (audio/*, or untyped bytes).
func speechProblem(raw []byte, contentType string) string {
	switch mt := mediaType(contentType); {
	case len(raw) == 0:
		return "speech response without audio"
	case strings.HasPrefix(mt, "audio/"), mt == "application/octet-stream", mt == "application/ogg", mt == "video/webm":
		return ""
	default:
		return "speech response is not audio (" + describeType(mt) + ")"
	}
}

// mediaType is contentType's media type, lower case ("" when none).
func mediaType(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(contentType, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
	}
	return mt
}

// webPage reports whether a media type is a web page's.
func webPage(mt string) bool { return mt == "text/html" || mt == "application/xhtml+xml" }

// describeType names a media type in an error.
func describeType(mt string) string {
	if mt == "" {
		return "no content type"
	}
	return mt
}

// transcriptUsage reads what a transcription (or its stream's done event)
// reports it used: tokens (gpt-4o-transcribe), or seconds of audio
// (whisper-1: usage.seconds, or verbose_json's duration).
func transcriptUsage(raw []byte) (llm.Usage, float64) {
	u := gjson.GetManyBytes(raw, "usage.type", "usage.input_tokens", "usage.output_tokens", "usage.seconds", "duration")
	switch u[0].Str {
	case "tokens":
		return llm.Usage{InputTokens: int(u[1].Int()), OutputTokens: int(u[2].Int())}.Clamped(), 0
	case "duration":
		return llm.Usage{}, llm.ReportedSeconds(u[3].Num)
	}
	return llm.Usage{}, llm.ReportedSeconds(u[4].Num)
}
