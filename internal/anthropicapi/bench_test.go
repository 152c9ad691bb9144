package anthropicapi

import (
	"testing"

	"github.com/switchyard-gw/switchyard/internal/dialecttest"
)

// The writers of complete JSON responses (answers passed through and
// translated, errors) and the full decode a translation needs.

func BenchmarkWriteResponse(b *testing.B) {
	dialecttest.BenchWriteResponse(b, dialect, `{"id":"msg_1","type":"message","role":"assistant","model":"c","content":[{"type":"text","text":"hello"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":4}}`)
}

func BenchmarkWriteErrorFor(b *testing.B) { dialecttest.BenchWriteErrorFor(b, dialect) }

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
