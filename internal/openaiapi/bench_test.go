package openaiapi

import (
	"net/http/httptest"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/dialecttest"
)

// The writers of complete JSON responses: answers passed through and
// translated, errors and the model list.

func BenchmarkWriteResponse(b *testing.B) {
	dialecttest.BenchWriteResponse(b, dialect, `{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}]}`)
}

func BenchmarkWriteErrorFor(b *testing.B) { dialecttest.BenchWriteErrorFor(b, dialect) }

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
