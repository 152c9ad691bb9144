// Package circuit shares circuit-breaker state between replicas through
// Redis pub/sub: when one replica's traffic opens a deployment's circuit
// (or a probe closes it), the others open (or close) theirs at once, so a
// failing provider is skipped fleet-wide after threshold failures on any
// replica instead of on each. The circuits open now are also kept in a
// Redis hash (CHANNEL + ":open", deployment → when it opened), which a
// replica reads when it starts, so it does not try a failing provider
// the others already gave up on. Nothing is read from Redis on the
// request path; a replica that cannot reach Redis keeps its own breakers.
package circuit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Applier is what receives other replicas' changes; *executor.Executor
// is one.
type Applier interface {
	// RemoteCircuit applies a change as it happens.
	RemoteCircuit(deployment string, open bool)
	// RestoreCircuit opens a circuit another replica opened at openedAt,
	// for what is left of its open period.
	RestoreCircuit(deployment string, openedAt time.Time)
}

// openKeyTTL bounds how long the hash of open circuits outlives its last
// change; entries older than a breaker's open period are ignored anyway.
const openKeyTTL = time.Hour

// Shared publishes this replica's circuit changes and applies the others'.
type Shared struct {
	client  *redis.Client
	channel string
	openKey string
	self    string
	exec    Applier
	out     chan change
	log     *slog.Logger
	now     func() time.Time
}

// change is one of this replica's circuit changes, to share.
type change struct {
	deployment string
	open       bool
	at         time.Time
}

// New returns a Shared on channel of client, applying changes to exec.
// Wire Notify to the executor's OnCircuit and call Run.
func New(client *redis.Client, channel string, exec Applier, log *slog.Logger) *Shared {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &Shared{client: client, channel: channel, openKey: channel + ":open", self: hex.EncodeToString(b[:]), exec: exec,
		out: make(chan change, 256), log: log, now: time.Now}
}

// Notify queues this replica's change for the others; it never blocks (a
// change that finds the queue full is dropped and logged: the others
// then learn of the failing deployment from their own traffic).
func (s *Shared) Notify(deployment string, open bool) {
	select {
	case s.out <- change{deployment: deployment, open: open, at: s.now()}:
	default:
		s.log.Warn("circuit: change not shared, queue full", "deployment", deployment, "open", open)
	}
}

// Run subscribes, restores the circuits open now, then publishes and
// applies changes until ctx ends. go-redis resubscribes by itself after a
// lost connection.
func (s *Shared) Run(ctx context.Context) error {
	sub := s.client.Subscribe(ctx, s.channel)
	defer sub.Close()
	// Subscribed first, so no change between the read and the
	// subscription is missed (a change seen twice is harmless).
	if _, err := sub.Receive(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("circuit: could not subscribe; changes are shared once Redis answers", "err", err)
	}
	in := sub.Channel()
	s.restore(ctx)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case c := <-s.out:
			s.share(ctx, c)
		case m, ok := <-in:
			if !ok {
				return ctx.Err()
			}
			s.apply(m.Payload)
		}
	}
}

// share publishes c and records it in the hash of open circuits.
func (s *Shared) share(ctx context.Context, c change) {
	state := "closed"
	if c.open {
		state = "open"
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Publish(ctx, s.channel, state+" "+s.self+" "+c.deployment)
		if c.open {
			p.HSet(ctx, s.openKey, c.deployment, c.at.UnixMilli())
		} else {
			p.HDel(ctx, s.openKey, c.deployment)
		}
		p.Expire(ctx, s.openKey, openKeyTTL)
		return nil
	})
	if err != nil && ctx.Err() == nil {
		s.log.Warn("circuit: could not share a change", "err", err)
	}
}

// restore opens the circuits the hash says other replicas opened.
func (s *Shared) restore(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	open, err := s.client.HGetAll(ctx, s.openKey).Result()
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("circuit: could not read the open circuits", "err", err)
		}
		return
	}
	for dep, at := range open {
		ms, err := strconv.ParseInt(at, 10, 64)
		if err != nil || dep == "" {
			continue
		}
		s.exec.RestoreCircuit(dep, time.UnixMilli(ms))
	}
	if len(open) > 0 {
		s.log.Info("circuit: read the circuits other replicas opened", "count", len(open))
	}
}

// apply takes "open|closed REPLICA DEPLOYMENT" from another replica.
func (s *Shared) apply(payload string) {
	state, rest, ok1 := strings.Cut(payload, " ")
	from, deployment, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || deployment == "" || (state != "open" && state != "closed") {
		s.log.Warn("circuit: ignored a malformed message", "len", len(payload))
		return
	}
	if from == s.self {
		return
	}
	s.exec.RemoteCircuit(deployment, state == "open")
	s.log.Info("circuit changed on another replica", "deployment", deployment, "state", state)
}
