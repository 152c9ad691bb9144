package sim

import (
	"crypto/sha256"
	"sync"
)

// Prompt caching as the providers do it, so that cached-token accounting
// can be tested against real wire formats:
//
//   - OpenAI (Chat Completions, Completions, Responses): automatic, by
//     prefix. A prompt of at least 1,024 tokens is remembered at every
//     128-token step from 1,024 on; a later prompt to the same model that
//     starts with a remembered prefix has that prefix served from the
//     cache (the longest one; prompt_tokens_details /
//     input_tokens_details.cached_tokens, part of the input count).
//   - Anthropic: explicit. The prompt up to the last content block marked
//     cache_control is the cacheable prefix; when it is at least 1,024
//     tokens, the first request writes it (cache_creation_input_tokens)
//     and later ones read it (cache_read_input_tokens), and input_tokens
//     counts only the rest.
//
// The simulator keeps the prompts' hashes, not their text.
const (
	minCachedPrompt = 1024
	cacheStep       = 128
	maxCacheEntries = 4096 // then the cache starts over, to bound memory
)

type promptCache struct {
	mu   sync.Mutex
	seen map[[sha256.Size]byte]struct{}
}

// use reports whether model has seen text before, and remembers it.
func (c *promptCache) use(model, text string) (hit bool) {
	h := sha256.New()
	h.Write([]byte(model))
	h.Write([]byte{0})
	h.Write([]byte(text))
	var key [sha256.Size]byte
	h.Sum(key[:0])
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.seen[key]; ok {
		return true
	}
	if c.seen == nil || len(c.seen) >= maxCacheEntries {
		c.seen = make(map[[sha256.Size]byte]struct{})
	}
	c.seen[key] = struct{}{}
	return false
}

// cacheTokens is how many of a prompt's in input tokens model m reads from
// (cached) and writes to (written) the prompt cache under dialect d's rules.
func (s *Server) cacheTokens(d dialect, m Model, p *prompt, in int) (cached, written int) {
	switch d.(type) {
	case anthropicAPI, bedrockAPI: // cached up to the request's marks only
		if p.cacheMark == 0 {
			return 0, 0
		}
		prefix := min(estimateTokens(p.cacheMark), in)
		if prefix < minCachedPrompt {
			return 0, 0
		}
		if s.cache.use(m.Name, p.text.String()[:p.cacheMark]) {
			return prefix, 0
		}
		return 0, prefix
	}
	if in < minCachedPrompt {
		return 0, 0
	}
	// Every step's prefix is looked up and remembered, longest hit wins.
	text := p.text.String()
	for tokens := minCachedPrompt; tokens <= in; tokens += cacheStep {
		end := min(tokens*4, len(text)) // estimateTokens' four bytes a token
		if s.cache.use(m.Name, text[:end]) {
			cached = tokens
		}
		if end == len(text) {
			break // the rest of the input is images: no more text to key
		}
	}
	return cached, 0
}
