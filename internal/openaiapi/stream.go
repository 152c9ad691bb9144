package openaiapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/sse"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// wire types of a chat.completion.chunk.
type (
	chunk struct {
		ID      string        `json:"id"`
		Object  string        `json:"object"`
		Created int64         `json:"created"`
		Model   string        `json:"model"`
		Choices []chunkChoice `json:"choices"`
		Usage   *usageObject  `json:"usage,omitempty"`
	}
	chunkChoice struct {
		Index        int        `json:"index"`
		Delta        chunkDelta `json:"delta"`
		Logprobs     *struct{}  `json:"logprobs"`
		FinishReason *string    `json:"finish_reason"`
	}
	chunkDelta struct {
		Role      string         `json:"role,omitempty"`
		Content   *string        `json:"content,omitempty"`
		ToolCalls []wireToolCall `json:"tool_calls,omitempty"`
		// Thinking, as in a complete answer (responseMessage): the text
		// as it comes, and each block whole once it is signed.
		ReasoningContent *string         `json:"reasoning_content,omitempty"`
		ThinkingBlocks   []thinkingBlock `json:"thinking_blocks,omitempty"`
	}
)

var doneFrame = []byte("data: [DONE]\n\n")

// StreamWriter writes a streamed answer to an OpenAI client as server-sent
// events, flushing after every event. Events from an OpenAI-dialect provider
// pass through verbatim; events from any other dialect are translated into
// chat.completion.chunk frames. Headers go out with the first byte, so until
// Started reports true the gateway may still answer with a plain error. Not
// safe for concurrent use.
type StreamWriter struct {
	out          *sse.ResponseWriter // headers, batching and flushing
	src          llm.Dialect
	includeUsage bool
	gen          source

	finished bool // [DONE] or an in-band error was written

	usage   llm.Usage
	model   string
	id      string
	created int64

	// What the client has seen, so a translation or Finish adds only what
	// is missing.
	roleSent, finishSent, usageSent bool
	toolIndex                       map[int]int // source tool index → client index
	buf                             []byte
	// thinking is the text of the thinking block being streamed, sent
	// whole in thinking_blocks when its signature comes.
	thinking      strings.Builder
	thinkingIndex int

	// legacy: the client speaks the legacy Completions API; translated
	// events become text_completion chunks.
	legacy bool
}

// NewStreamWriter returns a writer for req's client, fed with events of a
// provider speaking srcDialect.
func NewStreamWriter(w http.ResponseWriter, req *llm.Request, srcDialect llm.Dialect) *StreamWriter {
	return &StreamWriter{
		out:          sse.NewResponseWriter(w, "openaiapi"),
		src:          srcDialect,
		includeUsage: req.IncludeUsage,
		model:        req.Model,
		gen:          defaultSource(),
	}
}

// Started reports whether any byte has been written to the client.
func (s *StreamWriter) Started() bool { return s.out.Started() }

// Usage returns the token usage the stream reported so far.
func (s *StreamWriter) Usage() llm.Usage { return s.usage }

// Model returns the model that answered, as the provider named it (the
// requested model until the provider said).
func (s *StreamWriter) Model() string { return s.model }

// WriteEvent writes one provider event. Events after the terminator are
// ignored.
func (s *StreamWriter) WriteEvent(ev llm.Event) error {
	if s.finished {
		return nil
	}
	s.observe(ev)
	if s.relays() && ev.Raw != nil {
		return s.passthrough(ev)
	}
	s.buf = s.buf[:0]
	s.appendEvent(ev)
	return s.write(s.buf)
}

// relays reports whether the provider's frames go to the client verbatim.
func (s *StreamWriter) relays() bool {
	if s.legacy {
		return s.src == llm.DialectOpenAICompletions
	}
	return relayable(s.src)
}

// observe records what the gateway reads back after the stream.
func (s *StreamWriter) observe(ev llm.Event) {
	if ev.Model != "" {
		s.model = ev.Model
	}
	if ev.ID != "" && s.id == "" && (s.relays() || strings.HasPrefix(ev.ID, s.idPrefix())) {
		// A translated stream's id is the other API's (Anthropic's
		// msg_...): its chunks get one of their own (see newChunk).
		s.id = ev.ID
	}
	if u := ev.Usage; u != nil {
		s.usage.Merge(*u)
		s.usage.Estimated = u.Estimated
	}
}

// passthrough writes an OpenAI provider frame verbatim, except the
// usage-only chunk the adapter asked for on the client's behalf.
func (s *StreamWriter) passthrough(ev llm.Event) error {
	usageOnly := ev.Usage != nil && !ev.HasContent() && !ev.Start
	if usageOnly {
		if !s.includeUsage {
			return nil
		}
		s.usageSent = true
	}
	s.roleSent = true
	if ev.FinishReason != "" {
		s.finishSent = true
	}
	if ev.Done {
		s.finished = true
	}
	return s.write(ev.Raw)
}

// appendEvent appends the chunks that carry ev to s.buf.
func (s *StreamWriter) appendEvent(ev llm.Event) {
	if ev.Start || ev.HasContent() {
		s.appendRole()
	}
	if ev.Thinking != nil && !s.legacy {
		s.appendThinking(*ev.Thinking)
	}
	if ev.Text != "" {
		text := ev.Text
		s.appendChunk(chunkDelta{Content: &text}, nil)
	}
	if len(ev.ToolCalls) > 0 {
		s.appendChunk(chunkDelta{ToolCalls: s.toolDeltas(ev.ToolCalls)}, nil)
	}
	if ev.FinishReason != "" && !s.finishSent {
		s.appendFinish(string(ev.FinishReason))
	}
	if ev.Done {
		s.appendEnd()
	}
}

// appendThinking streams thinking: its text as reasoning_content, and
// each block whole in thinking_blocks once it is complete (signed, or
// redacted), so that a client can send the blocks back as they came.
func (s *StreamWriter) appendThinking(d llm.ThinkingDelta) {
	if d.Index != s.thinkingIndex {
		s.thinking.Reset()
		s.thinkingIndex = d.Index
	}
	var delta chunkDelta
	if d.Text != "" {
		s.thinking.WriteString(d.Text)
		text := d.Text
		delta.ReasoningContent = &text
	}
	switch {
	case d.Redacted != "":
		delta.ThinkingBlocks = []thinkingBlock{wireThinking(llm.Thinking{Redacted: d.Redacted})}
	case d.Signature != "":
		delta.ThinkingBlocks = []thinkingBlock{wireThinking(llm.Thinking{Text: s.thinking.String(), Signature: d.Signature})}
		s.thinking.Reset()
	}
	if delta.ReasoningContent != nil || delta.ThinkingBlocks != nil {
		s.appendChunk(delta, nil)
	}
}

func (s *StreamWriter) toolDeltas(ds []llm.ToolCallDelta) []wireToolCall {
	out := make([]wireToolCall, 0, len(ds))
	for _, d := range ds {
		if s.toolIndex == nil {
			s.toolIndex = make(map[int]int)
		}
		idx, ok := s.toolIndex[d.Index]
		if !ok {
			idx = len(s.toolIndex)
			s.toolIndex[d.Index] = idx
		}
		tc := wireToolCall{Index: &idx, Function: wireFunction{Arguments: d.Arguments}}
		if !ok || d.ID != "" || d.Name != "" {
			tc.ID, tc.Type, tc.Function.Name = d.ID, "function", d.Name
			if tc.ID == "" {
				tc.ID = s.gen.newID("call_")
			}
		}
		out = append(out, tc)
	}
	return out
}

func (s *StreamWriter) appendRole() {
	if s.roleSent || s.legacy {
		return
	}
	s.roleSent = true
	empty := ""
	s.appendChunk(chunkDelta{Role: "assistant", Content: &empty}, nil)
}

func (s *StreamWriter) appendFinish(reason string) {
	s.finishSent = true
	s.appendChunk(chunkDelta{}, &reason)
}

// appendEnd appends whatever a complete stream still lacks, then [DONE].
func (s *StreamWriter) appendEnd() {
	s.appendRole()
	if !s.finishSent {
		s.appendFinish(string(llm.FinishStop))
	}
	if s.includeUsage && !s.usageSent {
		s.usageSent = true
		if s.legacy {
			s.appendFrame(s.newLegacyChunk(nil, toUsage(s.usage)))
		} else {
			s.appendFrame(s.newChunk(nil, toUsage(s.usage)))
		}
	}
	s.buf = append(s.buf, doneFrame...)
	s.finished = true
}

func (s *StreamWriter) appendChunk(d chunkDelta, finish *string) {
	if s.legacy {
		// Text and the finish reason; a completion has no tool calls.
		if d.ToolCalls != nil {
			return
		}
		text := ""
		if d.Content != nil {
			text = *d.Content
		}
		s.appendFrame(s.newLegacyChunk([]legacyChoice{{Text: text, FinishReason: finish}}, nil))
		return
	}
	s.appendFrame(s.newChunk([]chunkChoice{{Delta: d, FinishReason: finish}}, nil))
}

// idPrefix is the prefix of the ids of the client's answers.
func (s *StreamWriter) idPrefix() string {
	if s.legacy {
		return legacyIDPrefix
	}
	return chatIDPrefix
}

func (s *StreamWriter) newLegacyChunk(choices []legacyChoice, u *usageObject) legacyCompletion {
	if s.id == "" {
		s.id = s.gen.newID(legacyIDPrefix)
	}
	if s.created == 0 {
		s.created = s.gen.now().Unix()
	}
	if choices == nil {
		choices = []legacyChoice{}
	}
	return legacyCompletion{ID: s.id, Object: "text_completion", Created: s.created, Model: s.model, Choices: choices, Usage: u}
}

func (s *StreamWriter) newChunk(choices []chunkChoice, u *usageObject) chunk {
	if s.id == "" {
		s.id = s.gen.newID(chatIDPrefix)
	}
	if s.created == 0 {
		s.created = s.gen.now().Unix()
	}
	if choices == nil {
		choices = []chunkChoice{}
	}
	return chunk{ID: s.id, Object: "chat.completion.chunk", Created: s.created, Model: s.model, Choices: choices, Usage: u}
}

func (s *StreamWriter) appendFrame(v any) {
	b, err := wirejson.Marshal(v)
	if err != nil {
		// Only our own wire structs reach here; they always marshal.
		panic(fmt.Sprintf("openaiapi: marshal stream frame: %v", err))
	}
	s.buf = sse.AppendFrame(s.buf, "", b)
}

// Finish completes a stream whose provider ended without a terminator the
// client understands (for example a translated stream): it writes the
// missing finish, usage (when asked for) and [DONE]. It does nothing after
// a terminator or an in-band error.
func (s *StreamWriter) Finish() error {
	if s.finished {
		return nil
	}
	s.buf = s.buf[:0]
	s.appendEnd()
	return s.write(s.buf)
}

// WriteError reports a failure. Once the stream started it writes OpenAI's
// in-band error frame, data: {"error":{...}}, and no [DONE], so SDKs raise
// an error rather than return a truncated answer. Before the first byte it
// writes a plain error response with the mapped status instead.
func (s *StreamWriter) WriteError(err error) {
	if s.finished {
		return
	}
	s.finished = true
	s.out.Fail(func(w http.ResponseWriter) { WriteErrorFor(w, err) }, func() []byte {
		s.buf = AppendStreamError(s.buf[:0], err)
		return s.buf
	})
}

// write sends b (headers first, on the first call) and flushes it unless
// batching.
func (s *StreamWriter) write(b []byte) error {
	_, err := s.out.Write(b)
	return err
}

// Batch makes writes wait for an explicit Flush, so a caller that knows
// more events are already in memory can send them in one write.
func (s *StreamWriter) Batch() { s.out.Batch() }

// Flush sends what has been written to the client.
func (s *StreamWriter) Flush() error { return s.out.Flush() }
