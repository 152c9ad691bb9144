// Package budget enforces spend budgets (USD per UTC day and per UTC month)
// per scope, such as an API key and its tenant. The gateway reserves the
// estimated cost of a request before routing it (Budgets.Reserve), answers a
// *Error with the error code ErrorCode ("budget_exceeded"), and settles the
// reservation with the actual cost when the request is done
// (Reservation.Settle). It warms spend from the usage store with
// Budgets.Seed: the first time it sees a scope with a budget, and again
// when Reserve reports a counter not seeded (SeedError).
//
// # Rules
//
// A request is admitted only if, for every scope and every period with a
// limit, spent + reserved + estimate <= limit; the check and the hold are one
// atomic step across all scopes, so 50 concurrent requests against a budget
// with room for one admit exactly one, and a rejection holds nothing.
// Settle releases the hold and adds the actual cost to spend in the day and
// month the reservation was made in (a request straddling midnight counts
// toward the day it started). Periods are UTC calendar days and months. A
// zero limit is unlimited. Amounts are kept as integer nano-dollars, so sums
// are exact (up to about 9 million USD per period in Redis, whose scripts
// compare in doubles). An amount is at most MaxUSD (1e9 USD, the largest
// budget): the conversion saturates rather than wraps, so an estimate above
// MaxUSD (a client's n times max_tokens at a premium price, or +Inf) is
// refused as more than any budget, even by scopes without one, and holds
// nothing; sums saturate too.
//
// # Backends
//
// Memory (the default) keeps state in this process under one mutex.
//
// Redis keeps, per scope and period, a hash of spent and reserved nano-USD
// and a sorted set of holds scored by expiry; Lua scripts (EVALSHA) do the
// check-and-hold and the settle atomically across replicas. The hold of a
// replica that dies before settling expires after RedisOptions.HoldTTL
// (default 10 minutes). Day keys live two days and month keys 32 days. All
// keys carry the hash tag {bg} after the prefix.
//
// Seed marks the hash it sets. A reservation against a scope whose caller
// seeds it (BudgetScope.Seeded) finds a limited period's hash unmarked
// when Redis lost it (a restart without persistence, a failover to a
// replica that lacked the writes) or when the period has just begun; it
// holds nothing and returns a *SeedError naming those counters, so that
// spend is read again from the usage records before a request is admitted
// against them, rather than restarting from zero.
//
// # Fallback when Redis fails
//
// If a Redis call fails the Redis budgets fall back to a local Memory in
// which every limit is divided by RedisOptions.Replicas (rounded up), never
// to no limit; the local state is seeded with each scope's share of the
// spend and holds last seen in Redis, fleet-wide (Redis.Run reads them
// every ProbeInterval for the counters this replica reserved against
// today), and of Seed values, so a fallback does not restart from zero and
// the replicas' shares together stay within the budget, short of what was
// reserved and settled elsewhere in the last ProbeInterval. One warning is logged when falling back and one line
// on recovery; while in fallback one call per RedisOptions.ProbeInterval
// (default 1s) tries Redis again. Spend settled locally during an outage,
// and settles that failed, are written to Redis once it answers again
// (Redis.Run), so the other replicas count them. Before the replica admits
// from Redis again, the estimates of its fallback reservations not settled
// yet are held in Redis (expiring after HoldTTL), and their settles release
// those holds, so the fleet does not admit the whole budget beside them.
package budget
