// Package redisbacked holds what the Redis rate limiter (internal/ratelimit)
// and the Redis budgets (internal/budget) share: the defaults of their
// common options, ids unique across replicas for the leases and holds they
// write into Redis, and the rule that decides whether a call's Redis answer
// stands or the caller serves it from its local fallback.
package redisbacked

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchyard-gw/switchyard/internal/fallback"
)

// Options are the options that ratelimit.RedisOptions and
// budget.RedisOptions have in common; those document them for users. Zero
// values take the defaults.
type Options struct {
	// Replicas is how many gateway replicas share the Redis; the caller's
	// local fallback enforces a 1/Replicas share. Default 1.
	Replicas int
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives one line per transition to and from the fallback;
	// default discards.
	Logger *slog.Logger
	// ProbeInterval is how often, while in fallback, one call tries Redis
	// again. Default 1s.
	ProbeInterval time.Duration
	// SettleTimeout bounds the Redis call made by a settle, which runs after
	// the request's context is gone. Default 2s.
	SettleTimeout time.Duration
	// InstanceID makes the ids of NewID unique across replicas; default 8
	// random bytes in hex.
	InstanceID string
}

// withDefaults returns o with every zero (or negative) field set to its
// default.
func (o Options) withDefaults() Options {
	if o.Replicas < 1 {
		o.Replicas = 1
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ProbeInterval <= 0 {
		o.ProbeInterval = time.Second
	}
	if o.SettleTimeout <= 0 {
		o.SettleTimeout = 2 * time.Second
	}
	if o.InstanceID == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		o.InstanceID = hex.EncodeToString(b[:])
	}
	return o
}

// Backend is the Redis side of a store that falls back to a local stand-in
// when Redis fails: the client, the key prefix, the options with their
// defaults, and the switch that tracks whether Redis is down. Its fields
// are read-only after New. Safe for concurrent use.
type Backend struct {
	Client *redis.Client
	// Prefix begins every key the store writes.
	Prefix string
	Options

	sw  *fallback.Switch
	seq atomic.Uint64

	recover func(context.Context) error // see OnRecover

	mu       sync.Mutex
	deferred []func(context.Context) error // writes to make again (see Defer)
	making   int                           // deferred writes Run has taken and not yet made
	dropped  int                           // deferred writes dropped since the last log line
}

// maxDeferred bounds the writes kept for when Redis answers again.
const maxDeferred = 10000

// New returns a Backend for client whose keys begin with prefix. name says
// what falls back in the log lines ("ratelimit", "budget").
func New(name string, client *redis.Client, prefix string, opts Options) *Backend {
	opts = opts.withDefaults()
	return &Backend{
		Client:  client,
		Prefix:  prefix,
		Options: opts,
		sw:      fallback.New(name, opts.ProbeInterval, opts.Now, opts.Logger),
	}
}

// Fallback reports whether the local fallback is in force because Redis
// failed.
func (b *Backend) Fallback() bool { return b.sw.Active() }

// NewID returns an id unique across replicas and calls, for a lease or a
// hold written into Redis: the instance id and a sequence number.
func (b *Backend) NewID() string {
	return b.InstanceID + ":" + strconv.FormatUint(b.seq.Add(1), 36)
}

// Try makes call against Redis, unless Redis is down and no probe is due,
// and reports whether its result stands (ok). It stands when call succeeded
// or failed with an error of type E, the store's refusal (Redis answered, so
// it is up), and when call failed because ctx ended (the caller gave up, so
// Redis is not to blame). Any other failure is Redis failing: b falls back,
// and ok is false, as it is when the call was not made, so the caller
// serves the request from its local fallback.
func Try[T any, E error](ctx context.Context, b *Backend, call func() (T, error)) (res T, ok bool, err error) {
	if !b.sw.Try() {
		return res, false, nil
	}
	if b.sw.Active() && !b.up() { // a probe: Redis must take the fallback's reservations first
		return res, false, nil
	}
	res, err = call()
	var refusal E
	if err == nil || errors.As(err, &refusal) {
		b.sw.Up()
		return res, true, err
	}
	var zero T
	if ctx.Err() != nil {
		return zero, true, err
	}
	b.sw.Down(err, "replicas", b.Replicas)
	return zero, false, nil
}

// OnRecover sets register, which writes into Redis the reservations
// (budget holds, concurrency slots) made on the local fallback and not yet
// settled nor registered: Backend calls it when Redis answers again, before
// and just after it leaves the fallback, and from Local for a reservation
// made as it left, so every such reservation is registered before, or as,
// the replica admits from Redis again. Without it, the requests admitted
// during an outage and still running would hold nothing in Redis, and the
// fleet would admit the whole limit again beside them. register may run
// more than once at a time and for the same reservation: it must be
// idempotent. Call OnRecover before the Backend is used.
func (b *Backend) OnRecover(register func(context.Context) error) { b.recover = register }

// up leaves the fallback once Redis answers a ping and the OnRecover hook
// has registered the fallback's reservations in Redis, and reports
// whether it did; if either fails, the fallback stays (or is again) in
// force. The ping comes first: with no reservation to register the hook
// makes no Redis call, and it must not stand for Redis answering (every
// probe of an outage would then end it, and the stores start their next
// fallback afresh). The hook runs again after leaving, for reservations
// made while it ran (Local registers those made after).
func (b *Backend) up() bool {
	if !b.sw.Active() {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.SettleTimeout)
	err := b.Client.Ping(ctx).Err()
	cancel()
	if err != nil {
		b.sw.Down(err, "replicas", b.Replicas)
		return false
	}
	if !b.register() {
		return false
	}
	b.sw.Up()
	return b.register()
}

// register runs the OnRecover hook, and falls back if it fails.
func (b *Backend) register() bool {
	if b.recover == nil {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.SettleTimeout)
	defer cancel()
	if err := b.recover(ctx); err != nil {
		b.sw.Down(err, "replicas", b.Replicas)
		return false
	}
	return true
}

// Local is called by a store right after it recorded a reservation made
// on its local fallback where the OnRecover hook finds it. If Redis has
// answered again since the caller fell back, the hook runs now for it (if
// that fails, the fallback is in force again, so the next recovery
// registers it).
func (b *Backend) Local() {
	if !b.sw.Active() {
		b.register()
	}
}

// Defer keeps write, a Redis write that failed (a settle: spend to add, a
// hold or a concurrency slot to free), to be made again once Redis
// answers; Run makes it. Without it the spend would be missing from Redis
// and the hold or slot taken until it expires. At most maxDeferred are
// kept, the oldest dropped first (logged).
func (b *Backend) Defer(write func(context.Context) error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.deferred) >= maxDeferred {
		b.deferred = b.deferred[1:]
		b.dropped++
	}
	b.deferred = append(b.deferred, write)
}

// Deferred is how many writes wait for Redis, or are being made.
func (b *Backend) Deferred() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.deferred) + b.making
}

// Run, until ctx ends, looks at Redis once per ProbeInterval: while in
// the fallback it pings Redis and leaves the fallback when it answers (so
// the switch back does not wait for a request), and once Redis answers it
// makes the deferred writes, oldest first, stopping at the first failure.
// When ctx ends (the process stops, after its requests settled) it tries
// the deferred writes once more, for finalWait at most, and logs those
// it could not make: the spend they hold is missing from Redis.
func (b *Backend) Run(ctx context.Context) {
	t := time.NewTicker(b.ProbeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			b.final()
			return
		case <-t.C:
			b.retry(ctx)
		}
	}
}

// finalWait bounds Run's last try of the deferred writes as it stops.
const finalWait = 5 * time.Second

// final is Run's last round, as the process stops: without it, spend
// counted while Redis failed would be lost with the process, and the other
// replicas would admit against a total short of it.
func (b *Backend) final() {
	if b.Deferred() == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), finalWait)
	defer cancel()
	b.retry(ctx)
	b.mu.Lock()
	lost := len(b.deferred) + b.dropped
	b.mu.Unlock()
	if lost > 0 {
		b.Logger.Error(b.sw.Name()+": deferred redis writes lost at shutdown: redis did not take them; the spend and holds they carry are missing from redis", "writes", lost)
	}
}

// retry is one round of Run.
func (b *Backend) retry(ctx context.Context) {
	if !b.up() { // Redis must answer and take the fallback's reservations first
		return
	}
	b.mu.Lock()
	writes, dropped := b.deferred, b.dropped
	b.deferred, b.dropped, b.making = nil, 0, len(writes)
	b.mu.Unlock()
	if dropped > 0 {
		b.Logger.Warn(b.sw.Name()+": deferred redis writes dropped while redis was unavailable", "dropped", dropped)
	}
	for i, write := range writes {
		wctx, cancel := context.WithTimeout(ctx, b.SettleTimeout)
		err := write(wctx)
		cancel()
		b.mu.Lock()
		b.making--
		if err != nil {
			b.deferred = append(writes[i:], b.deferred...)
			if over := len(b.deferred) - maxDeferred; over > 0 {
				b.deferred, b.dropped = b.deferred[over:], b.dropped+over
			}
			b.making = 0
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
	}
	if len(writes) > 0 {
		b.Logger.Info(b.sw.Name()+": deferred redis writes made", "writes", len(writes))
	}
}

// WhileUp calls refresh every ProbeInterval while Redis answers (never in
// the fallback), until ctx ends: the budget and rate-limit stores read
// the fleet's counters so, for a fallback to start from. A failed refresh
// leaves the figures last read.
func (b *Backend) WhileUp(ctx context.Context, refresh func(context.Context) error) {
	t := time.NewTicker(b.ProbeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !b.Fallback() {
			_ = refresh(ctx)
		}
	}
}

// readBatch bounds the hashes ReadHashes reads in one pipeline.
const readBatch = 500

// ReadHashes reads fields of each hash in keys (HMGET), readBatch keys a
// pipeline, each bounded by SettleTimeout, and gives each pipeline's
// answers to got: vals[j] is keys[from+j]'s, nil when that read failed.
// The caller holds no lock across the Redis calls; got takes its own.
func (b *Backend) ReadHashes(ctx context.Context, keys []string, fields []string, got func(from int, vals [][]any)) error {
	for from := 0; from < len(keys); from += readBatch {
		batch := keys[from:min(from+readBatch, len(keys))]
		cctx, cancel := context.WithTimeout(ctx, b.SettleTimeout)
		cmds, err := b.Client.Pipelined(cctx, func(p redis.Pipeliner) error {
			for _, k := range batch {
				p.HMGet(cctx, k, fields...)
			}
			return nil
		})
		cancel()
		if err != nil {
			return err
		}
		vals := make([][]any, len(cmds))
		for j, c := range cmds {
			if v, err := c.(*redis.SliceCmd).Result(); err == nil && len(v) == len(fields) {
				vals[j] = v
			}
		}
		got(from, vals)
	}
	return nil
}
