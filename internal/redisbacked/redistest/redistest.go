// Package redistest connects tests to the Redis on loopback: the tests of
// the Redis rate limiter (internal/ratelimit) and of the Redis budgets
// (internal/budget) use it for their clients, for a fresh key prefix per
// test, and to skip when Redis is not running.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
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

// Proxy forwards TCP to a backend, or refuses (closes) connections while
// down: a Redis that goes away and comes back, for fallback tests.
type Proxy struct {
	// Addr is where to connect to reach the backend through the proxy.
	Addr string
	down atomic.Bool
	mu   sync.Mutex
	open map[net.Conn]struct{}
}

// StartProxy starts a proxy to backend on a loopback port, stopped when
// the test ends.
func StartProxy(t testing.TB, backend string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: ln.Addr().String(), open: map[net.Conn]struct{}{}}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		p.closeAll()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			if p.down.Load() {
				_ = in.Close()
				continue
			}
			out, err := net.Dial("tcp", backend)
			if err != nil {
				_ = in.Close()
				continue
			}
			p.track(in, out)
			wg.Go(func() { _, _ = io.Copy(out, in); _ = out.Close() })
			wg.Go(func() { _, _ = io.Copy(in, out); _ = in.Close() })
		}
	})
	return p
}

func (p *Proxy) track(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		p.open[c] = struct{}{}
	}
}

func (p *Proxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.open {
		_ = c.Close()
	}
	clear(p.open)
}

// SetDown makes the proxy refuse new connections and cut existing ones
// (true), or forward again (false).
func (p *Proxy) SetDown(down bool) {
	p.down.Store(down)
	if down {
		p.closeAll()
	}
}
