package sse

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWriterFrames(t *testing.T) {
	tests := []struct {
		name  string
		write func(w *Writer) error
		want  string
	}{
		{"data only", func(w *Writer) error { return w.WriteEvent("", "hi") }, "data: hi\n\n"},
		{"event and multi-line data", func(w *Writer) error { return w.WriteEvent("delta", "a\nb\r\nc") },
			"event: delta\ndata: a\ndata: b\ndata: c\n\n"},
		{"frame with id", func(w *Writer) error { return w.WriteFrame(Frame{ID: "3", Data: "x"}) }, "id: 3\ndata: x\n\n"},
		{"empty data", func(w *Writer) error { return w.WriteEvent("ping", "") }, "event: ping\ndata: \n\n"},
		{"comment", func(w *Writer) error { return w.WriteComment("keep-alive") }, ": keep-alive\n\n"},
		{"raw", func(w *Writer) error { return w.WriteRaw([]byte("data: [DONE]\n\n")) }, "data: [DONE]\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if err := tt.write(NewWriter(rec)); err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if got := rec.Body.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if !rec.Flushed {
				t.Errorf("got no flush, want a flush after the write")
			}
		})
	}
}

func TestWriterRejectsLineBreakInEvent(t *testing.T) {
	var b strings.Builder
	if err := NewWriter(&b).WriteEvent("a\nb", "x"); !errors.Is(err, ErrInvalidField) {
		t.Errorf("got %v, want ErrInvalidField", err)
	}
	if b.Len() != 0 {
		t.Errorf("got %q written, want nothing", b.String())
	}
}

// TestWriterFlushesEachEvent reads events over a real connection one at a
// time: without a flush per event the client would block.
func TestWriterFlushesEachEvent(t *testing.T) {
	next := make(chan string)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		sw := NewWriter(w)
		if err := sw.Flush(); err != nil { // send headers so the client's Get returns
			return
		}
		for d := range next {
			if err := sw.WriteEvent("", d); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		close(next)
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := NewReader(resp.Body)
	for _, d := range []string{"one", "two", "three"} {
		next <- d
		f, err := r.Next()
		if err != nil || f.Data != d {
			close(next)
			t.Fatalf("got %q, %v, want %q", f.Data, err, d)
		}
	}
	close(next)
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("got %v, want io.EOF", err)
	}
}

func TestWriterRoundTrip(t *testing.T) {
	var b strings.Builder
	w := NewWriter(&b)
	in := []Frame{{Event: "a", Data: "1\n2", HasData: true}, {Data: "", HasData: true}, {ID: "9", Data: "{}", HasData: true}}
	for _, f := range in {
		if err := w.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	r := NewReader(strings.NewReader(b.String()))
	for _, want := range in {
		got, err := r.Next()
		if err != nil || got.Event != want.Event || got.Data != want.Data || got.ID != want.ID {
			t.Errorf("got %+v, %v, want %+v", got, err, want)
		}
	}
}

func TestAppendFrameAndFail(t *testing.T) {
	if got := string(AppendFrame([]byte("x"), "error", []byte(`{"a":1}`))); got != "xevent: error\ndata: {\"a\":1}\n\n" {
		t.Errorf("AppendFrame with event: %q", got)
	}
	if got := string(AppendFrame(nil, "", []byte(`[DONE]`))); got != "data: [DONE]\n\n" {
		t.Errorf("AppendFrame without event: %q", got)
	}
	plain := func(w http.ResponseWriter) { http.Error(w, "nope", http.StatusTooManyRequests) }
	inband := func() []byte { return []byte("data: {\"error\":{}}\n\n") }

	rec := httptest.NewRecorder()
	w := NewResponseWriter(rec, "test")
	w.Fail(plain, inband)
	if rec.Code != http.StatusTooManyRequests || !w.Started() {
		t.Errorf("before the first byte: %d started %v, want the plain 429", rec.Code, w.Started())
	}
	rec = httptest.NewRecorder()
	w = NewResponseWriter(rec, "test")
	_, _ = w.Write([]byte("data: 1\n\n"))
	w.Fail(plain, inband)
	if rec.Code != 200 || rec.Body.String() != "data: 1\n\ndata: {\"error\":{}}\n\n" {
		t.Errorf("after it: %d %q, want the in-band frame", rec.Code, rec.Body.String())
	}
}
