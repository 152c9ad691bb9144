package anthropic

import (
	"io"
	"sync"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/sse"
)

// stream decodes a Messages SSE body into canonical events, one per frame.
type stream struct {
	c    *Client
	body io.ReadCloser
	r    *sse.Reader
	err  error // sticky: io.EOF after the end, or the failure

	input llm.Usage   // input counts from message_start
	tools map[int]int // content block index → ordinal among tool_use blocks
	// args ends a tool block that got no argument text with "{}" (or
	// its start's input, when a server sends it whole there).
	args provider.ToolArgs
	// thinking maps a content block index to its ordinal among thinking
	// blocks.
	thinking map[int]int
	stop     bool // a message_delta with stop_reason was seen

	// scan checks each event's JSON, mostly against the one before (see
	// provider.ChunkScanner).
	scan provider.ChunkScanner

	closeOnce sync.Once
}

func newStream(c *Client, body io.ReadCloser) *stream {
	return &stream{c: c, body: body, r: sse.NewReader(body), tools: map[int]int{}, thinking: map[int]int{}}
}

// Dialect reports llm.DialectAnthropic.
func (s *stream) Dialect() llm.Dialect { return llm.DialectAnthropic }

// Close releases the upstream connection. Safe to call more than once.
func (s *stream) Close() error {
	s.closeOnce.Do(func() {
		provider.CloseBody(s.body)
	})
	return nil
}

// Next returns the next event; see llm.Stream for the end rules.
func (s *stream) Next() (llm.Event, error) {
	if s.err != nil {
		return llm.Event{}, s.err
	}
	f, err := s.r.Next()
	if err != nil {
		return s.end(err)
	}
	ev := llm.Event{Raw: f.Raw}
	if !f.HasData {
		return ev, nil // comment or keep-alive
	}
	if !s.scan.Scan(f.Data, nil, nil) {
		s.err = &provider.Error{Kind: provider.KindUnavailable, Status: 200, Message: "malformed stream event"}
		return llm.Event{}, s.err
	}
	data := gjson.Parse(f.Data)
	typ := f.Event
	if typ == "" {
		typ = data.Get("type").String()
	}
	switch typ {
	case "message_start":
		msg := data.Get("message")
		ev.Start, ev.ID, ev.Model = true, msg.Get("id").String(), msg.Get("model").String()
		// Only a usage the provider reported is one: a start without
		// it (some Anthropic-compatible servers) carries none, so the
		// gateway estimates the input rather than bill 0 tokens as
		// the provider's count.
		if u := msg.Get("usage"); u.IsObject() {
			s.input = usage(u)
			got := s.input
			// Its output count is a placeholder (1): the count is
			// message_delta's, which may be 0 (an empty answer), and a
			// stream cut before it is estimated from what it sent.
			got.OutputTokens = 0
			ev.Usage = &got
		}
	case "content_block_start":
		cb := data.Get("content_block")
		switch cb.Get("type").String() {
		case "tool_use", "server_tool_use":
			n, idx := len(s.tools), int(data.Get("index").Int())
			s.tools[idx] = n
			whole := ""
			if in := cb.Get("input"); in.IsObject() && len(in.Map()) > 0 {
				whole = in.Raw
			}
			s.args.Start(idx, n, whole)
			ev.ToolCalls = []llm.ToolCallDelta{{Index: n, ID: cb.Get("id").String(), Name: cb.Get("name").String()}}
		case "text":
			ev.Text = cb.Get("text").String()
		case "thinking":
			n := len(s.thinking)
			s.thinking[int(data.Get("index").Int())] = n
			ev.Thinking = &llm.ThinkingDelta{Index: n, Text: cb.Get("thinking").String(), Signature: cb.Get("signature").String()}
		case "redacted_thinking":
			n := len(s.thinking)
			s.thinking[int(data.Get("index").Int())] = n
			ev.Thinking = &llm.ThinkingDelta{Index: n, Redacted: cb.Get("data").String()}
		}
	case "content_block_delta":
		d := data.Get("delta")
		switch typ := d.Get("type").String(); typ {
		case "text_delta":
			ev.Text = d.Get("text").String()
		case "thinking_delta", "signature_delta":
			n, ok := s.thinking[int(data.Get("index").Int())]
			if !ok {
				s.err = &provider.Error{Kind: provider.KindUnavailable, Status: 200, Message: typ + " for a block that is not thinking"}
				return llm.Event{}, s.err
			}
			ev.Thinking = &llm.ThinkingDelta{Index: n, Text: d.Get("thinking").String(), Signature: d.Get("signature").String()}
		case "input_json_delta":
			idx := int(data.Get("index").Int())
			n, ok := s.tools[idx]
			if !ok {
				s.err = &provider.Error{Kind: provider.KindUnavailable, Status: 200, Message: "input_json_delta for a block that is not a tool call"}
				return llm.Event{}, s.err
			}
			args := d.Get("partial_json").String()
			s.args.Saw(idx, args)
			ev.ToolCalls = []llm.ToolCallDelta{{Index: n, Arguments: args}}
		}
	case "content_block_stop":
		if d, ok := s.args.Stop(int(data.Get("index").Int())); ok {
			ev.ToolCalls = []llm.ToolCallDelta{d}
		}
	case "message_delta":
		// A tool block left open gets its arguments before the answer
		// ends.
		ev.ToolCalls = append(ev.ToolCalls, s.args.StopAll()...)
		if sr := data.Get("delta.stop_reason").String(); sr != "" {
			ev.FinishReason = stopReason(sr)
			s.stop = true
		}
		if u := data.Get("usage"); u.IsObject() {
			got := usage(u)
			if !u.Get("input_tokens").Exists() {
				got.InputTokens, got.CachedInputTokens, got.CacheWriteTokens = s.input.InputTokens, s.input.CachedInputTokens, s.input.CacheWriteTokens
			}
			ev.Usage = &got
		}
	case "message_stop":
		// message_stop ends the answer as the body's end does: it is
		// complete only when a message_delta gave its stop_reason. One
		// without was cut upstream (and its only usage is message_start's
		// placeholder), so it must not pass for an answer that ended
		// (OpenAI clients would read finish_reason stop).
		if !s.stop {
			s.err = &provider.Error{Kind: provider.KindUnavailable, Status: 200, Message: "stream ended at message_stop before a stop_reason", Err: provider.ErrStreamTruncated}
			return llm.Event{}, s.err
		}
		ev.Done = true
		s.err = io.EOF
	case "error":
		s.err = s.c.classify(0, nil, []byte(f.Data))
		return llm.Event{}, s.err
	}
	// ping and unknown events carry only Raw.
	return ev, nil
}

// end decides what the end of the body means: a complete answer when a
// stop_reason was seen, a truncation otherwise.
func (s *stream) end(err error) (llm.Event, error) {
	s.err = provider.StreamEnd{
		Origin:    "anthropic",
		TooLarge:  "stream event too large",
		Truncated: "stream ended before message_stop",
	}.Err(err, s.stop)
	if s.err == io.EOF {
		return llm.Event{Done: true}, nil
	}
	return llm.Event{}, s.err
}

// Buffered reports whether the next whole frame is already in memory.
func (s *stream) Buffered() bool { return s.r.FrameBuffered() }

var _ llm.Buffering = (*stream)(nil)
