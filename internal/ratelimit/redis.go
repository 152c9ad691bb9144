package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchyard-gw/switchyard/internal/redisbacked"
)

// RedisOptions tunes NewRedis. Zero values take the documented defaults.
type RedisOptions struct {
	// Replicas is how many gateway replicas share the Redis; while Redis is
	// unreachable each replica enforces every limit divided by Replicas
	// (rounded up). Default 1.
	Replicas int
	// Now is the clock; default time.Now. Replicas' clocks should agree to
	// within a few milliseconds (NTP): skew only shifts refill slightly.
	Now func() time.Time
	// Logger receives one line per transition to and from the fallback;
	// default discards.
	Logger *slog.Logger
	// LeaseTTL bounds how long a concurrency slot is held when its replica
	// dies before settling. While Run runs, the replica renews the slots of
	// its requests in flight every LeaseTTL/3, so a request (a Realtime
	// session) may last longer. Default 10m.
	LeaseTTL time.Duration
	// ProbeInterval is how often, while in fallback, one request tries
	// Redis again, and how often Run looks whether leases are due for
	// renewal (at most LeaseTTL/3). Default 1s.
	ProbeInterval time.Duration
	// SettleTimeout bounds the Redis call made by Ticket.Settle. Default 2s.
	SettleTimeout time.Duration
	// InstanceID makes concurrency lease ids unique across replicas;
	// default 8 random bytes in hex.
	InstanceID string
}

// Redis is a Limiter whose state lives in Redis, so limits hold across
// replicas. When Redis fails it falls back to a local Memory limiter with
// every limit divided by Replicas, never to no limit.
type Redis struct {
	backend  *redisbacked.Backend
	leaseTTL time.Duration
	local    *Memory

	// held are the tickets with a concurrency lease not settled yet,
	// whose leases Run renews.
	mu   sync.Mutex
	held map[*redisTicket]struct{}
	// seen is, per scope key, its Redis buckets as last read (admits,
	// and Run's refresh), to seed the fallback with.
	seen map[string]seenBucket
	// seeded are the scope keys whose fallback state was seeded in this
	// outage; cleared when Redis answers again.
	seeded map[string]bool

	// pending are the fallback tickets with a concurrency slot, not
	// settled and not yet leased in Redis; register leases them there once
	// Redis answers again.
	pmu     sync.Mutex
	pending map[*fallbackTicket]struct{}
}

var _ Limiter = (*Redis)(nil)

// NewRedis returns a Limiter storing its state in client under keys that
// begin with prefix. All keys share one Redis Cluster hash tag so the
// multi-scope scripts are legal there.
func NewRedis(client *redis.Client, prefix string, opts RedisOptions) *Redis {
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = 10 * time.Minute
	}
	b := redisbacked.New("ratelimit", client, prefix+"{rl}:", redisbacked.Options{
		Replicas: opts.Replicas, Now: opts.Now, Logger: opts.Logger,
		ProbeInterval: opts.ProbeInterval, SettleTimeout: opts.SettleTimeout, InstanceID: opts.InstanceID,
	})
	r := &Redis{backend: b, leaseTTL: opts.LeaseTTL, local: NewMemory(b.Now), held: map[*redisTicket]struct{}{}, seen: map[string]seenBucket{}, seeded: map[string]bool{}, pending: map[*fallbackTicket]struct{}{}}
	b.OnRecover(r.register)
	return r
}

// Fallback reports whether the limiter is currently enforcing local limits
// because Redis failed.
func (r *Redis) Fallback() bool { return r.backend.Fallback() }

// Admit implements Limiter.
func (r *Redis) Admit(ctx context.Context, req Request) (Ticket, error) {
	t, ok, err := redisbacked.Try[Ticket, *Error](ctx, r.backend, func() (Ticket, error) {
		return r.admitRedis(ctx, req)
	})
	if ok {
		return t, err
	}
	r.seedLocal(req.Scopes)
	local, err := r.local.Admit(ctx, r.divide(req))
	if err != nil {
		return nil, err
	}
	// Its concurrency slots are leased in Redis too once Redis answers.
	rt := &redisTicket{r: r, id: r.backend.NewID(), local: true}
	for _, s := range req.Scopes {
		if s.MaxConcurrent > 0 {
			rt.scopes = append(rt.scopes, Scope{Key: s.Key, MaxConcurrent: s.MaxConcurrent})
			rt.leases = append(rt.leases, r.backend.Prefix+"c:"+s.Key)
		}
	}
	if rt.leases == nil {
		return local, nil
	}
	f := &fallbackTicket{Ticket: local, rt: rt}
	r.pmu.Lock()
	r.pending[f] = struct{}{}
	r.pmu.Unlock()
	r.backend.Local()
	return f, nil
}

// seenBucket is a scope's Redis buckets as last read: the limits they
// were kept for, and their tokens at unix ms rl and tl (has*: the bucket
// exists; a missing one is full).
type seenBucket struct {
	rpm, tpm   int
	r, t       float64
	rl, tl     int64
	hasR, hasT bool
}

// fleet is the tokens b's bucket of limit holds at now (ms), refilled.
func fleetTokens(tokens float64, last int64, limit int, now int64) float64 {
	l := float64(limit)
	if now > last {
		tokens += float64(now-last) * l / 60000
	}
	return min(tokens, l)
}

// seedLocal starts the fallback state of each scope not seeded yet in
// this outage from what Redis held: its share of the tokens left in its
// fleet buckets (as last read: at most a ProbeInterval old while Run
// runs), refilled since, and, as its requests in flight, this replica's
// requests admitted through Redis and still running. So the replicas'
// shares together admit about what the fleet's buckets and max_concurrent
// would have, not a full bucket each.
func (r *Redis) seedLocal(scopes []Scope) {
	n := r.backend.Replicas
	now := r.backend.Now().UnixMilli()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range scopes {
		if r.seeded[s.Key] {
			continue
		}
		r.seeded[s.Key] = true
		rpm, tpm := 0, 0
		var rt, tt float64
		if b, ok := r.seen[s.Key]; ok {
			if b.hasR && s.RPM > 0 {
				rpm, rt = ceilDiv(s.RPM, n), fleetTokens(b.r, b.rl, s.RPM, now)/float64(n)
			}
			if b.hasT && s.TPM > 0 {
				tpm, tt = ceilDiv(s.TPM, n), fleetTokens(b.t, b.tl, s.TPM, now)/float64(n)
			}
		}
		inflight := 0
		if s.MaxConcurrent > 0 {
			lease := r.backend.Prefix + "c:" + s.Key
			for t := range r.held {
				if !t.local && slices.Contains(t.leases, lease) && !slices.Contains(t.adopted, s.Key) {
					t.adopted = append(t.adopted, s.Key)
					inflight++
				}
			}
		}
		r.local.seedBuckets(s.Key, rpm, tpm, rt, tt, inflight)
	}
}

// fallbackTicket is a ticket with a concurrency slot admitted by the local
// fallback while Redis was down. Once Redis answers, its slots are leased
// there too (register), as an admission made there would be (renewed by
// Run), and its settle releases them.
type fallbackTicket struct {
	Ticket
	rt         *redisTicket // its leases, once registered
	settled    atomic.Bool
	registered bool // guarded by rt.r.pmu
}

func (f *fallbackTicket) Settle(actualTokens int) {
	if !f.settled.CompareAndSwap(false, true) {
		return
	}
	f.Ticket.Settle(actualTokens)
	r := f.rt.r
	r.pmu.Lock()
	delete(r.pending, f)
	registered := f.registered
	r.pmu.Unlock()
	if registered {
		r.mu.Lock()
		delete(r.held, f.rt)
		r.mu.Unlock()
		r.release(f.rt)
	}
}

// release frees the Redis leases of rt (a fallback ticket's, whose scopes
// carry no TPM), now or once Redis answers.
func (r *Redis) release(rt *redisTicket) {
	args := make([]any, 2, 2+3*len(rt.scopes))
	args[0], args[1] = r.backend.Now().UnixMilli(), rt.id
	for range rt.scopes {
		args = append(args, 0, 0, 1)
	}
	keys := r.keys(rt.scopes)
	write := func(ctx context.Context) error { return settleScript.Run(ctx, r.backend.Client, keys, args...).Err() }
	ctx, cancel := context.WithTimeout(context.Background(), r.backend.SettleTimeout)
	defer cancel()
	if err := write(ctx); err != nil {
		r.backend.Logger.Warn("ratelimit: redis settle failed; it is made again once redis answers", "err", err)
		r.backend.Defer(write)
	}
}

// register leases in Redis, expiring after LeaseTTL unless renewed, the
// concurrency slots of every fallback ticket not settled yet, so that the
// replicas admitting from Redis again count them. Redis may then hold more
// leases than max_concurrent: those requests were admitted, and run.
// Writing a lease twice changes nothing, so register may run twice at
// once; a ticket settled while its leases were being written has them
// freed again.
func (r *Redis) register(ctx context.Context) error {
	r.mu.Lock()
	clear(r.seeded) // Redis answers: the next outage seeds afresh
	r.mu.Unlock()
	r.pmu.Lock()
	todo := make([]*fallbackTicket, 0, len(r.pending))
	for f := range r.pending {
		todo = append(todo, f)
	}
	r.pmu.Unlock()
	exp := r.backend.Now().UnixMilli() + r.leaseTTL.Milliseconds()
	for _, f := range todo {
		args := make([]any, 2, 2+len(f.rt.leases))
		args[0], args[1] = exp, r.leaseTTL.Milliseconds()+1000
		for range f.rt.leases {
			args = append(args, f.rt.id)
		}
		if err := leaseScript.Run(ctx, r.backend.Client, f.rt.leases, args...).Err(); err != nil {
			return fmt.Errorf("ratelimit: redis lease of a fallback slot: %w", err)
		}
		r.pmu.Lock()
		_, still := r.pending[f]
		if still {
			f.registered = true
			delete(r.pending, f)
			r.mu.Lock()
			r.held[f.rt] = struct{}{}
			r.mu.Unlock()
		}
		r.pmu.Unlock()
		if !still && f.settled.Load() { // settled meanwhile: these leases may outlive their release
			r.release(f.rt)
		}
	}
	return nil
}

// divide returns req with every limit divided among the replicas.
func (r *Redis) divide(req Request) Request {
	n := r.backend.Replicas
	if n <= 1 {
		return req
	}
	out := Request{Scopes: make([]Scope, len(req.Scopes))}
	for i, s := range req.Scopes {
		s.RPM, s.TPM, s.MaxConcurrent = ceilDiv(s.RPM, n), ceilDiv(s.TPM, n), ceilDiv(s.MaxConcurrent, n)
		out.Scopes[i] = s
	}
	return out
}

func (r *Redis) keys(scopes []Scope) []string {
	keys := make([]string, 0, 2*len(scopes))
	for _, s := range scopes {
		keys = append(keys, r.backend.Prefix+"b:"+s.Key, r.backend.Prefix+"c:"+s.Key)
	}
	return keys
}

func (r *Redis) admitRedis(ctx context.Context, req Request) (Ticket, error) {
	now := r.backend.Now().UnixMilli()
	id := r.backend.NewID()
	args := make([]any, 0, 3+4*len(req.Scopes))
	args = append(args, now, r.leaseTTL.Milliseconds(), id)
	for _, s := range req.Scopes {
		args = append(args, max(s.RPM, 0), max(s.TPM, 0), max(s.MaxConcurrent, 0), max(s.Tokens, 0))
	}
	res, err := admitScript.Run(ctx, r.backend.Client, r.keys(req.Scopes), args...).Slice()
	if err != nil {
		return nil, fmt.Errorf("ratelimit: redis admit: %w", err)
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("ratelimit: redis admit: empty reply")
	}
	if i, _ := res[0].(int64); i != 0 {
		if len(res) != 3 {
			return nil, fmt.Errorf("ratelimit: redis admit: bad reply %v", res)
		}
		lim, _ := res[1].(string)
		ms, _ := res[2].(int64)
		if i < 1 || int(i) > len(req.Scopes) {
			return nil, fmt.Errorf("ratelimit: redis admit: bad reply %v", res)
		}
		return nil, &Error{Scope: req.Scopes[i-1].Key, Limit: Limit(lim), RetryAfter: time.Duration(ms) * time.Millisecond}
	}
	r.remember(req.Scopes, now, res)
	t := &redisTicket{r: r, id: id, scopes: append([]Scope(nil), req.Scopes...)}
	for _, s := range req.Scopes {
		if s.MaxConcurrent > 0 {
			t.leases = append(t.leases, r.backend.Prefix+"c:"+s.Key)
		}
	}
	if t.leases != nil {
		r.mu.Lock()
		r.held[t] = struct{}{}
		r.mu.Unlock()
	}
	return t, nil
}

// remember records the buckets an admission left in Redis (its reply
// res: 0, then per scope rpm and tpm tokens or empty), for seedLocal.
func (r *Redis) remember(scopes []Scope, now int64, res []any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, s := range scopes {
		if 2+2*i >= len(res) {
			break
		}
		rs, _ := res[1+2*i].(string)
		ts, _ := res[2+2*i].(string)
		if rs == "" && ts == "" {
			continue
		}
		b := r.seen[s.Key]
		b.rpm, b.tpm = s.RPM, s.TPM
		if v, err := strconv.ParseFloat(rs, 64); err == nil {
			b.r, b.rl, b.hasR = v, now, true
		}
		if v, err := strconv.ParseFloat(ts, 64); err == nil {
			b.t, b.tl, b.hasT = v, now, true
		}
		r.seen[s.Key] = b
	}
}

// redisTicket is the Ticket of an admission made in Redis.
type redisTicket struct {
	r      *Redis
	id     string
	scopes []Scope
	// leases are the lease sets holding a concurrency slot of the ticket
	// (its scopes with a MaxConcurrent).
	leases []string
	// adopted are the scope keys whose fallback counts the ticket in
	// flight (seedLocal); guarded by r.mu.
	adopted []string
	// local: the leases of a fallbackTicket, which the fallback counts
	// already.
	local   bool
	settled atomic.Bool
}

// Settle implements Ticket. If Redis fails meanwhile, the settle is made
// again once Redis answers (Run), so the concurrency slot is not held until
// its lease expires.
func (t *redisTicket) Settle(actualTokens int) {
	if !t.settled.CompareAndSwap(false, true) {
		return
	}
	r := t.r
	if t.leases != nil {
		r.mu.Lock()
		delete(r.held, t)
		adopted := t.adopted
		r.mu.Unlock()
		for _, k := range adopted {
			r.local.release(k, 1)
		}
	}
	args := make([]any, 0, 2+3*len(t.scopes))
	args = append(args, r.backend.Now().UnixMilli(), t.id)
	work := false
	for _, s := range t.scopes {
		tpm, refund, leased := 0, 0, 0
		if s.TPM > 0 && s.Tokens > 0 {
			tpm, refund = s.TPM, s.Tokens-actualTokens
			work = work || refund != 0
		}
		if s.MaxConcurrent > 0 {
			leased, work = 1, true
		}
		args = append(args, tpm, refund, leased)
	}
	if !work {
		return
	}
	keys := r.keys(t.scopes)
	write := func(ctx context.Context) error { return settleScript.Run(ctx, r.backend.Client, keys, args...).Err() }
	ctx, cancel := context.WithTimeout(context.Background(), r.backend.SettleTimeout)
	defer cancel()
	if err := write(ctx); err != nil {
		r.backend.Logger.Warn("ratelimit: redis settle failed; it is made again once redis answers", "err", err)
		r.backend.Defer(write)
	}
}

// Deferred is how many settles wait for Redis to answer again.
func (r *Redis) Deferred() int { return r.backend.Deferred() }

// Run makes, until ctx ends, the settles that failed once Redis answers
// again, and leaves the fallback as soon as it does (see
// redisbacked.Backend.Run); and it renews the concurrency leases of this
// replica's requests in flight every LeaseTTL/3, so that a slot is held
// for as long as its request lasts, while a dead replica's slots still
// free themselves within LeaseTTL.
func (r *Redis) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { r.backend.Run(ctx) })
	wg.Go(func() { r.renewLoop(ctx) })
	wg.Go(func() { r.backend.WhileUp(ctx, r.refresh) }) // the counters in seen, for a fallback
	wg.Wait()
}

// refresh reads every bucket in seen; a bucket gone from Redis is full, and
// leaves seen.
func (r *Redis) refresh(ctx context.Context) error {
	r.mu.Lock()
	keys := make([]string, 0, len(r.seen))
	hashes := make([]string, 0, len(r.seen))
	for k := range r.seen {
		keys = append(keys, k)
		hashes = append(hashes, r.backend.Prefix+"b:"+k)
	}
	r.mu.Unlock()
	err := r.backend.ReadHashes(ctx, hashes, []string{"r", "rl", "t", "tl"}, func(from int, vals [][]any) {
		r.mu.Lock()
		defer r.mu.Unlock()
		for j, v := range vals {
			k := keys[from+j]
			b, ok := r.seen[k]
			if v == nil || !ok {
				continue
			}
			b.r, b.rl, b.hasR = parseBucket(v[0], v[1])
			b.t, b.tl, b.hasT = parseBucket(v[2], v[3])
			if b.hasR || b.hasT {
				r.seen[k] = b
			} else {
				delete(r.seen, k)
			}
		}
	})
	if err != nil {
		return fmt.Errorf("ratelimit: redis refresh: %w", err)
	}
	return nil
}

// parseBucket reads a bucket's tokens and last refill of an HMGET reply.
func parseBucket(tokens, last any) (float64, int64, bool) {
	ts, _ := tokens.(string)
	ls, _ := last.(string)
	t, err1 := strconv.ParseFloat(ts, 64)
	l, err2 := strconv.ParseFloat(ls, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return t, int64(l), true
}

// renewLoop renews the held leases every LeaseTTL/3 by the limiter's
// clock, looking every ProbeInterval (at most LeaseTTL/3); a renewal that
// fails is made again at the next look.
func (r *Redis) renewLoop(ctx context.Context) {
	every := r.leaseTTL / 3
	tick := time.NewTicker(max(min(every, r.backend.ProbeInterval), time.Millisecond))
	defer tick.Stop()
	last, failing := r.backend.Now(), false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := r.backend.Now()
		if now.Sub(last) < every {
			continue
		}
		if err := r.renew(ctx, now); err != nil {
			if !failing && ctx.Err() == nil {
				r.backend.Logger.Warn("ratelimit: renewing concurrency leases in redis failed; retrying", "err", err)
			}
			failing = true
			continue
		}
		last, failing = now, false
	}
}

// renewBatch bounds the leases renewed by one script call.
const renewBatch = 500

// renew moves the expiry of every held lease to now + LeaseTTL. A lease
// no longer in Redis (settled meanwhile, or gone) is not written again.
func (r *Redis) renew(ctx context.Context, now time.Time) error {
	r.mu.Lock()
	var keys []string
	var ids []any
	for t := range r.held {
		for _, k := range t.leases {
			keys, ids = append(keys, k), append(ids, t.id)
		}
	}
	r.mu.Unlock()
	for len(keys) > 0 {
		n := min(len(keys), renewBatch)
		args := append([]any{now.UnixMilli() + r.leaseTTL.Milliseconds(), r.leaseTTL.Milliseconds() + 1000}, ids[:n]...)
		cctx, cancel := context.WithTimeout(ctx, r.backend.SettleTimeout)
		err := renewScript.Run(cctx, r.backend.Client, keys[:n], args...).Err()
		cancel()
		if err != nil {
			return fmt.Errorf("ratelimit: redis renew: %w", err)
		}
		keys, ids = keys[n:], ids[n:]
	}
	return nil
}
