package sse_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/sse"
)

// BenchmarkReader decodes a 20-frame token stream (the shape of an OpenAI
// chat stream); ns/op is per stream.
func BenchmarkReader(b *testing.B) {
	stream := benchStream()
	rd := bytes.NewReader(stream)
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		rd.Reset(stream)
		r := sse.NewReader(rd)
		readFrames(b, r)
	}
}

// BenchmarkReaderFrameByFrame is BenchmarkReader with each frame
// arriving in a read of its own, as a model's tokens do.
func BenchmarkReaderFrameByFrame(b *testing.B) {
	stream := benchStream()
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		r := sse.NewReader(sse.NewByFrame(stream))
		readFrames(b, r)
	}
}

// benchStream is a 20-frame token stream and [DONE].
func benchStream() []byte {
	var buf bytes.Buffer
	for i := range 20 {
		fmt.Fprintf(&buf, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"bench\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" w%d\"},\"finish_reason\":null}]}\n\n", i)
	}
	buf.WriteString("data: [DONE]\n\n")
	return buf.Bytes()
}

func readFrames(b *testing.B, r *sse.Reader) {
	b.Helper()
	n := 0
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	if n != 21 {
		b.Fatalf("frames: got %d, want 21", n)
	}
}
