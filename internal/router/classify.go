package router

import (
	"context"
	"errors"
	"hash/maphash"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

// Classifier defaults.
const (
	defaultClassifyTimeout = 500 * time.Millisecond
	defaultClassifyCache   = 4096
	// classifyPromptBytes bounds the prompt text sent to the classifier.
	classifyPromptBytes = 8 << 10
)

// DefaultClassifierPrompt is the classifier's instruction when the route
// gives none; the labels are appended.
const DefaultClassifierPrompt = "Classify the user's request. Answer with exactly one of the labels below and nothing else."

// classifier labels requests for one classify route, caching labels by
// prompt hash.
type classifier struct {
	deployment string
	system     string
	labels     []string // sorted
	timeout    time.Duration
	cache      *labelCache
}

func sortedLabels(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for l := range m {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

func newClassifier(rt *config.Route) *classifier {
	cl := rt.Classifier
	c := &classifier{deployment: cl.Deployment, labels: sortedLabels(cl.Labels), timeout: cl.Timeout.D()}
	if c.timeout <= 0 {
		c.timeout = defaultClassifyTimeout
	}
	prompt := cl.Prompt
	if prompt == "" {
		prompt = DefaultClassifierPrompt
	}
	c.system = prompt + "\n\nLabels:\n" + strings.Join(c.labels, "\n")
	size := cl.CacheSize
	if size <= 0 {
		size = defaultClassifyCache
	}
	c.cache = newLabelCache(size)
	return c
}

// label returns the label for the request, or "" with the reason the
// default applies.
func (c *classifier) label(ctx context.Context, call func(context.Context, string, *llm.Request) (*llm.Response, error), f *Features) (string, string) {
	key := c.cache.key(f.System, f.LastUser)
	if l, ok := c.cache.get(key); ok {
		return l, "cached"
	}
	if call == nil {
		return "", "classifier not called (labels " + strings.Join(c.labels, ", ") + ")"
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	text := f.LastUser
	if len(text) > classifyPromptBytes {
		text = text[:classifyPromptBytes]
	}
	req := &llm.Request{Model: c.deployment, MaxTokens: 16, NumMessages: 2, SystemText: c.system, LastUserText: text, TextBytes: len(c.system) + len(text)}
	zero := 0.0
	req.SetBody(&llm.Body{System: c.system, Temperature: &zero, Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: text}}}}})
	resp, err := call(ctx, c.deployment, req)
	switch {
	case errors.Is(err, context.DeadlineExceeded) || err != nil && ctx.Err() == context.DeadlineExceeded:
		return "", "classifier timed out after " + c.timeout.String()
	case err != nil:
		return "", "classifier failed"
	}
	l := c.match(resp.Text)
	if l == "" {
		return "", "classifier answered no known label"
	}
	c.cache.put(key, l)
	return l, "classifier " + c.deployment
}

// match finds the label in the classifier's answer: the whole answer
// (case, spaces and punctuation aside), else the longest label it contains.
func (c *classifier) match(answer string) string {
	a := strings.ToLower(strings.Trim(strings.TrimSpace(answer), ".\"'`*"))
	for _, l := range c.labels {
		if strings.ToLower(l) == a {
			return l
		}
	}
	best := ""
	for _, l := range c.labels {
		if strings.Contains(a, strings.ToLower(l)) && len(l) > len(best) {
			best = l
		}
	}
	return best
}

// labelCache is a bounded map from prompt hash to label; when full it
// evicts the oldest entry (FIFO, which is enough for a cache whose entries
// never go stale). It grows as it fills: the bound is never allocated up
// front, so a large cache_size costs only what is cached.
type labelCache struct {
	seed maphash.Seed
	mu   sync.Mutex
	m    map[uint64]string
	ring []uint64 // keys in insertion order, a ring once len(ring) == max
	max  int
	next int
}

func newLabelCache(size int) *labelCache {
	return &labelCache{seed: maphash.MakeSeed(), m: make(map[uint64]string), max: max(size, 1)}
}

func (c *labelCache) key(system, prompt string) uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(system)
	h.WriteByte(0)
	h.WriteString(prompt)
	return h.Sum64()
}

func (c *labelCache) get(k uint64) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.m[k]
	return l, ok
}

func (c *labelCache) put(k uint64, label string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; ok {
		c.m[k] = label
		return
	}
	if len(c.ring) < c.max {
		c.ring = append(c.ring, k)
	} else {
		delete(c.m, c.ring[c.next])
		c.ring[c.next] = k
		c.next = (c.next + 1) % len(c.ring)
	}
	c.m[k] = label
}
