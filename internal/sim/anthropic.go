package sim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// anthropicAPI is the Anthropic Messages dialect.
type anthropicAPI struct{ s *Server }

var _ dialect = anthropicAPI{}

// anRequest is the part of a Messages request the simulator reads.
type anRequest struct {
	Model     string          `json:"model"`
	MaxTokens *int            `json:"max_tokens"`
	Messages  []anMessage     `json:"messages"`
	System    json.RawMessage `json:"system"`
	Stream    bool            `json:"stream"`
	Tools     []struct {
		Name         string          `json:"name"`
		Description  string          `json:"description"`
		InputSchema  json.RawMessage `json:"input_schema"`
		CacheControl json.RawMessage `json:"cache_control"`
	} `json:"tools"`
	ToolChoice *struct {
		Type string `json:"type"`
		Name string `json:"name"`
	} `json:"tool_choice"`
	OutputConfig *struct {
		Format *anFormat `json:"format"`
	} `json:"output_config"`
	OutputFormat *anFormat `json:"output_format"` // the structured-outputs beta spelling
	Thinking     *struct {
		Type         string `json:"type"`
		BudgetTokens int    `json:"budget_tokens"`
	} `json:"thinking"`
	Temperature *float64 `json:"temperature"`
}

type anFormat struct {
	Type   string          `json:"type"`
	Schema json.RawMessage `json:"schema"`
}

type anMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// anBlock is one content block of a request.
type anBlock struct {
	Type    string          `json:"type"`
	Text    string          `json:"text"`
	Name    string          `json:"name"`
	Input   json.RawMessage `json:"input"`
	Content json.RawMessage `json:"content"` // tool_result: string or blocks
	// CacheControl marks the end of a cacheable prefix.
	CacheControl json.RawMessage `json:"cache_control"`
	// Thinking and Signature are a thinking block's, Data a
	// redacted_thinking block's.
	Thinking  string `json:"thinking"`
	Signature string `json:"signature"`
	Data      string `json:"data"`
}

func writeAnthropicError(w http.ResponseWriter, status int, typ, msg string, retryAfter time.Duration) {
	h := map[string]string{"request-id": "req_sim"}
	if retryAfter > 0 {
		h["Retry-After"] = retryAfterSeconds(retryAfter)
	}
	writeJSON(w, status, map[string]any{
		"type":       "error",
		"error":      map[string]string{"type": typ, "message": msg},
		"request_id": "req_sim",
	}, h)
}

// parseAnthropic reads a Messages request body; on failure it has answered
// the request and returns nil.
func (s *Server) parseAnthropic(w http.ResponseWriter, r *http.Request) (*anRequest, *prompt) {
	d := anthropicAPI{s}
	body, err := readBody(w, r)
	var req anRequest
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		c := s.begin("", r.URL.Path, false)
		d.badRequest(&recorder{ResponseWriter: w, c: c}, "There was an error parsing the body of your request: "+errDecode(err))
		return nil, nil
	}
	p, msg := req.prompt()
	if msg != "" {
		c := s.begin(req.Model, r.URL.Path, req.Stream)
		d.badRequest(&recorder{ResponseWriter: w, c: c}, msg)
		return nil, nil
	}
	return &req, p
}

func (s *Server) handleAnthropic(w http.ResponseWriter, r *http.Request) {
	req, p := s.parseAnthropic(w, r)
	if req == nil {
		return
	}
	if req.MaxTokens == nil {
		c := s.begin(req.Model, r.URL.Path, req.Stream)
		anthropicAPI{s}.badRequest(&recorder{ResponseWriter: w, c: c}, "max_tokens: Field required")
		return
	}
	s.chat(w, r, anthropicAPI{s}, req.Model, p, req.Stream)
}

// handleCountTokens answers /v1/messages/count_tokens. It is not recorded
// as a call and injects no fault.
func (s *Server) handleCountTokens(w http.ResponseWriter, r *http.Request) {
	req, p := s.parseAnthropic(w, r)
	if req == nil {
		return
	}
	if _, ok := s.lookup(req.Model); !ok {
		anthropicAPI{s}.notFound(w, req.Model)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"input_tokens": p.inputTokens()}, nil)
}

// prompt extracts the prompt, or returns the message of a 400.
func (req *anRequest) prompt() (*prompt, string) {
	if req.Model == "" {
		return nil, "model: Field required"
	}
	if len(req.Messages) == 0 {
		return nil, "messages: at least one message is required"
	}
	p := &prompt{}
	// The prompt is read in the provider's cache order: tools, system,
	// messages; a cache_control mark on a tool caches the tools up to it.
	for _, t := range req.Tools {
		p.tools = append(p.tools, tool{name: t.Name, schema: t.InputSchema})
		p.add(t.Name)
		p.add(t.Description)
		p.add(string(t.InputSchema))
		if len(t.CacheControl) > 0 && string(t.CacheControl) != "null" {
			p.cacheMark = p.text.Len()
		}
	}
	if err := addAnthropicContent(p, req.System); err != "" {
		return nil, "system: " + err
	}
	var last []anBlock
	usesTools := false
	for i, m := range req.Messages {
		if m.Role != "user" && m.Role != "assistant" {
			return nil, fmt.Sprintf("messages.%d.role: Input should be 'user' or 'assistant'", i)
		}
		if emptyContent(m.Content) && (i < len(req.Messages)-1 || m.Role != "assistant") {
			return nil, fmt.Sprintf("messages.%d: all messages must have non-empty content except for the optional final assistant message", i)
		}
		p.add(m.Role)
		if err := addAnthropicContent(p, m.Content); err != "" {
			return nil, fmt.Sprintf("messages.%d.content: %s", i, err)
		}
		last = nil
		_ = json.Unmarshal(m.Content, &last)
		for _, b := range last {
			usesTools = usesTools || b.Type == "tool_use" || b.Type == "tool_result"
		}
	}
	if usesTools && len(req.Tools) == 0 {
		// As the real API: a conversation holding tool calls or
		// results must define tools.
		return nil, "Requests which include `tool_use` or `tool_result` blocks must define tools."
	}
	p.lastFromUser = req.Messages[len(req.Messages)-1].Role == "user"
	for _, b := range last {
		if b.Type == "tool_result" {
			p.lastFromUser = false
		}
	}
	if tc := req.ToolChoice; tc != nil {
		switch tc.Type {
		case "none":
			p.choice = toolNone
		case "any":
			p.choice = toolRequired
		case "tool":
			p.choice, p.forcedTool = toolRequired, tc.Name
		}
	}
	f := req.OutputFormat
	if req.OutputConfig != nil && req.OutputConfig.Format != nil {
		f = req.OutputConfig.Format
	}
	if f != nil && f.Type == "json_schema" {
		p.jsonMode, p.jsonSchema = true, f.Schema
	}
	if req.MaxTokens != nil {
		if *req.MaxTokens < 1 {
			return nil, "max_tokens: Input should be greater than or equal to 1"
		}
		p.maxTokens = *req.MaxTokens
	}
	if msg := thinkingSigned(req.Messages); msg != "" {
		return nil, msg
	}
	if t := req.Thinking; t != nil && (t.Type == "enabled" || t.Type == "adaptive") {
		adaptive := t.Type == "adaptive"
		switch {
		case adaptive:
			// Claude decides how much to think: the sim thinks as for
			// a budget (adaptiveBudget).
		case t.BudgetTokens < 1024:
			return nil, "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
		case p.maxTokens <= t.BudgetTokens:
			return nil, "`max_tokens` must be greater than `thinking.budget_tokens`"
		case req.Temperature != nil && *req.Temperature != 1:
			return nil, "`temperature` may only be set to 1 when thinking is enabled"
		}
		if msg := thinkingToolCycle(req.Messages); msg != "" {
			return nil, msg
		}
		p.thinkBudget = t.BudgetTokens
		if adaptive {
			p.thinkBudget = adaptiveBudget
		}
	}
	return p, ""
}

// emptyContent reports whether a message's content is "" or [], which
// the Messages API refuses in all but a final assistant message.
func emptyContent(raw json.RawMessage) bool {
	var str *string
	var blocks []json.RawMessage
	return json.Unmarshal(raw, &str) == nil && str != nil && *str == "" ||
		json.Unmarshal(raw, &blocks) == nil && blocks != nil && len(blocks) == 0
}

// addAnthropicContent adds a string or an array of blocks to the prompt.
func addAnthropicContent(p *prompt, raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var str string
	if json.Unmarshal(raw, &str) == nil {
		p.add(str)
		return ""
	}
	var blocks []anBlock
	if json.Unmarshal(raw, &blocks) != nil {
		return "Input should be a valid string or list of content blocks"
	}
	for _, b := range blocks {
		switch b.Type {
		case "image":
			p.images++
		case "tool_use":
			p.add(b.Name)
			p.add(string(b.Input))
		case "tool_result":
			if err := addAnthropicContent(p, b.Content); err != "" {
				return err
			}
		default:
			p.add(b.Text)
		}
		if len(b.CacheControl) > 0 && string(b.CacheControl) != "null" {
			p.cacheMark = p.text.Len()
		}
	}
	return ""
}

func (anthropicAPI) badRequest(w http.ResponseWriter, msg string) {
	writeAnthropicError(w, http.StatusBadRequest, "invalid_request_error", msg, 0)
}

func (anthropicAPI) notFound(w http.ResponseWriter, model string) {
	writeAnthropicError(w, http.StatusNotFound, "not_found_error", "model: "+model, 0)
}

func (anthropicAPI) statusError(w http.ResponseWriter, status int, retryAfter time.Duration) {
	typ, msg := "api_error", "Internal server error"
	switch status {
	case 400:
		typ, msg = "invalid_request_error", "Invalid request"
	case 401:
		typ, msg = "authentication_error", "invalid x-api-key"
	case 403:
		typ, msg = "permission_error", "Your API key does not have permission to use the specified resource."
	case 404:
		typ, msg = "not_found_error", "The requested resource could not be found."
	case 413:
		typ, msg = "request_too_large", "Request exceeds the maximum allowed number of bytes."
	case 429:
		typ, msg = "rate_limit_error", "This request would exceed your organization's rate limit. Please try again later."
	case 504:
		typ, msg = "timeout_error", "Request timed out"
	case 529:
		typ, msg = "overloaded_error", "Overloaded"
	default:
		if status < 500 {
			typ, msg = "invalid_request_error", http.StatusText(status)
		}
	}
	writeAnthropicError(w, status, typ, msg, retryAfter)
}

func (anthropicAPI) contextError(w http.ResponseWriter, input, maxTokens, window int) {
	msg := fmt.Sprintf("prompt is too long: %d tokens > %d maximum", input, window)
	if input <= window {
		msg = fmt.Sprintf("input length and `max_tokens` exceed context limit: %d + %d > %d, decrease input length or `max_tokens` and try again",
			input, maxTokens, window)
	}
	writeAnthropicError(w, http.StatusBadRequest, "invalid_request_error", msg, 0)
}

func (anthropicAPI) policyError(w http.ResponseWriter) {
	writeAnthropicError(w, http.StatusBadRequest, "invalid_request_error", "Output blocked by content filtering policy", 0)
}

func stopReason(rep reply) string {
	switch {
	case rep.blocked:
		return "guardrail_intervened"
	case rep.truncated:
		return "max_tokens"
	case rep.toolName != "":
		return "tool_use"
	}
	return "end_turn"
}

// anUsage is an Anthropic usage block.
func anUsage(x *exchange, out int) map[string]any {
	return map[string]any{
		"input_tokens": x.input - x.cached - x.written, "output_tokens": out + x.reasoning,
		"cache_creation_input_tokens": x.written, "cache_read_input_tokens": x.cached,
	}
}

func (d anthropicAPI) respond(w http.ResponseWriter, x *exchange, rep reply) {
	id := d.s.nextID(24)
	var block map[string]any
	if rep.toolName != "" {
		input := json.RawMessage(rep.text())
		if !json.Valid(input) {
			input = json.RawMessage(`{}`)
		}
		block = map[string]any{"type": "tool_use", "id": "toolu_" + id, "name": rep.toolName, "input": input}
	} else {
		block = map[string]any{"type": "text", "text": rep.text()}
	}
	usage := anUsage(x, len(rep.tokens))
	usage["service_tier"] = "standard"
	content := []any{block}
	if x.reasoning > 0 {
		text := strings.Join(thinkingTokens(x.reasoning), "")
		content = []any{map[string]any{"type": "thinking", "thinking": text, "signature": thinkingSignature(text)}, block}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": "msg_" + id, "type": "message", "role": "assistant", "model": x.model.Name,
		"content": content, "stop_reason": stopReason(rep), "stop_sequence": nil,
		"usage": usage,
	}, map[string]string{"request-id": "req_" + id})
}

func (d anthropicAPI) newStream(w http.ResponseWriter, x *exchange, rep reply) streamer {
	return &anStream{sse: newSSE(w), x: x, rep: rep, id: d.s.nextID(24)}
}

// thinkingWords are the words a reasoning model thinks in, over and over.
var thinkingWords = strings.Fields("Let me think this through step by step before I answer.")

// thinkingTokens is a reasoning model's thinking, n tokens of one word
// each (every word but the first with its leading space).
func thinkingTokens(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = thinkingWords[i%len(thinkingWords)]
		if i > 0 {
			out[i] = " " + out[i]
		}
	}
	return out
}

// thinkingSignature is the signature of a thinking block's text: any
// change to the text, or to the signature, shows.
func thinkingSignature(text string) string {
	sum := sha256.Sum256([]byte("sim-thinking:" + text))
	return base64.StdEncoding.EncodeToString(sum[:16])
}

// anStream writes Messages stream events.
type anStream struct {
	*sse
	x     *exchange
	rep   reply
	id    string
	sent  int
	index int // of the answer's block: 1 after a thinking block
}

func (a *anStream) start() error {
	if err := a.header(map[string]string{"request-id": "req_" + a.id}); err != nil {
		return err
	}
	usage := anUsage(a.x, 1)
	usage["service_tier"] = "standard"
	err := a.event("message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": "msg_" + a.id, "type": "message", "role": "assistant", "model": a.x.model.Name,
		"content": []any{}, "stop_reason": nil, "stop_sequence": nil, "usage": usage,
	}})
	if err != nil {
		return err
	}
	if a.x.reasoning > 0 {
		tokens := thinkingTokens(a.x.reasoning)
		evs := []map[string]any{{"type": "content_block_start", "index": 0, "content_block": map[string]any{"type": "thinking", "thinking": "", "signature": ""}}}
		for _, t := range tokens {
			evs = append(evs, map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "thinking_delta", "thinking": t}})
		}
		evs = append(evs,
			map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "signature_delta", "signature": thinkingSignature(strings.Join(tokens, ""))}},
			map[string]any{"type": "content_block_stop", "index": 0})
		for _, ev := range evs {
			if err := a.event(ev["type"].(string), ev); err != nil {
				return err
			}
		}
		a.index = 1
	}
	block := map[string]any{"type": "text", "text": ""}
	if a.rep.toolName != "" {
		block = map[string]any{"type": "tool_use", "id": "toolu_" + a.id, "name": a.rep.toolName, "input": map[string]any{}}
	}
	if err := a.event("content_block_start", map[string]any{"type": "content_block_start", "index": a.index, "content_block": block}); err != nil {
		return err
	}
	return a.ping()
}

func (a *anStream) token(piece string) error {
	a.sent++
	delta := map[string]any{"type": "text_delta", "text": piece}
	if a.rep.toolName != "" {
		delta = map[string]any{"type": "input_json_delta", "partial_json": piece}
	}
	return a.event("content_block_delta", map[string]any{"type": "content_block_delta", "index": a.index, "delta": delta})
}

func (a *anStream) ping() error { return a.event("ping", `{"type": "ping"}`) }

func (a *anStream) malformed() error {
	return a.event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_del`)
}

func (a *anStream) fail() error {
	return a.event("error", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)
}

func (a *anStream) finish(terminator bool) error {
	if err := a.event("content_block_stop", map[string]any{"type": "content_block_stop", "index": a.index}); err != nil {
		return err
	}
	err := a.event("message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": stopReason(a.rep), "stop_sequence": nil},
		"usage": anUsage(a.x, a.sent)})
	if err != nil || !terminator {
		return err
	}
	return a.event("message_stop", `{"type":"message_stop"}`)
}

// thinkingSigned is Anthropic's refusal of thinking sent back altered:
// every thinking block must carry the signature its answer came with (the
// simulator signs every block alike) and every redacted block its data;
// "" when all do.
func thinkingSigned(msgs []anMessage) string {
	for i, m := range msgs {
		if m.Role != "assistant" || len(m.Content) == 0 || m.Content[0] != '[' {
			continue
		}
		var blocks []anBlock
		if json.Unmarshal(m.Content, &blocks) != nil {
			continue
		}
		for j, b := range blocks {
			switch {
			case b.Type == "thinking" && b.Signature != thinkingSignature(b.Thinking):
				return fmt.Sprintf("messages.%d.content.%d: Invalid `signature` in `thinking` block", i, j)
			case b.Type == "redacted_thinking" && b.Data == "":
				return fmt.Sprintf("messages.%d.content.%d.data: Field required", i, j)
			}
		}
	}
	return ""
}

// thinkingToolCycle is Anthropic's refusal of a thinking request that
// continues a tool cycle (its last message answers the assistant's last
// tool calls) whose assistant message does not start with the thinking
// block that came with those calls; "" when there is none to refuse.
func thinkingToolCycle(msgs []anMessage) string {
	last := -1
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "assistant" {
			last = i
			break
		}
	}
	if last < 0 || last != len(msgs)-2 {
		return ""
	}
	var blocks []anBlock
	if json.Unmarshal(msgs[last].Content, &blocks) != nil || len(blocks) == 0 {
		return ""
	}
	uses := false
	for _, b := range blocks {
		uses = uses || b.Type == "tool_use"
	}
	if !uses || blocks[0].Type == "thinking" || blocks[0].Type == "redacted_thinking" {
		return ""
	}
	return fmt.Sprintf("messages.%d.content.0.type: Expected `thinking` or `redacted_thinking`, but found `%s`. When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable `thinking`.", last, blocks[0].Type)
}
