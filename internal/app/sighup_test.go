package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/logtest"
)

// sighupChild, set in a child process's environment, names the config
// file the child serves (TestSIGHUPDuringStartUp runs itself again).
const sighupChild = "SWITCHYARD_TEST_SIGHUP_CONFIG"

// TestSIGHUPDuringStartUp: a SIGHUP that comes while serve is starting
// (here, the moment its listener is up, before the reload loop runs) does
// not end the process, whose default action for it that is: it reloads
// the file once the gateway runs. The signal goes to a child process (this
// test run again), so a failure does not kill the test binary.
func TestSIGHUPDuringStartUp(t *testing.T) {
	if path := os.Getenv(sighupChild); path != "" {
		serveAndHangUp(t, path)
		return
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "switchyard.yaml")
	text := strings.NewReplacer("{{SIM}}", "http://127.0.0.1:1", "{{DIR}}", dir).Replace(baseConfig)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSIGHUPDuringStartUp$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), sighupChild+"="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the gateway given SIGHUP during start-up: %v, want it to keep serving\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestSIGHUPDuringStartUp") {
		t.Errorf("child output:\n%s\nwant its test passed", out)
	}
}

// serveAndHangUp is the child: it serves path, sends itself SIGHUP as the
// listener comes up, and waits for the reload that signal asks for.
func serveAndHangUp(t *testing.T, path string) {
	logs := &logtest.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, Options{
			ConfigPath: path,
			Logger:     slog.New(slog.NewJSONHandler(io.MultiWriter(logs, os.Stderr), nil)),
			Signals:    true,
			Started: func(string) {
				if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
					t.Errorf("send SIGHUP: %v", err)
				}
			},
		})
	}()
	// The file did not change, so only the signal reloads it.
	clocktest.WaitFor(t, "the reload SIGHUP asks for", func() bool {
		return strings.Contains(logs.String(), `"msg":"config reloaded"`)
	})
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("serve returned %v", err)
	}
}
