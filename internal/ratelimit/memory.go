package ratelimit

import (
	"context"
	"hash/maphash"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// shardCount is the number of independently locked shards of a Memory.
const shardCount = 64

// Memory is a Limiter whose state lives in this process. It is the default
// for a single replica and the fallback of Redis.
type Memory struct {
	now    func() time.Time
	seed   maphash.Seed
	shards [shardCount]shard
}

var _ Limiter = (*Memory)(nil)

type shard struct {
	mu     sync.Mutex
	states map[string]*scopeState
	ops    int // admissions since the last sweep
	_      [40]byte
}

// scopeState is the limiter state of one scope key.
type scopeState struct {
	rpm, tpm bucket
	inflight int
}

// NewMemory returns an in-process Limiter reading time from now.
func NewMemory(now func() time.Time) *Memory {
	m := &Memory{now: now, seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].states = make(map[string]*scopeState)
	}
	return m
}

// held is what one scope of an admitted request holds until settled.
type held struct {
	sh     *shard
	st     *scopeState
	tpm    int // TPM limit the tokens were charged against; 0 if none
	tokens int
	leased bool
}

// memTicket is the Ticket of Memory.
type memTicket struct {
	m       *Memory
	held    []held
	settled atomic.Bool
}

// Admit implements Limiter.
func (m *Memory) Admit(ctx context.Context, req Request) (Ticket, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var idxBuf [4]int
	idx := idxBuf[:0]
	for _, s := range req.Scopes {
		idx = append(idx, int(maphash.String(m.seed, s.Key)%shardCount))
	}
	order := lockOrder(idx)
	for _, i := range order {
		m.shards[i].mu.Lock()
	}
	defer func() {
		for _, i := range order {
			m.shards[i].mu.Unlock()
		}
	}()
	now := m.now().UnixNano()
	t := &memTicket{m: m, held: make([]held, len(req.Scopes))}
	for n, s := range req.Scopes {
		sh := &m.shards[idx[n]]
		st := sh.states[s.Key]
		if st == nil {
			st = &scopeState{}
			sh.states[s.Key] = st
		}
		if err := st.check(now, s); err != nil {
			return nil, err
		}
		t.held[n] = held{sh: sh, st: st}
	}
	for n, s := range req.Scopes {
		h := &t.held[n]
		if s.RPM > 0 {
			h.st.rpm.tokens--
		}
		if s.TPM > 0 && s.Tokens > 0 {
			h.st.tpm.tokens -= float64(s.Tokens)
			h.tpm, h.tokens = s.TPM, s.Tokens
		}
		if s.MaxConcurrent > 0 {
			h.st.inflight++
			h.leased = true
		}
		h.sh.ops++
		if h.sh.ops > len(h.sh.states)+64 {
			h.sh.sweep(now)
		}
	}
	return t, nil
}

// check refills the scope's buckets and reports whether s can be admitted,
// without charging anything.
func (st *scopeState) check(now int64, s Scope) error {
	if s.MaxConcurrent > 0 && st.inflight >= s.MaxConcurrent {
		return &Error{Scope: s.Key, Limit: LimitConcurrency, RetryAfter: concurrencyRetryAfter}
	}
	if s.RPM > 0 {
		st.rpm.refill(now, s.RPM)
		if st.rpm.tokens < 1 {
			return &Error{Scope: s.Key, Limit: LimitRPM, RetryAfter: st.rpm.wait(1)}
		}
	}
	if s.TPM > 0 && s.Tokens > 0 {
		st.tpm.refill(now, s.TPM)
		if n := need(s.Tokens, s.TPM); st.tpm.tokens < n {
			return &Error{Scope: s.Key, Limit: LimitTPM, RetryAfter: st.tpm.wait(n)}
		}
	}
	return nil
}

// sweep forgets scopes whose state equals a fresh one (full buckets, nothing
// in flight), so memory is bounded by the scopes active in the last minute.
// Called with sh.mu held; its cost is amortised over len(states) admissions.
func (sh *shard) sweep(now int64) {
	for k, st := range sh.states {
		if st.inflight == 0 && st.rpm.full(now) && st.tpm.full(now) {
			delete(sh.states, k)
		}
	}
	sh.ops = 0
}

// Settle implements Ticket.
func (t *memTicket) Settle(actualTokens int) {
	if !t.settled.CompareAndSwap(false, true) {
		return
	}
	now := t.m.now().UnixNano()
	for _, h := range t.held {
		if h.tpm == 0 && !h.leased {
			continue
		}
		h.sh.mu.Lock()
		if h.tpm > 0 {
			h.st.tpm.refill(now, h.tpm)
			h.st.tpm.tokens += float64(h.tokens - actualTokens)
			if h.st.tpm.tokens > h.st.tpm.limit {
				h.st.tpm.tokens = h.st.tpm.limit
			}
		}
		if h.leased {
			h.st.inflight--
		}
		h.sh.mu.Unlock()
	}
}

// lockOrder returns the distinct shard indexes of idx in ascending order, the
// order in which they are locked so that concurrent multi-scope admissions
// never deadlock.
func lockOrder(idx []int) []int {
	switch len(idx) {
	case 0:
		return nil
	case 1:
		return idx[:1:1]
	case 2:
		a, b := idx[0], idx[1]
		if a == b {
			return []int{a}
		}
		if a > b {
			a, b = b, a
		}
		return []int{a, b}
	}
	o := append([]int(nil), idx...)
	sort.Ints(o)
	u := o[:1]
	for _, v := range o[1:] {
		if v != u[len(u)-1] {
			u = append(u, v)
		}
	}
	return u
}

// seedBuckets sets key's RPM bucket (if rpm > 0) and TPM bucket (if tpm >
// 0), of those limits, to hold rpmTokens and tpmTokens at now (at most
// full), the others full, and adds inflight to its requests in flight: the
// fallback's start from what Redis held.
func (m *Memory) seedBuckets(key string, rpm, tpm int, rpmTokens, tpmTokens float64, inflight int) {
	sh := &m.shards[int(maphash.String(m.seed, key)%shardCount)]
	now := m.now().UnixNano()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	st := sh.states[key]
	if st == nil {
		st = &scopeState{}
		sh.states[key] = st
	}
	st.rpm, st.tpm = bucket{}, bucket{} // full at their first refill
	if rpm > 0 {
		l := float64(rpm)
		st.rpm = bucket{tokens: min(rpmTokens, l), last: now, limit: l, init: true}
	}
	if tpm > 0 {
		l := float64(tpm)
		st.tpm = bucket{tokens: min(tpmTokens, l), last: now, limit: l, init: true}
	}
	st.inflight += inflight
}

// release frees n of key's requests in flight counted by seedBuckets.
func (m *Memory) release(key string, n int) {
	sh := &m.shards[int(maphash.String(m.seed, key)%shardCount)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if st := sh.states[key]; st != nil {
		st.inflight = max(st.inflight-n, 0)
	}
}
