package openaiapi

import (
	"net/http/httptest"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// The writers of complete JSON responses: answers passed through and
// translated, errors and the model list.

func BenchmarkWriteResponse(b *testing.B) {
	raw := []byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}]}`)
	for _, bb := range []struct {
		name string
		resp llm.Response
	}{
		{"passthrough", llm.Response{Dialect: llm.DialectOpenAI, Raw: raw}},
		{"translated", llm.Response{ID: "msg_1", Model: "c", Text: "hello", FinishReason: llm.FinishStop, Usage: llm.Usage{InputTokens: 3, OutputTokens: 4}}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			s := testSource()
			b.ReportAllocs()
			for b.Loop() {
				if err := s.writeResponse(httptest.NewRecorder(), &bb.resp); err != nil {
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

func BenchmarkWriteModels(b *testing.B) {
	s := testSource()
	ids := []string{"smart", "fast", "gpt-4o"}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.writeModels(httptest.NewRecorder(), ids); err != nil {
			b.Fatal(err)
		}
	}
}
