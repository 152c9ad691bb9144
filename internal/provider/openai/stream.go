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
	upstreamSSE
	c       *Client
	err     error // sticky: io.EOF after the end, or the failure
	start   bool  // the first chunk was seen
	refused bool  // a refusal delta was seen: a "stop" is a refusal

	// want is how many choices the request asked for (n), at least 1.
	want int
	// first and more record each choice index seen in a decoded chunk and
	// whether its finish_reason came: the first index seen in first (a
	// stream of one choice, the usual one, needs no map), any other in
	// more. A body that ends without [DONE] is a complete answer only
	// when every choice finished (see end).
	first struct {
		index      int
		seen, done bool
	}
	more map[int]bool

	passthrough bool // see SetPassthrough
	completions bool // legacy Completions chunks: choices[0].text

	// The tool calls seen so far, to number those sent without an index
	// (see toolIndex): each call's id, the next index free, and the
	// index of the call the last delta was part of (-1 before any).
	toolIDs  map[string]int
	nextTool int
	lastTool int
}

// newStream decodes body, an answer with choices choices (the request's n;
// 0 is one).
func newStream(c *Client, body io.ReadCloser, choices int) *stream {
	return &stream{c: c, upstreamSSE: newUpstreamSSE(body), want: max(choices, 1), lastTool: -1}
}

// upstreamSSE is the SSE body of an upstream response being read, as every
// stream of this adapter holds it.
type upstreamSSE struct {
	body      io.ReadCloser
	r         *sse.Reader
	closeOnce sync.Once
	// scan checks each chunk, mostly against the one before (see
	// provider.ChunkScanner).
	scan provider.ChunkScanner
}

func newUpstreamSSE(body io.ReadCloser) upstreamSSE {
	return upstreamSSE{body: body, r: sse.NewReader(body)}
}

// Close releases the upstream connection. Safe to call more than once.
func (u *upstreamSSE) Close() error {
	u.closeOnce.Do(func() {
		provider.CloseBody(u.body)
	})
	return nil
}

// Buffered reports whether the next whole frame is already in memory.
func (u *upstreamSSE) Buffered() bool { return u.r.FrameBuffered() }

// nextFrame reads the next frame of a stream of typed events whose answer
// ends with the event terminal, before which the body must not end. It
// returns the frame, its event with Raw set, and whether the frame holds
// data to decode (false for a comment or keep-alive). err ends the stream:
// a truncation, an oversized frame or data that is not a JSON object.
func (u *upstreamSSE) nextFrame(terminal string) (sse.Frame, llm.Event, bool, error) {
	f, err := u.r.Next()
	if err != nil {
		return f, llm.Event{}, false, provider.StreamEnd{
			Origin:    "openai",
			TooLarge:  "stream frame too large",
			Truncated: "stream ended before " + terminal,
		}.Err(err, false)
	}
	if !f.HasData {
		return f, llm.Event{Raw: f.Raw}, false, nil
	}
	if !u.scan.Scan(f.Data, nil, nil) {
		return f, llm.Event{}, false, &provider.Error{Kind: provider.KindUnavailable, Status: 200, Message: "malformed stream event"}
	}
	return f, llm.Event{Raw: f.Raw}, true, nil
}

// Dialect reports llm.DialectOpenAI, or llm.DialectOpenAICompletions for
// a legacy Completions stream.
func (s *stream) Dialect() llm.Dialect {
	if s.completions {
		return llm.DialectOpenAICompletions
	}
	return llm.DialectOpenAI
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
		// [DONE] ends the answer: it is complete only when every choice
		// the upstream sent finished. A choice without its finish_reason
		// was cut upstream, and must not pass for an answer that ended
		// (Anthropic clients would read end_turn). A choice asked for but
		// never sent is not one cut: many OpenAI-compatible servers
		// ignore n and stream one choice.
		if !s.sentFinished() {
			s.err = &provider.Error{Kind: provider.KindUnavailable, Status: 200, Message: "stream ended at [DONE] before every choice's finish_reason", Err: provider.ErrStreamTruncated}
			return llm.Event{}, s.err
		}
		ev.Done = true
		s.err = io.EOF
		return ev, nil
	}
	// One pass checks the chunk and notes where the keys plainDelta and
	// deltaContent look for first occur.
	var at keyMarks
	if !s.scan.Scan(f.Data, chunkMarks, at[:]) {
		s.err = &provider.Error{Kind: provider.KindUnavailable, Status: 200, Message: "malformed stream chunk"}
		return llm.Event{}, s.err
	}
	// plainDelta looks at the first choice only: with several choices a
	// chunk is decoded in full, so that no choice's finish is missed.
	if s.passthrough && s.start && !s.completions && s.want == 1 && at.plainDelta(f.Data) {
		// The client gets Raw verbatim: only the text is needed, for the
		// output estimate of a stream that ends without usage.
		ev.Text = at.deltaContent(f.Data)
		if ev.Text != "" || at[markReasoning] < 0 {
			return ev, nil
		}
		// A reasoning delta (no content yet) is decoded in full: thinking
		// commits the stream.
		ev.Text = ""
	}
	// One pass over the chunk's top-level keys, then over the choices (one
	// per chunk in practice): this runs for every streamed token.
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
	var delta, finish, text gjson.Result
	if choices.IsArray() {
		first := true
		choices.ForEach(func(_, c gjson.Result) bool {
			var index, fr gjson.Result
			c.ForEach(func(k, v gjson.Result) bool {
				switch k.Str {
				case "index":
					index = v
				case "finish_reason":
					fr = v
				case "delta":
					if first {
						delta = v
					}
				case "text":
					if first {
						text = v
					}
				}
				return true
			})
			if first { // only the first choice is mapped to the event
				finish, first = fr, false
			}
			s.sawChoice(int(index.Int()), fr.String() != "")
			return true
		})
	}
	var toolCalls gjson.Result
	delta.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "content":
			if v.Type == gjson.String {
				ev.Text = v.Str
			}
		case "refusal":
			// The refusal is the answer's text (see parseResponse).
			if v.Type == gjson.String && v.Str != "" {
				ev.Text += v.Str
				s.refused = true
			}
		case "tool_calls":
			toolCalls = v
		case "reasoning_content", "reasoning":
			if v.Type == gjson.String && v.Str != "" && ev.Thinking == nil {
				ev.Thinking = &llm.ThinkingDelta{Text: v.Str}
			}
		}
		return true
	})
	if s.completions {
		ev.Text = text.String()
	}
	for _, tc := range toolCalls.Array() {
		id := tc.Get("id").String()
		ev.ToolCalls = append(ev.ToolCalls, llm.ToolCallDelta{
			Index:     s.toolIndex(tc.Get("index"), id),
			ID:        id,
			Name:      tc.Get("function.name").String(),
			Arguments: tc.Get("function.arguments").String(),
		})
	}
	if fr := finish.String(); fr != "" {
		ev.FinishReason = finishReason(fr)
		if s.refused && ev.FinishReason == llm.FinishStop {
			ev.FinishReason = llm.FinishContentFilter
		}
	}
	if usage.IsObject() {
		u := chatUsage(usage)
		ev.Usage = &u
	}
	return ev, nil
}

// toolIndex is the index of the tool call a delta with index and id
// belongs to. OpenAI numbers a stream's calls with index and sends a
// call's id only in its first delta. Some OpenAI-compatible servers
// (Gemini's) leave index out and send each call whole, with its own id;
// a delta without index is then part of the call of its id, or a new one
// when the id is new, or, without an id, of the call before it.
func (s *stream) toolIndex(index gjson.Result, id string) int {
	i, known := s.toolIDs[id]
	switch {
	case index.Exists():
		i = int(index.Int())
	case id != "" && !known, id == "" && s.lastTool < 0:
		i = s.nextTool
	case id == "":
		i = s.lastTool
	}
	if id != "" && !known {
		if s.toolIDs == nil {
			s.toolIDs = make(map[string]int)
		}
		s.toolIDs[id] = i
	}
	s.lastTool, s.nextTool = i, max(s.nextTool, i+1)
	return i
}

// sawChoice records a choice of a decoded chunk, and whether the chunk
// holds its finish_reason. A finish is kept: a later chunk of the same
// choice without one does not reopen it.
func (s *stream) sawChoice(index int, finished bool) {
	switch {
	case !s.first.seen:
		s.first.index, s.first.seen, s.first.done = index, true, finished
	case s.first.index == index:
		s.first.done = s.first.done || finished
	default:
		if s.more == nil {
			s.more = make(map[int]bool, s.want)
		}
		s.more[index] = s.more[index] || finished
	}
}

// choices calls f with each choice seen and whether it finished, until f
// returns false.
func (s *stream) choices(f func(index int, done bool) bool) {
	if !s.first.seen || !f(s.first.index, s.first.done) {
		return
	}
	for i, done := range s.more {
		if !f(i, done) {
			return
		}
	}
}

// complete reports whether every choice finished: each choice asked for
// (0 to want-1) and any other index the upstream sent. With n > 1 one
// choice may finish while another is still streaming; a cut then must not
// pass for a complete answer.
func (s *stream) complete() bool {
	asked, all := 0, true
	s.choices(func(i int, done bool) bool {
		if i >= 0 && i < s.want {
			asked++
		}
		all = done
		return done
	})
	return all && asked == s.want
}

// sentFinished reports whether the upstream sent a choice and every
// choice it sent finished.
func (s *stream) sentFinished() bool {
	seen, all := false, true
	s.choices(func(_ int, done bool) bool {
		seen, all = true, done
		return done
	})
	return seen && all
}

// end decides what the end of the body means: a complete answer when every
// choice's finish_reason was seen (some servers omit [DONE]), a truncation
// otherwise.
func (s *stream) end(err error) (llm.Event, error) {
	s.err = provider.StreamEnd{
		Origin:    "openai",
		TooLarge:  "stream frame too large",
		Truncated: "stream ended before [DONE]",
	}.Err(err, s.complete())
	if s.err == io.EOF {
		return llm.Event{Done: true}, nil
	}
	return llm.Event{}, s.err
}

// SetPassthrough lets Next skip decoding what a verbatim relay does not
// need (see llm.Passthrough).
func (s *stream) SetPassthrough() { s.passthrough = true }

var _ llm.Passthrough = (*stream)(nil)

// keyMarks is where in a chunk the texts of chunkMarks first occur (see
// provider.Marks): each of finish_reason", usage", content" and reasoning
// right after a quote (as a search for the key's opening quote and name
// would find them), and tool_calls right before
// a closing quote (where strings.Contains finds tool_calls" in valid JSON).
// provider.ScanObject notes them as it checks the chunk, so that
// plainDelta and deltaContent cost no scan of their own. The second five
// are where each text last occurs (see provider.ScanObject), so that
// plainDelta knows a key that occurs once.
type keyMarks [2 * nMarks]int

const (
	markFinish = iota
	markUsage
	markContent
	markReasoning
	markToolCalls
	nMarks
)

var chunkMarks = provider.NewMarks(
	[]string{markFinish: `finish_reason"`, markUsage: `usage"`, markContent: `content"`, markReasoning: `reasoning`},
	[]string{`tool_calls`}, // markToolCalls
)

// marksOf scans data, a JSON object, for its marks.
func marksOf(data string) (at keyMarks) {
	if !provider.ScanObject(data, chunkMarks, at[:]) {
		panic("openai: marksOf: not a JSON object")
	}
	return at
}

// plainDelta reports whether a chunk is an ordinary content delta: it has a
// finish_reason of null (every choice chunk has the key; an error frame has
// none), no usage and no tool calls. Anything else, or anything unsure, is
// decoded in full. Keys cannot hide in string values: quotes there are
// escaped.
func (at *keyMarks) plainDelta(data string) bool {
	return at.isNull(data, markFinish, `finish_reason"`, false) && at.isNull(data, markUsage, `usage"`, true) &&
		at[markToolCalls] < 0
}

// isNull reports whether key (mark k, given without its opening quote)
// occurs once in data as a quoted key with the value null, or, when
// absentOK, whether it does not occur.
func (at *keyMarks) isNull(data string, k int, key string, absentOK bool) bool {
	i := at[k]
	v, found := valueAt(data, i, key)
	if !found {
		return absentOK
	}
	// The first such key may not be the choice's own (a nested object's,
	// or the first of two): a chunk with another after it is decoded in
	// full, which reads the choice's (found by audit T: a nested
	// "finish_reason":null before the real "stop" ended the stream as
	// cut). In valid JSON every "key" (quoted) after the first is a later
	// mark of the text: at[nMarks+k], its last, is then not i.
	return strings.HasPrefix(v, "null") && at[nMarks+k] == i
}

// valueAt returns what follows the colon of key, first found at i in data
// as a quoted key (key is given without its opening quote), from the value
// on. found is false when the key does not occur (i < 0); a key without a
// colon gives "" (a value nothing matches).
func valueAt(data string, i int, key string) (rest string, found bool) {
	if i < 0 {
		return "", false
	}
	rest = skipSpace(data[i+len(key):])
	if !strings.HasPrefix(rest, ":") {
		return "", true
	}
	return skipSpace(rest[1:]), true
}

// skipSpace drops leading JSON white space.
func skipSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t' || s[0] == '\r' || s[0] == '\n') {
		s = s[1:]
	}
	return s
}

// deltaContent is choices.0.delta.content of a plain delta chunk. The
// common case, an unescaped string after the first "content" key, is a
// view of data found by a scan; anything else is left to gjson. (In a plain
// delta the first choice's delta holds the first "content" key, unless a
// logprobs object comes first: its "content" is an array, which goes to
// gjson.)
func (at *keyMarks) deltaContent(data string) string {
	if v, _ := valueAt(data, at[markContent], `content"`); strings.HasPrefix(v, `"`) {
		v = v[1:]
		if j := strings.IndexAny(v, `"\`); j >= 0 && v[j] == '"' {
			return v[:j]
		}
	}
	return gjson.Get(data, "choices.0.delta.content").String()
}

var _ llm.Buffering = (*stream)(nil)
