package app

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-gw/switchyard/internal/sim"
)

func completionParams(model, prompt string) openai.CompletionNewParams {
	return openai.CompletionNewParams{
		Model:  openai.CompletionNewParamsModel(model),
		Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String(prompt)},
	}
}

// TestOpenAISDKCompletions drives the legacy POST /v1/completions with the
// official OpenAI Go SDK: relayed to the route's OpenAI deployment (an
// Anthropic one skipped), streamed with usage, and refused with a clear
// 400 where no deployment can relay it.
func TestOpenAISDKCompletions(t *testing.T) {
	s := startStack(t, fastSim(), "")
	c := s.openai()
	ctx := context.Background()

	var httpResp *http.Response
	resp, err := c.Completions.New(ctx, completionParams("anthropic-first", "def fibonacci(n):"), option.WithResponseInto(&httpResp))
	if err != nil {
		t.Fatalf("completions: %v", err)
	}
	if resp.Object != "text_completion" || len(resp.Choices) != 1 || resp.Choices[0].Text == "" || resp.Model != "sim-medium" ||
		resp.Usage.PromptTokens == 0 || httpResp.Header.Get("X-Switchyard-Deployment") != "medium" {
		t.Fatalf("response %+v, deployment %q", resp, httpResp.Header.Get("X-Switchyard-Deployment"))
	}

	params := completionParams("auto", "Once upon a time")
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := c.Completions.NewStreaming(ctx, params)
	var text strings.Builder
	var usage openai.CompletionUsage
	finish := ""
	for stream.Next() {
		ch := stream.Current()
		for _, choice := range ch.Choices {
			text.WriteString(choice.Text)
			if choice.FinishReason != "" {
				finish = string(choice.FinishReason)
			}
		}
		if ch.Usage.CompletionTokens > 0 {
			usage = ch.Usage
		}
	}
	if err := stream.Err(); err != nil || text.Len() == 0 || finish == "" || usage.CompletionTokens == 0 {
		t.Fatalf("stream: err %v, text %q, finish %q, usage %+v", err, text.String(), finish, usage)
	}

	_, err = c.Completions.New(ctx, completionParams("claude", "hi"))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.Message, "legacy Completions API") {
		t.Fatalf("claude: got %v, want a 400 naming the legacy Completions API", err)
	}
	if r, body := s.post("/v1/completions", `{"model":"auto"}`); r.StatusCode != 400 || !strings.Contains(string(body), `"param":"prompt"`) {
		t.Errorf("no prompt: %d %s, want 400 on prompt", r.StatusCode, body)
	}
}

// TestCompletionsCutStream: a legacy Completions stream cut by the
// provider ends with an in-band error, never [DONE].
func TestCompletionsCutStream(t *testing.T) {
	s := startStack(t, simWithFaults("sim-medium", sim.Fault{Type: sim.FaultCut, After: 3}), "")
	r, body := s.post("/v1/completions", `{"model":"medium","stream":true,"prompt":"a long story"}`)
	if r.StatusCode != 200 || !strings.Contains(string(body), `data: {"error"`) || strings.Contains(string(body), "data: [DONE]") ||
		strings.Count(string(body), `"text_completion"`) != 3 {
		t.Errorf("cut stream: %d %q, want 3 chunks, then an error and no [DONE]", r.StatusCode, body)
	}
}
