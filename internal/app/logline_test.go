package app

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math"
	"testing"
	"time"
)

// requestRecord is a record of the gateway's request line's shape
// (gateway/account.go), with floats as x.
func requestRecord(t time.Time, level slog.Level, x float64) slog.Record {
	r := slog.NewRecord(t, level, requestLine, 0)
	r.AddAttrs(
		slog.String("request_id", "req_01JFQ1ZQ3W9Y8X7V6T5S4R3Q2P"), slog.String("client_request_id", ""),
		slog.String("dialect", "openai"), slog.String("tenant", ""), slog.String("key_id", "key_a"),
		slog.String("route", "auto"), slog.String("policy", "fallback"), slog.String("reason", "first healthy target"),
		slog.String("arm", ""), slog.String("deployment", "bench"), slog.String("model", "gpt-4o-mini"),
		slog.Int("attempts", 1), slog.Int("status", 200), slog.String("error", ""),
		slog.Bool("stream", true), slog.Bool("cache_hit", false), slog.Bool("partial", false),
		slog.Float64("latency_ms", x), slog.Float64("ttft_ms", x/7), slog.Int("input_tokens", 8),
		slog.Int("cached_input_tokens", 0), slog.Int("cache_write_tokens", 0), slog.Int("output_tokens", 16),
		slog.Bool("tokens_estimated", false), slog.Float64("cost_usd", x*1e-7),
	)
	return r
}

// jsonLine is r as slog's JSON handler, as NewLogger configures it,
// writes it.
func jsonLine(t *testing.T, r slog.Record) string {
	t.Helper()
	var b bytes.Buffer
	if err := slog.NewJSONHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug}).Handle(context.Background(), r); err != nil {
		t.Fatalf("json handler: %v", err)
	}
	return b.String()
}

// loggerLine is r as NewLogger's handler writes it.
func loggerLine(t *testing.T, r slog.Record) string {
	t.Helper()
	var b bytes.Buffer
	// At the lowest level, so that requestLines drops no record.
	if err := NewLogger(&b, slog.Level(math.MinInt)).Handler().Handle(context.Background(), r); err != nil {
		t.Fatalf("logger: %v", err)
	}
	return b.String()
}

// TestLogLineAsJSONHandler: NewLogger writes every record byte for byte
// as slog's JSON handler does, those appendLine encodes and those it
// leaves to the handler, and it encodes the request lines itself.
func TestLogLineAsJSONHandler(t *testing.T) {
	at := time.Date(2026, 12, 7, 23, 5, 9, 123456789, time.FixedZone("", 3600))
	withAttrs := func(attrs ...slog.Attr) slog.Record {
		r := slog.NewRecord(at, slog.LevelInfo, "config loaded", 0)
		r.AddAttrs(attrs...)
		return r
	}
	for _, c := range []struct {
		name string
		r    slog.Record
		fast bool // appendLine encodes it
	}{
		{"request line", requestRecord(at, slog.LevelInfo, 12.345), true},
		{"request line, 5xx", requestRecord(at, slog.LevelWarn, 1234.5), true},
		{"request line, zero floats", requestRecord(at, slog.LevelInfo, 0), true},
		{"request line, large floats", requestRecord(at, slog.LevelInfo, 3e25), true},
		{"request line, small floats", requestRecord(at, slog.LevelInfo, 3e-3), true},
		{"request line, UTC", requestRecord(at.UTC(), slog.LevelInfo, 1), true},
		{"no time", requestRecord(time.Time{}, slog.LevelInfo, 1), true},
		{"odd level", requestRecord(at, slog.LevelInfo+2, 1), true},
		{"negative zero", withAttrs(slog.Float64("f", math.Copysign(0, -1))), true},
		{"exponent cleanup", withAttrs(slog.Float64("f", 1e-7), slog.Float64("g", -2.5e-300), slog.Float64("h", 1e21)), true},
		{"ints", withAttrs(slog.Int64("i", math.MinInt64), slog.Uint64("u", math.MaxUint64)), true},
		{"html and del", withAttrs(slog.String("s", "<a href='x'>&amp;\x7f</a>")), true},
		{"NaN", withAttrs(slog.Float64("f", math.NaN())), false},
		{"Inf", withAttrs(slog.Float64("f", math.Inf(-1))), false},
		{"quote", withAttrs(slog.String("s", `say "hi"`)), false},
		{"backslash in key", withAttrs(slog.String(`a\b`, "x")), false},
		{"control", withAttrs(slog.String("s", "a\nb\x01")), false},
		{"utf-8", withAttrs(slog.String("s", "héllo \u2028")), false},
		{"invalid utf-8", withAttrs(slog.String("s", "a\xffb")), false},
		{"empty key", withAttrs(slog.String("", "x")), false},
		{"duration", withAttrs(slog.Duration("d", time.Second)), false},
		{"error", withAttrs(slog.Any("err", io.EOF)), false},
		{"group", withAttrs(slog.Group("g", slog.Int("a", 1))), false},
		{"time attr", withAttrs(slog.Time("t", at)), false},
		{"year 10000", requestRecord(at.AddDate(8000, 0, 0), slog.LevelInfo, 1), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, want := loggerLine(t, c.r), jsonLine(t, c.r)
			if got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
			if _, fast := appendLine(nil, c.r); fast != c.fast {
				t.Errorf("got appendLine ok %t, want %t", fast, c.fast)
			}
		})
	}
}

// TestLogLineWithAttrs: a logger with attributes or a group added writes
// through the JSON handler, with them.
func TestLogLineWithAttrs(t *testing.T) {
	var got, want bytes.Buffer
	at := time.Date(2026, 12, 7, 23, 5, 9, 0, time.UTC)
	r := requestRecord(at, slog.LevelInfo, 2.5)
	h := NewLogger(&got, slog.LevelDebug).Handler().WithAttrs([]slog.Attr{slog.String("component", "x")}).WithGroup("g")
	j := slog.NewJSONHandler(&want, &slog.HandlerOptions{Level: slog.LevelDebug}).WithAttrs([]slog.Attr{slog.String("component", "x")}).WithGroup("g")
	if err := h.Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if err := j.Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("got  %s\nwant %s", got.String(), want.String())
	}
}

// FuzzLogLine holds NewLogger's lines to slog's JSON handler's.
func FuzzLogLine(f *testing.F) {
	f.Add("request", "model", "gpt-4o", int64(-3), uint64(7), 12.345, true, int64(1765148709123456789), 0)
	f.Add("a\"b", "k\\", "\u2028\xff", int64(0), uint64(0), 1e-7, false, int64(0), 4)
	f.Add("", "", "", int64(1), uint64(1), 1e21, false, int64(-62135596800000000), -4)
	f.Fuzz(func(t *testing.T, msg, key, s string, i int64, u uint64, x float64, bo bool, ns int64, level int) {
		r := slog.NewRecord(time.Unix(0, ns).In(time.FixedZone("", (level%24)*3600)), slog.Level(level), msg, 0)
		r.AddAttrs(slog.String(key, s), slog.Int64("i", i), slog.Uint64("u", u), slog.Float64("x", x),
			slog.Bool("b", bo), slog.Float64(key, x/3), slog.String("s", s))
		if got, want := loggerLine(t, r), jsonLine(t, r); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	})
}

// BenchmarkRequestLine is serve's logger writing a request line.
//
//	go test -run '^$' -bench RequestLine -benchmem ./internal/app
func BenchmarkRequestLine(b *testing.B) {
	log := NewLogger(io.Discard, slog.LevelWarn)
	ctx := context.Background()
	r := requestRecord(time.Now(), slog.LevelInfo, 12.345)
	attrs := make([]slog.Attr, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool { attrs = append(attrs, a); return true })
	b.ReportAllocs()
	for b.Loop() {
		log.LogAttrs(ctx, slog.LevelInfo, requestLine, attrs...)
	}
}
