package openaiapi

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// wav is a WAV file of frames frames of align bytes at rate, with
// dataSize written as its data chunk's size (0: the real one).
func wav(rate, align, frames int, dataSize uint32) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	data := frames * align
	if dataSize == 0 {
		dataSize = uint32(data)
	}
	b.WriteString("RIFF")
	binary.Write(&b, le, uint32(36+data))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, le, struct {
		Size                 uint32
		Format, Channels     uint16
		Rate, ByteRate       uint32
		Align, BitsPerSample uint16
	}{16, 1, uint16(align / 2), uint32(rate), uint32(rate * align), uint16(align), 16})
	b.WriteString("LIST")
	binary.Write(&b, le, uint32(5)) // odd: padded
	b.WriteString("INFOx\x00")
	b.WriteString("data")
	binary.Write(&b, le, dataSize)
	b.Write(make([]byte, data))
	return b.Bytes()
}

// TestAudioSeconds: an upload's most seconds are a WAV file's duration
// (rounded up), else its size at 16 kbit/s, counting at most 25 MB.
func TestAudioSeconds(t *testing.T) {
	for _, tt := range []struct {
		name string
		data []byte
		want int
	}{
		{"wav 2 s", wav(24000, 2, 48000, 0), 2},
		{"wav 1.2 s", wav(24000, 2, 28800, 0), 2},
		{"wav stereo 3 s", wav(16000, 4, 48000, 0), 3},
		{"streamed wav", wav(8000, 2, 40000, 0xFFFFFFFF), 5},
		{"short wav", wav(8000, 2, 10, 0), 1},
		{"mp3 of 1 MB", bytes.Repeat([]byte{0xFF}, 1_000_000), 500},
		{"tiny", []byte("x"), 1},
		{"wav with no fmt", []byte("RIFF\x00\x00\x00\x00WAVEdata\x04\x00\x00\x00abcd"), 1},
		{"over 25 MB", make([]byte, 30<<20), (25<<20 + 1999) / 2000},
	} {
		if got := AudioSeconds(tt.data); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
}
