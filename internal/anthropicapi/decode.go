package anthropicapi

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// wire types of the Messages API request, used only when a translation
// needs the whole body.
type (
	msgRequest struct {
		System        json.RawMessage `json:"system"`
		Messages      []msgMessage    `json:"messages"`
		Temperature   *float64        `json:"temperature"`
		TopP          *float64        `json:"top_p"`
		StopSequences []string        `json:"stop_sequences"`
		Tools         []msgTool       `json:"tools"`
		ToolChoice    *msgToolChoice  `json:"tool_choice"`
		Metadata      *struct {
			UserID string `json:"user_id"`
		} `json:"metadata"`
		OutputFormat *outputFormat `json:"output_format"`
		OutputConfig *struct {
			Format *outputFormat `json:"format"`
			Effort string        `json:"effort"`
		} `json:"output_config"`
		Thinking *struct {
			Type         string `json:"type"`
			BudgetTokens int    `json:"budget_tokens"`
		} `json:"thinking"`
		ServiceTier string `json:"service_tier"`
	}
	msgMessage struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	block struct {
		Type      string          `json:"type"`
		Text      string          `json:"text"`
		Source    *imageSource    `json:"source"`
		ID        string          `json:"id"`
		Name      string          `json:"name"`
		Input     json.RawMessage `json:"input"`
		ToolUseID string          `json:"tool_use_id"`
		Content   json.RawMessage `json:"content"`
		IsError   bool            `json:"is_error"`
		// CacheControl marks the prompt up to this block for the cache.
		CacheControl json.RawMessage `json:"cache_control"`
		// thinking (Thinking, Signature) and redacted_thinking (Data)
		Thinking  string `json:"thinking"`
		Signature string `json:"signature"`
		Data      string `json:"data"`
	}
	imageSource struct {
		Type      string `json:"type"`
		MediaType string `json:"media_type"`
		Data      string `json:"data"`
		URL       string `json:"url"`
	}
	msgTool struct {
		Type        string          `json:"type"`
		Name        string          `json:"name"`
		Description string          `json:"description"`
		InputSchema json.RawMessage `json:"input_schema"`
		// CacheControl marks the tools up to this one for the cache.
		CacheControl json.RawMessage `json:"cache_control"`
	}
	msgToolChoice struct {
		Type                   string `json:"type"`
		Name                   string `json:"name"`
		DisableParallelToolUse bool   `json:"disable_parallel_tool_use"`
	}
	outputFormat struct {
		Type   string          `json:"type"`
		Schema json.RawMessage `json:"schema"`
	}
)

// decodeFull decodes a Messages API body into the canonical Body. Tool
// results, which Anthropic carries inside user messages, become RoleTool
// messages placed before the rest of that user turn; thinking blocks are
// the assistant message's Thinking (Bedrock's Claude takes them back;
// an OpenAI deployment is sent none). Content the canonical form
// cannot carry (documents, server tools) is a *BadRequestError.
// ServiceTier is the canonical (OpenAI) service tier for an Anthropic
// client's service_tier: auto is auto, standard_only is default (the
// standard tier); anything else is "".
func ServiceTier(anthropic string) string {
	switch anthropic {
	case "auto":
		return "auto"
	case "standard_only":
		return "default"
	}
	return ""
}

func decodeFull(raw []byte) (*llm.Body, error) {
	var in msgRequest
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, badRequest(wirejson.DecodeProblem(err))
	}
	b := &llm.Body{Temperature: in.Temperature, TopP: in.TopP, Stop: in.StopSequences, ServiceTier: ServiceTier(in.ServiceTier)}
	if t := in.Thinking; t != nil {
		switch t.Type {
		case "enabled":
			b.ThinkingBudget = t.BudgetTokens
		case "adaptive":
			b.ThinkingAdaptive = true
		}
	}
	if in.OutputConfig != nil && in.OutputConfig.Effort != "" {
		// Refused as Anthropic refuses it: an effort a translation
		// cannot read would silently think some other amount.
		if !slices.Contains(llm.AnthropicEfforts, in.OutputConfig.Effort) {
			return nil, badRequest("output_config.effort", "output_config.effort: Input should be '"+strings.Join(llm.AnthropicEfforts, "', '")+"'")
		}
		b.Effort = in.OutputConfig.Effort
	}
	if in.Metadata != nil {
		b.User = in.Metadata.UserID
	}
	var err error
	if len(in.System) > 0 && string(in.System) != "null" {
		var sys string
		if json.Unmarshal(in.System, &sys) != nil {
			var blocks []block
			if err := json.Unmarshal(in.System, &blocks); err != nil {
				return nil, badRequest("system", "system: must be a string or an array of text blocks")
			}
			sys = joinBlocks(blocks)
			b.SystemCacheMark = slices.ContainsFunc(blocks, marked)
			for _, blk := range blocks {
				b.SystemParts = append(b.SystemParts, llm.Part{Type: llm.PartText, Text: blk.Text, CacheMark: marked(blk)})
			}
		}
		b.System = sys
	}
	for i, m := range in.Messages {
		param := fmt.Sprintf("messages.%d.content", i)
		blocks, err := decodeBlocks(m.Content, param)
		if err != nil {
			return nil, err
		}
		var msgs []llm.Message
		switch m.Role {
		case "user":
			msgs, err = userMessages(blocks, param)
		case "assistant":
			msgs, err = assistantMessage(blocks, param)
		default:
			err = badRequest(fmt.Sprintf("messages.%d.role", i), "messages: role must be \"user\" or \"assistant\"")
		}
		if err != nil {
			return nil, err
		}
		b.Messages = append(b.Messages, msgs...)
	}
	for i, t := range in.Tools {
		if t.Type != "" && t.Type != "custom" {
			return nil, badRequest(fmt.Sprintf("tools.%d.type", i), "tools: tool type '"+t.Type+"' is not supported by the selected model's provider")
		}
		b.Tools = append(b.Tools, llm.Tool{Name: t.Name, Description: t.Description, Parameters: t.InputSchema,
			CacheMark: len(t.CacheControl) > 0 && string(t.CacheControl) != "null"})
	}
	b.NoParallelTools = in.ToolChoice != nil && in.ToolChoice.DisableParallelToolUse
	if b.ToolChoice, err = toolChoice(in.ToolChoice); err != nil {
		return nil, err
	}
	format := in.OutputFormat
	if format == nil && in.OutputConfig != nil {
		format = in.OutputConfig.Format
	}
	if format != nil && format.Type == "json_schema" {
		b.ResponseFormat, err = wirejson.Marshal(map[string]any{
			"type":        "json_schema",
			"json_schema": map[string]any{"name": "output", "schema": format.Schema, "strict": true},
		})
		if err != nil {
			return nil, badRequest("output_format", "output_format: schema is not valid JSON")
		}
	}
	return b, nil
}

// decodeBlocks reads content that is a string or an array of blocks.
func decodeBlocks(raw json.RawMessage, param string) ([]block, error) {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, badRequest(param, "messages: content must be a string or an array of content blocks")
		}
		return []block{{Type: "text", Text: s}}, nil
	}
	var blocks []block
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return nil, badRequest(param, "messages: content must be a string or an array of content blocks")
	}
	return blocks, nil
}

// marked reports whether a block carries a cache_control mark.
func marked(b block) bool { return len(b.CacheControl) > 0 && string(b.CacheControl) != "null" }

func joinBlocks(blocks []block) string {
	var sb strings.Builder
	for i, b := range blocks {
		if i > 0 {
			sb.WriteString("\n\n")
		}
		sb.WriteString(b.Text)
	}
	return sb.String()
}

// imagePart converts an image block's source to a canonical image part.
func imagePart(b block, param string) (llm.Part, error) {
	switch {
	case b.Source == nil:
	case b.Source.Type == "base64" && b.Source.Data != "":
		return llm.Part{Type: llm.PartImage, ImageURL: "data:" + b.Source.MediaType + ";base64," + b.Source.Data}, nil
	case b.Source.Type == "url" && b.Source.URL != "":
		return llm.Part{Type: llm.PartImage, ImageURL: b.Source.URL}, nil
	}
	return llm.Part{}, badRequest(param, "messages: image source must be base64 data or a url")
}

// contentPart converts a text or image block, the content a user turn and
// a tool result share, to a canonical part; any other block is unsupported.
func contentPart(b block, param string) (llm.Part, error) {
	switch b.Type {
	case "text":
		return llm.Part{Type: llm.PartText, Text: b.Text}, nil
	case "image":
		return imagePart(b, param)
	}
	return llm.Part{}, unsupportedBlock(param, b.Type)
}

func userMessages(blocks []block, param string) ([]llm.Message, error) {
	var (
		out   []llm.Message
		parts []llm.Part
	)
	for j, b := range blocks {
		bp := fmt.Sprintf("%s.%d", param, j)
		switch b.Type {
		case "tool_result":
			rb, err := decodeToolResult(b.Content, bp+".content")
			if err != nil {
				return nil, err
			}
			out = append(out, llm.Message{Role: llm.RoleTool, ToolCallID: b.ToolUseID, Parts: rb, IsError: b.IsError, CacheMark: marked(b)})
		default:
			p, err := contentPart(b, bp)
			if err != nil {
				return nil, err
			}
			p.CacheMark = marked(b)
			parts = append(parts, p)
		}
	}
	if len(parts) > 0 || len(out) == 0 {
		out = append(out, llm.Message{Role: llm.RoleUser, Parts: parts})
	}
	return out, nil
}

func decodeToolResult(raw json.RawMessage, param string) ([]llm.Part, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	blocks, err := decodeBlocks(raw, param)
	if err != nil {
		return nil, err
	}
	parts := make([]llm.Part, 0, len(blocks))
	for j, b := range blocks {
		p, err := contentPart(b, fmt.Sprintf("%s.%d", param, j))
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	return parts, nil
}

func assistantMessage(blocks []block, param string) ([]llm.Message, error) {
	msg := llm.Message{Role: llm.RoleAssistant}
	for j, b := range blocks {
		switch b.Type {
		case "text":
			msg.Parts = append(msg.Parts, llm.Part{Type: llm.PartText, Text: b.Text, CacheMark: marked(b)})
		case "tool_use":
			args := string(b.Input)
			if args == "" || args == "null" {
				args = "{}"
			}
			msg.ToolCalls = append(msg.ToolCalls, llm.ToolCall{ID: b.ID, Name: b.Name, Arguments: args})
		case "thinking":
			msg.Thinking = append(msg.Thinking, llm.Thinking{Text: b.Thinking, Signature: b.Signature})
		case "redacted_thinking":
			msg.Thinking = append(msg.Thinking, llm.Thinking{Redacted: b.Data})
		default:
			return nil, unsupportedBlock(fmt.Sprintf("%s.%d", param, j), b.Type)
		}
	}
	return []llm.Message{msg}, nil
}

func unsupportedBlock(param, typ string) error {
	return badRequest(param+".type", "messages: content block type '"+typ+"' is not supported by the selected model's provider")
}

func toolChoice(tc *msgToolChoice) (*llm.ToolChoice, error) {
	if tc == nil {
		return nil, nil
	}
	switch tc.Type {
	case "auto", "none":
		return &llm.ToolChoice{Mode: tc.Type}, nil
	case "any":
		return &llm.ToolChoice{Mode: "required"}, nil
	case "tool":
		if tc.Name != "" {
			return &llm.ToolChoice{Mode: "tool", Name: tc.Name}, nil
		}
	}
	return nil, badRequest("tool_choice", "tool_choice: type must be auto, any, tool (with a name) or none")
}
