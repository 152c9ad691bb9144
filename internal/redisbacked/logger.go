package redisbacked

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/redis/go-redis/v9"
)

// LogTo sends the Redis client library's own messages (a pool that cannot
// dial, a connection it drops) to log as warnings, instead of the
// library's default plain-text lines on stderr, which would break a JSON
// log stream. It sets the library's logger for the whole process, so the
// program's entry point calls it once.
func LogTo(log *slog.Logger) { redis.SetLogger(libraryLog{log}) }

// libraryLog is go-redis's Logging interface over slog.
type libraryLog struct{ log *slog.Logger }

func (l libraryLog) Printf(ctx context.Context, format string, v ...any) {
	msg := strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: ")
	l.log.LogAttrs(ctx, slog.LevelWarn, "redis client", slog.String("detail", msg))
}
