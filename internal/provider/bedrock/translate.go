package bedrock

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

// converseRequest is the Converse (and ConverseStream) request body. The
// model is in the URL, not the body; so is the choice of streaming.
type converseRequest struct {
	Messages        []message        `json:"messages"`
	System          []systemBlock    `json:"system,omitempty"`
	InferenceConfig *inferenceConfig `json:"inferenceConfig,omitempty"`
	ToolConfig      *toolConfig      `json:"toolConfig,omitempty"`
	OutputConfig    *outputConfig    `json:"outputConfig,omitempty"`
	GuardrailConfig *guardrailConfig `json:"guardrailConfig,omitempty"`
	// AdditionalModelRequestFields carries what Converse has no field
	// for, in the model's own shape: Anthropic's extended thinking.
	AdditionalModelRequestFields *additionalFields `json:"additionalModelRequestFields,omitempty"`
	// AdditionalModelResponseFieldPaths asks for fields of the model's
	// own answer (JSON pointers), which Converse has no member for: the
	// stop sequence that ended it (stopSequencePath). A path the model's
	// answer lacks is ignored.
	AdditionalModelResponseFieldPaths []string           `json:"additionalModelResponseFieldPaths,omitempty"`
	ServiceTier                       *serviceTier       `json:"serviceTier,omitempty"`
	PerformanceConfig                 *performanceConfig `json:"performanceConfig,omitempty"`
}

// stopSequencePath points at the stop sequence that ended Claude's
// answer, which Converse's stopReason stop_sequence does not name.
const stopSequencePath = "/stop_sequence"

// performanceConfig asks for latency-optimized inference (on the models
// Bedrock offers it for) or the standard kind.
type performanceConfig struct {
	Latency string `json:"latency"`
}

// serviceTier is the processing tier a request asks for.
type serviceTier struct {
	Type string `json:"type"`
}

// ServiceTier is Bedrock's tier for an OpenAI client's service_tier: flex,
// priority and default are Bedrock's too; auto, scale and the rest leave
// the choice to Bedrock ("").
func ServiceTier(openAI string) string {
	switch openAI {
	case "flex", "priority", "default":
		return openAI
	}
	return ""
}

// guardrailConfig applies a Bedrock guardrail to the request (and, in a
// stream, checks the answer as it comes: sync, Bedrock's default).
type guardrailConfig struct {
	GuardrailIdentifier string `json:"guardrailIdentifier"`
	GuardrailVersion    string `json:"guardrailVersion"`
}

// systemBlock is a system prompt block: text, or a cache point marking
// the prompt before it for the prompt cache.
type systemBlock struct {
	Text       string      `json:"text,omitempty"`
	CachePoint *cachePoint `json:"cachePoint,omitempty"`
}

type cachePoint struct {
	Type string `json:"type"`
}

// inferenceConfig holds the sampling settings; unset members are left out.
type inferenceConfig struct {
	MaxTokens     int      `json:"maxTokens,omitempty"`
	Temperature   *float64 `json:"temperature,omitempty"`
	TopP          *float64 `json:"topP,omitempty"`
	StopSequences []string `json:"stopSequences,omitempty"`
}

// empty reports whether no member is set, so the object can be left out.
func (ic *inferenceConfig) empty() bool {
	return ic.MaxTokens == 0 && ic.Temperature == nil && ic.TopP == nil && len(ic.StopSequences) == 0
}

// message is one turn of the conversation, user or assistant.
type message struct {
	Role    string  `json:"role"`
	Content []block `json:"content"`
}

// block is one ContentBlock, a union: exactly one member is set. Tool
// results hold the same shape (a ToolResultContentBlock has text and
// image members too).
type block struct {
	Text             *string           `json:"text,omitempty"`
	Image            *imageBlock       `json:"image,omitempty"`
	ToolUse          *toolUse          `json:"toolUse,omitempty"`
	ToolResult       *toolResult       `json:"toolResult,omitempty"`
	ReasoningContent *reasoningContent `json:"reasoningContent,omitempty"`
	// CachePoint marks the prompt before it for the prompt cache.
	CachePoint *cachePoint `json:"cachePoint,omitempty"`
}

// imageBlock is an image, inline.
type imageBlock struct {
	Format string      `json:"format"` // png, jpeg, gif or webp
	Source imageSource `json:"source"`
}

// imageSource holds the image's bytes, base64 encoded as JSON carries a
// blob.
type imageSource struct {
	Bytes string `json:"bytes"`
}

// toolUse is a tool call the assistant made; Input is its arguments, a
// JSON object.
type toolUse struct {
	ToolUseID string          `json:"toolUseId"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
}

// toolResult answers the tool call ToolUseID, inside a user message.
type toolResult struct {
	ToolUseID string  `json:"toolUseId"`
	Content   []block `json:"content"`
	Status    string  `json:"status,omitempty"` // "error", or left out
}

// reasoningContent is a block of a reasoning model's thinking: its text
// with the signature that vouches for it, or a redacted block's opaque
// data (base64, as JSON carries a blob).
type reasoningContent struct {
	ReasoningText   *reasoningText `json:"reasoningText,omitempty"`
	RedactedContent string         `json:"redactedContent,omitempty"`
}

// reasoningText is thinking in the clear, with the signature that vouches
// for it (left out when the client sent none).
type reasoningText struct {
	Text      string `json:"text"`
	Signature string `json:"signature,omitempty"`
}

// toolConfig offers the tools, and says how the model may use them.
type toolConfig struct {
	Tools      []toolEntry `json:"tools"`
	ToolChoice *toolChoice `json:"toolChoice,omitempty"`
}

// toolEntry is a Tool union: a toolSpec, or a cachePoint marking the
// tools before it for the prompt cache.
type toolEntry struct {
	ToolSpec   *toolSpec   `json:"toolSpec,omitempty"`
	CachePoint *cachePoint `json:"cachePoint,omitempty"`
}

// toolSpec describes a function the model may call.
type toolSpec struct {
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	InputSchema inputSchema `json:"inputSchema"`
}

// inputSchema holds a tool's parameters, a JSON Schema object.
type inputSchema struct {
	JSON json.RawMessage `json:"json"`
}

// toolChoice is a ToolChoice union: {"auto":{}}, {"any":{}} or
// {"tool":{"name":…}}. Bedrock has no "none".
type toolChoice struct {
	Auto *struct{}     `json:"auto,omitempty"`
	Any  *struct{}     `json:"any,omitempty"`
	Tool *specificTool `json:"tool,omitempty"`
}

// specificTool names the tool a request forces.
type specificTool struct {
	Name string `json:"name"`
}

// additionalFields are the model-specific request fields sent: Claude
// takes Anthropic's own thinking and output_config there.
type additionalFields struct {
	Thinking     *thinking     `json:"thinking,omitempty"`
	OutputConfig *effortConfig `json:"output_config,omitempty"`
}

// thinking is Anthropic's extended thinking setting, as a Claude model on
// Bedrock takes it in additionalModelRequestFields: enabled with a
// budget, or adaptive (Claude decides, guided by the effort).
type thinking struct {
	Type         string `json:"type"`
	BudgetTokens int    `json:"budget_tokens,omitempty"`
}

// effortConfig is Anthropic's output_config.effort.
type effortConfig struct {
	Effort string `json:"effort"`
}

// badRequest is the error of a request this adapter cannot translate:
// the client's fault.
func badRequest(msg string) error {
	return &provider.Error{Kind: provider.KindBadRequest, Message: msg}
}

// badParam is a bad request the client's field param caused.
func badParam(param, msg string) error {
	return &provider.Error{Kind: provider.KindBadRequest, Param: param, Message: msg}
}

// translate encodes the canonical body of req as a Converse request.
// What Bedrock cannot say is refused as a bad request (an image URL, a
// JSON response format without a schema) rather than dropped, which would answer something
// other than what was asked; what does not change the answer (the end
// user's id, parallel tool use) is dropped.
func (c *Client) translate(req *llm.Request) ([]byte, error) {
	out, err := c.converse(req)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(out)
	if err != nil {
		return nil, &provider.Error{Kind: provider.KindBadRequest, Message: "cannot encode request", Err: err}
	}
	return body, nil
}

// openingTurn is the text of the user turn put before a conversation that
// starts with the assistant; Converse refuses an empty one.
const openingTurn = "(conversation start)"

// converse is the Converse request for req (see translate).
func (c *Client) converse(req *llm.Request) (*converseRequest, error) {
	b, err := req.Body()
	if err != nil {
		return nil, &provider.Error{Kind: provider.KindBadRequest, Message: "cannot decode request body", Err: err}
	}
	out := &converseRequest{Messages: make([]message, 0, len(b.Messages))}
	if c.cfg.GuardrailID != "" {
		out.GuardrailConfig = &guardrailConfig{GuardrailIdentifier: c.cfg.GuardrailID, GuardrailVersion: c.cfg.GuardrailVersion}
	}
	if t := ServiceTier(b.ServiceTier); t != "" {
		out.ServiceTier = &serviceTier{Type: t}
	}
	if c.cfg.Latency != "" {
		out.PerformanceConfig = &performanceConfig{Latency: c.cfg.Latency}
	}
	if out.OutputConfig, err = outputConfigOf(b.ResponseFormat); err != nil {
		return nil, err
	}
	ic := inferenceConfig{MaxTokens: req.MaxTokens, Temperature: b.Temperature, TopP: b.TopP, StopSequences: b.Stop}
	if len(b.Stop) > 0 {
		out.AdditionalModelResponseFieldPaths = []string{stopSequencePath}
	}
	if ic.MaxTokens <= 0 {
		// The deployment's output limit, as far as the context window
		// leaves room for it (Converse refuses input and maxTokens
		// beyond it, as Anthropic's API does).
		ic.MaxTokens = c.cfg.FitWindow(max(c.cfg.MaxOutputTokens, 0), req)
	}
	if t := ic.Temperature; t != nil && *t > 1 {
		// OpenAI allows 0..2, Bedrock's models 0..1.
		one := 1.0
		ic.Temperature = &one
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
		// assistant, which Converse takes as the start of its answer,
		// not a question.
		return nil, badParam("messages", "the last user message is empty; a Bedrock deployment needs content to answer")
	}
	if len(out.Messages) > 0 && out.Messages[0].Role == "assistant" {
		// Converse refuses a conversation that does not start with the
		// user, which chat apps send when they open with a greeting of
		// their own (OpenAI and Anthropic take it): a user turn holding
		// only openingTurn goes first.
		out.Messages = slices.Insert(out.Messages, 0, message{Role: "user", Content: []block{{Text: new(openingTurn)}}})
	}
	out.System = c.systemOf(b)
	if out.ToolConfig, err = toolConfigOf(b); err != nil {
		return nil, err
	}
	if c.cfg.Reasoning {
		out.AdditionalModelRequestFields = c.think(&ic, out, b)
	}
	if !ic.empty() {
		out.InferenceConfig = &ic
	}
	return out, nil
}

// systemOf is the request's system prompt as Converse's system blocks: a
// cache point after it when the client marked it, or after each of its
// blocks the client marked (see splitSystem), and after it all with
// prompt_cache system.
func (c *Client) systemOf(b *llm.Body) []systemBlock {
	var out []systemBlock
	if len(b.SystemParts) > 0 {
		out = splitSystem(b)
	} else if system := provider.SystemPrompt(b); !blank(system) {
		out = []systemBlock{{Text: system}}
		if b.SystemCacheMark {
			out = append(out, systemBlock{CachePoint: &cachePoint{Type: "default"}})
		}
	}
	if n := len(out); c.cfg.CacheSystemPrompt && n > 0 && out[n-1].CachePoint == nil {
		out = append(out, systemBlock{CachePoint: &cachePoint{Type: "default"}})
	}
	return out
}

// splitSystem is the system prompt the client sent in blocks
// (b.SystemParts) with a cache point after each block it marked: the
// blocks between two marks go as one text, joined as
// provider.SystemPrompt joins them, and any system messages after the
// last. The usual layout, static instructions marked before a dynamic
// part, then caches the static part alone, as the client meant: a cache
// point after the whole would miss whenever the dynamic part changes.
func splitSystem(b *llm.Body) []systemBlock {
	var (
		out  []systemBlock
		text []string
	)
	end := func() {
		if len(text) > 0 {
			out = append(out, systemBlock{Text: strings.Join(text, "\n\n")})
			text = nil
		}
	}
	for _, p := range b.SystemParts {
		if !blank(p.Text) {
			text = append(text, p.Text)
		}
		if p.CacheMark {
			end()
			if n := len(out); n > 0 && out[n-1].CachePoint == nil {
				out = append(out, systemBlock{CachePoint: &cachePoint{Type: "default"}})
			}
		}
	}
	for i := range b.Messages {
		if m := &b.Messages[i]; m.Role == llm.RoleSystem && !blank(m.Text()) {
			text = append(text, m.Text())
		}
	}
	end()
	return out
}

// outputConfigOf maps OpenAI's response_format onto Converse's structured
// output: json_schema becomes outputConfig.textFormat (the schema as a
// JSON string, as Converse takes it); text needs nothing; json_object
// (any JSON, no schema) has no counterpart and is refused rather than
// dropped, which would answer in prose.
func outputConfigOf(rf json.RawMessage) (*outputConfig, error) {
	if len(rf) == 0 {
		return nil, nil
	}
	r := gjson.ParseBytes(rf)
	switch typ := r.Get("type").String(); typ {
	case "", "text":
		return nil, nil
	case "json_schema":
		schema := r.Get("json_schema.schema")
		if !schema.IsObject() {
			return nil, badParam("response_format", "response_format json_schema needs a schema object")
		}
		def := jsonSchema{Schema: schema.Raw, Name: r.Get("json_schema.name").String(), Description: r.Get("json_schema.description").String()}
		return &outputConfig{TextFormat: textFormat{Type: "json_schema", Structure: formatStructure{JSONSchema: def}}}, nil
	default:
		return nil, badParam("response_format", "response_format "+strconv.Quote(typ)+" has no counterpart on a Bedrock deployment; use json_schema")
	}
}

// Carries says why req has no counterpart on a Bedrock deployment (what
// translate refuses though the request is valid: an image URL, an image
// type Converse does not read, a data URL that is not base64, a
// response_format other than json_schema),
// or "" when it can carry it. A body that does not decode is left to the
// translation, whose error says what is wrong with it.
func (c *Client) Carries(req *llm.Request) string {
	if !req.HasImages && !req.JSONMode {
		return ""
	}
	b, err := req.Body()
	if err != nil {
		return ""
	}
	for i := range b.Messages {
		for _, p := range b.Messages[i].Parts {
			if p.Type != llm.PartImage {
				continue
			}
			rest, ok := strings.CutPrefix(p.ImageURL, "data:")
			if !ok {
				return "image URLs"
			}
			meta, _, _ := strings.Cut(rest, ",")
			media, params, _ := strings.Cut(meta, ";")
			if imageFormat(media) == "" {
				return "images of type " + strconv.Quote(media)
			}
			if !base64Params(params) {
				return "image data URLs that are not base64"
			}
		}
	}
	if typ := responseFormatType(b.ResponseFormat); typ != "" && typ != "text" && typ != "json_schema" {
		return "response_format " + strconv.Quote(typ)
	}
	return ""
}

// responseFormatType is the type of an OpenAI response_format, "" for none.
func responseFormatType(rf json.RawMessage) string {
	if len(rf) == 0 {
		return ""
	}
	return gjson.GetBytes(rf, "type").String()
}

// outputConfig asks for structured output: text following a JSON schema.
type outputConfig struct {
	TextFormat textFormat `json:"textFormat"`
}

type textFormat struct {
	Type      string          `json:"type"`
	Structure formatStructure `json:"structure"`
}

type formatStructure struct {
	JSONSchema jsonSchema `json:"jsonSchema"`
}

// jsonSchema is a schema by value: Converse takes it as a string.
type jsonSchema struct {
	Schema      string `json:"schema"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
}

// toolConfigOf is the request's toolConfig: nil when there are no tools,
// or when the client chose none (Bedrock has no way to forbid tool use
// but to offer none), unless the conversation holds tool calls: Converse
// refuses those without a toolConfig, so the tools are offered then, with
// no choice (the model decides), and a request with no tools declares
// the ones its history calls (see historyTools).
func toolConfigOf(b *llm.Body) (*toolConfig, error) {
	none := b.ToolChoice != nil && b.ToolChoice.Mode == "none"
	if len(b.Tools) == 0 {
		return historyTools(b.Messages), nil
	}
	if none && !usesTools(b.Messages) {
		return nil, nil
	}
	tc := &toolConfig{Tools: make([]toolEntry, 0, len(b.Tools))}
	for _, t := range b.Tools {
		schema := t.Parameters
		if len(schema) == 0 {
			schema = json.RawMessage(`{"type":"object"}`)
		} else if !wirejson.Valid(schema) {
			return nil, badRequest("tool " + t.Name + " has an invalid parameters schema")
		}
		tc.Tools = append(tc.Tools, toolEntry{ToolSpec: &toolSpec{Name: t.Name, Description: t.Description, InputSchema: inputSchema{JSON: schema}}})
		if t.CacheMark {
			tc.Tools = append(tc.Tools, toolEntry{CachePoint: &cachePoint{Type: "default"}})
		}
	}
	if ch := b.ToolChoice; ch != nil && !none {
		switch ch.Mode {
		case "auto":
			tc.ToolChoice = &toolChoice{Auto: &struct{}{}}
		case "required":
			tc.ToolChoice = &toolChoice{Any: &struct{}{}}
		case "tool":
			tc.ToolChoice = &toolChoice{Tool: &specificTool{Name: ch.Name}}
		}
	}
	return tc, nil
}

// historyTools is the toolConfig of a request that offers no tools but
// whose conversation holds tool calls (a summary turn sent without tools,
// a Responses follow-up that does not send them again), nil when it names
// none: Converse refuses toolUse and toolResult blocks without a
// toolConfig, so each tool the history names is declared, with an object
// schema and a description saying so. Converse has no tool choice "none",
// so the model could in principle call one of them, though the client
// offered none and it has no parameters to go by.
func historyTools(msgs []llm.Message) *toolConfig {
	var tools []toolEntry
	for _, name := range historyToolNames(msgs) {
		tools = append(tools, toolEntry{ToolSpec: &toolSpec{Name: name, Description: historyToolDescription, InputSchema: inputSchema{JSON: json.RawMessage(`{"type":"object"}`)}}})
	}
	if tools == nil {
		return nil
	}
	return &toolConfig{Tools: tools}
}

// historyToolDescription describes a tool declared only because the
// conversation used it (see historyTools).
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

// usesTools reports whether msgs hold a tool call or a tool result.
func usesTools(msgs []llm.Message) bool {
	return slices.ContainsFunc(msgs, func(m llm.Message) bool { return len(m.ToolCalls) > 0 || m.Role == llm.RoleTool })
}

// appendMessage adds m to msgs. Tool results become toolResult blocks of a
// user message. Converse wants the roles to alternate, so a message of
// the same role as the one before it (consecutive tool results, a user
// turn right after them, two user turns in a row, which other APIs take)
// joins that message.
//
// A turn with no content (an assistant's empty answer or a refusal whose
// text was not kept, an empty user message, or one of only whitespace) is
// dropped: Converse refuses
// a message whose content is empty, and a placeholder would put words in
// the conversation that nobody said. The turns either side of it then
// share a role and are joined.
func appendMessage(msgs *[]message, m *llm.Message) error {
	var blocks []block
	role := "user"
	switch m.Role {
	case llm.RoleTool:
		content, err := partBlocks(m.Parts, false)
		if err != nil {
			return err
		}
		if content == nil {
			content = []block{} // content is required, even when empty
		}
		tr := &toolResult{ToolUseID: m.ToolCallID, Content: content}
		if m.IsError {
			tr.Status = "error"
		}
		blocks = []block{{ToolResult: tr}}
		if m.CacheMark {
			blocks = append(blocks, cachePointBlock)
		}
	case llm.RoleAssistant:
		role = "assistant"
		parts, err := partBlocks(m.Parts, true)
		if err != nil {
			return err
		}
		blocks = append(thinkingBlocks(m.Thinking), parts...)
		for _, tc := range m.ToolCalls {
			input := json.RawMessage(tc.Arguments)
			if strings.TrimSpace(tc.Arguments) == "" {
				input = json.RawMessage("{}")
			} else if r := gjson.Parse(tc.Arguments); !wirejson.ValidString(tc.Arguments) || !r.IsObject() {
				return badRequest("arguments of tool call " + tc.ID + " are not a JSON object")
			}
			blocks = append(blocks, block{ToolUse: &toolUse{ToolUseID: tc.ID, Name: tc.Name, Input: input}})
		}
	default:
		var err error
		if blocks, err = partBlocks(m.Parts, true); err != nil {
			return err
		}
	}
	if len(blocks) == 0 {
		return nil
	}
	if n := len(*msgs); n > 0 && (*msgs)[n-1].Role == role {
		prev := &(*msgs)[n-1]
		prev.Content = append(prev.Content, blocks...)
		return nil
	}
	*msgs = append(*msgs, message{Role: role, Content: blocks})
	return nil
}

// thinkingBlocks are the thinking blocks a client sent back with an
// assistant message, as they came: the model checks their signatures.
func thinkingBlocks(ts []llm.Thinking) []block {
	var out []block
	for _, t := range ts {
		if t.Redacted != "" {
			out = append(out, block{ReasoningContent: &reasoningContent{RedactedContent: t.Redacted}})
			continue
		}
		out = append(out, block{ReasoningContent: &reasoningContent{ReasoningText: &reasoningText{Text: t.Text, Signature: t.Signature}}})
	}
	return out
}

// partBlocks converts content parts; blank text parts (empty or only
// whitespace) are dropped because Converse rejects them ("the text field
// in the ContentBlock object is blank"). With marks, a part the client marked
// for the prompt cache is followed by a cache point (a tool result's
// content takes none: its message is marked instead).
func partBlocks(parts []llm.Part, marks bool) ([]block, error) {
	var out []block
	for _, p := range parts {
		switch p.Type {
		case llm.PartImage:
			img, err := imageBlockOf(p.ImageURL)
			if err != nil {
				return nil, err
			}
			out = append(out, block{Image: img})
		default:
			if !blank(p.Text) {
				out = append(out, block{Text: &p.Text})
			}
		}
		if marks && p.CacheMark && len(out) > 0 {
			out = append(out, cachePointBlock)
		}
	}
	return out, nil
}

// blank reports whether s is empty or only whitespace: text Converse
// refuses as a text block, and which says nothing.
func blank(s string) bool { return strings.TrimSpace(s) == "" }

// cachePointBlock marks the prompt before it for the prompt cache.
var cachePointBlock = block{CachePoint: &cachePoint{Type: "default"}}

// imageBlockOf turns a base64 data: URL into an image block. Converse
// takes an image's bytes (or an S3 location), never a web URL, so any
// other URL is the client's bad request; so is an image type it does not
// read.
func imageBlockOf(u string) (*imageBlock, error) {
	rest, ok := strings.CutPrefix(u, "data:")
	if !ok {
		return nil, badRequest("an image URL has no counterpart on a Bedrock deployment; send the image inline as a data: URL")
	}
	meta, data, _ := strings.Cut(rest, ",")
	media, params, _ := strings.Cut(meta, ";")
	format := imageFormat(media)
	if format == "" {
		return nil, badRequest("image type " + strconv.Quote(media) + " has no counterpart on a Bedrock deployment; send png, jpeg, gif or webp")
	}
	if !base64Params(params) {
		return nil, badRequest("image data URL is not base64")
	}
	return &imageBlock{Format: format, Source: imageSource{Bytes: data}}, nil
}

// base64Params reports whether a data: URL's parameters (what follows its
// media type's ";") end in base64, the only encoding Converse takes.
func base64Params(params string) bool {
	return strings.EqualFold(params, "base64") || strings.HasSuffix(strings.ToLower(params), ";base64")
}

// imageFormat is Converse's image format for a media type, "" for one it
// does not take.
func imageFormat(media string) string {
	switch strings.ToLower(strings.TrimSpace(media)) {
	case "image/png":
		return "png"
	case "image/jpeg", "image/jpg":
		return "jpeg"
	case "image/gif":
		return "gif"
	case "image/webp":
		return "webp"
	}
	return ""
}

// think turns on Claude's extended thinking for a reasoning deployment
// when the client asked for reasoning (provider.Thinking says how much:
// an OpenAI client's effort on top of the answer's limit, the request's,
// the deployment's, or DefaultMaxTokens; an Anthropic client's budget
// inside its max_tokens), as additionalModelRequestFields.thinking;
// sampling settings, which thinking refuses, are dropped. An Anthropic
// client's adaptive thinking and output_config.effort are sent as they
// are, in the same fields of additionalModelRequestFields as Anthropic's
// API takes them (adaptive thinking not with a forced tool, nor in a tool
// cycle, as provider.Thinking has it).
func (c *Client) think(ic *inferenceConfig, out *converseRequest, b *llm.Body) *additionalFields {
	answer := ic.MaxTokens
	if answer <= 0 {
		answer = DefaultMaxTokens
	}
	forced := out.ToolConfig != nil && out.ToolConfig.ToolChoice != nil &&
		(out.ToolConfig.ToolChoice.Any != nil || out.ToolConfig.ToolChoice.Tool != nil)
	var add additionalFields
	if b.Effort != "" {
		add.OutputConfig = &effortConfig{Effort: b.Effort}
	}
	if b.ThinkingAdaptive && b.ThinkingBudget == 0 {
		if !forced && !provider.InToolCycle(b.Messages) {
			add.Thinking = &thinking{Type: "adaptive"}
			ic.Temperature, ic.TopP = nil, nil
		}
	} else if budget, maxTokens, ok := provider.Thinking(b, answer, c.cfg.MaxOutputTokens, forced); ok {
		ic.MaxTokens = maxTokens
		ic.Temperature, ic.TopP = nil, nil
		add.Thinking = &thinking{Type: "enabled", BudgetTokens: budget}
	}
	if add == (additionalFields{}) {
		return nil
	}
	return &add
}
