package app

import (
	"context"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"

	"github.com/switchyard-gw/switchyard/internal/store/open"
)

// promptCacheConfig is baseConfig with prompt-cache prices: medium's cached
// input at a tenth of its input price, claude's reads at a tenth and its
// writes at 1.25 times.
func promptCacheConfig(t *testing.T) string {
	t.Helper()
	cfg := baseConfig
	for old, repl := range map[string]string{
		"price: {input_per_mtok: 1, output_per_mtok: 4}":  "price: {input_per_mtok: 1, output_per_mtok: 4, cached_input_per_mtok: 0.1}",
		"price: {input_per_mtok: 3, output_per_mtok: 15}": "price: {input_per_mtok: 3, output_per_mtok: 15, cached_input_per_mtok: 0.3, cache_write_per_mtok: 3.75}",
	} {
		if !strings.Contains(cfg, old) {
			t.Fatalf("baseConfig lacks %q", old)
		}
		cfg = strings.Replace(cfg, old, repl, 1)
	}
	return cfg
}

// TestPromptCachingIsPricedAndReported: the providers' prompt-cache
// counts reach the client in its own API's shape (also across
// translation), and every usage record keeps them and is priced with the
// cached-input and cache-write prices.
func TestPromptCachingIsPricedAndReported(t *testing.T) {
	s := startStack(t, fastSim(), promptCacheConfig(t))
	ctx := context.Background()
	long := strings.Repeat("Switchyard routes each request to the model that fits its budget. ", 120) // ~2,000 tokens
	oa, an := s.openai(), s.anthropic()

	// OpenAI client, OpenAI deployment: automatic caching of a repeat.
	ask := openai.ChatCompletionNewParams{Model: "medium", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(long)}}
	first, err := oa.Chat.Completions.New(ctx, ask)
	if err != nil {
		t.Fatal(err)
	}
	second, err := oa.Chat.Completions.New(ctx, ask)
	if err != nil {
		t.Fatal(err)
	}
	if first.Usage.PromptTokensDetails.CachedTokens != 0 || second.Usage.PromptTokensDetails.CachedTokens < 1024 {
		t.Fatalf("openai: cached tokens %d then %d, want 0 then the prompt", first.Usage.PromptTokensDetails.CachedTokens, second.Usage.PromptTokensDetails.CachedTokens)
	}
	// The same repeat streamed: the usage chunk carries the cached count.
	stream := oa.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "medium", Messages: ask.Messages,
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
	var streamed openai.CompletionUsage
	for stream.Next() {
		if c := stream.Current(); c.Usage.PromptTokens > 0 {
			streamed = c.Usage
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	stream.Close()
	if streamed.PromptTokensDetails.CachedTokens != second.Usage.PromptTokensDetails.CachedTokens {
		t.Errorf("openai stream: usage %+v, want %d cached", streamed, second.Usage.PromptTokensDetails.CachedTokens)
	}

	// Anthropic client, Anthropic deployment: a cache_control system
	// prompt is written, then read.
	system := []anthropic.TextBlockParam{{Text: long, CacheControl: anthropic.NewCacheControlEphemeralParam()}}
	msg := func(q string) *anthropic.Message {
		t.Helper()
		m, err := an.Messages.New(ctx, anthropic.MessageNewParams{Model: "claude", MaxTokens: 32, System: system,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(q))}})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	w, r := msg("What does it route?"), msg("And why?")
	if w.Usage.CacheCreationInputTokens < 1024 || w.Usage.CacheReadInputTokens != 0 || r.Usage.CacheReadInputTokens != w.Usage.CacheCreationInputTokens {
		t.Fatalf("anthropic: usage %+v then %+v, want the system prompt written then read", w.Usage, r.Usage)
	}
	// Streamed: message_start carries the cache counts, message_delta the output.
	as := an.Messages.NewStreaming(ctx, anthropic.MessageNewParams{Model: "claude", MaxTokens: 32, System: system,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Tell me more"))}})
	var acc anthropic.Message
	for as.Next() {
		if err := acc.Accumulate(as.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := as.Err(); err != nil {
		t.Fatal(err)
	}
	as.Close()
	if acc.Usage.CacheReadInputTokens != w.Usage.CacheCreationInputTokens || acc.Usage.OutputTokens == 0 {
		t.Errorf("anthropic stream: usage %+v, want the prefix read", acc.Usage)
	}

	// Anthropic client, OpenAI deployment: the automatic cache's count
	// becomes cache_read_input_tokens, outside input_tokens.
	tr := func() *anthropic.Message {
		t.Helper()
		m, err := an.Messages.New(ctx, anthropic.MessageNewParams{Model: "medium", MaxTokens: 32,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Summarise this: " + long))}})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	tr1, tr2 := tr(), tr()
	if tr1.Usage.CacheReadInputTokens != 0 || tr2.Usage.CacheReadInputTokens < 1024 || tr2.Usage.InputTokens+tr2.Usage.CacheReadInputTokens != tr1.Usage.InputTokens {
		t.Errorf("translated: usage %+v then %+v, want the repeat's input split into cached and the rest", tr1.Usage, tr2.Usage)
	}

	// The same, streamed: message_delta carries the split counts.
	ts := an.Messages.NewStreaming(ctx, anthropic.MessageNewParams{Model: "medium", MaxTokens: 32,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Summarise this: " + long))}})
	var tacc anthropic.Message
	for ts.Next() {
		if err := tacc.Accumulate(ts.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := ts.Err(); err != nil {
		t.Fatal(err)
	}
	ts.Close()
	if tacc.Usage.CacheReadInputTokens != tr2.Usage.CacheReadInputTokens || tacc.Usage.InputTokens != tr2.Usage.InputTokens {
		t.Errorf("translated stream: usage %+v, want %+v's input split", tacc.Usage, tr2.Usage)
	}

	// The metrics count them apart from the input.
	code, metrics := s.get("/metrics")
	if code != 200 {
		t.Fatalf("metrics: %d", code)
	}
	for _, want := range []string{
		`switchyard_prompt_cache_tokens_total{deployment="claude",kind="write",route="claude"} ` + strconv.FormatInt(w.Usage.CacheCreationInputTokens, 10),
		`switchyard_prompt_cache_tokens_total{deployment="claude",kind="read",route="claude"} ` + strconv.FormatInt(2*w.Usage.CacheCreationInputTokens, 10),
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	// Every record keeps the counts and is priced by them.
	dir := filepath.Dir(s.cfg)
	s.stop()
	st, err := open.Store(ctx, "sqlite://"+filepath.Join(dir, "switchyard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs := usageRecords(t, st)
	if len(recs) != 9 {
		t.Fatalf("got %d usage records, want 9", len(recs))
	}
	prices := map[string][4]float64{ // input, cached, write, output per MTok
		"medium": {1, 0.1, 1, 4},
		"claude": {3, 0.3, 3.75, 15},
	}
	var sawRead, sawWrite int
	for _, rec := range recs {
		p := prices[rec.Deployment]
		plain := rec.InputTokens - rec.CachedInputTokens - rec.CacheWriteTokens
		want := (float64(plain)*p[0] + float64(rec.CachedInputTokens)*p[1] + float64(rec.CacheWriteTokens)*p[2] + float64(rec.OutputTokens)*p[3]) / 1e6
		if plain < 0 || math.Abs(rec.CostUSD-want) > 1e-12 {
			t.Errorf("record %s (%s): cost %v, want %v from %d input (%d cached, %d written), %d output", rec.RequestID, rec.Deployment, rec.CostUSD, want,
				rec.InputTokens, rec.CachedInputTokens, rec.CacheWriteTokens, rec.OutputTokens)
		}
		if rec.CachedInputTokens > 0 {
			sawRead++
		}
		if rec.CacheWriteTokens > 0 {
			sawWrite++
		}
	}
	// Reads: the OpenAI repeat and its stream, the two Anthropic reads,
	// the translated repeat and its stream. Writes: the first Anthropic call.
	if sawRead != 6 || sawWrite != 1 {
		t.Errorf("records with cache reads %d, writes %d; want 6 and 1: %+v", sawRead, sawWrite, recs)
	}
}

// TestPromptCacheMarksTranslatedSystemPrompts: an OpenAI client's long
// system prompt, sent to an Anthropic deployment with prompt_cache:
// system, is written to Anthropic's cache on the first call and read on
// the next (reported as cached_tokens); without the setting nothing is
// cached, since Anthropic caches only what a request marks.
func TestPromptCacheMarksTranslatedSystemPrompts(t *testing.T) {
	cfg := strings.Replace(promptCacheConfig(t), "  - name: embed\n", `  - name: claude-cached
    provider: sim-anthropic
    model: sim-large
    price: {input_per_mtok: 3, output_per_mtok: 15, cached_input_per_mtok: 0.3, cache_write_per_mtok: 3.75}
    prompt_cache: system
  - name: embed
`, 1)
	s := startStack(t, fastSim(), cfg)
	c := s.openai()
	ask := askWithLongSystem(t, c)
	first, second := ask("claude-cached", "What is a block?"), ask("claude-cached", "And an interlocking?")
	if first.PromptTokensDetails.CachedTokens != 0 || second.PromptTokensDetails.CachedTokens < 1024 {
		t.Errorf("prompt_cache: system: cached tokens %d then %d, want 0 then the system prompt", first.PromptTokensDetails.CachedTokens, second.PromptTokensDetails.CachedTokens)
	}
	ask("claude", "What is a block?")
	if u := ask("claude", "And an interlocking?"); u.PromptTokensDetails.CachedTokens != 0 {
		t.Errorf("without prompt_cache: %d cached tokens, want none", u.PromptTokensDetails.CachedTokens)
	}

	dir := filepath.Dir(s.cfg)
	s.stop()
	st, err := open.Store(context.Background(), "sqlite://"+filepath.Join(dir, "switchyard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var writes, reads int
	for _, rec := range usageRecords(t, st) {
		if rec.Deployment == "claude-cached" {
			writes += rec.CacheWriteTokens
			reads += rec.CachedInputTokens
		}
	}
	if writes < 1024 || reads != writes {
		t.Errorf("records of claude-cached: %d written, %d read; want the system prompt written once and read once", writes, reads)
	}
}

// askWithLongSystem returns a function asking model question q under one
// long system prompt (about 1,400 tokens, past every prompt cache's
// minimum), and returning the answer's usage.
func askWithLongSystem(t *testing.T, c openai.Client) func(model, q string) openai.CompletionUsage {
	system := strings.Repeat("You answer questions about railway signalling precisely. ", 100)
	return func(model, q string) openai.CompletionUsage {
		t.Helper()
		resp, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: model,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage(system), openai.UserMessage(q)}})
		if err != nil {
			t.Fatal(err)
		}
		return resp.Usage
	}
}
