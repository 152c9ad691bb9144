package app

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/logtest"
	"github.com/switchyard-gw/switchyard/internal/sim"
)

// TestRequestLineAtEveryLogLevel: with log.level warn or error, serve's
// logger (NewLogger, as main builds it) still writes the one request line
// every client request gets (operations.md), while the other lines below
// the level stay out, the first "config loaded" line among them.
func TestRequestLineAtEveryLogLevel(t *testing.T) {
	_, simURL, stopSim, err := sim.Start(fastSim())
	if err != nil {
		t.Fatal(err)
	}
	defer stopSim()
	for _, level := range []string{"warn", "error"} {
		t.Run(level, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "switchyard.yaml")
			text := strings.NewReplacer("{{SIM}}", simURL, "{{DIR}}", dir).Replace(baseConfig) + "log: {level: " + level + "}\n"
			if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			logs := &logtest.Buffer{}
			lv := new(slog.LevelVar)
			ctx, cancel := context.WithCancel(context.Background())
			started := make(chan string, 1)
			done := make(chan error, 1)
			go func() {
				done <- Serve(ctx, Options{ConfigPath: path, Logger: NewLogger(logs, lv), LogLevel: lv, Started: func(u string) { started <- u }})
			}()
			defer func() {
				cancel()
				if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
					t.Errorf("serve returned %v", err)
				}
			}()
			var base string
			select {
			case base = <-started:
			case err := <-done:
				t.Fatalf("serve: %v", err)
			case <-time.After(10 * time.Second):
				t.Fatal("gateway did not start")
			}
			hc := &http.Client{Transport: &http.Transport{}}
			defer hc.CloseIdleConnections()
			resp, b := postJSON(t, hc, base+"/v1/chat/completions", `{"model":"small","messages":[{"role":"user","content":"hi"}]}`)
			if resp.StatusCode != 200 {
				t.Fatalf("got %d %s, want 200", resp.StatusCode, b)
			}
			var lines []map[string]any
			clocktest.WaitFor(t, "the request line", func() bool {
				lines = lines[:0]
				for l := range strings.Lines(logs.String()) {
					var rec map[string]any
					if json.Unmarshal([]byte(l), &rec) == nil && rec["msg"] == "request" {
						lines = append(lines, rec)
					}
				}
				return len(lines) > 0
			})
			if len(lines) != 1 || lines[0]["status"] != float64(200) || lines[0]["level"] != "INFO" {
				t.Errorf("request lines: got %v, want one of status 200 at INFO", lines)
			}
			got := logs.String()
			if strings.Contains(got, `"msg":"admin API disabled: no admin.key configured"`) || strings.Contains(got, `"msg":"config loaded"`) {
				t.Errorf("log at %s holds an INFO line other than the request's:\n%s", level, got)
			}
		})
	}
}
