package budget

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Memory is a Budgets whose state lives in this process: the default for a
// single replica and the fallback of Redis.
type Memory struct {
	now    func() time.Time
	mu     sync.Mutex
	scopes map[string]*scopeState
	ops    int
}

var _ Budgets = (*Memory)(nil)

type periodState struct {
	id              int64
	spent, reserved int64 // nano-USD
}

// roll resets p if it belongs to an earlier period than id.
func (p *periodState) roll(id int64) {
	if p.id != id {
		*p = periodState{id: id}
	}
}

type scopeState struct {
	day, month periodState
}

// NewMemory returns an in-process Budgets reading time from now.
func NewMemory(now func() time.Time) *Memory {
	return &Memory{now: now, scopes: make(map[string]*scopeState)}
}

// Reserve implements Budgets.
func (m *Memory) Reserve(ctx context.Context, scopes []BudgetScope, estimateUSD float64) (Reservation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return m.reserve(scopes, toNanos(estimateUSD), 1)
}

// reserve holds est nano-USD; limits are divided by share (the fallback's
// replica count).
func (m *Memory) reserve(scopes []BudgetScope, est int64, share int64) (Reservation, error) {
	if est > maxNanos && unlimited(scopes) {
		return nil, tooBigError(scopes)
	}
	day, month := periodIDs(m.now())
	m.mu.Lock()
	defer m.mu.Unlock()
	sts := make([]*scopeState, len(scopes))
	for i, s := range scopes {
		st := m.scopes[s.Key]
		if st == nil {
			st = &scopeState{}
			m.scopes[s.Key] = st
		}
		st.day.roll(day)
		st.month.roll(month)
		if err := check(s.Key, Daily, &st.day, divide(limitNanos(s.DailyUSD), share), est); err != nil {
			return nil, err
		}
		if err := check(s.Key, Monthly, &st.month, divide(limitNanos(s.MonthlyUSD), share), est); err != nil {
			return nil, err
		}
		sts[i] = st
	}
	for _, st := range sts {
		st.day.reserved = addSat(st.day.reserved, est)
		st.month.reserved = addSat(st.month.reserved, est)
	}
	m.ops++
	if m.ops > len(m.scopes)+64 {
		m.sweep(month)
	}
	keys := make([]string, len(scopes))
	for i, s := range scopes {
		keys[i] = s.Key
	}
	return &memReservation{m: m, keys: keys, day: day, month: month, est: est}, nil
}

func check(key string, p Period, ps *periodState, limit, est int64) error {
	if limit > 0 && addSat(addSat(ps.spent, ps.reserved), est) > limit {
		return &Error{Scope: key, Period: p, Limit: toUSD(limit), Spent: toUSD(ps.spent), Reserved: toUSD(ps.reserved)}
	}
	return nil
}

// divide splits a limit among share replicas, rounding up; 0 stays
// unlimited.
func divide(limit, share int64) int64 {
	if limit <= 0 || share <= 1 {
		return limit
	}
	return (limit + share - 1) / share
}

// sweep forgets scopes with nothing recorded in the current month and
// nothing held. Called with m.mu held.
func (m *Memory) sweep(month int64) {
	for k, st := range m.scopes {
		if st.day.reserved == 0 && st.month.reserved == 0 && (st.month.id != month || st.month.spent == 0) {
			delete(m.scopes, k)
		}
	}
	m.ops = 0
}

// Seed implements Budgets.
func (m *Memory) Seed(ctx context.Context, scopeKey string, period Period, spentUSD float64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return m.seed(scopeKey, period, toNanos(spentUSD))
}

func (m *Memory) seed(scopeKey string, period Period, spent int64) error {
	day, month := periodIDs(m.now())
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.scopes[scopeKey]
	if st == nil {
		st = &scopeState{}
		m.scopes[scopeKey] = st
	}
	var ps *periodState
	switch period {
	case Daily:
		ps = &st.day
		ps.roll(day)
	case Monthly:
		ps = &st.month
		ps.roll(month)
	default:
		return fmt.Errorf("budget: seed: unknown period %q", period)
	}
	ps.spent = max(ps.spent, spent)
	return nil
}

// memReservation is the Reservation of Memory.
type memReservation struct {
	m          *Memory
	keys       []string
	day, month int64
	est        int64
	settled    atomic.Bool
}

// Settle implements Reservation. Spend lands in the periods the reservation
// was made in; a period that has ended since is not touched.
func (r *memReservation) Settle(actualUSD float64) {
	if !r.settled.CompareAndSwap(false, true) {
		return
	}
	actual := toNanos(actualUSD)
	r.m.mu.Lock()
	defer r.m.mu.Unlock()
	for _, k := range r.keys {
		st := r.m.scopes[k]
		if st == nil { // swept: it held nothing, so only spend is recorded
			st = &scopeState{day: periodState{id: r.day}, month: periodState{id: r.month}}
			r.m.scopes[k] = st
		}
		if st.day.id == r.day {
			st.day.reserved = max(st.day.reserved-r.est, 0)
			st.day.spent = addSat(st.day.spent, actual)
		}
		if st.month.id == r.month {
			st.month.reserved = max(st.month.reserved-r.est, 0)
			st.month.spent = addSat(st.month.spent, actual)
		}
	}
}
