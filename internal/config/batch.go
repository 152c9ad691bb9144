package config

import (
	"net/url"
	"strings"
	"time"
)

// Defaults of the batch section; docs/config.md lists them for users.
const (
	DefaultBatchWorkers      = 2
	DefaultBatchConcurrency  = 4
	DefaultBatchMaxFileBytes = 100 << 20
	DefaultBatchMaxRequests  = 50000
	DefaultBatchStream       = "SWITCHYARD_BATCHES"
	DefaultBatchRetention    = 30 * 24 * time.Hour
	// MinBatchRetention keeps a batch's input for its whole 24-hour
	// window and a day to fetch the answers.
	MinBatchRetention = 48 * time.Hour
	DefaultBatchLease = 30 * time.Second
	// MinBatchLease leaves a running batch's renewals (every third of
	// the lease) room for a slow store.
	MinBatchLease = 3 * time.Second
)

// BatchQueueEmbedded is the value of batch.queue that runs batches in
// the replica that accepted them.
const BatchQueueEmbedded = "embedded"

// Batch is the OpenAI Files and Batch APIs: a client uploads a JSONL file
// of requests, creates a batch over it, and later downloads the answers.
// The gateway runs every line through its own request path (the creating
// key's routes, limits and budgets; usage recorded per line).
type Batch struct {
	// Queue says who runs a batch: embedded (the default; the replica
	// that accepted it, resuming unfinished batches when it restarts) or
	// a nats://HOST:PORT URL of a NATS server with JetStream, whose work
	// queue hands each batch to one replica and to another if that one
	// dies. Changing it needs a restart.
	Queue DSN `yaml:"queue"`
	// Stream is the JetStream stream (and subject prefix) of the NATS
	// queue; default SWITCHYARD_BATCHES.
	Stream string `yaml:"stream"`
	// Workers is how many batches one replica runs at once; default 2.
	Workers int `yaml:"workers"`
	// Concurrency is how many lines of one batch are in flight at once;
	// default 4.
	Concurrency int `yaml:"concurrency"`
	// MaxFileBytes is the largest file a client may upload; default 100 MiB.
	MaxFileBytes int64 `yaml:"max_file_bytes"`
	// MaxRequests is the most lines one batch may have; default 50,000.
	MaxRequests int `yaml:"max_requests"`
	// Retention is how long files and finished batches are kept (their
	// expires_at); default 720h (30 days), at least 48h.
	Retention Duration `yaml:"retention"`
	// Lease is how long a replica's hold on a running batch lasts without
	// renewal (it renews every third of it): another replica takes the
	// batch over only after it lapses. With the embedded queue, every
	// replica also looks for lapsed batches this often. Default 30s, at
	// least 3s.
	Lease Duration `yaml:"lease"`
	// WorkerID names this replica in batch leases, for a replica whose
	// name outlives a restart (a StatefulSet pod's, ${HOSTNAME}): a
	// restarted replica with the same name resumes its batches at once,
	// instead of when their leases lapse. Live replicas must never
	// share one. Default: a new random name at every start.
	WorkerID string `yaml:"worker_id"`
}

func (c *Config) applyBatchDefaults() {
	b := &c.Batch
	if b.Queue == "" {
		b.Queue = BatchQueueEmbedded
	}
	if b.Stream == "" {
		b.Stream = DefaultBatchStream
	}
	setInt(&b.Workers, DefaultBatchWorkers)
	setInt(&b.Concurrency, DefaultBatchConcurrency)
	if b.MaxFileBytes == 0 {
		b.MaxFileBytes = DefaultBatchMaxFileBytes
	}
	setInt(&b.MaxRequests, DefaultBatchMaxRequests)
	setDur(&b.Retention, DefaultBatchRetention)
	setDur(&b.Lease, DefaultBatchLease)
}

// validateBatch checks the batch section; it never quotes the queue URL.
func (c *Config) validateBatch(v *validator) {
	b := c.Batch
	q := b.Queue.Value()
	switch {
	case q == BatchQueueEmbedded:
	case strings.HasPrefix(q, "nats://") || strings.HasPrefix(q, "tls://"):
		// NATS takes a comma-separated list of servers. Each must parse
		// here: the client's error for one that does not quotes it,
		// password and all (a '/' or '%' not percent-encoded in it).
		for _, server := range strings.Split(q, ",") {
			if u, err := url.Parse(strings.TrimSpace(server)); err != nil || u.Host == "" {
				v.add("batch.queue", "is not a valid URL (percent-encode a '/', '%%' or '@' in its password)")
				break
			}
		}
	default:
		v.add("batch.queue", "want embedded or nats://..., got scheme %q", scheme(q))
	}
	for _, r := range b.Stream {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			v.add("batch.stream", "may hold only letters, digits, _ and -, got %q", b.Stream)
			break
		}
	}
	v.boundedInt("batch.workers", int64(b.Workers), MaxBatchWorkers)
	v.boundedInt("batch.concurrency", int64(b.Concurrency), MaxBatchConcurrency)
	v.boundedInt("batch.max_file_bytes", b.MaxFileBytes, MaxBatchFileBytes)
	v.boundedInt("batch.max_requests", int64(b.MaxRequests), MaxBatchRequests)
	if b.Retention.D() < MinBatchRetention {
		v.add("batch.retention", "must be at least %v, got %v", MinBatchRetention, b.Retention.D())
	}
	if len(b.WorkerID) > 128 || strings.ContainsFunc(b.WorkerID, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		v.add("batch.worker_id", "must be at most 128 characters, none of them control characters")
	}
	if b.Lease.D() < MinBatchLease {
		v.add("batch.lease", "must be at least %v, got %v", MinBatchLease, b.Lease.D())
	}
}
