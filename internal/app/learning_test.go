package app

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/logtest"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// slowLearning is a LearningStore whose PutPrompt waits for release, then
// fails when failing is set.
type slowLearning struct {
	store.LearningStore
	release chan struct{}
	mu      sync.Mutex
	put     []string
	failing bool
}

func (s *slowLearning) PutPrompt(ctx context.Context, p store.CapturedPrompt) error {
	select {
	case <-s.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing {
		return errors.New("store down")
	}
	s.put = append(s.put, p.RequestID)
	return nil
}

// TestPromptLedgerNeverBlocks: captures beyond the queue are dropped and
// counted (the request path never waits for the store); what is queued
// is written, also after the context ends; store failures are counted.
func TestPromptLedgerNeverBlocks(t *testing.T) {
	logs := &logtest.Buffer{}
	st := &slowLearning{release: make(chan struct{})}
	p := newPromptLedger(nil, st, slog.New(slog.NewJSONHandler(logs, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.run(ctx); close(done) }()

	// With the store stuck, a capture that waited would hang here.
	for i := range capturedQueue + 50 {
		p.CapturePrompt(store.CapturedPrompt{RequestID: "req_" + string(rune('a'+i%26))})
	}
	// One prompt is with the writer; the queue holds capturedQueue more.
	if got := p.dropped.Load(); got < 49 || got > 50 {
		t.Errorf("dropped %d, want the 49 or 50 beyond the queue", got)
	}
	if !strings.Contains(logs.String(), "captured prompts dropped") {
		t.Error("no log line for dropped prompts")
	}
	cancel() // what is queued is still written
	close(st.release)
	<-done
	if got := int64(len(st.put)); got+p.dropped.Load() != capturedQueue+50 || p.stored.Load() != got {
		t.Errorf("stored %d (counted %d), dropped %d of %d", got, p.stored.Load(), p.dropped.Load(), capturedQueue+50)
	}

	// A failing store: counted and logged, nothing stored.
	st2 := &slowLearning{release: make(chan struct{}), failing: true}
	close(st2.release)
	p2 := newPromptLedger(nil, st2, slog.New(slog.NewJSONHandler(logs, nil)))
	ctx2, cancel2 := context.WithCancel(context.Background())
	done2 := make(chan struct{})
	go func() { p2.run(ctx2); close(done2) }()
	p2.CapturePrompt(store.CapturedPrompt{RequestID: "req_x"})
	cancel2()
	<-done2
	if p2.failed.Load() != 1 || p2.stored.Load() != 0 || !strings.Contains(logs.String(), "captured prompt was not stored") {
		t.Errorf("failing store: failed %d, stored %d", p2.failed.Load(), p2.stored.Load())
	}
}
