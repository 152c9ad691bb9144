package server_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/httpmux"
	"github.com/switchyard-gw/switchyard/internal/logtest"
	"github.com/switchyard-gw/switchyard/internal/server"
)

// requestLines returns the "request" log lines in logs.
func requestLines(logs *logtest.Buffer) []map[string]any {
	var out []map[string]any
	for l := range strings.Lines(logs.String()) {
		var rec map[string]any
		if json.Unmarshal([]byte(l), &rec) == nil && rec["msg"] == "request" {
			out = append(out, rec)
		}
	}
	return out
}

// TestRefusalsGetTheRequestLine: a request the server refuses before the
// API runs (a body in a content coding, 415) and one the API's mux
// refuses for its method (httpmux.HandleWrongMethods, 405) each get one
// request log line with the gateway's fields, in the format it was
// answered in; a request the API serves gets none from the server (the
// API writes its own).
func TestRefusalsGetTheRequestLine(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	})
	mux.HandleFunc("POST /v1/messages", func(w http.ResponseWriter, r *http.Request) {})
	for _, p := range []string{"/v1/chat/completions", "/v1/messages"} {
		httpmux.HandleWrongMethods(mux, p, []string{"POST"}, func(allow string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Allow", allow)
				http.Error(w, "no", http.StatusMethodNotAllowed)
			}
		})
	}
	logs := &logtest.Buffer{}
	r := start(t, server.Options{
		API:    http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { httpmux.Serve(mux, w, req) }),
		Logger: slog.New(slog.NewJSONHandler(logs, nil)),
	})
	for _, tt := range []struct {
		name, method, path, encoding string
		status                       int
		dialect, code                string
	}{
		{"gzip body", "POST", "/v1/chat/completions", "gzip", 415, "openai", "unsupported_content_encoding"},
		{"br body to Messages", "POST", "/v1/messages", "br", 415, "anthropic", "unsupported_content_encoding"},
		{"PUT", "PUT", "/v1/chat/completions", "", 405, "openai", "method_not_allowed"},
		{"DELETE on Messages", "DELETE", "/v1/messages", "", 405, "anthropic", "method_not_allowed"},
		{"an extension method", "PROPFIND", "/v1/chat/completions", "", 405, "openai", "method_not_allowed"},
		{"served", "POST", "/v1/chat/completions", "", 200, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logs.Reset()
			req, err := http.NewRequest(tt.method, r.base+tt.path, strings.NewReader("xx"))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Request-Id", "client-"+tt.method)
			if tt.encoding != "" {
				req.Header.Set("Content-Encoding", tt.encoding)
			}
			resp, err := r.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("got %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.status == 200 {
				if lines := requestLines(logs); len(lines) != 0 {
					t.Errorf("got request lines %v for a request the API served, want none from the server", lines)
				}
				return
			}
			var lines []map[string]any
			clocktest.WaitFor(t, "the request line", func() bool {
				lines = requestLines(logs)
				return len(lines) > 0
			})
			if len(lines) != 1 {
				t.Fatalf("got %d request lines, want 1: %v", len(lines), lines)
			}
			l := lines[0]
			if l["status"] != float64(tt.status) || l["error"] != tt.code || l["dialect"] != tt.dialect || l["level"] != "INFO" {
				t.Errorf("got %v, want status %d, error %q, dialect %q at INFO", l, tt.status, tt.code, tt.dialect)
			}
			if id, _ := l["request_id"].(string); !strings.HasPrefix(id, "req_") || l["client_request_id"] != "client-"+tt.method {
				t.Errorf("got request_id %v, client_request_id %v", l["request_id"], l["client_request_id"])
			}
			for _, f := range []string{"tenant", "key_id", "route", "policy", "reason", "arm", "deployment", "model", "attempts",
				"stream", "cache_hit", "partial", "latency_ms", "ttft_ms", "input_tokens", "cached_input_tokens",
				"cache_write_tokens", "output_tokens", "tokens_estimated", "cost_usd"} {
				if _, ok := l[f]; !ok {
					t.Errorf("the line has no %q: %v", f, l)
				}
			}
		})
	}
}
