package sse

import (
	"errors"
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
