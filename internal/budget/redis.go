package budget

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchyard-gw/switchyard/internal/redisbacked"
)

// Key lifetimes: a period's keys outlive the period by a day, so settles of
// requests that straddle the boundary still land.
const (
	dayTTL   = 2 * 24 * time.Hour
	monthTTL = 32 * 24 * time.Hour
)

// RedisOptions tunes NewRedis. Zero values take the documented defaults.
type RedisOptions struct {
	// Replicas is how many gateway replicas share the Redis; while Redis is
	// unreachable each replica enforces every budget divided by Replicas.
	// Default 1.
	Replicas int
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives one line per transition to and from the fallback;
	// default discards.
	Logger *slog.Logger
	// HoldTTL bounds how long a reservation whose replica died before
	// settling keeps its hold; it must exceed the longest request.
	// Default 10m.
	HoldTTL time.Duration
	// ProbeInterval is how often, while in fallback, one call tries Redis
	// again. Default 1s.
	ProbeInterval time.Duration
	// SettleTimeout bounds the Redis call made by Reservation.Settle.
	// Default 2s.
	SettleTimeout time.Duration
	// InstanceID makes hold ids unique across replicas; default 8 random
	// bytes in hex.
	InstanceID string
}

// Redis is a Budgets whose state lives in Redis, so budgets hold across
// replicas. When Redis fails it falls back to a local Memory with every
// limit divided by Replicas, seeded with the spend it last saw in Redis.
type Redis struct {
	backend *redisbacked.Backend
	holdTTL time.Duration
	local   *Memory

	mu      sync.Mutex           // guards seen and seenDay
	seen    map[string]seenCount // hash key → what was last seen in it
	seenDay int64

	// pending are the fallback reservations not settled and not yet held
	// in Redis; register holds them there once Redis answers again.
	pmu     sync.Mutex
	pending map[*fallbackReservation]struct{}
}

var _ Budgets = (*Redis)(nil)

// NewRedis returns a Budgets storing its state in client under keys that
// begin with prefix, all sharing the Redis Cluster hash tag {bg}.
func NewRedis(client *redis.Client, prefix string, opts RedisOptions) *Redis {
	if opts.HoldTTL <= 0 {
		opts.HoldTTL = 10 * time.Minute
	}
	b := redisbacked.New("budget", client, prefix+"{bg}:", redisbacked.Options{
		Replicas: opts.Replicas, Now: opts.Now, Logger: opts.Logger,
		ProbeInterval: opts.ProbeInterval, SettleTimeout: opts.SettleTimeout, InstanceID: opts.InstanceID,
	})
	r := &Redis{backend: b, holdTTL: opts.HoldTTL, local: NewMemory(b.Now), seen: map[string]seenCount{}, pending: map[*fallbackReservation]struct{}{}}
	b.OnRecover(r.register)
	return r
}

// Fallback reports whether budgets are currently enforced locally because
// Redis failed.
func (r *Redis) Fallback() bool { return r.backend.Fallback() }

// periodKeys names the hash keys of scopeKey for the day and month of t.
func (r *Redis) periodKeys(scopeKey string, t time.Time) (day, month string) {
	t = t.UTC()
	return r.backend.Prefix + "d:" + t.Format("2006-01-02") + ":" + scopeKey,
		r.backend.Prefix + "m:" + t.Format("2006-01") + ":" + scopeKey
}

// Reserve implements Budgets.
func (r *Redis) Reserve(ctx context.Context, scopes []BudgetScope, estimateUSD float64) (Reservation, error) {
	est := toNanos(estimateUSD)
	if est > maxNanos && unlimited(scopes) {
		return nil, tooBigError(scopes)
	}
	var unseeded *SeedError
	res, ok, err := redisbacked.Try[Reservation, *Error](ctx, r.backend, func() (Reservation, error) {
		// A *SeedError is Redis's answer too (not a failure): it
		// travels outside Try.
		res, se, err := r.reserveRedis(ctx, scopes, est)
		unseeded = se
		return res, err
	})
	if ok {
		if unseeded != nil {
			return nil, unseeded
		}
		return res, err
	}
	r.seedLocal(scopes)
	local, err := r.local.reserve(scopes, est, int64(r.backend.Replicas))
	if err != nil {
		return nil, err
	}
	f := &fallbackReservation{Reservation: local, r: r, keys: r.settleKeys(scopes, r.backend.Now()),
		member: r.backend.NewID() + "|" + strconv.FormatInt(est, 10), est: est}
	if est > 0 {
		r.pmu.Lock()
		r.pending[f] = struct{}{}
		r.pmu.Unlock()
		r.backend.Local()
	}
	return f, nil
}

// register holds in Redis, as a reservation made there would (expiring
// after HoldTTL), the estimate of every fallback reservation not settled
// yet, so that the replicas admitting from Redis again count it; its settle
// then releases the hold. Redis may then hold more than the budget: what
// the fallback admitted is spent, or about to be. Holds are added only
// once (ZADD NX), so register may run twice at once; a reservation settled
// while its hold was being written has that hold released again (a
// release is made once: settleScript's ZREM).
func (r *Redis) register(ctx context.Context) error {
	r.pmu.Lock()
	todo := make([]*fallbackReservation, 0, len(r.pending))
	for f := range r.pending {
		todo = append(todo, f)
	}
	r.pmu.Unlock()
	exp := r.backend.Now().Add(r.holdTTL).UnixMilli()
	for _, f := range todo {
		err := holdScript.Run(ctx, r.backend.Client, f.keys, exp, f.member, f.est,
			int64(dayTTL/time.Second), int64(monthTTL/time.Second)).Err()
		if err != nil {
			return fmt.Errorf("budget: redis hold of a fallback reservation: %w", err)
		}
		r.pmu.Lock()
		_, still := r.pending[f]
		if still {
			f.registered = true
			delete(r.pending, f)
		}
		r.pmu.Unlock()
		if !still && f.settled.Load() { // settled meanwhile: this hold may outlive its release
			r.settleNow(f.keys, f.member, f.est, 0)
		}
	}
	return nil
}

// settleKeys are the period hashes and hold sets of scopes at t, as the
// scripts take them.
func (r *Redis) settleKeys(scopes []BudgetScope, t time.Time) []string {
	keys := make([]string, 0, 4*len(scopes))
	for _, s := range scopes {
		d, m := r.periodKeys(s.Key, t)
		keys = append(keys, d, d+":h", m, m+":h")
	}
	return keys
}

// fallbackReservation is a reservation made locally while Redis was
// down. Its spend is added to Redis too once Redis answers, so the other
// replicas (and this one, back on Redis) count it.
//
// While it is not settled, it is held in Redis too once Redis answers
// (register), and its settle releases that hold.
type fallbackReservation struct {
	Reservation
	r       *Redis
	keys    []string
	member  string // its hold in Redis, once registered
	est     int64
	settled atomic.Bool

	registered bool // guarded by r.pmu
}

func (f *fallbackReservation) Settle(actualUSD float64) {
	if !f.settled.CompareAndSwap(false, true) {
		return
	}
	f.Reservation.Settle(actualUSD)
	r := f.r
	r.pmu.Lock()
	delete(r.pending, f)
	registered := f.registered
	r.pmu.Unlock()
	actual := toNanos(actualUSD)
	if !registered {
		if actual > 0 {
			r.deferSettle(f.keys, "", 0, actual)
		}
		return
	}
	r.settleNow(f.keys, f.member, f.est, actual)
}

// settleNow adds actual to keys' spend and releases the hold member of
// est, now, or once Redis answers if it fails.
func (r *Redis) settleNow(keys []string, member string, est, actual int64) {
	ctx, cancel := context.WithTimeout(context.Background(), r.backend.SettleTimeout)
	defer cancel()
	err := settleScript.Run(ctx, r.backend.Client, keys, member, est, actual,
		int64(dayTTL/time.Second), int64(monthTTL/time.Second)).Err()
	if err != nil {
		r.backend.Logger.Warn("budget: redis settle failed; it is made again once redis answers", "err", err)
		r.deferSettle(keys, member, est, actual)
	}
}

// deferSettle has Run add actual to keys' spend (and release the hold
// member of est, if any) once Redis answers.
func (r *Redis) deferSettle(keys []string, member string, est, actual int64) {
	r.backend.Defer(func(ctx context.Context) error {
		return settleScript.Run(ctx, r.backend.Client, keys, member, est, actual,
			int64(dayTTL/time.Second), int64(monthTTL/time.Second)).Err()
	})
}

// Deferred is how many settles wait for Redis to answer again.
func (r *Redis) Deferred() int { return r.backend.Deferred() }

// Run makes, until ctx ends, the settles that failed and the spend counted
// locally during an outage, once Redis answers again, and leaves the
// fallback as soon as it does (see redisbacked.Backend.Run). While Redis
// answers, it also reads, every ProbeInterval, the fleet's spend and holds
// in every counter this replica has reserved against today, so that a
// fallback starts from the fleet's figure, not from this replica's last
// reservation.
func (r *Redis) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { r.backend.Run(ctx) })
	wg.Go(func() { r.backend.WhileUp(ctx, r.refresh) }) // the counters in seen, for a fallback
	wg.Wait()
}

// seenCount is what this replica last read in a period hash: the spend,
// and the holds of requests in flight (on every replica), nano-USD.
type seenCount struct{ spent, held int64 }

// refresh reads the spend and holds of every counter in seen.
func (r *Redis) refresh(ctx context.Context) error {
	r.mu.Lock()
	day := r.seenDay
	keys := make([]string, 0, len(r.seen))
	for k := range r.seen {
		keys = append(keys, k)
	}
	r.mu.Unlock()
	err := r.backend.ReadHashes(ctx, keys, []string{"s", "r"}, func(from int, vals [][]any) {
		r.mu.Lock()
		defer r.mu.Unlock()
		for j, v := range vals {
			if v != nil && r.seenDay == day {
				r.seen[keys[from+j]] = seenCount{spent: parseNanos(v[0]), held: parseNanos(v[1])}
			}
		}
	})
	if err != nil {
		return fmt.Errorf("budget: redis refresh: %w", err)
	}
	return nil
}

// parseNanos reads an amount of an HMGET reply; a missing one is 0.
func parseNanos(v any) int64 {
	str, _ := v.(string)
	n, _ := strconv.ParseInt(str, 10, 64)
	return max(n, 0)
}

// reserveRedis makes the reservation in Redis, or returns the counters
// that must be seeded first.
func (r *Redis) reserveRedis(ctx context.Context, scopes []BudgetScope, est int64) (Reservation, *SeedError, error) {
	now := r.backend.Now()
	member := r.backend.NewID() + "|" + strconv.FormatInt(est, 10)
	keys := r.settleKeys(scopes, now)
	args := make([]any, 0, 6+3*len(scopes))
	args = append(args, now.UnixMilli(), now.Add(r.holdTTL).UnixMilli(), member, est,
		int64(dayTTL/time.Second), int64(monthTTL/time.Second))
	for _, s := range scopes {
		seeded := 0
		if s.Seeded {
			seeded = 1
		}
		args = append(args, limitNanos(s.DailyUSD), limitNanos(s.MonthlyUSD), seeded)
	}
	res, err := reserveScript.Run(ctx, r.backend.Client, keys, args...).Slice()
	if err != nil {
		return nil, nil, fmt.Errorf("budget: redis reserve: %w", err)
	}
	ints := make([]int64, len(res))
	for j, v := range res {
		ints[j], _ = v.(int64)
	}
	if len(res) == 0 {
		return nil, nil, fmt.Errorf("budget: redis reserve: empty reply")
	}
	switch i := ints[0]; {
	case i == -1:
		se := &SeedError{}
		for j := 1; j+1 < len(ints); j += 2 {
			s, p := ints[j], ints[j+1]
			if s < 1 || int(s) > len(scopes) || p < 1 || p > 2 {
				return nil, nil, fmt.Errorf("budget: redis reserve: bad reply %v", res)
			}
			se.Need = append(se.Need, ScopePeriod{Scope: scopes[s-1].Key, Period: [2]Period{Daily, Monthly}[p-1]})
		}
		return nil, se, nil
	case i != 0:
		p, _ := res[1].(string)
		if i < 1 || int(i) > len(scopes) || len(res) != 5 {
			return nil, nil, fmt.Errorf("budget: redis reserve: bad reply %v", res)
		}
		return nil, nil, &Error{Scope: scopes[i-1].Key, Period: Period(p), Limit: toUSD(ints[2]), Spent: toUSD(ints[3]), Reserved: toUSD(ints[4])}
	}
	r.remember(now, keys, ints[1:], est)
	return &redisReservation{r: r, keys: keys, member: member, est: est}, nil, nil
}

// remember records the spend and holds seen per period hash (pairs in
// counts, this reservation's est not included) so a fallback can start
// from them.
func (r *Redis) remember(now time.Time, keys []string, counts []int64, est int64) {
	day, _ := periodIDs(now)
	r.mu.Lock()
	defer r.mu.Unlock()
	if day != r.seenDay {
		clear(r.seen)
		r.seenDay = day
	}
	for j := 0; 2*j+1 < len(counts) && 2*j < len(keys); j++ {
		r.seen[keys[2*j]] = seenCount{spent: counts[2*j], held: addSat(counts[2*j+1], est)}
	}
}

// seedLocal seeds the fallback with each scope's share of the spend and
// holds last seen in Redis (on every replica: Run reads them every
// ProbeInterval), so falling back does not reset spend to zero, and the
// replicas' shares together stay within the budget. The holds count as
// spent: the requests in flight when Redis failed settle into Redis later,
// not into the fallback.
func (r *Redis) seedLocal(scopes []BudgetScope) {
	now := r.backend.Now()
	n := int64(r.backend.Replicas)
	for _, s := range scopes {
		d, m := r.periodKeys(s.Key, now)
		r.mu.Lock()
		dc, mc := r.seen[d], r.seen[m]
		ds, ms := addSat(dc.spent, dc.held), addSat(mc.spent, mc.held)
		r.mu.Unlock()
		if ds > 0 {
			_ = r.local.seed(s.Key, Daily, ds/n)
		}
		if ms > 0 {
			_ = r.local.seed(s.Key, Monthly, ms/n)
		}
	}
}

// Seed implements Budgets. It seeds the local fallback as well. Spend is
// raised to the last this replica saw in Redis for the period too, when
// that is more: after Redis lost its data, it holds settles the usage
// records may not have yet.
func (r *Redis) Seed(ctx context.Context, scopeKey string, period Period, spentUSD float64) error {
	spent := toNanos(spentUSD)
	now := r.backend.Now()
	d, m := r.periodKeys(scopeKey, now)
	key, ttl := d, dayTTL
	switch period {
	case Daily:
	case Monthly:
		key, ttl = m, monthTTL
	default:
		return fmt.Errorf("budget: seed: unknown period %q", period)
	}
	r.mu.Lock()
	spent = max(spent, r.seen[key].spent)
	r.mu.Unlock()
	if err := r.local.seed(scopeKey, period, spent/int64(r.backend.Replicas)); err != nil {
		return err
	}
	if err := seedScript.Run(ctx, r.backend.Client, []string{key}, spent, int64(ttl/time.Second)).Err(); err != nil {
		return fmt.Errorf("budget: redis seed: %w", err)
	}
	return nil
}

// redisReservation is the Reservation of a hold made in Redis.
type redisReservation struct {
	r       *Redis
	keys    []string
	member  string
	est     int64
	settled atomic.Bool
}

// Settle implements Reservation. If Redis fails, the settle (the spend,
// and the release of the hold) is made again once Redis answers (Run).
func (s *redisReservation) Settle(actualUSD float64) {
	if !s.settled.CompareAndSwap(false, true) {
		return
	}
	r := s.r
	ctx, cancel := context.WithTimeout(context.Background(), r.backend.SettleTimeout)
	defer cancel()
	err := settleScript.Run(ctx, r.backend.Client, s.keys, s.member, s.est, toNanos(actualUSD),
		int64(dayTTL/time.Second), int64(monthTTL/time.Second)).Err()
	if err != nil {
		r.backend.Logger.Warn("budget: redis settle failed; it is made again once redis answers", "err", err)
		r.deferSettle(s.keys, s.member, s.est, toNanos(actualUSD))
	}
}
