package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// bedrockAPI is the Amazon Bedrock Converse dialect. arrived is when the
// request came in, for the answer's metrics.latencyMs.
type bedrockAPI struct {
	s       *Server
	arrived time.Time
}

var _ dialect = bedrockAPI{}

// brModelErrors prefixes the errors Bedrock relays from the model (here,
// Claude's request validation), as the real service words them.
const brModelErrors = "The model returned the following errors: "

// brFields are the top-level fields of a Converse request; any other is
// refused.
var brFields = []string{
	"messages", "system", "inferenceConfig", "toolConfig", "additionalModelRequestFields",
	"additionalModelResponseFieldPaths", "guardrailConfig", "outputConfig", "performanceConfig",
	"promptVariables", "requestMetadata", "serviceTier",
}

// brRequest is the part of a Converse request the simulator reads.
type brRequest struct {
	Messages        []brMessage `json:"messages"`
	System          []brBlock   `json:"system"`
	InferenceConfig *struct {
		MaxTokens   *int     `json:"maxTokens"`
		Temperature *float64 `json:"temperature"`
	} `json:"inferenceConfig"`
	ToolConfig *struct {
		Tools []struct {
			ToolSpec *struct {
				Name        string `json:"name"`
				Description string `json:"description"`
				InputSchema struct {
					JSON json.RawMessage `json:"json"`
				} `json:"inputSchema"`
			} `json:"toolSpec"`
			CachePoint json.RawMessage `json:"cachePoint"`
		} `json:"tools"`
		ToolChoice *struct {
			Auto *struct{} `json:"auto"`
			Any  *struct{} `json:"any"`
			Tool *struct {
				Name string `json:"name"`
			} `json:"tool"`
		} `json:"toolChoice"`
	} `json:"toolConfig"`
	OutputConfig *struct {
		TextFormat *struct {
			Type      string `json:"type"`
			Structure struct {
				JSONSchema *struct {
					Schema string `json:"schema"`
				} `json:"jsonSchema"`
			} `json:"structure"`
		} `json:"textFormat"`
	} `json:"outputConfig"`
	GuardrailConfig *struct {
		GuardrailIdentifier string `json:"guardrailIdentifier"`
	} `json:"guardrailConfig"`
	ServiceTier *struct {
		Type string `json:"type"`
	} `json:"serviceTier"`
	PerformanceConfig *struct {
		Latency string `json:"latency"`
	} `json:"performanceConfig"`
	AdditionalModelRequestFields struct {
		Thinking *struct {
			Type         string `json:"type"`
			BudgetTokens int    `json:"budget_tokens"`
		} `json:"thinking"`
	} `json:"additionalModelRequestFields"`
}

// brMessage is one message of a Converse request.
type brMessage struct {
	Role    string    `json:"role"`
	Content []brBlock `json:"content"`
}

// brBlock is one content block (also a system block, or a tool result's
// content): a union, exactly one member set. The members the simulator
// does not read are kept raw.
type brBlock struct {
	Text  *string `json:"text"`
	Image *struct {
		Format string `json:"format"`
	} `json:"image"`
	ToolUse *struct {
		ToolUseID string          `json:"toolUseId"`
		Name      string          `json:"name"`
		Input     json.RawMessage `json:"input"`
	} `json:"toolUse"`
	ToolResult *struct {
		ToolUseID string    `json:"toolUseId"`
		Content   []brBlock `json:"content"`
	} `json:"toolResult"`
	ReasoningContent *struct {
		ReasoningText *struct {
			Text      string `json:"text"`
			Signature string `json:"signature"`
		} `json:"reasoningText"`
		RedactedContent []byte `json:"redactedContent"`
	} `json:"reasoningContent"`
	JSON json.RawMessage `json:"json"` // a tool result's JSON content

	CachePoint       json.RawMessage `json:"cachePoint"`
	Document         json.RawMessage `json:"document"`
	Video            json.RawMessage `json:"video"`
	Audio            json.RawMessage `json:"audio"`
	GuardContent     json.RawMessage `json:"guardContent"`
	CitationsContent json.RawMessage `json:"citationsContent"`
	SearchResult     json.RawMessage `json:"searchResult"`
}

// kind is the member set in the block, or "" when there is not exactly one.
func (b brBlock) kind() string {
	set := map[string]bool{
		"text": b.Text != nil, "image": b.Image != nil, "toolUse": b.ToolUse != nil,
		"toolResult": b.ToolResult != nil, "reasoningContent": b.ReasoningContent != nil,
		"json": b.JSON != nil, "cachePoint": b.CachePoint != nil, "document": b.Document != nil,
		"video": b.Video != nil, "audio": b.Audio != nil, "guardContent": b.GuardContent != nil,
		"citationsContent": b.CitationsContent != nil, "searchResult": b.SearchResult != nil,
	}
	kind := ""
	for k, ok := range set {
		if ok {
			if kind != "" {
				return ""
			}
			kind = k
		}
	}
	return kind
}

// writeError sends a Bedrock error: its type in X-Amzn-ErrorType, its message
// in the JSON body.
func (d bedrockAPI) writeError(w http.ResponseWriter, status int, typ, msg string, retryAfter time.Duration) {
	h := map[string]string{"X-Amzn-ErrorType": typ, "x-amzn-RequestId": d.requestID()}
	if retryAfter > 0 {
		h["Retry-After"] = retryAfterSeconds(retryAfter)
	}
	writeJSON(w, status, map[string]string{"message": msg}, h)
}

// bedrockAuthorized reports whether the request carries credentials: a
// Bedrock API key (Bearer) or a SigV4 signature for the bedrock service.
// The signature itself is not checked.
func bedrockAuthorized(r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	if key, ok := strings.CutPrefix(auth, "Bearer "); ok {
		return strings.TrimSpace(key) != ""
	}
	return strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=") && strings.Contains(auth, "/bedrock/aws4_request")
}

// handleConverse answers POST /model/{modelId}/converse.
func (s *Server) handleConverse(w http.ResponseWriter, r *http.Request) {
	s.handleBedrock(w, r, false)
}

// handleConverseStream answers POST /model/{modelId}/converse-stream.
func (s *Server) handleConverseStream(w http.ResponseWriter, r *http.Request) {
	s.handleBedrock(w, r, true)
}

// handleBedrock checks a Converse request's credentials and body, and
// serves the chat.
func (s *Server) handleBedrock(w http.ResponseWriter, r *http.Request, stream bool) {
	d := bedrockAPI{s: s, arrived: time.Now()}
	model := r.PathValue("modelId")
	refuse := func(status int, typ, msg string) {
		c := s.begin(model, r.URL.Path, stream)
		d.writeError(&recorder{ResponseWriter: w, c: c}, status, typ, msg, 0)
	}
	if !bedrockAuthorized(r) {
		refuse(http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid.")
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		refuse(http.StatusBadRequest, "ValidationException", "Unable to read the request body.")
		return
	}
	p, msg := parseBedrock(body)
	if msg != "" {
		refuse(http.StatusBadRequest, "ValidationException", msg)
		return
	}
	s.chat(w, r, d, model, p, stream)
}

// handleBedrockCountTokens answers POST /model/{modelId}/count-tokens for
// a Converse input, {"input":{"converse":{messages, system, toolConfig,
// additionalModelRequestFields}}}, with {"inputTokens": N}: the input
// tokens the same Converse request would count. Like Anthropic's count
// endpoint, it is not recorded as a call and injects no fault.
func (s *Server) handleBedrockCountTokens(w http.ResponseWriter, r *http.Request) {
	d := bedrockAPI{s: s, arrived: time.Now()}
	if !bedrockAuthorized(r) {
		d.writeError(w, http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid.", 0)
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		d.writeError(w, http.StatusBadRequest, "ValidationException", "Unable to read the request body.", 0)
		return
	}
	var in struct {
		Input struct {
			Converse json.RawMessage `json:"converse"`
		} `json:"input"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.Input.Converse == nil {
		d.writeError(w, http.StatusBadRequest, "ValidationException", "Malformed input request: input.converse is required, please reformat your input and try again.", 0)
		return
	}
	for _, k := range []string{"inferenceConfig", "outputConfig", "guardrailConfig"} {
		if hasKey(in.Input.Converse, k) {
			d.writeError(w, http.StatusBadRequest, "ValidationException", fmt.Sprintf("Malformed input request: extraneous key [%s] is not permitted, please reformat your input and try again.", k), 0)
			return
		}
	}
	p, msg := parseBedrock(in.Input.Converse)
	if msg != "" {
		d.writeError(w, http.StatusBadRequest, "ValidationException", msg, 0)
		return
	}
	if _, ok := s.lookup(r.PathValue("modelId")); !ok {
		d.notFound(w, r.PathValue("modelId"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"inputTokens": p.inputTokens()}, nil)
}

// hasKey reports whether a JSON object has the top-level key k.
func hasKey(obj json.RawMessage, k string) bool {
	var fields map[string]json.RawMessage
	if json.Unmarshal(obj, &fields) != nil {
		return false
	}
	_, ok := fields[k]
	return ok
}

// parseBedrock decodes a Converse body into a prompt, or returns the
// message of a 400.
func parseBedrock(body []byte) (*prompt, string) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, "Malformed input request: " + errDecode(err) + ", please reformat your input and try again."
	}
	for k := range fields {
		if !slices.Contains(brFields, k) {
			return nil, fmt.Sprintf("Malformed input request: extraneous key [%s] is not permitted, please reformat your input and try again.", k)
		}
	}
	var req brRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, "Malformed input request: " + errDecode(err) + ", please reformat your input and try again."
	}
	if t := req.ServiceTier; t != nil && !slices.Contains([]string{"priority", "default", "flex", "reserved"}, t.Type) {
		return nil, fmt.Sprintf("1 validation error detected: Value '%s' at 'serviceTier.type' failed to satisfy constraint: Member must satisfy enum value set: [priority, default, flex, reserved]", t.Type)
	}
	if p := req.PerformanceConfig; p != nil && p.Latency != "standard" && p.Latency != "optimized" {
		return nil, fmt.Sprintf("1 validation error detected: Value '%s' at 'performanceConfig.latency' failed to satisfy constraint: Member must satisfy enum value set: [standard, optimized]", p.Latency)
	}
	return req.prompt()
}

// prompt extracts the prompt, or returns the message of a 400.
func (req *brRequest) prompt() (*prompt, string) {
	if msg := req.checkMessages(); msg != "" {
		return nil, msg
	}
	p := &prompt{}
	// The prompt is read in the provider's cache order: tools, system,
	// messages; a cache point among the tools caches the tools before it.
	req.addTools(p)
	if msg := addBedrockBlocks(p, req.System, "system"); msg != "" {
		return nil, msg
	}
	tools := false
	for i, m := range req.Messages {
		p.add(m.Role)
		if msg := addBedrockBlocks(p, m.Content, fmt.Sprintf("messages.%d.content", i)); msg != "" {
			return nil, msg
		}
		for _, b := range m.Content {
			tools = tools || b.ToolUse != nil || b.ToolResult != nil
		}
	}
	if tools && req.ToolConfig == nil {
		return nil, "The toolConfig field must be defined when using toolUse and toolResult content blocks."
	}
	last := req.Messages[len(req.Messages)-1]
	p.lastFromUser = last.Role == "user"
	for _, b := range last.Content {
		if b.ToolResult != nil {
			p.lastFromUser = false
		}
	}
	p.guardrail = req.GuardrailConfig != nil && req.GuardrailConfig.GuardrailIdentifier != ""
	req.setOutput(p)
	if msg := req.setInference(p); msg != "" {
		return nil, msg
	}
	if msg := thinkingSigned(req.anthropicMessages()); msg != "" {
		return nil, brModelErrors + msg
	}
	if msg := req.setThinking(p); msg != "" {
		return nil, msg
	}
	return p, ""
}

// checkMessages refuses a conversation Bedrock refuses: none, a role other
// than user or assistant, not starting with the user, or not alternating.
func (req *brRequest) checkMessages() string {
	if len(req.Messages) == 0 {
		return "A conversation must start with a user message. Try again with a conversation that starts with a user message."
	}
	for i, m := range req.Messages {
		if m.Role != "user" && m.Role != "assistant" {
			return fmt.Sprintf("1 validation error detected: Value '%s' at 'messages.%d.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]", m.Role, i+1)
		}
		switch {
		case i == 0 && m.Role != "user":
			return "A conversation must start with a user message. Try again with a conversation that starts with a user message."
		case i > 0 && m.Role == req.Messages[i-1].Role:
			return "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again."
		}
	}
	return ""
}

// addBedrockBlocks adds content blocks to the prompt as the Anthropic
// dialect adds the same blocks, so the same conversation gets the same
// answer; where names the blocks in an error.
func addBedrockBlocks(p *prompt, blocks []brBlock, where string) string {
	for j, b := range blocks {
		switch b.kind() {
		case "":
			return fmt.Sprintf("%s.%d: exactly one member of the content block must be set.", where, j)
		case "text":
			if strings.TrimSpace(*b.Text) == "" {
				return fmt.Sprintf("The text field in the ContentBlock object at %s.%d is blank. Add text to the text field, and try again.", where, j)
			}
			p.add(*b.Text)
		case "image":
			if !slices.Contains([]string{"png", "jpeg", "gif", "webp"}, b.Image.Format) {
				return fmt.Sprintf("1 validation error detected: Value '%s' at '%s.%d.member.image.format' failed to satisfy constraint: Member must satisfy enum value set: [gif, jpeg, png, webp]", b.Image.Format, where, j)
			}
			p.images++
		case "toolUse":
			p.add(b.ToolUse.Name)
			p.add(string(b.ToolUse.Input))
		case "toolResult":
			if msg := addBedrockBlocks(p, b.ToolResult.Content, fmt.Sprintf("%s.%d.toolResult.content", where, j)); msg != "" {
				return msg
			}
		case "json":
			p.add(string(b.JSON))
		case "reasoningContent":
			p.add("") // as a thinking block, whose text is not prompt text
		case "cachePoint":
			// The prompt up to here is cached, as Bedrock caches what a
			// cache point marks.
			p.cacheMark = p.text.Len()
		default:
			p.add(string(b.raw()))
		}
	}
	return ""
}

// raw is the value of a block member the simulator does not read.
func (b brBlock) raw() json.RawMessage {
	for _, v := range []json.RawMessage{b.Document, b.Video, b.Audio, b.GuardContent, b.CitationsContent, b.SearchResult} {
		if v != nil {
			return v
		}
	}
	return nil
}

// addTools reads the tool config: the tools' specs and the tool choice.
func (req *brRequest) addTools(p *prompt) {
	tc := req.ToolConfig
	if tc == nil {
		return
	}
	for _, t := range tc.Tools {
		if t.ToolSpec == nil {
			if t.CachePoint != nil {
				p.cacheMark = p.text.Len() // the tools before it are cached
			}
			continue // or a system tool
		}
		spec := t.ToolSpec
		p.tools = append(p.tools, tool{name: spec.Name, schema: spec.InputSchema.JSON})
		p.add(spec.Name)
		p.add(spec.Description)
		p.add(string(spec.InputSchema.JSON))
	}
	if c := tc.ToolChoice; c != nil {
		switch {
		case c.Any != nil:
			p.choice = toolRequired
		case c.Tool != nil:
			p.choice, p.forcedTool = toolRequired, c.Tool.Name
		}
	}
}

// setOutput reads a JSON-schema output format.
func (req *brRequest) setOutput(p *prompt) {
	if req.OutputConfig == nil || req.OutputConfig.TextFormat == nil {
		return
	}
	f := req.OutputConfig.TextFormat
	if f.Type != "json_schema" {
		return
	}
	p.jsonMode = true
	if s := f.Structure.JSONSchema; s != nil && json.Valid([]byte(s.Schema)) {
		p.jsonSchema = json.RawMessage(s.Schema)
	}
}

// setInference reads maxTokens and temperature. Without maxTokens the
// answer is not cut short, as OpenAI's without max_tokens.
func (req *brRequest) setInference(p *prompt) string {
	ic := req.InferenceConfig
	if ic == nil {
		return ""
	}
	if ic.MaxTokens != nil {
		if *ic.MaxTokens < 1 {
			return fmt.Sprintf("1 validation error detected: Value '%d' at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1", *ic.MaxTokens)
		}
		p.maxTokens = *ic.MaxTokens
	}
	p.temperature = ic.Temperature
	return ""
}

// setThinking reads Claude's thinking from additionalModelRequestFields
// and checks it as Claude does, in Bedrock's words.
func (req *brRequest) setThinking(p *prompt) string {
	t := req.AdditionalModelRequestFields.Thinking
	if t == nil || t.Type != "enabled" && t.Type != "adaptive" {
		return ""
	}
	adaptive := t.Type == "adaptive"
	switch {
	case adaptive:
		// Claude decides how much to think: the sim thinks as for a
		// budget (adaptiveBudget).
	case t.BudgetTokens < 1024:
		return brModelErrors + "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
	case p.maxTokens > 0 && p.maxTokens <= t.BudgetTokens:
		return brModelErrors + "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size"
	case p.temperature != nil && *p.temperature != 1:
		return brModelErrors + "`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking#important-considerations-when-using-extended-thinking"
	}
	if msg := thinkingToolCycle(req.anthropicMessages()); msg != "" {
		return brModelErrors + msg
	}
	p.thinkBudget = t.BudgetTokens
	if adaptive {
		p.thinkBudget = adaptiveBudget
	}
	return ""
}

// anthropicMessages is the conversation as Bedrock hands it to Claude,
// block for block, so that Claude's checks of thinking blocks apply.
func (req *brRequest) anthropicMessages() []anMessage {
	out := make([]anMessage, len(req.Messages))
	for i, m := range req.Messages {
		blocks := make([]anBlock, len(m.Content))
		for j, b := range m.Content {
			blocks[j] = b.anthropic()
		}
		out[i] = anMessage{Role: m.Role, Content: mustJSON(blocks)}
	}
	return out
}

// anthropic is the Messages block a Converse block becomes.
func (b brBlock) anthropic() anBlock {
	switch {
	case b.ReasoningContent != nil && b.ReasoningContent.ReasoningText != nil:
		rt := b.ReasoningContent.ReasoningText
		return anBlock{Type: "thinking", Thinking: rt.Text, Signature: rt.Signature}
	case b.ReasoningContent != nil:
		return anBlock{Type: "redacted_thinking", Data: string(b.ReasoningContent.RedactedContent)}
	case b.ToolUse != nil:
		return anBlock{Type: "tool_use", Name: b.ToolUse.Name}
	case b.ToolResult != nil:
		return anBlock{Type: "tool_result"}
	case b.Image != nil:
		return anBlock{Type: "image"}
	case b.Document != nil:
		return anBlock{Type: "document"}
	}
	return anBlock{Type: "text"}
}

// badRequest answers 400 ValidationException.
func (d bedrockAPI) badRequest(w http.ResponseWriter, msg string) {
	d.writeError(w, http.StatusBadRequest, "ValidationException", msg, 0)
}

// notFound answers an unknown model id, as 404 ResourceNotFoundException.
func (d bedrockAPI) notFound(w http.ResponseWriter, model string) {
	d.writeError(w, http.StatusNotFound, "ResourceNotFoundException", "The provided model identifier is invalid.", 0)
}

// statusError answers a status fault with the exception Bedrock sends
// with that status.
func (d bedrockAPI) statusError(w http.ResponseWriter, status int, retryAfter time.Duration) {
	typ, msg := "InternalServerException", "The system encountered an unexpected error during processing. Try your request again."
	switch {
	case status == http.StatusUnauthorized:
		typ, msg = "UnrecognizedClientException", "The security token included in the request is invalid."
	case status == http.StatusForbidden:
		typ, msg = "AccessDeniedException", "You don't have access to the model with the specified model ID."
	case status == http.StatusNotFound:
		typ, msg = "ResourceNotFoundException", "The requested resource could not be found."
	case status == http.StatusRequestTimeout || status == http.StatusGatewayTimeout:
		typ, msg = "ModelTimeoutException", "Model has timed out in processing the request. Try your request again."
	case status == http.StatusFailedDependency:
		typ, msg = "ModelErrorException", "The model encountered an error processing the request. Try your request again."
	case status == http.StatusTooManyRequests:
		typ, msg = "ThrottlingException", "Too many requests, please wait before trying again."
	case status == http.StatusServiceUnavailable || status == 529:
		typ, msg = "ServiceUnavailableException", "Bedrock is unable to process your request."
	case status < 500:
		typ, msg = "ValidationException", http.StatusText(status)
	}
	d.writeError(w, status, typ, msg, retryAfter)
}

// contextError answers a prompt too long for the model; Bedrock gives no
// counts.
func (d bedrockAPI) contextError(w http.ResponseWriter, input, maxTokens, window int) {
	d.writeError(w, http.StatusBadRequest, "ValidationException", "Input is too long for requested model.", 0)
}

// policyError answers a request blocked by content filters.
func (d bedrockAPI) policyError(w http.ResponseWriter) {
	d.writeError(w, http.StatusBadRequest, "ValidationException", "The request was blocked by content filters.", 0)
}

// requestID is a fresh request id in Bedrock's UUID shape.
func (d bedrockAPI) requestID() string {
	id := d.s.nextID(32)
	return id[:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:]
}

// brUsage is a Bedrock usage block: inputTokens leaves out the tokens
// read from and written to the prompt cache (at cache points), which
// totalTokens counts.
func brUsage(x *exchange, out int) map[string]int {
	out += x.reasoning
	return map[string]int{
		"inputTokens": x.input - x.cached - x.written, "outputTokens": out, "totalTokens": x.input + out,
		"cacheReadInputTokens": x.cached, "cacheWriteInputTokens": x.written,
	}
}

// metrics is the answer's metrics block: the time since the request came in.
func (d bedrockAPI) metrics() map[string]int64 {
	return map[string]int64{"latencyMs": time.Since(d.arrived).Milliseconds()}
}

// toolUseID is the id of a tool call.
func (d bedrockAPI) toolUseID() string { return "tooluse_" + d.s.nextID(22) }

// reasoningBlock is the thinking block of an answer with x.reasoning tokens.
func reasoningBlock(x *exchange) map[string]any {
	text := strings.Join(thinkingTokens(x.reasoning), "")
	return map[string]any{"reasoningContent": map[string]any{
		"reasoningText": map[string]string{"text": text, "signature": thinkingSignature(text)},
	}}
}

// guardrailWord is what the simulator's guardrails block: a prompt that
// holds it, under a guardrail, gets guardrailMessage instead of an answer.
const (
	guardrailWord    = "forbidden"
	guardrailMessage = "Sorry, the model cannot answer this question."
)

// guarded is rep as a guardrail lets it out: the guardrail's message,
// stopped as guardrail_intervened, when one applies and the prompt holds
// guardrailWord.
func guarded(p *prompt, rep reply) reply {
	if !p.guardrail || !strings.Contains(strings.ToLower(p.text.String()), guardrailWord) {
		return rep
	}
	return reply{tokens: pieces(guardrailMessage), blocked: true}
}

// respond sends a Converse answer: the thinking block first when there is
// one, then the text or the tool call.
func (d bedrockAPI) respond(w http.ResponseWriter, x *exchange, rep reply) {
	var block map[string]any
	if rep.toolName != "" {
		input := json.RawMessage(rep.text())
		if !json.Valid(input) {
			input = json.RawMessage(`{}`)
		}
		block = map[string]any{"toolUse": map[string]any{"toolUseId": d.toolUseID(), "name": rep.toolName, "input": input}}
	} else {
		block = map[string]any{"text": rep.text()}
	}
	content := []any{block}
	if x.reasoning > 0 {
		content = []any{reasoningBlock(x), block}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"output":     map[string]any{"message": map[string]any{"role": "assistant", "content": content}},
		"stopReason": stopReason(rep),
		"usage":      brUsage(x, len(rep.tokens)),
		"metrics":    d.metrics(),
	}, map[string]string{"x-amzn-RequestId": d.requestID()})
}

// newStream starts a ConverseStream answer.
func (d bedrockAPI) newStream(w http.ResponseWriter, x *exchange, rep reply) streamer {
	return &brStream{d: d, w: w, rc: http.NewResponseController(w), enc: eventstream.NewEncoder(), x: x, rep: rep}
}

// brStream writes a ConverseStream answer: AWS event-stream messages,
// each flushed, ending with the metadata event.
type brStream struct {
	d     bedrockAPI
	w     http.ResponseWriter
	rc    *http.ResponseController
	enc   *eventstream.Encoder
	buf   bytes.Buffer
	x     *exchange
	rep   reply
	sent  int
	index int // of the answer's block: 1 after a thinking block
}

// message writes one event-stream message with a JSON payload; kind is
// the :event-type of an event or the :exception-type of an exception.
func (b *brStream) message(msgType, kind string, payload any) error {
	data, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("sim: encode event: %w", err)
	}
	var msg eventstream.Message
	msg.Headers.Set(":message-type", eventstream.StringValue(msgType))
	if msgType == "exception" {
		msg.Headers.Set(":exception-type", eventstream.StringValue(kind))
	} else {
		msg.Headers.Set(":event-type", eventstream.StringValue(kind))
	}
	msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
	msg.Payload = data
	b.buf.Reset()
	if err := b.enc.Encode(&b.buf, msg); err != nil {
		return err
	}
	return b.write(b.buf.Bytes())
}

// write sends bytes and flushes them.
func (b *brStream) write(p []byte) error {
	if _, err := b.w.Write(p); err != nil {
		return err
	}
	return b.rc.Flush()
}

// event writes one event.
func (b *brStream) event(name string, payload any) error { return b.message("event", name, payload) }

// delta is a contentBlockDelta event of block i.
func delta(i int, d any) map[string]any {
	return map[string]any{"contentBlockIndex": i, "delta": d}
}

// start sends the headers, messageStart, the thinking block and the tool
// call's contentBlockStart.
func (b *brStream) start() error {
	h := b.w.Header()
	h.Set("Content-Type", "application/vnd.amazon.eventstream")
	h.Set("x-amzn-RequestId", b.d.requestID())
	b.w.WriteHeader(http.StatusOK)
	if err := b.rc.Flush(); err != nil {
		return err
	}
	if err := b.event("messageStart", map[string]string{"role": "assistant"}); err != nil {
		return err
	}
	if b.x.reasoning > 0 {
		if err := b.thinking(); err != nil {
			return err
		}
		b.index = 1
	}
	if b.rep.toolName == "" {
		return nil // Bedrock starts no text block: its first delta does
	}
	return b.event("contentBlockStart", map[string]any{"contentBlockIndex": b.index, "start": map[string]any{
		"toolUse": map[string]string{"toolUseId": b.d.toolUseID(), "name": b.rep.toolName},
	}})
}

// thinking streams the thinking block at index 0: one delta per token,
// then its signature.
func (b *brStream) thinking() error {
	tokens := thinkingTokens(b.x.reasoning)
	for _, t := range tokens {
		if err := b.event("contentBlockDelta", delta(0, map[string]any{"reasoningContent": map[string]string{"text": t}})); err != nil {
			return err
		}
	}
	sig := thinkingSignature(strings.Join(tokens, ""))
	if err := b.event("contentBlockDelta", delta(0, map[string]any{"reasoningContent": map[string]string{"signature": sig}})); err != nil {
		return err
	}
	return b.event("contentBlockStop", map[string]int{"contentBlockIndex": 0})
}

// token sends a text or tool-input delta of the answer's block.
func (b *brStream) token(piece string) error {
	b.sent++
	d := map[string]any{"text": piece}
	if b.rep.toolName != "" {
		d = map[string]any{"toolUse": map[string]string{"input": piece}}
	}
	return b.event("contentBlockDelta", delta(b.index, d))
}

// ping sends nothing: Bedrock streams have no keep-alive event.
func (b *brStream) ping() error { return nil }

// malformed writes a message prelude whose checksum is wrong.
func (b *brStream) malformed() error {
	return b.write([]byte{0, 0, 0, 16, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0})
}

// fail sends a modelStreamErrorException.
func (b *brStream) fail() error {
	return b.message("exception", "modelStreamErrorException", map[string]any{
		"message": "The model encountered an error processing the stream. Try your request again.", "originalStatusCode": 500,
	})
}

// finish closes the answer's block and the message; the terminator is the
// metadata event with the usage.
func (b *brStream) finish(terminator bool) error {
	if err := b.event("contentBlockStop", map[string]int{"contentBlockIndex": b.index}); err != nil {
		return err
	}
	if err := b.event("messageStop", map[string]string{"stopReason": stopReason(b.rep)}); err != nil || !terminator {
		return err
	}
	return b.event("metadata", map[string]any{"usage": brUsage(b.x, b.sent), "metrics": b.d.metrics()})
}
