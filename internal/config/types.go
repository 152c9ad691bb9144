package config

import "time"

// Config is the whole switchyard.yaml. Defaults are applied in code (see
// defaults.go); every field is documented in docs/config.md.
type Config struct {
	Server      Server       `yaml:"server"`
	Executor    Executor     `yaml:"executor"`
	Providers   []Provider   `yaml:"providers"`
	Deployments []Deployment `yaml:"deployments"`
	Routes      []Route      `yaml:"routes"`
	Log         Log          `yaml:"log"`

	// Store, Limits, Replicas, Admin, Usage and Auth configure tenants,
	// virtual keys, limits, budgets and the usage ledger (tenancy.go).
	Store    DSN   `yaml:"store"`
	Limits   DSN   `yaml:"limits"`
	Replicas int   `yaml:"replicas"`
	Admin    Admin `yaml:"admin"`
	Usage    Usage `yaml:"usage"`
	Auth     Auth  `yaml:"auth"`
	// Telemetry configures OpenTelemetry tracing (telemetry.go).
	Telemetry Telemetry `yaml:"telemetry"`
	// Cache is the exact-match response cache (cache.go).
	Cache Cache `yaml:"cache"`
	// Batch is the Files and Batch APIs (batch.go).
	Batch Batch `yaml:"batch"`
	// Learning keeps what trains a learned router on this gateway's
	// traffic (learning.go).
	Learning Learning `yaml:"learning"`

	// index holds the name lookups built by Validate (see lookup.go).
	index *lookup
}

// Server is the client-facing HTTP listener.
type Server struct {
	// Listen is the address to serve on; default 127.0.0.1:8080.
	Listen string `yaml:"listen"`
	// APIKeys are static client keys (usually ${ENV} references).
	APIKeys []Secret `yaml:"api_keys"`
	// MasterKey is a key that is always accepted.
	MasterKey Secret `yaml:"master_key"`
	// MaxBodyBytes caps a request body; default 8 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// ReadHeaderTimeout default 10s.
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	// ReadTimeout bounds reading a whole request, headers and body
	// (a client trickling its body); default 60s.
	ReadTimeout Duration `yaml:"read_timeout"`
	// IdleTimeout for keep-alive connections, default 120s.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// ShutdownTimeout is how long SIGTERM waits for in-flight requests; default 30s.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
	// SendTimeout ends the answer to a client that stopped reading: a
	// write to its connection that makes no progress for this long
	// fails, as if the client had hung up; default 60s.
	SendTimeout Duration `yaml:"send_timeout"`
	// ShutdownDelay is how long SIGTERM keeps serving with /readyz at 503
	// before it stops accepting connections; default 0 (stop at once).
	ShutdownDelay Duration `yaml:"shutdown_delay"`
	// WebSocketOrigins lists the other origins (host patterns, as
	// path.Match takes them, e.g. "app.example.com" or "*.example.com")
	// whose pages may open a Realtime API session; a page of the
	// gateway's own host always may, and clients that send no Origin
	// (SDKs on a server) are not checked.
	WebSocketOrigins []string `yaml:"websocket_origins"`
	// ClientSecretKey signs the Realtime API's client secrets (short-lived
	// keys for browsers); unset, each process signs with a random key of
	// its own, so a secret works only through the replica that made it.
	ClientSecretKey Secret `yaml:"client_secret_key"`
}

// Log configures the JSON request log.
type Log struct {
	// Level is debug, info, warn or error; default info.
	Level string `yaml:"level"`
}

// Executor holds the failure-handling defaults applied to every route.
type Executor struct {
	// MaxAttempts bounds upstream calls per client request; default 4.
	MaxAttempts int `yaml:"max_attempts"`
	// RetriesPerDeployment bounds retries of one deployment; default 1.
	RetriesPerDeployment int `yaml:"retries_per_deployment"`
	// BackoffBase and BackoffMax shape full-jitter exponential back-off;
	// defaults 100ms and 2s.
	BackoffBase Duration `yaml:"backoff_base"`
	BackoffMax  Duration `yaml:"backoff_max"`
	// MaxRetryAfter is the longest Retry-After honoured on the same
	// deployment; beyond it the executor fails over at once. Default 5s.
	MaxRetryAfter Duration `yaml:"max_retry_after"`
	// Deadline is the overall time budget across all attempts; default 120s.
	Deadline Duration `yaml:"deadline"`
	// Breaker is the per-deployment circuit breaker.
	Breaker Breaker `yaml:"breaker"`
}

// Breaker configures circuit breaking learned from traffic.
type Breaker struct {
	// FailureThreshold consecutive failures open the circuit; default 5.
	FailureThreshold int `yaml:"failure_threshold"`
	// OpenFor is how long an open circuit rejects traffic before a half-open
	// probe; default 5s.
	OpenFor Duration `yaml:"open_for"`
}

// Provider is one upstream API endpoint and credential.
type Provider struct {
	Name string `yaml:"name"`
	// Kind is openai (any OpenAI-compatible API: OpenAI, vLLM, Ollama,
	// Mistral, Groq, ...), azure (Azure OpenAI), anthropic, or bedrock
	// (Amazon Bedrock's Converse API).
	Kind string `yaml:"kind"`
	// BaseURL is required, except for bedrock, whose default is the
	// region's bedrock-runtime endpoint.
	BaseURL string `yaml:"base_url"`
	// APIKey is the provider's key; for bedrock, a Bedrock API key (a
	// bearer token), else the AWS access keys below sign requests.
	APIKey Secret `yaml:"api_key"`
	// APIVersion is Azure's api-version or Anthropic's anthropic-version.
	APIVersion string            `yaml:"api_version"`
	Headers    map[string]Secret `yaml:"headers"`
	// ConnectTimeout default 5s.
	ConnectTimeout Duration `yaml:"connect_timeout"`
	// Region is a bedrock provider's AWS region (required for bedrock).
	Region string `yaml:"region"`
	// AWSAccessKeyID, AWSSecretAccessKey and AWSSessionToken sign a
	// bedrock provider's requests (SigV4) when it has no api_key.
	AWSAccessKeyID     Secret `yaml:"aws_access_key_id"`
	AWSSecretAccessKey Secret `yaml:"aws_secret_access_key"`
	AWSSessionToken    Secret `yaml:"aws_session_token"`
}

// Deployment is one concrete model at one provider.
type Deployment struct {
	Name     string `yaml:"name"`
	Provider string `yaml:"provider"`
	// Model is the upstream model name.
	Model string `yaml:"model"`
	Price Price  `yaml:"price"`
	// ContextWindow in tokens; default 8192.
	ContextWindow int `yaml:"context_window"`
	// MaxOutputTokens the model can produce; default 4096.
	MaxOutputTokens int          `yaml:"max_output_tokens"`
	Capabilities    Capabilities `yaml:"capabilities"`
	// Quality is an optional 0..1 score used by quality floors.
	Quality float64 `yaml:"quality"`
	// FirstTokenTimeout triggers fail-over when no first token arrives in
	// time; default 30s. IdleTimeout ends a stream silent that long; default 30s.
	FirstTokenTimeout Duration `yaml:"first_token_timeout"`
	IdleTimeout       Duration `yaml:"idle_timeout"`
	// Timeout bounds one non-streaming attempt; default 60s.
	Timeout Duration `yaml:"timeout"`
	// PromptCache, on an Anthropic or Bedrock deployment, is "system" to
	// mark the system prompt of a translated request for the provider's
	// prompt cache (which, unlike OpenAI's, caches only what a request
	// marks), or "" (off). A request in Anthropic's own shape keeps its
	// own marks.
	PromptCache string `yaml:"prompt_cache"`
	// Guardrail, on a Bedrock deployment, applies an Amazon Bedrock
	// guardrail to every request.
	Guardrail *Guardrail `yaml:"guardrail"`
	// Latency, on a Bedrock deployment, is "optimized" to ask for
	// latency-optimized inference (sent as performanceConfig) or
	// "standard"; unset sends nothing.
	Latency string `yaml:"latency"`
}

// Guardrail names an Amazon Bedrock guardrail and its version.
type Guardrail struct {
	// ID is the guardrail's identifier (or ARN).
	ID string `yaml:"id"`
	// Version is a published version number, or DRAFT.
	Version string `yaml:"version"`
}

// PromptCacheSystem is the prompt_cache value that marks the system
// prompt.
const PromptCacheSystem = "system"

// Price is in USD per million tokens.
type Price struct {
	InputPerMTok  float64 `yaml:"input_per_mtok"`
	OutputPerMTok float64 `yaml:"output_per_mtok"`
	// CachedInputPerMTok prices input tokens read from the provider's
	// prompt cache; unset, they cost InputPerMTok.
	CachedInputPerMTok *float64 `yaml:"cached_input_per_mtok"`
	// CacheWritePerMTok prices input tokens written to the prompt cache
	// (Anthropic); unset, they cost InputPerMTok.
	CacheWritePerMTok *float64 `yaml:"cache_write_per_mtok"`
	// PerImage prices each image a deployment generates (models priced per
	// image, as DALL-E is), on top of any tokens its answer reports.
	PerImage float64 `yaml:"per_image"`
	// PerMinute prices each minute of audio a deployment transcribes
	// (whisper-1), from the seconds its answer reports.
	PerMinute float64 `yaml:"per_minute"`
	// PerSecond prices each second of video a deployment generates
	// (sora-2), from the seconds its answer reports.
	PerSecond float64 `yaml:"per_second"`
	// AudioInputPerMTok and AudioOutputPerMTok price the audio tokens a
	// Realtime API response reports (audio costs more than text there);
	// unset, they cost InputPerMTok and OutputPerMTok.
	AudioInputPerMTok  *float64 `yaml:"audio_input_per_mtok"`
	AudioOutputPerMTok *float64 `yaml:"audio_output_per_mtok"`
}

// AudioExtra is what audio tokens cost beyond the text price Cost charges
// for them: audioIn uncached audio input tokens and audioOut audio output
// tokens, at the audio prices where set.
func (p Price) AudioExtra(audioIn, audioOut int) float64 {
	extra := 0.0
	if p.AudioInputPerMTok != nil {
		extra += float64(audioIn) * (*p.AudioInputPerMTok - p.InputPerMTok)
	}
	if p.AudioOutputPerMTok != nil {
		extra += float64(audioOut) * (*p.AudioOutputPerMTok - p.OutputPerMTok)
	}
	return extra / 1e6
}

// Cost is the USD price of a call: in input tokens, of which cached were
// read from and written were stored in the prompt cache, and out output
// tokens.
func (p Price) Cost(in, cached, written, out int) float64 {
	read, write := p.InputPerMTok, p.InputPerMTok
	if p.CachedInputPerMTok != nil {
		read = *p.CachedInputPerMTok
	}
	if p.CacheWritePerMTok != nil {
		write = *p.CacheWritePerMTok
	}
	plain := max(in-cached-written, 0)
	return (float64(plain)*p.InputPerMTok + float64(cached)*read + float64(written)*write + float64(out)*p.OutputPerMTok) / 1e6
}

// Capabilities say what a deployment can serve. Unset booleans default to
// true for chat, tools, streaming, and false for vision, json_mode, embeddings.
type Capabilities struct {
	Chat       *bool `yaml:"chat"`
	Vision     *bool `yaml:"vision"`
	Tools      *bool `yaml:"tools"`
	JSONMode   *bool `yaml:"json_mode"`
	Streaming  *bool `yaml:"streaming"`
	Embeddings *bool `yaml:"embeddings"`
	// Reasoning marks a reasoning model (OpenAI's o-series and gpt-5,
	// Claude with extended thinking): a translated request carries the
	// client's reasoning effort or thinking budget, and to an OpenAI-kind
	// deployment goes with max_completion_tokens and without temperature
	// and top_p, which such models refuse.
	Reasoning *bool `yaml:"reasoning"`
	// Moderation serves OpenAI's moderations endpoint (an openai-kind
	// deployment of a moderation model, e.g. omni-moderation-latest).
	Moderation *bool `yaml:"moderation"`
	// Images serves OpenAI's image generation endpoint (an openai- or
	// azure-kind deployment of an image model, e.g. gpt-image-1).
	Images *bool `yaml:"images"`
	// Speech serves OpenAI's text-to-speech endpoint (an openai- or
	// azure-kind deployment of tts-1, gpt-4o-mini-tts and the like).
	Speech *bool `yaml:"speech"`
	// Transcription serves OpenAI's transcription and translation
	// endpoints (whisper-1, gpt-4o-transcribe and the like).
	Transcription *bool `yaml:"transcription"`
	// Realtime serves OpenAI's Realtime API, a WebSocket session
	// (gpt-realtime and the like; openai- and azure-kind deployments).
	Realtime *bool `yaml:"realtime"`
	// Video serves OpenAI's Videos API (sora-2 and the like; openai-kind
	// deployments).
	Video *bool `yaml:"video"`
}

// Route is what a client names in "model": a policy over targets
// (deployments or other routes). Which fields a route uses depends on its
// policy; docs/routing.md explains each (the policy fields are in routes.go).
type Route struct {
	Name string `yaml:"name"`
	// Policy is fallback (default), rules, cheapest, fastest, weighted,
	// cascade, classify or learned.
	Policy string `yaml:"policy"`
	// Targets in order: for fallback the first is primary and the rest are
	// fallbacks; for cheapest, fastest and learned the candidates; for
	// cascade the stages, cheapest first.
	Targets []string `yaml:"targets"`
	// Requires lists capabilities every deployment this route sends to must
	// have (vision, tools, json_mode, ...), whatever the request.
	Requires []string `yaml:"requires"`
	// Tiers and Tenants send a key tier's or a tenant's requests for this
	// route to another route or deployment instead (tenant wins).
	Tiers   map[string]string `yaml:"tiers"`
	Tenants map[string]string `yaml:"tenants"`
	// Default is where rules and classify send a request nothing else picks.
	Default string `yaml:"default"`

	Rules      []Rule      `yaml:"rules"`       // rules
	MinQuality float64     `yaml:"min_quality"` // cheapest
	Fastest    Fastest     `yaml:"fastest"`     // fastest
	Arms       []Arm       `yaml:"arms"`        // weighted
	Sticky     string      `yaml:"sticky"`      // weighted
	Checks     []Check     `yaml:"checks"`      // cascade
	Classifier *Classifier `yaml:"classifier"`  // classify
	Learned    *Learned    `yaml:"learned"`     // learned

	// Cache false keeps this route's answers out of the response cache
	// (see Cache); unset or true caches them while cache.backend is on.
	Cache *bool `yaml:"cache"`
	// RequireParams sends a request only to deployments that get every
	// field of it: a deployment of another API that would not get some
	// (seed, top_k, ...) is skipped, and a request none can take whole
	// is a 400. A request's X-Switchyard-Require-Params header overrides
	// it.
	RequireParams bool `yaml:"require_params"`
	// CapturePrompts keeps the routing text (the last user message) of
	// this route's answered requests in the store, for
	// learning.retention, so that feedback on them (POST /v1/feedback)
	// can train a learned router (switchyard route export). Off by
	// default: prompts are the tenants' data.
	CapturePrompts bool `yaml:"capture_prompts"`
}

// Secret is a string that never prints. In YAML it is usually an ${ENV}
// reference, resolved when the file loads.
type Secret string

// String redacts the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "<redacted>"
}

// MarshalYAML redacts the secret.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// Value returns the secret's plain text.
func (s Secret) Value() string { return string(s) }

// Duration is a time.Duration written as "250ms", "5s", "1m" in YAML.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
