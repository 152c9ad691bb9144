package app

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
)

// TestModelEndpointRefusalsAreLogged: a model endpoint's request refused
// for its body's content coding (415) or its method (405) gets its one
// request line, as a 400 does (operations.md: every refusal of one).
func TestModelEndpointRefusalsAreLogged(t *testing.T) {
	s := startStack(t, fastSim(), "")
	lines := func() (out []map[string]any) {
		for l := range strings.Lines(s.logs.String()) {
			var rec map[string]any
			if json.Unmarshal([]byte(l), &rec) == nil && rec["msg"] == "request" {
				out = append(out, rec)
			}
		}
		return out
	}
	for _, tt := range []struct {
		name, method, path, encoding string
		status                       int
		code                         string
	}{
		{"bad JSON", "POST", "/v1/chat/completions", "", 400, "invalid_request"},
		{"gzip body", "POST", "/v1/chat/completions", "gzip", 415, "unsupported_content_encoding"},
		{"br body to Messages", "POST", "/v1/messages", "br", 415, "unsupported_content_encoding"},
		{"PUT", "PUT", "/v1/chat/completions", "", 405, "method_not_allowed"},
		{"DELETE", "DELETE", "/v1/embeddings", "", 405, "method_not_allowed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s.logs.Reset()
			if got := sendRaw(t, s.hc, tt.method, s.base+tt.path, tt.encoding, "{bad"); got != tt.status {
				t.Fatalf("got %d, want %d", got, tt.status)
			}
			var got []map[string]any
			clocktest.WaitFor(t, "the request line", func() bool {
				got = lines()
				return len(got) > 0
			})
			if len(got) != 1 || got[0]["status"] != float64(tt.status) || got[0]["error"] != tt.code {
				t.Errorf("got request lines %v, want one of status %d, error %q", got, tt.status, tt.code)
			}
		})
	}
}

// sendRaw sends body to url with method as JSON, in the content coding
// encoding when it is not "", and returns the answer's status.
func sendRaw(t *testing.T, hc *http.Client, method, url, encoding, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
