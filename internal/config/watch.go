package config

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Store holds the running config. Readers on the request path call Load
// once per request and use that value throughout, so a reload never mixes
// two configs within one request. Safe for concurrent use.
type Store struct {
	cur atomic.Pointer[Config]
}

// NewStore returns a Store holding c.
func NewStore(c *Config) *Store {
	s := &Store{}
	s.cur.Store(c)
	return s
}

// Load returns the current config. It must not be modified.
func (s *Store) Load() *Config { return s.cur.Load() }

// Swap installs c and returns the config it replaces.
func (s *Store) Swap(c *Config) *Config { return s.cur.Swap(c) }

// DefaultDebounce is how long a Watcher waits after the last file event
// before reloading, so an editor's truncate-write-rename burst loads once.
const DefaultDebounce = 100 * time.Millisecond

// Watcher reloads a config file when it changes (Run) or when asked
// (Reload, which main calls on SIGHUP). A new file is loaded and validated
// as a whole: if it is invalid the error is logged and returned and the
// running config stays; if it is valid, onChange receives it, and may
// still refuse it by returning an error (logged and returned the same
// way: the caller keeps its running config). onChange calls are
// serialized and must not call Reload.
type Watcher struct {
	// Debounce is the quiet period after the last file event before Run
	// reloads; 0 reloads on every event. Set it before Run.
	Debounce time.Duration
	// OnError, if set, is called with every rejected reload (after it is
	// logged), e.g. to count it in a metric. Set it before Run.
	OnError func(error)

	path     string
	log      *slog.Logger
	onChange func(*Config) error
	getenv   func(string) string

	mu     sync.Mutex // serializes loads and guards seen and loaded
	seen   *[sha256.Size]byte
	loaded bool // a config was taken: later ones are reloads
}

// NewWatcher returns a Watcher for the file at path. ${ENV} references are
// resolved from the process environment on every load. A nil log discards.
func NewWatcher(path string, log *slog.Logger, onChange func(*Config) error) *Watcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Watcher{
		Debounce: DefaultDebounce,
		path:     path,
		log:      log,
		onChange: onChange,
		getenv:   os.Getenv,
	}
}

// Reload loads the file now, whether or not it changed. Loading the first
// config with Reload (rather than Load) lets Run notice a change made
// before its watch started.
func (w *Watcher) Reload() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	data, err := readFile(w.path)
	if err != nil {
		if !w.loaded {
			return w.refuse("failed", fmt.Errorf("config: read: %w", err))
		}
		return w.refuse("failed", fmt.Errorf("config: reload: %w", err))
	}
	return w.apply(data)
}

// apply parses data and hands a valid result to onChange. Callers hold mu.
func (w *Watcher) apply(data []byte) error {
	sum := sha256.Sum256(data)
	w.seen = &sum
	c, err := parse(data, w.getenv)
	if err != nil {
		return w.refuse("failed", w.wrap(err))
	}
	if err := w.change(c); err != nil {
		return w.refuse("rejected", w.wrap(err))
	}
	msg := "config reloaded"
	if !w.loaded {
		msg = "config loaded"
	}
	w.loaded = true
	w.log.Info(msg, "path", w.path,
		"providers", len(c.Providers), "deployments", len(c.Deployments), "routes", len(c.Routes))
	return nil
}

// change calls onChange, turning a panic in it into an error: a config
// that passed validation but that the gateway could not build (a bug) is
// refused like any other, and the running one stays, rather than the
// process dying at a reload.
func (w *Watcher) change(c *Config) (err error) {
	defer func() {
		if p := recover(); p != nil {
			w.log.Error("config apply panicked", "path", w.path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = fmt.Errorf("applying it failed: %v", p)
		}
	}()
	return w.onChange(c)
}

// wrap names the file in err: as Load does for the first load, which
// has no running config, and as a reload after it.
func (w *Watcher) wrap(err error) error {
	if !w.loaded {
		return fmt.Errorf("config: %s: %w", w.path, err)
	}
	return fmt.Errorf("config: reload %s: %w", w.path, err)
}

// refuse logs a file that was not taken (how: "failed" when it did not
// load, "rejected" when onChange refused it), reports it to OnError and
// returns err. Until a config is taken none is running, so the first load
// is not said to keep one.
func (w *Watcher) refuse(how string, err error) error {
	if !w.loaded {
		w.log.Error("config load "+how, "path", w.path, "err", err)
	} else {
		w.log.Error("config reload "+how+"; keeping the running config", "path", w.path, "err", err)
	}
	if w.OnError != nil {
		w.OnError(err)
	}
	return err
}

// reloadIfChanged loads the file if its bytes differ from the last ones
// loaded. With baselineOnly and nothing loaded yet, it only records them.
func (w *Watcher) reloadIfChanged(baselineOnly bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	data, err := readFile(w.path)
	if err != nil {
		// Between an editor's remove and create the file is briefly
		// missing; the create event brings us back.
		level := slog.LevelWarn
		if errors.Is(err, fs.ErrNotExist) {
			level = slog.LevelDebug
		}
		w.log.Log(context.Background(), level, "config file unreadable; keeping the running config", "path", w.path, "err", err)
		return
	}
	sum := sha256.Sum256(data)
	if w.seen != nil && *w.seen == sum {
		return
	}
	if w.seen == nil && baselineOnly {
		w.seen = &sum
		return
	}
	_ = w.apply(data) // apply logs the error
}

// Run watches the file until ctx ends, then returns nil. It watches the
// directory rather than the file, so rename-replace saves and Kubernetes
// ConfigMap symlink swaps are seen.
func (w *Watcher) Run(ctx context.Context) error {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("config: watch: %w", err)
	}
	defer fw.Close()
	if err := fw.Add(filepath.Dir(w.path)); err != nil {
		return fmt.Errorf("config: watch %s: %w", filepath.Dir(w.path), err)
	}
	// Catch a change made after the last load but before the watch began.
	w.reloadIfChanged(true)
	return w.loop(ctx, fw.Events, fw.Errors)
}

// loop turns file events into debounced reloads.
func (w *Watcher) loop(ctx context.Context, events <-chan fsnotify.Event, errs <-chan error) error {
	var (
		timer *time.Timer
		fire  <-chan time.Time
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	kick := func() {
		if w.Debounce <= 0 {
			w.reloadIfChanged(false)
			return
		}
		if timer == nil {
			timer = time.NewTimer(w.Debounce)
		} else {
			timer.Reset(w.Debounce)
		}
		fire = timer.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				return errors.New("config: watch: event channel closed")
			}
			if w.relevant(ev) {
				kick()
			}
		case err, ok := <-errs:
			if !ok {
				return errors.New("config: watch: error channel closed")
			}
			// Events may have been lost (e.g. queue overflow): check anyway.
			w.log.Warn("config watch error", "path", w.path, "err", err)
			kick()
		case <-fire:
			fire = nil
			w.reloadIfChanged(false)
		}
	}
}

// relevant reports whether an event in the watched directory may have
// changed the file: an event on the file itself, or on Kubernetes'
// "..data" symlink. Chmod alone never changes content.
func (w *Watcher) relevant(ev fsnotify.Event) bool {
	if ev.Op == fsnotify.Chmod {
		return false
	}
	base := filepath.Base(ev.Name)
	return base == filepath.Base(w.path) || base == "..data"
}
