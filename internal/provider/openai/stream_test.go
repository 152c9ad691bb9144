package openai

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/provider/providertest"
)

func TestStreamPassthroughBody(t *testing.T) {
	providertest.StreamPassthrough(t, adapter,
		`{"model":"smart","stream":true,"stream_options":{"include_usage":false,"x":1},"messages":[{"role":"user","content":"hi"}],"n":1}`,
		`{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true,"x":1},"messages":[{"role":"user","content":"hi"}],"n":1}`)
}

func TestStreamEvents(t *testing.T) {
	usage := func(in, out int) *llm.Usage { return &llm.Usage{InputTokens: in, OutputTokens: out} }
	providertest.StreamEvents(t, adapter, []providertest.StreamCase{
		{
			Name:    "text with keep-alive, usage and done",
			Fixture: "stream_text.sse",
			Want: []llm.Event{
				{Start: true, ID: "chatcmpl-7qyqpwdRZ", Model: "gpt-4o-mini-2024-07-18"},
				{},
				{Text: "Hello"},
				{Text: " there!"},
				{FinishReason: llm.FinishStop},
				{Usage: usage(9, 3)},
				{Done: true},
			},
			WantErr: providertest.IsEOF,
		},
		{
			Name:    "tool calls",
			Fixture: "stream_tools.sse",
			Want: []llm.Event{
				{Start: true, ID: "chatcmpl-tool1", Model: "gpt-4o-2024-08-06",
					ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "call_DdmO9pD3xa9XTPNJ32zg2hcA", Name: "get_weather"}}},
				{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `{"lo`}}},
				{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `cation": "Paris"}`}}},
				{ToolCalls: []llm.ToolCallDelta{{Index: 1, ID: "call_2", Name: "get_time", Arguments: "{}"}}},
				{FinishReason: llm.FinishToolCalls},
				{Usage: &llm.Usage{InputTokens: 80, CachedInputTokens: 64, OutputTokens: 30}},
				{Done: true},
			},
			WantErr: providertest.IsEOF,
		},
		{
			// Gemini's OpenAI-compatible API: each call whole, with its id
			// and no index, two in one chunk; a later delta of a call
			// carries its id, or none.
			Name:    "tool calls without index are told apart by their ids",
			Fixture: "stream_tools_no_index.sse",
			Want: []llm.Event{
				{Start: true, ID: "gem-1", Model: "gemini-2.5-flash",
					ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "call_A", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
				{ToolCalls: []llm.ToolCallDelta{{Index: 1, ID: "call_B", Name: "get_time", Arguments: `{"tz":"CET"}`}}},
				{ToolCalls: []llm.ToolCallDelta{{Index: 2, ID: "call_C", Name: "search", Arguments: `{"q":`}, {Index: 3, ID: "call_D", Name: "now", Arguments: "{}"}}},
				{ToolCalls: []llm.ToolCallDelta{{Index: 2, ID: "call_C", Arguments: `"x"}`}}},
				{ToolCalls: []llm.ToolCallDelta{{Index: 2, Arguments: " "}}},
				{FinishReason: llm.FinishStop, Usage: usage(80, 30)},
				{Done: true},
			},
			WantErr: providertest.IsEOF,
		},
		{
			Name:    "finish seen but no [DONE] completes with a synthetic done",
			Fixture: "stream_no_done.sse",
			Want: []llm.Event{
				{Start: true, ID: "chatcmpl-7qyqpwdRZ", Model: "gpt-4o-mini-2024-07-18"},
				{}, {Text: "Hello"}, {Text: " there!"}, {FinishReason: llm.FinishStop}, {Usage: usage(9, 3)},
				{Done: true},
			},
			WantErr: providertest.IsEOF,
		},
		{
			Name:    "a refusal is the text, and its stop a refusal",
			Fixture: "stream_refusal.sse",
			Want: []llm.Event{
				{Start: true, ID: "chatcmpl-ref1", Model: "gpt-4o-2024-08-06"},
				{Text: "I'm sorry, "}, {Text: "I can't help with that."},
				{FinishReason: llm.FinishContentFilter},
				{Done: true},
			},
			WantErr: providertest.IsEOF,
		},
		{
			Name:    "cut before finish is truncated",
			Fixture: "stream_cut.sse",
			Want: []llm.Event{
				{Start: true, ID: "chatcmpl-7qyqpwdRZ", Model: "gpt-4o-mini-2024-07-18"},
				{}, {Text: "Hello"},
			},
			WantErr: providertest.IsTruncated,
		},
		{
			// [DONE] with no finish_reason before it: the answer was cut
			// upstream, not finished.
			Name:    "[DONE] before the finish is truncated",
			Fixture: "stream_done_no_finish.sse",
			Want: []llm.Event{
				{Start: true, ID: "chatcmpl-dn1", Model: "gpt-4o-mini"},
				{Text: "Partial answer with"},
			},
			WantErr: providertest.IsTruncated,
		},
		{
			Name:    "in-stream error object",
			Fixture: "stream_error.sse",
			Want:    []llm.Event{{Start: true, ID: "chatcmpl-err", Model: "gpt-4o-mini", Text: "Hel"}},
			WantErr: func(err error) bool {
				var pe *provider.Error
				return errors.As(err, &pe) && pe.Kind == provider.KindUnavailable && pe.Message != "" && pe.Status == 0
			},
		},
		{
			Name:    "malformed chunk",
			Fixture: "stream_malformed.sse",
			Want:    []llm.Event{{Start: true, ID: "chatcmpl-bad", Model: "gpt-4o-mini", Text: "Hel"}},
			WantErr: isMalformed,
		},
		// Malformed chunks that begin with { and end with }: the stream
		// ends at them, though a finish and [DONE] follow.
		{
			Name:    "malformed chunk: an object left open",
			Fixture: "stream_malformed_unclosed.sse",
			Want:    []llm.Event{{Start: true, ID: "chatcmpl-bad", Model: "gpt-4o-mini", Text: "Hel"}},
			WantErr: isMalformed,
		},
		{
			Name:    "malformed chunk: a trailing comma",
			Fixture: "stream_malformed_comma.sse",
			Want:    []llm.Event{{Start: true, ID: "chatcmpl-bad", Model: "gpt-4o-mini", Text: "Hel"}},
			WantErr: isMalformed,
		},
		{
			Name:    "malformed chunk: two strings in a row",
			Fixture: "stream_malformed_strings.sse",
			Want:    []llm.Event{{Start: true, ID: "chatcmpl-bad", Model: "gpt-4o-mini", Text: "Hel"}},
			WantErr: isMalformed,
		},
		{
			Name:    "several choices, one cut after another finished, is truncated",
			Fixture: "stream_n2_cut.sse",
			Want: []llm.Event{
				{Start: true, ID: "chatcmpl-n2", Model: "gpt-4o-mini", Text: "First"},
				{Text: "Second"}, {FinishReason: llm.FinishStop}, {Text: " still going"},
			},
			WantErr: providertest.IsTruncated,
		},
		{
			Name:    "several choices, each finished, but no [DONE] completes",
			Fixture: "stream_n2_no_done.sse",
			Want: []llm.Event{
				{Start: true, ID: "chatcmpl-n2", Model: "gpt-4o-mini", Text: "First"},
				{Text: "Second"}, {FinishReason: llm.FinishStop}, {FinishReason: llm.FinishLength},
				{Done: true},
			},
			WantErr: providertest.IsEOF,
		},
	})
}

// isMalformed reports whether err ends a stream at a malformed chunk.
func isMalformed(err error) bool {
	var pe *provider.Error
	return errors.As(err, &pe) && pe.Kind == provider.KindUnavailable && pe.Message == "malformed stream chunk"
}

// TestStreamChoicesAsked: a stream for n choices, ended by [DONE] or by
// its body's end, is complete only when each of the n finished, even the ones never seen,
// and even when its chunks are relayed verbatim (passthrough skips
// decoding plain deltas).
func TestStreamChoicesAsked(t *testing.T) {
	const (
		choice0 = `data: {"id":"c","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}` + "\n\n"
		choice1 = `data: {"id":"c","choices":[{"index":1,"delta":{"content":"b"},"finish_reason":null}]}` + "\n\n"
		finish0 = `data: {"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n"
		finish1 = `data: {"id":"c","choices":[{"index":1,"delta":{},"finish_reason":"stop"}]}` + "\n\n"
		// Two choices in one chunk: plainDelta sees only the first's null.
		both = `data: {"id":"c","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null},{"index":1,"delta":{},"finish_reason":"stop"}]}` + "\n\n"
		done = "data: [DONE]\n\n"
	)
	tests := []struct {
		name        string
		choices     int
		body        string
		passthrough bool
		wantErr     func(error) bool
	}{
		{"one choice finished", 1, choice0 + finish0, false, providertest.IsEOF},
		{"n=2, only choice 0 sent and finished", 2, choice0 + finish0, false, providertest.IsTruncated},
		{"n=2, only choice 0 sent and finished, relayed", 2, choice0 + finish0, true, providertest.IsTruncated},
		{"n=2, both finished", 2, choice0 + choice1 + finish1 + finish0, false, providertest.IsEOF},
		{"n=2, both finished, relayed", 2, choice0 + choice1 + finish1 + finish0, true, providertest.IsEOF},
		{"n=2, a finish beside a delta, relayed", 2, choice0 + both + finish0, true, providertest.IsEOF},
		{"n=2, choice 1 cut, relayed", 2, choice0 + choice1 + finish0 + choice1, true, providertest.IsTruncated},
		// [DONE] ends the answer as the body's end does.
		{"[DONE] after the finish", 1, choice0 + finish0 + done, false, providertest.IsEOF},
		{"[DONE] after the finish, relayed", 1, choice0 + finish0 + done, true, providertest.IsEOF},
		{"[DONE] with no finish", 1, choice0 + done, false, providertest.IsTruncated},
		{"[DONE] with no finish, relayed", 1, choice0 + choice0 + done, true, providertest.IsTruncated},
		{"[DONE] alone", 1, done, false, providertest.IsTruncated},
		{"n=2, [DONE] after both finished, relayed", 2, choice0 + choice1 + finish1 + finish0 + done, true, providertest.IsEOF},
		{"n=2, [DONE] after only choice 0 finished", 2, choice0 + choice1 + finish0 + done, false, providertest.IsTruncated},
		{"n=2, [DONE] after only choice 0 finished, relayed", 2, choice0 + choice1 + finish0 + done, true, providertest.IsTruncated},
		// An upstream that ignores n (many OpenAI-compatible servers, the
		// simulator) sends one choice and finishes it: not a cut answer.
		{"n=2, [DONE] with choice 1 never sent, relayed", 2, choice0 + finish0 + done, true, providertest.IsEOF},
		{"n=2, [DONE] with choice 1 never sent", 2, choice0 + finish0 + done, false, providertest.IsEOF},
		{"n=2, [DONE] with no choice sent", 2, done, false, providertest.IsTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := providertest.Upstream(t, providertest.Reply{Body: tt.body, Header: map[string]string{"Content-Type": "text/event-stream"}})
			s, err := newClient(srv, nil).ChatStream(context.Background(), &llm.Request{Dialect: llm.DialectOpenAI, Stream: true, Choices: tt.choices, Raw: []byte(`{"model":"m"}`)})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if tt.passthrough {
				s.(llm.Passthrough).SetPassthrough()
			}
			for {
				if _, err = s.Next(); err != nil {
					break
				}
			}
			if !tt.wantErr(err) {
				t.Errorf("got end %v, want the expected end", err)
			}
		})
	}
}

func TestStreamResetMidBody(t *testing.T) {
	providertest.StreamResetMidBody(t, adapter, "data: {\"id\":\"x\",\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n")
}

func TestStreamDeadlineMidBody(t *testing.T) {
	providertest.StreamDeadlineMidBody(t, adapter)
}

func FuzzStream(f *testing.F) {
	for _, name := range []string{"stream_text.sse", "stream_tools.sse", "stream_no_done.sse", "stream_cut.sse", "stream_error.sse", "stream_malformed.sse",
		"stream_malformed_unclosed.sse", "stream_malformed_comma.sse", "stream_malformed_strings.sse", "stream_n2_cut.sse", "stream_n2_no_done.sse", "stream_done_no_finish.sse"} {
		f.Add(providertest.Fixture(f, name))
	}
	f.Add([]byte("data: {\"error\":\"x\"}\n\n"))
	f.Add([]byte("data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":-3}]},\"finish_reason\":7}],\"usage\":{\"prompt_tokens\":\"x\"}}\n\n"))
	c := New(provider.Config{APIKey: testKey})
	providertest.FuzzStream(f, func(body io.ReadCloser) llm.Stream { return newStream(c, body, 0) })
}
