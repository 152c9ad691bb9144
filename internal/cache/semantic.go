package cache

import (
	"container/list"
	"math"
	"strings"
	"sync"
	"time"
)

// Semantic is an in-memory index of embedded answers for the semantic
// lookup: per namespace (everything about a request but its last user
// message, hashed), the unit embedding of that message and the Store key
// its answer was stored under. Nearest scans the namespace's entries, so
// a namespace is small in practice (one prompt template, one route, one
// tenant). Bounded in entries, oldest dropped first. Safe for concurrent
// use.
type Semantic struct {
	now func() time.Time
	max int

	mu    sync.Mutex
	order *list.List // of *semEntry, oldest at the back
	byNS  map[string]map[*list.Element]struct{}
	onAdd func(ns string, unit []float32, key string, expires time.Time)
}

type semEntry struct {
	ns      string
	vec     []float32 // unit length
	key     string
	expires time.Time
}

// NewSemantic returns an index of at most maxEntries entries; now is the
// clock (time.Now when nil).
func NewSemantic(maxEntries int, now func() time.Time) *Semantic {
	if now == nil {
		now = time.Now
	}
	return &Semantic{now: now, max: maxEntries, order: list.New(), byNS: make(map[string]map[*list.Element]struct{})}
}

// OnAdd sets fn to be called with each entry Add indexes (its vector of
// unit length), after it is indexed: how a replica shares its entries
// (see SemanticShare). Set it before use.
func (s *Semantic) OnAdd(fn func(ns string, unit []float32, key string, expires time.Time)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onAdd = fn
}

// Add indexes the answer stored under key for ttl. A zero vector is not
// indexed.
func (s *Semantic) Add(ns string, vec []float32, key string, ttl time.Duration) {
	unit := normalize(vec)
	if unit == nil || s.max <= 0 {
		return
	}
	expires := s.now().Add(ttl)
	s.mu.Lock()
	s.add(ns, unit, key, expires)
	fn := s.onAdd
	s.mu.Unlock()
	if fn != nil {
		fn(ns, unit, key, expires)
	}
}

// AddShared indexes an entry another replica added, until expires; it is
// not passed to the OnAdd function.
func (s *Semantic) AddShared(ns string, vec []float32, key string, expires time.Time) {
	unit := normalize(vec)
	if unit == nil || s.max <= 0 || !s.now().Before(expires) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.add(ns, unit, key, expires)
}

func (s *Semantic) add(ns string, unit []float32, key string, expires time.Time) {
	for s.order.Len() >= s.max {
		s.remove(s.order.Back())
	}
	el := s.order.PushFront(&semEntry{ns: ns, vec: unit, key: key, expires: expires})
	m := s.byNS[ns]
	if m == nil {
		m = make(map[*list.Element]struct{})
		s.byNS[ns] = m
	}
	m[el] = struct{}{}
}

// Nearest returns the key of the unexpired entry of ns most similar to vec
// (cosine), if that similarity is at least threshold.
func (s *Semantic) Nearest(ns string, vec []float32, threshold float64) (key string, similarity float64, ok bool) {
	unit := normalize(vec)
	if unit == nil {
		return "", 0, false
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	best := math.Inf(-1)
	for el := range s.byNS[ns] {
		e := el.Value.(*semEntry)
		if !now.Before(e.expires) {
			s.remove(el)
			continue
		}
		if len(e.vec) != len(unit) {
			continue // another embedding model's vector
		}
		var dot float64
		for i, x := range e.vec {
			dot += float64(x) * float64(unit[i])
		}
		if dot > best {
			best, key = dot, e.key
		}
	}
	if key == "" || best < threshold {
		return "", 0, false
	}
	return key, best, true
}

// Purge drops the entries whose Store key begins with prefix (all for "").
func (s *Semantic) Purge(prefix string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for el := s.order.Front(); el != nil; {
		next := el.Next()
		if strings.HasPrefix(el.Value.(*semEntry).key, prefix) {
			s.remove(el)
		}
		el = next
	}
}

// Len is the number of entries held.
func (s *Semantic) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.order.Len()
}

func (s *Semantic) remove(el *list.Element) {
	e := s.order.Remove(el).(*semEntry)
	m := s.byNS[e.ns]
	delete(m, el)
	if len(m) == 0 {
		delete(s.byNS, e.ns)
	}
}

// normalize returns vec scaled to unit length, or nil for a zero vector.
func normalize(vec []float32) []float32 {
	var n float64
	for _, x := range vec {
		n += float64(x) * float64(x)
	}
	if n == 0 || math.IsNaN(n) || math.IsInf(n, 0) {
		return nil
	}
	n = math.Sqrt(n)
	out := make([]float32, len(vec))
	for i, x := range vec {
		out[i] = float32(float64(x) / n)
	}
	return out
}
