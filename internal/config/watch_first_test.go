package config

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/logtest"
)

// TestWatcherFirstLoadWording: the first load (serve's start) has no
// running config to keep, so a file it cannot take is logged and returned
// as a failed load, worded as Load words it; once a config runs, the same
// failures are reloads that keep it.
func TestWatcherFirstLoadWording(t *testing.T) {
	const bad = "lisen: 127.0.0.1:1\n" + validTail
	tests := []struct {
		name    string
		write   func(path string) // the file at start
		refuse  bool              // onChange refuses the first config
		wantMsg string
		wantErr func(path string) string
	}{
		{name: "invalid", write: func(p string) { replaceFile(t, p, bad) }, wantMsg: `msg="config load failed"`,
			wantErr: func(p string) string { return "config: " + p + ": line 1: unknown field \"lisen\"" }},
		{name: "missing", write: func(string) {}, wantMsg: `msg="config load failed"`,
			wantErr: func(p string) string { return "config: read: open " + p + ": no such file or directory" }},
		{name: "refused", write: func(p string) { replaceFile(t, p, configWithLevel("info")) }, refuse: true, wantMsg: `msg="config load rejected"`,
			wantErr: func(p string) string { return "config: " + p + ": refused" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "switchyard.yaml")
			tt.write(path)
			logs := &logtest.Buffer{}
			refuse := tt.refuse
			w := NewWatcher(path, slog.New(slog.NewTextHandler(logs, nil)), func(*Config) error {
				if refuse {
					return errors.New("refused")
				}
				return nil
			})
			var failed int
			w.OnError = func(error) { failed++ }
			err := w.Reload()
			if err == nil || err.Error() != tt.wantErr(path) {
				t.Errorf("got %v, want %s", err, tt.wantErr(path))
			}
			got := logs.String()
			if !strings.Contains(got, tt.wantMsg) || strings.Contains(got, "reload") || strings.Contains(got, "keeping the running config") {
				t.Errorf("first load logged %q, want %s and no reload wording", got, tt.wantMsg)
			}
			if failed != 1 {
				t.Errorf("OnError calls: got %d, want 1", failed)
			}

			// A config now runs: the same failures are reloads keeping it.
			refuse = false
			replaceFile(t, path, configWithLevel("info"))
			if err := w.Reload(); err != nil {
				t.Fatal(err)
			}
			if got := logs.String(); !strings.Contains(got, `msg="config loaded"`) {
				t.Errorf("logged %q, want the first taken config logged as loaded", got)
			}
			logs.Reset()
			replaceFile(t, path, bad)
			err = w.Reload()
			if want := "config: reload " + path + ": line 1: unknown field \"lisen\""; err == nil || err.Error() != want {
				t.Errorf("got %v, want %s", err, want)
			}
			if got := logs.String(); !strings.Contains(got, `msg="config reload failed; keeping the running config"`) {
				t.Errorf("reload logged %q, want the reload wording", got)
			}
			os.Remove(path)
			err = w.Reload()
			if want := "config: reload: open " + path + ": no such file or directory"; err == nil || err.Error() != want {
				t.Errorf("got %v, want %s", err, want)
			}
		})
	}
}
