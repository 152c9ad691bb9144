package cache

import (
	"container/list"
	"context"
	"strings"
	"sync"
	"time"
)

// entryOverhead is what one entry costs beyond its body and key, counted
// against the memory bound.
const entryOverhead = 256

// Memory is a Store in this process, bounded in bytes: when full, the
// least recently used entries go first. Safe for concurrent use.
type Memory struct {
	now func() time.Time
	max int64

	mu    sync.Mutex
	used  int64
	order *list.List // of *memEntry, most recently used first
	items map[string]*list.Element
}

type memEntry struct {
	key     string
	e       *Entry
	expires time.Time
	size    int64
}

// NewMemory returns a store holding at most maxBytes; now is the clock
// (time.Now when nil).
func NewMemory(maxBytes int64, now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, max: maxBytes, order: list.New(), items: make(map[string]*list.Element)}
}

// Get implements Store.
func (m *Memory) Get(_ context.Context, key string) (*Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.items[key]
	if !ok {
		return nil, nil
	}
	me := el.Value.(*memEntry)
	if !m.now().Before(me.expires) {
		m.remove(el)
		return nil, nil
	}
	m.order.MoveToFront(el)
	return me.e, nil
}

// Set implements Store. An entry larger than the whole bound is not kept.
func (m *Memory) Set(_ context.Context, key string, e *Entry, ttl time.Duration) error {
	size := int64(len(e.Body)+len(key)+len(e.ContentType)+len(e.Deployment)+len(e.Model)) + entryOverhead
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.items[key]; ok {
		m.remove(el)
	}
	if size > m.max {
		return nil
	}
	for m.used+size > m.max {
		m.remove(m.order.Back())
	}
	m.items[key] = m.order.PushFront(&memEntry{key: key, e: e, expires: m.now().Add(ttl), size: size})
	m.used += size
	return nil
}

// Purge implements Store.
func (m *Memory) Purge(_ context.Context, prefix string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, now := 0, m.now()
	for key, el := range m.items {
		if strings.HasPrefix(key, prefix) {
			// Expired entries go too, but only live ones count, as
			// with Redis, which has dropped the expired already.
			if now.Before(el.Value.(*memEntry).expires) {
				n++
			}
			m.remove(el)
		}
	}
	return n, nil
}

// Delete implements Store.
func (m *Memory) Delete(_ context.Context, key string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.items[key]
	if !ok {
		return false, nil
	}
	live := m.now().Before(el.Value.(*memEntry).expires)
	m.remove(el)
	return live, nil
}

// Len is the number of entries held, expired ones included until they
// are next looked up or pushed out.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items)
}

func (m *Memory) remove(el *list.Element) {
	me := m.order.Remove(el).(*memEntry)
	delete(m.items, me.key)
	m.used -= me.size
}
