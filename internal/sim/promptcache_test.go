package sim

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestPromptCaching: OpenAI caches a repeated long prompt by itself;
// Anthropic writes, then reads, the prefix up to a cache_control block.
func TestPromptCaching(t *testing.T) {
	m := Model{Name: "m", OutputTokens: 8, ContextWindow: 100000}
	_, url, c := startSim(t, Config{Models: []Model{m, {Name: "other", OutputTokens: 8, ContextWindow: 100000}}})
	ctx := context.Background()
	long := strings.Repeat("the quick brown fox jumps over the lazy dog ", 200) // ~2,200 tokens
	type usage struct {
		PromptTokens        int `json:"prompt_tokens"`
		PromptTokensDetails struct {
			CachedTokens int `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
		InputTokens              int `json:"input_tokens"`
		CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
		CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	}
	call := func(path string, body any) usage {
		t.Helper()
		resp := post(t, ctx, c, url+path, body, "anthropic-version", "2023-06-01")
		defer resp.Body.Close()
		var out struct{ Usage usage }
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: status %d, %v", path, resp.StatusCode, err)
		}
		return out.Usage
	}

	chat := func(model, content string) usage {
		return call("/v1/chat/completions", map[string]any{"model": model, "messages": []any{map[string]any{"role": "user", "content": content}}})
	}
	first, again := chat("m", long), chat("m", long)
	if first.PromptTokensDetails.CachedTokens != 0 {
		t.Errorf("openai, first call: %+v, want nothing cached", first)
	}
	if n := again.PromptTokensDetails.CachedTokens; n == 0 || n%128 != 0 || n > again.PromptTokens || again.PromptTokens-n >= 128 {
		t.Errorf("openai, repeat: %+v, want the prompt cached in 128-token steps", again)
	}
	if u := chat("other", long); u.PromptTokensDetails.CachedTokens != 0 {
		t.Errorf("openai, another model: %+v, want its own cache", u)
	}
	// A prompt that starts like a cached one reads the shared prefix.
	longer := chat("m", long+" and one more sentence that was not there before, long enough to matter here.")
	if n := longer.PromptTokensDetails.CachedTokens; n < 1024 || n%128 != 0 || n > again.PromptTokensDetails.CachedTokens+128 || n >= longer.PromptTokens {
		t.Errorf("openai, a longer prompt with the same start: %+v, want its shared prefix cached", longer)
	}
	short := "hello there"
	chat("m", short)
	if u := chat("m", short); u.PromptTokensDetails.CachedTokens != 0 {
		t.Errorf("openai, short prompt: %+v, want none cached (under 1,024 tokens)", u)
	}

	message := func(system []map[string]any, question string) usage {
		return call("/v1/messages", map[string]any{"model": "m", "max_tokens": 8, "system": system,
			"messages": []any{map[string]any{"role": "user", "content": question}}})
	}
	marked := []map[string]any{{"type": "text", "text": long, "cache_control": map[string]any{"type": "ephemeral"}}}
	w := message(marked, "first question")
	r := message(marked, "a different second question")
	if w.CacheCreationInputTokens < 1024 || w.CacheReadInputTokens != 0 || w.InputTokens == 0 || w.InputTokens >= 100 {
		t.Errorf("anthropic, first call: %+v, want the system prompt written to the cache and only the question as input", w)
	}
	if r.CacheReadInputTokens != w.CacheCreationInputTokens || r.CacheCreationInputTokens != 0 || r.InputTokens == 0 || r.InputTokens >= 100 {
		t.Errorf("anthropic, second call: %+v, want the prefix read from the cache", r)
	}
	plain := []map[string]any{{"type": "text", "text": long}}
	message(plain, "q")
	if u := message(plain, "q"); u.CacheCreationInputTokens != 0 || u.CacheReadInputTokens != 0 || u.InputTokens < 1024 {
		t.Errorf("anthropic without cache_control: %+v, want no caching", u)
	}
}
