package dialecttest

import (
	"net/http/httptest"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// BenchWriteResponse measures WriteResponse passing raw, an answer in the
// dialect's own format, through, and encoding a short canonical answer
// from another dialect.
func BenchWriteResponse(b *testing.B, d Dialect, raw string) {
	for _, bb := range []struct {
		name string
		resp llm.Response
	}{
		{"passthrough", llm.Response{Dialect: d.Name, Raw: []byte(raw)}},
		{"translated", llm.Response{ID: "id-1", Model: "m", Text: "hello", FinishReason: llm.FinishStop, Usage: llm.Usage{InputTokens: 3, OutputTokens: 4}}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := d.WriteResponse(httptest.NewRecorder(), &bb.resp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchWriteErrorFor measures WriteErrorFor with a provider failure.
func BenchWriteErrorFor(b *testing.B, d Dialect) {
	err := &provider.Error{Kind: provider.KindUnavailable, Message: "overloaded"}
	b.ReportAllocs()
	for b.Loop() {
		d.WriteErrorFor(httptest.NewRecorder(), err)
	}
}
