package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/gateway"
)

// A request carrying a W3C traceparent is traced as part of the caller's
// trace: its server span has the caller's trace id and span as parent,
// and, parent-based, a sampled caller is traced even at a tiny ratio.
func TestTraceparentIsContinued(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0))))
	defer tp.Shutdown(context.Background())
	f := newFixture(t)
	gw := gateway.New(gateway.Options{Executor: executor.New(executor.Options{}), Tracer: tp.Tracer("test")})
	if err := gw.Apply(f.conf(gwConfig)); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw.Handler())
	defer srv.Close()
	send := func(traceparent string) {
		req, _ := http.NewRequest("POST", srv.URL+oaPath, strings.NewReader(oaChat))
		req.Header.Set("Content-Type", "application/json")
		if traceparent != "" {
			req.Header.Set("traceparent", traceparent)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("got %d", resp.StatusCode)
		}
	}
	send("") // ratio 0: not traced
	if n := len(exp.GetSpans()); n != 0 {
		t.Fatalf("got %d spans without a caller's trace at ratio 0, want 0", n)
	}
	send("00-3af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	var server *tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		if !s.Parent.IsValid() || s.Parent.IsRemote() {
			server = &s
		}
	}
	if server == nil {
		t.Fatalf("got spans %v, want the request's server span", exp.GetSpans().Snapshots())
	}
	if got := server.SpanContext.TraceID().String(); got != "3af7651916cd43dd8448eb211c80319c" {
		t.Errorf("trace id %s, want the caller's", got)
	}
	if got := server.Parent.SpanID().String(); got != "b7ad6b7169203331" || !server.Parent.IsRemote() {
		t.Errorf("parent %s (remote %v), want the caller's span b7ad6b7169203331", got, server.Parent.IsRemote())
	}
}

// A routing side call (here a classify route's classifier) is a client
// span of its own under the request's, with its usage; the answering
// call's span carries only the answering call's usage, not the request's
// total with the classifier's.
func TestSideCallSpans(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())
	f := newFixture(t)
	gw := gateway.New(gateway.Options{Executor: executor.New(executor.Options{}), Tracer: tp.Tracer("test")})
	if err := gw.Apply(f.conf(gwConfig + `  - name: triage
    policy: classify
    classifier: {deployment: claude, labels: {never: claude}, timeout: 5s}
    default: medium
`)); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw.Handler())
	defer srv.Close()
	resp, err := http.Post(srv.URL+oaPath, "application/json", strings.NewReader(`{"model":"triage","messages":[{"role":"user","content":"hello there"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("got %d", resp.StatusCode)
	}
	var side, answer, server *tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		attrs := map[string]string{}
		for _, a := range s.Attributes {
			attrs[string(a.Key)] = a.Value.Emit()
		}
		switch {
		case attrs["switchyard.side_call"] == "true":
			side = &s
		case attrs["gen_ai.response.model"] != "":
			answer = &s
		case s.Name == "switchyard.chat":
			server = &s
		}
	}
	if side == nil || answer == nil || server == nil {
		t.Fatalf("spans %v: want the request's, the answering call's and the classifier's", exp.GetSpans().Snapshots())
	}
	if side.Name != "chat sim-large" || side.Parent.SpanID() != server.SpanContext.SpanID() {
		t.Errorf("classifier span %q under %s, want chat sim-large under the request's span", side.Name, side.Parent.SpanID())
	}
	in := func(s *tracetest.SpanStub) int64 {
		for _, a := range s.Attributes {
			if a.Key == "gen_ai.usage.input_tokens" {
				return a.Value.AsInt64()
			}
		}
		return -1
	}
	total := in(server)
	if in(side) <= 0 || in(answer) <= 0 || in(answer) >= total {
		t.Errorf("input tokens: classifier %d, answer %d, request %d; want the answer's own, below the request's total", in(side), in(answer), total)
	}
}
