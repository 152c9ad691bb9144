package app

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// TestChoicesFromOneAnswerAPIs: an OpenAI client's n > 1 to an Anthropic
// or Bedrock deployment, whose APIs answer once per call, is served as n
// calls at once: n choices in order, the usage and cost of all of them.
// Streamed, it is a 400 (a translated stream carries one choice).
func TestChoicesFromOneAnswerAPIs(t *testing.T) {
	s := startBedrockStack(t)
	ctx := context.Background()
	oa := s.openai()
	ask := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Name a colour of the sky.")}

	for _, tc := range []struct{ deployment, model string }{{"claude", "sim-large"}, {"bedrock-large", "sim-large"}} {
		before := s.callCount(tc.model)
		var hr1 *http.Response
		one, err := oa.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: tc.deployment, Messages: ask}, option.WithResponseInto(&hr1))
		if err != nil {
			t.Fatal(err)
		}
		var hr *http.Response
		three, err := oa.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: tc.deployment, Messages: ask, N: openai.Int(3)}, option.WithResponseInto(&hr))
		if err != nil {
			t.Fatalf("%s, n 3: %v", tc.deployment, err)
		}
		if len(three.Choices) != 3 {
			t.Fatalf("%s: got %d choices, want 3", tc.deployment, len(three.Choices))
		}
		for i, c := range three.Choices {
			if c.Index != int64(i) || c.Message.Content == "" || c.FinishReason != "stop" {
				t.Errorf("%s: choice %d: %+v", tc.deployment, i, c)
			}
		}
		if calls := s.callCount(tc.model) - before; calls != 4 {
			t.Errorf("%s: the deployment saw %d calls, want 1 + 3", tc.deployment, calls)
		}
		if three.Usage.PromptTokens != 3*one.Usage.PromptTokens || three.Usage.CompletionTokens != 3*one.Usage.CompletionTokens {
			t.Errorf("%s: usage %+v, want three times %+v", tc.deployment, three.Usage, one.Usage)
		}
		c1, _ := strconv.ParseFloat(hr1.Header.Get("X-Switchyard-Cost"), 64)
		c3, _ := strconv.ParseFloat(hr.Header.Get("X-Switchyard-Cost"), 64)
		if c1 <= 0 || c3 < 2.99*c1 || c3 > 3.01*c1 {
			t.Errorf("%s: cost %v for three choices, want three times %v", tc.deployment, c3, c1)
		}
	}

	st := oa.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "claude", Messages: ask, N: openai.Int(2)})
	for st.Next() {
	}
	var ae *openai.Error
	if err := st.Err(); !errors.As(err, &ae) || ae.StatusCode != 400 || ae.Code != "no_capable_deployment" || !strings.Contains(ae.Message, "n above 1 with stream") {
		t.Errorf("streamed n 2 to claude: %v, want a 400 no_capable_deployment naming n above 1 with stream", err)
	}
}
