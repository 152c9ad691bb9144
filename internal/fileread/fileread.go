// Package fileread reads the files a config names (the config itself, a
// router file) safely: only a regular file, and only up to a limit.
package fileread

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Regular reads the file at path, which must be a regular file (a symlink
// to one is fine) of at most limit bytes. Anything else is an error naming
// path before a byte is read: a FIFO would block the reader (and a config
// reload with it) until someone writes to it, a device such as /dev/zero
// would be read until memory runs out. A file that grows past limit while
// it is read is refused having read limit+1 bytes.
func Regular(path string, limit int64) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			pe.Op = "open" // as reading it says: "open PATH: no such file or directory"
		}
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path) // replaced between the two looks
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return data, nil
}
