package batch

import (
	"context"
	"log/slog"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// sweepEvery is how often Keep deletes what outlived the retention.
const sweepEvery = time.Hour

// Sweep deletes files and finished batches created more than retention
// before now, and files past their own expiry (expires_after,
// output_expires_after); the input files of running batches stay.
func Sweep(ctx context.Context, st store.Store, retention time.Duration, now time.Time, log *slog.Logger) error {
	files, batches, err := st.DeleteBatchDataBefore(ctx, now.Add(-retention))
	if err != nil {
		return err
	}
	if files+batches > 0 && log != nil {
		log.Info("batch: deleted what outlived the retention", "files", files, "batches", batches, "retention", retention)
	}
	own, err := sweepOwnExpiry(ctx, st, now)
	if own > 0 && log != nil {
		log.Info("batch: deleted files past their own expiry", "files", own)
	}
	return err
}

// Keep runs Sweep at once and then every hour until ctx ends. Every
// replica may run it: the deletes are idempotent.
func Keep(ctx context.Context, st store.Store, retention time.Duration, now func() time.Time, log *slog.Logger) {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		if err := Sweep(ctx, st, retention, now(), log); err != nil && ctx.Err() == nil && log != nil {
			log.Warn("batch: retention sweep failed; next try in an hour", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
