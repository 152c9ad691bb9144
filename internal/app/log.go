package app

import (
	"context"
	"io"
	"log/slog"
)

// requestLine is the message of the gateway's one log line per client
// request (gateway/account.go), which operations.md promises for every
// request whatever log.level says.
const requestLine = "request"

// NewLogger returns serve's JSON logger on w. level (Options.LogLevel,
// set from log.level) filters every line but the request lines, which
// are always written: an access log that loses its successful requests
// at log.level warn is no access log.
func NewLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	lw := &lineWriter{w: w}
	return slog.New(requestLines{Handler: slog.NewJSONHandler(lw, &slog.HandlerOptions{Level: slog.LevelDebug}), level: level, line: lw})
}

// requestLines applies level to every record but the request lines.
type requestLines struct {
	slog.Handler
	level slog.Leveler
	// line writes the records it can encode as the JSON handler would;
	// nil once WithAttrs or WithGroup have added to the handler.
	line *lineWriter
}

// Enabled lets through what level does, and every level a request line
// is written at (INFO, WARN for a 5xx): Handle drops the others.
func (h requestLines) Enabled(_ context.Context, l slog.Level) bool {
	return l >= min(h.level.Level(), slog.LevelInfo)
}

func (h requestLines) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < h.level.Level() && r.Message != requestLine {
		return nil
	}
	if h.line != nil {
		if done, err := h.line.handle(r); done {
			return err
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestLines) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestLines{Handler: h.Handler.WithAttrs(attrs), level: h.level}
}

func (h requestLines) WithGroup(name string) slog.Handler {
	return requestLines{Handler: h.Handler.WithGroup(name), level: h.level}
}
