package reqid

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestNewIsUniqueAndOrdered(t *testing.T) {
	seen := map[string]bool{}
	prev := ""
	for i := 0; i < 1000; i++ {
		id := New()
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
		if len(id) != len("req_")+24 || !Plain(id) {
			t.Fatalf("id %q: want req_ and 24 hex digits", id)
		}
		// The time prefix never goes backwards (ids within one
		// millisecond may come in any order).
		if prev != "" && id[:16] < prev[:16] {
			t.Fatalf("id %q sorts before the earlier %q", id, prev)
		}
		prev = id
	}
}

// TestMiddleware: the id is always the gateway's own, so two requests with
// the same client id still get two ids (the usage ledger is keyed on it);
// the client's id, when plain, is carried and echoed beside it.
func TestMiddleware(t *testing.T) {
	tests := []struct {
		name       string
		header     map[string]string
		wantClient string
	}{
		{"plain X-Request-Id kept as the client id", map[string]string{Header: "abc-123_X.y"}, "abc-123_X.y"},
		{"X-Client-Request-Id kept", map[string]string{ClientHeader: "mine-1"}, "mine-1"},
		{"X-Client-Request-Id wins over X-Request-Id", map[string]string{ClientHeader: "mine-1", Header: "other"}, "mine-1"},
		{"unsafe client id dropped", map[string]string{Header: "bad id\n"}, ""},
		{"too long client id dropped", map[string]string{ClientHeader: strings.Repeat("a", 65)}, ""},
		{"no client id", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := map[string]bool{}
			for range 2 {
				var own, client string
				h := Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					own, client = From(r.Context()), Client(r.Context())
				}))
				req := httptest.NewRequest("GET", "/", nil)
				for k, v := range tt.header {
					req.Header[k] = []string{v}
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if !strings.HasPrefix(own, "req_") || rec.Header().Get(Header) != own || rec.Header().Get(AnthropicHeader) != own {
					t.Fatalf("id %q, response headers %q %q: want the same gateway id in both", own, rec.Header().Get(Header), rec.Header().Get(AnthropicHeader))
				}
				if seen[own] {
					t.Fatalf("id %q given to two requests", own)
				}
				seen[own] = true
				if client != tt.wantClient || rec.Header().Get(ClientHeader) != tt.wantClient {
					t.Errorf("client id %q, echoed %q: want %q", client, rec.Header().Get(ClientHeader), tt.wantClient)
				}
			}
		})
	}
}
