package config

// Demo returns the config `switchyard serve` uses when no file is given:
// three providers in front of the simulated provider at simBaseURL (one
// speaking OpenAI, one Anthropic, one Bedrock's Converse), a deployment per simulated model, and
// the route "auto" that falls back from sim-medium to sim-large over the
// Anthropic dialect to sim-small, plus one route per main policy: "smart"
// (rules), "cheap" (cheapest), "careful" (cascade) and "ab" (weighted).
// Clients may also name any deployment directly. The result is defaulted and validated.
func Demo(simBaseURL string) *Config {
	yes, no := true, false
	audioIn, audioOut := 32.0, 64.0
	cacheRead, cacheWrite := 0.50, 6.25 // Anthropic's: a tenth and 1.25× of the input price
	c := newConfig()
	c.Providers = []Provider{
		{Name: "sim-openai", Kind: KindOpenAI, BaseURL: simBaseURL + "/v1"},
		{Name: "sim-anthropic", Kind: KindAnthropic, BaseURL: simBaseURL},
		// The simulator takes any credential; Bedrock wants one.
		{Name: "sim-bedrock", Kind: KindBedrock, BaseURL: simBaseURL, Region: "us-east-1", APIKey: "sim-bedrock-key"},
	}
	c.Deployments = []Deployment{
		{
			Name: "sim-small", Provider: "sim-openai", Model: "sim-small",
			Price:         Price{InputPerMTok: 0.15, OutputPerMTok: 0.60},
			ContextWindow: 16384, MaxOutputTokens: 4096, Quality: 0.55,
			Capabilities: Capabilities{JSONMode: &yes},
		},
		{
			Name: "sim-medium", Provider: "sim-openai", Model: "sim-medium",
			Price:         Price{InputPerMTok: 1.00, OutputPerMTok: 4.00},
			ContextWindow: 65536, MaxOutputTokens: 8192, Quality: 0.75,
			Capabilities: Capabilities{JSONMode: &yes},
		},
		{
			Name: "sim-large", Provider: "sim-openai", Model: "sim-large",
			Price:         Price{InputPerMTok: 5.00, OutputPerMTok: 15.00},
			ContextWindow: 200000, MaxOutputTokens: 16384, Quality: 0.92,
			Capabilities: Capabilities{JSONMode: &yes, Vision: &yes},
		},
		{
			Name: "sim-large-anthropic", Provider: "sim-anthropic", Model: "sim-large",
			// Translated requests' system prompts are marked for
			// Anthropic's prompt cache, priced as Anthropic prices it.
			Price:         Price{InputPerMTok: 5.00, OutputPerMTok: 15.00, CachedInputPerMTok: &cacheRead, CacheWritePerMTok: &cacheWrite},
			ContextWindow: 200000, MaxOutputTokens: 16384, Quality: 0.92,
			Capabilities: Capabilities{Vision: &yes},
			PromptCache:  PromptCacheSystem,
		},
		{
			Name: "sim-large-bedrock", Provider: "sim-bedrock", Model: "sim-large",
			Price:         Price{InputPerMTok: 5.00, OutputPerMTok: 15.00},
			ContextWindow: 200000, MaxOutputTokens: 16384, Quality: 0.92,
			Capabilities: Capabilities{Vision: &yes},
		},
		{
			Name: "sim-vision", Provider: "sim-openai", Model: "sim-vision",
			Price:         Price{InputPerMTok: 2.50, OutputPerMTok: 10.00},
			ContextWindow: 128000, MaxOutputTokens: 4096, Quality: 0.80,
			Capabilities: Capabilities{Vision: &yes, JSONMode: &yes},
		},
		{
			Name: "sim-embed", Provider: "sim-openai", Model: "sim-embed",
			Price:         Price{InputPerMTok: 0.02},
			ContextWindow: 8192, MaxOutputTokens: 1,
			Capabilities: Capabilities{Chat: &no, Tools: &no, Streaming: &no, Embeddings: &yes},
		},
		{
			Name: "sim-moderation", Provider: "sim-openai", Model: "sim-moderation",
			ContextWindow: 32768, MaxOutputTokens: 1,
			Capabilities: Capabilities{Chat: &no, Tools: &no, Streaming: &no, Moderation: &yes},
		},
		{
			// Priced by the tokens its answers report, as gpt-image-1 is.
			Name: "sim-image", Provider: "sim-openai", Model: "sim-image",
			Price:         Price{InputPerMTok: 5.00, OutputPerMTok: 40.00},
			ContextWindow: 32768, MaxOutputTokens: 1,
			Capabilities: Capabilities{Chat: &no, Tools: &no, Streaming: &no, Images: &yes},
		},
		{
			// Priced on its input, as tts-1 is (per character).
			Name: "sim-tts", Provider: "sim-openai", Model: "sim-tts",
			Price:         Price{InputPerMTok: 60.00},
			ContextWindow: 4096, MaxOutputTokens: 1,
			Capabilities: Capabilities{Chat: &no, Tools: &no, Streaming: &no, Speech: &yes},
		},
		{
			// Priced per minute of audio, as whisper-1 is.
			Name: "sim-whisper", Provider: "sim-openai", Model: "sim-whisper",
			Price:         Price{PerMinute: 0.006},
			ContextWindow: 32768, MaxOutputTokens: 1,
			Capabilities: Capabilities{Chat: &no, Tools: &no, Streaming: &no, Transcription: &yes},
		},
		{
			// A Realtime API model, priced as gpt-realtime is.
			Name: "sim-realtime", Provider: "sim-openai", Model: "sim-realtime",
			Price:         Price{InputPerMTok: 4, OutputPerMTok: 16, AudioInputPerMTok: &audioIn, AudioOutputPerMTok: &audioOut},
			ContextWindow: 32768, MaxOutputTokens: 4096,
			Capabilities: Capabilities{Chat: &no, Tools: &no, Streaming: &no, Realtime: &yes},
		},
		{
			// A Videos API model, priced per second as sora-2 is.
			Name: "sim-video", Provider: "sim-openai", Model: "sim-video",
			Price:         Price{PerSecond: 0.10},
			ContextWindow: 32768, MaxOutputTokens: 1,
			Capabilities: Capabilities{Chat: &no, Tools: &no, Streaming: &no, Video: &yes},
		},
		{
			// Titan's body over Bedrock's InvokeModel.
			Name: "sim-embed-bedrock", Provider: "sim-bedrock", Model: "sim-titan-embed-text-v2",
			Price:         Price{InputPerMTok: 0.02},
			ContextWindow: 8192, MaxOutputTokens: 1,
			Capabilities: Capabilities{Chat: &no, Tools: &no, Streaming: &no, Embeddings: &yes},
		},
	}
	c.Routes = []Route{
		{Name: "auto", Policy: PolicyFallback, Targets: []string{"sim-medium", "sim-large-anthropic", "sim-small"}},
		{Name: "smart", Policy: PolicyRules, Default: "sim-medium", Tiers: map[string]string{"basic": "cheap"}, Rules: []Rule{
			{Name: "vision", When: "images", Target: "sim-vision"},
			{Name: "coding", When: `task == "coding" || task == "analysis"`, Target: "sim-large"},
			{Name: "short", When: "input_tokens < 500", Target: "sim-small"},
			{Name: "long", When: "input_tokens >= 2000", Target: "sim-large"},
		}},
		{Name: "cheap", Policy: PolicyCheapest, Targets: []string{"sim-small", "sim-medium", "sim-vision", "sim-large"}},
		{Name: "careful", Policy: PolicyCascade, Targets: []string{"sim-small", "sim-large"},
			Checks: []Check{{MinLength: 20}, {NoRefusal: true}}},
		// ab spreads traffic over two models and keeps its prompts
		// (simulated traffic), so rated answers train a router: the
		// feedback loop, end to end (docs/routing.md).
		{Name: "ab", Policy: PolicyWeighted, Sticky: "key", CapturePrompts: true, Arms: []Arm{
			{Name: "control", Target: "sim-medium", Weight: 90},
			{Name: "candidate", Target: "sim-small", Weight: 10},
		}},
		// The learned router shipped in the binary steers between a small
		// and a large model, standing in for Mixtral and GPT-4.
		{Name: "learned", Policy: PolicyLearned, Targets: []string{"sim-small", "sim-large"}, Learned: &Learned{
			RouterFile: "builtin:default", Quality: 0.7,
			RefModels: map[string]string{"sim-small": "mistralai/mixtral-8x7b-chat", "sim-large": "gpt-4-1106-preview"},
		}},
	}
	// The embedded defaults include the in-memory response cache.
	c.Cache.Backend = CacheMemory
	c.ApplyDefaults()
	// Validate builds the lookups; the demo is valid for any http(s)
	// simBaseURL, which TestDemo checks.
	_ = c.Validate()
	return c
}
