package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// The Responses API's WebSocket mode against the same response over
// HTTP, through the same gateway in front of the same instant upstream
// (a 16-delta Responses stream), and the floor (a bare ReverseProxy) for
// the HTTP form:
//
//	go test -run '^$' -bench 'Responses' -benchmem ./internal/gateway
//
// One op is one streamed response read to its response.completed.

// benchResponsesStream is a Responses API stream of 16 text deltas.
var benchResponsesStream = func() []byte {
	var b bytes.Buffer
	ev := func(typ, data string) { fmt.Fprintf(&b, "event: %s\ndata: {\"type\":%q%s}\n\n", typ, typ, data) }
	resp := `"response":{"id":"resp_1","object":"response","model":"bench","status":"%s","output":[]%s}`
	ev("response.created", ","+fmt.Sprintf(resp, "in_progress", ""))
	for _, w := range strings.Fields("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi") {
		ev("response.output_text.delta", `,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"`+w+` "`)
	}
	ev("response.completed", ","+fmt.Sprintf(resp, "completed", `,"usage":{"input_tokens":8,"output_tokens":16,"total_tokens":24}`))
	return b.Bytes()
}()

const benchResponsesBody = `{"model":"%s","input":"Say hello in a few words.","max_output_tokens":16,"stream":true}`

// responsesUpstream answers every Responses request with the stream.
func responsesUpstream(b *testing.B) string {
	b.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write(benchResponsesStream)
	}))
	b.Cleanup(srv.Close)
	return srv.URL
}

func BenchmarkResponsesFloorHTTP(b *testing.B) {
	driveResponses(b, floor(b, responsesUpstream(b)), "bench")
}

func BenchmarkResponsesGatewayHTTP(b *testing.B) {
	driveResponses(b, switchyard(b, responsesUpstream(b)), "auto")
}

func BenchmarkResponsesGatewayWebSocket(b *testing.B) {
	base := switchyard(b, responsesUpstream(b))
	ctx := context.Background()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/v1/responses", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.CloseNow()
	event := []byte(`{"type":"response.create","model":"auto","input":"Say hello in a few words.","max_output_tokens":16}`)
	done := []byte(`"type":"response.completed"`)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := conn.Write(ctx, websocket.MessageText, event); err != nil {
			b.Fatal(err)
		}
		for n := 0; ; n++ {
			_, msg, err := conn.Read(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if bytes.Contains(msg, done) {
				if n < 16 {
					b.Fatalf("completed after %d events", n)
				}
				break
			}
			if bytes.Contains(msg, []byte(`"type":"error"`)) {
				b.Fatalf("error event %s", msg)
			}
		}
	}
}

// driveResponses sends b.N streamed Responses requests one after another
// and reads each to its end.
func driveResponses(b *testing.B, base, model string) {
	b.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	body := fmt.Appendf(nil, benchResponsesBody, model)
	want := []byte(`"type":"response.completed"`)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		resp, err := client.Post(base+"/v1/responses", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || !bytes.Contains(got, want) {
			b.Fatalf("got status %d err %v body %.300q", resp.StatusCode, err, got)
		}
	}
}
