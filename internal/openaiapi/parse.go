package openaiapi

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// BadRequestError is a client request that failed validation; the
// gateway answers it with status 400 in the OpenAI error format (see
// WriteErrorFor).
type BadRequestError = llm.BadRequestError

func badRequest(param, msg string) *BadRequestError {
	return &BadRequestError{Param: param, Message: msg}
}

// ParseChat reads the routing features of a Chat Completions request body
// without decoding it into structs: one pass over the top-level object and
// one over the messages. It validates the shape the gateway depends on and
// returns a *BadRequestError when the body is not acceptable. The returned
// request keeps body as Raw and decodes the full canonical Body lazily.
// What no translation carries (custom tools, an allowed_tools or custom
// tool_choice, content parts other than text and images, logprobs, n above
// 1 with stream or above MaxTranslatedChoices) is marked in
// Request.RelayOnly: only OpenAI deployments serve it.
func ParseChat(body []byte) (*llm.Request, error) {
	root, err := parseObject(body)
	if err != nil {
		return nil, err
	}
	req := &llm.Request{Raw: body, Dialect: llm.DialectOpenAI}
	var (
		seenModel, seenMsgs    bool
		maxTokens, maxComplete int
	)
	root.ForEach(func(key, v gjson.Result) bool {
		switch key.Str {
		case "model":
			seenModel = true
			req.Model, err = modelValue(v)
		case "messages":
			seenMsgs = true
			err = parseMessages(v, req)
		case "stream":
			req.Stream, err = optionalBool("stream", v)
		case "n":
			req.Choices, err = boundedInt("n", v, MaxChoices)
		case "stream_options":
			if v.Type == gjson.Null {
				break
			}
			if !v.IsObject() {
				err = badRequest("stream_options", "stream_options must be an object")
				return false
			}
			iu := v.Get("include_usage")
			if iu.Exists() && iu.Type != gjson.Null && !iu.IsBool() {
				err = badRequest("stream_options.include_usage", "include_usage must be a boolean")
				return false
			}
			req.IncludeUsage = iu.Bool()
		case "max_tokens":
			maxTokens, err = positiveInt("max_tokens", v)
		case "max_completion_tokens":
			maxComplete, err = positiveInt("max_completion_tokens", v)
		case "tools", "functions":
			if v.Type == gjson.Null {
				break
			}
			if !v.IsArray() {
				err = badRequest(key.Str, key.Str+" must be an array")
				return false
			}
			n := 0
			v.ForEach(func(_, t gjson.Result) bool {
				n++
				req.TextBytes += len(t.Raw)
				if typ := t.Get("type").Str; key.Str == "tools" && typ != "" && typ != "function" {
					markRelayOnly(req, "tools", "tools of type "+strconv.Quote(typ))
				}
				return true
			})
			req.HasTools = req.HasTools || n > 0
		case "tool_choice":
			// allowed_tools and custom have no counterpart in the
			// canonical tool choice (a mode, or one function).
			if typ := v.Get("type").Str; v.IsObject() && typ != "" && typ != "function" {
				markRelayOnly(req, "tool_choice", "tool_choice of type "+strconv.Quote(typ))
			}
		case "response_format":
			if v.Type == gjson.Null {
				break
			}
			if !v.IsObject() {
				err = badRequest("response_format", "response_format must be an object")
				return false
			}
			switch v.Get("type").String() {
			case "json_object", "json_schema":
				req.JSONMode = true
			}
		case "metadata":
			err = parseMetadata(v, req)
		case "store":
			req.Stored, err = optionalBool("store", v)
		case "reasoning_effort":
			req.Effort = v.Str // checked when decoded for a translation
		case "logprobs", "top_logprobs":
			// The canonical answer has no log probabilities.
			if v.Type == gjson.True || v.Type == gjson.Number && v.Num > 0 {
				markRelayOnly(req, key.Str, key.Str)
			}
		default:
			err = caseVariant(key.Str, chatFields)
		}
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	if !seenModel {
		return nil, badRequest("model", "missing required parameter: 'model'")
	}
	if !seenMsgs {
		return nil, badRequest("messages", "missing required parameter: 'messages'")
	}
	req.MaxTokens = maxTokens
	if maxComplete > 0 {
		req.MaxTokens = maxComplete
	}
	// A translation makes one call per choice, streaming one.
	switch {
	case req.Choices > 1 && req.Stream:
		markRelayOnly(req, "n", "n above 1 with stream")
	case req.Choices > MaxTranslatedChoices:
		markRelayOnly(req, "n", fmt.Sprintf("n above %d", MaxTranslatedChoices))
	}
	req.SetDecoder(decodeFull)
	return req, nil
}

// positiveInt validates an optional token limit; null counts as unset.
// parseObject checks that body is one JSON object and returns it.
func parseObject(body []byte) (gjson.Result, error) {
	if !wirejson.Valid(body) {
		return gjson.Result{}, badRequest("", "request body is not valid JSON")
	}
	if p := wirejson.UTF8Problem(body); p != "" {
		// Relayed, it would reach the upstream as sent; translated, as
		// U+FFFD: refused either way (audit AO2).
		return gjson.Result{}, badRequest("", "request body is not valid JSON: "+p)
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return gjson.Result{}, badRequest("", "request body must be a JSON object")
	}
	return root, nil
}

// modelValue reads model: a non-empty string.
func modelValue(v gjson.Result) (string, error) {
	if v.Type != gjson.String || v.Str == "" {
		return "", badRequest("model", "model must be a non-empty string")
	}
	return v.Str, nil
}

// optionalBool reads a boolean that may be null or absent (false).
func optionalBool(param string, v gjson.Result) (bool, error) {
	if v.Type == gjson.Null || !v.Exists() {
		return false, nil
	}
	if !v.IsBool() {
		return false, badRequest(param, param+" must be a boolean")
	}
	return v.Bool(), nil
}

// parseMetadata keeps metadata's string values (routing rules read them);
// metadata must be an object or null.
func parseMetadata(v gjson.Result, req *llm.Request) error {
	if v.Type == gjson.Null {
		return nil
	}
	if !v.IsObject() {
		return badRequest("metadata", "metadata must be an object")
	}
	var err error
	n := 0
	v.ForEach(func(k, mv gjson.Result) bool {
		switch n++; {
		case n > maxMetadataPairs:
			err = badRequest("metadata", fmt.Sprintf("metadata has more than %d key-value pairs", maxMetadataPairs))
		case utf8.RuneCountInString(k.Str) > maxMetadataKey:
			err = badRequest("metadata", fmt.Sprintf("metadata keys are at most %d characters", maxMetadataKey))
		case mv.Type != gjson.String:
			// OpenAI refuses one; a translation would drop it, so it is
			// refused whichever provider serves the request (audit AM4).
			err = badRequest("metadata."+k.Str, fmt.Sprintf("metadata values must be strings; metadata.%s is %s", k.Str, jsonKind(mv)))
		case utf8.RuneCountInString(mv.Str) > maxMetadataValue:
			err = badRequest("metadata", fmt.Sprintf("metadata values are at most %d characters", maxMetadataValue))
		default:
			if req.Metadata == nil {
				req.Metadata = make(map[string]string)
			}
			req.Metadata[k.Str] = mv.Str
			return true
		}
		return false
	})
	return err
}

// jsonKind names the JSON type of v for an error message.
func jsonKind(v gjson.Result) string {
	switch {
	case v.Type == gjson.Null:
		return "null"
	case v.Type == gjson.Number:
		return "a number"
	case v.Type == gjson.True, v.Type == gjson.False:
		return "a boolean"
	case v.IsArray():
		return "an array"
	}
	return "an object"
}

// OpenAI's bounds of a request's metadata, which a translated request is
// held to as a relayed one is by the API (a translated Responses object
// keeps it for 30 days; found by audit X).
const (
	maxMetadataPairs = 16
	maxMetadataKey   = 64
	maxMetadataValue = 512
)

// MaxChoices is the largest n of a Chat Completions request, as OpenAI
// allows: the worst case reserved against budgets and rate limits is n
// times max_tokens.
const MaxChoices = 128

func positiveInt(param string, v gjson.Result) (int, error) {
	if v.Type == gjson.Null {
		return 0, nil
	}
	if v.Type != gjson.Number || v.Num != math.Trunc(v.Num) || v.Num < 1 || v.Num > math.MaxInt32 {
		return 0, badRequest(param, param+" must be a positive integer")
	}
	return int(v.Num), nil
}

// parseMessages validates the messages array and fills the message features.
func parseMessages(msgs gjson.Result, req *llm.Request) error {
	if !msgs.IsArray() {
		return badRequest("messages", "messages must be an array")
	}
	var (
		err    error
		i      int
		system strings.Builder
	)
	msgs.ForEach(func(_, m gjson.Result) bool {
		param := "messages[" + strconv.Itoa(i) + "]"
		i++
		if !m.IsObject() {
			err = badRequest(param, "each message must be an object")
			return false
		}
		role := m.Get("role")
		if role.Type != gjson.String {
			err = badRequest(param+".role", "missing required parameter: 'role'")
			return false
		}
		switch role.Str {
		case "system", "developer", "user", "assistant", "tool", "function":
		default:
			err = badRequest(param+".role", "invalid role: must be one of system, developer, user, assistant, tool, function")
			return false
		}
		text, extra, images, cerr := contentText(m.Get("content"), param+".content", req)
		if cerr != nil {
			err = cerr
			return false
		}
		req.HasImages = req.HasImages || images
		req.TextBytes += len(text) + extra
		switch role.Str {
		case "system", "developer":
			if system.Len() > 0 {
				system.WriteString("\n\n")
			}
			system.WriteString(text)
		case "user":
			req.LastUserText = text
		case "assistant":
			m.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
				req.TextBytes += len(tc.Get("function.arguments").Str)
				return true
			})
		}
		return true
	})
	if err != nil {
		return err
	}
	if i == 0 {
		return badRequest("messages", "messages must contain at least one message")
	}
	req.NumMessages = i
	req.SystemText = system.String()
	return nil
}

// contentText returns the text of a message's content (a string, an array
// of parts, or null), the size of what else it holds in text bytes of the
// same token count (dataTextBytes: files, audio), and whether it holds an
// image part. A part no translation carries (a file, audio: the canonical
// form holds text and images) marks req relay-only.
func contentText(c gjson.Result, param string, req *llm.Request) (string, int, bool, error) {
	switch {
	case !c.Exists() || c.Type == gjson.Null:
		return "", 0, false, nil
	case c.Type == gjson.String:
		return c.Str, 0, false, nil
	case !c.IsArray():
		return "", 0, false, badRequest(param, "content must be a string or an array of content parts")
	}
	var (
		text   string
		extra  int
		images bool
		err    error
		j      int
	)
	c.ForEach(func(_, p gjson.Result) bool {
		if !p.IsObject() {
			err = badRequest(param+"["+strconv.Itoa(j)+"]", "each content part must be an object")
			return false
		}
		j++
		typ := p.Get("type").String()
		switch typ {
		case "text", "refusal", "image_url":
		default:
			markRelayOnly(req, "messages", "content parts of type "+strconv.Quote(typ))
		}
		switch typ {
		case "text":
			text += p.Get("text").String()
		case "refusal":
			text += p.Get("refusal").String()
		case "image_url":
			images = true
		case "file":
			f := p.Get("file")
			extra += fileTextBytes(f.Get("file_data").Str, f.Get("filename").Str)
		case "input_audio":
			a := p.Get("input_audio")
			extra += dataTextBytes(len(a.Get("data").Str), "audio/"+a.Get("format").Str)
		}
		return true
	})
	return text, extra, images, err
}

// fileTextBytes estimates a file part's file_data (a data: URL, or bare
// base64 named by filename) in text bytes; see dataTextBytes.
func fileTextBytes(data, filename string) int {
	media := ""
	if rest, ok := strings.CutPrefix(data, "data:"); ok {
		comma := strings.IndexByte(rest[:min(len(rest), 256)], ',')
		if comma < 0 {
			return 0
		}
		media, _, _ = strings.Cut(rest[:comma], ";")
		return dataTextBytes(len(rest)-comma-1, strings.ToLower(media))
	}
	if ext := filename[strings.LastIndexByte(filename, '.')+1:]; ext != filename {
		switch strings.ToLower(ext) {
		case "txt", "md", "csv", "json", "html", "xml", "py", "go", "js", "ts", "c", "java", "yaml", "yml":
			media = "text/plain"
		}
	}
	return dataTextBytes(len(data), media)
}

// Token estimates of base64 data, from its length alone (it is never
// decoded here), as the bytes of text tokens.FromBytes counts the same:
// text (text/*, JSON, XML) counts as its decoded bytes; audio at 10 tokens
// a second, taken as 16 kHz 16-bit mono for wav (32,000 bytes a second)
// and 128 kbit/s for mp3 and other formats (16,000); a PDF or any other
// file one token per 32 bytes (a 1 MB, 15-page paper about 32,000 tokens:
// the providers count each page's text and an image of it, 1,500 to 3,000
// tokens a page).
const (
	textBytesPerToken = 4 // tokens.FromBytes's
	fileBytesPerToken = 32
	wavBytesPerToken  = 3200
	mp3BytesPerToken  = 1600
)

// dataTextBytes is the text bytes standing for b64 bytes of base64 data of
// media type media (see the constants above).
func dataTextBytes(b64 int, media string) int {
	n := b64 / 4 * 3 // decoded size
	switch {
	case strings.HasPrefix(media, "text/"), strings.HasSuffix(media, "json"), strings.HasSuffix(media, "xml"):
		return n
	case media == "audio/wav" || media == "audio/x-wav" || media == "audio/pcm16":
		return n / wavBytesPerToken * textBytesPerToken
	case strings.HasPrefix(media, "audio/"):
		return n / mp3BytesPerToken * textBytesPerToken
	}
	return n / fileBytesPerToken * textBytesPerToken
}
