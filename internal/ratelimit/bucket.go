package ratelimit

import "time"

// windowNanos is the length of the window every limit is expressed over.
const windowNanos = float64(time.Minute)

// bucket is a token bucket holding up to limit tokens that refills at limit
// per minute. tokens may go negative (debt) when a settled request used more
// than it reserved. The Redis Lua scripts implement the same arithmetic.
type bucket struct {
	tokens float64
	last   int64 // unix nanoseconds of the last refill
	limit  float64
	init   bool
}

// refill brings the bucket up to now for the given limit. A bucket seen for
// the first time starts full.
func (b *bucket) refill(now int64, limit int) {
	l := float64(limit)
	if !b.init {
		b.tokens, b.last, b.limit, b.init = l, now, l, true
		return
	}
	b.limit = l
	if now > b.last {
		b.tokens += float64(now-b.last) * l / windowNanos
		b.last = now
	}
	if b.tokens > l {
		b.tokens = l
	}
}

// need is what admitting a request of cost requires in the bucket: a cost
// larger than the whole limit is admitted only from a full bucket, and its
// excess is carried as debt.
func need(cost, limit int) float64 {
	if cost > limit {
		return float64(limit)
	}
	return float64(cost)
}

// wait is how long until the bucket holds n tokens.
func (b *bucket) wait(n float64) time.Duration {
	if b.tokens >= n {
		return 0
	}
	return time.Duration((n - b.tokens) * windowNanos / b.limit)
}

// full reports whether the bucket would be full at now, so that forgetting
// it changes nothing.
func (b *bucket) full(now int64) bool {
	if !b.init {
		return true
	}
	t := b.tokens
	if now > b.last {
		t += float64(now-b.last) * b.limit / windowNanos
	}
	return t >= b.limit
}

// ceilDiv divides a limit among n replicas, rounding up; zero stays zero
// (unlimited).
func ceilDiv(limit, n int) int {
	if limit <= 0 || n <= 1 {
		return limit
	}
	return (limit + n - 1) / n
}
