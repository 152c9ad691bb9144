package openai

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"slices"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
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
	return c.audio(ctx, hr, false)
}

// Transcribe relays a transcription or translation (see postForm).
func (c *Client) Transcribe(ctx context.Context, req *llm.FormRequest) (*llm.AudioResponse, error) {
	hr, err := c.formRequest(ctx, req)
	if err != nil {
		return nil, err
	}
	return c.audio(ctx, hr, true)
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

// audio sends an audio request and reads its answer. A transcription's
// JSON answer gives its usage: tokens (gpt-4o-transcribe), or seconds of
// audio (whisper-1: usage.seconds, or verbose_json's duration).
func (c *Client) audio(ctx context.Context, hr *http.Request, transcript bool) (*llm.AudioResponse, error) {
	resp, err := c.send(hr)
	if err != nil {
		return nil, err
	}
	raw, err := provider.ReadBodyUpTo(ctx, resp, maxAudioBody)
	if err != nil {
		return nil, err
	}
	out := &llm.AudioResponse{ContentType: resp.Header.Get("Content-Type"), Raw: raw}
	if !transcript || !strings.HasPrefix(out.ContentType, "application/json") {
		return out, nil
	}
	if !gjson.ValidBytes(raw) {
		return nil, &provider.Error{Kind: provider.KindUnavailable, Status: resp.StatusCode, Message: "malformed transcription response"}
	}
	out.Usage, out.Seconds = transcriptUsage(raw)
	return out, nil
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
