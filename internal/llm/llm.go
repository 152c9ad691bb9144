// Package llm holds the canonical request, response and stream types that every
// dialect translates to and from. It imports nothing of Switchyard's own, so every
// other package can depend on it.
package llm

import (
	"encoding/json"
	"math"
	"slices"
	"sync"
)

// Dialect is a wire format spoken by a client or a provider.
type Dialect string

// The dialects Switchyard speaks.
const (
	DialectOpenAI    Dialect = "openai"    // OpenAI Chat Completions
	DialectAnthropic Dialect = "anthropic" // Anthropic Messages
	// DialectOpenAIResponses is the OpenAI Responses API. It is relayed to
	// OpenAI deployments, and translated for others when it uses only what
	// Chat Completions can say.
	DialectOpenAIResponses Dialect = "openai-responses"
	// DialectOpenAICompletions is OpenAI's legacy Completions API
	// (prompt in, text out), relayed like the Responses API.
	DialectOpenAICompletions Dialect = "openai-completions"
	// DialectBedrock is Amazon Bedrock's Converse API. Only providers
	// speak it: every client request is translated for it.
	DialectBedrock Dialect = "bedrock"
)

// Role is the author of a message.
type Role string

// Roles of the canonical conversation. Tool results are messages of RoleTool.
const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// PartType says what a content part holds.
type PartType string

// Content part types.
const (
	PartText  PartType = "text"
	PartImage PartType = "image"
)

// Part is one piece of a message's content.
type Part struct {
	Type PartType
	Text string
	// ImageURL is an http(s) URL or a data: URL (data:image/png;base64,...).
	ImageURL string
	// CacheMark marks the prompt up to and including this part for the
	// provider's prompt cache (an Anthropic client's cache_control).
	CacheMark bool
}

// ToolCall is a call the assistant made to a tool. Arguments is JSON text.
type ToolCall struct {
	ID        string
	Name      string
	Arguments string
}

// Thinking is one block of a reasoning model's thinking, as Anthropic
// returns it: the text with the signature that vouches for it, or, for a
// redacted block, only the provider's opaque data. A provider that needs
// the thinking of earlier turns back (Anthropic, while tools are in use)
// checks the signature, so a block goes back exactly as it came.
type Thinking struct {
	Text      string
	Signature string
	// Redacted is the data of a redacted_thinking block (Text and
	// Signature are then empty).
	Redacted string
}

// ThinkingItemPrefix starts the encrypted_content of the Responses API
// reasoning items the gateway makes of a translated answer's thinking
// (the block, encoded). It is not encryption: the text is in the item's
// summary anyway, and the deployment's signature is what vouches for it.
// An OpenAI deployment is never sent such an item, which means nothing
// to it.
const ThinkingItemPrefix = "switchyard-thinking:"

// Message is one turn of the conversation.
type Message struct {
	Role  Role
	Parts []Part
	// Thinking is the thinking that came before an assistant message's
	// content, when the client sent it back.
	Thinking []Thinking
	// ToolCalls are set on assistant messages that call tools.
	ToolCalls []ToolCall
	// ToolCallID is set on RoleTool messages: the call this result answers.
	ToolCallID string
	// IsError marks a tool result that reports a failure (Anthropic is_error).
	IsError bool
	// CacheMark marks the prompt up to and including this message (a
	// tool result the client marked) for the provider's prompt cache.
	CacheMark bool
}

// Text returns the concatenated text parts of the message.
func (m *Message) Text() string {
	if len(m.Parts) == 1 {
		return m.Parts[0].Text
	}
	var s string
	for _, p := range m.Parts {
		s += p.Text
	}
	return s
}

// Tool is a function the model may call. Parameters is a JSON Schema object.
type Tool struct {
	Name        string
	Description string
	Parameters  json.RawMessage
	// CacheMark marks the prompt up to and including this tool (the tool
	// definitions come first) for the provider's prompt cache: an
	// Anthropic client's cache_control on a tool.
	CacheMark bool
}

// ToolChoice constrains tool use. Mode is "auto", "none", "required" or "tool"
// (then Name names the tool).
type ToolChoice struct {
	Mode string
	Name string
}

// Body is the fully decoded, dialect-neutral content of a chat request. It is
// only decoded when a translation needs it (see Request.Body).
type Body struct {
	System string
	// SystemParts is the system prompt as the client sent it in blocks
	// (an Anthropic client's system array), each a text part marked for
	// the prompt cache as the client marked it; System is their text
	// joined. Nil when the prompt came as one text.
	SystemParts []Part
	// SystemCacheMark marks the system prompt for the provider's prompt
	// cache (an Anthropic client's cache_control on a system block).
	SystemCacheMark bool
	Messages        []Message
	Temperature     *float64
	TopP            *float64
	Stop            []string
	Tools           []Tool
	ToolChoice      *ToolChoice
	// NoParallelTools asks for at most one tool call per answer (OpenAI's
	// parallel_tool_calls false, Anthropic's disable_parallel_tool_use).
	NoParallelTools bool
	// ResponseFormat is the OpenAI response_format object as the client sent it.
	ResponseFormat json.RawMessage
	User           string
	// ReasoningEffort is OpenAI's reasoning_effort (one of
	// ReasoningEfforts), or "".
	ReasoningEffort string
	// ThinkingBudget is Anthropic's thinking.budget_tokens when thinking
	// is enabled, else 0.
	ThinkingBudget int
	// ThinkingAdaptive is Anthropic's adaptive thinking (thinking type
	// adaptive): Claude decides how much to think, guided by Effort.
	ThinkingAdaptive bool
	// Effort is Anthropic's output_config.effort (one of
	// AnthropicEfforts), or "".
	Effort string
	// ServiceTier is OpenAI's service_tier (auto, default, flex,
	// priority), or "".
	ServiceTier string
}

// ReasoningEfforts are the OpenAI reasoning efforts a translation knows,
// least first (none and minimal get no Claude thinking, whose least
// budget is 1,024 tokens).
var ReasoningEfforts = []string{"none", "minimal", "low", "medium", "high", "xhigh", "max"}

// KnownEffort reports whether effort is one of ReasoningEfforts.
func KnownEffort(effort string) bool { return slices.Contains(ReasoningEfforts, effort) }

// AnthropicEfforts are the values of Anthropic's output_config.effort,
// least first; each is also an OpenAI reasoning effort of the same name.
var AnthropicEfforts = []string{"low", "medium", "high", "xhigh", "max"}

// Request is one chat request as received from a client. The light fields are
// filled by the inbound dialect's parser without decoding the whole body; the
// full canonical Body is decoded on first use, only when a translation needs it.
type Request struct {
	// Model is what the client named: a route.
	Model string
	// Stream is true when the client asked for server-sent events.
	Stream bool
	// IncludeUsage is OpenAI's stream_options.include_usage.
	IncludeUsage bool
	// MaxTokens is the requested output limit; 0 when unset.
	MaxTokens int
	// Choices is how many answers the client asked for (OpenAI's n); 0
	// when unset (one). A legacy Completions request's is n times its
	// prompts, the choices of its answer.
	Choices int
	// Effort is the client's OpenAI reasoning effort (reasoning_effort, or
	// the Responses API's reasoning.effort), read at parse time so that
	// admission can reserve the thinking a translation adds to max_tokens
	// (provider.ThinkingReserve); "" when unset.
	Effort string
	// Generations, when above Choices, is how many answers the upstream
	// makes and bills to return them: a legacy Completions best_of (times
	// its prompts). Budgets and rate limits reserve that many.
	Generations int
	// Features used by routing, filled by the parser.
	HasImages   bool
	HasTools    bool
	JSONMode    bool
	NumMessages int
	// SystemText and LastUserText hold the system prompt and the last user
	// message's text, for routing and token estimation.
	SystemText   string
	LastUserText string
	// TextBytes is the total length of all text in the request, for estimates.
	TextBytes int
	// Metadata holds string-valued metadata fields the client sent.
	Metadata map[string]string
	// Continues names an upstream object the request continues (the
	// Responses API's previous_response_id): only the deployment that made
	// it can serve the request.
	Continues string
	// PreviousResponseID is the previous_response_id of a Responses API
	// request the gateway rewrote to carry the conversation of a
	// response it translated (Continues is then empty): the answer's
	// response object names it, as OpenAI's would.
	PreviousResponseID string
	// Stored is set when a Chat Completions request asks the provider to
	// keep its answer (store: true), for the stored-completions endpoints.
	Stored bool
	// Conversation names the Conversations API conversation a Responses
	// API request adds to (its conversation field), or is empty.
	Conversation string
	// RelayOnly, when set, says why only a deployment speaking the
	// request's own dialect can serve it (a feature no translation
	// carries, such as the Responses API's built-in tools).
	RelayOnly string
	// RelayOnlyParam is the request field RelayOnly is about, for the
	// error's param (OpenAI dialects), or empty.
	RelayOnlyParam string
	// Beta is the client's anthropic-beta header (comma-separated beta
	// names) on an Anthropic-dialect request, sent on to Anthropic
	// deployments: the beta fields of the body need it there.
	Beta string

	// Raw is the client's body as received, in Dialect. An adapter of the same
	// dialect sends Raw with only "model" rewritten.
	Raw     []byte
	Dialect Dialect

	decode  func(raw []byte) (*Body, error)
	once    sync.Once
	body    *Body
	bodyErr error
}

// SetDecoder installs the function that decodes Raw into a Body; the inbound
// dialect's parser calls it.
func (r *Request) SetDecoder(decode func(raw []byte) (*Body, error)) { r.decode = decode }

// SetBody installs an already decoded body (for requests built in code).
func (r *Request) SetBody(b *Body) {
	r.once.Do(func() {})
	r.body = b
}

// Body decodes (once) and returns the canonical body.
func (r *Request) Body() (*Body, error) {
	r.once.Do(func() {
		if r.decode == nil {
			r.body = &Body{}
			return
		}
		r.body, r.bodyErr = r.decode(r.Raw)
	})
	return r.body, r.bodyErr
}

// FinishReason is why the model stopped, in canonical (OpenAI) terms.
type FinishReason string

// Canonical finish reasons.
const (
	FinishStop          FinishReason = "stop"
	FinishLength        FinishReason = "length"
	FinishToolCalls     FinishReason = "tool_calls"
	FinishContentFilter FinishReason = "content_filter"
)

// Usage counts tokens. Estimated is true when the provider did not report them
// and Switchyard estimated them.
type Usage struct {
	// InputTokens is every input token, including those the provider's
	// prompt cache served or stored.
	InputTokens int
	// CachedInputTokens is the part of InputTokens read from the
	// provider's prompt cache (OpenAI's cached_tokens, Anthropic's
	// cache_read_input_tokens), billed at the cached-input price.
	CachedInputTokens int
	// CacheWriteTokens is the part of InputTokens written to the prompt
	// cache (Anthropic's cache_creation_input_tokens), billed at the
	// cache-write price.
	CacheWriteTokens int
	OutputTokens     int
	Estimated        bool
}

// MaxReportedTokens bounds a token count a provider reports (2^31-1, far
// beyond any context window), so that sums of counts cannot overflow: not
// in the gateway, not in the usage store's aggregates.
const MaxReportedTokens = math.MaxInt32

// ReportedTokens is n, a token count as a provider reported it, clamped to
// [0, MaxReportedTokens]. A negative count would be a negative cost (spend
// refunded to a budget) and a decrease of a metric counter; a huge one
// overflows the sums of the usage store.
func ReportedTokens(n int64) int {
	return int(min(max(n, 0), MaxReportedTokens))
}

// ReportedSeconds is s, seconds of audio as a provider reported them,
// clamped to [0, MaxReportedTokens] for the same reasons as ReportedTokens.
func ReportedSeconds(s float64) float64 {
	if !(s > 0) { // NaN too
		return 0
	}
	return min(s, MaxReportedTokens)
}

// Clamped is u with each count clamped by ReportedTokens. Adapters apply it
// to every usage they read from a provider: a provider's report is not
// trusted to be sane.
func (u Usage) Clamped() Usage {
	u.InputTokens = ReportedTokens(int64(u.InputTokens))
	u.CachedInputTokens = ReportedTokens(int64(u.CachedInputTokens))
	u.CacheWriteTokens = ReportedTokens(int64(u.CacheWriteTokens))
	u.OutputTokens = ReportedTokens(int64(u.OutputTokens))
	return u
}

// Merge takes the counts a provider reported in one event of a stream.
// Counts are cumulative, and some providers split them over two events
// (Anthropic: input at the start, output at the end), so only the counts
// ev reports replace u's.
func (u *Usage) Merge(ev Usage) {
	if ev.InputTokens > 0 {
		u.InputTokens = ev.InputTokens
		u.CachedInputTokens, u.CacheWriteTokens = ev.CachedInputTokens, ev.CacheWriteTokens
	}
	if ev.OutputTokens > 0 {
		u.OutputTokens = ev.OutputTokens
	}
}

// Add is the usage of two calls together.
func (u Usage) Add(v Usage) Usage {
	return Usage{
		InputTokens:       u.InputTokens + v.InputTokens,
		CachedInputTokens: u.CachedInputTokens + v.CachedInputTokens,
		CacheWriteTokens:  u.CacheWriteTokens + v.CacheWriteTokens,
		OutputTokens:      u.OutputTokens + v.OutputTokens,
		Estimated:         u.Estimated || v.Estimated,
	}
}

// Response is a complete (non-streaming) chat answer.
type Response struct {
	ID           string
	Model        string // the model that answered, as the provider named it
	Created      int64
	Text         string
	ToolCalls    []ToolCall
	FinishReason FinishReason
	// StopSequence is set when one of the request's stop sequences ended
	// the answer (FinishReason is then FinishStop): the sequence, or ""
	// when the provider did not say which. Nil otherwise, and from
	// providers that do not tell a stop sequence from a natural end
	// (OpenAI's "stop" is both).
	StopSequence *string
	Usage        Usage
	// Thinking is the reasoning that came before the answer, where the
	// provider shows it (Anthropic thinking blocks, the reasoning_content
	// of OpenAI-compatible servers).
	Thinking []Thinking
	// Raw is the provider's body verbatim, in Dialect; the outbound encoder
	// passes it through when the client's dialect is the same.
	Raw     []byte
	Dialect Dialect
	// More are the further answers of a request for several (OpenAI's n,
	// from a provider that answers one per call), in order: each with its
	// own text, tool calls, finish reason and thinking. Usage counts them
	// all.
	More []Response
}

// ToolCallDelta is a piece of a streamed tool call. The first piece of a call
// carries ID and Name; later pieces carry more Arguments text.
type ToolCallDelta struct {
	Index     int
	ID        string
	Name      string
	Arguments string
}

// ThinkingDelta is a piece of streamed thinking. Index counts the
// answer's thinking blocks from 0; the first piece of a block may come
// with no text. Text adds to the block's text; Signature (sent once, at
// the block's end) and Redacted (a redacted block, whole) are complete.
type ThinkingDelta struct {
	Index     int
	Text      string
	Signature string
	Redacted  string
}

// Event is one provider stream frame in canonical form. One frame may carry
// several things at once (an OpenAI chunk with text, finish reason and usage).
type Event struct {
	// Start is set on the frame that opens the message (Anthropic
	// message_start, OpenAI's first chunk); ID and Model are then known.
	Start bool
	ID    string
	Model string

	Text         string
	ToolCalls    []ToolCallDelta
	FinishReason FinishReason
	// StopSequence comes with FinishReason, as Response's does.
	StopSequence *string
	Usage        *Usage
	// Thinking is streamed reasoning, before the answer's text.
	Thinking *ThinkingDelta
	// Done is set on the provider's terminal frame ([DONE], message_stop).
	Done bool
	// Opaque marks a relayed frame whose content the gateway does not read
	// (a chunk of streamed speech): it counts as content.
	Opaque bool
	// Seconds is the audio a streamed transcription's terminal frame
	// reports as transcribed (whisper-1's usage), priced per minute.
	Seconds float64

	// Raw is the complete SSE frame as the provider sent it (with its trailing
	// blank line), for passthrough to a client of the same dialect.
	Raw []byte
}

// HasContent reports whether the event carries anything the client must see
// as part of the answer (used to decide when a stream is committed).
// Thinking counts: a reasoning model may think for minutes before its
// first word, and the client sees the thinking as it comes.
func (e *Event) HasContent() bool {
	return e.Text != "" || len(e.ToolCalls) > 0 || e.FinishReason != "" || e.Done || e.Thinking != nil || e.Opaque
}

// Stream is a streamed answer. Next returns io.EOF after the terminal event;
// any other error means the stream failed (for a stream cut before its terminal
// event, an error that unwraps to a provider error). Close releases the upstream
// connection and is safe to call more than once.
type Stream interface {
	Next() (Event, error)
	Dialect() Dialect
	Close() error
}

// Buffering is implemented by streams that can tell whether their next
// event is already in memory (Next will not wait for the network). Writers
// use it to flush once per burst of events instead of once per event.
type Buffering interface {
	Buffered() bool
}

// Passthrough is implemented by streams that can decode less when the
// consumer relays each event's Raw frame verbatim (the client speaks the
// provider's dialect). After SetPassthrough, events still carry Raw, Done,
// FinishReason, Usage, Text and Thinking, but may omit ID, Model and
// ToolCalls.
type Passthrough interface {
	SetPassthrough()
}

// EmbedRequest is an embeddings request. Raw is the OpenAI-dialect body.
type EmbedRequest struct {
	Model string
	// InputBytes is the input text(s)' size, for token estimates.
	InputBytes int
	// Inputs is how many embeddings the request asks for (one per string
	// or token array); 0 when unknown. An answer with another count is a
	// provider failure.
	Inputs int
	Raw    []byte
}

// ModerationRequest is an OpenAI moderations request. Raw is its body,
// relayed with only model rewritten.
type ModerationRequest struct {
	Model string
	// InputBytes is the input text's size, for token estimates.
	InputBytes int
	Raw        []byte
}

// ModerationResponse is a moderations answer: the provider's body
// verbatim, and the model that answered.
type ModerationResponse struct {
	Model string
	Raw   []byte
}

// ImageRequest is an OpenAI image generation request. Raw is its body,
// relayed with only model rewritten.
type ImageRequest struct {
	Model string
	// PromptBytes is the prompt's size, for token estimates; N the images
	// asked for.
	PromptBytes int
	N           int
	Raw         []byte
	// Stream is set when the answer is to come as events (stream true).
	Stream bool
}

// ImageResponse is an image generation answer: the provider's body
// verbatim, its token usage (gpt-image models report it; DALL-E does
// not) and how many images it holds.
type ImageResponse struct {
	Usage  Usage
	Images int
	Raw    []byte
}

// VideoRequest is a job of OpenAI's Videos API: a create (POST /videos),
// sent as Form (multipart, with an optional input_reference file) or Raw
// (JSON) with model rewritten, or a remix of an earlier video (POST
// /videos/{RemixOf}/remix, Raw relayed as it is).
type VideoRequest struct {
	Model   string
	Form    *FormRequest
	Raw     []byte
	RemixOf string
}

// RelayRequest is a request the provider is sent as the client wrote it,
// with only its model replaced by the deployment's (a Responses API
// compaction, or an input token count).
type RelayRequest struct {
	Model string
	Raw   []byte
}

// RelayResponse is a relayed request's answer, verbatim, and the usage it
// reports.
type RelayResponse struct {
	Raw   []byte
	Usage Usage
}

// VideoResponse is a video job the provider accepted: its object
// verbatim, its id, and the seconds of video it will make (what it is
// priced by).
type VideoResponse struct {
	ID      string
	Seconds float64
	Raw     []byte
}

// SpeechRequest is an OpenAI text-to-speech request. Raw is its body,
// relayed with only model rewritten.
type SpeechRequest struct {
	Model string
	// InputBytes is the text's size, for token estimates.
	InputBytes int
	Raw        []byte
	// Stream is set when the answer is to come as events
	// (stream_format "sse").
	Stream bool
}

// FormRequest is an OpenAI request sent as a multipart form (a
// transcription or translation, an image edit): its plain fields in order
// (model among them, rewritten when relayed) and its files.
type FormRequest struct {
	// Op is the endpoint's path under the API root: "audio/transcriptions",
	// "audio/translations", "images/edits" or "images/variations".
	Op     string
	Model  string
	Fields []FormField
	Files  []FormFile
	// Stream is set when the form asks for its answer as events (the
	// field stream is true).
	Stream bool
}

// FormField is a plain field of a multipart form.
type FormField struct{ Name, Value string }

// FormFile is the file part of a multipart form.
type FormFile struct {
	Field, Filename, ContentType string
	Data                         []byte
}

// AudioResponse is an audio endpoint's answer: the provider's body
// verbatim with its content type, and the usage it reports (tokens, or
// the seconds of audio transcribed; none for speech).
type AudioResponse struct {
	Usage       Usage
	Seconds     float64
	ContentType string
	Raw         []byte
}

// EmbedResponse is an embeddings answer: the provider's body verbatim (OpenAI
// dialect) with its usage.
type EmbedResponse struct {
	Model string
	Usage Usage
	Raw   []byte
	// Dropped names the request's fields a translating adapter could not
	// send (empty when the body was relayed).
	Dropped []string
}
