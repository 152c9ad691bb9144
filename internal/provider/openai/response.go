package openai

import (
	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// parseResponse decodes a Chat Completions response body; Raw keeps it verbatim.
func (c *Client) parseResponse(raw []byte) (*llm.Response, error) {
	if !wirejson.Valid(raw) {
		return nil, &provider.Error{Kind: provider.KindUnavailable, Status: 200, Message: "malformed chat completion response"}
	}
	root := gjson.ParseBytes(raw)
	if e := root.Get("error"); e.Exists() && !root.Get("choices").Exists() {
		return nil, c.classify(0, nil, raw)
	}
	choice := root.Get("choices.0")
	if !choice.IsObject() {
		// A 200 with nothing to answer with is the provider failing,
		// not an answer: fail over rather than hand the client nothing.
		return nil, &provider.Error{Kind: provider.KindUnavailable, Status: 200, Message: "chat completion response without choices"}
	}
	if err := unfinished(root, "chat completion"); err != nil {
		return nil, err
	}
	msg := choice.Get("message")
	resp := &llm.Response{
		ID:           root.Get("id").String(),
		Model:        root.Get("model").String(),
		Created:      root.Get("created").Int(),
		Text:         msg.Get("content").String(),
		FinishReason: finishReason(choice.Get("finish_reason").String()),
		Raw:          raw,
		Dialect:      llm.DialectOpenAI,
	}
	if r := msg.Get("refusal"); r.Type == gjson.String && r.Str != "" && resp.Text == "" {
		// A refusal (structured outputs, safety) is the answer's text,
		// and a translated client learns it was one (Anthropic's
		// stop_reason "refusal").
		resp.Text = r.Str
		if resp.FinishReason == llm.FinishStop {
			resp.FinishReason = llm.FinishContentFilter
		}
	}
	if u := root.Get("usage"); u.IsObject() {
		resp.Usage = chatUsage(u)
	}
	if r := reasoningText(msg); r != "" {
		resp.Thinking = []llm.Thinking{{Text: r}}
	}
	for _, tc := range msg.Get("tool_calls").Array() {
		resp.ToolCalls = append(resp.ToolCalls, llm.ToolCall{
			ID:        tc.Get("id").String(),
			Name:      tc.Get("function.name").String(),
			Arguments: tc.Get("function.arguments").String(),
		})
	}
	return resp, nil
}

// reasoningText is the thinking an OpenAI-compatible server shows in a
// message or delta: reasoning_content (DeepSeek, vLLM) or reasoning
// (OpenRouter, newer vLLM), when it is a string.
func reasoningText(msg gjson.Result) string {
	for _, key := range [...]string{"reasoning_content", "reasoning"} {
		if r := msg.Get(key); r.Type == gjson.String && r.Str != "" {
			return r.Str
		}
	}
	return ""
}

// parseCompletion decodes a legacy Completions response (text_completion);
// Raw keeps it verbatim.
func (c *Client) parseCompletion(raw []byte) (*llm.Response, error) {
	if !wirejson.Valid(raw) {
		return nil, &provider.Error{Kind: provider.KindUnavailable, Status: 200, Message: "malformed completion response"}
	}
	root := gjson.ParseBytes(raw)
	if e := root.Get("error"); e.Exists() && !root.Get("choices").Exists() {
		return nil, c.classify(0, nil, raw)
	}
	choice := root.Get("choices.0")
	if !choice.IsObject() {
		return nil, &provider.Error{Kind: provider.KindUnavailable, Status: 200, Message: "completion response without choices"}
	}
	if err := unfinished(root, "completion"); err != nil {
		return nil, err
	}
	resp := &llm.Response{
		ID:           root.Get("id").String(),
		Model:        root.Get("model").String(),
		Created:      root.Get("created").Int(),
		Text:         choice.Get("text").String(),
		FinishReason: finishReason(choice.Get("finish_reason").String()),
		Raw:          raw,
		Dialect:      llm.DialectOpenAICompletions,
	}
	if u := root.Get("usage"); u.IsObject() {
		resp.Usage = chatUsage(u)
	}
	return resp, nil
}

// unfinished is the error for a non-streamed answer (root, of kind what)
// holding a choice without a finish_reason (null, missing or empty): an
// answer the provider did not finish, malformed as one cut in half is. It
// fails over rather than reach the client as a finished answer (an
// Anthropic client would read end_turn). nil when each choice finished.
func unfinished(root gjson.Result, what string) error {
	done := true
	root.Get("choices").ForEach(func(_, c gjson.Result) bool { // ForEach: no slice, as Array makes
		fr := c.Get("finish_reason")
		done = fr.Type == gjson.String && fr.Str != ""
		return done
	})
	if !done {
		return &provider.Error{Kind: provider.KindUnavailable, Status: 200, Message: what + " response with a choice without finish_reason"}
	}
	return nil
}

// finishReason maps OpenAI's finish_reason to the canonical one ("" stays "").
func finishReason(s string) llm.FinishReason {
	switch s {
	case "function_call":
		return llm.FinishToolCalls
	default:
		return llm.FinishReason(s)
	}
}

// chatUsage reads a Chat Completions or Completions usage object;
// prompt_tokens includes the cached tokens.
func chatUsage(u gjson.Result) llm.Usage {
	return llm.Usage{InputTokens: int(u.Get("prompt_tokens").Int()), OutputTokens: int(u.Get("completion_tokens").Int()),
		CachedInputTokens: int(u.Get("prompt_tokens_details.cached_tokens").Int())}.Clamped()
}

// responsesUsage reads a Responses API usage object; input_tokens
// includes the cached tokens.
func responsesUsage(u gjson.Result) llm.Usage {
	return llm.Usage{InputTokens: int(u.Get("input_tokens").Int()), OutputTokens: int(u.Get("output_tokens").Int()),
		CachedInputTokens: int(u.Get("input_tokens_details.cached_tokens").Int())}.Clamped()
}
