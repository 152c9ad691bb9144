//go:build unix

package fileread

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Only a regular file of at most the limit is read: a directory, a device
// or a FIFO is refused without being read (a FIFO without being opened,
// which would block), a larger file without being read whole (found by
// audit AC: router_file /dev/zero took a gateway's memory at a reload, a
// FIFO hung check and every later reload).
func TestRegular(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	if err := os.WriteFile(small, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(small, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path  string
		limit int64
		want  string // "" for the file's bytes
	}{
		{small, 10, ""},
		{link, 10, ""}, // a ConfigMap's symlink
		{small, 9, "larger than 9 bytes"},
		{dir, 100, "not a regular file"},
		{"/dev/zero", 100, "not a regular file"},
		{fifo, 100, "not a regular file"},
		{filepath.Join(dir, "missing"), 100, "open " + filepath.Join(dir, "missing") + ": no such file"},
	} {
		done := make(chan struct{})
		var b []byte
		var err error
		go func() { b, err = Regular(tt.path, tt.limit); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Regular(%s) blocked", tt.path)
		}
		switch {
		case tt.want == "" && (err != nil || string(b) != "0123456789"):
			t.Errorf("Regular(%s, %d): got %q, %v; want the file", tt.path, tt.limit, b, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("Regular(%s, %d): got %v, want %q", tt.path, tt.limit, err, tt.want)
		}
	}
}
