package executor

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// transportFake reports its context's end as the HTTP adapters do, through
// provider.TransportError: a bare timeout, "deadline exceeded".
type transportFake struct{ *fakeProvider }

func (f transportFake) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	resp, err := f.fakeProvider.Chat(ctx, req)
	if err != nil {
		return nil, provider.TransportError(ctx, err)
	}
	return resp, nil
}

// TestNonStreamTimeoutNamesItsLimit: a non-streamed attempt cut by the
// deployment's timeout, or by the overall deadline, says which of the two
// fired, as a stream's first-token and idle-gap timeouts do; not the
// provider's "deadline exceeded", which sends operators to the deadline.
func TestNonStreamTimeoutNamesItsLimit(t *testing.T) {
	tests := []struct {
		name    string
		prov    func() provider.Provider
		timeout time.Duration
		want    string
	}{
		{name: "deployment timeout, transport error", prov: func() provider.Provider { return transportFake{script(step{hang: true})} },
			timeout: 4 * time.Second, want: "upstream attempt timed out after 4s"},
		{name: "deployment timeout, bare context error", prov: func() provider.Provider { return script(step{hang: true}) },
			timeout: 4 * time.Second, want: "upstream attempt timed out after 4s"},
		{name: "overall deadline", prov: func() provider.Provider { return transportFake{script(step{hang: true})} },
			want: "upstream deadline timed out after 10s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				o := realOptions()
				o.Deadline = 10 * time.Second
				e := New(o)
				plan := &Plan{Targets: []Target{{Deployment: "a", Provider: tt.prov(), Timeout: tt.timeout}}}
				_, _, err := e.Chat(context.Background(), plan, &llm.Request{Model: "m"}, 10)
				var pe *provider.Error
				if !errors.As(err, &pe) {
					t.Fatalf("got %v, want a *provider.Error", err)
				}
				if pe.Kind != provider.KindTimeout || pe.Message != tt.want {
					t.Errorf("got %v %q, want timeout %q", pe.Kind, pe.Message, tt.want)
				}
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("got %v, want context.DeadlineExceeded in the chain", err)
				}
				if errors.Is(err, context.Canceled) {
					t.Errorf("got %v, want no context.Canceled (that is the client leaving)", err)
				}
			})
		})
	}
}
