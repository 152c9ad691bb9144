package app

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/usage"
)

// capturedQueue bounds the captured prompts waiting for the store.
const capturedQueue = 1024

// promptLedger is the usage ledger that also keeps captured prompts
// (gateway.PromptRecorder), written by their own goroutine: a prompt
// finding the queue full is dropped (it is training data, not a record of
// what was spent) and counted.
type promptLedger struct {
	*usage.Ledger
	st      store.LearningStore
	log     *slog.Logger
	ch      chan store.CapturedPrompt
	dropped atomic.Int64
	stored  atomic.Int64
	failed  atomic.Int64
}

var descCaptured = prometheus.NewDesc("switchyard_captured_prompts_total",
	"Prompts of routes with capture_prompts, by result: stored, dropped (the queue was full), failed (the store failed).",
	[]string{"result"}, nil)

// Describe and Collect export switchyard_captured_prompts_total.
func (p *promptLedger) Describe(ch chan<- *prometheus.Desc) { ch <- descCaptured }

func (p *promptLedger) Collect(ch chan<- prometheus.Metric) {
	for result, n := range map[string]*atomic.Int64{"stored": &p.stored, "dropped": &p.dropped, "failed": &p.failed} {
		ch <- prometheus.MustNewConstMetric(descCaptured, prometheus.CounterValue, float64(n.Load()), result)
	}
}

func newPromptLedger(l *usage.Ledger, st store.LearningStore, log *slog.Logger) *promptLedger {
	return &promptLedger{Ledger: l, st: st, log: log, ch: make(chan store.CapturedPrompt, capturedQueue)}
}

// CapturePrompt implements gateway.PromptRecorder.
func (p *promptLedger) CapturePrompt(c store.CapturedPrompt) {
	select {
	case p.ch <- c:
	default:
		if p.dropped.Add(1)%100 == 1 {
			p.log.Warn("learning: captured prompts dropped, the store is behind", "dropped_total", p.dropped.Load())
		}
	}
}

// run writes captured prompts until ctx ends, then what is queued.
func (p *promptLedger) run(ctx context.Context) {
	write := func(c store.CapturedPrompt) {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := p.st.PutPrompt(wctx, c); err != nil {
			p.failed.Add(1)
			p.log.Warn("learning: a captured prompt was not stored", "err", err)
			return
		}
		p.stored.Add(1)
	}
	for {
		select {
		case c := <-p.ch:
			write(c)
		case <-ctx.Done():
			for {
				select {
				case c := <-p.ch:
					write(c)
				default:
					return
				}
			}
		}
	}
}

// sweepLearning deletes captured prompts and feedback older than
// retention, at start and then hourly, until ctx ends.
func sweepLearning(ctx context.Context, st store.LearningStore, retention time.Duration, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := st.DeleteLearningBefore(ctx, time.Now().Add(-retention)); err != nil && ctx.Err() == nil {
			log.Warn("learning: retention sweep failed", "err", err)
		} else if n > 0 {
			log.Info("learning: retention sweep", "deleted", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
