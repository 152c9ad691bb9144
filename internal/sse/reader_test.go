package sse

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// readAll returns every frame of in and the error that ended the stream.
func readAll(t *testing.T, r *Reader) ([]Frame, error) {
	t.Helper()
	var frames []Frame
	for i := 0; i < 10000; i++ {
		f, err := r.Next()
		if err != nil {
			if len(f.Raw) > 0 {
				frames = append(frames, f)
			}
			return frames, err
		}
		frames = append(frames, f)
	}
	t.Fatal("reader did not end")
	return nil, nil
}

func TestReaderFrames(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []Frame
		wantErr error
	}{
		{
			name: "single data line",
			in:   "data: hello\n\n",
			want: []Frame{{Data: "hello", HasData: true, Raw: []byte("data: hello\n\n")}},
		},
		{
			name: "event id and multi-line data",
			in:   "event: message_start\nid: 7\ndata: a\ndata: b\n\n",
			want: []Frame{{Event: "message_start", ID: "7", Data: "a\nb", HasData: true,
				Raw: []byte("event: message_start\nid: 7\ndata: a\ndata: b\n\n")}},
		},
		{
			name: "crlf line endings",
			in:   "event: ping\r\ndata: {}\r\n\r\ndata: x\r\n\r\n",
			want: []Frame{
				{Event: "ping", Data: "{}", HasData: true, Raw: []byte("event: ping\r\ndata: {}\r\n\r\n")},
				{Data: "x", HasData: true, Raw: []byte("data: x\r\n\r\n")},
			},
		},
		{
			// The format allows a lone "\r" as a line end too (found by
			// audit E: such streams were refused as cut).
			name: "cr line endings",
			in:   "event: ping\rdata: {}\r\rdata: x\r\r",
			want: []Frame{
				{Event: "ping", Data: "{}", HasData: true, Raw: []byte("event: ping\rdata: {}\r\r")},
				{Data: "x", HasData: true, Raw: []byte("data: x\r\r")},
			},
		},
		{
			name: "mixed line endings",
			in:   "data: a\r\ndata: b\rdata: c\n\r\ndata: d\n\r",
			want: []Frame{
				{Data: "a\nb\nc", HasData: true, Raw: []byte("data: a\r\ndata: b\rdata: c\n\r\n")},
				{Data: "d", HasData: true, Raw: []byte("data: d\n\r")},
			},
		},
		{
			name:    "a lone cr at the end ends the line",
			in:      "data: a\r",
			want:    []Frame{{Data: "a", HasData: true, Raw: []byte("data: a\r")}},
			wantErr: ErrTruncated,
		},
		{
			name: "comment frame and comment inside a frame",
			in:   ": ping\n\n: note\ndata: x\n\n",
			want: []Frame{
				{Raw: []byte(": ping\n\n")},
				{Data: "x", HasData: true, Raw: []byte(": note\ndata: x\n\n")},
			},
		},
		{
			name: "no space after colon and field without colon",
			in:   "data:x\ndata\n\n",
			want: []Frame{{Data: "x\n", HasData: true, Raw: []byte("data:x\ndata\n\n")}},
		},
		{
			name: "leading blank lines belong to the next frame",
			in:   "\n\ndata: a\n\n\ndata: b\n\n",
			want: []Frame{
				{Data: "a", HasData: true, Raw: []byte("\n\ndata: a\n\n")},
				{Data: "b", HasData: true, Raw: []byte("\ndata: b\n\n")},
			},
		},
		{
			name: "byte order mark is ignored",
			in:   "\xef\xbb\xbfdata: a\n\n",
			want: []Frame{{Data: "a", HasData: true, Raw: []byte("\xef\xbb\xbfdata: a\n\n")}},
		},
		{
			name:    "eof before the blank line",
			in:      "data: a\n\ndata: b\n",
			want:    []Frame{{Data: "a", HasData: true, Raw: []byte("data: a\n\n")}, {Data: "b", HasData: true, Raw: []byte("data: b\n")}},
			wantErr: ErrTruncated,
		},
		{
			name:    "eof mid-line",
			in:      "data: {\"a\":",
			want:    []Frame{{Data: "{\"a\":", HasData: true, Raw: []byte("data: {\"a\":")}},
			wantErr: ErrTruncated,
		},
		{
			name:    "trailing blank lines end cleanly",
			in:      "data: a\n\n\n\n",
			want:    []Frame{{Data: "a", HasData: true, Raw: []byte("data: a\n\n")}},
			wantErr: io.EOF,
		},
		{
			name:    "empty stream",
			in:      "",
			wantErr: io.EOF,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One byte at a time exercises every buffer boundary.
			r := NewReader(iotest.OneByteReader(strings.NewReader(tt.in)))
			got, err := readAll(t, r)
			wantErr := tt.wantErr
			if wantErr == nil {
				wantErr = io.EOF
			}
			if !errors.Is(err, wantErr) {
				t.Fatalf("got error %v, want %v", err, wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("frames mismatch (-want +got):\n%s", diff)
			}
			if _, err2 := r.Next(); !errors.Is(err2, wantErr) {
				t.Errorf("got error %v after the end, want %v again", err2, wantErr)
			}
		})
	}
}

func TestReaderLongLines(t *testing.T) {
	long := strings.Repeat("x", 100_000)
	r := NewReader(strings.NewReader("data: " + long + "\n\n"))
	f, err := r.Next()
	if err != nil {
		t.Fatalf("got error %v, want nil", err)
	}
	if f.Data != long {
		t.Errorf("got data of %d bytes, want %d", len(f.Data), len(long))
	}

	r = NewReaderLimit(strings.NewReader("data: "+long+"\n\n"), 1000)
	if _, err := r.Next(); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("got error %v, want ErrFrameTooLarge", err)
	}
}

func TestReaderReadError(t *testing.T) {
	boom := errors.New("connection reset")
	in := io.MultiReader(strings.NewReader("data: a\n\ndata: b"), iotest.ErrReader(boom))
	r := NewReader(in)
	if f, err := r.Next(); err != nil || f.Data != "a" {
		t.Fatalf("got %q, %v, want \"a\", nil", f.Data, err)
	}
	f, err := r.Next()
	if !errors.Is(err, boom) {
		t.Fatalf("got error %v, want %v", err, boom)
	}
	if string(f.Raw) != "data: b" {
		t.Errorf("got partial raw %q, want %q", f.Raw, "data: b")
	}
}

func TestReaderRawIsNotReused(t *testing.T) {
	r := NewReader(strings.NewReader("data: a\n\ndata: b\n\n"))
	f1, _ := r.Next()
	f2, _ := r.Next()
	if string(f1.Raw) != "data: a\n\n" || string(f2.Raw) != "data: b\n\n" {
		t.Errorf("got %q and %q, want the two frames intact", f1.Raw, f2.Raw)
	}
}

// Frames share a block: appending to one frame's Raw must not write over
// the next frame's bytes, and many frames and a large one come out whole.
func TestReaderRawBlocks(t *testing.T) {
	var in strings.Builder
	for i := range 100 {
		in.WriteString("data: " + strings.Repeat("x", i) + "\n\n")
	}
	in.WriteString("data: " + strings.Repeat("y", 3000) + "\n\n")
	frames, err := readAll(t, NewReader(strings.NewReader(in.String())))
	if err != io.EOF || len(frames) != 101 {
		t.Fatalf("got %d frames, %v; want 101, EOF", len(frames), err)
	}
	first, second := frames[0], frames[1]
	_ = append(first.Raw, "XXXX"...)
	if string(second.Raw) != "data: x\n\n" || second.Data != "x" {
		t.Errorf("second frame %q (data %q) after an append to the first", second.Raw, second.Data)
	}
	for i, f := range frames[:100] {
		if f.Data != strings.Repeat("x", i) {
			t.Fatalf("frame %d: data %q", i, f.Data)
		}
	}
	if frames[100].Data != strings.Repeat("y", 3000) {
		t.Errorf("large frame: data of %d bytes", len(frames[100].Data))
	}
}

// A frame larger than a read buffer goes line by line, into a buffer
// that is reused (no frame refers to it), while the frames handed out as
// views of earlier buffers stay as they were.
func TestReaderLargeFrames(t *testing.T) {
	var in strings.Builder
	var want []string
	for i := range 300 {
		d := strings.Repeat(string(rune('a'+i%26)), i%40)
		if i%100 == 50 {
			d = strings.Repeat("L", 64<<10)
		}
		want = append(want, d)
		in.WriteString("data: " + d + "\n\n")
	}
	frames, err := readAll(t, NewReader(strings.NewReader(in.String())))
	if err != io.EOF || len(frames) != len(want) {
		t.Fatalf("got %d frames, %v; want %d, EOF", len(frames), err, len(want))
	}
	for i, f := range frames {
		if f.Data != want[i] || string(f.Raw) != "data: "+want[i]+"\n\n" {
			t.Fatalf("frame %d: data of %d bytes %.20q, want %d bytes %.20q", i, len(f.Data), f.Data, len(want[i]), want[i])
		}
	}
	big := "data: " + strings.Repeat("L", 1<<20) + "\n\n"
	allocs := testing.AllocsPerRun(5, func() {
		if f, err := NewReader(strings.NewReader(big)).Next(); err != nil || len(f.Data) != 1<<20 {
			t.Fatalf("got %d bytes, %v", len(f.Data), err)
		}
	})
	// The scratch buffer's growth, the frame's copy and the Reader: not a
	// read buffer for each 4 kB of the frame (256).
	if allocs > 60 {
		t.Errorf("a 1 MB frame: %v allocations, want at most 60", allocs)
	}
}

func FuzzReader(f *testing.F) {
	seeds := []string{
		"data: hello\n\n",
		"event: message_start\nid: 1\ndata: {\"a\":1}\n\n",
		"event: ping\r\ndata: {}\r\n\r\n",
		": ping\n\ndata: [DONE]\n\n",
		"data: a\ndata: b\n\n\n\ndata",
		"\xef\xbb\xbfdata:x\r",
		"data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n",
		"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}\n\n",
		"\n\n\n",
		"id: \x00\n\n",
		"event: ping\rdata: {}\r\rdata: x\r\r",
		"data: a\r\ndata: b\rdata: c\n\r\ndata: d\n\r",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReaderLimit(bytes.NewReader(in), 1<<16)
		var all []byte
		for {
			fr, err := r.Next()
			all = append(all, fr.Raw...)
			if err == nil {
				// Every complete frame ends with its blank line.
				if body := cutEOL(fr.Raw); len(body) == len(fr.Raw) || len(cutEOL(body)) == len(body) {
					t.Fatalf("frame %q does not end with a blank line", fr.Raw)
				}
				// Re-reading a frame's raw bytes gives the same frame.
				if bytes.HasPrefix(fr.Raw, []byte("\xef\xbb\xbf")) {
					continue // a new reader would strip the mark
				}
				again, err := lineByLine(bytes.NewReader(fr.Raw)).Next()
				if err != nil || again.Data != fr.Data || again.Event != fr.Event || again.ID != fr.ID {
					t.Fatalf("re-read of %q: got %+v, %v, want %+v", fr.Raw, again, err, fr)
				}
				continue
			}
			if errors.Is(err, ErrFrameTooLarge) {
				return
			}
			break
		}
		// Frames' raw bytes reproduce the input, up to trailing blank lines.
		if !bytes.HasPrefix(in, all) || len(bytes.Trim(in[len(all):], "\r\n\ufeff")) != 0 {
			t.Fatalf("raw bytes %q do not reproduce input %q", all, in)
		}
		// Whole frames already buffered (the in-place path) decode exactly
		// as frames that arrive a byte at a time or one per read (read
		// ahead until whole, then parsed in place), and as frames read
		// line by line.
		fast := NewReaderLimit(bytes.NewReader(in), 1<<16)
		slow := lineByLine(iotest.OneByteReader(bytes.NewReader(in)))
		slow.max = 1 << 16
		others := []struct {
			name string
			r    *Reader
		}{
			{"byte by byte", NewReaderLimit(iotest.OneByteReader(bytes.NewReader(in)), 1<<16)},
			{"a frame a read", NewReaderLimit(&byFrame{rest: in}, 1<<16)},
			{"line by line", slow},
		}
		for {
			ff, ferr := fast.Next()
			for _, o := range others {
				sf, serr := o.r.Next()
				if !bytes.Equal(ff.Raw, sf.Raw) || ff.Data != sf.Data || ff.Event != sf.Event || ff.ID != sf.ID ||
					ff.HasData != sf.HasData || (ferr == nil) != (serr == nil) {
					t.Fatalf("buffered %+v, %v; %s %+v, %v", ff, ferr, o.name, sf, serr)
				}
			}
			if ferr != nil {
				break
			}
		}
	})
}

// byFrame returns its input up to the next blank line ("\n\n") per Read,
// as a streaming upstream sends a token's frame.
type byFrame struct{ rest []byte }

func (f *byFrame) Read(p []byte) (int, error) {
	if len(f.rest) == 0 {
		return 0, io.EOF
	}
	n := len(f.rest)
	if i := bytes.Index(f.rest, []byte("\n\n")); i >= 0 {
		n = i + 2
	}
	n = copy(p, f.rest[:n])
	f.rest = f.rest[n:]
	return n, nil
}

// NewByFrame is a byFrame over b, for the package's external tests (the
// benchmarks).
func NewByFrame(b []byte) io.Reader { return &byFrame{rest: b} }

// lineByLine is a Reader over r that reads every frame line by line.
func lineByLine(r io.Reader) *Reader {
	rd := NewReader(r)
	rd.lineByLine = true
	return rd
}

func TestFrameBuffered(t *testing.T) {
	pr, pw := io.Pipe()
	r := NewReader(pr)
	go func() {
		pw.Write([]byte("data: one\n\ndata: tw"))
	}()
	f, err := r.Next()
	if err != nil || f.Data != "one" {
		t.Fatalf("got %q, %v, want one", f.Data, err)
	}
	if r.FrameBuffered() {
		t.Fatal("FrameBuffered: got true with only half a frame in memory, want false")
	}
	go func() {
		pw.Write([]byte("o\r\n\r\ndata: three\n\n"))
		pw.Close()
	}()
	if f, err = r.Next(); err != nil || f.Data != "two" {
		t.Fatalf("got %q, %v, want two", f.Data, err)
	}
	if !r.FrameBuffered() || !r.FrameBuffered() {
		t.Fatal("FrameBuffered: got false with a whole frame in memory, want true (asked twice)")
	}
	// Its answer is kept until Next: then it is asked anew.
	if f, err = r.Next(); err != nil || f.Data != "three" {
		t.Fatalf("got %q, %v, want three", f.Data, err)
	}
	if r.FrameBuffered() {
		t.Fatal("FrameBuffered: got true with nothing left in memory, want false")
	}
}

// cutEOL cuts one line end ("\r\n", "\n" or "\r") off the end of b.
func cutEOL(b []byte) []byte {
	if c, ok := bytes.CutSuffix(b, []byte("\r\n")); ok {
		return c
	}
	if n := len(b); n > 0 && (b[n-1] == '\n' || b[n-1] == '\r') {
		return b[:n-1]
	}
	return b
}
