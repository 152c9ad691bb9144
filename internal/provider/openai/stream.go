package openai

import (
	"io"
	"strings"
	"sync"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/sse"
)

// stream decodes a Chat Completions SSE body into canonical events, one per
// frame.
type stream struct {
	c      *Client
	body   io.ReadCloser
	r      *sse.Reader
	err    error // sticky: io.EOF after the end, or the failure
	start  bool  // the first chunk was seen
	finish bool  // a finish_reason was seen

	passthrough bool // see SetPassthrough

	closeOnce sync.Once
}

func newStream(c *Client, body io.ReadCloser) *stream {
	return &stream{c: c, body: body, r: sse.NewReader(body)}
}

// Dialect reports llm.DialectOpenAI.
func (s *stream) Dialect() llm.Dialect { return llm.DialectOpenAI }

// Close releases the upstream connection. Safe to call more than once.
func (s *stream) Close() error {
	s.closeOnce.Do(func() {
		// Drain a little so a finished connection can be reused.
		_, _ = io.CopyN(io.Discard, s.body, 4<<10)
		_ = s.body.Close()
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
	if f.Data == "[DONE]" {
		ev.Done = true
		s.err = io.EOF
		return ev, nil
	}
	if !wellFormed(f.Data) {
		s.err = &provider.Error{Kind: provider.KindUnavailable, Status: 200, Message: "malformed stream chunk"}
		return llm.Event{}, s.err
	}
	if s.passthrough && s.start && plainDelta(f.Data) {
		// The client gets Raw verbatim: only the text is needed, for the
		// output estimate of a stream that ends without usage.
		ev.Text = gjson.Get(f.Data, "choices.0.delta.content").String()
		return ev, nil
	}
	// One pass over the chunk's top-level keys, then over the first choice:
	// this runs for every streamed token.
	var id, model, choices, usage gjson.Result
	failed := false
	gjson.Parse(f.Data).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "error":
			failed = true
			return false
		case "id":
			id = v
		case "model":
			model = v
		case "choices":
			choices = v
		case "usage":
			usage = v
		}
		return true
	})
	if failed {
		s.err = s.c.classify(0, nil, []byte(f.Data))
		return llm.Event{}, s.err
	}
	if !s.start {
		s.start = true
		ev.Start = true
		ev.ID = id.String()
		ev.Model = model.String()
	}
	var delta, finish gjson.Result
	if choices.IsArray() {
		choices.ForEach(func(_, c gjson.Result) bool {
			c.ForEach(func(k, v gjson.Result) bool {
				switch k.Str {
				case "delta":
					delta = v
				case "finish_reason":
					finish = v
				}
				return true
			})
			return false // only the first choice is mapped
		})
	}
	var toolCalls gjson.Result
	delta.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "content":
			ev.Text = v.String()
		case "tool_calls":
			toolCalls = v
		}
		return true
	})
	for _, tc := range toolCalls.Array() {
		ev.ToolCalls = append(ev.ToolCalls, llm.ToolCallDelta{
			Index:     int(tc.Get("index").Int()),
			ID:        tc.Get("id").String(),
			Name:      tc.Get("function.name").String(),
			Arguments: tc.Get("function.arguments").String(),
		})
	}
	if fr := finish.String(); fr != "" {
		ev.FinishReason = finishReason(fr)
		s.finish = true
	}
	if usage.IsObject() {
		ev.Usage = &llm.Usage{InputTokens: int(usage.Get("prompt_tokens").Int()), OutputTokens: int(usage.Get("completion_tokens").Int())}
	}
	return ev, nil
}

// end decides what the end of the body means: a complete answer when a
// finish_reason was seen (some servers omit [DONE]), a truncation otherwise.
func (s *stream) end(err error) (llm.Event, error) {
	s.err = provider.StreamEnd{
		Origin:    "openai",
		TooLarge:  "stream frame too large",
		Truncated: "stream ended before [DONE]",
	}.Err(err, s.finish)
	if s.err == io.EOF {
		return llm.Event{Done: true}, nil
	}
	return llm.Event{}, s.err
}

// SetPassthrough lets Next skip decoding what a verbatim relay does not
// need (see llm.Passthrough).
func (s *stream) SetPassthrough() { s.passthrough = true }

var _ llm.Passthrough = (*stream)(nil)

// plainDelta reports whether a chunk is an ordinary content delta: it has a
// finish_reason of null (every choice chunk has the key; an error frame has
// none), no usage and no tool calls. Anything else, or anything unsure, is
// decoded in full. Keys cannot hide in string values: quotes there are
// escaped.
func plainDelta(data string) bool {
	return isNull(data, `"finish_reason"`, false) && isNull(data, `"usage"`, true) &&
		!strings.Contains(data, `"tool_calls"`)
}

// isNull reports whether key's first occurrence in data has the value null,
// or, when absentOK, whether key does not occur.
func isNull(data, key string, absentOK bool) bool {
	i := strings.Index(data, key)
	if i < 0 {
		return absentOK
	}
	rest := strings.TrimLeft(data[i+len(key):], " \t\r\n")
	if !strings.HasPrefix(rest, ":") {
		return false
	}
	rest = strings.TrimLeft(rest[1:], " \t\r\n")
	return strings.HasPrefix(rest, "null")
}

// Buffered reports whether the next whole frame is already in memory.
func (s *stream) Buffered() bool { return s.r.FrameBuffered() }

var _ llm.Buffering = (*stream)(nil)

// wellFormed is a cheap structural check of a chunk: one JSON object,
// whole. A chunk cut short (the malformation seen in practice: a proxy or
// provider dropping the rest of a frame) fails it.
func wellFormed(data string) bool {
	data = strings.TrimSpace(data)
	return len(data) >= 2 && data[0] == '{' && data[len(data)-1] == '}' && gjson.Parse(data).IsObject()
}
