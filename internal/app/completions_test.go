package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3/packages/ssestream"

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
// official OpenAI Go SDK: relayed to an OpenAI deployment, translated for
// an Anthropic one (the prompt as a user message), streamed with usage
// either way, and refused with a 400 naming what only a completion model
// does (suffix) on the Anthropic one.
func TestOpenAISDKCompletions(t *testing.T) {
	s := startStack(t, fastSim(), "")
	c := s.openai()
	ctx := context.Background()

	var httpResp *http.Response
	resp, err := c.Completions.New(ctx, completionParams("medium", "def fibonacci(n):"), option.WithResponseInto(&httpResp))
	if err != nil {
		t.Fatalf("completions: %v", err)
	}
	if resp.Object != "text_completion" || len(resp.Choices) != 1 || resp.Choices[0].Text == "" || resp.Model != "sim-medium" ||
		resp.Usage.PromptTokens == 0 || httpResp.Header.Get("X-Switchyard-Deployment") != "medium" {
		t.Fatalf("response %+v, deployment %q", resp, httpResp.Header.Get("X-Switchyard-Deployment"))
	}
	// Translated for claude, first on anthropic-first: the same answer as
	// a chat request with the prompt as its user message (given room for
	// it: the legacy API's default max_tokens is 16).
	long := completionParams("anthropic-first", "def fibonacci(n):")
	long.MaxTokens = openai.Int(4096)
	tr, err := c.Completions.New(ctx, long, option.WithResponseInto(&httpResp))
	if err != nil {
		t.Fatalf("completions translated for claude: %v", err)
	}
	chat, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "claude", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("def fibonacci(n):")}})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Object != "text_completion" || len(tr.Choices) != 1 || tr.Choices[0].Text != chat.Choices[0].Message.Content || tr.Choices[0].FinishReason != "stop" ||
		tr.Model != "sim-large" || tr.Usage.CompletionTokens == 0 || tr.Usage.TotalTokens != tr.Usage.PromptTokens+tr.Usage.CompletionTokens ||
		httpResp.Header.Get("X-Switchyard-Deployment") != "claude" {
		t.Fatalf("translated %+v, deployment %q, want claude's answer %q", tr, httpResp.Header.Get("X-Switchyard-Deployment"), chat.Choices[0].Message.Content)
	}
	// max_tokens cuts it: finish_reason length, as OpenAI says it.
	cutParams := completionParams("claude", "Tell me a long story")
	cutParams.MaxTokens = openai.Int(5)
	if cut, err := c.Completions.New(ctx, cutParams); err != nil || cut.Choices[0].FinishReason != "length" || cut.Usage.CompletionTokens != 5 {
		t.Errorf("max_tokens 5 on claude: %+v, %v", cut, err)
	}
	translatedStream := completionParams("claude", "Once upon a time")
	translatedStream.MaxTokens = openai.Int(4096)
	translatedStream.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	ttext, tfinish, tusage, err := readCompletions(c.Completions.NewStreaming(ctx, translatedStream))
	if err != nil || ttext == "" || tfinish != "stop" || tusage.CompletionTokens == 0 {
		t.Fatalf("translated stream: err %v, text %q, finish %q, usage %+v", err, ttext, tfinish, tusage)
	}

	params := completionParams("auto", "Once upon a time")
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	text, finish, usage, err := readCompletions(c.Completions.NewStreaming(ctx, params))
	if err != nil || text == "" || finish == "" || usage.CompletionTokens == 0 {
		t.Fatalf("stream: err %v, text %q, finish %q, usage %+v", err, text, finish, usage)
	}

	fim := completionParams("claude", "def f(x):")
	fim.Suffix = openai.String("    return y")
	_, err = c.Completions.New(ctx, fim)
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.Message, "suffix") {
		t.Fatalf("claude with a suffix: got %v, want a 400 naming suffix", err)
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
	// Translated for claude, a cut stream ends the same way.
	s = startStack(t, simWithFaults("sim-large", sim.Fault{Type: sim.FaultCut, After: 3}), "")
	r, body = s.post("/v1/completions", `{"model":"claude","stream":true,"prompt":"a long story"}`)
	if r.StatusCode != 200 || !strings.Contains(string(body), `data: {"error"`) || strings.Contains(string(body), "data: [DONE]") ||
		!strings.Contains(string(body), `"text_completion"`) {
		t.Errorf("cut translated stream: %d %q, want text_completion chunks, then an error and no [DONE]", r.StatusCode, body)
	}
}

// readCompletions reads a legacy Completions stream: its text, finish
// reason and usage; a chunk that is not a text_completion is an error.
func readCompletions(stream *ssestream.Stream[openai.Completion]) (text, finish string, usage openai.CompletionUsage, err error) {
	defer stream.Close()
	var b strings.Builder
	for stream.Next() {
		ch := stream.Current()
		if ch.Object != "text_completion" {
			return "", "", usage, fmt.Errorf("chunk object %q", ch.Object)
		}
		for _, choice := range ch.Choices {
			b.WriteString(choice.Text)
			if choice.FinishReason != "" {
				finish = string(choice.FinishReason)
			}
		}
		if ch.Usage.CompletionTokens > 0 {
			usage = ch.Usage
		}
	}
	return b.String(), finish, usage, stream.Err()
}
