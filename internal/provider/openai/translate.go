package openai

import (
	"encoding/json"
	"slices"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// chatRequest is the Chat Completions request body.
type chatRequest struct {
	Model         string         `json:"model"`
	Messages      []message      `json:"messages"`
	Stream        bool           `json:"stream,omitempty"`
	StreamOptions *streamOptions `json:"stream_options,omitempty"`
	MaxTokens     int            `json:"max_tokens,omitempty"`
	// MaxCompletionTokens replaces MaxTokens for a reasoning model,
	// which refuses max_tokens.
	MaxCompletionTokens int             `json:"max_completion_tokens,omitempty"`
	ReasoningEffort     string          `json:"reasoning_effort,omitempty"`
	Temperature         *float64        `json:"temperature,omitempty"`
	TopP                *float64        `json:"top_p,omitempty"`
	Stop                []string        `json:"stop,omitempty"`
	Tools               []tool          `json:"tools,omitempty"`
	ToolChoice          any             `json:"tool_choice,omitempty"`
	ParallelToolCalls   *bool           `json:"parallel_tool_calls,omitempty"`
	ResponseFormat      json.RawMessage `json:"response_format,omitempty"`
	User                string          `json:"user,omitempty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// message is one Chat Completions message. Content is a string, an array of
// parts, or null (an assistant message that only calls tools).
type message struct {
	Role       string     `json:"role"`
	Content    any        `json:"content"`
	ToolCalls  []toolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
}

type contentPart struct {
	Type     string    `json:"type"`
	Text     *string   `json:"text,omitempty"`
	ImageURL *imageURL `json:"image_url,omitempty"`
}

type imageURL struct {
	URL string `json:"url"`
}

type toolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function functionCall `json:"function"`
}

type functionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type tool struct {
	Type     string       `json:"type"`
	Function functionSpec `json:"function"`
}

type functionSpec struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

type namedToolChoice struct {
	Type     string `json:"type"`
	Function struct {
		Name string `json:"name"`
	} `json:"function"`
}

// translate encodes the canonical body of req as a Chat Completions request.
func (c *Client) translate(req *llm.Request, stream bool) ([]byte, error) {
	b, err := req.Body()
	if err != nil {
		return nil, &provider.Error{Kind: provider.KindBadRequest, Message: "cannot decode request body", Err: err}
	}
	out := chatRequest{
		Model:          c.cfg.Model,
		Stream:         stream,
		MaxTokens:      req.MaxTokens,
		Temperature:    b.Temperature,
		TopP:           b.TopP,
		Stop:           b.Stop,
		ResponseFormat: b.ResponseFormat,
		User:           b.User,
		Messages:       make([]message, 0, len(b.Messages)+1),
	}
	if stream {
		out.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	if c.cfg.Reasoning {
		// A reasoning model takes max_completion_tokens and its effort,
		// and refuses sampling settings.
		out.MaxCompletionTokens, out.MaxTokens = out.MaxTokens, 0
		out.ReasoningEffort = b.ReasoningEffort
		if out.ReasoningEffort == "" {
			out.ReasoningEffort = effortOf(b)
		}
		out.Temperature, out.TopP = nil, nil
	}
	if b.System != "" {
		out.Messages = append(out.Messages, message{Role: "system", Content: b.System})
	}
	// A tool message carries only text: the images of a run of tool
	// results (an Anthropic tool_result may hold some) follow it in a
	// user message, each result's labelled with its call's id.
	var images []llm.Part
	for i := range b.Messages {
		m := &b.Messages[i]
		if m.Role != llm.RoleTool && len(images) > 0 {
			out.Messages = append(out.Messages, message{Role: "user", Content: encodeContent(images)})
			images = nil
		}
		out.Messages = append(out.Messages, encodeMessage(m))
		if m.Role == llm.RoleTool {
			images = appendToolImages(images, m)
		}
	}
	if len(images) > 0 {
		out.Messages = append(out.Messages, message{Role: "user", Content: encodeContent(images)})
	}
	for _, t := range b.Tools {
		params := t.Parameters
		if len(params) > 0 && !wirejson.Valid(params) {
			return nil, &provider.Error{Kind: provider.KindBadRequest, Message: "tool " + t.Name + " has invalid parameters schema"}
		}
		out.Tools = append(out.Tools, tool{Type: "function", Function: functionSpec{Name: t.Name, Description: t.Description, Parameters: params}})
	}
	if tc := b.ToolChoice; tc != nil {
		switch tc.Mode {
		case "tool":
			var n namedToolChoice
			n.Type = "function"
			n.Function.Name = tc.Name
			out.ToolChoice = n
		case "auto", "none", "required":
			out.ToolChoice = tc.Mode
		}
	}
	if b.NoParallelTools && len(out.Tools) > 0 {
		no := false
		out.ParallelToolCalls = &no
	}
	if len(out.ResponseFormat) > 0 && !wirejson.Valid(out.ResponseFormat) {
		return nil, &provider.Error{Kind: provider.KindBadRequest, Message: "invalid response_format"}
	}
	body, err := json.Marshal(out)
	if err != nil {
		return nil, &provider.Error{Kind: provider.KindBadRequest, Message: "cannot encode request", Err: err}
	}
	return body, nil
}

func encodeMessage(m *llm.Message) message {
	out := message{Role: string(m.Role)}
	switch m.Role {
	case llm.RoleTool:
		out.ToolCallID = m.ToolCallID
		parts := textParts(m.Parts)
		if m.IsError {
			// Chat Completions has no flag for a failed tool call (Anthropic's
			// is_error): the result says so in words.
			parts = append([]llm.Part{{Type: llm.PartText, Text: "Error: "}}, parts...)
			if len(parts) == 2 {
				parts = []llm.Part{{Type: llm.PartText, Text: "Error: " + parts[1].Text}}
			}
		}
		out.Content = encodeContent(parts)
	case llm.RoleAssistant:
		if t := m.Text(); t != "" || len(m.ToolCalls) == 0 {
			out.Content = encodeContent(textParts(m.Parts))
		}
		for _, tc := range m.ToolCalls {
			args := tc.Arguments
			if args == "" {
				args = "{}"
			}
			out.ToolCalls = append(out.ToolCalls, toolCall{ID: tc.ID, Type: "function", Function: functionCall{Name: tc.Name, Arguments: args}})
		}
	default:
		out.Content = encodeContent(m.Parts)
	}
	return out
}

// appendToolImages appends to parts the images of tool result m, after a
// text part that says whose they are.
func appendToolImages(parts []llm.Part, m *llm.Message) []llm.Part {
	label := false
	for _, p := range m.Parts {
		if p.Type != llm.PartImage {
			continue
		}
		if !label {
			parts = append(parts, llm.Part{Type: llm.PartText, Text: "Images from tool result " + m.ToolCallID + ":"})
			label = true
		}
		parts = append(parts, p)
	}
	return parts
}

// textParts is parts without the images (which assistant and tool
// messages cannot carry).
func textParts(parts []llm.Part) []llm.Part {
	for _, p := range parts {
		if p.Type == llm.PartImage {
			return slices.DeleteFunc(slices.Clone(parts), func(p llm.Part) bool { return p.Type == llm.PartImage })
		}
	}
	return parts
}

// encodeContent returns a plain string for content of at most one text
// part, parts otherwise: several text blocks stay separate parts rather
// than being glued into one string.
func encodeContent(parts []llm.Part) any {
	if len(parts) == 0 {
		return ""
	}
	if len(parts) == 1 && parts[0].Type != llm.PartImage {
		return parts[0].Text
	}
	out := make([]contentPart, 0, len(parts))
	for _, p := range parts {
		if p.Type == llm.PartImage {
			out = append(out, contentPart{Type: "image_url", ImageURL: &imageURL{URL: p.ImageURL}})
			continue
		}
		out = append(out, contentPart{Type: "text", Text: &p.Text})
	}
	return out
}

// effortOf is the OpenAI reasoning effort for an Anthropic client's
// thinking: its budget's (EffortForBudget); adaptive thinking's effort
// (output_config.effort, whose levels OpenAI names alike), medium (OpenAI's
// default) without one; an effort without thinking, as it is; "" for no
// thinking.
func effortOf(b *llm.Body) string {
	switch {
	case b.ThinkingBudget > 0:
		return EffortForBudget(b.ThinkingBudget)
	case b.Effort != "":
		return b.Effort
	case b.ThinkingAdaptive:
		return "medium"
	}
	return ""
}

// EffortForBudget is the OpenAI reasoning effort closest to an Anthropic
// thinking budget: low below 4,096 tokens, medium below 16,384, else high.
func EffortForBudget(budget int) string {
	switch {
	case budget < 4096:
		return "low"
	case budget < 16384:
		return "medium"
	}
	return "high"
}
