package openai

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/provider/providertest"
)

var streamForm = &llm.FormRequest{Op: "audio/transcriptions", Stream: true,
	Fields: []llm.FormField{{Name: "model", Value: "route"}, {Name: "stream", Value: "true"}},
	Files:  []llm.FormFile{{Field: "file", Filename: "a.wav", Data: []byte("RIFF")}}}

// TestTranscribeStream: each frame of a streamed transcription is an event
// with its frame verbatim; deltas carry their text, the done event ends the
// stream with its usage, and a stream without it is a truncation.
func TestTranscribeStream(t *testing.T) {
	body := "data: {\"type\":\"transcript.text.delta\",\"delta\":\"Hello \"}\n\n" +
		": keep-alive\n\n" +
		"data: {\"type\":\"transcript.text.delta\",\"delta\":\"world\"}\n\n" +
		"data: {\"type\":\"transcript.text.done\",\"text\":\"Hello world\",\"usage\":{\"type\":\"tokens\",\"input_tokens\":14,\"output_tokens\":3,\"total_tokens\":17}}\n\n"
	srv, got := providertest.Upstream(t, providertest.Reply{Body: body, Header: map[string]string{"Content-Type": "text/event-stream"}})
	s, err := newClient(srv, func(cfg *provider.Config) { cfg.Model = "gpt-4o-transcribe" }).TranscribeStream(context.Background(), streamForm)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := drain(t, s)
	if err != nil {
		t.Fatal(err)
	}
	var raw strings.Builder
	for _, ev := range evs {
		raw.Write(ev.Raw)
	}
	if raw.String() != body {
		t.Errorf("frames: got %q, want the body verbatim", raw.String())
	}
	if len(evs) != 4 || evs[0].Text != "Hello " || evs[2].Text != "world" || !evs[0].HasContent() || evs[1].HasContent() ||
		!evs[3].Done || evs[3].Usage == nil || *evs[3].Usage != (llm.Usage{InputTokens: 14, OutputTokens: 3}) {
		t.Errorf("got events %+v", evs)
	}
	if up := providertest.Receive(t, got); up.Path != "/v1/audio/transcriptions" || !strings.Contains(string(up.Body), "gpt-4o-transcribe") {
		t.Errorf("sent %s %s", up.Path, up.Body)
	}

	// Without the done event the answer is cut, whatever came before.
	cut := strings.Join(strings.SplitAfter(body, "\n\n")[:3], "")
	srv, _ = providertest.Upstream(t, providertest.Reply{Body: cut, Header: map[string]string{"Content-Type": "text/event-stream"}})
	s, err = newClient(srv, nil).TranscribeStream(context.Background(), streamForm)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := drain(t, s); provider.KindOf(err) != provider.KindUnavailable || !errors.Is(err, provider.ErrStreamTruncated) {
		t.Errorf("cut stream: got %v, want a truncation", err)
	}

	// An in-band error is the provider's error.
	inband := "data: {\"type\":\"transcript.text.delta\",\"delta\":\"Hi\"}\n\ndata: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n"
	srv, _ = providertest.Upstream(t, providertest.Reply{Body: inband, Header: map[string]string{"Content-Type": "text/event-stream"}})
	s, _ = newClient(srv, nil).TranscribeStream(context.Background(), streamForm)
	if evs, err := drain(t, s); len(evs) != 1 || err == nil || !strings.Contains(err.Error(), "overloaded") {
		t.Errorf("in-band error: got %d events, %v", len(evs), err)
	}
}

// TestTranscribeStreamWholeAnswer: a deployment that ignores stream
// (whisper-1) answers in one piece, which becomes the same events: the
// text as one delta, then done with the answer's usage or seconds.
func TestTranscribeStreamWholeAnswer(t *testing.T) {
	for _, tt := range []struct {
		body, contentType string
		text              string
		usage             *llm.Usage
		seconds           float64
	}{
		{`{"text":"Hi there","usage":{"type":"duration","seconds":4}}`, "application/json", "Hi there", nil, 4},
		{`{"text":"Hi","usage":{"type":"tokens","input_tokens":9,"output_tokens":1,"total_tokens":10}}`, "application/json", "Hi", &llm.Usage{InputTokens: 9, OutputTokens: 1}, 0},
		{`{"text":"Hi","duration":2.5,"segments":[]}`, "application/json", "Hi", nil, 2.5},
		{"Hi\n", "text/plain", "Hi\n", nil, 0},
	} {
		srv, _ := providertest.Upstream(t, providertest.Reply{Body: tt.body, Header: map[string]string{"Content-Type": tt.contentType}})
		s, err := newClient(srv, nil).TranscribeStream(context.Background(), streamForm)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := drain(t, s)
		if err != nil || len(evs) != 2 {
			t.Fatalf("%s: got %d events, %v", tt.body, len(evs), err)
		}
		delta, done := evs[0], evs[1]
		if delta.Text != tt.text || gjson.GetBytes(dataOf(delta.Raw), "delta").Str != tt.text || gjson.GetBytes(dataOf(delta.Raw), "type").Str != "transcript.text.delta" {
			t.Errorf("%s: delta %q %s", tt.body, delta.Text, delta.Raw)
		}
		d := dataOf(done.Raw)
		if !done.Done || done.Seconds != tt.seconds || gjson.GetBytes(d, "type").Str != "transcript.text.done" || gjson.GetBytes(d, "text").Str != tt.text ||
			(tt.usage == nil) != (done.Usage == nil) || tt.usage != nil && *tt.usage != *done.Usage {
			t.Errorf("%s: done %+v %s", tt.body, done, done.Raw)
		}
	}
}

// TestSpeakStream: streamed speech frames are relayed as opaque content
// ended by speech.audio.done with its usage; plain audio from a deployment
// that does not stream becomes base64 deltas of exactly its bytes.
func TestSpeakStream(t *testing.T) {
	body := "data: {\"type\":\"speech.audio.delta\",\"audio\":\"UklGRg==\"}\n\n" +
		"data: {\"type\":\"speech.audio.done\",\"usage\":{\"input_tokens\":5,\"output_tokens\":40,\"total_tokens\":45}}\n\n"
	srv, got := providertest.Upstream(t, providertest.Reply{Body: body, Header: map[string]string{"Content-Type": "text/event-stream; charset=utf-8"}})
	req := &llm.SpeechRequest{Stream: true, Raw: []byte(`{"model":"voice","input":"hi","voice":"alloy","stream_format":"sse"}`)}
	s, err := newClient(srv, func(cfg *provider.Config) { cfg.Model = "gpt-4o-mini-tts" }).SpeakStream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := drain(t, s)
	if err != nil || len(evs) != 2 || !evs[0].Opaque || !evs[0].HasContent() || !evs[1].Done || *evs[1].Usage != (llm.Usage{InputTokens: 5, OutputTokens: 40}) {
		t.Fatalf("got %+v, %v", evs, err)
	}
	if up := providertest.Receive(t, got); string(up.Body) != `{"model":"gpt-4o-mini-tts","input":"hi","voice":"alloy","stream_format":"sse"}` {
		t.Errorf("sent %s", up.Body)
	}

	audio := strings.Repeat("\x00\x01audio\xff", speechChunk/4) // spans two chunks
	srv, _ = providertest.Upstream(t, providertest.Reply{Body: audio, Header: map[string]string{"Content-Type": "audio/mpeg"}})
	s, err = newClient(srv, nil).SpeakStream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	evs, err = drain(t, s)
	if err != nil || len(evs) != 3 || !evs[2].Done || evs[2].Usage != nil {
		t.Fatalf("plain audio: got %d events, %v", len(evs), err)
	}
	var joined []byte
	for _, ev := range evs[:2] {
		b, err := base64.StdEncoding.DecodeString(gjson.GetBytes(dataOf(ev.Raw), "audio").Str)
		if err != nil || !ev.Opaque {
			t.Fatalf("delta %s: %v", ev.Raw[:40], err)
		}
		joined = append(joined, b...)
	}
	if string(joined) != audio {
		t.Errorf("deltas decode to %d bytes, want the %d of the audio", len(joined), len(audio))
	}
}

// dataOf is the data of one "data: ...\n\n" frame.
func dataOf(frame []byte) []byte {
	return []byte(strings.TrimSpace(strings.TrimPrefix(string(frame), "data: ")))
}

// TestGenerateImagesStream: partial images are content; each completed
// event completes one image, the last of the n asked for ends the stream
// with the usage of all; a stream cut after fewer is a truncation; a whole
// answer is sent on as completed events.
func TestGenerateImagesStream(t *testing.T) {
	body := "event: image_generation.partial_image\ndata: {\"type\":\"image_generation.partial_image\",\"b64_json\":\"AAA=\",\"partial_image_index\":0}\n\n" +
		"event: image_generation.completed\ndata: {\"type\":\"image_generation.completed\",\"b64_json\":\"AQE=\",\"usage\":{\"input_tokens\":10,\"output_tokens\":100,\"total_tokens\":110}}\n\n" +
		"event: image_generation.completed\ndata: {\"type\":\"image_generation.completed\",\"b64_json\":\"AgI=\",\"usage\":{\"input_tokens\":10,\"output_tokens\":101,\"total_tokens\":111}}\n\n"
	req := &llm.ImageRequest{N: 2, Stream: true, Raw: []byte(`{"model":"img","prompt":"a train","n":2,"stream":true,"partial_images":1}`)}
	srv, got := providertest.Upstream(t, providertest.Reply{Body: body, Header: map[string]string{"Content-Type": "text/event-stream"}})
	s, err := newClient(srv, func(cfg *provider.Config) { cfg.Model = "gpt-image-1" }).GenerateImagesStream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := drain(t, s)
	if err != nil || len(evs) != 3 {
		t.Fatalf("got %d events, %v", len(evs), err)
	}
	if !evs[0].Opaque || evs[0].Done || !evs[1].Opaque || evs[1].Done || !evs[2].Done ||
		*evs[1].Usage != (llm.Usage{InputTokens: 10, OutputTokens: 100}) || *evs[2].Usage != (llm.Usage{InputTokens: 20, OutputTokens: 201}) {
		t.Errorf("got %+v", evs)
	}
	if up := providertest.Receive(t, got); up.Path != "/v1/images/generations" || !strings.Contains(string(up.Body), `"model":"gpt-image-1"`) {
		t.Errorf("sent %s %s", up.Path, up.Body)
	}

	// One image of two, then the end: cut.
	cut := strings.Join(strings.SplitAfter(body, "\n\n")[:2], "")
	srv, _ = providertest.Upstream(t, providertest.Reply{Body: cut, Header: map[string]string{"Content-Type": "text/event-stream"}})
	s, _ = newClient(srv, nil).GenerateImagesStream(context.Background(), req)
	if _, err := drain(t, s); !errors.Is(err, provider.ErrStreamTruncated) {
		t.Errorf("one completed image of two: got %v, want a truncation", err)
	}

	// A whole answer: one completed event per image, usage on the last.
	whole := `{"created":1,"data":[{"b64_json":"AQE="},{"b64_json":"AgI="}],"usage":{"input_tokens":20,"output_tokens":201,"total_tokens":221}}`
	srv, _ = providertest.Upstream(t, providertest.Reply{Body: whole, Header: map[string]string{"Content-Type": "application/json"}})
	s, _ = newClient(srv, nil).GenerateImagesStream(context.Background(), req)
	evs, err = drain(t, s)
	if err != nil || len(evs) != 2 || !evs[0].Opaque || !evs[1].Done || *evs[1].Usage != (llm.Usage{InputTokens: 20, OutputTokens: 201}) ||
		gjson.GetBytes(dataOf(evs[0].Raw), "type").Str != "image_generation.completed" || gjson.GetBytes(dataOf(evs[1].Raw), "b64_json").Str != "AgI=" ||
		!gjson.GetBytes(dataOf(evs[1].Raw), "usage").IsObject() {
		t.Fatalf("whole answer: got %+v, %v", evs, err)
	}
	srv, _ = providertest.Upstream(t, providertest.Reply{Body: `{"data":[{"b64_json":"AQE="}]}`, Header: map[string]string{"Content-Type": "application/json"}})
	if _, err := newClient(srv, nil).GenerateImagesStream(context.Background(), req); provider.KindOf(err) != provider.KindUnavailable {
		t.Errorf("a whole answer with one image of two: got %v, want unavailable", err)
	}
}

// TestEditImagesStream: an edit streams image_edit events, and n comes
// from the form.
func TestEditImagesStream(t *testing.T) {
	body := "data: {\"type\":\"image_edit.completed\",\"b64_json\":\"AQE=\",\"usage\":{\"input_tokens\":3,\"output_tokens\":4}}\n\n"
	srv, got := providertest.Upstream(t, providertest.Reply{Body: body + body, Header: map[string]string{"Content-Type": "text/event-stream"}})
	req := &llm.FormRequest{Op: "images/edits", Stream: true, Fields: []llm.FormField{{Name: "prompt", Value: "blue"}, {Name: "n", Value: "2"}, {Name: "stream", Value: "true"}},
		Files: []llm.FormFile{{Field: "image", Filename: "a.png", Data: []byte{1}}}}
	s, err := newClient(srv, nil).EditImagesStream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := drain(t, s)
	if err != nil || len(evs) != 2 || evs[0].Done || !evs[1].Done || *evs[1].Usage != (llm.Usage{InputTokens: 6, OutputTokens: 8}) {
		t.Errorf("got %+v, %v", evs, err)
	}
	if up := providertest.Receive(t, got); up.Path != "/v1/images/edits" {
		t.Errorf("sent to %s", up.Path)
	}
}
