package providertest

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
)

// StreamPassthrough sends raw, a streaming request in the adapter's own
// dialect, with ChatStream and checks the upstream got wantBody byte for
// byte, with an Accept header asking for an event stream. The upstream
// answers with testdata/stream_text.sse.
func StreamPassthrough(t *testing.T, a Adapter, raw, wantBody string) {
	t.Helper()
	srv, got := Upstream(t, Reply{Fixture: "stream_text.sse", Header: map[string]string{"Content-Type": "text/event-stream"}})
	p := a.New(srv, nil)
	s, err := p.ChatStream(context.Background(), &llm.Request{Dialect: p.Dialect(), Stream: true, Raw: []byte(raw)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	up := Receive(t, got)
	if string(up.Body) != wantBody {
		t.Errorf("got body %s, want %s", up.Body, wantBody)
	}
	if a := up.Header.Get("Accept"); a != "text/event-stream" {
		t.Errorf("got Accept %q, want text/event-stream", a)
	}
}

// StreamCase is a recorded upstream stream and what the adapter must decode
// from it.
type StreamCase struct {
	Name string
	// Fixture is the upstream's event stream, a file in testdata.
	Fixture string
	// Want are the events before the end, compared without their Raw.
	Want []llm.Event
	// WantErr reports whether the error that ended the stream is the
	// expected end.
	WantErr func(error) bool
}

// IsEOF reports whether err is io.EOF itself: the stream's complete end.
func IsEOF(err error) bool { return err == io.EOF }

// IsTruncated reports whether err is the end of a stream cut before its
// terminal event: KindUnavailable wrapping provider.ErrStreamTruncated, and
// never io.EOF.
func IsTruncated(err error) bool {
	var pe *provider.Error
	return errors.As(err, &pe) && pe.Kind == provider.KindUnavailable &&
		errors.Is(err, provider.ErrStreamTruncated) && !errors.Is(err, io.EOF)
}

// StreamEvents replays each case's fixture to ChatStream and checks the
// events, the end, that the end repeats once reached, and that the events'
// Raw frames reproduce the fixture's bytes (all of them after a complete
// end; a synthetic Done has no Raw).
func StreamEvents(t *testing.T, a Adapter, cases []StreamCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			srv, _ := Upstream(t, Reply{Fixture: tt.Fixture, Header: map[string]string{"Content-Type": "text/event-stream"}})
			p := a.New(srv, nil)
			s, err := p.ChatStream(context.Background(), &llm.Request{Dialect: p.Dialect(), Raw: []byte(`{"model":"m"}`)})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			evs, err := drain(t, s)
			if !tt.WantErr(err) {
				t.Errorf("got end error %v, want the expected end", err)
			}
			if _, again := s.Next(); again != err {
				t.Errorf("got %v after the end, want the same %v", again, err)
			}
			if diff := cmp.Diff(tt.Want, evs, cmpopts.IgnoreFields(llm.Event{}, "Raw")); diff != "" {
				t.Errorf("events mismatch (-want +got):\n%s", diff)
			}
			// Raw frames reproduce the upstream bytes, for passthrough.
			var all []byte
			for _, ev := range evs {
				all = append(all, ev.Raw...)
			}
			if fx := Fixture(t, tt.Fixture); !bytes.HasPrefix(fx, all) || (err == io.EOF && !bytes.Equal(fx, all)) {
				t.Errorf("got raw %q, want the fixture's bytes %q", all, fx)
			}
		})
	}
}

// StreamResetMidBody checks that a stream whose connection is reset after
// one complete event, frame, yields that event and then a truncation error.
func StreamResetMidBody(t *testing.T, a Adapter, frame string) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte(frame))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}))
	defer srv.Close()
	p := a.New(srv, nil)
	s, err := p.ChatStream(context.Background(), &llm.Request{Dialect: p.Dialect(), Raw: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	evs, err := drain(t, s)
	if len(evs) != 1 || provider.KindOf(err) != provider.KindUnavailable || !errors.Is(err, provider.ErrStreamTruncated) {
		t.Errorf("got %d events and %v, want 1 event and a truncation error", len(evs), err)
	}
}

// StreamDeadlineMidBody checks that a stream whose upstream stalls after a
// comment, until the request's deadline passes, yields one event and then a
// timeout wrapping context.DeadlineExceeded.
func StreamDeadlineMidBody(t *testing.T, a Adapter) {
	t.Helper()
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
	s, err := a.New(srv, nil).ChatStream(ctx, &llm.Request{Raw: []byte(`{}`)})
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

// FuzzStream fuzzes a stream decoder with f's corpus: open returns the
// adapter's stream over an upstream body. Every input must end, within one
// event per input byte and one more, in io.EOF or a classified error.
func FuzzStream(f *testing.F, open func(body io.ReadCloser) llm.Stream) {
	f.Helper()
	f.Fuzz(func(t *testing.T, in []byte) {
		s := open(io.NopCloser(bytes.NewReader(in)))
		defer s.Close()
		for i := 0; ; i++ {
			_, err := s.Next()
			if err != nil {
				if err != io.EOF && provider.KindOf(err) == provider.KindUnknown {
					t.Fatalf("got unclassified error %v", err)
				}
				return
			}
			if i > len(in)+1 {
				t.Fatalf("got more events than input bytes")
			}
		}
	})
}

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
