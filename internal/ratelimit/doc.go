// Package ratelimit enforces per-scope (per API key, per tenant) request
// rate, token rate and concurrency limits at admission, before a request is
// routed. The gateway builds one Request per client request with a Scope for
// the key and one for the tenant, calls Limiter.Admit, answers a *Error with
// 429 and Retry-After, and calls Ticket.Settle with the actual token usage
// once the upstream call has finished.
//
// # Algorithm
//
// RPM and TPM are token buckets (equivalent to GCRA) over one minute: a
// bucket holds at most the limit, starts full, and refills continuously at
// limit per minute. A request costs 1 against RPM and Scope.Tokens (the input
// estimate plus max_tokens) against TPM. So a burst from idle admits exactly
// the limit at once (600 simultaneous requests on a 60-RPM key admit 60), and
// after that one request every 60s/limit; sustained throughput is exactly
// the limit per minute, and in the worst case a client can get the limit
// plus what refills within any given minute. Retry-After is the exact time
// until the bucket holds enough.
//
// Settle corrects TPM to actual usage: unused reservation is refunded (never
// above the limit), usage above the reservation is charged as debt, so the
// bucket can go negative and later requests wait until it is repaid. A
// single request whose estimate exceeds the whole TPM limit is admitted only
// from a full bucket, and the excess is debt.
//
// Concurrency counts requests admitted and not yet settled; a rejection
// carries a fixed Retry-After of one second.
//
// A request is admitted only if every scope admits it; a rejection charges
// no scope. A zero limit is unlimited.
//
// # Backends
//
// Memory (limits: memory, the default) keeps state in this process in 64
// mutex-protected shards; scopes of one request are locked in shard order.
// State of idle scopes (full buckets, nothing in flight) is dropped lazily,
// so memory is bounded by the scopes active in the last minute.
//
// Redis (limits: redis://...) runs the same arithmetic in Lua scripts
// (EVALSHA), so check and charge of all scopes is one atomic step across
// replicas. Time is the replica's clock in milliseconds (keep replicas on
// NTP). Concurrency slots are members of a sorted set scored by a lease
// expiry (RedisOptions.LeaseTTL, default 10 minutes), which Redis.Run
// renews every third of a lease while the slot's request lasts (a Realtime
// session may last an hour), so a slot is held until it is settled, and
// the slots of a replica that dies without settling free themselves within
// a lease. All keys carry the
// hash tag {rl} after the prefix, so they share one Redis Cluster slot.
// Bucket keys expire when the bucket would be full again.
//
// # Fallback when Redis fails
//
// If a Redis call fails (unreachable, timeout, or a server error such as
// LOADING or OOM) the Redis limiter falls back to a local Memory limiter in
// which every limit is divided by RedisOptions.Replicas, rounded up: with 3
// replicas a 60-RPM key gets 20 RPM per replica, so the whole fleet still
// admits about 60, never unlimited. It logs one warning when it falls back
// and one line when it recovers. While in fallback, at most one request per
// RedisOptions.ProbeInterval (default 1s) tries Redis again; the first
// success returns to Redis. The fallback starts each scope from its share
// of the tokens its Redis buckets held (as last read: Redis.Run reads the
// buckets this replica used every ProbeInterval), refilled since, and
// counts this replica's requests admitted through Redis and still running
// against its max_concurrent share, so the fleet admits about what Redis
// would have, short of what other replicas took in the last ProbeInterval.
// The other way is not merged: RPM and TPM the fallback charged are not
// charged to the Redis buckets when Redis answers again, so for up to a
// minute after recovery a scope can get up to what it took locally on top. A Redis ticket settled while Redis is
// down is settled there once Redis answers (Redis.Run). Before the limiter
// admits from Redis again, the concurrency slots of the requests its
// fallback admitted and still running are leased in Redis (renewed by Run
// like any other), and their settles free them, so the fleet does not
// admit max_concurrent again beside them.
package ratelimit
