package anthropicapi

import (
	"net/http/httptest"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// The writers of complete JSON responses (answers passed through and
// translated, errors) and the full decode a translation needs.

func BenchmarkWriteResponse(b *testing.B) {
	raw := []byte(`{"id":"msg_1","type":"message","role":"assistant","model":"c","content":[{"type":"text","text":"hello"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":4}}`)
	for _, bb := range []struct {
		name string
		resp llm.Response
	}{
		{"passthrough", llm.Response{Dialect: llm.DialectAnthropic, Raw: raw}},
		{"translated", llm.Response{ID: "chatcmpl-1", Model: "gpt", Text: "hello", FinishReason: llm.FinishStop, Usage: llm.Usage{InputTokens: 3, OutputTokens: 4}}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := writeResponse(httptest.NewRecorder(), &bb.resp, testIDs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkWriteErrorFor(b *testing.B) {
	err := &provider.Error{Kind: provider.KindUnavailable, Message: "overloaded"}
	b.ReportAllocs()
	for b.Loop() {
		WriteErrorFor(httptest.NewRecorder(), err)
	}
}

func BenchmarkDecodeFull(b *testing.B) {
	body := []byte(`{"model":"c","max_tokens":64,"system":"be brief","messages":[
		{"role":"user","content":[{"type":"text","text":"weather?"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}]},
		{"role":"assistant","content":[{"type":"text","text":"checking"},{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]},
		{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"sunny"}]},{"type":"text","text":"and?"}]}]}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeFull(body); err != nil {
			b.Fatal(err)
		}
	}
}
