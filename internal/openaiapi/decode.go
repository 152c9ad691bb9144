package openaiapi

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// wire types of the Chat Completions request, used only when a translation
// needs the whole body.
type (
	chatRequest struct {
		Messages        []chatMessage   `json:"messages"`
		Temperature     *float64        `json:"temperature"`
		TopP            *float64        `json:"top_p"`
		Stop            json.RawMessage `json:"stop"`
		Tools           []chatTool      `json:"tools"`
		Functions       []chatFunction  `json:"functions"`
		ToolChoice      json.RawMessage `json:"tool_choice"`
		ResponseFormat  json.RawMessage `json:"response_format"`
		User            string          `json:"user"`
		ReasoningEffort string          `json:"reasoning_effort"`
		ParallelTools   *bool           `json:"parallel_tool_calls"`
		ServiceTier     string          `json:"service_tier"`
		Stream          bool            `json:"stream"`
		// N > 1 is served by a deployment of another API as that many
		// calls (see MaxTranslatedChoices).
		N *int `json:"n"`
		// Asked for in a shape the canonical form cannot answer in.
		Logprobs    *bool `json:"logprobs"`
		TopLogprobs *int  `json:"top_logprobs"`
	}
	chatMessage struct {
		Role         string          `json:"role"`
		Content      json.RawMessage `json:"content"`
		Name         string          `json:"name"`
		ToolCalls    []chatToolCall  `json:"tool_calls"`
		ToolCallID   string          `json:"tool_call_id"`
		FunctionCall *chatFuncCall   `json:"function_call"`
		// Refusal is an assistant turn's refusal (content is then
		// null), as OpenAI answered it.
		Refusal string `json:"refusal"`
		// ThinkingBlocks is the thinking of an assistant message that a
		// reasoning deployment showed (see thinkingBlock), sent back.
		ThinkingBlocks []thinkingBlock `json:"thinking_blocks"`
	}
	chatPart struct {
		Type     string `json:"type"`
		Text     string `json:"text"`
		Refusal  string `json:"refusal"`
		ImageURL *struct {
			URL string `json:"url"`
		} `json:"image_url"`
	}
	chatToolCall struct {
		ID       string       `json:"id"`
		Type     string       `json:"type"`
		Function chatFuncCall `json:"function"`
	}
	chatFuncCall struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	}
	chatTool struct {
		Type     string       `json:"type"`
		Function chatFunction `json:"function"`
	}
	chatFunction struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
	}
)

// checkEffort refuses a reasoning effort a translation does not know, as
// OpenAI refuses one: read as no effort, a typo (or a newer level) would
// silently turn a Claude deployment's thinking off. Only a translation
// decodes the body, so a relayed request's effort is the upstream's to
// judge.
func checkEffort(param, effort string) error {
	if effort == "" || llm.KnownEffort(effort) {
		return nil
	}
	return badRequest(param, fmt.Sprintf("Invalid value: '%s'. Supported values are: '%s'.", effort, strings.Join(llm.ReasoningEfforts, "', '")))
}

// MaxTranslatedChoices is the largest n a deployment of another API
// serves: its adapter makes one call per choice, at once.
const MaxTranslatedChoices = 16

// decodeFull decodes a Chat Completions body into the canonical Body.
// System and developer messages are hoisted into Body.System (joined by a
// blank line), so Body.Messages holds only user, assistant and tool turns.
// Content the canonical form cannot carry (audio, files), asking for
// logprobs, and asking for several choices of a stream (or for more than
// MaxTranslatedChoices) is a *BadRequestError, since silently dropping it
// would change the answer's shape. Sampling hints
// without a counterpart (seed, penalties, logit_bias) are dropped.
func decodeFull(raw []byte) (*llm.Body, error) {
	var in chatRequest
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, badRequest(wirejson.DecodeProblem(err))
	}
	switch {
	case in.N != nil && *in.N > 1 && in.Stream:
		return nil, badRequest("n", "n > 1 with stream cannot be served by a deployment of another API (it streams one choice); use a route of OpenAI deployments, or do not stream")
	case in.N != nil && *in.N > MaxTranslatedChoices:
		return nil, badRequest("n", fmt.Sprintf("n above %d cannot be served by a deployment of another API (each choice is a call of its own)", MaxTranslatedChoices))
	}
	if in.Logprobs != nil && *in.Logprobs || in.TopLogprobs != nil && *in.TopLogprobs > 0 {
		return nil, badRequest("logprobs", "logprobs cannot be served by a deployment of another API; use a route of OpenAI deployments")
	}
	if err := checkEffort("reasoning_effort", in.ReasoningEffort); err != nil {
		return nil, err
	}
	b := &llm.Body{Temperature: in.Temperature, TopP: in.TopP, User: in.User, ReasoningEffort: in.ReasoningEffort,
		NoParallelTools: in.ParallelTools != nil && !*in.ParallelTools, ServiceTier: in.ServiceTier}
	var system []string
	for i, m := range in.Messages {
		param := fmt.Sprintf("messages[%d]", i)
		parts, err := decodeContent(m.Content, param+".content")
		if err != nil {
			return nil, err
		}
		switch m.Role {
		case "system", "developer":
			system = append(system, joinText(parts))
		case "user":
			b.Messages = append(b.Messages, llm.Message{Role: llm.RoleUser, Parts: parts})
		case "assistant":
			if m.Refusal != "" {
				// The refusal is what the assistant said: the canonical
				// form carries it as text, as it does a refusal part.
				parts = append(parts, llm.Part{Type: llm.PartText, Text: m.Refusal})
			}
			msg := llm.Message{Role: llm.RoleAssistant, Parts: parts}
			for _, tc := range m.ToolCalls {
				msg.ToolCalls = append(msg.ToolCalls, llm.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
			}
			if m.FunctionCall != nil {
				msg.ToolCalls = append(msg.ToolCalls, llm.ToolCall{ID: m.FunctionCall.Name, Name: m.FunctionCall.Name, Arguments: m.FunctionCall.Arguments})
			}
			if msg.Thinking, err = decodeThinking(m.ThinkingBlocks, param+".thinking_blocks"); err != nil {
				return nil, err
			}
			b.Messages = append(b.Messages, msg)
		case "tool":
			b.Messages = append(b.Messages, llm.Message{Role: llm.RoleTool, Parts: parts, ToolCallID: m.ToolCallID})
		case "function":
			// Legacy function results name the function, which the legacy
			// assistant function_call above also uses as its call id.
			b.Messages = append(b.Messages, llm.Message{Role: llm.RoleTool, Parts: parts, ToolCallID: m.Name})
		default:
			return nil, badRequest(param+".role", "invalid role")
		}
	}
	b.System = strings.Join(system, "\n\n")
	stop, err := decodeStop(in.Stop)
	if err != nil {
		return nil, err
	}
	b.Stop = stop
	for _, t := range in.Tools {
		if t.Type != "" && t.Type != "function" {
			return nil, badRequest("tools", "unsupported tool type "+quote(t.Type))
		}
		b.Tools = append(b.Tools, llm.Tool{Name: t.Function.Name, Description: t.Function.Description, Parameters: t.Function.Parameters})
	}
	for _, f := range in.Functions {
		b.Tools = append(b.Tools, llm.Tool{Name: f.Name, Description: f.Description, Parameters: f.Parameters})
	}
	if b.ToolChoice, err = decodeToolChoice(in.ToolChoice); err != nil {
		return nil, err
	}
	if len(in.ResponseFormat) > 0 && string(in.ResponseFormat) != "null" {
		b.ResponseFormat = in.ResponseFormat
	}
	return b, nil
}

// decodeThinking reads an assistant message's thinking_blocks.
func decodeThinking(in []thinkingBlock, param string) ([]llm.Thinking, error) {
	var out []llm.Thinking
	for j, t := range in {
		switch t.Type {
		case "thinking":
			out = append(out, llm.Thinking{Text: t.Thinking, Signature: t.Signature})
		case "redacted_thinking":
			if t.Data == "" {
				return nil, badRequest(fmt.Sprintf("%s[%d].data", param, j), "a redacted_thinking block needs its data")
			}
			out = append(out, llm.Thinking{Redacted: t.Data})
		default:
			return nil, badRequest(fmt.Sprintf("%s[%d].type", param, j), "thinking block type must be thinking or redacted_thinking")
		}
	}
	return out, nil
}

func decodeContent(raw json.RawMessage, param string) ([]llm.Part, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, badRequest(param, "content must be a string or an array of content parts")
		}
		return []llm.Part{{Type: llm.PartText, Text: s}}, nil
	}
	var in []chatPart
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, badRequest(param, "content must be a string or an array of content parts")
	}
	parts := make([]llm.Part, 0, len(in))
	for j, p := range in {
		switch p.Type {
		case "text":
			parts = append(parts, llm.Part{Type: llm.PartText, Text: p.Text})
		case "refusal":
			parts = append(parts, llm.Part{Type: llm.PartText, Text: p.Refusal})
		case "image_url":
			if p.ImageURL == nil || p.ImageURL.URL == "" {
				return nil, badRequest(fmt.Sprintf("%s[%d].image_url.url", param, j), "missing required parameter: 'url'")
			}
			parts = append(parts, llm.Part{Type: llm.PartImage, ImageURL: p.ImageURL.URL})
		default:
			return nil, badRequest(fmt.Sprintf("%s[%d].type", param, j), "content part type "+quote(p.Type)+" is not supported by the selected model's provider")
		}
	}
	return parts, nil
}

func joinText(parts []llm.Part) string {
	var sb strings.Builder
	for _, p := range parts {
		sb.WriteString(p.Text)
	}
	return sb.String()
}

func decodeStop(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, badRequest("stop", "stop must be a string or an array of strings")
	}
	return many, nil
}

func decodeToolChoice(raw json.RawMessage) (*llm.ToolChoice, error) {
	return decodeToolChoiceWith(raw, func(obj gjson.Result) string { return obj.Get("function.name").Str })
}

// decodeToolChoiceWith reads a tool_choice: a mode, or an object naming
// one function, whose name name reads (each API nests it its own way).
func decodeToolChoiceWith(raw json.RawMessage, name func(gjson.Result) string) (*llm.ToolChoice, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	v := gjson.ParseBytes(raw)
	switch {
	case v.Type == gjson.String && (v.Str == "auto" || v.Str == "none" || v.Str == "required"):
		return &llm.ToolChoice{Mode: v.Str}, nil
	case v.IsObject():
		if n := name(v); n != "" {
			return &llm.ToolChoice{Mode: "tool", Name: n}, nil
		}
	}
	return nil, badRequest("tool_choice", "tool_choice must be auto, none, required or a function")
}

func quote(s string) string { return "'" + s + "'" }
