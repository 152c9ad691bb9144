package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/switchyard-gw/switchyard/internal/batch"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/feedback"
	"github.com/switchyard-gw/switchyard/internal/telemetry"
)

// embeddedQueueSize bounds the batches an embedded queue holds waiting.
const embeddedQueueSize = 1 << 16

// batches is the Files and Batch APIs built from the config: the client
// handler (those endpoints in front of the gateway's) and the workers.
type batches struct {
	// Handler serves /v1/files and /v1/batches, and passes every other
	// request to the gateway's handler.
	Handler http.Handler
	// Run runs batches until ctx ends; it returns once every worker has
	// stopped, so the usage records of their last lines are queued.
	Run   func(ctx context.Context) error
	Close func()
}

// buildBatches opens the batch queue and wires the API and the runner to
// the store, the guard and the gateway's handler (api).
func buildBatches(ctx context.Context, cfg *config.Config, ten *Tenancy, api http.Handler, metrics *telemetry.Metrics, log *slog.Logger) (*batches, error) {
	bc := cfg.Batch
	runner := batch.NewRunner(batch.RunnerOptions{
		Store: ten.Store, API: api, Principals: ten.Principals, Recorder: ten.Recorder,
		Concurrency: bc.Concurrency, MaxRequests: bc.MaxRequests, Logger: log, Metrics: metrics, Lease: bc.Lease.D(), Owner: bc.WorkerID,
	})
	var q batch.Queue
	var resume func(ctx context.Context) // an embedded queue's look for lapsed batches
	if bc.Queue.Value() == config.BatchQueueEmbedded {
		e := batch.NewEmbedded(embeddedQueueSize, log)
		if err := runner.Resume(ctx, e); err != nil {
			return nil, fmt.Errorf("app: resume batches: %w", err)
		}
		q, resume = e, func(ctx context.Context) { runner.KeepResuming(ctx, e) }
	} else {
		n, err := batch.NewNATS(ctx, batch.NATSOptions{URL: bc.Queue.Value(), Stream: bc.Stream, Logger: log})
		if err != nil {
			return nil, err
		}
		q = n
	}
	mux := http.NewServeMux()
	batch.NewAPI(batch.APIOptions{Store: ten.Store, Auth: ten.Guard, Queue: q, MaxFileBytes: bc.MaxFileBytes, MaxRequests: bc.MaxRequests, Retention: bc.Retention.D(), Logger: log}).Register(mux)
	return &batches{
		// A prefix test, not a mux, in front of the gateway: the chat
		// path pays a few nanoseconds for the batch endpoints, not a
		// pattern match.
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if batch.Owns(r.URL.Path) {
				mux.ServeHTTP(w, r)
				return
			}
			if r.URL.Path == feedback.Path {
				ten.Feedback.ServeHTTP(w, r)
				return
			}
			api.ServeHTTP(w, r)
		}),
		Run: func(ctx context.Context) error {
			var wg sync.WaitGroup
			wg.Go(func() { batch.Keep(ctx, ten.Store, bc.Retention.D(), time.Now, log) })
			if resume != nil {
				wg.Go(func() { resume(ctx) })
			}
			err := q.Run(ctx, bc.Workers, runner.Run)
			wg.Wait()
			return err
		},
		Close: q.Close,
	}, nil
}
