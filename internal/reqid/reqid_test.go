package reqid

import (
	"net/http"
	"net/http/httptest"
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
		if len(id) != len("req_")+24 || !valid(id) {
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

func TestMiddleware(t *testing.T) {
	tests := []struct {
		name, in string
		keep     bool
	}{
		{"plain client id kept", "abc-123_X.y", true},
		{"unsafe id replaced", "bad id\n", false},
		{"missing id made", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			h := Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = From(r.Context()) }))
			req := httptest.NewRequest("GET", "/", nil)
			if tt.in != "" {
				req.Header[Header] = []string{tt.in}
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Header().Get(Header) != got || got == "" {
				t.Fatalf("response header %q, context %q: want the same non-empty id", rec.Header().Get(Header), got)
			}
			if (got == tt.in) != tt.keep {
				t.Errorf("id: got %q for client id %q, keep %v", got, tt.in, tt.keep)
			}
		})
	}
}
