package anthropicapi

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// msgIDPrefix begins the id of every Messages API answer.
const msgIDPrefix = "msg_"

// idSource invents ids for encodings that lack them (a translated answer
// has no msg_ id). Tests replace it; production uses defaultIDs.
type idSource func(prefix string) string

func defaultIDs(prefix string) string { return prefix + rand.Text() }

// wire types of the Messages API answer.
type (
	message struct {
		ID           string         `json:"id"`
		Type         string         `json:"type"`
		Role         string         `json:"role"`
		Model        string         `json:"model"`
		Content      []contentBlock `json:"content"`
		StopReason   *string        `json:"stop_reason"`
		StopSequence *string        `json:"stop_sequence"`
		Usage        usageObject    `json:"usage"`
	}
	contentBlock struct {
		Type  string          `json:"type"`
		Text  *string         `json:"text,omitempty"`
		ID    string          `json:"id,omitempty"`
		Name  string          `json:"name,omitempty"`
		Input json.RawMessage `json:"input,omitempty"`
		// thinking (Thinking and Signature) and redacted_thinking (Data)
		Thinking  *string `json:"thinking,omitempty"`
		Signature *string `json:"signature,omitempty"`
		Data      string  `json:"data,omitempty"`
	}
	usageObject struct {
		InputTokens              int `json:"input_tokens"`
		CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
		CacheReadInputTokens     int `json:"cache_read_input_tokens"`
		OutputTokens             int `json:"output_tokens"`
	}
)

// toUsage is u as Anthropic reports it: input_tokens leaves out the tokens
// read from and written to the prompt cache.
func toUsage(u llm.Usage) usageObject {
	return usageObject{
		InputTokens:              max(u.InputTokens-u.CachedInputTokens-u.CacheWriteTokens, 0),
		CacheCreationInputTokens: u.CacheWriteTokens,
		CacheReadInputTokens:     u.CachedInputTokens,
		OutputTokens:             u.OutputTokens,
	}
}

// StopReason maps a canonical finish reason to Anthropic's stop_reason.
// An answer that calls tools ends with tool_use unless it was cut short
// or refused: Anthropic says tool_use whenever the content holds tool_use
// blocks, and agent loops run the tools only then, while some
// OpenAI-compatible servers (Gemini's) finish such an answer with "stop".
// Any other answer is end_turn.
func StopReason(f llm.FinishReason, toolCalls bool) string {
	switch f {
	case llm.FinishLength:
		return "max_tokens"
	case llm.FinishContentFilter:
		return "refusal"
	case llm.FinishToolCalls:
		return "tool_use"
	}
	if toolCalls {
		return "tool_use"
	}
	return "end_turn"
}

// stopOf is Anthropic's stop_reason and stop_sequence for an answer that
// finished with f, ended by the stop sequence seq (nil: none; "": one the
// provider did not name, which leaves stop_sequence null), and calls tools
// or not (see StopReason).
func stopOf(f llm.FinishReason, seq *string, toolCalls bool) (reason string, sequence *string) {
	reason = StopReason(f, toolCalls)
	if seq == nil || reason != "end_turn" {
		return reason, nil
	}
	if *seq != "" {
		sequence = seq
	}
	return "stop_sequence", sequence
}

// toolInput returns a tool call's arguments as the input object Anthropic
// carries; arguments that are not a JSON object become {}.
func toolInput(args string) json.RawMessage {
	b := bytes.TrimSpace([]byte(args))
	if len(b) > 0 && b[0] == '{' && json.Valid(b) {
		return b
	}
	return json.RawMessage("{}")
}

// WriteResponse writes a non-streaming answer as a Messages API message.
// An answer from an Anthropic-dialect provider is passed through verbatim
// (its model field already names the model that answered); any other
// answer is encoded from its canonical fields.
func WriteResponse(w http.ResponseWriter, resp *llm.Response) error {
	return writeResponse(w, resp, defaultIDs)
}

func writeResponse(w http.ResponseWriter, resp *llm.Response, ids idSource) error {
	body := resp.Raw
	if resp.Dialect != llm.DialectAnthropic || body == nil {
		var err error
		if body, err = encodeResponse(resp, ids); err != nil {
			return err
		}
	}
	if err := wirejson.Write(w, http.StatusOK, body); err != nil {
		return fmt.Errorf("anthropicapi: write response: %w", err)
	}
	return nil
}

func encodeResponse(resp *llm.Response, ids idSource) ([]byte, error) {
	m := message{
		ID:      resp.ID,
		Type:    "message",
		Role:    "assistant",
		Model:   resp.Model,
		Content: []contentBlock{},
		Usage:   toUsage(resp.Usage),
	}
	if !strings.HasPrefix(m.ID, msgIDPrefix) {
		// A translated answer's id is the other API's (chatcmpl-...),
		// which no Messages answer has.
		m.ID = ids(msgIDPrefix)
	}
	for _, t := range resp.Thinking {
		if t.Redacted != "" {
			m.Content = append(m.Content, contentBlock{Type: "redacted_thinking", Data: t.Redacted})
			continue
		}
		m.Content = append(m.Content, contentBlock{Type: "thinking", Thinking: &t.Text, Signature: &t.Signature})
	}
	if resp.Text != "" {
		text := resp.Text
		m.Content = append(m.Content, contentBlock{Type: "text", Text: &text})
	}
	for _, tc := range resp.ToolCalls {
		id := tc.ID
		if id == "" {
			id = ids("toolu_")
		}
		m.Content = append(m.Content, contentBlock{Type: "tool_use", ID: id, Name: tc.Name, Input: toolInput(tc.Arguments)})
	}
	stop, seq := stopOf(resp.FinishReason, resp.StopSequence, len(resp.ToolCalls) > 0)
	m.StopReason, m.StopSequence = &stop, seq
	b, err := wirejson.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("anthropicapi: encode response: %w", err)
	}
	return b, nil
}
