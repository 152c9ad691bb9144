package config

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/goleak"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/logtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func configWithLevel(level string) string {
	return "log: {level: " + level + "}\n" + validTail
}

// replaceFile writes data the way editors do: a new file renamed over the
// old one.
func replaceFile(t *testing.T, path, data string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// waitForLevel reads changes until one has the wanted log level.
func waitForLevel(t *testing.T, changes <-chan *Config, want string) *Config {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case c := <-changes:
			if c.Log.Level == want {
				return c
			}
		case <-deadline:
			t.Fatalf("got no config with log level %q within 10s, want one", want)
			return nil
		}
	}
}

func TestWatcherRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchyard.yaml")
	replaceFile(t, path, configWithLevel("info"))
	logs := &logtest.Buffer{}
	store := NewStore(nil)
	changes := make(chan *Config, 16)
	w := NewWatcher(path, slog.New(slog.NewTextHandler(logs, nil)), func(c *Config) error {
		store.Swap(c)
		changes <- c
		return nil
	})
	w.Debounce = 0
	if err := w.Reload(); err != nil {
		t.Fatalf("got %v, want the first load to succeed", err)
	}
	waitForLevel(t, changes, "info")

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("got Run error %v, want nil after cancel", err)
		}
	}()

	t.Run("rename replace", func(t *testing.T) {
		replaceFile(t, path, configWithLevel("debug"))
		waitForLevel(t, changes, "debug")
	})
	t.Run("write in place", func(t *testing.T) {
		if err := os.WriteFile(path, []byte(configWithLevel("warn")), 0o600); err != nil {
			t.Fatal(err)
		}
		waitForLevel(t, changes, "warn")
	})
	t.Run("invalid file keeps the old config", func(t *testing.T) {
		logs.Reset()
		replaceFile(t, path, configWithLevel("loud"))
		clocktest.WaitFor(t, "reload failure in the log", func() bool {
			return strings.Contains(logs.String(), `log.level: unknown level \"loud\"`)
		})
		if got := len(changes); got != 0 {
			t.Errorf("got %d onChange calls, want none for an invalid file", got)
		}
		if got := store.Load().Log.Level; got != "warn" {
			t.Errorf("got running level %q, want the old %q", got, "warn")
		}
	})
	t.Run("valid again", func(t *testing.T) {
		replaceFile(t, path, configWithLevel("error"))
		waitForLevel(t, changes, "error")
		if got := store.Load().Log.Level; got != "error" {
			t.Errorf("got running level %q, want error", got)
		}
	})
}

func TestWatcherRefusedByOnChange(t *testing.T) {
	// onChange (the app) may refuse a valid file: the watcher logs it as
	// rejected, never as reloaded, counts it, and returns the error.
	path := filepath.Join(t.TempDir(), "switchyard.yaml")
	replaceFile(t, path, configWithLevel("info"))
	logs := &logtest.Buffer{}
	var failed []error
	w := NewWatcher(path, slog.New(slog.NewTextHandler(logs, nil)), func(c *Config) error {
		if c.Log.Level == "debug" {
			return errors.New("debug is refused")
		}
		return nil
	})
	w.OnError = func(err error) { failed = append(failed, err) }
	if err := w.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := logs.String(); !strings.Contains(got, "msg=\"config loaded\"") || strings.Contains(got, "reloaded") {
		t.Errorf("first load logged %q, want \"config loaded\" only", got)
	}
	logs.Reset()
	replaceFile(t, path, configWithLevel("debug"))
	err := w.Reload()
	if err == nil || !strings.Contains(err.Error(), "debug is refused") {
		t.Fatalf("got %v, want the refusal", err)
	}
	got := logs.String()
	if !strings.Contains(got, "config reload rejected; keeping the running config") || strings.Contains(got, "config reloaded") {
		t.Errorf("refused reload logged %q, want only the rejection", got)
	}
	if len(failed) != 1 {
		t.Errorf("got %d OnError calls, want 1", len(failed))
	}
	logs.Reset()
	replaceFile(t, path, configWithLevel("warn"))
	if err := w.Reload(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "msg=\"config reloaded\"") {
		t.Errorf("second good load logged %q, want \"config reloaded\"", logs.String())
	}
}

func TestWatcherReload(t *testing.T) {
	// The SIGHUP path: Reload without Run.
	path := filepath.Join(t.TempDir(), "switchyard.yaml")
	replaceFile(t, path, configWithLevel("info"))
	var calls atomic.Int32
	store := NewStore(nil)
	w := NewWatcher(path, slog.New(slog.DiscardHandler), func(c *Config) error {
		calls.Add(1)
		store.Swap(c)
		return nil
	})
	tests := []struct {
		name      string
		write     func()
		wantErr   string
		wantLevel string
		wantCalls int32
	}{
		{name: "valid", write: func() {}, wantLevel: "info", wantCalls: 1},
		{name: "unchanged reloads anyway", write: func() {}, wantLevel: "info", wantCalls: 2},
		{
			name:    "invalid",
			write:   func() { replaceFile(t, path, configWithLevel("loud")+"bogus: 1\n") },
			wantErr: "config: reload " + path + ": 2 problems:\n  line 4: unknown field \"bogus\"\n  log.level: unknown level \"loud\" (want debug, info, warn or error)",
			// The running config stays.
			wantLevel: "info", wantCalls: 2,
		},
		{
			name:      "missing",
			write:     func() { os.Remove(path) },
			wantErr:   "config: reload: open " + path + ": no such file or directory",
			wantLevel: "info", wantCalls: 2,
		},
		{name: "fixed", write: func() { replaceFile(t, path, configWithLevel("debug")) }, wantLevel: "debug", wantCalls: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.write()
			err := w.Reload()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
				t.Errorf("got %v, want %s", err, tt.wantErr)
			}
			if got := store.Load().Log.Level; got != tt.wantLevel {
				t.Errorf("got level %q, want %q", got, tt.wantLevel)
			}
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("got %d onChange calls, want %d", got, tt.wantCalls)
			}
		})
	}
	var verr *ValidationError
	replaceFile(t, path, configWithLevel("loud"))
	if err := w.Reload(); !errors.As(err, &verr) {
		t.Errorf("got %T, want a *ValidationError inside", err)
	}
}

func TestWatcherDebounce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "switchyard.yaml")
	replaceFile(t, path, configWithLevel("info"))
	// In the synctest bubble time is fake: time.Sleep advances the clock
	// deterministically once every goroutine is blocked.
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		w := NewWatcher(path, slog.New(slog.DiscardHandler), func(*Config) error { calls.Add(1); return nil })
		w.Debounce = 100 * time.Millisecond
		events := make(chan fsnotify.Event)
		errs := make(chan error)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- w.loop(ctx, events, errs) }()

		check := func(step string, want int32) {
			t.Helper()
			synctest.Wait()
			if got := calls.Load(); got != want {
				t.Errorf("%s: got %d reloads, want %d", step, got, want)
			}
		}
		write := fsnotify.Event{Name: path, Op: fsnotify.Write}
		for range 3 {
			events <- write
			time.Sleep(60 * time.Millisecond)
		}
		check("burst still settling", 0)
		time.Sleep(40 * time.Millisecond)
		check("burst settled", 1)

		replaceFile(t, path, configWithLevel("debug"))
		events <- fsnotify.Event{Name: filepath.Join(dir, "other.yaml"), Op: fsnotify.Write}
		events <- fsnotify.Event{Name: path, Op: fsnotify.Chmod}
		time.Sleep(time.Second)
		check("unrelated events ignored", 1)

		events <- fsnotify.Event{Name: filepath.Join(dir, "..data"), Op: fsnotify.Create}
		time.Sleep(100 * time.Millisecond)
		check("kubernetes symlink swap", 2)

		events <- write
		time.Sleep(100 * time.Millisecond)
		check("unchanged content", 2)

		replaceFile(t, path, configWithLevel("warn"))
		errs <- errors.New("event queue overflow")
		time.Sleep(100 * time.Millisecond)
		check("watch error triggers a check", 3)

		cancel()
		if err := <-done; err != nil {
			t.Errorf("got %v, want nil after cancel", err)
		}
	})
}

func TestWatcherRunBadDirectory(t *testing.T) {
	w := NewWatcher(filepath.Join(t.TempDir(), "missing", "switchyard.yaml"), slog.New(slog.DiscardHandler), func(*Config) error { return nil })
	if err := w.Run(t.Context()); err == nil || !strings.HasPrefix(err.Error(), "config: watch ") {
		t.Errorf("got %v, want a config: watch error", err)
	}
}

func TestStore(t *testing.T) {
	a, b := Demo("http://127.0.0.1:1"), Demo("http://127.0.0.1:2")
	s := NewStore(a)
	if s.Load() != a {
		t.Errorf("got %p, want %p", s.Load(), a)
	}
	if old := s.Swap(b); old != a || s.Load() != b {
		t.Errorf("got old %p now %p, want old %p now %p", old, s.Load(), a, b)
	}
}
