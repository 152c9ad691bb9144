package anthropic

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/provider/providertest"
)

// drain reads a stream to its end and returns the events and the final error.
func drain(t testing.TB, s llm.Stream) ([]llm.Event, error) {
	t.Helper()
	var evs []llm.Event
	for i := 0; i < 10000; i++ {
		ev, err := s.Next()
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
	t.Fatal("stream did not end")
	return nil, nil
}

func TestStreamPassthroughBody(t *testing.T) {
	srv, got := providertest.Upstream(t, providertest.Reply{Fixture: "stream_text.sse", Header: map[string]string{"Content-Type": "text/event-stream"}})
	raw := `{"model":"smart","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"x":{"y":null}}`
	s, err := newClient(srv, nil).ChatStream(context.Background(), &llm.Request{Dialect: llm.DialectAnthropic, Stream: true, Raw: []byte(raw)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	up := providertest.Receive(t, got)
	want := `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"x":{"y":null},"stream":true}`
	if string(up.Body) != want {
		t.Errorf("got body %s, want %s", up.Body, want)
	}
	if a := up.Header.Get("Accept"); a != "text/event-stream" {
		t.Errorf("got Accept %q, want text/event-stream", a)
	}
}

func TestStreamEvents(t *testing.T) {
	usage := func(in, out int) *llm.Usage { return &llm.Usage{InputTokens: in, OutputTokens: out} }
	start := func(id string, in, out int) llm.Event {
		return llm.Event{Start: true, ID: id, Model: "claude-sonnet-4-5-20250929", Usage: usage(in, out)}
	}
	truncated := func(err error) bool {
		var pe *provider.Error
		return errors.As(err, &pe) && pe.Kind == provider.KindUnavailable &&
			errors.Is(err, provider.ErrStreamTruncated) && !errors.Is(err, io.EOF)
	}
	textEvents := []llm.Event{
		start("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", 25, 1),
		{}, // content_block_start (text)
		{}, // ping
		{Text: "Hello"},
		{Text: "!"},
		{}, // content_block_stop
		{FinishReason: llm.FinishStop, Usage: usage(25, 15)},
	}
	tests := []struct {
		name    string
		fixture string
		want    []llm.Event
		wantErr func(error) bool
	}{
		{
			name:    "text with ping and message_stop",
			fixture: "stream_text.sse",
			want:    append(append([]llm.Event{}, textEvents...), llm.Event{Done: true}),
			wantErr: func(err error) bool { return err == io.EOF },
		},
		{
			name:    "tool use blocks numbered among tool blocks",
			fixture: "stream_tool_use.sse",
			want: []llm.Event{
				start("msg_014p7gG3wDgGV9EUtLvnow3U", 472, 2),
				{}, {}, {Text: "Checking."}, {},
				{ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", Name: "get_weather"}}},
				{ToolCalls: []llm.ToolCallDelta{{Index: 0}}},
				{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `{"location":`}}},
				{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: ` "Paris"}`}}},
				{},
				{ToolCalls: []llm.ToolCallDelta{{Index: 1, ID: "toolu_02", Name: "get_time"}}},
				{ToolCalls: []llm.ToolCallDelta{{Index: 1, Arguments: `{}`}}},
				{},
				{FinishReason: llm.FinishToolCalls, Usage: usage(472, 89)},
				{Done: true},
			},
			wantErr: func(err error) bool { return err == io.EOF },
		},
		{
			name:    "stop reason seen but no message_stop completes with a synthetic done",
			fixture: "stream_no_stop.sse",
			want:    append(append([]llm.Event{}, textEvents...), llm.Event{Done: true}),
			wantErr: func(err error) bool { return err == io.EOF },
		},
		{
			name:    "cut mid-event is truncated",
			fixture: "stream_cut.sse",
			want:    textEvents[:5],
			wantErr: truncated,
		},
		{
			name:    "mid-stream overloaded error",
			fixture: "stream_overloaded.sse",
			want:    []llm.Event{start("msg_01over", 12, 1), {}, {Text: "Once"}, {}},
			wantErr: func(err error) bool {
				var pe *provider.Error
				return errors.As(err, &pe) && pe.Kind == provider.KindUnavailable && pe.Message == "Overloaded" && pe.Status == 0
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := providertest.Upstream(t, providertest.Reply{Fixture: tt.fixture, Header: map[string]string{"Content-Type": "text/event-stream"}})
			s, err := newClient(srv, nil).ChatStream(context.Background(), &llm.Request{Dialect: llm.DialectAnthropic, Raw: []byte(`{"model":"m"}`)})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			evs, err := drain(t, s)
			if !tt.wantErr(err) {
				t.Errorf("got end error %v, want the expected end", err)
			}
			if _, again := s.Next(); again != err {
				t.Errorf("got %v after the end, want the same %v", again, err)
			}
			if diff := cmp.Diff(tt.want, evs, cmpopts.IgnoreFields(llm.Event{}, "Raw")); diff != "" {
				t.Errorf("events mismatch (-want +got):\n%s", diff)
			}
			// Raw frames reproduce the upstream bytes, for passthrough;
			// a synthetic Done has no Raw.
			var all []byte
			for _, ev := range evs {
				all = append(all, ev.Raw...)
			}
			if fx := providertest.Fixture(t, tt.fixture); !bytes.HasPrefix(fx, all) || (err == io.EOF && !bytes.Equal(fx, all)) {
				t.Errorf("got raw %q, want the fixture's bytes %q", all, fx)
			}
		})
	}
}

func TestStreamResetMidBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte("event: ping\ndata: {\"type\": \"ping\"}\n\n"))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}))
	defer srv.Close()
	s, err := newClient(srv, nil).ChatStream(context.Background(), &llm.Request{Dialect: llm.DialectAnthropic, Raw: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	evs, err := drain(t, s)
	if len(evs) != 1 || provider.KindOf(err) != provider.KindUnavailable || !errors.Is(err, provider.ErrStreamTruncated) {
		t.Errorf("got %d events and %v, want 1 event and a truncation error", len(evs), err)
	}
}

func TestStreamDeadlineMidBody(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte(": hello\n\n"))
		w.(http.Flusher).Flush()
		select { // stall until the client gives up
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	s, err := newClient(srv, nil).ChatStream(ctx, &llm.Request{Raw: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	evs, err := drain(t, s)
	var pe *provider.Error
	if len(evs) != 1 || !errors.As(err, &pe) || pe.Kind != provider.KindTimeout || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %d events and %v, want 1 event and a timeout wrapping context.DeadlineExceeded", len(evs), err)
	}
}

func FuzzStream(f *testing.F) {
	for _, name := range []string{"stream_text.sse", "stream_tool_use.sse", "stream_no_stop.sse", "stream_cut.sse", "stream_overloaded.sse"} {
		f.Add(providertest.Fixture(f, name))
	}
	f.Add([]byte("event: error\ndata: {\"error\":\"x\"}\n\n"))
	f.Add([]byte("data: {\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":1}}\n\n"))
	f.Add([]byte("event: message_delta\ndata: {\"delta\":{\"stop_reason\":\"weird\"},\"usage\":{\"output_tokens\":\"x\"}}\n\n"))
	c := New(provider.Config{APIKey: testKey})
	f.Fuzz(func(t *testing.T, in []byte) {
		s := newStream(c, io.NopCloser(bytes.NewReader(in)))
		defer s.Close()
		for i := 0; ; i++ {
			ev, err := s.Next()
			if err != nil {
				if err != io.EOF && provider.KindOf(err) == provider.KindUnknown {
					t.Fatalf("got unclassified error %v", err)
				}
				return
			}
			if i > len(in)+1 {
				t.Fatalf("got more events than input bytes")
			}
			_ = ev
		}
	})
}
