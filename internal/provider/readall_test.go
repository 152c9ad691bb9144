package provider

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll reads what io.ReadAll would, whatever the declared length says.
func TestReadAll(t *testing.T) {
	body := strings.Repeat("abcdefgh", 1000)
	for _, declared := range []int64{-1, 0, 1, 100, int64(len(body)) - 1, int64(len(body)), int64(len(body)) + 1, 1 << 40} {
		got, err := readAll(iotest.HalfReader(strings.NewReader(body)), declared, 1<<20)
		if err != nil || string(got) != body {
			t.Errorf("declared %d: got %d bytes, %v; want the %d-byte body", declared, len(got), err, len(body))
		}
	}
	boom := errors.New("boom")
	got, err := readAll(io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(boom)), 10, 100)
	if !errors.Is(err, boom) || !bytes.Equal(got, []byte("abc")) {
		t.Errorf("got %q, %v; want what came before the error, and it", got, err)
	}
}
