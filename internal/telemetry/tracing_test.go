package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/logtest"
)

// collector is an OTLP/HTTP traces endpoint that keeps what it receives.
type collector struct {
	*httptest.Server
	mu      sync.Mutex
	bodies  []byte
	headers []http.Header
}

func newCollector(t *testing.T) *collector {
	c := &collector{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.bodies = append(c.bodies, b...)
		c.headers = append(c.headers, r.Header.Clone())
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *collector) has(s string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Contains(c.bodies, []byte(s))
}

func (c *collector) cfg() config.Telemetry {
	return config.Telemetry{OTLPEndpoint: c.URL + "/v1/traces"}
}

func span(t *Tracing, name string) {
	_, s := t.Start(context.Background(), name)
	s.End()
}

// A reload that changes the telemetry section sends new spans to the new
// collector; the replaced exporter is flushed to the old one when retired,
// and turning tracing off stops exporting.
func TestTracingFollowsReload(t *testing.T) {
	a, b := newCollector(t), newCollector(t)
	ctx := context.Background()
	tr, err := NewTracing(ctx, a.cfg())
	if err != nil {
		t.Fatal(err)
	}
	tr.RetireAfter = 0
	span(tr, "span-before-reload")

	if changed, err := tr.Apply(ctx, a.cfg()); err != nil || changed {
		t.Fatalf("same section: got changed %v, err %v; want false, nil", changed, err)
	}
	withKey := b.cfg()
	withKey.Headers = map[string]config.Secret{"X-Collector-Key": config.Secret("k1")}
	if changed, err := tr.Apply(ctx, withKey); err != nil || !changed {
		t.Fatalf("new endpoint: got changed %v, err %v; want true, nil", changed, err)
	}
	clocktest.WaitFor(t, "the retired exporter to flush its span to the first collector", func() bool { return a.has("span-before-reload") })
	span(tr, "span-after-reload")

	// A changed header alone is a new pipeline too.
	withKey.Headers = map[string]config.Secret{"X-Collector-Key": config.Secret("k2")}
	if changed, err := tr.Apply(ctx, withKey); err != nil || !changed {
		t.Fatalf("new header: got changed %v, err %v; want true, nil", changed, err)
	}
	clocktest.WaitFor(t, "the span after the reload at the second collector", func() bool { return b.has("span-after-reload") })
	if a.has("span-after-reload") {
		t.Error("the span after the reload went to the old collector")
	}
	b.mu.Lock()
	if got := b.headers[0].Get("X-Collector-Key"); got != "k1" {
		t.Errorf("export header: got %q, want k1", got)
	}
	b.mu.Unlock()

	if changed, err := tr.Apply(ctx, config.Telemetry{}); err != nil || !changed {
		t.Fatalf("tracing off: got changed %v, err %v; want true, nil", changed, err)
	}
	span(tr, "span-while-off")
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if a.has("span-while-off") || b.has("span-while-off") {
		t.Error("a span was exported with tracing off")
	}
	if _, err := tr.Apply(ctx, a.cfg()); err == nil {
		t.Error("Apply after Shutdown: got nil error, want one")
	}
	if err := tr.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
}

// Shutdown flushes an exporter that a reload replaced but whose retirement
// is still pending, so no span is lost on exit.
func TestTracingShutdownFlushesRetired(t *testing.T) {
	a, b := newCollector(t), newCollector(t)
	ctx := context.Background()
	tr, err := NewTracing(ctx, a.cfg())
	if err != nil {
		t.Fatal(err)
	}
	tr.RetireAfter = time.Hour
	span(tr, "span-on-a")
	if _, err := tr.Apply(ctx, b.cfg()); err != nil {
		t.Fatal(err)
	}
	span(tr, "span-on-b")
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if !a.has("span-on-a") || !b.has("span-on-b") {
		t.Errorf("after Shutdown: first collector has its span %v, second %v; want both", a.has("span-on-a"), b.has("span-on-b"))
	}
}

// An export the collector refuses is logged through slog as a JSON line,
// with the telemetry header values redacted even when the collector's
// answer echoes them.
func TestExportErrorsAreLoggedRedacted(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		// The whole value, and the token alone, as a collector that
		// says which token it refused does (found by audit R).
		auth := r.Header.Get("Authorization")
		io.WriteString(w, "refused: Authorization="+auth+"; invalid token: "+strings.TrimPrefix(auth, "Bearer "))
	}))
	defer echo.Close()
	var logs logtest.Buffer
	cfg := config.Telemetry{OTLPEndpoint: echo.URL + "/v1/traces", Headers: map[string]config.Secret{"Authorization": "Bearer COLLECTORKEY_42"}}
	tr, err := NewTracing(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	tr.LogErrors(slog.New(slog.NewJSONHandler(&logs, nil)))
	defer otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {}))
	span(tr, "refused")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = tr.Shutdown(ctx) // flushes: the collector refuses the batch
	clocktest.WaitFor(t, "the export error in the log", func() bool { return strings.Contains(logs.String(), "tracing export failed") })
	if strings.Contains(logs.String(), "COLLECTORKEY_42") || !strings.Contains(logs.String(), "[redacted]") {
		t.Errorf("log %s: want the header value redacted", logs.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("log line %q is not JSON", line)
		}
	}
}
