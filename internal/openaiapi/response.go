package openaiapi

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// source supplies the clock and ids for encodings that must invent them
// (a translated answer has no chat.completion id or created time). Tests
// replace it; production uses defaultSource.
type source struct {
	now   func() time.Time
	newID func(prefix string) string
}

func defaultSource() source {
	return source{now: time.Now, newID: func(prefix string) string { return prefix + rand.Text() }}
}

// wire types of the chat.completion answer.
type (
	completion struct {
		ID      string       `json:"id"`
		Object  string       `json:"object"`
		Created int64        `json:"created"`
		Model   string       `json:"model"`
		Choices []choice     `json:"choices"`
		Usage   *usageObject `json:"usage,omitempty"`
	}
	choice struct {
		Index        int             `json:"index"`
		Message      responseMessage `json:"message"`
		Logprobs     *struct{}       `json:"logprobs"`
		FinishReason string          `json:"finish_reason"`
	}
	responseMessage struct {
		Role      string         `json:"role"`
		Content   *string        `json:"content"`
		Refusal   *string        `json:"refusal"`
		ToolCalls []wireToolCall `json:"tool_calls,omitempty"`
		// ReasoningContent and ThinkingBlocks show a translated answer's
		// thinking, in the shape LiteLLM and DeepSeek gave OpenAI
		// clients: the text to read, and the blocks to send back.
		ReasoningContent *string         `json:"reasoning_content,omitempty"`
		ThinkingBlocks   []thinkingBlock `json:"thinking_blocks,omitempty"`
	}
	// thinkingBlock is one block of thinking as Anthropic returns it:
	// type thinking (thinking and signature) or redacted_thinking (data).
	thinkingBlock struct {
		Type      string `json:"type"`
		Thinking  string `json:"thinking,omitempty"`
		Signature string `json:"signature,omitempty"`
		Data      string `json:"data,omitempty"`
	}
	wireToolCall struct {
		Index    *int         `json:"index,omitempty"`
		ID       string       `json:"id,omitempty"`
		Type     string       `json:"type,omitempty"`
		Function wireFunction `json:"function"`
	}
	wireFunction struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	}
	usageObject struct {
		PromptTokens            int                    `json:"prompt_tokens"`
		CompletionTokens        int                    `json:"completion_tokens"`
		TotalTokens             int                    `json:"total_tokens"`
		PromptTokensDetails     promptTokenDetails     `json:"prompt_tokens_details"`
		CompletionTokensDetails completionTokenDetails `json:"completion_tokens_details"`
	}
	promptTokenDetails struct {
		CachedTokens int `json:"cached_tokens"`
		AudioTokens  int `json:"audio_tokens"`
	}
	completionTokenDetails struct {
		ReasoningTokens          int `json:"reasoning_tokens"`
		AudioTokens              int `json:"audio_tokens"`
		AcceptedPredictionTokens int `json:"accepted_prediction_tokens"`
		RejectedPredictionTokens int `json:"rejected_prediction_tokens"`
	}
)

// toUsage is u as OpenAI reports it: prompt_tokens includes the cached
// tokens, which prompt_tokens_details counts. Both detail objects are
// always there, as in OpenAI's answers, whose clients read
// completion_tokens_details.reasoning_tokens without checking; the
// canonical usage does not count reasoning tokens apart (a translated
// answer's thinking is in its output tokens), so that is 0, as in a
// translated Responses API answer.
func toUsage(u llm.Usage) *usageObject {
	o := &usageObject{PromptTokens: u.InputTokens, CompletionTokens: u.OutputTokens, TotalTokens: u.InputTokens + u.OutputTokens}
	o.PromptTokensDetails.CachedTokens = u.CachedInputTokens
	return o
}

// Prefixes of the ids of OpenAI's answers: a chat.completion (and its
// chunks), a text_completion.
const (
	chatIDPrefix   = "chatcmpl-"
	legacyIDPrefix = "cmpl-"
)

// answerID is id when it is already the id of an OpenAI answer (it starts
// with prefix), else a new one with that prefix: a translated answer's id
// is the other API's (Anthropic's msg_...), which no OpenAI answer has.
func (s source) answerID(prefix, id string) string {
	if strings.HasPrefix(id, prefix) {
		return id
	}
	return s.newID(prefix)
}

// relayable reports whether an answer in dialect d reaches an OpenAI
// Chat Completions client verbatim.
func relayable(d llm.Dialect) bool {
	return d == llm.DialectOpenAI
}

// WriteResponse writes a non-streaming answer as a chat.completion. An
// answer from an OpenAI-dialect provider is passed through verbatim (its
// model field already names the model that answered); any other answer is
// encoded from its canonical fields.
func WriteResponse(w http.ResponseWriter, resp *llm.Response) error {
	return defaultSource().writeResponse(w, resp)
}

func (s source) writeResponse(w http.ResponseWriter, resp *llm.Response) error {
	body := resp.Raw
	if !relayable(resp.Dialect) || body == nil {
		var err error
		if body, err = s.encodeResponse(resp); err != nil {
			return err
		}
	}
	if err := wirejson.Write(w, http.StatusOK, body); err != nil {
		return fmt.Errorf("openaiapi: write response: %w", err)
	}
	return nil
}

// encodeResponse encodes a canonical answer as a chat.completion body.
func (s source) encodeResponse(resp *llm.Response) ([]byte, error) {
	c := completion{
		ID:      s.answerID(chatIDPrefix, resp.ID),
		Object:  "chat.completion",
		Created: resp.Created,
		Model:   resp.Model,
		Usage:   toUsage(resp.Usage),
	}
	if c.Created == 0 {
		c.Created = s.now().Unix()
	}
	c.Choices = make([]choice, 0, 1+len(resp.More))
	c.Choices = append(c.Choices, s.choice(0, resp))
	for i := range resp.More {
		c.Choices = append(c.Choices, s.choice(i+1, &resp.More[i]))
	}
	b, err := wirejson.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("openaiapi: encode response: %w", err)
	}
	return b, nil
}

// choice is answer a as the choice at index i of a chat.completion.
func (s source) choice(i int, a *llm.Response) choice {
	msg := responseMessage{Role: "assistant"}
	if a.Text != "" || len(a.ToolCalls) == 0 {
		text := a.Text
		msg.Content = &text
	}
	for _, tc := range a.ToolCalls {
		id := tc.ID
		if id == "" {
			id = s.newID("call_")
		}
		msg.ToolCalls = append(msg.ToolCalls, wireToolCall{ID: id, Type: "function", Function: wireFunction{Name: tc.Name, Arguments: tc.Arguments}})
	}
	msg.ReasoningContent, msg.ThinkingBlocks = showThinking(a.Thinking)
	return choice{Index: i, Message: msg, FinishReason: finishReason(a.FinishReason, len(a.ToolCalls) > 0)}
}

// finishReason fills in a missing finish reason.
func finishReason(f llm.FinishReason, toolCalls bool) string {
	switch {
	case f != "":
		return string(f)
	case toolCalls:
		return string(llm.FinishToolCalls)
	}
	return string(llm.FinishStop)
}

// showThinking is an answer's thinking as an OpenAI client gets it: the
// text of its blocks together, and the blocks themselves, to send back
// with the assistant message (nil, nil for none).
func showThinking(ts []llm.Thinking) (*string, []thinkingBlock) {
	if len(ts) == 0 {
		return nil, nil
	}
	var text strings.Builder
	blocks := make([]thinkingBlock, 0, len(ts))
	for _, t := range ts {
		text.WriteString(t.Text)
		blocks = append(blocks, wireThinking(t))
	}
	s := text.String()
	return &s, blocks
}

func wireThinking(t llm.Thinking) thinkingBlock {
	if t.Redacted != "" {
		return thinkingBlock{Type: "redacted_thinking", Data: t.Redacted}
	}
	return thinkingBlock{Type: "thinking", Thinking: t.Text, Signature: t.Signature}
}
