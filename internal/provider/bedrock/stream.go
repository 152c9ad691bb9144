package bedrock

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// Frame layout of application/vnd.amazon.eventstream: a prelude (total
// length, headers length, both uint32) with its CRC, the headers, the
// payload and the message CRC.
const (
	preludeLen = 12 // the prelude and its CRC
	minFrame   = preludeLen + 4
	// maxFrame caps a frame: AWS sends at most 16 MiB of payload and
	// 128 KiB of headers in one.
	maxFrame = 16<<20 + 128<<10 + minFrame
)

// stream decodes a ConverseStream body (AWS event stream frames) into
// canonical events, one per frame. Each frame is read whole before it is
// decoded, so that a cut connection (a truncation) is told apart from a
// frame the decoder rejects (a malformed stream).
type stream struct {
	c    *Client
	id   string // the request id, the answer's id
	body io.ReadCloser
	r    *bufio.Reader
	dec  *eventstream.Decoder
	err  error // sticky: io.EOF after the end, or the failure

	frame   []byte // the frame being decoded; reused
	payload []byte // the decoder's payload buffer; reused

	tools map[int]int // content block index → ordinal among toolUse blocks
	// args ends a toolUse block that got no input text with "{}" (at its
	// contentBlockStop, or messageStop for one left open).
	args provider.ToolArgs
	// thinking maps a content block index to its ordinal among reasoning
	// blocks; a reasoning block has no contentBlockStart, so it is
	// numbered when its index is first seen.
	thinking map[int]int
	stop     bool // messageStop was seen

	closeOnce sync.Once
}

// newStream decodes body, the ConverseStream answer of c whose request id
// is id.
func newStream(c *Client, body io.ReadCloser, id string) *stream {
	return &stream{
		c: c, id: id, body: body, r: bufio.NewReaderSize(body, 16<<10), dec: eventstream.NewDecoder(),
		tools: map[int]int{}, thinking: map[int]int{},
	}
}

// Dialect reports llm.DialectBedrock.
func (s *stream) Dialect() llm.Dialect { return llm.DialectBedrock }

// Close releases the upstream connection. Safe to call more than once.
func (s *stream) Close() error {
	s.closeOnce.Do(func() {
		provider.CloseBody(s.body)
	})
	return nil
}

// Next returns the next event; see llm.Stream for the end rules. The
// metadata event (usage) is the last: it comes with Done. Events carry no
// Raw: no client speaks Bedrock's dialect.
func (s *stream) Next() (llm.Event, error) {
	if s.err != nil {
		return llm.Event{}, s.err
	}
	msg, err := s.read()
	if err != nil {
		if pe, ok := err.(*provider.Error); ok {
			s.err = pe
			return llm.Event{}, s.err
		}
		return s.end(err)
	}
	switch headerString(msg.Headers, ":message-type") {
	case "event":
		return s.event(headerString(msg.Headers, ":event-type"), msg.Payload)
	case "exception":
		s.err = s.c.classifyException(headerString(msg.Headers, ":exception-type"), msg.Payload)
		return llm.Event{}, s.err
	case "error":
		// The event stream protocol's own errors carry code and message
		// in headers.
		s.err = s.c.classifyType(0, nil, headerString(msg.Headers, ":error-code"), headerString(msg.Headers, ":error-message"))
		return llm.Event{}, s.err
	}
	return llm.Event{}, nil // a message type this adapter does not know
}

// event decodes one event's JSON payload.
func (s *stream) event(typ string, payload []byte) (llm.Event, error) {
	raw := "{}"
	if len(payload) > 0 {
		raw = string(payload) // a copy: the buffer is reused
	}
	if !provider.JSONObject(raw) {
		s.err = malformed(nil)
		return llm.Event{}, s.err
	}
	data := gjson.Parse(raw)
	var ev llm.Event
	switch typ {
	case "messageStart":
		ev.Start, ev.ID, ev.Model = true, s.id, s.c.cfg.Model
	case "contentBlockStart":
		if tu := data.Get("start.toolUse"); tu.IsObject() {
			n, idx := len(s.tools), int(data.Get("contentBlockIndex").Int())
			s.tools[idx] = n
			s.args.Start(idx, n, "")
			ev.ToolCalls = []llm.ToolCallDelta{{Index: n, ID: tu.Get("toolUseId").String(), Name: tu.Get("name").String()}}
		}
	case "contentBlockDelta":
		idx := int(data.Get("contentBlockIndex").Int())
		d := data.Get("delta")
		switch {
		case d.Get("text").Exists():
			ev.Text = d.Get("text").String()
		case d.Get("toolUse").IsObject():
			n, ok := s.tools[idx]
			if !ok {
				s.err = &provider.Error{Kind: provider.KindUnavailable, Status: 200, Message: "toolUse delta for a block that is not a tool call"}
				return llm.Event{}, s.err
			}
			args := d.Get("toolUse.input").String()
			s.args.Saw(idx, args)
			ev.ToolCalls = []llm.ToolCallDelta{{Index: n, Arguments: args}}
		case d.Get("reasoningContent").IsObject():
			n, ok := s.thinking[idx]
			if !ok {
				n = len(s.thinking)
				s.thinking[idx] = n
			}
			rc := d.Get("reasoningContent")
			ev.Thinking = &llm.ThinkingDelta{Index: n, Text: rc.Get("text").String(), Signature: rc.Get("signature").String(), Redacted: rc.Get("redactedContent").String()}
		}
	case "contentBlockStop":
		if d, ok := s.args.Stop(int(data.Get("contentBlockIndex").Int())); ok {
			ev.ToolCalls = []llm.ToolCallDelta{d}
		}
	case "messageStop":
		if err := malformedStop(data.Get("stopReason").String()); err != nil {
			s.err = err
			return llm.Event{}, err
		}
		if data.Get("stopReason").String() == "" {
			// No stop reason: the answer was cut upstream, not
			// finished (a client would read finish_reason stop).
			s.err = &provider.Error{Kind: provider.KindUnavailable, Status: 200, Message: "stream messageStop without a stopReason", Err: provider.ErrStreamTruncated}
			return llm.Event{}, s.err
		}
		ev.ToolCalls = append(ev.ToolCalls, s.args.StopAll()...)
		ev.FinishReason = stopReason(data.Get("stopReason").String())
		ev.StopSequence = stopSequence(data)
		s.stop = true
	case "metadata":
		// metadata ends the stream after messageStop; before it, the
		// answer never finished, and must not pass for one that did.
		if !s.stop {
			s.err = &provider.Error{Kind: provider.KindUnavailable, Status: 200, Message: "stream ended at metadata before messageStop", Err: provider.ErrStreamTruncated}
			return llm.Event{}, s.err
		}
		if u := data.Get("usage"); u.IsObject() {
			got := usage(u)
			ev.Usage = &got
		}
		ev.Done = true
		s.err = io.EOF
	}
	// Unknown events carry nothing.
	return ev, nil
}

// read reads and decodes the next whole frame. A failure to read it is
// returned as is, for end to judge; a frame that cannot be decoded is a
// *provider.Error.
func (s *stream) read() (eventstream.Message, error) {
	if cap(s.frame) < preludeLen {
		s.frame = make([]byte, preludeLen, 1<<10)
	}
	head := s.frame[:preludeLen]
	if _, err := io.ReadFull(s.r, head); err != nil {
		return eventstream.Message{}, err
	}
	total, headers := binary.BigEndian.Uint32(head[0:4]), binary.BigEndian.Uint32(head[4:8])
	if crc32.ChecksumIEEE(head[:8]) != binary.BigEndian.Uint32(head[8:12]) || total < minFrame || headers > total-minFrame {
		return eventstream.Message{}, malformed(nil)
	}
	if total > maxFrame {
		return eventstream.Message{}, &provider.Error{Kind: provider.KindUnavailable, Status: 200, Message: "stream event too large"}
	}
	if cap(s.frame) < int(total) {
		f := make([]byte, total)
		copy(f, head)
		s.frame = f
	}
	s.frame = s.frame[:total]
	if _, err := io.ReadFull(s.r, s.frame[preludeLen:]); err != nil {
		if err == io.EOF { // the frame began: its end is missing
			err = io.ErrUnexpectedEOF
		}
		return eventstream.Message{}, err
	}
	msg, err := s.dec.Decode(bytes.NewReader(s.frame), s.payload[:0])
	if err != nil {
		return eventstream.Message{}, malformed(err)
	}
	s.payload = msg.Payload
	return msg, nil
}

// malformed is the error of a frame the event stream decoder rejects.
func malformed(err error) *provider.Error {
	return &provider.Error{Kind: provider.KindUnavailable, Status: 200, Message: "malformed stream event", Err: err}
}

// headerString is the string value of the frame header name, "" when it
// is missing or not a string.
func headerString(hs eventstream.Headers, name string) string {
	if v, ok := hs.Get(name).(eventstream.StringValue); ok {
		return string(v)
	}
	return ""
}

// end decides what the end of the body means: a complete answer when
// messageStop was seen (the metadata event with the usage is then
// missing, like a stream without its [DONE]), a truncation otherwise.
func (s *stream) end(err error) (llm.Event, error) {
	s.err = provider.StreamEnd{
		Origin:    "bedrock",
		TooLarge:  "stream event too large",
		Truncated: "stream ended before messageStop",
	}.Err(err, s.stop)
	if s.err == io.EOF {
		return llm.Event{Done: true}, nil
	}
	return llm.Event{}, s.err
}

// Buffered reports whether the next whole frame is already in memory.
func (s *stream) Buffered() bool {
	n := s.r.Buffered()
	if n < preludeLen {
		return false
	}
	b, err := s.r.Peek(4)
	return err == nil && uint64(n) >= uint64(binary.BigEndian.Uint32(b))
}

var _ llm.Buffering = (*stream)(nil)
