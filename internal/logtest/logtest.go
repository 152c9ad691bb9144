// Package logtest provides a log sink for tests that check what was logged:
// the server, rate limiter, config watcher and end-to-end app tests point a
// slog handler at a Buffer and search its text once the code under test has
// run.
package logtest

import (
	"bytes"
	"sync"
)

// Buffer is an io.Writer that keeps everything written to it. Unlike a bare
// bytes.Buffer it is safe for concurrent use, so handlers logging from
// request goroutines and the test reading the logs do not race. The zero
// Buffer is empty and ready to use; a Buffer must not be copied after first
// use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p to the buffer. It never fails.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Reset empties the buffer, so a test can look only at what is logged next.
func (b *Buffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b.Reset()
}
