package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/ratelimit"
	"github.com/switchyard-gw/switchyard/internal/ratelimit/ratelimittest"
)

func TestMemoryConformance(t *testing.T) {
	ratelimittest.Run(t, func(t *testing.T, now func() time.Time) ratelimit.Limiter {
		return ratelimit.NewMemory(now)
	})
}

func BenchmarkMemoryAdmitSettle(b *testing.B) {
	l := ratelimit.NewMemory(time.Now)
	req := ratelimit.Request{Scopes: []ratelimit.Scope{
		{Key: "key:abc", RPM: 1 << 30, TPM: 1 << 30, MaxConcurrent: 1 << 20, Tokens: 500},
		{Key: "tenant:t1", RPM: 1 << 30, TPM: 1 << 30, MaxConcurrent: 1 << 20, Tokens: 500},
	}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		tk, err := l.Admit(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		tk.Settle(300)
	}
}
