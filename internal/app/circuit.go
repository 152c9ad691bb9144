package app

import (
	"context"
	"log/slog"

	"github.com/switchyard-gw/switchyard/internal/circuit"
	"github.com/switchyard-gw/switchyard/internal/executor"
)

// shareCircuits passes circuit changes between replicas through the
// limits Redis (channel PREFIX + "circuit") until ctx ends; the returned
// function waits for that. Without Redis each replica keeps its own.
func shareCircuits(ctx context.Context, ten *Tenancy, exec *executor.Executor, log *slog.Logger) (wait func()) {
	if ten.Redis == nil {
		return func() {}
	}
	sh := circuit.New(ten.Redis, ten.RedisPrefix+"circuit", exec, log)
	exec.OnCircuit(sh.Notify)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = sh.Run(ctx)
	}()
	return func() { <-done }
}
