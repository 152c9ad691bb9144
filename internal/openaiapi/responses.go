package openaiapi

import (
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

// ErrNotTranslatable is what decoding a Responses API request into the
// canonical body returns: the gateway relays that API to OpenAI
// deployments only and never translates it.
var ErrNotTranslatable = errors.New("openaiapi: a Responses API request is relayed, not translated")

// ParseResponses reads the routing features of an OpenAI Responses API
// request (POST /v1/responses) without decoding it into structs, and checks
// the shape the gateway depends on; anything else (tools of every kind,
// reasoning, previous_response_id, include, store) passes through
// untouched. It returns a *BadRequestError when the body is not acceptable.
func ParseResponses(body []byte) (*llm.Request, error) {
	root, err := parseObject(body)
	if err != nil {
		return nil, err
	}
	req := &llm.Request{Raw: body, Dialect: llm.DialectOpenAIResponses}
	req.SetDecoder(func([]byte) (*llm.Body, error) { return nil, ErrNotTranslatable })
	seenModel := false
	root.ForEach(func(key, v gjson.Result) bool {
		switch key.Str {
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
			}
			req.HasTools = len(v.Array()) > 0
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
			default:
				err = badRequest("previous_response_id", "previous_response_id must be a string")
			}
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
		var content gjson.Result
		item.ForEach(func(k, f gjson.Result) bool {
			switch k.Str {
			case "role":
				role = f.Str
			case "type":
				typ = f.Str
			case "content":
				content = f
			case "output", "arguments":
				req.TextBytes += len(f.Raw)
			}
			return true
		})
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
// response object verbatim.
func WriteResponsesResponse(w http.ResponseWriter, resp *llm.Response) error {
	if resp.Dialect != llm.DialectOpenAIResponses || resp.Raw == nil {
		WriteError(w, http.StatusInternalServerError, CodeInternal, "internal error")
		return fmt.Errorf("openaiapi: a %s answer cannot be written as a Responses API response", resp.Dialect)
	}
	if err := wirejson.Write(w, http.StatusOK, resp.Raw); err != nil {
		return fmt.Errorf("openaiapi: write response: %w", err)
	}
	return nil
}

// ResponsesStreamWriter relays a Responses API stream to the client: each
// provider event verbatim, flushed. The provider's terminal event
// (response.completed, response.incomplete) ends it; a failure after the
// first byte is an in-band "error" event, so SDKs raise rather than return
// a truncated answer. Not safe for concurrent use.
type ResponsesStreamWriter struct {
	out      *sse.ResponseWriter
	frames   int // events relayed: the next sequence_number
	finished bool
	buf      []byte
}

// NewResponsesStreamWriter returns a writer for a Responses API client.
func NewResponsesStreamWriter(w http.ResponseWriter) *ResponsesStreamWriter {
	return &ResponsesStreamWriter{out: sse.NewResponseWriter(w, "openaiapi")}
}

// Started reports whether any byte has been written to the client.
func (s *ResponsesStreamWriter) Started() bool { return s.out.Started() }

// WriteEvent relays one provider event. Events after the terminal one are
// ignored; an event without a frame (none of this dialect) is dropped.
func (s *ResponsesStreamWriter) WriteEvent(ev llm.Event) error {
	if s.finished || ev.Raw == nil {
		return nil
	}
	if ev.Done {
		s.finished = true
	}
	s.frames++
	_, err := s.out.Write(ev.Raw)
	return err
}

// Finish ends the stream. After the terminal event it does nothing; a
// stream that ended without one gets an in-band error instead, never a
// silent end.
func (s *ResponsesStreamWriter) Finish() error {
	if s.finished {
		return nil
	}
	s.finished = true
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
