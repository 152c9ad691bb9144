package learned

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A router file must be a regular file of at most MaxFileBytes: a device
// (router_file: /dev/zero read until the gateway ran out of memory at a
// reload) or a directory is refused before it is read, a larger file is
// refused without being read whole (audit AC, C6).
func TestLoadReadsOnlyRegularBoundedFiles(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.json")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxFileBytes + 1); err != nil { // sparse
		t.Fatal(err)
	}
	f.Close()
	cases := map[string]string{big: "larger than", dir: "not a regular file"}
	if _, err := os.Stat("/dev/zero"); err == nil {
		cases["/dev/zero"] = "not a regular file"
	}
	for path, want := range cases {
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%s): got %v, want %q", path, err, want)
		}
	}
}
