// Package sse encodes and decodes server-sent events (the text/event-stream
// format). Provider adapters decode upstream streams with Reader; the inbound
// dialects write client streams with Writer. Reader keeps every frame's exact
// bytes so a proxy can pass frames through verbatim.
package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unsafe"
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
	// the Reader, so callers may keep it, but must not modify it: Event,
	// Data and ID may share its memory.
	Raw []byte
}

// IsComment reports whether the frame holds only comment lines (such as the
// keep-alive ": ping") or fields this package ignores.
func (f *Frame) IsComment() bool {
	return f.Event == "" && !f.HasData && f.ID == ""
}

// Reader decodes frames from a stream. It is not safe for concurrent use.
//
// A frame already whole in the read buffer, with plain "\n" line ends (a
// streamed token's, as a rule), is parsed where it is, and its Raw is a view
// of the read buffer, which is never written again (see readBuf). Any other
// is read line by line into a scratch buffer that is reused, then copied
// once into Raw; small frames' Raw are carved one after another from a
// block (see own). Either way a stream of tokens costs an allocation per
// few kilobytes, not per frame. Event, Data (when it is a single line) and
// ID are views of Raw, which nobody may modify.
type Reader struct {
	br      readBuf
	max     int
	err     error // sticky error returned by every later Next
	started bool  // the first line was read (a leading BOM is stripped)

	scratch []byte // the frame being read; reused
	joined  []byte // data of a multi-line frame, joined; reused

	block []byte // what is left of the block frames are copied into

	// lineByLine makes every frame take the line-by-line path (for the
	// tests, which hold the two paths to each other).
	lineByLine bool

	// whole is FrameBuffered's answer since the last Next (which resets
	// it): 0 not known yet, 1 true, -1 false. Nothing but Next reads the
	// network, so the answer holds until then, and a relay that asks
	// before and after each frame scans the buffer once.
	whole int8
}

// blockSize is the size of a block of frames: about twenty chunks of a
// token each. A frame larger than a quarter of it gets its own allocation,
// so a block's unused tail stays small.
const blockSize = 4 << 10

// span locates a field value in the scratch buffer.
type span struct{ start, end int }

// frameState is what Next learns of a frame while reading its lines.
type frameState struct {
	event, id, data span
	hasEvent, hasID bool
	dataLines       int
}

// Buffered returns the number of bytes already read from the underlying
// reader and not yet returned as frames.
func (r *Reader) Buffered() int { return r.br.Buffered() }

// FrameBuffered reports whether a whole frame (up to its blank line) is
// already in memory, so Next will return without reading the network.
func (r *Reader) FrameBuffered() bool {
	if r.whole == 0 {
		r.whole = -1
		if r.frameBuffered() {
			r.whole = 1
		}
	}
	return r.whole > 0
}

func (r *Reader) frameBuffered() bool {
	n := r.br.Buffered()
	if n == 0 {
		return false
	}
	b, _ := r.br.Peek(n)
	// Blank lines before a frame are not a frame: Next would skip them and
	// then wait for the network.
	b = bytes.TrimLeft(b, "\r\n")
	if bytes.Contains(b, []byte("\n\n")) {
		return true
	}
	// A blank line ended by "\r" counts once the byte after it is here
	// too: Next waits for it, to tell "\r\n" from a lone "\r".
	known := b[:max(len(b)-1, 0)]
	return bytes.Contains(known, []byte("\n\r")) || bytes.Contains(known, []byte("\r\r"))
}

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
	return &Reader{br: readBuf{rd: r}, max: max}
}

// Next returns the next frame. At a clean end of stream (after a frame's
// blank line, or with nothing pending) it returns io.EOF. When the stream
// ends inside a frame it returns the partial frame (Raw holds the bytes read)
// and an error that wraps ErrTruncated. A read error from the underlying
// reader is returned wrapped, also with the partial frame. Once Next returns
// an error it returns the same error on every later call.
func (r *Reader) Next() (Frame, error) {
	r.whole = 0
	if r.err != nil {
		return Frame{}, r.err
	}
	var (
		st      frameState
		pending bool // a non-blank line was read
	)
	r.scratch = r.scratch[:0]
	r.joined = r.joined[:0]
	if f, ok := r.buffered(); ok {
		return f, nil
	}
	// No whole frame is here: read until one is, so that it is parsed where
	// it is instead of line by line. Frames come whole in a read of their
	// own (a streamed token), or many in a read that ends inside the last.
	// A frame the in-place path does not take ("\r" line ends, larger than
	// a read buffer, the stream's first with a byte order mark) goes line
	// by line.
	for n := r.br.Buffered(); n < readSize && n <= r.max && (n == 0 || !r.frameBuffered()); n = r.br.Buffered() {
		if _, err := r.br.Peek(n + 1); err != nil {
			if n == 0 {
				return r.fail(&st, err, false)
			}
			break // the line-by-line path reads what came, and meets err
		}
		if f, ok := r.buffered(); ok {
			return f, nil
		}
	}
	for {
		start := len(r.scratch)
		var err error
		r.scratch, err = r.readLine(r.scratch)
		line := r.scratch[start:]
		complete := len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r')
		if err != nil && !(errors.Is(err, io.EOF) && len(line) > 0) {
			return r.fail(&st, err, pending || len(line) > 0)
		}
		lineEnd := start + len(trimEOL(line))
		lineStart := start
		if !r.started {
			r.started = true
			if bytes.HasPrefix(r.scratch[lineStart:lineEnd], bom) {
				lineStart += 3
			}
		}
		if lineEnd == lineStart && complete {
			if !pending {
				continue // leading blank lines stay in Raw of the next frame
			}
			return r.frame(&st), nil
		}
		pending = true
		r.field(&st, lineStart, lineEnd)
		if !complete {
			// EOF after a line without its newline: the frame is cut.
			f := r.frame(&st)
			r.err = ErrTruncated
			return f, r.err
		}
	}
}

// fail ends the stream at a read error err, with the frame read so far
// (pending: it has bytes): io.EOF is a clean end only between frames.
func (r *Reader) fail(st *frameState, err error, pending bool) (Frame, error) {
	f := r.frame(st)
	if errors.Is(err, io.EOF) {
		if !pending {
			r.err = io.EOF
			return Frame{}, io.EOF
		}
		r.err = ErrTruncated
	} else if errors.Is(err, ErrFrameTooLarge) {
		r.err = fmt.Errorf("%w (%d bytes)", ErrFrameTooLarge, r.max)
	} else {
		r.err = fmt.Errorf("sse: read: %w", err)
	}
	return f, r.err
}

// bom is the UTF-8 byte order mark, which may start a stream.
var bom = []byte("\xef\xbb\xbf")

// buffered is Next's fast path: when a whole frame with plain "\n" line
// ends is already in the read buffer, its lines are parsed where they are
// and copied once, into Raw, with no per-line reads. Anything else (a
// frame still arriving, "\r" line ends, an oversized frame, the stream's
// first frame with its optional BOM) takes the line-by-line path.
func (r *Reader) buffered() (Frame, bool) {
	n := r.br.Buffered()
	if n == 0 || r.lineByLine {
		return Frame{}, false
	}
	b, _ := r.br.Peek(n)
	if !r.started {
		// The stream's first line may start with a byte order mark,
		// which the line-by-line path strips.
		if len(b) < len(bom) && bytes.HasPrefix(bom, b) || bytes.HasPrefix(b, bom) {
			return Frame{}, false
		}
		r.started = true
	}
	lead := 0
	for lead < len(b) && b[lead] == '\n' {
		lead++
	}
	i := bytes.Index(b[lead:], []byte("\n\n"))
	if i < 0 {
		return Frame{}, false
	}
	end := lead + i + 2
	if end > r.max || bytes.IndexByte(b[:end], '\r') >= 0 {
		return Frame{}, false
	}
	own := r.scratch
	r.scratch = b[:end] // read only: field and view only look at it
	var st frameState
	for pos := lead; pos < end-1; {
		nl := pos + bytes.IndexByte(b[pos:end], '\n')
		r.field(&st, pos, nl)
		pos = nl + 1
	}
	// The read buffer is never written again (see readBuf): Raw is a
	// view of it, its capacity capped as own's blocks are.
	f := r.view(b[:end:end], &st)
	r.br.keep()
	r.scratch = own
	r.br.Discard(end) // end <= Buffered
	return f, true
}

// readLine appends one line, with its terminator, to buf: "\n", "\r\n" or
// a lone "\r", as the SSE format allows all three. A "\r" that ends what
// has arrived waits for the byte after it, so a line's end is the same
// wherever the reads split the stream. At EOF it returns what was read
// and io.EOF.
func (r *Reader) readLine(buf []byte) ([]byte, error) {
	for {
		if _, err := r.br.Peek(1); err != nil {
			return buf, err
		}
		b, _ := r.br.Peek(r.br.Buffered())
		take, done := len(b), false
		if lf := bytes.IndexByte(b, '\n'); lf >= 0 {
			take, done = lf+1, true
		}
		if cr := bytes.IndexByte(b[:take], '\r'); cr >= 0 && cr+1 < len(b) {
			take, done = cr+1, true // a lone "\r", or "\r\n"
			if b[cr+1] == '\n' {
				take++
			}
		} else if cr == len(b)-1 {
			// "\r" is the last byte here: the line is the bytes before it
			// and its end, "\r\n" or "\r", is told by the next byte.
			var err error
			if buf, err = r.appendLine(buf, cr); err != nil {
				return buf, err
			}
			p, _ := r.br.Peek(2)
			take, done = 1, true
			if len(p) == 2 && p[1] == '\n' {
				take = 2
			}
		}
		var err error
		if buf, err = r.appendLine(buf, take); err != nil || done {
			return buf, err
		}
	}
}

// appendLine moves the next n buffered bytes to buf, up to the frame limit.
func (r *Reader) appendLine(buf []byte, n int) ([]byte, error) {
	if len(buf)+n > r.max {
		return buf, ErrFrameTooLarge
	}
	b, _ := r.br.Peek(n)
	buf = append(buf, b...)
	r.br.Discard(n) // n <= Buffered
	return buf, nil
}

// field applies the non-blank line scratch[start:end] to st.
func (r *Reader) field(st *frameState, start, end int) {
	line := r.scratch[start:end]
	if len(line) == 0 || line[0] == ':' {
		return // comment
	}
	name, vs := line, end
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, vs = line[:i], start+i+1
		if vs < end && r.scratch[vs] == ' ' {
			vs++
		}
	}
	value := span{vs, end}
	switch string(name) {
	case "event":
		st.event, st.hasEvent = value, true
	case "data":
		if st.dataLines == 1 {
			r.joined = append(r.joined, r.scratch[st.data.start:st.data.end]...)
		}
		if st.dataLines >= 1 {
			r.joined = append(r.joined, '\n')
			r.joined = append(r.joined, r.scratch[value.start:value.end]...)
		}
		st.data = value
		st.dataLines++
	case "id":
		if bytes.IndexByte(r.scratch[value.start:value.end], 0) < 0 {
			st.id, st.hasID = value, true
		}
	}
}

// frame copies the scratch buffer into the frame's own Raw and points the
// fields into it.
func (r *Reader) frame(st *frameState) Frame {
	raw := r.own(len(r.scratch))
	copy(raw, r.scratch)
	return r.view(raw, st)
}

// view is the frame whose bytes are raw, which nobody writes to again, with
// its fields where st found them.
func (r *Reader) view(raw []byte, st *frameState) Frame {
	f := Frame{Raw: raw, HasData: st.dataLines > 0}
	view := func(s span) string {
		if s.end <= s.start {
			return ""
		}
		return unsafe.String(&raw[s.start], s.end-s.start)
	}
	if st.hasEvent {
		f.Event = view(st.event)
	}
	if st.hasID {
		f.ID = view(st.id)
	}
	switch {
	case st.dataLines == 1:
		f.Data = view(st.data)
	case st.dataLines > 1:
		f.Data = string(r.joined)
	}
	return f
}

// own returns n bytes no other frame uses, for a frame's Raw. They are
// cut from the current block with their capacity capped at n, so an
// append to one frame's Raw cannot reach the next frame's bytes, and the
// Reader never writes to them again: a frame stays valid for as long as
// its caller keeps it.
func (r *Reader) own(n int) []byte {
	if n > len(r.block) {
		if n > blockSize/4 {
			return make([]byte, n)
		}
		r.block = make([]byte, blockSize)
	}
	b := r.block[:n:n]
	r.block = r.block[n:]
	return b
}

// trimEOL cuts a line's terminator: "\n", "\r\n" or "\r".
func trimEOL(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r"))
}
