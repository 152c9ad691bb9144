// Package redistest connects tests to the Redis on loopback: the tests of
// the Redis rate limiter (internal/ratelimit) and of the Redis budgets
// (internal/budget) use it for their clients, for a fresh key prefix per
// test, and to skip when Redis is not running.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

// Addr is where the tests expect Redis.
const Addr = "127.0.0.1:6379"

// IgnoreDialRetry is the goleak option for packages whose tests use go-redis
// clients: go-redis retries failed dials in a pool goroutine that notices the
// closed pool only after its one-second sleep; it is the library's to end.
func IgnoreDialRetry() goleak.Option {
	return goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).tryDial")
}

// NewClient returns a client for addr that fails fast: no retries, short
// timeouts. It is closed when the test ends.
func NewClient(tb testing.TB, addr string) *redis.Client {
	tb.Helper()
	c := redis.NewClient(&redis.Options{
		Addr: addr, MaxRetries: -1, DialTimeout: 500 * time.Millisecond,
		ReadTimeout: time.Second, WriteTimeout: time.Second, PoolSize: 8,
	})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// Prefix skips the test unless Redis answers at Addr (fails under
// SWITCHYARD_TEST_SERVICES=require) and returns a key prefix unique to this
// run, whose keys are deleted afterwards.
func Prefix(tb testing.TB) string {
	tb.Helper()
	c := NewClient(tb, Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		if os.Getenv("SWITCHYARD_TEST_SERVICES") == "require" {
			tb.Fatalf("redis at %s: %v (SWITCHYARD_TEST_SERVICES=require)", Addr, err)
		}
		tb.Skipf("redis at %s unreachable, skipping: %v", Addr, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "swtest:" + hex.EncodeToString(b[:]) + ":"
	// Registered after NewClient's Close, so it runs before it.
	tb.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return prefix
}

// ClosedAddr returns a loopback address on which nothing listens, for a
// client that cannot reach Redis.
func ClosedAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}
