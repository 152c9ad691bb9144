package executor

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// fakeEmbedder is a fakeProvider that also embeds, from the same script: a
// step's resp.Text becomes the embedding answer's model.
type fakeEmbedder struct{ *fakeProvider }

func (f fakeEmbedder) Embed(ctx context.Context, _ *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	s := f.next()
	if err := wait(ctx, s.hang, s.after); err != nil {
		return nil, err
	}
	if s.err != nil {
		return nil, s.err
	}
	return &llm.EmbedResponse{Model: s.resp.Text}, nil
}

// TestEmbed: embeddings walk the plan as chat does: retried, failed over,
// bounded per attempt and overall, and stopped by a request's own fault.
func TestEmbed(t *testing.T) {
	tests := []struct {
		name      string
		targets   func() []Target
		want      []string
		wantModel string
		wantKind  provider.Kind
	}{
		{
			name: "retry then fail over",
			targets: func() []Target {
				return []Target{
					{Deployment: "a", Provider: fakeEmbedder{script(fail(provider.KindUnavailable), fail(provider.KindUnavailable))}},
					{Deployment: "b", Provider: fakeEmbedder{script(ok("model-b"))}},
				}
			},
			want:      []string{"a:unavailable", "a:unavailable", "b:ok"},
			wantModel: "model-b",
		},
		{
			name: "a silent deployment times out and the next answers",
			targets: func() []Target {
				return []Target{
					{Deployment: "a", Provider: fakeEmbedder{script(step{hang: true})}, Timeout: 2 * time.Second},
					{Deployment: "b", Provider: fakeEmbedder{script(ok("model-b"))}},
				}
			},
			want:      []string{"a:timeout", "b:ok"},
			wantModel: "model-b",
		},
		{
			name: "the overall deadline bounds a deployment with no timeout",
			targets: func() []Target {
				return []Target{{Deployment: "a", Provider: fakeEmbedder{script(step{hang: true})}}}
			},
			want:     []string{"a:timeout"},
			wantKind: provider.KindTimeout,
		},
		{
			name: "a bad request is not sent elsewhere",
			targets: func() []Target {
				return []Target{
					{Deployment: "a", Provider: fakeEmbedder{script(fail(provider.KindBadRequest))}},
					{Deployment: "b", Provider: fakeEmbedder{script(ok("model-b"))}},
				}
			},
			want:     []string{"a:bad_request"},
			wantKind: provider.KindBadRequest,
		},
		{
			name: "a provider that cannot embed is passed over",
			targets: func() []Target {
				return []Target{
					{Deployment: "chat-only", Provider: script()},
					{Deployment: "b", Provider: fakeEmbedder{script(ok("model-b"))}},
				}
			},
			want:      []string{"chat-only:not_found", "b:ok"},
			wantModel: "model-b",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				o := realOptions()
				o.Deadline = 10 * time.Second
				o.RetriesPerDeployment = 1
				e := New(o)
				start := time.Now()
				resp, tr, err := e.Embed(context.Background(), &Plan{Targets: tt.targets()}, &llm.EmbedRequest{Model: "m"}, 10)
				if got := summary(tr); !slices.Equal(got, tt.want) {
					t.Errorf("trace: got %v, want %v", got, tt.want)
				}
				if tt.wantModel != "" {
					if err != nil || resp == nil || resp.Model != tt.wantModel {
						t.Fatalf("got %+v, %v; want an answer from %s", resp, err, tt.wantModel)
					}
					if tr.Deployment != "b" {
						t.Errorf("trace deployment: got %q, want b", tr.Deployment)
					}
					return
				}
				if k := provider.KindOf(err); k != tt.wantKind {
					t.Errorf("error kind: got %v (%v), want %v", k, err, tt.wantKind)
				}
				if waited := time.Since(start); waited > o.Deadline+time.Second {
					t.Errorf("took %v, want the %v deadline to bound it", waited, o.Deadline)
				}
			})
		})
	}
}

// TestEmbedClientGone: the client's cancellation ends the walk at once and
// is not blamed on the deployment.
func TestEmbedClientGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := New(realOptions())
		ctx, cancel := context.WithCancel(context.Background())
		a := fakeEmbedder{script(step{hang: true})}
		b := fakeEmbedder{script(ok("model-b"))}
		go func() { time.Sleep(time.Second); cancel() }()
		_, tr, err := e.Embed(ctx, &Plan{Targets: []Target{{Deployment: "a", Provider: a}, {Deployment: "b", Provider: b}}}, &llm.EmbedRequest{}, 1)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error: got %v, want one wrapping context.Canceled", err)
		}
		if b.Calls() != 0 || len(tr.Attempts) != 1 {
			t.Errorf("got %d calls to b and trace %v, want the walk to stop at a", b.Calls(), summary(tr))
		}
	})
}
