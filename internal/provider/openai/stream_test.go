package openai

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
			WantErr: func(err error) bool { return provider.KindOf(err) == provider.KindUnavailable },
		},
	})
}

func TestStreamResetMidBody(t *testing.T) {
	providertest.StreamResetMidBody(t, adapter, "data: {\"id\":\"x\",\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n")
}

func TestStreamDeadlineMidBody(t *testing.T) {
	providertest.StreamDeadlineMidBody(t, adapter)
}

func FuzzStream(f *testing.F) {
	for _, name := range []string{"stream_text.sse", "stream_tools.sse", "stream_no_done.sse", "stream_cut.sse", "stream_error.sse", "stream_malformed.sse"} {
		f.Add(providertest.Fixture(f, name))
	}
	f.Add([]byte("data: {\"error\":\"x\"}\n\n"))
	f.Add([]byte("data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":-3}]},\"finish_reason\":7}],\"usage\":{\"prompt_tokens\":\"x\"}}\n\n"))
	c := New(provider.Config{APIKey: testKey})
	providertest.FuzzStream(f, func(body io.ReadCloser) llm.Stream { return newStream(c, body) })
}
