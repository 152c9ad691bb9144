package openai

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
	raw := `{"model":"smart","stream":true,"stream_options":{"include_usage":false,"x":1},"messages":[{"role":"user","content":"hi"}],"n":1}`
	s, err := newClient(srv, nil).ChatStream(context.Background(), &llm.Request{Dialect: llm.DialectOpenAI, Stream: true, Raw: []byte(raw)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	up := providertest.Receive(t, got)
	want := `{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true,"x":1},"messages":[{"role":"user","content":"hi"}],"n":1}`
	if string(up.Body) != want {
		t.Errorf("got body %s, want %s", up.Body, want)
	}
	if a := up.Header.Get("Accept"); a != "text/event-stream" {
		t.Errorf("got Accept %q, want text/event-stream", a)
	}
}

func TestStreamEvents(t *testing.T) {
	usage := func(in, out int) *llm.Usage { return &llm.Usage{InputTokens: in, OutputTokens: out} }
	tests := []struct {
		name    string
		fixture string
		want    []llm.Event
		wantErr func(error) bool
	}{
		{
			name:    "text with keep-alive, usage and done",
			fixture: "stream_text.sse",
			want: []llm.Event{
				{Start: true, ID: "chatcmpl-7qyqpwdRZ", Model: "gpt-4o-mini-2024-07-18"},
				{},
				{Text: "Hello"},
				{Text: " there!"},
				{FinishReason: llm.FinishStop},
				{Usage: usage(9, 3)},
				{Done: true},
			},
			wantErr: func(err error) bool { return err == io.EOF },
		},
		{
			name:    "tool calls",
			fixture: "stream_tools.sse",
			want: []llm.Event{
				{Start: true, ID: "chatcmpl-tool1", Model: "gpt-4o-2024-08-06",
					ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "call_DdmO9pD3xa9XTPNJ32zg2hcA", Name: "get_weather"}}},
				{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `{"lo`}}},
				{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `cation": "Paris"}`}}},
				{ToolCalls: []llm.ToolCallDelta{{Index: 1, ID: "call_2", Name: "get_time", Arguments: "{}"}}},
				{FinishReason: llm.FinishToolCalls},
				{Usage: usage(80, 30)},
				{Done: true},
			},
			wantErr: func(err error) bool { return err == io.EOF },
		},
		{
			name:    "finish seen but no [DONE] completes with a synthetic done",
			fixture: "stream_no_done.sse",
			want: []llm.Event{
				{Start: true, ID: "chatcmpl-7qyqpwdRZ", Model: "gpt-4o-mini-2024-07-18"},
				{}, {Text: "Hello"}, {Text: " there!"}, {FinishReason: llm.FinishStop}, {Usage: usage(9, 3)},
				{Done: true},
			},
			wantErr: func(err error) bool { return err == io.EOF },
		},
		{
			name:    "cut before finish is truncated",
			fixture: "stream_cut.sse",
			want: []llm.Event{
				{Start: true, ID: "chatcmpl-7qyqpwdRZ", Model: "gpt-4o-mini-2024-07-18"},
				{}, {Text: "Hello"},
			},
			wantErr: func(err error) bool {
				var pe *provider.Error
				return errors.As(err, &pe) && pe.Kind == provider.KindUnavailable &&
					errors.Is(err, provider.ErrStreamTruncated) && !errors.Is(err, io.EOF)
			},
		},
		{
			name:    "in-stream error object",
			fixture: "stream_error.sse",
			want:    []llm.Event{{Start: true, ID: "chatcmpl-err", Model: "gpt-4o-mini", Text: "Hel"}},
			wantErr: func(err error) bool {
				var pe *provider.Error
				return errors.As(err, &pe) && pe.Kind == provider.KindUnavailable && pe.Message != "" && pe.Status == 0
			},
		},
		{
			name:    "malformed chunk",
			fixture: "stream_malformed.sse",
			want:    []llm.Event{{Start: true, ID: "chatcmpl-bad", Model: "gpt-4o-mini", Text: "Hel"}},
			wantErr: func(err error) bool { return provider.KindOf(err) == provider.KindUnavailable },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := providertest.Upstream(t, providertest.Reply{Fixture: tt.fixture, Header: map[string]string{"Content-Type": "text/event-stream"}})
			s, err := newClient(srv, nil).ChatStream(context.Background(), &llm.Request{Dialect: llm.DialectOpenAI, Raw: []byte(`{"model":"m"}`)})
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
		_, _ = w.Write([]byte("data: {\"id\":\"x\",\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}))
	defer srv.Close()
	s, err := newClient(srv, nil).ChatStream(context.Background(), &llm.Request{Dialect: llm.DialectOpenAI, Raw: []byte(`{}`)})
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
	for _, name := range []string{"stream_text.sse", "stream_tools.sse", "stream_no_done.sse", "stream_cut.sse", "stream_error.sse", "stream_malformed.sse"} {
		f.Add(providertest.Fixture(f, name))
	}
	f.Add([]byte("data: {\"error\":\"x\"}\n\n"))
	f.Add([]byte("data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":-3}]},\"finish_reason\":7}],\"usage\":{\"prompt_tokens\":\"x\"}}\n\n"))
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
