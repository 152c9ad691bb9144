package usage

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// spool is an append-only file of usage records as JSON lines. Records land
// here when the queue is full or the store fails; the ledger replays them
// later. Replay first renames the file to path+".replay", so new records go
// to a fresh file while the old one is written to the store.
type spool struct {
	path string

	mu    sync.Mutex
	f     *os.File // open for append; nil until the first write
	dirty bool     // written since the last fsync
}

func (s *spool) replayPath() string { return s.path + ".replay" }

// append writes recs; with sync it also fsyncs before returning.
func (s *spool) append(recs []store.UsageRecord, sync bool) error {
	var buf []byte
	for i := range recs {
		b, err := json.Marshal(&recs[i])
		if err != nil {
			return fmt.Errorf("usage: spool encode: %w", err)
		}
		buf = append(append(buf, b...), '\n')
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return fmt.Errorf("usage: spool open: %w", err)
		}
		s.f = f
	}
	if _, err := s.f.Write(buf); err != nil {
		return fmt.Errorf("usage: spool write: %w", err)
	}
	s.dirty = true
	if sync {
		return s.syncLocked()
	}
	return nil
}

// sync fsyncs records appended since the last sync.
func (s *spool) sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.syncLocked()
}

func (s *spool) syncLocked() error {
	if s.f == nil || !s.dirty {
		return nil
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("usage: spool sync: %w", err)
	}
	s.dirty = false
	return nil
}

// close syncs and closes the file; a later append reopens it.
func (s *spool) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeLocked()
}

func (s *spool) closeLocked() error {
	if s.f == nil {
		return nil
	}
	err := s.syncLocked()
	err = errors.Join(err, s.f.Close())
	s.f = nil
	if err != nil {
		return fmt.Errorf("usage: spool close: %w", err)
	}
	return nil
}

// hasData reports whether a spool or replay file holds records.
func (s *spool) hasData() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range []string{s.replayPath(), s.path} {
		if fi, err := os.Stat(p); err == nil && fi.Size() > 0 {
			return true
		}
	}
	return false
}

// take returns the file to replay next: a replay file left by an earlier
// failed or interrupted replay, else the spool itself, renamed. ok is false
// when there is nothing to replay.
func (s *spool) take() (path string, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.replayPath()
	if fi, err := os.Stat(rp); err == nil && fi.Size() > 0 {
		return rp, true, nil
	}
	fi, err := os.Stat(s.path)
	if errors.Is(err, os.ErrNotExist) || (err == nil && fi.Size() == 0) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("usage: spool stat: %w", err)
	}
	if err := s.closeLocked(); err != nil {
		return "", false, err
	}
	if err := os.Rename(s.path, rp); err != nil {
		return "", false, fmt.Errorf("usage: spool rename: %w", err)
	}
	return rp, true, syncDir(s.path)
}

// replayFile reads path in chunks of batch records and passes each chunk to
// write. When every chunk is written the file is removed. When a write
// fails (or stop reports true between chunks) the chunks already written
// are cut from the file, so a later replay resends only the rest; a crash
// before the cut resends a chunk, which the idempotent store ignores.
// Lines that do not decode (a torn last line after a crash) are skipped and
// counted in bad.
func replayFile(path string, batch int, stop func() bool, write func([]store.UsageRecord) error) (written, bad int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("usage: replay open: %w", err)
	}
	br := bufio.NewReaderSize(f, 256<<10)
	var (
		off, chunkStart int64
		chunk           = make([]store.UsageRecord, 0, batch)
	)
	for {
		line, rerr := br.ReadBytes('\n')
		off += int64(len(line))
		if len(line) > 0 {
			var r store.UsageRecord
			if jerr := json.Unmarshal(line, &r); jerr != nil || r.RequestID == "" {
				bad++
			} else {
				chunk = append(chunk, r)
			}
		}
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			f.Close()
			return written, bad, fmt.Errorf("usage: replay read: %w", rerr)
		}
		eof := rerr != nil
		if len(chunk) >= batch || (eof && len(chunk) > 0) {
			if stop() {
				f.Close()
				return written, bad, errors.Join(errStopped, cutFile(path, chunkStart))
			}
			if werr := write(chunk); werr != nil {
				f.Close()
				return written, bad, errors.Join(werr, cutFile(path, chunkStart))
			}
			written += len(chunk)
			chunk = chunk[:0]
			chunkStart = off
		}
		if eof {
			break
		}
	}
	f.Close()
	if err := os.Remove(path); err != nil {
		return written, bad, fmt.Errorf("usage: replay remove: %w", err)
	}
	return written, bad, syncDir(path)
}

var errStopped = errors.New("usage: replay stopped")

// cutFile drops the first n bytes of path, atomically (copy, fsync, rename).
func cutFile(path string, n int64) error {
	if n == 0 {
		return nil
	}
	src, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("usage: replay cut: %w", err)
	}
	defer src.Close()
	if _, err := src.Seek(n, io.SeekStart); err != nil {
		return fmt.Errorf("usage: replay cut: %w", err)
	}
	tmp := path + ".tmp"
	dst, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("usage: replay cut: %w", err)
	}
	_, err = io.Copy(dst, src)
	err = errors.Join(err, dst.Sync(), dst.Close())
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("usage: replay cut: %w", err)
	}
	return syncDir(path)
}

// syncDir fsyncs the directory holding path, making a rename or removal durable.
func syncDir(path string) error {
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("usage: sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("usage: sync dir: %w", err)
	}
	return nil
}
