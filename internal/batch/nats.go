package batch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// NATSOptions configure a NATS queue.
type NATSOptions struct {
	// URL is the NATS server (nats://HOST:PORT); JetStream must be on.
	URL string
	// Stream is the JetStream stream; its subject is Stream + ".run".
	Stream string
	// AckWait is how long a replica may go silent on a batch before
	// another takes it over; the worker reports progress every third of
	// it. Default 60s.
	AckWait time.Duration
	// Retry is how long a batch whose run failed waits before it is
	// tried again; default 10s.
	Retry  time.Duration
	Logger *slog.Logger
}

// NATS is a queue shared by replicas: a JetStream work-queue stream with
// one durable pull consumer that every replica pulls from, so each batch
// goes to one replica. The message is acknowledged when the batch is
// finished; a replica that stops hands its batches back (a negative
// acknowledgement), and one that dies lets its acknowledgement time
// out, so another replica resumes them.
type NATS struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	cons    jetstream.Consumer
	subject string
	ackWait time.Duration
	retry   time.Duration
	log     *slog.Logger
}

// NewNATS connects to the server and creates (or updates) the stream and
// the consumer.
func NewNATS(ctx context.Context, o NATSOptions) (*NATS, error) {
	if o.AckWait <= 0 {
		o.AckWait = time.Minute
	}
	if o.Retry <= 0 {
		o.Retry = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	nc, err := nats.Connect(o.URL, nats.Name("switchyard"), nats.Timeout(5*time.Second), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("batch: connect to NATS: %w", err)
	}
	q := &NATS{nc: nc, subject: o.Stream + ".run", ackWait: o.AckWait, retry: o.Retry, log: o.Logger}
	if q.js, err = jetstream.New(nc); err != nil {
		nc.Close()
		return nil, fmt.Errorf("batch: JetStream: %w", err)
	}
	if _, err := q.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: o.Stream, Subjects: []string{q.subject}, Retention: jetstream.WorkQueuePolicy,
		Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute,
	}); err != nil {
		nc.Close()
		return nil, fmt.Errorf("batch: JetStream stream %s: %w", o.Stream, err)
	}
	q.cons, err = q.js.CreateOrUpdateConsumer(ctx, o.Stream, jetstream.ConsumerConfig{
		Durable: "workers", AckPolicy: jetstream.AckExplicitPolicy, AckWait: o.AckWait,
		FilterSubject: q.subject, MaxDeliver: -1,
	})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("batch: JetStream consumer: %w", err)
	}
	return q, nil
}

// Publish queues batchID; a second publish of the same ID within two
// minutes is dropped by the stream.
func (q *NATS) Publish(ctx context.Context, batchID string) error {
	_, err := q.js.Publish(ctx, q.subject, []byte(batchID), jetstream.WithMsgID(batchID))
	return err
}

// Run pulls one batch per free worker until ctx ends, then hands back the
// batches it was running and returns.
func (q *NATS) Run(ctx context.Context, workers int, handle func(context.Context, string) error) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, workers)
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		mb, err := q.cons.Fetch(1, jetstream.FetchContext(ctx))
		if err != nil {
			<-slots
			if ctx.Err() != nil {
				return ctx.Err()
			}
			q.log.Warn("batch: NATS fetch failed", "err", err)
			if !pause(ctx, time.Second) {
				return ctx.Err()
			}
			continue
		}
		got := false
		for msg := range mb.Messages() {
			got = true
			wg.Go(func() {
				defer func() { <-slots }()
				q.deliver(ctx, msg, handle)
			})
		}
		if !got {
			<-slots
		}
		if err := mb.Error(); err != nil && ctx.Err() == nil && !errors.Is(err, nats.ErrTimeout) {
			q.log.Debug("batch: NATS fetch ended", "err", err)
		}
	}
}

// deliver runs one batch, reporting progress so the server does not hand
// it to another replica meanwhile, and settles the message.
func (q *NATS) deliver(ctx context.Context, msg jetstream.Msg, handle func(context.Context, string) error) {
	id := string(msg.Data())
	hctx, stop := context.WithCancel(ctx)
	beat := make(chan struct{})
	go func() {
		defer close(beat)
		t := time.NewTicker(q.ackWait / 3)
		defer t.Stop()
		for {
			select {
			case <-hctx.Done():
				return
			case <-t.C:
				if err := msg.InProgress(); err != nil {
					q.log.Warn("batch: NATS progress report failed", "batch", id, "err", err)
				}
			}
		}
	}()
	err := handle(hctx, id)
	stop()
	<-beat
	var th *Throttled
	switch {
	case err == nil:
		err = msg.Ack()
	case ctx.Err() != nil:
		err = msg.Nak() // stopping: another replica resumes it now
	case errors.Is(err, ErrHeld):
		// Another replica runs it; look again later, in case it dies.
		err = msg.NakWithDelay(q.retry)
	case errors.As(err, &th):
		// Given back while its key's rate limit refuses it: the
		// batches queued meanwhile go first.
		err = msg.NakWithDelay(th.Wait)
	default:
		q.log.Warn("batch: will retry", "batch", id, "in", q.retry, "err", err)
		err = msg.NakWithDelay(q.retry)
	}
	if err != nil {
		q.log.Warn("batch: NATS acknowledgement failed; the batch is redelivered after the ack wait", "batch", id, "err", err)
	}
}

// Close closes the connection.
func (q *NATS) Close() { q.nc.Close() }

// pause waits d or until ctx ends; it reports whether ctx is still live.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
