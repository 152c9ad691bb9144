package sse

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// failWriter is a ResponseWriter whose body writes fail.
type failWriter struct{ *httptest.ResponseRecorder }

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestResponseWriter(t *testing.T) {
	tests := []struct {
		name        string
		do          func(w *ResponseWriter) error
		wantBody    string
		wantStarted bool
		wantFlushed bool
		wantHeaders bool
	}{
		{"nothing written", func(w *ResponseWriter) error { return w.Flush() }, "", false, false, false},
		{"empty write sends no headers", func(w *ResponseWriter) error { _, err := w.Write(nil); return err }, "", false, false, false},
		{"write flushes", func(w *ResponseWriter) error { _, err := w.Write([]byte("data: a\n\n")); return err },
			"data: a\n\n", true, true, true},
		{"batch waits for flush", func(w *ResponseWriter) error {
			w.Batch()
			_, err := w.Write([]byte("data: a\n\n"))
			return err
		}, "data: a\n\n", true, false, true},
		{"batch then flush", func(w *ResponseWriter) error {
			w.Batch()
			if _, err := w.Write([]byte("data: a\n\n")); err != nil {
				return err
			}
			return w.Flush()
		}, "data: a\n\n", true, true, true},
		{"commit writes nothing", func(w *ResponseWriter) error { w.Commit(); return nil }, "", true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			rec.Header().Set("Content-Length", "10")
			w := NewResponseWriter(rec, "test")
			if err := tt.do(w); err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if got := rec.Body.String(); got != tt.wantBody {
				t.Errorf("got body %q, want %q", got, tt.wantBody)
			}
			if got := w.Started(); got != tt.wantStarted {
				t.Errorf("got Started %v, want %v", got, tt.wantStarted)
			}
			if rec.Flushed != tt.wantFlushed {
				t.Errorf("got flushed %v, want %v", rec.Flushed, tt.wantFlushed)
			}
			h := rec.Result().Header
			if got := h.Get("Content-Type") == "text/event-stream"; got != tt.wantHeaders {
				t.Errorf("got Content-Type %q, want event-stream headers %v", h.Get("Content-Type"), tt.wantHeaders)
			}
			if tt.wantHeaders {
				if h.Get("Cache-Control") != "no-cache" || h.Get("X-Accel-Buffering") != "no" || h.Get("Content-Length") != "" {
					t.Errorf("got headers %v, want no-cache, no buffering and no Content-Length", h)
				}
				if rec.Code != http.StatusOK {
					t.Errorf("got status %d, want 200", rec.Code)
				}
			}
		})
	}
}

func TestResponseWriterWriteError(t *testing.T) {
	w := NewResponseWriter(failWriter{httptest.NewRecorder()}, "dialect")
	_, err := w.Write([]byte("data: a\n\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "dialect: write stream: ") {
		t.Fatalf("got %v, want a dialect: write stream: error", err)
	}
}
