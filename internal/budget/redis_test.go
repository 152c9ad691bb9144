package budget_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/switchyard-gw/switchyard/internal/budget"
	"github.com/switchyard-gw/switchyard/internal/budget/budgettest"
)

func TestMain(m *testing.M) {
	// go-redis retries failed dials in a pool goroutine that notices the
	// closed pool only after its one-second sleep; it is the library's to end.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).tryDial"))
}

const redisAddr = "127.0.0.1:6379"

func newClient(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr: addr, MaxRetries: -1, DialTimeout: 500 * time.Millisecond,
		ReadTimeout: time.Second, WriteTimeout: time.Second, PoolSize: 8,
	})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// redisPrefix skips the test unless Redis answers on loopback (fails under
// SWITCHYARD_TEST_SERVICES=require) and returns a key prefix unique to this
// run, whose keys are deleted afterwards.
func redisPrefix(t *testing.T) string {
	t.Helper()
	c := newClient(t, redisAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		if os.Getenv("SWITCHYARD_TEST_SERVICES") == "require" {
			t.Fatalf("redis at %s: %v (SWITCHYARD_TEST_SERVICES=require)", redisAddr, err)
		}
		t.Skipf("redis at %s unreachable, skipping: %v", redisAddr, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "swtest:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return prefix
}

func TestRedisConformance(t *testing.T) {
	budgettest.Run(t, func(t *testing.T, now func() time.Time) budget.Budgets {
		return budget.NewRedis(newClient(t, redisAddr), redisPrefix(t), budget.RedisOptions{Now: now})
	})
}

// TestRedisSharedAcrossReplicas: reservations through three replicas share
// one budget.
func TestRedisSharedAcrossReplicas(t *testing.T) {
	prefix := redisPrefix(t)
	clock := budgettest.NewClock(budgettest.Start)
	var bs []budget.Budgets
	for range 3 {
		bs = append(bs, budget.NewRedis(newClient(t, redisAddr), prefix, budget.RedisOptions{Replicas: 3, Now: clock.Now}))
	}
	s := []budget.BudgetScope{{Key: "tenant:t", DailyUSD: 1}}
	ctx := context.Background()
	for i, b := range bs {
		r, err := b.Reserve(ctx, s, 0.3)
		if err != nil {
			t.Fatalf("replica %d: got %v, want admitted", i, err)
		}
		r.Settle(0.3)
	}
	var berr *budget.Error
	if _, err := bs[0].Reserve(ctx, s, 0.2); !errors.As(err, &berr) {
		t.Fatalf("fourth reserve: got %v, want *budget.Error", err)
	}
	if berr.Spent < 0.9-1e-9 || berr.Spent > 0.9+1e-9 {
		t.Fatalf("spent: got %v, want 0.9", berr.Spent)
	}
}

func TestRedisHoldExpires(t *testing.T) {
	clock := budgettest.NewClock(budgettest.Start)
	b := budget.NewRedis(newClient(t, redisAddr), redisPrefix(t), budget.RedisOptions{Now: clock.Now, HoldTTL: time.Minute})
	s := []budget.BudgetScope{{Key: "tenant:t", DailyUSD: 1}}
	ctx := context.Background()
	if _, err := b.Reserve(ctx, s, 0.6); err != nil { // never settled: its replica "died"
		t.Fatalf("first: got %v, want admitted", err)
	}
	if _, err := b.Reserve(ctx, s, 0.6); err == nil {
		t.Fatal("second: got admitted, want rejected")
	}
	clock.Advance(time.Minute + time.Millisecond)
	r, err := b.Reserve(ctx, s, 0.6)
	if err != nil {
		t.Fatalf("after hold expiry: got %v, want admitted", err)
	}
	r.Settle(0.6)
}

// TestRedisUnreachableFallback: with Redis unreachable each of two replicas
// enforces half the budget, never none.
func TestRedisUnreachableFallback(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	clock := budgettest.NewClock(budgettest.Start)
	b := budget.NewRedis(newClient(t, addr), "swtest:", budget.RedisOptions{Replicas: 2, Now: clock.Now})
	ctx := context.Background()
	if err := b.Seed(ctx, "tenant:t", budget.Daily, 0.4); err == nil {
		t.Fatal("Seed with redis down: got nil, want error")
	}
	s := []budget.BudgetScope{{Key: "tenant:t", DailyUSD: 1, MonthlyUSD: 100}}
	admitted := 0
	for range 20 {
		if r, err := b.Reserve(ctx, s, 0.1); err == nil {
			admitted++
			r.Settle(0.1)
		}
	}
	// Share is 0.5; the failed Seed still seeded the local share 0.2.
	if admitted != 3 {
		t.Fatalf("admitted in fallback: got %d, want 3 (0.5 share - 0.2 seeded)", admitted)
	}
	if !b.Fallback() {
		t.Fatal("got no fallback, want fallback")
	}
}
