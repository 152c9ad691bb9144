package bedrock

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/provider/providertest"
)

// Frames of a recorded ConverseStream answer.
var (
	startFrame    = event("messageStart", `{"role":"assistant"}`)
	endTurnFrame  = event("messageStop", `{"stopReason":"end_turn"}`)
	textMetaFrame = event("metadata", `{"usage":{"inputTokens":25,"outputTokens":15,"totalTokens":40},"metrics":{"latencyMs":310}}`)
	textFrames    = []frame{
		startFrame,
		event("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"Hello"}}`),
		event("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"!"}}`),
		event("contentBlockStop", `{"contentBlockIndex":0}`),
	}
)

// textEvents are the events of textFrames.
var textEvents = []llm.Event{
	{Start: true, ID: testRequestID, Model: testModel},
	{Text: "Hello"},
	{Text: "!"},
	{},
}

// frames joins lists of frames.
func frames(fs ...[]frame) []frame {
	var out []frame
	for _, f := range fs {
		out = append(out, f...)
	}
	return out
}

// events joins lists of events.
func events(es ...[]llm.Event) []llm.Event {
	var out []llm.Event
	for _, e := range es {
		out = append(out, e...)
	}
	return out
}

// isKind reports whether err is a provider error of kind k with status 0
// (an exception inside the stream) and message msg.
func isKind(k provider.Kind, msg string) func(error) bool {
	return func(err error) bool {
		var pe *provider.Error
		return errors.As(err, &pe) && pe.Kind == k && pe.Status == 0 && pe.Message == msg
	}
}

// isMalformed reports whether err is the error of a frame that cannot be
// decoded.
func isMalformed(err error) bool {
	var pe *provider.Error
	return errors.As(err, &pe) && pe.Kind == provider.KindUnavailable && pe.Message == "malformed stream event" &&
		!errors.Is(err, provider.ErrStreamTruncated)
}

// TestStreamEvents replays recorded event streams (and broken ones) to
// ChatStream and checks the events, the end, and that the end repeats.
func TestStreamEvents(t *testing.T) {
	for _, tt := range []struct {
		name    string
		body    []byte
		want    []llm.Event
		wantErr func(error) bool
	}{
		{
			name: "text, then the usage with done",
			body: encode(t, frames(textFrames, []frame{endTurnFrame, textMetaFrame})...),
			want: events(textEvents, []llm.Event{
				{FinishReason: llm.FinishStop},
				{Usage: &llm.Usage{InputTokens: 25, OutputTokens: 15}, Done: true},
			}),
			wantErr: providertest.IsEOF,
		},
		{
			name: "tool use blocks numbered among tool blocks, cache counts in the usage",
			body: encode(t,
				startFrame,
				event("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"Checking."}}`),
				event("contentBlockStop", `{"contentBlockIndex":0}`),
				event("contentBlockStart", `{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"tooluse_1","name":"get_weather"}}}`),
				event("contentBlockDelta", `{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"location\":"}}}`),
				event("contentBlockDelta", `{"contentBlockIndex":1,"delta":{"toolUse":{"input":" \"Paris\"}"}}}`),
				event("contentBlockStop", `{"contentBlockIndex":1}`),
				event("contentBlockStart", `{"contentBlockIndex":2,"start":{"toolUse":{"toolUseId":"tooluse_2","name":"get_time"}}}`),
				event("contentBlockDelta", `{"contentBlockIndex":2,"delta":{"toolUse":{"input":"{}"}}}`),
				event("contentBlockStop", `{"contentBlockIndex":2}`),
				event("messageStop", `{"stopReason":"tool_use"}`),
				event("metadata", `{"usage":{"inputTokens":72,"outputTokens":89,"totalTokens":561,"cacheReadInputTokens":300,"cacheWriteInputTokens":100},"metrics":{"latencyMs":500}}`),
			),
			want: []llm.Event{
				{Start: true, ID: testRequestID, Model: testModel},
				{Text: "Checking."}, {},
				{ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "tooluse_1", Name: "get_weather"}}},
				{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `{"location":`}}},
				{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: ` "Paris"}`}}},
				{},
				{ToolCalls: []llm.ToolCallDelta{{Index: 1, ID: "tooluse_2", Name: "get_time"}}},
				{ToolCalls: []llm.ToolCallDelta{{Index: 1, Arguments: `{}`}}},
				{},
				{FinishReason: llm.FinishToolCalls},
				{Usage: &llm.Usage{InputTokens: 472, CachedInputTokens: 300, CacheWriteTokens: 100, OutputTokens: 89}, Done: true},
			},
			wantErr: providertest.IsEOF,
		},
		{
			// OpenAI clients parse a call's arguments as JSON: a call
			// that streamed no input gets "{}" at its block's end, and
			// one left open gets it with the finish.
			name: "tool calls without input text end with {}",
			body: encode(t,
				startFrame,
				event("contentBlockStart", `{"contentBlockIndex":0,"start":{"toolUse":{"toolUseId":"tooluse_1","name":"get_time"}}}`),
				event("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"toolUse":{"input":""}}}`),
				event("contentBlockStop", `{"contentBlockIndex":0}`),
				event("contentBlockStart", `{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"tooluse_2","name":"list"}}}`),
				event("messageStop", `{"stopReason":"tool_use"}`),
			),
			want: []llm.Event{
				{Start: true, ID: testRequestID, Model: testModel},
				{ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "tooluse_1", Name: "get_time"}}},
				{ToolCalls: []llm.ToolCallDelta{{Index: 0}}},
				{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: "{}"}}},
				{ToolCalls: []llm.ToolCallDelta{{Index: 1, ID: "tooluse_2", Name: "list"}}},
				{ToolCalls: []llm.ToolCallDelta{{Index: 1, Arguments: "{}"}}, FinishReason: llm.FinishToolCalls},
				{Done: true},
			},
			wantErr: providertest.IsEOF,
		},
		{
			name: "reasoning text, signature and redacted reasoning numbered among reasoning blocks",
			body: encode(t,
				startFrame,
				event("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"Let me"}}}`),
				event("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":" see."}}}`),
				event("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"reasoningContent":{"signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3h"}}}`),
				event("contentBlockStop", `{"contentBlockIndex":0}`),
				event("contentBlockDelta", `{"contentBlockIndex":1,"delta":{"reasoningContent":{"redactedContent":"EmwKAhgBEgy3va3pzix"}}}`),
				event("contentBlockStop", `{"contentBlockIndex":1}`),
				event("contentBlockDelta", `{"contentBlockIndex":2,"delta":{"text":"Blue."}}`),
				event("contentBlockStop", `{"contentBlockIndex":2}`),
				endTurnFrame,
				event("metadata", `{"usage":{"inputTokens":25,"outputTokens":40,"totalTokens":65},"metrics":{"latencyMs":900}}`),
			),
			want: []llm.Event{
				{Start: true, ID: testRequestID, Model: testModel},
				{Thinking: &llm.ThinkingDelta{Index: 0, Text: "Let me"}},
				{Thinking: &llm.ThinkingDelta{Index: 0, Text: " see."}},
				{Thinking: &llm.ThinkingDelta{Index: 0, Signature: "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"}},
				{},
				{Thinking: &llm.ThinkingDelta{Index: 1, Redacted: "EmwKAhgBEgy3va3pzix"}},
				{},
				{Text: "Blue."}, {},
				{FinishReason: llm.FinishStop},
				{Usage: &llm.Usage{InputTokens: 25, OutputTokens: 40}, Done: true},
			},
			wantErr: providertest.IsEOF,
		},
		{
			name: "a stop sequence, as the model reported it",
			body: encode(t, frames(textFrames, []frame{event("messageStop", `{"stopReason":"stop_sequence","additionalModelResponseFields":{"stop_sequence":"STOP1"}}`), textMetaFrame})...),
			want: events(textEvents, []llm.Event{
				{FinishReason: llm.FinishStop, StopSequence: new("STOP1")},
				{Usage: &llm.Usage{InputTokens: 25, OutputTokens: 15}, Done: true},
			}),
			wantErr: providertest.IsEOF,
		},
		{
			name:    "a stop sequence the model did not name",
			body:    encode(t, frames(textFrames, []frame{event("messageStop", `{"stopReason":"stop_sequence"}`)})...),
			want:    events(textEvents, []llm.Event{{FinishReason: llm.FinishStop, StopSequence: new("")}, {Done: true}}),
			wantErr: providertest.IsEOF,
		},
		{
			name:    "messageStop without metadata completes, without usage",
			body:    encode(t, frames(textFrames, []frame{event("messageStop", `{"stopReason":"max_tokens"}`)})...),
			want:    events(textEvents, []llm.Event{{FinishReason: llm.FinishLength}, {Done: true}}),
			wantErr: providertest.IsEOF,
		},
		{
			name: "malformed output is a failure, not a finish",
			body: encode(t, frames(textFrames, []frame{event("messageStop", `{"stopReason":"malformed_tool_use"}`)})...),
			want: textEvents,
			wantErr: func(err error) bool {
				return provider.KindOf(err) == provider.KindUnavailable && strings.Contains(err.Error(), "malformed (malformed_tool_use)")
			},
		},
		{
			// The stream's last event without messageStop before it: the
			// answer was cut upstream, not finished.
			name:    "metadata before messageStop is truncated",
			body:    encode(t, frames(textFrames, []frame{textMetaFrame})...),
			want:    textEvents,
			wantErr: providertest.IsTruncated,
		},
		{
			name:    "messageStop without a stopReason is truncated",
			body:    encode(t, frames(textFrames, []frame{event("messageStop", `{}`), textMetaFrame})...),
			want:    textEvents,
			wantErr: providertest.IsTruncated,
		},
		{
			name:    "cut before messageStop is truncated",
			body:    encode(t, textFrames...),
			want:    textEvents,
			wantErr: providertest.IsTruncated,
		},
		{
			name:    "cut mid-frame is truncated",
			body:    func() []byte { b := encode(t, frames(textFrames, []frame{endTurnFrame})...); return b[:len(b)-10] }(),
			want:    textEvents,
			wantErr: providertest.IsTruncated,
		},
		{
			name:    "empty body is truncated",
			body:    nil,
			want:    nil,
			wantErr: providertest.IsTruncated,
		},
		{
			name:    "unknown events and message types carry nothing",
			body:    encode(t, startFrame, event("somethingNew", `{"x":1}`), frame{"notice", "", `{}`}, endTurnFrame),
			want:    []llm.Event{{Start: true, ID: testRequestID, Model: testModel}, {}, {}, {FinishReason: llm.FinishStop}, {Done: true}},
			wantErr: providertest.IsEOF,
		},
		{
			name:    "throttlingException is rate limited",
			body:    encode(t, startFrame, exception("throttlingException", `{"message":"Too many tokens, please wait before trying again."}`)),
			want:    []llm.Event{{Start: true, ID: testRequestID, Model: testModel}},
			wantErr: isKind(provider.KindRateLimited, "Too many tokens, please wait before trying again."),
		},
		{
			name:    "modelStreamErrorException is unavailable",
			body:    encode(t, frames(textFrames, []frame{exception("modelStreamErrorException", `{"message":"Model stream error","originalStatusCode":500}`)})...),
			want:    textEvents,
			wantErr: isKind(provider.KindUnavailable, "Model stream error"),
		},
		{
			name:    "validationException input too long is context length",
			body:    encode(t, exception("validationException", `{"message":"Input is too long for requested model."}`)),
			wantErr: isKind(provider.KindContextLength, "Input is too long for requested model."),
		},
		{
			name:    "other validationException is a bad request",
			body:    encode(t, exception("validationException", `{"message":"messages: roles must alternate"}`)),
			wantErr: isKind(provider.KindBadRequest, "messages: roles must alternate"),
		},
		{
			name:    "internalServerException is unavailable",
			body:    encode(t, exception("internalServerException", `{"message":"Internal error"}`)),
			wantErr: isKind(provider.KindUnavailable, "Internal error"),
		},
		{
			name:    "serviceUnavailableException without a message names itself",
			body:    encode(t, exception("serviceUnavailableException", `{}`)),
			wantErr: isKind(provider.KindUnavailable, "serviceUnavailableException"),
		},
		{
			name:    "an event stream error is classified by its code",
			body:    encode(t, frame{"error", "InternalFailure", "An internal error occurred"}),
			wantErr: isKind(provider.KindUnavailable, "An internal error occurred"),
		},
		{
			name: "corrupt frame is malformed",
			body: func() []byte {
				b := encode(t, frames(textFrames, []frame{endTurnFrame})...)
				b[len(b)-6] ^= 0xff // in the last frame's payload: its CRC fails
				return b
			}(),
			want:    textEvents,
			wantErr: isMalformed,
		},
		{
			name: "corrupt prelude is malformed",
			body: func() []byte {
				b := encode(t, startFrame)
				b[2] ^= 0x40 // the total length: the prelude's CRC fails
				return b
			}(),
			wantErr: isMalformed,
		},
		{
			name:    "payload that is not JSON is malformed",
			body:    encode(t, startFrame, event("contentBlockDelta", `{"contentBlockIndex":0,"delta":`)),
			want:    []llm.Event{{Start: true, ID: testRequestID, Model: testModel}},
			wantErr: isMalformed,
		},
		{
			name:    "payload that is JSON but not an object is malformed",
			body:    encode(t, frames(textFrames, []frame{event("contentBlockDelta", `["x"]`), endTurnFrame, textMetaFrame})...),
			want:    textEvents,
			wantErr: isMalformed,
		},
		{
			name: "negative and huge usage counts are clamped",
			body: encode(t, frames(textFrames, []frame{endTurnFrame, event("metadata",
				`{"usage":{"inputTokens":-1000000,"outputTokens":9223372036854775807,"cacheReadInputTokens":9223372036854775807,"cacheWriteInputTokens":-5}}`)})...),
			want: events(textEvents, []llm.Event{
				{FinishReason: llm.FinishStop},
				{Usage: &llm.Usage{InputTokens: llm.MaxReportedTokens, CachedInputTokens: llm.MaxReportedTokens, OutputTokens: llm.MaxReportedTokens}, Done: true},
			}),
			wantErr: providertest.IsEOF,
		},
		{
			name:    "toolUse delta for a block that is not a tool call",
			body:    encode(t, startFrame, event("contentBlockDelta", `{"contentBlockIndex":3,"delta":{"toolUse":{"input":"{}"}}}`)),
			want:    []llm.Event{{Start: true, ID: testRequestID, Model: testModel}},
			wantErr: func(err error) bool { return provider.KindOf(err) == provider.KindUnavailable },
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := openStream(t, tt.body)
			evs, err := drain(t, s)
			if !tt.wantErr(err) {
				t.Errorf("got end error %v, want the expected end", err)
			}
			if _, again := s.Next(); again != err {
				t.Errorf("got %v after the end, want the same %v", again, err)
			}
			if diff := cmp.Diff(tt.want, evs); diff != "" {
				t.Errorf("events mismatch (-want +got):\n%s", diff)
			}
			if s.Dialect() != llm.DialectBedrock {
				t.Errorf("dialect %q, want bedrock", s.Dialect())
			}
			if err := s.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
	}
}

// TestStreamResetMidBody: a connection reset after one event is a
// truncation.
func TestStreamResetMidBody(t *testing.T) {
	providertest.StreamResetMidBody(t, adapter, string(encode(t, startFrame)))
}

// TestStreamDeadlineMidBody: an upstream that stalls after one event until
// the request's deadline yields that event and then a timeout.
func TestStreamDeadlineMidBody(t *testing.T) {
	release := make(chan struct{})
	first := encode(t, startFrame)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
		_, _ = w.Write(first)
		w.(http.Flusher).Flush()
		select { // stall until the client gives up
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	s, err := newClient(srv, nil).ChatStream(ctx, hello())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	evs, err := drain(t, s)
	var pe *provider.Error
	if len(evs) != 1 || !errors.As(err, &pe) || pe.Kind != provider.KindTimeout || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %d events and %v, want 1 event and a timeout wrapping context.DeadlineExceeded", len(evs), err)
	}
}

// TestStreamTooLargeFrame: a frame longer than any Bedrock sends is
// refused before it is read.
func TestStreamTooLargeFrame(t *testing.T) {
	// A prelude announcing a 64 MiB frame, with a valid CRC.
	big := binary.BigEndian.AppendUint32(nil, 64<<20)
	big = binary.BigEndian.AppendUint32(big, 0)
	big = binary.BigEndian.AppendUint32(big, crc32.ChecksumIEEE(big))
	s := openStream(t, append(encode(t, startFrame), big...))
	evs, err := drain(t, s)
	var pe *provider.Error
	if len(evs) != 1 || !errors.As(err, &pe) || pe.Kind != provider.KindUnavailable || pe.Message != "stream event too large" {
		t.Errorf("got %d events and %v, want 1 event and a too-large error", len(evs), err)
	}
}

// TestStreamBuffered: Buffered tells whether the next whole frame is in
// memory.
func TestStreamBuffered(t *testing.T) {
	body := encode(t, startFrame, endTurnFrame)
	s := newStream(New(provider.Config{}), io.NopCloser(bytes.NewReader(body)), "")
	defer s.Close()
	if s.Buffered() {
		t.Error("Buffered before any read: got true, want false")
	}
	if _, err := s.Next(); err != nil {
		t.Fatal(err)
	}
	if !s.Buffered() {
		t.Error("Buffered with the second frame read: got false, want true")
	}
	if _, err := s.Next(); err != nil {
		t.Fatal(err)
	}
	if s.Buffered() {
		t.Error("Buffered with nothing left: got true, want false")
	}
	half := newStream(New(provider.Config{}), io.NopCloser(bytes.NewReader(body[:20])), "")
	_, _ = half.r.Peek(20)
	if half.Buffered() {
		t.Error("Buffered with half a frame: got true, want false")
	}
}

// TestStreamCloseTwice: Close is safe to call more than once.
func TestStreamCloseTwice(t *testing.T) {
	s := openStream(t, encode(t, textFrames...))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// FuzzStream: any body ends, in io.EOF or a classified error.
func FuzzStream(f *testing.F) {
	f.Add(encode(f, frames(textFrames, []frame{endTurnFrame, textMetaFrame})...))
	f.Add(encode(f, startFrame, event("contentBlockStart", `{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"t","name":"f"}}}`),
		event("contentBlockDelta", `{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{}"}}}`),
		event("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"x"}}}`)))
	f.Add(encode(f, exception("throttlingException", `{"message":"slow down"}`)))
	f.Add(encode(f, event("contentBlockDelta", `{"contentBlockIndex":"x","delta":{"toolUse":1}}`)))
	f.Add([]byte{0, 0, 0, 0x10, 0, 0, 0, 0})
	c := New(provider.Config{APIKey: testKey})
	providertest.FuzzStream(f, func(body io.ReadCloser) llm.Stream { return newStream(c, body, "") })
}
