// Package circuit shares circuit-breaker state between replicas through
// Redis pub/sub: when one replica's traffic opens a deployment's circuit
// (or a probe closes it), the others open (or close) theirs at once, so a
// failing provider is skipped fleet-wide after threshold failures on any
// replica instead of on each. Nothing is read from Redis on the request
// path; a replica that cannot reach Redis keeps its own breakers.
package circuit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Applier is what receives other replicas' changes; *executor.Executor
// is one.
type Applier interface {
	RemoteCircuit(deployment string, open bool)
}

// Shared publishes this replica's circuit changes and applies the others'.
type Shared struct {
	client  *redis.Client
	channel string
	self    string
	exec    Applier
	out     chan string
	log     *slog.Logger
}

// New returns a Shared on channel of client, applying changes to exec.
// Wire Notify to the executor's OnCircuit and call Run.
func New(client *redis.Client, channel string, exec Applier, log *slog.Logger) *Shared {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &Shared{client: client, channel: channel, self: hex.EncodeToString(b[:]), exec: exec, out: make(chan string, 256), log: log}
}

// Notify queues this replica's change for the others; it never blocks (a
// change that finds the queue full is dropped and logged: the others
// then learn of the failing deployment from their own traffic).
func (s *Shared) Notify(deployment string, open bool) {
	state := "closed"
	if open {
		state = "open"
	}
	select {
	case s.out <- state + " " + s.self + " " + deployment:
	default:
		s.log.Warn("circuit: change not shared, queue full", "deployment", deployment, "open", open)
	}
}

// Run publishes and subscribes until ctx ends. go-redis resubscribes by
// itself after a lost connection.
func (s *Shared) Run(ctx context.Context) error {
	sub := s.client.Subscribe(ctx, s.channel)
	defer sub.Close()
	in := sub.Channel()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case msg := <-s.out:
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			if err := s.client.Publish(pctx, s.channel, msg).Err(); err != nil && ctx.Err() == nil {
				s.log.Warn("circuit: could not share a change", "err", err)
			}
			cancel()
		case m, ok := <-in:
			if !ok {
				return ctx.Err()
			}
			s.apply(m.Payload)
		}
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
