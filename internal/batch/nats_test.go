package batch

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/batch/natstest"
	"github.com/switchyard-gw/switchyard/internal/clocktest"
)

// deliveries counts what a queue handed to a handler.
type deliveries struct {
	mu  sync.Mutex
	ids []string
}

func (d *deliveries) add(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ids = append(d.ids, id)
}

func (d *deliveries) count(id string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, v := range d.ids {
		if v == id {
			n++
		}
	}
	return n
}

func newNATS(t *testing.T, stream string) *NATS {
	t.Helper()
	q, err := NewNATS(context.Background(), NATSOptions{URL: natstest.URL, Stream: stream, AckWait: 3 * time.Second, Retry: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	return q
}

// TestNATSQueueHandsOverAndRetries runs two replicas' queues on one
// stream: a batch the stopping replica was running goes to the other at
// once, and a batch whose run failed is delivered again.
func TestNATSQueueHandsOverAndRetries(t *testing.T) {
	stream := natstest.Stream(t)
	q1, q2 := newNATS(t, stream), newNATS(t, stream)

	ctx1, stop1 := context.WithCancel(context.Background())
	started := make(chan string, 4)
	done1 := make(chan error, 1)
	go func() {
		done1 <- q1.Run(ctx1, 1, func(ctx context.Context, id string) error {
			started <- id
			<-ctx.Done() // a long batch, still running when the replica stops
			return ctx.Err()
		})
	}()
	if err := q1.Publish(context.Background(), "batch_a"); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-started:
		if id != "batch_a" {
			t.Fatalf("replica 1 got %q", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("replica 1 got no batch")
	}

	var got deliveries
	ctx2, stop2 := context.WithCancel(context.Background())
	done2 := make(chan error, 1)
	go func() {
		done2 <- q2.Run(ctx2, 2, func(ctx context.Context, id string) error {
			got.add(id)
			if id == "batch_b" && got.count(id) == 1 {
				return errors.New("store unreachable")
			}
			return nil
		})
	}()
	stop1()
	if err := <-done1; !errors.Is(err, context.Canceled) {
		t.Errorf("replica 1 Run: got %v, want context.Canceled", err)
	}
	// Well before the 3s ack wait: the stopping replica handed it back.
	clocktest.WaitFor(t, "replica 2 to take over batch_a", func() bool { return got.count("batch_a") == 1 })

	if err := q2.Publish(context.Background(), "batch_b"); err != nil {
		t.Fatal(err)
	}
	clocktest.WaitFor(t, "batch_b to be delivered again after its failure", func() bool { return got.count("batch_b") == 2 })
	stop2()
	if err := <-done2; !errors.Is(err, context.Canceled) {
		t.Errorf("replica 2 Run: got %v, want context.Canceled", err)
	}
	if n := got.count("batch_a"); n != 1 {
		t.Errorf("batch_a delivered %d times to replica 2, want once (it was acknowledged)", n)
	}
}
