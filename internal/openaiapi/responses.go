package openaiapi

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/sse"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// ParseResponses reads the routing features of an OpenAI Responses API
// request (POST /v1/responses) without decoding it into structs, and checks
// the shape the gateway depends on; anything else (tools of every kind,
// reasoning, previous_response_id, include, store) passes through
// untouched to an OpenAI deployment. It marks what no translation carries
// in Request.RelayOnly. It returns a *BadRequestError when the body is not
// acceptable.
func ParseResponses(body []byte) (*llm.Request, error) {
	root, err := parseObject(body)
	if err != nil {
		return nil, err
	}
	req := &llm.Request{Raw: body, Dialect: llm.DialectOpenAIResponses}
	req.SetDecoder(decodeResponses)
	relayOnly := func(param, why string) { markRelayOnly(req, param, why) }
	seenModel := false
	root.ForEach(func(key, v gjson.Result) bool {
		switch key.Str {
		case "reasoning":
			req.Effort = v.Get("effort").Str // checked when decoded for a translation
		case "model":
			seenModel = true
			req.Model, err = modelValue(v)
		case "input":
			err = parseInput(v, req)
		case "instructions":
			switch v.Type {
			case gjson.Null:
			case gjson.String:
				req.SystemText = v.Str
				req.TextBytes += len(v.Str)
			default:
				err = badRequest("instructions", "instructions must be a string")
			}
		case "stream":
			req.Stream, err = optionalBool("stream", v)
		case "max_output_tokens":
			req.MaxTokens, err = positiveInt("max_output_tokens", v)
		case "tools":
			if v.Type == gjson.Null {
				break
			}
			if !v.IsArray() {
				err = badRequest("tools", "tools must be an array")
				break
			}
			v.ForEach(func(_, t gjson.Result) bool {
				req.HasTools = true
				if typ := t.Get("type").Str; typ != "function" {
					relayOnly("tools", "tools of type "+strconv.Quote(typ))
				}
				return true
			})
		case "tool_choice":
			if v.IsObject() && v.Get("type").Str != "function" {
				relayOnly("tool_choice", "tool_choice of type "+strconv.Quote(v.Get("type").Str))
			}
		case "conversation":
			switch {
			case v.Type == gjson.Null:
			case v.Type == gjson.String && v.Str != "":
				req.Conversation = v.Str
			case v.IsObject() && v.Get("id").Type == gjson.String && v.Get("id").Str != "":
				req.Conversation = v.Get("id").Str
			default:
				err = badRequest("conversation", "conversation must be a conversation id or an object with its id")
			}
			if req.Conversation != "" {
				relayOnly("conversation", "conversation")
			}
		case "background", "prompt":
			if v.Type != gjson.Null && v.Type != gjson.False {
				relayOnly(key.Str, key.Str)
			}
		case "text":
			switch v.Get("format.type").Str {
			case "json_schema", "json_object":
				req.JSONMode = true
			}
		case "metadata":
			err = parseMetadata(v, req)
		case "previous_response_id":
			switch v.Type {
			case gjson.Null:
			case gjson.String:
				req.Continues = v.Str
				relayOnly("previous_response_id", "previous_response_id")
			default:
				err = badRequest("previous_response_id", "previous_response_id must be a string")
			}
		default:
			err = caseVariant(key.Str, responsesFields)
		}
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	if !seenModel {
		return nil, badRequest("model", "missing required parameter: 'model'")
	}
	return req, nil
}

// markRelayOnly records the first reason req can only be relayed.
func markRelayOnly(req *llm.Request, param, why string) {
	if req.RelayOnly == "" {
		req.RelayOnly, req.RelayOnlyParam = why, param
	}
}

// parseInput reads input: a string (one user message) or an array of items
// (messages with string or part-list content, function calls and their
// outputs, and item kinds the gateway passes through unread).
func parseInput(v gjson.Result, req *llm.Request) error {
	switch {
	case v.Type == gjson.Null:
		return nil
	case v.Type == gjson.String:
		req.NumMessages = 1
		req.LastUserText = v.Str
		req.TextBytes += len(v.Str)
		return nil
	case !v.IsArray():
		return badRequest("input", "input must be a string or an array of input items")
	}
	var err error
	i := 0
	v.ForEach(func(_, item gjson.Result) bool {
		if !item.IsObject() {
			err = badRequest("input["+strconv.Itoa(i)+"]", "each input item must be an object")
			return false
		}
		var role, typ string
		var content, output gjson.Result
		item.ForEach(func(k, f gjson.Result) bool {
			switch k.Str {
			case "role":
				role = f.Str
			case "type":
				typ = f.Str
			case "content":
				content = f
			case "output":
				output = f
				req.TextBytes += len(f.Raw)
			case "arguments":
				req.TextBytes += len(f.Raw)
			}
			return true
		})
		if output.IsArray() {
			// A function_call_output given as content parts: its images
			// need vision as a message's do, and files or images by id
			// can only be relayed.
			output.ForEach(func(_, part gjson.Result) bool {
				switch part.Get("type").Str {
				case "input_image":
					req.HasImages = true
					if !part.Get("image_url").Exists() {
						markRelayOnly(req, "input", "files and images by file_id")
					}
				case "input_file":
					markRelayOnly(req, "input", "files and images by file_id")
				}
				return true
			})
		}
		if !translatableItems[typ] {
			markRelayOnly(req, "input", "input items of type "+strconv.Quote(typ))
		}
		if typ == "" || typ == "message" {
			req.NumMessages++
			var text strings.Builder
			switch {
			case content.Type == gjson.String:
				text.WriteString(content.Str)
			case content.IsArray():
				content.ForEach(func(_, part gjson.Result) bool {
					switch part.Get("type").Str {
					case "input_image", "input_file":
						req.HasImages = req.HasImages || part.Get("type").Str == "input_image"
						if part.Get("type").Str == "input_file" || !part.Get("image_url").Exists() {
							markRelayOnly(req, "input", "files and images by file_id")
						}
					default:
						text.WriteString(part.Get("text").Str)
					}
					return true
				})
			case content.Exists() && content.Type != gjson.Null:
				err = badRequest("input["+strconv.Itoa(i)+"].content", "content must be a string or an array of content parts")
				return false
			}
			req.TextBytes += text.Len()
			switch role {
			case "user":
				req.LastUserText = text.String()
			case "system", "developer":
				if req.SystemText == "" {
					req.SystemText = text.String()
				}
			}
		}
		i++
		return true
	})
	return err
}

// WriteResponsesResponse writes a Responses API answer: the provider's
// response object verbatim, or a translated answer encoded as one.
func WriteResponsesResponse(w http.ResponseWriter, resp *llm.Response) error {
	return defaultSource().writeResponsesResponse(w, resp)
}

func (s source) writeResponsesResponse(w http.ResponseWriter, resp *llm.Response) error {
	body := resp.Raw
	if resp.Dialect != llm.DialectOpenAIResponses || body == nil {
		var err error
		if body, err = s.encodeResponsesObject(resp); err != nil {
			WriteError(w, http.StatusInternalServerError, CodeInternal, "internal error")
			return err
		}
	}
	if err := wirejson.Write(w, http.StatusOK, body); err != nil {
		return fmt.Errorf("openaiapi: write response: %w", err)
	}
	return nil
}

// NamePreviousResponse is a relayed response object, or an event carrying
// one, naming prev in previous_response_id where it names none. A request
// continuing a response the gateway translated reaches an OpenAI
// deployment as a self-contained request (Request.PreviousResponseID), so
// its answer names no previous response; the client's does, as OpenAI's
// would. With prev "" it is raw.
func NamePreviousResponse(raw []byte, prev string) []byte {
	if prev == "" {
		return raw
	}
	key := []byte(`"previous_response_id"`)
	i := bytes.Index(raw, key)
	if i < 0 {
		return raw
	}
	j := i + len(key)
	skip := func() {
		for j < len(raw) && (raw[j] == ' ' || raw[j] == '\t' || raw[j] == '\n' || raw[j] == '\r') {
			j++
		}
	}
	skip()
	if j >= len(raw) || raw[j] != ':' {
		return raw
	}
	j++
	skip()
	if !bytes.HasPrefix(raw[j:], []byte("null")) {
		return raw
	}
	id, err := wirejson.Marshal(prev)
	if err != nil {
		return raw
	}
	out := make([]byte, 0, len(raw)+len(id))
	out = append(out, raw[:j]...)
	out = append(out, id...)
	return append(out, raw[j+len("null"):]...)
}

// ResponsesStreamWriter writes a Responses API stream to the client. A
// Responses API provider's events are relayed verbatim, and its terminal
// event (response.completed, response.incomplete) ends the stream; any
// other provider's events are translated (see rsEncoder), and the end of
// its stream becomes the terminal event. A failure after the first byte is
// an in-band "error" event, so SDKs raise rather than return a truncated
// answer. Every write is flushed. Not safe for concurrent use.
type ResponsesStreamWriter struct {
	out      *sse.ResponseWriter
	relay    bool
	enc      rsEncoder
	frames   int // events written: the next sequence_number
	finished bool
	ended    bool // a translated stream got its terminal event
	buf      []byte
	keep     func(id string, object, history []byte) // see OnTranslated
	prev     string                                  // see NamePreviousResponse
}

// OnTranslated sets keep, which a translated stream calls with Translated's
// values once its terminal event is made and before it is written: what
// the gateway keeps of the response is there when the client, having read
// that event, names the response.
func (s *ResponsesStreamWriter) OnTranslated(keep func(id string, object, history []byte)) {
	s.keep = keep
}

func (s *ResponsesStreamWriter) beforeEnd() {
	if s.keep == nil {
		return
	}
	if id, object, history, ok := s.Translated(); ok {
		s.keep(id, object, history)
	}
}

// Translated is, for a translated stream that ended with its terminal
// event, the response's id, the response object that event carried, and
// its output as history items (see EncodeTranslatedResponse).
func (s *ResponsesStreamWriter) Translated() (id string, object, history []byte, ok bool) {
	if !s.ended || s.enc.final == nil {
		return "", nil, nil, false
	}
	history, err := historyItems(s.enc.output)
	return s.enc.id, s.enc.final, history, err == nil
}

// NewResponsesStreamWriter returns a writer for a Responses API client,
// fed with events of a provider speaking src.
func NewResponsesStreamWriter(w http.ResponseWriter, req *llm.Request, src llm.Dialect) *ResponsesStreamWriter {
	s := &ResponsesStreamWriter{out: sse.NewResponseWriter(w, "openaiapi"), relay: src == llm.DialectOpenAIResponses,
		enc: rsEncoder{gen: defaultSource(), model: req.Model, tool: -1}}
	if !s.relay {
		s.enc.echo = echoFor(req) // a relayed stream's objects are the provider's own
	} else {
		s.prev = req.PreviousResponseID
	}
	return s
}

// Started reports whether any byte has been written to the client.
func (s *ResponsesStreamWriter) Started() bool { return s.out.Started() }

// WriteEvent relays one provider event. Events after the terminal one are
// ignored; an event without a frame (none of this dialect) is dropped.
func (s *ResponsesStreamWriter) WriteEvent(ev llm.Event) error {
	if s.finished {
		return nil
	}
	if !s.relay {
		s.buf = s.enc.appendEvent(s.buf[:0], &s.frames, ev)
		if ev.Done {
			s.buf = s.enc.appendEnd(s.buf, &s.frames)
			s.finished, s.ended = true, true
			s.beforeEnd()
		}
		_, err := s.out.Write(s.buf)
		return err
	}
	if ev.Raw == nil {
		return nil
	}
	if ev.Done {
		s.finished = true
	}
	s.frames++
	_, err := s.out.Write(NamePreviousResponse(ev.Raw, s.prev))
	return err
}

// Finish ends the stream. After the terminal event it does nothing. A
// relayed stream that ended without one gets an in-band error instead,
// never a silent end; a translated one gets its terminal event.
func (s *ResponsesStreamWriter) Finish() error {
	if s.finished {
		return nil
	}
	s.finished = true
	if !s.relay {
		// A translated stream's provider ended it properly (the gateway
		// calls Finish only then): its end is the terminal event.
		s.ended = true
		s.buf = s.enc.appendEnd(s.buf[:0], &s.frames)
		s.beforeEnd()
		_, err := s.out.Write(s.buf)
		return err
	}
	_, _ = s.out.Write(s.errorEvent(CodeUpstreamUnavailable, "", "the upstream stream ended before its terminal event"))
	return errors.New("openaiapi: responses stream ended without a terminal event")
}

// WriteError reports a failure: before the first byte as a plain error
// response, after it as an "error" event.
func (s *ResponsesStreamWriter) WriteError(err error) {
	if s.finished {
		return
	}
	s.finished = true
	s.out.Fail(func(w http.ResponseWriter) { WriteErrorFor(w, err) }, func() []byte {
		_, code, param, message := ErrorFor(err)
		return s.errorEvent(code, param, message)
	})
}

// ResponsesErrorEvent is the in-band error event (see errorEvent) for err,
// numbered seq, that ends a relayed Responses API stream the gateway
// cannot finish.
func ResponsesErrorEvent(seq int, err error) []byte {
	s := ResponsesStreamWriter{frames: seq}
	_, code, param, message := ErrorFor(err)
	return s.errorEvent(code, param, message)
}

// errorEvent is the Responses API's in-band error event. Besides
// the event's own fields it carries an "error" object like Chat
// Completions' in-band error, which the official SDKs raise as an error
// (the Go SDK ends the stream with it) instead of handing the application
// an event it might not look at.
func (s *ResponsesStreamWriter) errorEvent(code, param, message string) []byte {
	type inner struct {
		Type    string `json:"type"`
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	e := struct {
		Type     string  `json:"type"`
		Code     string  `json:"code"`
		Message  string  `json:"message"`
		Param    *string `json:"param"`
		Sequence int     `json:"sequence_number"`
		Error    inner   `json:"error"`
	}{Type: "error", Code: code, Message: message, Sequence: s.frames, Error: inner{Type: "server_error", Code: code, Message: message}}
	if param != "" {
		e.Param = &param
	}
	data, err := wirejson.Marshal(e)
	if err != nil {
		// Only our own wire struct reaches here; it always marshals.
		panic(fmt.Sprintf("openaiapi: marshal error event: %v", err))
	}
	s.buf = sse.AppendFrame(s.buf[:0], "error", data)
	return s.buf
}

// Batch makes writes wait for an explicit Flush.
func (s *ResponsesStreamWriter) Batch() { s.out.Batch() }

// Flush sends what has been written to the client.
func (s *ResponsesStreamWriter) Flush() error { return s.out.Flush() }
