package anthropicapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/sse"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// wire types of the Messages API stream events.
type (
	startEvent struct {
		Type    string  `json:"type"`
		Message message `json:"message"`
	}
	blockStartEvent struct {
		Type         string       `json:"type"`
		Index        int          `json:"index"`
		ContentBlock contentBlock `json:"content_block"`
	}
	blockDeltaEvent struct {
		Type  string     `json:"type"`
		Index int        `json:"index"`
		Delta blockDelta `json:"delta"`
	}
	blockDelta struct {
		Type        string  `json:"type"`
		Text        *string `json:"text,omitempty"`
		PartialJSON *string `json:"partial_json,omitempty"`
		Thinking    *string `json:"thinking,omitempty"`
		Signature   *string `json:"signature,omitempty"`
	}
	blockStopEvent struct {
		Type  string `json:"type"`
		Index int    `json:"index"`
	}
	messageDeltaEvent struct {
		Type  string       `json:"type"`
		Delta messageDelta `json:"delta"`
		Usage usageObject  `json:"usage"`
	}
	messageDelta struct {
		StopReason   string  `json:"stop_reason"`
		StopSequence *string `json:"stop_sequence"`
	}
)

var stopFrame = []byte("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")

// noBlock marks that no content block is open.
const noBlock = -1

// StreamWriter writes a streamed answer to an Anthropic client as
// server-sent events, flushing after every event. Events from an
// Anthropic-dialect provider pass through verbatim; events from any other
// dialect are translated into message_start, content_block_start/delta/stop
// (text and tool_use blocks), message_delta and message_stop. Headers go out
// with the first byte, so until Started reports true the gateway may still
// answer with a plain error. Not safe for concurrent use.
type StreamWriter struct {
	out *sse.ResponseWriter // headers, batching and flushing
	src llm.Dialect
	ids idSource

	finished bool // message_stop or an in-band error was written

	usage llm.Usage
	model string
	id    string

	// Translation state: what the client has seen.
	msgStarted bool
	deltaSent  bool
	open       int           // index of the open content block, or noBlock
	openType   string        // the open block's type
	thinking   int           // the client index of the open thinking block's source block
	next       int           // index of the next content block
	toolBlock  map[int]int   // a tool call's index → its block's index (-1 while pending)
	pending    []pendingTool // tool calls that began while another's block was open
	stop       llm.FinishReason
	stopSeq    *string // the stop sequence that came with stop
	buf        []byte
}

// NewStreamWriter returns a writer for req's client, fed with events of a
// provider speaking srcDialect.
func NewStreamWriter(w http.ResponseWriter, req *llm.Request, srcDialect llm.Dialect) *StreamWriter {
	return &StreamWriter{
		out:   sse.NewResponseWriter(w, "anthropicapi"),
		src:   srcDialect,
		ids:   defaultIDs,
		model: req.Model,
		open:  noBlock,
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
	if s.src == llm.DialectAnthropic && ev.Raw != nil {
		s.msgStarted = s.msgStarted || ev.Start
		s.deltaSent = s.deltaSent || ev.FinishReason != ""
		s.finished = ev.Done
		return s.write(ev.Raw)
	}
	s.buf = s.buf[:0]
	s.appendEvent(ev)
	return s.write(s.buf)
}

// observe records what the gateway reads back after the stream.
func (s *StreamWriter) observe(ev llm.Event) {
	if ev.Model != "" {
		s.model = ev.Model
	}
	if s.id == "" && strings.HasPrefix(ev.ID, msgIDPrefix) {
		s.id = ev.ID
	}
	if u := ev.Usage; u != nil {
		s.usage.Merge(*u)
		s.usage.Estimated = u.Estimated
	}
}

// appendEvent appends the events that carry ev to s.buf.
func (s *StreamWriter) appendEvent(ev llm.Event) {
	if ev.Start || ev.HasContent() {
		s.appendMessageStart()
	}
	if ev.Thinking != nil {
		s.appendThinking(*ev.Thinking)
	}
	if ev.Text != "" {
		if s.open == noBlock || s.openType != "text" {
			s.closeBlock()
			empty := ""
			s.openBlock(contentBlock{Type: "text", Text: &empty})
		}
		text := ev.Text
		s.appendFrame("content_block_delta", blockDeltaEvent{Type: "content_block_delta", Index: s.open, Delta: blockDelta{Type: "text_delta", Text: &text}})
	}
	for _, d := range ev.ToolCalls {
		s.appendToolDelta(d)
	}
	if ev.FinishReason != "" {
		s.stop, s.stopSeq = ev.FinishReason, ev.StopSequence
		s.closeBlock()
		s.flushTools()
	}
	if ev.Done {
		s.appendEnd()
	}
}

// appendThinking streams thinking as thinking blocks (thinking_delta,
// then signature_delta), or a redacted_thinking block whole.
func (s *StreamWriter) appendThinking(d llm.ThinkingDelta) {
	if d.Redacted != "" {
		s.closeBlock()
		s.openBlock(contentBlock{Type: "redacted_thinking", Data: d.Redacted})
		s.closeBlock()
		return
	}
	if s.open == noBlock || s.openType != "thinking" || s.thinking != d.Index {
		s.closeBlock()
		empty := ""
		s.openBlock(contentBlock{Type: "thinking", Thinking: &empty, Signature: &empty})
		s.thinking = d.Index
	}
	if d.Text != "" {
		text := d.Text
		s.appendFrame("content_block_delta", blockDeltaEvent{Type: "content_block_delta", Index: s.open, Delta: blockDelta{Type: "thinking_delta", Thinking: &text}})
	}
	if d.Signature != "" {
		sig := d.Signature
		s.appendFrame("content_block_delta", blockDeltaEvent{Type: "content_block_delta", Index: s.open, Delta: blockDelta{Type: "signature_delta", Signature: &sig}})
	}
}

// pendingTool is a tool call held back until the stream's end: its
// fragments may still arrive between those of the open block, and a
// block's deltas must all come before its content_block_stop.
type pendingTool struct {
	index    int
	id, name string
	args     []byte
}

// appendToolDelta streams the first tool call's arguments as they come,
// in a block left open until the answer ends. A call that begins while
// another's block is open is held back whole and sent at the end (after
// that block's stop), since OpenAI-style deltas of parallel calls may
// interleave.
func (s *StreamWriter) appendToolDelta(d llm.ToolCallDelta) {
	if s.toolBlock == nil {
		s.toolBlock = make(map[int]int)
	}
	idx, ok := s.toolBlock[d.Index]
	switch {
	case ok && idx >= 0 && idx == s.open:
	case !ok && (s.open == noBlock || s.openType != "tool_use") && len(s.pending) == 0:
		s.closeBlock()
		id := d.ID
		if id == "" {
			id = s.ids("toolu_")
		}
		idx = s.openBlock(contentBlock{Type: "tool_use", ID: id, Name: d.Name, Input: json.RawMessage("{}")})
		s.toolBlock[d.Index] = idx
	default:
		s.holdTool(d)
		return
	}
	if d.Arguments != "" {
		args := d.Arguments
		s.appendFrame("content_block_delta", blockDeltaEvent{Type: "content_block_delta", Index: idx, Delta: blockDelta{Type: "input_json_delta", PartialJSON: &args}})
	}
}

// holdTool adds d to its pending call.
func (s *StreamWriter) holdTool(d llm.ToolCallDelta) {
	i := slices.IndexFunc(s.pending, func(p pendingTool) bool { return p.index == d.Index })
	if i < 0 {
		s.toolBlock[d.Index] = -1
		s.pending = append(s.pending, pendingTool{index: d.Index})
		i = len(s.pending) - 1
	}
	p := &s.pending[i]
	if p.id == "" {
		p.id = d.ID
	}
	if p.name == "" {
		p.name = d.Name
	}
	p.args = append(p.args, d.Arguments...)
}

// flushTools closes the open block and sends the held-back tool calls,
// each a whole block.
func (s *StreamWriter) flushTools() {
	if len(s.pending) == 0 {
		return
	}
	s.closeBlock()
	for _, p := range s.pending {
		id := p.id
		if id == "" {
			id = s.ids("toolu_")
		}
		s.toolBlock[p.index] = s.openBlock(contentBlock{Type: "tool_use", ID: id, Name: p.name, Input: json.RawMessage("{}")})
		if len(p.args) > 0 {
			args := string(p.args)
			s.appendFrame("content_block_delta", blockDeltaEvent{Type: "content_block_delta", Index: s.open, Delta: blockDelta{Type: "input_json_delta", PartialJSON: &args}})
		}
		s.closeBlock()
	}
	s.pending = s.pending[:0]
}

func (s *StreamWriter) appendMessageStart() {
	if s.msgStarted {
		return
	}
	s.msgStarted = true
	if s.id == "" {
		s.id = s.ids(msgIDPrefix)
	}
	s.appendFrame("message_start", startEvent{Type: "message_start", Message: message{
		ID: s.id, Type: "message", Role: "assistant", Model: s.model, Content: []contentBlock{},
		Usage: toUsage(llm.Usage{InputTokens: s.usage.InputTokens, CachedInputTokens: s.usage.CachedInputTokens, CacheWriteTokens: s.usage.CacheWriteTokens}),
	}})
}

func (s *StreamWriter) openBlock(cb contentBlock) int {
	s.open, s.openType = s.next, cb.Type
	s.next++
	s.appendFrame("content_block_start", blockStartEvent{Type: "content_block_start", Index: s.open, ContentBlock: cb})
	return s.open
}

func (s *StreamWriter) closeBlock() {
	if s.open == noBlock {
		return
	}
	s.appendFrame("content_block_stop", blockStopEvent{Type: "content_block_stop", Index: s.open})
	s.open = noBlock
}

// appendEnd appends whatever a complete stream still lacks, then
// message_stop.
func (s *StreamWriter) appendEnd() {
	s.appendMessageStart()
	s.closeBlock()
	s.flushTools()
	if !s.deltaSent {
		s.deltaSent = true
		stop, seq := stopOf(s.stop, s.stopSeq, len(s.toolBlock) > 0)
		s.appendFrame("message_delta", messageDeltaEvent{
			Type:  "message_delta",
			Delta: messageDelta{StopReason: stop, StopSequence: seq},
			Usage: toUsage(s.usage),
		})
	}
	s.buf = append(s.buf, stopFrame...)
	s.finished = true
}

func (s *StreamWriter) appendFrame(event string, v any) {
	b, err := wirejson.Marshal(v)
	if err != nil {
		// Only our own wire structs reach here; they always marshal.
		panic(fmt.Sprintf("anthropicapi: marshal stream event: %v", err))
	}
	s.buf = sse.AppendFrame(s.buf, event, b)
}

// Finish completes a stream whose provider ended without a terminator the
// client understands (for example a translated stream): it closes the open
// block and writes the missing message_delta and message_stop. It does
// nothing after a terminator or an in-band error.
func (s *StreamWriter) Finish() error {
	if s.finished {
		return nil
	}
	s.buf = s.buf[:0]
	s.appendEnd()
	return s.write(s.buf)
}

// WriteError reports a failure. Once the stream started it writes
// Anthropic's in-band error event (event: error, with the mapped error type
// such as overloaded_error) and no message_stop, so SDKs raise an error
// rather than return a truncated answer. Before the first byte it writes a
// plain error response with the mapped status instead.
func (s *StreamWriter) WriteError(err error) {
	if s.finished {
		return
	}
	s.finished = true
	s.out.Fail(func(w http.ResponseWriter) { WriteErrorFor(w, err) }, func() []byte {
		_, errType, message := ErrorFor(err)
		s.buf = sse.AppendFrame(s.buf[:0], "error", marshalError(errType, message))
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
