package sim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"gopkg.in/yaml.v3"
)

// Defaults applied to a Model whose field is zero.
const (
	DefaultContextWindow = 8192
	DefaultOutputTokens  = 16
	DefaultEmbeddingDims = 8
)

// Config is the simulated provider's configuration: the models it serves.
// It decodes strictly from YAML (an unknown field is an error).
type Config struct {
	// Models are the models the server answers for, by name.
	Models []Model `yaml:"models"`
}

// Model describes one simulated model: its limits, its speed and the faults
// it injects. Durations are written as strings in YAML ("150ms", "2s").
type Model struct {
	// Name is the model name clients put in the request's "model" field.
	Name string `yaml:"name"`
	// ContextWindow is the maximum of input tokens plus max_tokens; larger
	// requests get the dialect's context-length error. Default 8192.
	ContextWindow int `yaml:"context_window"`
	// Latency is a fixed delay before the response headers (non-streaming
	// and embeddings) or before the first byte of a stream.
	Latency time.Duration `yaml:"latency"`
	// FirstToken is the time from the start of a stream to its first
	// content token. Non-streaming answers wait for it too.
	FirstToken time.Duration `yaml:"first_token"`
	// TokensPerSecond paces tokens after the first; 0 means unlimited.
	TokensPerSecond float64 `yaml:"tokens_per_second"`
	// OutputTokens is the length of a text answer in tokens when
	// max_tokens does not cut it shorter. Default 16.
	OutputTokens int `yaml:"output_tokens"`
	// EmbeddingDims is the length of embedding vectors. Default 8.
	EmbeddingDims int `yaml:"embedding_dims"`
	// EmbedWords makes embeddings a bag of words: the normalised sum of
	// one pseudo-random vector per lower-cased word, so texts sharing most
	// words are close (cosine near 1) and the same words in any case or
	// punctuation are equal. Off, each text is a pseudo-random vector of
	// its exact bytes, unrelated to every other text's.
	EmbedWords bool `yaml:"embed_words"`
	// Reasoning makes the model a reasoning model, as OpenAI's o-series
	// and Claude with extended thinking: it takes OpenAI's
	// reasoning_effort (and then refuses max_tokens, which such models
	// replace with max_completion_tokens, and a temperature other than 1)
	// and Anthropic's thinking, and spends reasoning tokens: 8, 16 or 32
	// for low, medium and high effort; a thinking block of 16 tokens.
	// Models without it refuse both parameters, as the real APIs do.
	Reasoning bool `yaml:"reasoning"`
	// ThinkingTokens is the length of a reasoning model's thinking block
	// (Anthropic) in tokens, streamed one token per thinking_delta.
	// Default 16.
	ThinkingTokens int `yaml:"thinking_tokens"`
	// ShowReasoning makes an OpenAI-dialect reasoning model show its
	// reasoning as reasoning_content, as DeepSeek and vLLM do: in the
	// answer's message, and streamed one token per delta before the
	// answer. OpenAI's own models never show it.
	ShowReasoning bool `yaml:"show_reasoning"`
	// Faults are injected in order: a request gets the first fault that
	// matches it and has not used up its Times.
	Faults []Fault `yaml:"faults"`
}

// FaultType names a kind of injected failure.
type FaultType string

// Fault types. Mid-stream types (stall, cut, malformed, missing_done,
// stream_error) match streaming requests only: chat streams of every
// dialect, streamed transcriptions, streamed speech and streamed images;
// the others match every request to the model.
const (
	// FaultStatus answers Status (with Retry-After when RetryAfter is set)
	// in the dialect's error JSON; 529 is Anthropic's overloaded_error.
	FaultStatus FaultType = "status"
	// FaultReset closes the TCP connection (with RST) before any header.
	FaultReset FaultType = "reset"
	// FaultHang never answers; the handler returns when the client goes away.
	FaultHang FaultType = "hang"
	// FaultSlowFirstToken adds Delay to the time to first token.
	FaultSlowFirstToken FaultType = "slow_first_token"
	// FaultStall stops a stream after After tokens (or audio deltas, or
	// image events) and hangs until the client goes away.
	FaultStall FaultType = "stall"
	// FaultCut aborts the connection after After tokens (or audio deltas,
	// or image events), with no terminator.
	FaultCut FaultType = "cut"
	// FaultMalformed sends one undecodable event after After tokens (or
	// audio deltas, or image events), then finishes the stream normally.
	FaultMalformed FaultType = "malformed"
	// FaultMissingDone ends the stream cleanly but without its terminator:
	// OpenAI sends the finish_reason chunk and no [DONE]; Anthropic sends
	// message_delta and no message_stop; an audio stream sends every delta
	// and no done event (transcript.text.done, speech.audio.done); an
	// image stream sends every event but its last completed one.
	FaultMissingDone FaultType = "missing_done"
	// FaultStreamError sends an in-band error after After tokens (or audio
	// deltas, or image events) and ends the stream: Anthropic "event:
	// error" overloaded_error, OpenAI (audio streams too) an {"error":...}
	// data frame, an image stream an "event: error" frame with
	// {"type":"error","error":...}.
	FaultStreamError FaultType = "stream_error"
	// FaultContextLength answers the dialect's context-length error.
	FaultContextLength FaultType = "context_length"
	// FaultContentPolicy answers the dialect's content-policy rejection.
	FaultContentPolicy FaultType = "content_policy"
	// FaultDown answers 503 to every request until For has elapsed since
	// the model's first request (on the server's clock), then is healthy.
	FaultDown FaultType = "down"
)

var faultTypes = map[FaultType]bool{
	FaultStatus: true, FaultReset: true, FaultHang: true, FaultSlowFirstToken: true,
	FaultStall: true, FaultCut: true, FaultMalformed: true, FaultMissingDone: true,
	FaultStreamError: true, FaultContextLength: true, FaultContentPolicy: true, FaultDown: true,
}

// midStream reports whether the fault happens inside a stream, so that it
// matches streaming requests only.
func (t FaultType) midStream() bool {
	switch t {
	case FaultStall, FaultCut, FaultMalformed, FaultMissingDone, FaultStreamError:
		return true
	}
	return false
}

// Fault is one scripted failure of a model.
type Fault struct {
	// Type is the kind of failure.
	Type FaultType `yaml:"type"`
	// Status is the HTTP status of a "status" fault (400..599; default 500).
	Status int `yaml:"status"`
	// RetryAfter, when set, is sent as a Retry-After header (whole seconds,
	// rounded up) with a "status" fault.
	RetryAfter time.Duration `yaml:"retry_after"`
	// Delay is the extra time to first token of a "slow_first_token" fault.
	Delay time.Duration `yaml:"delay"`
	// After is the number of content tokens sent before a mid-stream
	// fault; in an audio stream, the number of delta events; in an image
	// stream, the number of events, partial and completed.
	After int `yaml:"after"`
	// For is how long a "down" fault lasts.
	For time.Duration `yaml:"for"`
	// Times applies the fault to the first Times matching requests only;
	// 0 means every matching request. Ignored by "down".
	Times int `yaml:"times"`
}

// DefaultConfig returns demo models of different speeds: sim-small (fast),
// sim-medium, sim-large (slow, large context), sim-vision, sim-embed,
// sim-titan-embed-text-v2, sim-moderation, sim-image, sim-dalle, sim-tts,
// sim-whisper, sim-transcribe, sim-realtime and sim-video.
func DefaultConfig() Config {
	return Config{Models: []Model{
		{Name: "sim-small", ContextWindow: 16384, Latency: 20 * time.Millisecond,
			FirstToken: 60 * time.Millisecond, TokensPerSecond: 200, OutputTokens: 16},
		{Name: "sim-medium", ContextWindow: 65536, Latency: 40 * time.Millisecond,
			FirstToken: 150 * time.Millisecond, TokensPerSecond: 80, OutputTokens: 32},
		{Name: "sim-large", ContextWindow: 200000, Latency: 80 * time.Millisecond,
			FirstToken: 400 * time.Millisecond, TokensPerSecond: 40, OutputTokens: 48},
		{Name: "sim-vision", ContextWindow: 128000, Latency: 50 * time.Millisecond,
			FirstToken: 250 * time.Millisecond, TokensPerSecond: 60, OutputTokens: 24},
		{Name: "sim-embed", ContextWindow: 8192, Latency: 10 * time.Millisecond,
			OutputTokens: 1, EmbeddingDims: 8},
		// Titan Text Embeddings v2's body over Bedrock's InvokeModel (the
		// name decides it), 8 numbers unless asked for 256, 512 or 1024.
		{Name: "sim-titan-embed-text-v2", ContextWindow: 8192, Latency: 10 * time.Millisecond,
			OutputTokens: 1, EmbeddingDims: 8},
		// The model of POST /v1/moderations, and its default when the
		// request names none.
		{Name: "sim-moderation", ContextWindow: 32768, Latency: 10 * time.Millisecond, OutputTokens: 1},
		// Models of POST /v1/images/generations and /v1/images/edits: GPT
		// image style (the name holds "image": b64_json with usage, and
		// streams) and DALL·E style (url).
		{Name: "sim-image", ContextWindow: 32768, Latency: 20 * time.Millisecond, OutputTokens: 1},
		{Name: "sim-dalle", ContextWindow: 4000, Latency: 20 * time.Millisecond, OutputTokens: 1},
		// The model of POST /v1/audio/speech, and models of POST
		// /v1/audio/transcriptions and /v1/audio/translations: whisper-1
		// style (the name holds "whisper": usage by duration, verbose_json)
		// and gpt-4o-transcribe style (usage by tokens).
		{Name: "sim-tts", ContextWindow: 4096, Latency: 20 * time.Millisecond, OutputTokens: 1},
		{Name: "sim-whisper", ContextWindow: 32768, Latency: 20 * time.Millisecond, OutputTokens: 1},
		{Name: "sim-transcribe", ContextWindow: 32768, Latency: 20 * time.Millisecond, OutputTokens: 1},
		// The model of GET /v1/realtime (the name holds "realtime").
		{Name: "sim-realtime", ContextWindow: 32768, Latency: 20 * time.Millisecond,
			FirstToken: 150 * time.Millisecond, TokensPerSecond: 80, OutputTokens: 24},
		// The model of the Videos API, POST /v1/videos (the name holds
		// "video"): a job takes Latency per second of video, so a demo's
		// 4-second job visibly progresses for 200ms.
		{Name: "sim-video", ContextWindow: 32768, Latency: 50 * time.Millisecond, OutputTokens: 1},
	}}
}

// LoadConfig reads and strictly decodes a YAML config file, then validates it.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("sim: load config: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("sim: load config %s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig strictly decodes YAML bytes into a Config and validates it.
func ParseConfig(data []byte) (Config, error) {
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("sim: decode config: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Validate reports every problem of the config, each with its path.
func (c Config) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for i, m := range c.Models {
		p := fmt.Sprintf("models[%d]", i)
		switch {
		case m.Name == "":
			errs = append(errs, fmt.Errorf("sim: %s.name: required", p))
		case seen[m.Name]:
			errs = append(errs, fmt.Errorf("sim: %s.name: duplicate model %q", p, m.Name))
		}
		seen[m.Name] = true
		if m.ContextWindow < 0 || m.OutputTokens < 0 || m.EmbeddingDims < 0 || m.TokensPerSecond < 0 {
			errs = append(errs, fmt.Errorf("sim: %s: negative limit", p))
		}
		if m.Latency < 0 || m.FirstToken < 0 {
			errs = append(errs, fmt.Errorf("sim: %s: negative duration", p))
		}
		for j, f := range m.Faults {
			fp := fmt.Sprintf("%s.faults[%d]", p, j)
			if !faultTypes[f.Type] {
				errs = append(errs, fmt.Errorf("sim: %s.type: unknown fault type %q", fp, f.Type))
			}
			if f.Status != 0 && (f.Status < 400 || f.Status > 599) {
				errs = append(errs, fmt.Errorf("sim: %s.status: %d is not an error status", fp, f.Status))
			}
			if f.After < 0 || f.Times < 0 || f.Delay < 0 || f.For < 0 || f.RetryAfter < 0 {
				errs = append(errs, fmt.Errorf("sim: %s: negative value", fp))
			}
			if f.Type == FaultDown && f.For == 0 {
				errs = append(errs, fmt.Errorf("sim: %s.for: required for a down fault", fp))
			}
		}
	}
	return errors.Join(errs...)
}

// withDefaults returns the model with zero fields set to their defaults.
func (m Model) withDefaults() Model {
	if m.ContextWindow == 0 {
		m.ContextWindow = DefaultContextWindow
	}
	if m.OutputTokens == 0 {
		m.OutputTokens = DefaultOutputTokens
	}
	if m.EmbeddingDims == 0 {
		m.EmbeddingDims = DefaultEmbeddingDims
	}
	if m.ThinkingTokens == 0 {
		m.ThinkingTokens = defaultThinkingTokens
	}
	return m
}
