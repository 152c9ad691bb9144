package anthropic

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// messagesRequest is the Messages API request body.
type messagesRequest struct {
	Model         string      `json:"model"`
	MaxTokens     int         `json:"max_tokens"`
	System        any         `json:"system,omitempty"` // a string, or []systemBlock to mark it for the cache
	Messages      []message   `json:"messages"`
	StopSequences []string    `json:"stop_sequences,omitempty"`
	Temperature   *float64    `json:"temperature,omitempty"`
	TopP          *float64    `json:"top_p,omitempty"`
	Stream        bool        `json:"stream,omitempty"`
	Tools         []tool      `json:"tools,omitempty"`
	ToolChoice    *toolChoice `json:"tool_choice,omitempty"`
	Metadata      *metadata   `json:"metadata,omitempty"`
	// OutputConfig carries structured output (a JSON schema the answer
	// must follow), from OpenAI's response_format json_schema.
	OutputConfig *outputConfig `json:"output_config,omitempty"`
	Thinking     *thinking     `json:"thinking,omitempty"`
	ServiceTier  string        `json:"service_tier,omitempty"`
}

// ServiceTier is Anthropic's service_tier for a canonical (OpenAI) one:
// auto is auto, default (the standard tier) is standard_only; flex,
// priority and the rest have no counterpart ("").
func ServiceTier(canonical string) string {
	switch canonical {
	case "auto":
		return "auto"
	case "default":
		return "standard_only"
	}
	return ""
}

// systemBlock is a system prompt block, marked for the prompt cache.
type systemBlock struct {
	Type         string        `json:"type"`
	Text         string        `json:"text"`
	CacheControl *cacheControl `json:"cache_control,omitempty"`
}

type cacheControl struct {
	Type string `json:"type"`
}

type thinking struct {
	Type         string `json:"type"`
	BudgetTokens int    `json:"budget_tokens"`
}

type outputConfig struct {
	Format outputFormat `json:"format"`
}

type outputFormat struct {
	Type   string          `json:"type"`
	Schema json.RawMessage `json:"schema"`
}

type message struct {
	Role    string  `json:"role"`
	Content []block `json:"content"`
}

// block is one content block; which fields are set depends on Type.
type block struct {
	Type string `json:"type"`
	// text
	Text *string `json:"text,omitempty"`
	// image
	Source *imageSource `json:"source,omitempty"`
	// tool_use
	ID    string          `json:"id,omitempty"`
	Name  string          `json:"name,omitempty"`
	Input json.RawMessage `json:"input,omitempty"`
	// tool_result
	ToolUseID string  `json:"tool_use_id,omitempty"`
	Content   []block `json:"content,omitempty"`
	IsError   bool    `json:"is_error,omitempty"`
	// thinking (Thinking and Signature) and redacted_thinking (Data)
	Thinking  *string `json:"thinking,omitempty"`
	Signature *string `json:"signature,omitempty"`
	Data      string  `json:"data,omitempty"`
}

type imageSource struct {
	Type      string `json:"type"` // base64 or url
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

type tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type toolChoice struct {
	Type                   string `json:"type"` // auto, any, tool, none
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
}

type metadata struct {
	UserID string `json:"user_id"`
}

func badRequest(msg string) error {
	return &provider.Error{Kind: provider.KindBadRequest, Message: msg}
}

// badParam is a bad request the client's field param caused.
func badParam(param, msg string) error {
	return &provider.Error{Kind: provider.KindBadRequest, Param: param, Message: msg}
}

// translate encodes the canonical body of req as a Messages request.
func (c *Client) translate(req *llm.Request, stream bool) ([]byte, error) {
	b, err := req.Body()
	if err != nil {
		return nil, &provider.Error{Kind: provider.KindBadRequest, Message: "cannot decode request body", Err: err}
	}
	out := messagesRequest{
		Model:         c.cfg.Model,
		MaxTokens:     req.MaxTokens,
		StopSequences: b.Stop,
		Temperature:   b.Temperature,
		TopP:          b.TopP,
		Stream:        stream,
		Messages:      make([]message, 0, len(b.Messages)),
		ServiceTier:   ServiceTier(b.ServiceTier),
	}
	if out.MaxTokens <= 0 {
		// The API requires max_tokens: the deployment's output limit,
		// as far as the context window leaves room for it.
		out.MaxTokens = c.cfg.MaxOutputTokens
		if out.MaxTokens <= 0 {
			out.MaxTokens = DefaultMaxTokens
		}
		out.MaxTokens = c.cfg.FitWindow(out.MaxTokens, req)
	}
	if t := out.Temperature; t != nil && *t > 1 {
		// OpenAI allows 0..2, Anthropic 0..1.
		one := 1.0
		out.Temperature = &one
	}
	if b.User != "" {
		out.Metadata = &metadata{UserID: b.User}
	}
	if len(b.ResponseFormat) > 0 {
		oc, err := outputConfigOf(b.ResponseFormat)
		if err != nil {
			return nil, err
		}
		out.OutputConfig = oc
	}
	var last *llm.Message
	for i := range b.Messages {
		if m := &b.Messages[i]; m.Role != llm.RoleSystem {
			if err := appendMessage(&out.Messages, m); err != nil {
				return nil, err
			}
			last = m
		}
	}
	if n := len(out.Messages); last != nil && last.Role != llm.RoleAssistant && (n == 0 || out.Messages[n-1].Role == "assistant") {
		// The client's last turn was an empty user message, dropped
		// (see appendMessage): the conversation would end on the
		// assistant, which the Messages API takes as the start of its
		// answer, not a question.
		return nil, badParam("messages", "the last user message is empty; an Anthropic deployment needs content to answer")
	}
	if system := provider.SystemPrompt(b); !blank(system) {
		out.System = system
		if c.cfg.CacheSystemPrompt {
			out.System = []systemBlock{{Type: "text", Text: system, CacheControl: &cacheControl{Type: "ephemeral"}}}
		}
	}
	for _, t := range b.Tools {
		schema := t.Parameters
		if len(schema) == 0 {
			schema = json.RawMessage(`{"type":"object"}`)
		} else if !wirejson.Valid(schema) {
			return nil, badRequest("tool " + t.Name + " has an invalid parameters schema")
		}
		out.Tools = append(out.Tools, tool{Name: t.Name, Description: t.Description, InputSchema: schema})
	}
	if tc := b.ToolChoice; tc != nil {
		switch tc.Mode {
		case "auto", "none":
			out.ToolChoice = &toolChoice{Type: tc.Mode}
		case "required":
			out.ToolChoice = &toolChoice{Type: "any"}
		case "tool":
			out.ToolChoice = &toolChoice{Type: "tool", Name: tc.Name}
		}
	}
	if len(b.Tools) == 0 {
		if names := historyToolNames(b.Messages); len(names) > 0 {
			// The client offered no tools, but its conversation calls
			// some (a summary turn sent without tools, a Responses
			// follow-up that does not send them again), and the
			// Messages API refuses tool_use and tool_result blocks
			// unless tools are defined: each tool called is declared,
			// with tool_choice none so the model calls none of them.
			for _, name := range names {
				out.Tools = append(out.Tools, tool{Name: name, Description: historyToolDescription, InputSchema: json.RawMessage(`{"type":"object"}`)})
			}
			out.ToolChoice = &toolChoice{Type: "none"}
		}
	}
	if b.NoParallelTools && len(out.Tools) > 0 {
		if out.ToolChoice == nil {
			out.ToolChoice = &toolChoice{Type: "auto"}
		}
		if out.ToolChoice.Type != "none" {
			out.ToolChoice.DisableParallelToolUse = true
		}
	}
	if c.cfg.Reasoning {
		c.think(&out, b)
	}
	body, err := json.Marshal(out)
	if err != nil {
		return nil, &provider.Error{Kind: provider.KindBadRequest, Message: "cannot encode request", Err: err}
	}
	return body, nil
}

// historyToolDescription describes a tool declared only because the
// conversation called it (see translate).
const historyToolDescription = "A tool used earlier in the conversation; it is not offered now."

// historyToolNames are the names of the tools msgs call, each once, in
// order.
func historyToolNames(msgs []llm.Message) []string {
	var names []string
	for _, m := range msgs {
		for _, call := range m.ToolCalls {
			if call.Name != "" && !slices.Contains(names, call.Name) {
				names = append(names, call.Name)
			}
		}
	}
	return names
}

// appendMessage adds m to msgs. Tool results become tool_result blocks of a
// user message; consecutive results, and a user turn right after them, share
// one user message, as the Messages API expects. So does any turn of the
// same role as the one before it, which the Messages API would join anyway.
//
// A turn with no content (an assistant's empty answer or a refusal whose
// text was not kept, an empty user message, or one of only whitespace) is
// dropped: the Messages API
// refuses empty content in any message but a final assistant one, and a
// placeholder would put words in the conversation that nobody said. The
// turns either side of it then share a role and are joined.
func appendMessage(msgs *[]message, m *llm.Message) error {
	var blocks []block
	role := "user"
	switch m.Role {
	case llm.RoleTool:
		blocks = []block{{Type: "tool_result", ToolUseID: m.ToolCallID, Content: partBlocks(m.Parts), IsError: m.IsError}}
	case llm.RoleAssistant:
		role = "assistant"
		blocks = append(thinkingBlocks(m.Thinking), partBlocks(m.Parts)...)
		for _, tc := range m.ToolCalls {
			input := json.RawMessage(tc.Arguments)
			if strings.TrimSpace(tc.Arguments) == "" {
				input = json.RawMessage("{}")
			} else if r := gjson.Parse(tc.Arguments); !wirejson.ValidString(tc.Arguments) || !r.IsObject() {
				return badRequest("arguments of tool call " + tc.ID + " are not a JSON object")
			}
			blocks = append(blocks, block{Type: "tool_use", ID: tc.ID, Name: tc.Name, Input: input})
		}
	default:
		blocks = partBlocks(m.Parts)
	}
	if len(blocks) == 0 {
		return nil
	}
	if n := len(*msgs); n > 0 {
		prev := &(*msgs)[n-1]
		if prev.Role == role {
			prev.Content = append(prev.Content, blocks...)
			return nil
		}
	}
	*msgs = append(*msgs, message{Role: role, Content: blocks})
	return nil
}

// thinkingBlocks are the thinking blocks a client sent back with an
// assistant message, as they came: Anthropic checks their signatures.
func thinkingBlocks(ts []llm.Thinking) []block {
	var out []block
	for _, t := range ts {
		if t.Redacted != "" {
			out = append(out, block{Type: "redacted_thinking", Data: t.Redacted})
			continue
		}
		out = append(out, block{Type: "thinking", Thinking: &t.Text, Signature: &t.Signature})
	}
	return out
}

// partBlocks converts content parts; blank text parts are dropped because
// the Messages API rejects text blocks that are empty or only whitespace.
func partBlocks(parts []llm.Part) []block {
	var out []block
	for _, p := range parts {
		switch p.Type {
		case llm.PartImage:
			out = append(out, block{Type: "image", Source: imageSourceOf(p.ImageURL)})
		default:
			if !blank(p.Text) {
				out = append(out, block{Type: "text", Text: &p.Text})
			}
		}
	}
	return out
}

// blank reports whether s is empty or only whitespace: text the Messages
// API refuses as a text block ("text content blocks must contain
// non-whitespace text"), and which says nothing.
func blank(s string) bool { return strings.TrimSpace(s) == "" }

// imageSourceOf turns a data: URL into a base64 source and anything else
// into a url source.
func imageSourceOf(u string) *imageSource {
	rest, ok := strings.CutPrefix(u, "data:")
	if !ok {
		return &imageSource{Type: "url", URL: u}
	}
	meta, data, _ := strings.Cut(rest, ",")
	media, _, _ := strings.Cut(meta, ";")
	return &imageSource{Type: "base64", MediaType: imageMediaType(media), Data: data}
}

// imageMediaType normalises a data URL's media type to the spelling the
// Messages API takes (image/jpeg, image/png, image/gif, image/webp): media
// types are case-insensitive, and image/jpg, which OpenAI accepts and many
// apps build from a file's extension, is image/jpeg (as the Bedrock
// translation reads it). Anything else is passed on lower-cased, for
// Anthropic to judge.
func imageMediaType(media string) string {
	m := strings.ToLower(strings.TrimSpace(media))
	if m == "image/jpg" || m == "image/pjpeg" {
		return "image/jpeg"
	}
	return m
}

// Carries says why req has no counterpart on an Anthropic deployment (what
// translate refuses though the request is valid: a response_format other
// than json_schema), or "" when it can carry it; a request in Anthropic's
// own dialect is relayed, and carried whole.
func (c *Client) Carries(req *llm.Request) string {
	if req.Dialect == llm.DialectAnthropic && len(req.Raw) > 0 || !req.JSONMode {
		return ""
	}
	b, err := req.Body()
	if err != nil || len(b.ResponseFormat) == 0 {
		return ""
	}
	switch typ := gjson.GetBytes(b.ResponseFormat, "type").String(); typ {
	case "", "text", "json_schema":
		return ""
	default:
		return "response_format " + strconv.Quote(typ)
	}
}

// outputConfigOf maps OpenAI's response_format onto Anthropic's structured
// output: json_schema becomes output_config.format; text needs nothing;
// json_object (any JSON, no schema) has no counterpart and is refused rather
// than dropped, which would answer in prose.
func outputConfigOf(rf json.RawMessage) (*outputConfig, error) {
	r := gjson.ParseBytes(rf)
	switch typ := r.Get("type").String(); typ {
	case "", "text":
		return nil, nil
	case "json_schema":
		schema := r.Get("json_schema.schema")
		if !schema.IsObject() {
			return nil, badParam("response_format", "response_format json_schema needs a schema object")
		}
		return &outputConfig{Format: outputFormat{Type: "json_schema", Schema: json.RawMessage(schema.Raw)}}, nil
	default:
		return nil, badParam("response_format", "response_format "+strconv.Quote(typ)+" has no counterpart on an Anthropic deployment; use json_schema")
	}
}

// think turns on extended thinking for a reasoning deployment when the
// client asked for reasoning (provider.Thinking says how much): the
// budget is added to max_tokens, and sampling settings, which thinking
// refuses, are dropped.
func (c *Client) think(out *messagesRequest, b *llm.Body) {
	forced := out.ToolChoice != nil && (out.ToolChoice.Type == "any" || out.ToolChoice.Type == "tool")
	budget, maxTokens, ok := provider.Thinking(b, out.MaxTokens, c.cfg.MaxOutputTokens, forced)
	if !ok {
		return
	}
	out.MaxTokens = maxTokens
	out.Thinking = &thinking{Type: "enabled", BudgetTokens: budget}
	out.Temperature, out.TopP = nil, nil
}
