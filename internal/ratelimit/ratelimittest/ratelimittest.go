// Package ratelimittest is the conformance suite every ratelimit.Limiter
// implementation passes: the memory limiter and the Redis limiter run the
// same tests.
package ratelimittest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/ratelimit"
)

// NewFunc builds a fresh Limiter (with fresh state) reading time from now.
type NewFunc func(t *testing.T, now func() time.Time) ratelimit.Limiter

// Run runs the conformance suite against limiters built by newLimiter.
func Run(t *testing.T, newLimiter NewFunc) {
	tests := []struct {
		name string
		fn   func(t *testing.T, l ratelimit.Limiter, c *clocktest.Clock)
	}{
		{"rpm burst then refill", testRPMBurst},
		{"rpm concurrent burst admits exactly the limit", testRPMConcurrent},
		{"tpm reserve and settle refund", testTPMSettleRefund},
		{"tpm settle above reserve is debt", testTPMDebt},
		{"tpm cost above limit needs a full bucket", testTPMOversize},
		{"concurrency", testConcurrency},
		{"rejection charges no scope", testAllOrNothing},
		{"scopes are independent", testIndependent},
		{"zero limits are unlimited", testUnlimited},
		{"settle is idempotent", testSettleIdempotent},
		{"cancelled context", testCancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clocktest.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
			tt.fn(t, newLimiter(t, c.Now), c)
		})
	}
}

func admit(t *testing.T, l ratelimit.Limiter, scopes ...ratelimit.Scope) (ratelimit.Ticket, *ratelimit.Error) {
	t.Helper()
	tk, err := l.Admit(context.Background(), ratelimit.Request{Scopes: scopes})
	if err == nil {
		return tk, nil
	}
	var lerr *ratelimit.Error
	if !errors.As(err, &lerr) {
		t.Fatalf("Admit: got error %v, want nil or *ratelimit.Error", err)
	}
	return nil, lerr
}

// count admits one request at a time until n tries are spent, returning
// how many were admitted. Tickets are settled with their reservation.
func count(t *testing.T, l ratelimit.Limiter, n int, s ratelimit.Scope) int {
	t.Helper()
	ok := 0
	for range n {
		if tk, _ := admit(t, l, s); tk != nil {
			tk.Settle(s.Tokens)
			ok++
		}
	}
	return ok
}

func wantRejected(t *testing.T, lerr *ratelimit.Error, scope string, limit ratelimit.Limit) {
	t.Helper()
	if lerr == nil {
		t.Fatalf("got admitted, want %s rejection of %s", limit, scope)
	}
	if lerr.Scope != scope || lerr.Limit != limit {
		t.Fatalf("got rejection %s/%s, want %s/%s", lerr.Scope, lerr.Limit, scope, limit)
	}
}

func near(t *testing.T, what string, got, want time.Duration) {
	t.Helper()
	if d := got - want; d < -2*time.Millisecond || d > 2*time.Millisecond {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

func testRPMBurst(t *testing.T, l ratelimit.Limiter, c *clocktest.Clock) {
	s := ratelimit.Scope{Key: "key:a", RPM: 60}
	if got := count(t, l, 600, s); got != 60 {
		t.Fatalf("burst admitted: got %d, want 60", got)
	}
	_, lerr := admit(t, l, s)
	wantRejected(t, lerr, "key:a", ratelimit.LimitRPM)
	near(t, "retry after", lerr.RetryAfter, time.Second)
	c.Advance(999 * time.Millisecond)
	if got := count(t, l, 5, s); got != 0 {
		t.Fatalf("admitted before refill: got %d, want 0", got)
	}
	c.Advance(time.Millisecond)
	if got := count(t, l, 5, s); got != 1 {
		t.Fatalf("admitted after 1s: got %d, want 1", got)
	}
	c.Advance(30 * time.Second)
	if got := count(t, l, 100, s); got != 30 {
		t.Fatalf("admitted after 30s: got %d, want 30", got)
	}
	c.Advance(10 * time.Minute)
	if got := count(t, l, 100, s); got != 60 {
		t.Fatalf("admitted after idle: got %d, want 60 (bucket capped at the limit)", got)
	}
}

func testRPMConcurrent(t *testing.T, l ratelimit.Limiter, _ *clocktest.Clock) {
	s := ratelimit.Scope{Key: "key:a", RPM: 60, Tokens: 10, TPM: 100000}
	var ok atomic.Int64
	var wg sync.WaitGroup
	for range 300 {
		wg.Go(func() {
			tk, err := l.Admit(context.Background(), ratelimit.Request{Scopes: []ratelimit.Scope{s}})
			if err == nil {
				ok.Add(1)
				tk.Settle(5)
			}
		})
	}
	wg.Wait()
	if got := ok.Load(); got != 60 {
		t.Fatalf("admitted: got %d, want 60", got)
	}
}

func testTPMSettleRefund(t *testing.T, l ratelimit.Limiter, _ *clocktest.Clock) {
	s := ratelimit.Scope{Key: "key:a", TPM: 1000, Tokens: 600}
	first, _ := admit(t, l, s)
	if first == nil {
		t.Fatal("first: got rejected, want admitted")
	}
	_, lerr := admit(t, l, s)
	wantRejected(t, lerr, "key:a", ratelimit.LimitTPM)
	near(t, "retry after", lerr.RetryAfter, 12*time.Second) // 200 tokens at 1000/min
	first.Settle(100)                                       // refunds 500: 900 left
	second, _ := admit(t, l, s)
	if second == nil {
		t.Fatal("after refund: got rejected, want admitted")
	}
	_, lerr = admit(t, l, ratelimit.Scope{Key: "key:a", TPM: 1000, Tokens: 301})
	wantRejected(t, lerr, "key:a", ratelimit.LimitTPM)
	if tk, _ := admit(t, l, ratelimit.Scope{Key: "key:a", TPM: 1000, Tokens: 300}); tk == nil {
		t.Fatal("exact remainder: got rejected, want admitted")
	}
}

func testTPMDebt(t *testing.T, l ratelimit.Limiter, _ *clocktest.Clock) {
	tk, _ := admit(t, l, ratelimit.Scope{Key: "key:a", TPM: 1000, Tokens: 100})
	if tk == nil {
		t.Fatal("got rejected, want admitted")
	}
	tk.Settle(1500) // 500 tokens of debt
	_, lerr := admit(t, l, ratelimit.Scope{Key: "key:a", TPM: 1000, Tokens: 1})
	wantRejected(t, lerr, "key:a", ratelimit.LimitTPM)
	near(t, "retry after", lerr.RetryAfter, 30060*time.Millisecond) // 501 tokens at 1000/min
}

func testTPMOversize(t *testing.T, l ratelimit.Limiter, c *clocktest.Clock) {
	big := ratelimit.Scope{Key: "key:a", TPM: 1000, Tokens: 5000}
	if tk, _ := admit(t, l, big); tk == nil {
		t.Fatal("oversize from full bucket: got rejected, want admitted")
	}
	_, lerr := admit(t, l, ratelimit.Scope{Key: "key:a", TPM: 1000, Tokens: 1})
	wantRejected(t, lerr, "key:a", ratelimit.LimitTPM)
	near(t, "retry after", lerr.RetryAfter, 4*time.Minute+60*time.Millisecond)
	c.Advance(4*time.Minute + 60*time.Millisecond)
	if tk, _ := admit(t, l, ratelimit.Scope{Key: "key:a", TPM: 1000, Tokens: 1}); tk == nil {
		t.Fatal("after debt repaid: got rejected, want admitted")
	}
}

func testConcurrency(t *testing.T, l ratelimit.Limiter, _ *clocktest.Clock) {
	s := ratelimit.Scope{Key: "tenant:t", MaxConcurrent: 2}
	a, _ := admit(t, l, s)
	b, _ := admit(t, l, s)
	if a == nil || b == nil {
		t.Fatal("first two: got rejected, want admitted")
	}
	_, lerr := admit(t, l, s)
	wantRejected(t, lerr, "tenant:t", ratelimit.LimitConcurrency)
	if lerr.RetryAfter <= 0 {
		t.Fatalf("retry after: got %v, want > 0", lerr.RetryAfter)
	}
	a.Settle(0)
	a.Settle(0) // a second settle must not free another slot
	c, _ := admit(t, l, s)
	if c == nil {
		t.Fatal("after settle: got rejected, want admitted")
	}
	_, lerr = admit(t, l, s)
	wantRejected(t, lerr, "tenant:t", ratelimit.LimitConcurrency)
	b.Settle(0)
	c.Settle(0)
}

func testAllOrNothing(t *testing.T, l ratelimit.Limiter, _ *clocktest.Clock) {
	key := ratelimit.Scope{Key: "key:a", RPM: 10, TPM: 1000, Tokens: 100, MaxConcurrent: 5}
	tenant := ratelimit.Scope{Key: "tenant:t", RPM: 1}
	if tk, _ := admit(t, l, key, tenant); tk == nil {
		t.Fatal("first: got rejected, want admitted")
	}
	for range 5 {
		_, lerr := admit(t, l, key, tenant)
		wantRejected(t, lerr, "tenant:t", ratelimit.LimitRPM)
	}
	// The key was charged once (1 request, 100 tokens, 1 slot): 9 requests,
	// 900 tokens and 4 slots remain.
	var held []ratelimit.Ticket
	for range 4 {
		tk, lerr := admit(t, l, key)
		if tk == nil {
			t.Fatalf("key alone: got %v, want admitted", lerr)
		}
		held = append(held, tk)
	}
	_, lerr := admit(t, l, key)
	wantRejected(t, lerr, "key:a", ratelimit.LimitConcurrency)
	for _, tk := range held {
		tk.Settle(100)
	}
}

func testIndependent(t *testing.T, l ratelimit.Limiter, _ *clocktest.Clock) {
	for _, k := range []string{"key:a", "key:b", "tenant:a"} {
		if got := count(t, l, 10, ratelimit.Scope{Key: k, RPM: 3}); got != 3 {
			t.Fatalf("%s admitted: got %d, want 3", k, got)
		}
	}
}

func testUnlimited(t *testing.T, l ratelimit.Limiter, _ *clocktest.Clock) {
	if got := count(t, l, 500, ratelimit.Scope{Key: "key:a", Tokens: 1e6}); got != 500 {
		t.Fatalf("admitted: got %d, want 500", got)
	}
	tk, _ := admit(t, l)
	if tk == nil {
		t.Fatal("no scopes: got rejected, want admitted")
	}
	tk.Settle(0)
}

func testSettleIdempotent(t *testing.T, l ratelimit.Limiter, _ *clocktest.Clock) {
	s := ratelimit.Scope{Key: "key:a", TPM: 1000, Tokens: 1000}
	tk, _ := admit(t, l, s)
	if tk == nil {
		t.Fatal("got rejected, want admitted")
	}
	tk.Settle(0)
	tk.Settle(0) // must not refund a second time
	tk2, _ := admit(t, l, s)
	if tk2 == nil {
		t.Fatal("after settle: got rejected, want admitted")
	}
	tk.Settle(0)
	_, lerr := admit(t, l, ratelimit.Scope{Key: "key:a", TPM: 1000, Tokens: 1})
	wantRejected(t, lerr, "key:a", ratelimit.LimitTPM)
}

func testCancelled(t *testing.T, l ratelimit.Limiter, _ *clocktest.Clock) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := l.Admit(ctx, ratelimit.Request{Scopes: []ratelimit.Scope{{Key: "key:a", RPM: 1}}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}
