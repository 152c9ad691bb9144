package batch

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/gateway"
)

// TestRunLineCutByShutdown: a line in flight when the replica stops has
// its request ended with gateway.ErrShuttingDown as the cause, as a
// client request cut by the server's shutdown is, so the gateway records
// it as "shutdown", not as a client that cancelled.
func TestRunLineCutByShutdown(t *testing.T) {
	f := newRunFixture(t, 1, 24*time.Hour)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	cause := make(chan error, 1)
	r := f.runner("me", 1, time.Hour, func(w http.ResponseWriter, req *http.Request) {
		stop() // SIGTERM while the line runs
		<-req.Context().Done()
		cause <- context.Cause(req.Context())
	})
	if err := r.Run(ctx, f.id); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v, want context.Canceled", err)
	}
	if got := <-cause; !errors.Is(got, gateway.ErrShuttingDown) {
		t.Errorf("the line's request ended with cause %v, want gateway.ErrShuttingDown", got)
	}
}
