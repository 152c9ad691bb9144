package sse

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ErrInvalidField reports an event name or id that contains a line break,
// which would corrupt the stream's framing.
var ErrInvalidField = errors.New("sse: event name or id contains a line break")

// Writer writes frames to a client and flushes after each one, so every event
// leaves the process as soon as it is written. It is not safe for concurrent
// use.
type Writer struct {
	w     io.Writer
	flush func() error
	buf   []byte
}

// NewWriter returns a Writer over w. When w is an http.ResponseWriter (or
// wraps one, see http.ResponseController) or an http.Flusher, each write is
// flushed; otherwise writes are plain.
func NewWriter(w io.Writer) *Writer {
	sw := &Writer{w: w}
	switch v := w.(type) {
	case http.ResponseWriter:
		rc := http.NewResponseController(v)
		sw.flush = func() error {
			if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
				return err
			}
			return nil
		}
	case http.Flusher:
		sw.flush = func() error { v.Flush(); return nil }
	}
	return sw
}

// WriteEvent writes one frame with the given event name (omitted when empty)
// and data. Data containing line breaks is written as several data lines,
// which a reader joins back with "\n".
func (w *Writer) WriteEvent(event, data string) error {
	return w.WriteFrame(Frame{Event: event, Data: data, HasData: true})
}

// WriteFrame writes f's Event, ID and Data fields (not f.Raw) as one frame.
// A frame with HasData false and an empty Data gets no data line.
func (w *Writer) WriteFrame(f Frame) error {
	if strings.ContainsAny(f.Event, "\r\n") || strings.ContainsAny(f.ID, "\r\n") {
		return ErrInvalidField
	}
	b := w.buf[:0]
	if f.Event != "" {
		b = append(b, "event: "...)
		b = append(b, f.Event...)
		b = append(b, '\n')
	}
	if f.ID != "" {
		b = append(b, "id: "...)
		b = append(b, f.ID...)
		b = append(b, '\n')
	}
	if f.HasData || f.Data != "" {
		data := f.Data
		for {
			line, rest, more := cutLine(data)
			b = append(b, "data: "...)
			b = append(b, line...)
			b = append(b, '\n')
			if !more {
				break
			}
			data = rest
		}
	}
	b = append(b, '\n')
	w.buf = b
	return w.WriteRaw(b)
}

// WriteComment writes a comment frame (": text"), typically a keep-alive.
func (w *Writer) WriteComment(text string) error {
	b := w.buf[:0]
	for {
		line, rest, more := cutLine(text)
		b = append(b, ": "...)
		b = append(b, line...)
		b = append(b, '\n')
		if !more {
			break
		}
		text = rest
	}
	b = append(b, '\n')
	w.buf = b
	return w.WriteRaw(b)
}

// WriteRaw writes b verbatim (normally one or more complete frames, such as
// Frame.Raw from an upstream stream) and flushes.
func (w *Writer) WriteRaw(b []byte) error {
	if _, err := w.w.Write(b); err != nil {
		return err
	}
	return w.Flush()
}

// Flush sends anything buffered to the client.
func (w *Writer) Flush() error {
	if w.flush == nil {
		return nil
	}
	return w.flush()
}

// cutLine splits s at the first "\r\n", "\r" or "\n".
func cutLine(s string) (line, rest string, more bool) {
	i := strings.IndexAny(s, "\r\n")
	if i < 0 {
		return s, "", false
	}
	if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
		return s[:i], s[i+2:], true
	}
	return s[:i], s[i+1:], true
}

// ResponseWriter streams server-sent events as an HTTP response. The first
// write sends the event-stream headers (Content-Type text/event-stream,
// Cache-Control no-cache, X-Accel-Buffering no, no Content-Length) and
// status 200; every write is flushed unless Batch was called. Until Started
// reports true the caller may still answer with a plain response instead.
// Not safe for concurrent use.
type ResponseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	origin  string // prefixes errors, e.g. "openaiapi"
	started bool
	batch   bool
}

// NewResponseWriter returns a ResponseWriter over w whose errors read
// "origin: write stream: …" and "origin: flush stream: …".
func NewResponseWriter(w http.ResponseWriter, origin string) *ResponseWriter {
	return &ResponseWriter{w: w, rc: http.NewResponseController(w), origin: origin}
}

// Started reports whether the response has begun: a byte was written, or
// Commit was called.
func (w *ResponseWriter) Started() bool { return w.started }

// Commit marks the response as begun without writing, for a caller that
// answered through the underlying http.ResponseWriter itself.
func (w *ResponseWriter) Commit() { w.started = true }

// Write sends b (headers first, on the first call) and flushes it unless
// batching. Writing nothing does nothing, not even send headers.
func (w *ResponseWriter) Write(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if !w.started {
		w.started = true
		h := w.w.Header()
		h["Content-Type"] = eventStream
		h["Cache-Control"] = noCache
		h["X-Accel-Buffering"] = no
		delete(h, "Content-Length")
		w.w.WriteHeader(http.StatusOK)
	}
	n, err := w.w.Write(b)
	if err != nil {
		return n, fmt.Errorf("%s: write stream: %w", w.origin, err)
	}
	if w.batch {
		return n, nil
	}
	return n, w.Flush()
}

// Fail ends the response with an error: before the first byte it calls
// plain, which writes an ordinary (non-stream) error response with its
// status; after it, it writes the in-band frame inband returns, which the
// client's SDK raises as an error.
func (w *ResponseWriter) Fail(plain func(http.ResponseWriter), inband func() []byte) {
	if !w.started {
		w.started = true
		plain(w.w)
		return
	}
	_, _ = w.Write(inband())
}

// AppendFrame appends one frame to dst: an "event:" line when event is not
// empty, one "data:" line holding data (which must hold no line break, as
// encoded JSON never does), and the blank line that ends the frame.
func AppendFrame(dst []byte, event string, data []byte) []byte {
	if event != "" {
		dst = append(dst, "event: "...)
		dst = append(dst, event...)
		dst = append(dst, '\n')
	}
	dst = append(dst, "data: "...)
	dst = append(dst, data...)
	return append(dst, "\n\n"...)
}

// The event-stream header values, shared by every response: the keys are
// canonical and capacity equals length, so an Add copies instead of
// writing into them. (net/http copies them when the headers are sent.)
var (
	eventStream = []string{"text/event-stream"}[:1:1]
	noCache     = []string{"no-cache"}[:1:1]
	no          = []string{"no"}[:1:1]
)

// Batch makes writes wait for an explicit Flush, so a caller that knows
// more events are already in memory can send them in one write.
func (w *ResponseWriter) Batch() { w.batch = true }

// Flush sends what has been written to the client; before the first write
// it does nothing. A writer that cannot flush is not an error.
func (w *ResponseWriter) Flush() error {
	if !w.started {
		return nil
	}
	if err := w.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return fmt.Errorf("%s: flush stream: %w", w.origin, err)
	}
	return nil
}
