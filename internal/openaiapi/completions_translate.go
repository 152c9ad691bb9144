package openaiapi

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// A legacy Completions API request is translated for a deployment of
// another API as one user message holding the prompt: the answer's text
// comes back as the completion. What only a completion model can do
// (suffix, echo, log probabilities, several choices, token-id prompts) is
// refused with a 400 naming it.

type completionsRequest struct {
	Prompt      json.RawMessage `json:"prompt"`
	Suffix      *string         `json:"suffix"`
	Echo        *bool           `json:"echo"`
	Logprobs    *int            `json:"logprobs"`
	N           *int            `json:"n"`
	BestOf      *int            `json:"best_of"`
	Temperature *float64        `json:"temperature"`
	TopP        *float64        `json:"top_p"`
	Stop        json.RawMessage `json:"stop"`
	User        string          `json:"user"`
}

// decodeCompletions decodes a legacy Completions body into the canonical
// Body.
func decodeCompletions(raw []byte) (*llm.Body, error) {
	var in completionsRequest
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, badRequest(wirejson.DecodeProblem(err))
	}
	other := "cannot be served by a deployment of another API; use a route of OpenAI deployments"
	switch {
	case in.Suffix != nil && *in.Suffix != "":
		return nil, badRequest("suffix", "suffix (fill in the middle) "+other)
	case in.Echo != nil && *in.Echo:
		return nil, badRequest("echo", "echo "+other)
	case in.Logprobs != nil:
		return nil, badRequest("logprobs", "logprobs "+other)
	case in.N != nil && *in.N > 1:
		return nil, badRequest("n", "n > 1 "+other)
	case in.BestOf != nil && *in.BestOf > 1:
		return nil, badRequest("best_of", "best_of > 1 "+other)
	}
	var prompt string
	if err := json.Unmarshal(in.Prompt, &prompt); err != nil {
		var prompts []string
		if json.Unmarshal(in.Prompt, &prompts) != nil || len(prompts) != 1 {
			return nil, badRequest("prompt", "a prompt of token ids, or of several prompts, "+other+" (send one prompt as a string)")
		}
		prompt = prompts[0]
	}
	stop, err := decodeStop(in.Stop)
	if err != nil {
		return nil, err
	}
	return &llm.Body{
		Messages:    []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: prompt}}}},
		Temperature: in.Temperature, TopP: in.TopP, Stop: stop, User: in.User,
	}, nil
}

// legacyCompletion is a text_completion object, or (Choices holding
// deltas) one chunk of a stream of them.
type legacyCompletion struct {
	ID      string         `json:"id"`
	Object  string         `json:"object"`
	Created int64          `json:"created"`
	Model   string         `json:"model"`
	Choices []legacyChoice `json:"choices"`
	Usage   *usageObject   `json:"usage,omitempty"`
}

type legacyChoice struct {
	Text         string  `json:"text"`
	Index        int     `json:"index"`
	Logprobs     any     `json:"logprobs"`
	FinishReason *string `json:"finish_reason"`
}

// WriteCompletionsResponse writes a legacy Completions answer: the
// provider's verbatim when it speaks that API, else a translated answer
// encoded as a text_completion.
func WriteCompletionsResponse(w http.ResponseWriter, resp *llm.Response) error {
	body := resp.Raw
	if resp.Dialect != llm.DialectOpenAICompletions || body == nil {
		s := defaultSource()
		finish := string(resp.FinishReason)
		if finish == "" || finish == string(llm.FinishToolCalls) {
			finish = string(llm.FinishStop)
		}
		c := legacyCompletion{ID: s.answerID(legacyIDPrefix, resp.ID), Object: "text_completion", Created: resp.Created, Model: resp.Model,
			Choices: []legacyChoice{{Text: resp.Text, FinishReason: &finish}}, Usage: toUsage(resp.Usage)}
		if c.Created == 0 {
			c.Created = s.now().Unix()
		}
		var err error
		if body, err = wirejson.Marshal(c); err != nil {
			return fmt.Errorf("openaiapi: encode completion: %w", err)
		}
	}
	if err := wirejson.Write(w, http.StatusOK, body); err != nil {
		return fmt.Errorf("openaiapi: write response: %w", err)
	}
	return nil
}

// NewCompletionsStreamWriter returns a writer for a legacy Completions
// client: a provider of that API's frames are relayed verbatim, any
// other's events become text_completion chunks, then [DONE].
func NewCompletionsStreamWriter(w http.ResponseWriter, req *llm.Request, src llm.Dialect) *StreamWriter {
	s := NewStreamWriter(w, req, src)
	s.legacy = true
	return s
}
