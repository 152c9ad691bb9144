// Package sse encodes and decodes server-sent events (the text/event-stream
// format). Provider adapters decode upstream streams with Reader; the inbound
// dialects write client streams with Writer. Reader keeps every frame's exact
// bytes so a proxy can pass frames through verbatim.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxFrameSize is the largest frame NewReader accepts.
const DefaultMaxFrameSize = 8 << 20

// ErrTruncated reports a stream that ended in the middle of a frame (no
// terminating blank line). It wraps io.ErrUnexpectedEOF.
var ErrTruncated = fmt.Errorf("sse: stream ended mid-frame: %w", io.ErrUnexpectedEOF)

// ErrFrameTooLarge reports a frame longer than the reader's limit.
var ErrFrameTooLarge = errors.New("sse: frame exceeds size limit")

// Frame is one event block of a stream.
type Frame struct {
	// Event is the value of the last "event" field; empty for the default
	// "message" event.
	Event string
	// Data is the values of all "data" fields joined by "\n".
	Data string
	// ID is the value of the last "id" field.
	ID string
	// HasData is true when the frame had at least one "data" field (so an
	// empty Data can be told from an absent one).
	HasData bool
	// Raw is the exact bytes of the frame, including any blank lines that
	// preceded it and the blank line that ends it. Raw is never reused by
	// the Reader, so callers may keep it.
	Raw []byte
}

// IsComment reports whether the frame holds only comment lines (such as the
// keep-alive ": ping") or fields this package ignores.
func (f *Frame) IsComment() bool {
	return f.Event == "" && !f.HasData && f.ID == ""
}

// Reader decodes frames from a stream. It is not safe for concurrent use.
type Reader struct {
	br      *bufio.Reader
	max     int
	err     error // sticky error returned by every later Next
	started bool  // the first line was read (a leading BOM is stripped)
}

// Buffered returns the number of bytes already read from the underlying
// reader and not yet returned as frames.
func (r *Reader) Buffered() int { return r.br.Buffered() }

// NewReader returns a Reader over r that accepts frames up to
// DefaultMaxFrameSize bytes.
func NewReader(r io.Reader) *Reader {
	return NewReaderLimit(r, DefaultMaxFrameSize)
}

// NewReaderLimit returns a Reader over r that accepts frames up to max bytes.
func NewReaderLimit(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = DefaultMaxFrameSize
	}
	return &Reader{br: bufio.NewReaderSize(r, 4096), max: max}
}

// Next returns the next frame. At a clean end of stream (after a frame's
// blank line, or with nothing pending) it returns io.EOF. When the stream
// ends inside a frame it returns the partial frame (Raw holds the bytes read)
// and an error that wraps ErrTruncated. A read error from the underlying
// reader is returned wrapped, also with the partial frame. Once Next returns
// an error it returns the same error on every later call.
func (r *Reader) Next() (Frame, error) {
	if r.err != nil {
		return Frame{}, r.err
	}
	var (
		f       Frame
		data    []byte
		pending bool // a non-blank line was read
	)
	raw := make([]byte, 0, 256)
	for {
		start := len(raw)
		var err error
		raw, err = r.readLine(raw)
		line := raw[start:]
		complete := len(line) > 0 && line[len(line)-1] == '\n'
		if err != nil && !(errors.Is(err, io.EOF) && len(line) > 0) {
			f.Raw = raw
			r.finish(&f, data)
			if errors.Is(err, io.EOF) {
				if pending || len(line) > 0 {
					r.err = ErrTruncated
				} else {
					r.err = io.EOF
					return Frame{}, io.EOF
				}
			} else if errors.Is(err, ErrFrameTooLarge) {
				r.err = fmt.Errorf("%w (%d bytes)", ErrFrameTooLarge, r.max)
			} else {
				r.err = fmt.Errorf("sse: read: %w", err)
			}
			return f, r.err
		}
		line = trimEOL(line)
		if !r.started {
			r.started = true
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		if len(line) == 0 && complete {
			if !pending {
				continue // leading blank lines stay in Raw of the next frame
			}
			f.Raw = raw
			r.finish(&f, data)
			return f, nil
		}
		pending = true
		data = r.field(&f, line, data)
		if !complete {
			// EOF after a line without its newline: the frame is cut.
			f.Raw = raw
			r.finish(&f, data)
			r.err = ErrTruncated
			return f, r.err
		}
	}
}

// readLine appends one line, with its terminator, to buf. At EOF it returns
// what was read and io.EOF.
func (r *Reader) readLine(buf []byte) ([]byte, error) {
	for {
		chunk, err := r.br.ReadSlice('\n')
		if len(buf)+len(chunk) > r.max {
			return buf, ErrFrameTooLarge
		}
		buf = append(buf, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		return buf, err
	}
}

// field applies one non-blank line to f and returns the data buffer.
func (r *Reader) field(f *Frame, line, data []byte) []byte {
	if len(line) == 0 || line[0] == ':' {
		return data // comment, or a lone "\r" cut by EOF
	}
	name, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(name) {
	case "event":
		f.Event = string(value)
	case "data":
		if f.HasData {
			data = append(data, '\n')
		}
		f.HasData = true
		data = append(data, value...)
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			f.ID = string(value)
		}
	}
	return data
}

func (r *Reader) finish(f *Frame, data []byte) {
	if f.HasData {
		f.Data = string(data)
	}
}

func trimEOL(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r"))
}
