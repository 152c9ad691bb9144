package anthropic

import (
	"errors"
	"io"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/provider/providertest"
)

func TestStreamPassthroughBody(t *testing.T) {
	providertest.StreamPassthrough(t, adapter,
		`{"model":"smart","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"x":{"y":null}}`,
		`{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"x":{"y":null},"stream":true}`)
}

func TestStreamEvents(t *testing.T) {
	usage := func(in, out int) *llm.Usage { return &llm.Usage{InputTokens: in, OutputTokens: out} }
	// The tool-use stream's input: 72 plain, 300 read from the prompt
	// cache and 100 written to it.
	cached := func(out int) *llm.Usage {
		return &llm.Usage{InputTokens: 472, CachedInputTokens: 300, CacheWriteTokens: 100, OutputTokens: out}
	}
	// message_start's output count (1) is a placeholder, not reported.
	start := func(id string, in int) llm.Event {
		return llm.Event{Start: true, ID: id, Model: "claude-sonnet-4-5-20250929", Usage: usage(in, 0)}
	}
	textEvents := []llm.Event{
		start("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", 25),
		{}, // content_block_start (text)
		{}, // ping
		{Text: "Hello"},
		{Text: "!"},
		{}, // content_block_stop
		{FinishReason: llm.FinishStop, Usage: usage(25, 15)},
	}
	providertest.StreamEvents(t, adapter, []providertest.StreamCase{
		{
			Name:    "text with ping and message_stop",
			Fixture: "stream_text.sse",
			Want:    append(append([]llm.Event{}, textEvents...), llm.Event{Done: true}),
			WantErr: providertest.IsEOF,
		},
		{
			Name:    "thinking and redacted thinking numbered among thinking blocks",
			Fixture: "stream_thinking.sse",
			Want: []llm.Event{
				{Start: true, ID: "msg_think", Model: "claude-sonnet-4-5-20250929", Usage: usage(25, 0)},
				{Thinking: &llm.ThinkingDelta{Index: 0}},
				{Thinking: &llm.ThinkingDelta{Index: 0, Text: "Let me"}},
				{Thinking: &llm.ThinkingDelta{Index: 0, Text: " see."}},
				{Thinking: &llm.ThinkingDelta{Index: 0, Signature: "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"}},
				{},
				{Thinking: &llm.ThinkingDelta{Index: 1, Redacted: "EmwKAhgBEgy3va3pzix"}},
				{}, {}, {Text: "Blue."}, {},
				{FinishReason: llm.FinishStop, Usage: usage(25, 40)},
				{Done: true},
			},
			WantErr: providertest.IsEOF,
		},
		{
			Name:    "tool use blocks numbered among tool blocks",
			Fixture: "stream_tool_use.sse",
			Want: []llm.Event{
				{Start: true, ID: "msg_014p7gG3wDgGV9EUtLvnow3U", Model: "claude-sonnet-4-5-20250929", Usage: cached(0)},
				{}, {}, {Text: "Checking."}, {},
				{ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", Name: "get_weather"}}},
				{ToolCalls: []llm.ToolCallDelta{{Index: 0}}},
				{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `{"location":`}}},
				{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: ` "Paris"}`}}},
				{},
				{ToolCalls: []llm.ToolCallDelta{{Index: 1, ID: "toolu_02", Name: "get_time"}}},
				{ToolCalls: []llm.ToolCallDelta{{Index: 1, Arguments: `{}`}}},
				{},
				// message_delta has no input counts: message_start's stay.
				{FinishReason: llm.FinishToolCalls, Usage: cached(89)},
				{Done: true},
			},
			WantErr: providertest.IsEOF,
		},
		{
			// OpenAI clients parse a call's arguments as JSON: a call
			// that streamed none gets "{}" at its block's end (or the
			// input its start carried whole), and one left open gets
			// it before the finish.
			Name:    "tool calls without argument text end with their input",
			Fixture: "stream_tool_no_args.sse",
			Want: []llm.Event{
				start("msg_noargs", 20),
				{ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "toolu_01", Name: "get_time"}}},
				{ToolCalls: []llm.ToolCallDelta{{Index: 0}}},
				{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: "{}"}}},
				{ToolCalls: []llm.ToolCallDelta{{Index: 1, ID: "toolu_02", Name: "get_weather"}}},
				{ToolCalls: []llm.ToolCallDelta{{Index: 1, Arguments: `{"city":"Paris"}`}}},
				{ToolCalls: []llm.ToolCallDelta{{Index: 2, ID: "toolu_03", Name: "list"}}},
				{ToolCalls: []llm.ToolCallDelta{{Index: 2, Arguments: "{}"}}, FinishReason: llm.FinishToolCalls, Usage: usage(20, 30)},
				{Done: true},
			},
			WantErr: providertest.IsEOF,
		},
		{
			// A start without usage reports none (not 0 input tokens),
			// and message_delta's input stays 0 (unreported).
			Name:    "message_start without usage",
			Fixture: "stream_no_start_usage.sse",
			Want: []llm.Event{
				{Start: true, ID: "msg_nousage", Model: "claude-sonnet-4-5-20250929"},
				{}, {Text: "Hi"}, {},
				{FinishReason: llm.FinishStop, Usage: usage(0, 5)},
				{Done: true},
			},
			WantErr: providertest.IsEOF,
		},
		{
			Name:    "stop reason seen but no message_stop completes with a synthetic done",
			Fixture: "stream_no_stop.sse",
			Want:    append(append([]llm.Event{}, textEvents...), llm.Event{Done: true}),
			WantErr: providertest.IsEOF,
		},
		{
			// message_stop with no message_delta before it: no
			// stop_reason, no final usage. The answer was cut upstream,
			// not finished.
			Name:    "message_stop before a stop_reason is truncated",
			Fixture: "stream_stop_no_delta.sse",
			Want: []llm.Event{
				{Start: true, ID: "msg_nodelta", Model: "claude-sonnet-4-5-20250929", Usage: usage(25, 0)},
				{}, {Text: "Partial answer with"}, {},
			},
			WantErr: providertest.IsTruncated,
		},
		{
			Name:    "cut mid-event is truncated",
			Fixture: "stream_cut.sse",
			Want:    textEvents[:5],
			WantErr: providertest.IsTruncated,
		},
		{
			Name:    "an event that is JSON but not an object is malformed",
			Fixture: "stream_not_object.sse",
			Want:    []llm.Event{start("msg_01over", 12)},
			WantErr: func(err error) bool {
				var pe *provider.Error
				return errors.As(err, &pe) && pe.Kind == provider.KindUnavailable && pe.Message == "malformed stream event"
			},
		},
		{
			// Input counts are clamped before they are added: the sum
			// of two huge ones must not wrap around.
			Name:    "negative and huge usage counts are clamped",
			Fixture: "stream_bad_usage.sse",
			Want: []llm.Event{
				{Start: true, ID: "msg_01bad", Model: "claude-sonnet-4-5-20250929", Usage: &llm.Usage{
					InputTokens: llm.MaxReportedTokens, CachedInputTokens: llm.MaxReportedTokens, CacheWriteTokens: llm.MaxReportedTokens}},
				{FinishReason: llm.FinishStop, Usage: &llm.Usage{
					InputTokens: llm.MaxReportedTokens, CachedInputTokens: llm.MaxReportedTokens, CacheWriteTokens: llm.MaxReportedTokens}},
				{Done: true},
			},
			WantErr: providertest.IsEOF,
		},
		{
			Name:    "mid-stream overloaded error",
			Fixture: "stream_overloaded.sse",
			Want:    []llm.Event{start("msg_01over", 12), {}, {Text: "Once"}, {}},
			WantErr: func(err error) bool {
				var pe *provider.Error
				return errors.As(err, &pe) && pe.Kind == provider.KindUnavailable && pe.Message == "Overloaded" && pe.Status == 0
			},
		},
	})
}

func TestStreamResetMidBody(t *testing.T) {
	providertest.StreamResetMidBody(t, adapter, "event: ping\ndata: {\"type\": \"ping\"}\n\n")
}

func TestStreamDeadlineMidBody(t *testing.T) {
	providertest.StreamDeadlineMidBody(t, adapter)
}

func FuzzStream(f *testing.F) {
	for _, name := range []string{"stream_text.sse", "stream_tool_use.sse", "stream_tool_no_args.sse", "stream_no_stop.sse", "stream_cut.sse", "stream_overloaded.sse", "stream_stop_no_delta.sse"} {
		f.Add(providertest.Fixture(f, name))
	}
	f.Add([]byte("event: error\ndata: {\"error\":\"x\"}\n\n"))
	f.Add([]byte("data: {\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":1}}\n\n"))
	f.Add([]byte("event: message_delta\ndata: {\"delta\":{\"stop_reason\":\"weird\"},\"usage\":{\"output_tokens\":\"x\"}}\n\n"))
	c := New(provider.Config{APIKey: testKey})
	providertest.FuzzStream(f, func(body io.ReadCloser) llm.Stream { return newStream(c, body) })
}
