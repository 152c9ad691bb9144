package redisbacked

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/switchyard-gw/switchyard/internal/logtest"
)

// TestLogTo: the Redis client's own complaints (here: a pool that cannot
// dial) arrive as JSON log lines at warning level.
func TestLogTo(t *testing.T) {
	var buf logtest.Buffer
	LogTo(slog.New(slog.NewJSONHandler(&buf, nil)))
	t.Cleanup(func() { LogTo(slog.New(slog.DiscardHandler)) })

	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1})
	defer c.Close()
	if err := c.Ping(context.Background()).Err(); err == nil {
		t.Fatal("ping to 127.0.0.1:1 succeeded")
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var line struct {
		Level, Msg, Detail string
	}
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatalf("log %q: %v", buf.String(), err)
	}
	if line.Level != "WARN" || line.Msg != "redis client" || !strings.Contains(line.Detail, "dial") {
		t.Errorf("log line %+v, want a warning about dialling", line)
	}
}
