package openai

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

var (
	_ provider.AudioStreamer = (*Client)(nil)
	_ provider.ImageStreamer = (*Client)(nil)
)

// eventKind is one kind of OpenAI's typed event streams outside chat:
// delta events carry content as it comes (a transcript's text, a chunk of
// audio, a partial image); done events each complete one answer (a
// generated image) with its usage, and the last one ends the stream.
type eventKind struct {
	delta, done string
	// usage reads what a done event reports it used: tokens, or seconds
	// of audio.
	usage func(data []byte) (llm.Usage, float64)
	// whole turns an answer that came in one piece (from a deployment that
	// does not stream) into the same events; want is the number of done
	// events the stream was to have.
	whole func(raw []byte, contentType string, want int) ([]llm.Event, error)
}

// The events of streamed audio, as OpenAI names them.
const (
	transcriptDelta = "transcript.text.delta"
	transcriptDone  = "transcript.text.done"
	speechDelta     = "speech.audio.delta"
	speechDone      = "speech.audio.done"
)

var (
	transcriptKind = &eventKind{delta: transcriptDelta, done: transcriptDone, usage: transcriptUsage, whole: wholeTranscript}
	speechKind     = &eventKind{delta: speechDelta, done: speechDone, usage: tokenUsage, whole: wholeSpeech}
	imageGenKind   = &eventKind{delta: "image_generation.partial_image", done: "image_generation.completed", usage: tokenUsage, whole: wholeImages("image_generation.completed")}
	imageEditKind  = &eventKind{delta: "image_edit.partial_image", done: "image_edit.completed", usage: tokenUsage, whole: wholeImages("image_edit.completed")}
)

// SpeakStream relays a text-to-speech request asking for events
// (stream_format "sse"), with model rewritten. A deployment that answers
// with plain audio instead has it sent on as the same events.
func (c *Client) SpeakStream(ctx context.Context, req *llm.SpeechRequest) (llm.Stream, error) {
	return c.postEvents(ctx, "audio/speech", req.Raw, speechKind, 1)
}

// TranscribeStream relays a transcription asking for events (stream true),
// written again as Transcribe writes it. A deployment that ignores stream
// (whisper-1 does) answers in one piece, which is sent on as the same
// events: the whole text as one delta, then the done event with the
// answer's usage.
func (c *Client) TranscribeStream(ctx context.Context, req *llm.FormRequest) (llm.Stream, error) {
	return c.formEvents(ctx, req, transcriptKind, 1)
}

// GenerateImagesStream relays an image generation asking for events
// (stream true), with model rewritten: partial images, then one completed
// event per image asked for. A whole answer is sent on as completed events.
func (c *Client) GenerateImagesStream(ctx context.Context, req *llm.ImageRequest) (llm.Stream, error) {
	return c.postEvents(ctx, "images/generations", req.Raw, imageGenKind, max(req.N, 1))
}

// EditImagesStream relays an image edit asking for events (the field
// stream true), written again as EditImages writes it; see
// GenerateImagesStream.
func (c *Client) EditImagesStream(ctx context.Context, req *llm.FormRequest) (llm.Stream, error) {
	n := 1
	for _, f := range req.Fields {
		if v, err := strconv.Atoi(f.Value); f.Name == "n" && err == nil && v > 0 {
			n = v
		}
	}
	return c.formEvents(ctx, req, imageEditKind, n)
}

// postEvents posts a JSON body with model rewritten and returns its
// answer as a stream of events of kind.
func (c *Client) postEvents(ctx context.Context, op string, raw []byte, kind *eventKind, want int) (llm.Stream, error) {
	body, ok := provider.SetMembers(raw, provider.Member{Key: "model", Raw: c.modelJSON})
	if !ok {
		return nil, notObject()
	}
	hr, err := provider.NewPost(ctx, c.endpoint(op), body, true, c.cfg.Headers)
	if err != nil {
		return nil, fmt.Errorf("openai: build request: %w", err)
	}
	return c.events(ctx, hr, kind, want)
}

// formEvents relays a multipart form (see formRequest) and returns its
// answer as a stream of events of kind.
func (c *Client) formEvents(ctx context.Context, req *llm.FormRequest, kind *eventKind, want int) (llm.Stream, error) {
	hr, err := c.formRequest(ctx, req)
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Accept", "text/event-stream")
	return c.events(ctx, hr, kind, want)
}

// events sends hr and returns its answer as a stream of events of kind.
func (c *Client) events(ctx context.Context, hr *http.Request, kind *eventKind, want int) (llm.Stream, error) {
	resp, err := c.send(hr)
	if err != nil {
		return nil, err
	}
	s := &eventStream{c: c, kind: kind, left: want}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/event-stream" {
		s.upstreamSSE = newUpstreamSSE(resp.Body)
		return s, nil
	}
	raw, err := provider.ReadBodyUpTo(ctx, resp, maxAudioBody)
	if err != nil {
		return nil, err
	}
	if s.pending, err = kind.whole(raw, resp.Header.Get("Content-Type"), want); err != nil {
		return nil, &provider.Error{Kind: provider.KindUnavailable, Status: resp.StatusCode, Message: err.Error()}
	}
	return s, nil
}

// eventStream decodes a typed event stream of one kind: delta events are
// content (a transcript's text, or content the gateway does not read), and
// each done event completes one answer; the last one, carrying the usage of
// all of them, ends the stream. A body that ends before it is a
// truncation. An answer that came whole is replayed from pending instead.
type eventStream struct {
	upstreamSSE
	c       *Client
	kind    *eventKind
	left    int       // done events still to come
	usage   llm.Usage // reported by the done events so far
	pending []llm.Event
	err     error // sticky: io.EOF after the last done event, or the failure
}

// Dialect reports llm.DialectOpenAI.
func (s *eventStream) Dialect() llm.Dialect { return llm.DialectOpenAI }

// Buffered reports whether the next event is already in memory.
func (s *eventStream) Buffered() bool {
	return len(s.pending) > 0 || s.r != nil && s.upstreamSSE.Buffered()
}

// Close releases the upstream connection, if any. Safe to call more than
// once.
func (s *eventStream) Close() error {
	if s.body != nil {
		return s.upstreamSSE.Close()
	}
	return nil
}

// Next returns the next event; see llm.Stream for the end rules.
func (s *eventStream) Next() (llm.Event, error) {
	if s.err != nil {
		return llm.Event{}, s.err
	}
	if s.r == nil {
		if len(s.pending) == 0 {
			s.err = io.EOF
			return llm.Event{}, s.err
		}
		ev := s.pending[0]
		s.pending = s.pending[1:]
		if ev.Done {
			s.err = io.EOF
		}
		return ev, nil
	}
	f, ev, hasData, err := s.nextFrame(s.kind.done)
	if err != nil {
		s.err = err
		return llm.Event{}, err
	}
	if !hasData {
		return ev, nil // comment or keep-alive
	}
	data := []byte(f.Data)
	if gjson.GetBytes(data, "error").Exists() {
		s.err = s.c.classify(0, nil, data)
		return llm.Event{}, s.err
	}
	switch gjson.GetBytes(data, "type").Str {
	case s.kind.delta:
		ev.Text = gjson.GetBytes(data, "delta").Str // a transcript's; "" otherwise
		ev.Opaque = ev.Text == ""
	case s.kind.done:
		u, seconds := s.kind.usage(data)
		s.usage.InputTokens += u.InputTokens
		s.usage.OutputTokens += u.OutputTokens
		ev.Seconds = seconds
		if s.usage != (llm.Usage{}) {
			total := s.usage
			ev.Usage = &total
		}
		if s.left--; s.left > 0 {
			ev.Opaque = true // one answer of several: content, not the end
			break
		}
		ev.Done = true
		s.err = io.EOF
	}
	return ev, nil
}

var (
	_ llm.Stream    = (*eventStream)(nil)
	_ llm.Buffering = (*eventStream)(nil)
)

// tokenUsage reads a done event's token usage (speech, images).
func tokenUsage(data []byte) (llm.Usage, float64) {
	u := gjson.GetManyBytes(data, "usage.input_tokens", "usage.output_tokens")
	return llm.Usage{InputTokens: int(u[0].Int()), OutputTokens: int(u[1].Int())}.Clamped(), 0
}

// wholeTranscript is the events a whole transcription answer (JSON with
// its text, or the text itself) stands for: its text as one delta, then
// the done event with its usage.
func wholeTranscript(raw []byte, contentType string, _ int) ([]llm.Event, error) {
	if problem := transcriptProblem(raw, contentType, ""); problem != "" {
		return nil, errors.New(problem)
	}
	text := string(raw)
	var usage json.RawMessage
	if strings.HasPrefix(contentType, "application/json") {
		if !wirejson.Valid(raw) {
			return nil, errors.New("malformed transcription response")
		}
		r := gjson.ParseBytes(raw)
		text = r.Get("text").Str
		if u := r.Get("usage"); u.IsObject() {
			usage = json.RawMessage(u.Raw)
		} else if d := r.Get("duration"); d.Exists() {
			usage, _ = json.Marshal(map[string]any{"type": "duration", "seconds": d.Num})
		}
	}
	done := map[string]any{"type": transcriptDone, "text": text}
	if usage != nil {
		done["usage"] = usage
	}
	var evs []llm.Event
	if text != "" {
		evs = append(evs, llm.Event{Text: text, Raw: frame(map[string]any{"type": transcriptDelta, "delta": text})})
	}
	u, seconds := transcriptUsage(raw)
	last := llm.Event{Done: true, Seconds: seconds, Raw: frame(done)}
	if u != (llm.Usage{}) {
		last.Usage = &u
	}
	return append(evs, last), nil
}

// speechChunk is how much audio one synthesised speech.audio.delta event
// carries.
const speechChunk = 64 << 10

// wholeSpeech is the events whole speech audio stands for: its bytes as
// base64 deltas, then a done event without usage (none was reported).
func wholeSpeech(audio []byte, contentType string, _ int) ([]llm.Event, error) {
	if problem := speechProblem(audio, contentType); problem != "" {
		return nil, errors.New(problem)
	}
	var evs []llm.Event
	for len(audio) > 0 {
		n := min(len(audio), speechChunk)
		evs = append(evs, llm.Event{Opaque: true, Raw: frame(map[string]any{"type": speechDelta, "audio": base64.StdEncoding.EncodeToString(audio[:n])})})
		audio = audio[n:]
	}
	return append(evs, llm.Event{Done: true, Raw: frame(map[string]any{"type": speechDone})}), nil
}

// wholeImages returns the function that turns a whole image answer into
// the events it stands for: one done event per image (its fields, with
// type done), the last with the answer's usage. It must hold the images
// the stream was to have.
func wholeImages(done string) func(raw []byte, _ string, want int) ([]llm.Event, error) {
	return func(raw []byte, _ string, want int) ([]llm.Event, error) {
		r := gjson.ParseBytes(raw)
		images := r.Get("data").Array()
		if !wirejson.Valid(raw) || len(images) < want {
			return nil, errors.New("image response without its images")
		}
		u, _ := tokenUsage(raw)
		var evs []llm.Event
		for i, img := range images {
			fields := map[string]any{}
			if err := json.Unmarshal([]byte(img.Raw), &fields); err != nil {
				return nil, errors.New("malformed image in the response")
			}
			fields["type"] = done
			ev := llm.Event{Opaque: true}
			if i == len(images)-1 {
				if usage := r.Get("usage"); usage.IsObject() {
					fields["usage"] = json.RawMessage(usage.Raw)
				}
				ev = llm.Event{Done: true}
				if u != (llm.Usage{}) {
					ev.Usage = &u
				}
			}
			ev.Raw = frame(fields)
			evs = append(evs, ev)
		}
		return evs, nil
	}
}

// frame is v as one SSE data frame.
func frame(v map[string]any) []byte {
	var b bytes.Buffer
	b.WriteString("data: ")
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // maps of strings, numbers and raw JSON always encode
	b.WriteString("\n")
	return b.Bytes()
}
