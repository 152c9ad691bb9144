// Package provider defines the contract every upstream provider adapter
// implements, and the small set of error kinds the executor decides on.
// Adapters live in sub-packages, one per provider dialect.
package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/coder/websocket"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/tokens"
)

// Provider sends one request to one deployment (a fixed base URL, credential
// and upstream model). Safe for concurrent use. Adapters never retry: the
// executor is the only retry layer.
type Provider interface {
	// Chat sends a non-streaming request.
	Chat(ctx context.Context, req *llm.Request) (*llm.Response, error)
	// ChatStream sends a streaming request; the caller closes the stream.
	// It returns once response headers arrived (or failed).
	ChatStream(ctx context.Context, req *llm.Request) (llm.Stream, error)
	// Dialect is the wire format the provider speaks.
	Dialect() llm.Dialect
}

// Carrier is implemented by a provider whose translation cannot carry
// every valid request: Carries says, without calling anyone, why req has
// no counterpart on it (such as "image URLs"), or "" when it can carry it.
// The gateway keeps a request's plan to the deployments that can, so that
// what one provider's API cannot say goes to another of the route.
type Carrier interface {
	Carries(req *llm.Request) (why string)
}

// Embedder is implemented by providers that serve embeddings.
type Embedder interface {
	Embed(ctx context.Context, req *llm.EmbedRequest) (*llm.EmbedResponse, error)
}

// Moderator is implemented by providers that serve OpenAI's moderations
// endpoint.
type Moderator interface {
	Moderate(ctx context.Context, req *llm.ModerationRequest) (*llm.ModerationResponse, error)
}

// ImageGenerator is implemented by providers that serve OpenAI's image
// endpoints: generations, and the forms of edits and variations
// (EditImages sends either, by the request's Op).
type ImageGenerator interface {
	GenerateImages(ctx context.Context, req *llm.ImageRequest) (*llm.ImageResponse, error)
	EditImages(ctx context.Context, req *llm.FormRequest) (*llm.ImageResponse, error)
}

// AudioProvider is implemented by providers that serve OpenAI's audio
// endpoints: speech, transcriptions and translations.
type AudioProvider interface {
	Speak(ctx context.Context, req *llm.SpeechRequest) (*llm.AudioResponse, error)
	Transcribe(ctx context.Context, req *llm.FormRequest) (*llm.AudioResponse, error)
}

// AudioStreamer is an AudioProvider that also streams its answers as
// OpenAI does: a transcription as transcript.text.delta events ended by
// transcript.text.done, speech (stream_format "sse") as speech.audio.delta
// events ended by speech.audio.done. Each event's Raw is the frame to
// relay; the terminal one is Done, with the usage it reports.
type AudioStreamer interface {
	SpeakStream(ctx context.Context, req *llm.SpeechRequest) (llm.Stream, error)
	TranscribeStream(ctx context.Context, req *llm.FormRequest) (llm.Stream, error)
}

// ImageStreamer is an ImageGenerator that also streams its answers as
// OpenAI does (stream true): image_generation.partial_image events (or
// image_edit.partial_image), then one image_generation.completed (or
// image_edit.completed) per image; the last ends the stream, with the
// usage of all of them.
type ImageStreamer interface {
	GenerateImagesStream(ctx context.Context, req *llm.ImageRequest) (llm.Stream, error)
	EditImagesStream(ctx context.Context, req *llm.FormRequest) (llm.Stream, error)
}

// VideoMaker is implemented by providers that serve OpenAI's Videos API:
// CreateVideo starts a job (a create or a remix); Forward reaches a job's
// object endpoints (GET and DELETE /videos/{id}, its content, the list).
type VideoMaker interface {
	CreateVideo(ctx context.Context, req *llm.VideoRequest) (*llm.VideoResponse, error)
	Forward(ctx context.Context, method, op, rawQuery string, body []byte) (*http.Response, error)
}

// RealtimeDialer is implemented by providers that serve OpenAI's Realtime
// API: DialRealtime opens a WebSocket session with the deployment's model,
// and returns once the upstream accepted it (or refused, as a classified
// *Error). The caller closes the connection.
type RealtimeDialer interface {
	DialRealtime(ctx context.Context, req *RealtimeRequest) (*websocket.Conn, error)
}

// RealtimeRequest is what a Realtime API session is opened with.
type RealtimeRequest struct {
	// Query is the client's query string; the adapter replaces the model
	// (and Azure's deployment and api-version) with the deployment's.
	Query url.Values
	// Beta is the client's OpenAI-Beta header ("realtime=v1" asks for the
	// beta protocol), passed on when set.
	Beta string
}

// TokenCounter is a provider that can count a request's input tokens
// without running it (Anthropic's /v1/messages/count_tokens).
type TokenCounter interface {
	CountTokens(ctx context.Context, req *llm.Request) (int, error)
}

// Compactor is implemented by providers that serve the Responses API's
// compaction (POST /responses/compact: a conversation made short, its
// usage priced as a model call) and input token count (POST
// /responses/input_tokens): OpenAI's own API.
type Compactor interface {
	CompactResponse(ctx context.Context, req *llm.RelayRequest) (*llm.RelayResponse, error)
	CountResponseTokens(ctx context.Context, req *llm.RelayRequest) (int, error)
}

// Config is what an adapter needs to reach one deployment.
type Config struct {
	// BaseURL is the provider's API root, e.g. https://api.openai.com/v1 or
	// https://api.anthropic.com (adapters append their paths).
	BaseURL string
	APIKey  string
	// Model is the upstream model name sent in the body.
	Model string
	// Headers are extra headers sent on every call.
	Headers map[string]string
	// APIVersion is Azure OpenAI's api-version query value (OpenAI adapter),
	// or the anthropic-version header (Anthropic adapter); empty for the default.
	APIVersion string
	// Azure selects Azure OpenAI's URL layout and api-key header.
	Azure bool
	// MaxOutputTokens is the deployment's output limit, sent as max_tokens
	// by an adapter whose API requires one (Anthropic) when a translated
	// request sets none; 0 means the adapter's default.
	MaxOutputTokens int
	// ContextWindow is the deployment's context size in tokens, 0 when
	// unknown: such an adapter caps the max_tokens it sends for a request
	// that sets none at what the window leaves after the request's
	// estimated input (DefaultMaxTokens), as the API refuses input and
	// max_tokens that exceed it.
	ContextWindow int
	// Reasoning marks a reasoning model (see config.Capabilities): a
	// translated request carries reasoning effort or thinking, in the
	// shape such a model takes.
	Reasoning bool
	// CacheSystemPrompt marks a translated request's system prompt for
	// Anthropic's prompt cache.
	CacheSystemPrompt bool
	// Region is the AWS region of a Bedrock deployment (the SigV4
	// signing region, and the default endpoint's).
	Region string
	// AWSAccessKeyID, AWSSecretAccessKey and AWSSessionToken sign
	// Bedrock requests with SigV4 when APIKey (a Bedrock API key, sent as
	// a bearer token) is empty.
	AWSAccessKeyID     string
	AWSSecretAccessKey string
	AWSSessionToken    string
	// GuardrailID and GuardrailVersion name the Amazon Bedrock guardrail
	// a Bedrock deployment applies to every request ("" for none).
	GuardrailID, GuardrailVersion string
	// Latency is a Bedrock deployment's performanceConfig latency
	// ("optimized" or "standard"; "" sends none).
	Latency string
	// HTTPClient is the client to use; adapters never create their own
	// when this is set. Its transport carries the connect timeout.
	HTTPClient *http.Client
}

// Kind classifies an upstream failure; the executor decides retry, fall back
// or stop from the kind alone.
type Kind int

// Error kinds.
const (
	KindUnknown         Kind = iota
	KindRateLimited          // 429 with or without Retry-After
	KindUnavailable          // 5xx, overloaded, stream cut or malformed mid-way
	KindTimeout              // no answer in time (connect, first token, idle, deadline)
	KindConnection           // refused, reset, TLS
	KindContextLength        // the input does not fit the model's context window
	KindContentRejected      // content policy refusal
	KindBadRequest           // the request is invalid for this provider
	KindAuth                 // upstream rejected our credential (401/403)
	KindQuota                // billing quota exhausted
	// KindNotFound is an upstream 404: the deployment's model, deployment
	// name or path does not exist. That is our configuration's fault, not
	// the request's, so it counts against the deployment and fails over.
	KindNotFound
)

var kindNames = [...]string{"unknown", "rate_limited", "unavailable", "timeout", "connection", "context_length", "content_rejected", "bad_request", "upstream_auth", "quota_exhausted", "not_found"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Retryable reports whether the same deployment may be tried again.
func (k Kind) Retryable() bool {
	switch k {
	case KindRateLimited, KindUnavailable, KindConnection, KindUnknown:
		return true
	}
	return false
}

// Fallbackable reports whether another deployment may be tried.
func (k Kind) Fallbackable() bool {
	switch k {
	case KindBadRequest, KindContentRejected:
		return false
	}
	return true
}

// RequestCaused reports whether the failure is the request's fault, so it
// must not count against the deployment's health.
func (k Kind) RequestCaused() bool {
	switch k {
	case KindBadRequest, KindContextLength, KindContentRejected:
		return true
	}
	return false
}

// Error is an upstream failure, classified once by the adapter.
type Error struct {
	Kind Kind
	// Status is the upstream HTTP status, 0 when none was received.
	Status int
	// RetryAfter is the provider's Retry-After hint, 0 when absent.
	RetryAfter time.Duration
	// Message is the provider's own error message, safe to show a client
	// (it never contains our credentials).
	Message string
	// Param is the request field the provider's error names (OpenAI's
	// error.param), "" when none: the client's own field when the request
	// was relayed in its own dialect.
	Param string
	// Code is the provider's own error code (OpenAI's error.code, such
	// as unsupported_parameter) when it is a plain identifier (see
	// PlainCode), "" otherwise: the client's SDK branches on it when the
	// request was relayed in its own dialect.
	Code string
	// Err is the underlying cause, if any.
	Err error
}

func (e *Error) Error() string {
	s := "provider: " + e.Kind.String()
	if e.Status != 0 {
		s += fmt.Sprintf(" (status %d)", e.Status)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// maxCode is the longest provider error code PlainCode keeps.
const maxCode = 64

// PlainCode returns code when it is a plain identifier (letters, digits,
// '_', '-' and '.', at most 64 bytes), as OpenAI's error codes are, and ""
// otherwise, so that nothing else an upstream puts there reaches a client.
func PlainCode(code string) string {
	if code == "" || len(code) > maxCode {
		return ""
	}
	for _, r := range code {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return ""
		}
	}
	return code
}

// ErrStreamTruncated is the cause of an error for a stream that ended before
// its provider's terminal event.
var ErrStreamTruncated = errors.New("stream ended before its terminal event")

// KindOf returns the kind of err: the Kind of a wrapped *Error, KindTimeout for
// context deadline errors, KindUnknown otherwise.
func KindOf(err error) Kind {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Kind
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return KindTimeout
	}
	return KindUnknown
}

// minDefaultMaxTokens floors the max_tokens FitWindow leaves: an input the
// estimate puts that close to the window is sent with it, and refused as
// too long by the API if it is (the executor then tries a larger window).
const minDefaultMaxTokens = 256

// inputCounter estimates a request's input tokens as the router does.
var inputCounter = tokens.NewCounter()

// FitWindow caps n, the max_tokens an adapter whose API requires one sends
// for a request that set none (the deployment's output limit), at what the
// context window (0: unknown) leaves after req's estimated input plus a
// quarter of it (the model's tokenizer is not cl100k's: they differ by up
// to about 20%), and never below minDefaultMaxTokens. Those APIs refuse
// input plus max_tokens beyond the window, while an OpenAI client that
// sets no limit expects the rest of the window, which the router planned
// it on.
func (c *Config) FitWindow(n int, req *llm.Request) int {
	if c.ContextWindow <= 0 || n <= minDefaultMaxTokens {
		return n
	}
	in := inputCounter.Input(req)
	return max(min(n, c.ContextWindow-in-in/4), minDefaultMaxTokens)
}
