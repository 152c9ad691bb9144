package cache

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"log/slog"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// SemanticShare keeps the semantic indexes of replicas that share a Redis
// cache in step: each entry a replica indexes is appended to a Redis
// stream (trimmed to about the index's size), and every replica reads the
// stream, from its start when it starts, adding the others' entries to
// its own index. Lookups stay in memory; the answers themselves are in
// the shared store. A replica that cannot reach Redis keeps indexing its
// own answers.
type SemanticShare struct {
	client redis.UniversalClient
	stream string
	self   string
	index  *Semantic
	maxLen int64
	out    chan semAdd
	log    *slog.Logger
	now    func() time.Time
	block  time.Duration
	// active reports whether the semantic lookup is on; while it is off
	// the stream is not read (nil: always on).
	active func() bool
}

// purgeTTL bounds the life of a stream that a purge creates: with no
// entries in it, the purge only matters to replicas reading it now.
const purgeTTL = time.Minute

// semAdd is an entry this replica indexed, or (purge set) a purge of
// the entries whose key begins with key.
type semAdd struct {
	ns, key string
	unit    []float32
	expires time.Time
	purge   bool
}

// NewSemanticShare shares index through stream (a Redis key) of client,
// keeping about maxLen entries there. It sets index's OnAdd; call Run.
func NewSemanticShare(client redis.UniversalClient, stream string, index *Semantic, maxLen int, log *slog.Logger) *SemanticShare {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &SemanticShare{client: client, stream: stream, self: rand.Text(), index: index, maxLen: int64(maxLen),
		out: make(chan semAdd, 256), log: log, now: time.Now, block: 500 * time.Millisecond}
	index.OnAdd(s.notify)
	return s
}

// SetActive makes the stream read only while active reports true (the
// semantic lookup is on in the config in force); call before Run.
func (s *SemanticShare) SetActive(active func() bool) { s.active = active }

// notify queues an entry this replica indexed; it never blocks (an entry
// that finds the queue full is not shared).
func (s *SemanticShare) notify(ns string, unit []float32, key string, expires time.Time) {
	select {
	case s.out <- semAdd{ns: ns, key: key, unit: unit, expires: expires}:
	default:
		s.log.Warn("cache: semantic entry not shared, queue full")
	}
}

// Purge tells the other replicas to drop the entries whose key begins
// with prefix (all for ""), as this replica's index did: after the entries
// it queued before, so none of them outlives the purge elsewhere. It waits
// for room in the queue until ctx ends.
func (s *SemanticShare) Purge(ctx context.Context, prefix string) error {
	select {
	case s.out <- semAdd{key: prefix, purge: true}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run shares this replica's entries and reads the others' until ctx ends.
func (s *SemanticShare) Run(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.read(ctx)
	}()
	defer func() { <-done }()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case a := <-s.out:
			s.write(ctx, a)
		}
	}
}

func (s *SemanticShare) write(ctx context.Context, a semAdd) {
	if a.purge {
		s.writePurge(ctx, a.key)
		return
	}
	vec := make([]byte, 4*len(a.unit))
	for i, x := range a.unit {
		binary.LittleEndian.PutUint32(vec[4*i:], math.Float32bits(x))
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAdd(ctx, &redis.XAddArgs{Stream: s.stream, MaxLen: s.maxLen, Approx: true, Values: []any{
			"r", s.self, "ns", a.ns, "key", a.key, "exp", strconv.FormatInt(a.expires.UnixMilli(), 10), "vec", vec}})
		// An idle fleet's stream goes when its last live entry would:
		// set a TTL on a new stream, only ever lengthen it after.
		ttl := a.expires.Sub(s.now()).Truncate(time.Second) + time.Second
		p.ExpireNX(ctx, s.stream, ttl)
		p.ExpireGT(ctx, s.stream, ttl)
		return nil
	})
	if err != nil && ctx.Err() == nil {
		s.log.Warn("cache: could not share a semantic entry", "err", err)
	}
}

// writePurge appends a purge to the stream. A replica that starts later
// reads it after the entries it drops, so it drops them too.
func (s *SemanticShare) writePurge(ctx context.Context, prefix string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAdd(ctx, &redis.XAddArgs{Stream: s.stream, MaxLen: s.maxLen, Approx: true, Values: []any{
			"r", s.self, "purge", prefix}})
		// A stream with entries has their expiry already; one the
		// purge creates would otherwise never go.
		p.ExpireNX(ctx, s.stream, purgeTTL)
		return nil
	})
	if err != nil && ctx.Err() == nil {
		s.log.Warn("cache: could not share a semantic purge; other replicas keep entries that now miss", "err", err)
	}
}

// read adds the other replicas' entries, from the stream's start, until
// ctx ends. After a Redis error it waits, twice as long after each
// failure in a row (1 s up to 30 s), and goes on.
func (s *SemanticShare) read(ctx context.Context) {
	last := "0"
	wait := time.Duration(0)
	for ctx.Err() == nil {
		if s.active != nil && !s.active() {
			// Off: nothing to index, so no Redis call (nor a warning
			// per failed one); read from where it was once back on.
			t := time.NewTimer(s.block)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
			continue
		}
		res, err := s.client.XRead(ctx, &redis.XReadArgs{Streams: []string{s.stream, last}, Count: 256, Block: s.block}).Result()
		switch {
		case errors.Is(err, redis.Nil):
			wait = 0
			continue // nothing new within block
		case err != nil:
			if ctx.Err() == nil {
				wait = min(max(2*wait, time.Second), 30*time.Second)
				s.log.Warn("cache: could not read shared semantic entries", "err", err, "retry_in", wait)
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
				case <-t.C:
				}
				t.Stop()
			}
			continue
		}
		wait = 0
		for _, st := range res {
			for _, m := range st.Messages {
				last = m.ID
				s.apply(m.Values)
			}
		}
	}
}

// apply adds one stream entry of another replica to the index.
func (s *SemanticShare) apply(v map[string]any) {
	str := func(k string) string { x, _ := v[k].(string); return x }
	if str("r") == s.self {
		return
	}
	if prefix, ok := v["purge"].(string); ok {
		s.index.Purge(prefix)
		return
	}
	ms, err := strconv.ParseInt(str("exp"), 10, 64)
	raw := str("vec")
	if err != nil || str("ns") == "" || str("key") == "" || len(raw) == 0 || len(raw)%4 != 0 {
		s.log.Warn("cache: ignored a malformed shared semantic entry")
		return
	}
	b := []byte(raw)
	unit := make([]float32, len(b)/4)
	for i := range unit {
		unit[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	s.index.AddShared(str("ns"), unit, str("key"), time.UnixMilli(ms))
}
