package sse

import "io"

// readBuf is the Reader's read buffer: bufio.Reader's Peek and Discard,
// except that bytes a frame refers to are never written again. When the
// buffer has no room left, what is unread moves to the front, as in bufio,
// unless a frame refers to the buffer (see keep): then it moves to a new
// one, and the old one stays as it is for as long as the frame is kept. So
// a frame that arrived whole is handed out as a view of the buffer it was
// read into, not copied, and a frame read line by line (copied) costs no
// new buffer. A read error is kept: every later read past the buffered
// bytes returns it.
type readBuf struct {
	rd   io.Reader
	buf  []byte
	r, w int  // unread: buf[r:w]
	kept bool // a frame refers to buf: its bytes are not written again
	err  error
}

// keep notes that a frame refers to the buffer's bytes.
func (b *readBuf) keep() { b.kept = true }

// readSize is the size of a read buffer.
const readSize = 4096

// Buffered returns the number of bytes read and not yet discarded.
func (b *readBuf) Buffered() int { return b.w - b.r }

// Peek returns the next n bytes without discarding them, reading as
// needed. With fewer than n bytes it returns what there is and the read
// error that ended them.
func (b *readBuf) Peek(n int) ([]byte, error) {
	for b.w-b.r < n && b.err == nil {
		b.fill(n)
	}
	if b.w-b.r < n {
		return b.buf[b.r:b.w], b.err
	}
	return b.buf[b.r : b.r+n], nil
}

// Discard drops the next n bytes, which must be buffered.
func (b *readBuf) Discard(n int) { b.r += n }

// minRead is the least room a read is made into: with less left, the
// unread bytes move to a new buffer first, so that a frame is not read in
// slivers.
const minRead = 512

// fill reads once, into a new buffer when this one has no room for need
// unread bytes or for minRead more (io.ErrNoProgress after many empty
// reads, as bufio).
func (b *readBuf) fill(need int) {
	if len(b.buf)-b.w < minRead || len(b.buf)-b.r < need {
		nb := b.buf
		if b.kept || len(nb) < max(readSize, need) {
			nb, b.kept = make([]byte, max(readSize, need)), false
		}
		b.w = copy(nb, b.buf[b.r:b.w])
		b.buf, b.r = nb, 0
	}
	for range 100 {
		n, err := b.rd.Read(b.buf[b.w:])
		if n < 0 || n > len(b.buf)-b.w {
			panic("sse: reader returned an invalid count")
		}
		b.w += n
		if err != nil {
			b.err = err
			return
		}
		if n > 0 {
			return
		}
	}
	b.err = io.ErrNoProgress
}
