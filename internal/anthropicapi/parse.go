package anthropicapi

import (
	"math"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// BadRequestError is a client request that failed validation; the
// gateway answers it with status 400 as an invalid_request_error (see WriteErrorFor).
type BadRequestError = llm.BadRequestError

func badRequest(param, msg string) *BadRequestError {
	return &BadRequestError{Param: param, Message: msg}
}

// ParseChat reads the routing features of a Messages API request body
// without decoding it into structs: one pass over the top-level object and
// one over the messages. It validates the shape the gateway depends on
// (model, messages, max_tokens) and returns a *BadRequestError when the body
// is not acceptable. The returned request keeps body as Raw and decodes the
// full canonical Body lazily.
func ParseChat(body []byte) (*llm.Request, error) { return parse(body, true) }

// ParseCountTokens reads a /v1/messages/count_tokens body: a Messages
// request without max_tokens.
func ParseCountTokens(body []byte) (*llm.Request, error) { return parse(body, false) }

func parse(body []byte, needMax bool) (*llm.Request, error) {
	if !wirejson.Valid(body) {
		return nil, badRequest("", "request body is not valid JSON")
	}
	if p := wirejson.UTF8Problem(body); p != "" {
		return nil, badRequest("", "request body is not valid JSON: "+p)
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return nil, badRequest("", "request body must be a JSON object")
	}
	req := &llm.Request{Raw: body, Dialect: llm.DialectAnthropic}
	var (
		err                          error
		seenModel, seenMsgs, seenMax bool
	)
	root.ForEach(func(key, v gjson.Result) bool {
		switch key.Str {
		case "model":
			seenModel = true
			if v.Type != gjson.String || v.Str == "" {
				err = badRequest("model", "model: must be a non-empty string")
			}
			req.Model = v.Str
		case "messages":
			seenMsgs = true
			err = parseMessages(v, req)
		case "system":
			var text string
			text, err = systemText(v)
			req.SystemText = text
			req.TextBytes += len(text)
		case "max_tokens":
			seenMax = true
			if v.Type != gjson.Number || v.Num != math.Trunc(v.Num) || v.Num < 1 || v.Num > math.MaxInt32 {
				err = badRequest("max_tokens", "max_tokens: must be a positive integer")
			}
			req.MaxTokens = int(v.Num)
		case "stream":
			if v.Type == gjson.Null {
				break
			}
			if !v.IsBool() {
				err = badRequest("stream", "stream: must be a boolean")
			}
			req.Stream = v.Bool()
		case "tools":
			if v.Type == gjson.Null {
				break
			}
			if !v.IsArray() {
				err = badRequest("tools", "tools: must be an array")
				break
			}
			v.ForEach(func(_, t gjson.Result) bool {
				req.HasTools = true
				req.TextBytes += len(t.Raw)
				if typ := t.Get("type").String(); typ != "" && typ != "custom" {
					markRelayOnly(req, "tools of type "+strconv.Quote(typ))
				}
				return true
			})
		case "thread":
			// A conversation Anthropic keeps (the SDKs' tool runner
			// creates one, then sends each turn's new messages only):
			// a translation would drop it and answer the turn without
			// its history, so only an Anthropic deployment serves it
			// (found by audit AD).
			if v.Type != gjson.Null {
				markRelayOnly(req, "thread (a conversation kept by Anthropic)")
			}
		case "output_format":
			req.JSONMode = req.JSONMode || v.Get("type").String() == "json_schema"
		case "output_config":
			req.JSONMode = req.JSONMode || v.Get("format.type").String() == "json_schema"
		case "metadata":
			if v.Type == gjson.Null {
				break
			}
			if !v.IsObject() {
				err = badRequest("metadata", "metadata: must be an object")
				break
			}
			v.ForEach(func(k, mv gjson.Result) bool {
				if mv.Type == gjson.String {
					if req.Metadata == nil {
						req.Metadata = make(map[string]string)
					}
					req.Metadata[k.Str] = mv.Str
				}
				return true
			})
		default:
			err = caseVariant(key.Str)
		}
		return err == nil
	})
	switch {
	case err != nil:
		return nil, err
	case !seenModel:
		return nil, badRequest("model", "model: field required")
	case !seenMsgs:
		return nil, badRequest("messages", "messages: field required")
	case needMax && !seenMax:
		return nil, badRequest("max_tokens", "max_tokens: field required")
	}
	req.SetDecoder(decodeFull)
	return req, nil
}

// fields are the top-level fields of a Messages body that the gateway
// reads (its parser, a translation, routing, pricing). A key that differs
// from one of them only in case is refused (caseVariant): the gateway does
// not read it, but an upstream whose JSON decoder matches names
// case-insensitively (Go's encoding/json: the built-in simulator) does,
// and would serve another model, stream or limit than the one the gateway
// routed, allowed and priced.
var fields = []string{"model", "messages", "system", "max_tokens", "stream", "tools", "output_format",
	"output_config", "metadata", "temperature", "top_p", "stop_sequences", "tool_choice", "thinking", "service_tier", "thread"}

// caseVariant is the error for key, a top-level key the parser's switch
// did not take, when it is one of fields but for case
// (wirejson.FoldedField); nil otherwise.
func caseVariant(key string) error {
	if f := wirejson.FoldedField(key, fields); f != "" {
		return badRequest(key, "unknown field "+strconv.Quote(key)+": field names are case-sensitive; did you mean "+strconv.Quote(f)+"?")
	}
	return nil
}

// systemText returns the text of the system prompt: a string or an array
// of text blocks (joined by a blank line).
func systemText(v gjson.Result) (string, error) {
	switch {
	case v.Type == gjson.Null:
		return "", nil
	case v.Type == gjson.String:
		return v.Str, nil
	case !v.IsArray():
		return "", badRequest("system", "system: must be a string or an array of text blocks")
	}
	var (
		sb  strings.Builder
		err error
		i   int
	)
	v.ForEach(func(_, b gjson.Result) bool {
		if !b.IsObject() || b.Get("type").String() != "text" {
			err = badRequest("system."+strconv.Itoa(i), "system: blocks must be text blocks")
			return false
		}
		if i > 0 {
			sb.WriteString("\n\n")
		}
		i++
		sb.WriteString(b.Get("text").String())
		return true
	})
	return sb.String(), err
}

// parseMessages validates the messages array and fills the message features.
func parseMessages(msgs gjson.Result, req *llm.Request) error {
	if !msgs.IsArray() {
		return badRequest("messages", "messages: must be an array")
	}
	var (
		err error
		i   int
	)
	msgs.ForEach(func(_, m gjson.Result) bool {
		param := "messages." + strconv.Itoa(i)
		i++
		if !m.IsObject() {
			err = badRequest(param, "messages: each message must be an object")
			return false
		}
		role := m.Get("role")
		if role.Type != gjson.String || (role.Str != "user" && role.Str != "assistant") {
			err = badRequest(param+".role", "messages: role must be \"user\" or \"assistant\"")
			return false
		}
		c := m.Get("content")
		var text string
		switch {
		case c.Type == gjson.String:
			text = c.Str
			req.TextBytes += len(text)
		case c.IsArray():
			var (
				images bool
				extra  int
			)
			text, extra, images, err = blocksText(c, param+".content", req)
			req.HasImages = req.HasImages || images
			req.TextBytes += len(text) + extra
		default:
			err = badRequest(param+".content", "messages: content must be a string or an array of content blocks")
		}
		if err != nil {
			return false
		}
		if role.Str == "user" {
			req.LastUserText = text
		}
		return true
	})
	if err != nil {
		return err
	}
	if i == 0 {
		return badRequest("messages", "messages: at least one message is required")
	}
	req.NumMessages = i
	return nil
}

// blocksText walks a content block array. It returns the text of the text
// blocks, the size of other text (tool inputs and results, documents: see
// documentTextBytes) and whether any
// image appears, also inside tool results. Tool results are not part of the
// returned text: routing wants what the user wrote. A block no translation
// carries (documents, server tool results, images by file id...) marks req
// relay-only.
func blocksText(c gjson.Result, param string, req *llm.Request) (string, int, bool, error) {
	var (
		text   strings.Builder
		extra  int
		images bool
		err    error
		j      int
	)
	c.ForEach(func(_, b gjson.Result) bool {
		if !b.IsObject() {
			err = badRequest(param+"."+strconv.Itoa(j), "messages: each content block must be an object")
			return false
		}
		j++
		switch typ := b.Get("type").String(); typ {
		case "text":
			text.WriteString(b.Get("text").String())
		case "image":
			images = true
			imageRelayOnly(b, req)
		case "tool_use", "server_tool_use":
			extra += len(b.Get("input").Raw)
			if typ != "tool_use" {
				markRelayOnly(req, "content blocks of type "+strconv.Quote(typ))
			}
		case "tool_result":
			rc := b.Get("content")
			if rc.Type == gjson.String {
				extra += len(rc.Str)
				break
			}
			rc.ForEach(func(_, rb gjson.Result) bool {
				switch rtyp := rb.Get("type").String(); rtyp {
				case "text":
					extra += len(rb.Get("text").Str)
				case "image":
					images = true
					imageRelayOnly(rb, req)
				case "document":
					extra += documentTextBytes(rb, &images)
					markRelayOnly(req, "tool results with blocks of type "+strconv.Quote(rtyp))
				default:
					markRelayOnly(req, "tool results with blocks of type "+strconv.Quote(rtyp))
				}
				return true
			})
		case "thinking", "redacted_thinking":
		case "document":
			extra += documentTextBytes(b, &images)
			markRelayOnly(req, "content blocks of type "+strconv.Quote(typ))
		default:
			markRelayOnly(req, "content blocks of type "+strconv.Quote(typ))
		}
		return true
	})
	return text.String(), extra, images, err
}

// documentTextBytes estimates a document block's content in text bytes of
// the same token count: a text document's text, a content document's text
// blocks (an image among them sets *images), base64 data by its length
// (dataTextBytes), plus its title and context. A document by URL or file
// id counts only those: its size is not known here.
func documentTextBytes(b gjson.Result, images *bool) int {
	n := len(b.Get("title").Str) + len(b.Get("context").Str)
	src := b.Get("source")
	switch src.Get("type").Str {
	case "text":
		n += len(src.Get("data").Str)
	case "base64":
		n += dataTextBytes(len(src.Get("data").Str), strings.ToLower(src.Get("media_type").Str))
	case "content":
		c := src.Get("content")
		if c.Type == gjson.String {
			n += len(c.Str)
			break
		}
		c.ForEach(func(_, cb gjson.Result) bool {
			switch cb.Get("type").Str {
			case "text":
				n += len(cb.Get("text").Str)
			case "image":
				*images = true
			}
			return true
		})
	}
	return n
}

// Token estimates of base64 data, from its length alone (it is never
// decoded here), as the bytes of text tokens.FromBytes counts the same:
// text (text/*, JSON, XML) counts as its decoded bytes; a PDF or any other
// file one token per 32 bytes (a 1 MB, 15-page paper about 32,000 tokens:
// Anthropic counts each page's text and an image of it, 1,500 to 3,000
// tokens a page). The OpenAI parser estimates files alike.
const (
	textBytesPerToken = 4 // tokens.FromBytes's
	fileBytesPerToken = 32
)

// dataTextBytes is the text bytes standing for b64 bytes of base64 data of
// media type media (see the constants above).
func dataTextBytes(b64 int, media string) int {
	n := b64 / 4 * 3 // decoded size
	if strings.HasPrefix(media, "text/") || strings.HasSuffix(media, "json") || strings.HasSuffix(media, "xml") {
		return n
	}
	return n / fileBytesPerToken * textBytesPerToken
}

// imageRelayOnly marks req relay-only for an image block whose source is
// neither base64 data nor a URL (a Files API file).
func imageRelayOnly(b gjson.Result, req *llm.Request) {
	if st := b.Get("source.type").String(); st != "base64" && st != "url" && st != "" {
		markRelayOnly(req, "images with a source of type "+strconv.Quote(st))
	}
}

// markRelayOnly records the first reason req can only be relayed to a
// deployment of the Messages API itself.
func markRelayOnly(req *llm.Request, why string) {
	if req.RelayOnly == "" {
		req.RelayOnly = why
	}
}
