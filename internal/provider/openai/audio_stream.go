package openai

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

var _ provider.AudioStreamer = (*Client)(nil)

// Streamed audio events, as OpenAI names them.
const (
	transcriptDelta = "transcript.text.delta"
	transcriptDone  = "transcript.text.done"
	speechDelta     = "speech.audio.delta"
	speechDone      = "speech.audio.done"
)

// SpeakStream relays a text-to-speech request asking for events
// (stream_format "sse"), with model rewritten. A deployment that answers
// with plain audio instead has it sent on as the same events.
func (c *Client) SpeakStream(ctx context.Context, req *llm.SpeechRequest) (llm.Stream, error) {
	body, ok := provider.SetMembers(req.Raw, provider.Member{Key: "model", Raw: c.modelJSON})
	if !ok {
		return nil, notObject()
	}
	hr, err := provider.NewPost(ctx, c.endpoint("audio/speech"), body, true, c.cfg.Headers)
	if err != nil {
		return nil, fmt.Errorf("openai: build request: %w", err)
	}
	return c.audioStream(ctx, hr, false)
}

// TranscribeStream relays a transcription asking for events (stream true),
// written again as Transcribe writes it. A deployment that ignores stream
// (whisper-1 does) answers in one piece, which is sent on as the same
// events: the whole text as one delta, then the done event with the
// answer's usage.
func (c *Client) TranscribeStream(ctx context.Context, req *llm.FormRequest) (llm.Stream, error) {
	hr, err := c.formRequest(ctx, req)
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Accept", "text/event-stream")
	return c.audioStream(ctx, hr, true)
}

// audioStream sends hr and returns its answer as a stream of events.
func (c *Client) audioStream(ctx context.Context, hr *http.Request, transcript bool) (llm.Stream, error) {
	resp, err := c.send(hr)
	if err != nil {
		return nil, err
	}
	s := &audioStream{c: c, delta: speechDelta, done: speechDone}
	if transcript {
		s.delta, s.done = transcriptDelta, transcriptDone
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/event-stream" {
		s.upstreamSSE = newUpstreamSSE(resp.Body)
		return s, nil
	}
	raw, err := provider.ReadBodyUpTo(ctx, resp, maxAudioBody)
	if err != nil {
		return nil, err
	}
	if transcript {
		s.pending, err = transcriptEvents(raw, resp.Header.Get("Content-Type"))
	} else {
		s.pending = speechEvents(raw)
	}
	if err != nil {
		return nil, &provider.Error{Kind: provider.KindUnavailable, Status: resp.StatusCode, Message: err.Error()}
	}
	return s, nil
}

// audioStream decodes a streamed transcription or speech body: each delta
// event is content (a transcript's text, or opaque audio), and the done
// event ends the stream with its usage. A body that ends before the done
// event is a truncation. An answer that came whole is replayed from
// pending instead.
type audioStream struct {
	upstreamSSE
	c           *Client
	delta, done string // the event types of this stream
	pending     []llm.Event
	err         error // sticky: io.EOF after the done event, or the failure
}

// Dialect reports llm.DialectOpenAI.
func (s *audioStream) Dialect() llm.Dialect { return llm.DialectOpenAI }

// Buffered reports whether the next event is already in memory.
func (s *audioStream) Buffered() bool {
	return len(s.pending) > 0 || s.r != nil && s.upstreamSSE.Buffered()
}

// Close releases the upstream connection, if any. Safe to call more than
// once.
func (s *audioStream) Close() error {
	if s.body != nil {
		return s.upstreamSSE.Close()
	}
	return nil
}

// Next returns the next event; see llm.Stream for the end rules.
func (s *audioStream) Next() (llm.Event, error) {
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
	f, ev, hasData, err := s.nextFrame(s.done)
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
	switch typ := gjson.GetBytes(data, "type").Str; typ {
	case transcriptDelta:
		ev.Text = gjson.GetBytes(data, "delta").Str
		ev.Opaque = ev.Text == ""
	case speechDelta:
		ev.Opaque = true
	case s.done:
		ev.Done = true
		s.err = io.EOF
		if s.done == transcriptDone {
			u, seconds := transcriptUsage(data)
			ev.Usage, ev.Seconds = &u, seconds
		} else {
			u := gjson.GetManyBytes(data, "usage.input_tokens", "usage.output_tokens")
			ev.Usage = &llm.Usage{InputTokens: int(u[0].Int()), OutputTokens: int(u[1].Int())}
		}
		if ev.Usage.InputTokens == 0 && ev.Usage.OutputTokens == 0 {
			ev.Usage = nil
		}
	}
	return ev, nil
}

var (
	_ llm.Stream    = (*audioStream)(nil)
	_ llm.Buffering = (*audioStream)(nil)
)

// transcriptEvents are the events a whole transcription answer (JSON with
// its text, or the text itself) stands for: its text as one delta, then
// the done event with its usage.
func transcriptEvents(raw []byte, contentType string) ([]llm.Event, error) {
	text := string(raw)
	var usage json.RawMessage
	if strings.HasPrefix(contentType, "application/json") {
		if !gjson.ValidBytes(raw) {
			return nil, fmt.Errorf("malformed transcription response")
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

// speechEvents are the events whole speech audio stands for: its bytes as
// base64 deltas, then a done event without usage (none was reported).
func speechEvents(audio []byte) []llm.Event {
	var evs []llm.Event
	for len(audio) > 0 {
		n := min(len(audio), speechChunk)
		evs = append(evs, llm.Event{Opaque: true, Raw: frame(map[string]any{"type": speechDelta, "audio": base64.StdEncoding.EncodeToString(audio[:n])})})
		audio = audio[n:]
	}
	return append(evs, llm.Event{Done: true, Raw: frame(map[string]any{"type": speechDone})})
}

// frame is v as one SSE data frame.
func frame(v map[string]any) []byte {
	var b bytes.Buffer
	b.WriteString("data: ")
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // maps of strings and raw JSON always encode
	b.WriteString("\n")
	return b.Bytes()
}
