package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// The official AWS SDK talks to the simulator's Bedrock Converse API
// unchanged: proof of wire fidelity.

// bedrockARN is a model id that must be path-escaped.
const bedrockARN = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.sim-m:0"

// bedrockClient starts a server for cfg and returns it with an SDK
// client signing requests with static SigV4 credentials, and the base URL
// and HTTP client for raw requests.
func bedrockClient(t *testing.T, cfg Config) (*Server, *bedrockruntime.Client, string, *http.Client) {
	t.Helper()
	s, url, c := startSim(t, cfg)
	br := bedrockruntime.New(bedrockruntime.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		RetryMaxAttempts: 1,
		HTTPClient:       sdkHTTP{c: c},
	})
	return s, br, url, c
}

// sdkHTTP is the SDK's HTTP client in these tests: it hands net/http the
// request body in memory, and asks the simulator for fault when set.
//
// The buffering works around a race between the SDK and net/http that a
// server answering at once (as the simulator does with no Latency) hits
// often: net/http writes the SDK's body (not a known in-memory reader)
// straight to the socket, so the answer can arrive before its write loop
// has read the body to its end; the SDK closes the body as soon as Do
// returns, the end-of-body read then fails with io.EOF, and net/http
// closes the connection under the event stream being read ("use of closed
// network connection"). A real network's round trip hides the window.
type sdkHTTP struct {
	c     *http.Client
	fault string
}

// Do sends r with its body in memory.
func (h sdkHTTP) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	if h.fault != "" {
		r.Header.Set("X-Sim-Fault", h.fault)
	}
	return h.c.Do(r)
}

// withFault makes one SDK call ask for a fault (X-Sim-Fault).
func withFault(c *http.Client, fault string) func(*bedrockruntime.Options) {
	return func(o *bedrockruntime.Options) { o.HTTPClient = sdkHTTP{c: c, fault: fault} }
}

// userText is a user message of one text block.
func userText(text string) types.Message {
	return types.Message{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: text}}}
}

// withTimeout bounds a test step, so a stuck stream fails instead of hanging.
func withTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// brStreamed is what a ConverseStream delivered.
type brStreamed struct {
	events    []types.ConverseStreamOutput
	text      string
	reasoning string
	signature string
	toolID    string
	toolName  string
	toolInput string
	stop      types.StopReason
	usage     *types.TokenUsage
	err       error
}

// converseStream sends in as a ConverseStream and reads the whole stream.
func converseStream(t *testing.T, ctx context.Context, br *bedrockruntime.Client, in *bedrockruntime.ConverseInput, opts ...func(*bedrockruntime.Options)) brStreamed {
	t.Helper()
	out, err := br.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{
		ModelId: in.ModelId, Messages: in.Messages, System: in.System, InferenceConfig: in.InferenceConfig,
		ToolConfig: in.ToolConfig, AdditionalModelRequestFields: in.AdditionalModelRequestFields,
	}, opts...)
	if err != nil {
		t.Fatalf("ConverseStream: %v", err)
	}
	st := out.GetStream()
	defer st.Close()
	var r brStreamed
	for ev := range st.Events() {
		r.events = append(r.events, ev)
		r.add(ev)
	}
	r.err = st.Err()
	return r
}

// add accumulates one event.
func (r *brStreamed) add(ev types.ConverseStreamOutput) {
	switch e := ev.(type) {
	case *types.ConverseStreamOutputMemberContentBlockStart:
		if tu, ok := e.Value.Start.(*types.ContentBlockStartMemberToolUse); ok {
			r.toolID, r.toolName = aws.ToString(tu.Value.ToolUseId), aws.ToString(tu.Value.Name)
		}
	case *types.ConverseStreamOutputMemberContentBlockDelta:
		switch d := e.Value.Delta.(type) {
		case *types.ContentBlockDeltaMemberText:
			r.text += d.Value
		case *types.ContentBlockDeltaMemberToolUse:
			r.toolInput += aws.ToString(d.Value.Input)
		case *types.ContentBlockDeltaMemberReasoningContent:
			switch rd := d.Value.(type) {
			case *types.ReasoningContentBlockDeltaMemberText:
				r.reasoning += rd.Value
			case *types.ReasoningContentBlockDeltaMemberSignature:
				r.signature = rd.Value
			}
		}
	case *types.ConverseStreamOutputMemberMessageStop:
		r.stop = e.Value.StopReason
	case *types.ConverseStreamOutputMemberMetadata:
		r.usage = e.Value.Usage
	}
}

// textOf is the text of a content block, or "".
func textOf(b types.ContentBlock) string {
	if t, ok := b.(*types.ContentBlockMemberText); ok {
		return t.Value
	}
	return ""
}

// weatherTools offers one tool, get_weather.
func weatherTools() *types.ToolConfiguration {
	return &types.ToolConfiguration{Tools: []types.Tool{&types.ToolMemberToolSpec{Value: types.ToolSpecification{
		Name:        aws.String("get_weather"),
		Description: aws.String("The weather in a city."),
		InputSchema: &types.ToolInputSchemaMemberJson{Value: document.NewLazyDocument(map[string]any{
			"type": "object", "properties": weatherSchema,
		})},
	}}}}
}

// thinking asks Claude on Bedrock to think with a budget.
func thinking(budget int) document.Interface {
	return document.NewLazyDocument(map[string]any{"thinking": map[string]any{"type": "enabled", "budget_tokens": budget}})
}

func TestBedrockSDK(t *testing.T) {
	s, br, _, c := bedrockClient(t, Config{Models: []Model{
		testModel("m"),
		testModel(bedrockARN),
		{Name: "thinker", OutputTokens: 8, ContextWindow: 100000, Reasoning: true},
	}})
	ctx := withTimeout(t)
	base := &bedrockruntime.ConverseInput{
		ModelId:  aws.String("m"),
		Messages: []types.Message{userText("hello sdk")},
		System:   []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: "Be brief."}},
	}
	resp, err := br.Converse(ctx, base)
	if err != nil {
		t.Fatalf("Converse: %v", err)
	}
	msg := resp.Output.(*types.ConverseOutputMemberMessage).Value
	text := textOf(msg.Content[0])
	u := resp.Usage
	if len(msg.Content) != 1 || len(strings.Fields(text)) != 8 || msg.Role != types.ConversationRoleAssistant || resp.StopReason != types.StopReasonEndTurn {
		t.Errorf("got %+v stop %q, want one text block of 8 words, end_turn", msg, resp.StopReason)
	}
	if aws.ToInt32(u.InputTokens) <= 0 || aws.ToInt32(u.OutputTokens) != 8 || aws.ToInt32(u.TotalTokens) != aws.ToInt32(u.InputTokens)+8 ||
		aws.ToInt32(u.CacheReadInputTokens) != 0 || aws.ToInt32(u.CacheWriteInputTokens) != 0 {
		t.Errorf("got usage in %d out %d total %d, want in > 0, out 8, total their sum",
			aws.ToInt32(u.InputTokens), aws.ToInt32(u.OutputTokens), aws.ToInt32(u.TotalTokens))
	}
	if resp.Metrics == nil || resp.Metrics.LatencyMs == nil {
		t.Errorf("got metrics %+v, want latencyMs", resp.Metrics)
	}
	again, err := br.Converse(ctx, base)
	if err != nil || textOf(again.Output.(*types.ConverseOutputMemberMessage).Value.Content[0]) != text {
		t.Fatalf("got %v, want the same answer %q again", err, text)
	}

	t.Run("count tokens", func(t *testing.T) {
		// The input the Converse request counted.
		ct, err := br.CountTokens(ctx, &bedrockruntime.CountTokensInput{ModelId: aws.String("m"), Input: &types.CountTokensInputMemberConverse{
			Value: types.ConverseTokensRequest{Messages: base.Messages, System: base.System}}})
		if err != nil || aws.ToInt32(ct.InputTokens) != aws.ToInt32(u.InputTokens) {
			t.Errorf("CountTokens: %v %+v, want %d input tokens", err, ct, aws.ToInt32(u.InputTokens))
		}
		var nf *types.ResourceNotFoundException
		if _, err := br.CountTokens(ctx, &bedrockruntime.CountTokensInput{ModelId: aws.String("nope"), Input: &types.CountTokensInputMemberConverse{
			Value: types.ConverseTokensRequest{Messages: base.Messages}}}); !errors.As(err, &nf) {
			t.Errorf("CountTokens of an unknown model: %v, want ResourceNotFoundException", err)
		}
	})

	t.Run("stream", func(t *testing.T) {
		r := converseStream(t, ctx, br, base)
		if r.err != nil {
			t.Fatalf("stream: %v", r.err)
		}
		if r.text != text || r.stop != types.StopReasonEndTurn {
			t.Errorf("got %q stop %q, want %q end_turn", r.text, r.stop, text)
		}
		if start, ok := r.events[0].(*types.ConverseStreamOutputMemberMessageStart); !ok || start.Value.Role != types.ConversationRoleAssistant {
			t.Errorf("got first event %#v, want messageStart of the assistant", r.events[0])
		}
		if _, ok := r.events[len(r.events)-1].(*types.ConverseStreamOutputMemberMetadata); !ok {
			t.Errorf("got last event %#v, want metadata", r.events[len(r.events)-1])
		}
		if n := len(r.events); n != 1+8+2+1 {
			t.Errorf("got %d events, want messageStart, 8 deltas, contentBlockStop, messageStop, metadata", n)
		}
		if r.usage == nil || !reflect.DeepEqual(*r.usage, *u) {
			t.Errorf("got usage %+v, want %+v", r.usage, u)
		}
	})

	t.Run("escaped model id", func(t *testing.T) {
		in := *base
		in.ModelId = aws.String(bedrockARN)
		r, err := br.Converse(ctx, &in)
		if err != nil {
			t.Fatal(err)
		}
		if got := textOf(r.Output.(*types.ConverseOutputMemberMessage).Value.Content[0]); got != text {
			t.Errorf("got %q, want %q", got, text)
		}
		if calls := s.Calls(bedrockARN); len(calls) != 1 || calls[0].Status != http.StatusOK {
			t.Errorf("got calls %+v, want one 200", calls)
		}
	})

	t.Run("tools", func(t *testing.T) {
		in := *base
		in.ToolConfig = weatherTools()
		r, err := br.Converse(ctx, &in)
		if err != nil {
			t.Fatal(err)
		}
		content := r.Output.(*types.ConverseOutputMemberMessage).Value.Content
		tu, ok := content[0].(*types.ContentBlockMemberToolUse)
		if !ok || len(content) != 1 || r.StopReason != types.StopReasonToolUse {
			t.Fatalf("got %#v stop %q, want one toolUse, tool_use", content, r.StopReason)
		}
		var args map[string]any
		if err := tu.Value.Input.UnmarshalSmithyDocument(&args); err != nil {
			t.Fatal(err)
		}
		if aws.ToString(tu.Value.Name) != "get_weather" || !strings.HasPrefix(aws.ToString(tu.Value.ToolUseId), "tooluse_") ||
			args["unit"] != "celsius" || args["city"] == nil {
			t.Errorf("got tool use %s %s %v, want get_weather with city and unit celsius", aws.ToString(tu.Value.Name), aws.ToString(tu.Value.ToolUseId), args)
		}

		st := converseStream(t, ctx, br, &in)
		var streamed map[string]any
		if st.err != nil || st.toolName != "get_weather" || !strings.HasPrefix(st.toolID, "tooluse_") || st.stop != types.StopReasonToolUse {
			t.Fatalf("got %+v, want a streamed get_weather call", st)
		}
		if err := json.Unmarshal([]byte(st.toolInput), &streamed); err != nil || !reflect.DeepEqual(streamed, args) {
			t.Errorf("got streamed input %q (%v), want %v", st.toolInput, err, args)
		}

		in.Messages = []types.Message{base.Messages[0],
			{Role: types.ConversationRoleAssistant, Content: content},
			{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberToolResult{Value: types.ToolResultBlock{
				ToolUseId: tu.Value.ToolUseId,
				Content:   []types.ToolResultContentBlock{&types.ToolResultContentBlockMemberText{Value: "sunny"}},
				Status:    types.ToolResultStatusSuccess,
			}}}},
		}
		r, err = br.Converse(ctx, &in)
		if err != nil {
			t.Fatal(err)
		}
		content = r.Output.(*types.ConverseOutputMemberMessage).Value.Content
		if len(content) != 1 || len(strings.Fields(textOf(content[0]))) != 8 || r.StopReason != types.StopReasonEndTurn {
			t.Errorf("got %#v stop %q after the tool result, want text, end_turn", content, r.StopReason)
		}
	})

	t.Run("thinking", func(t *testing.T) {
		in := *base
		in.ModelId = aws.String("thinker")
		in.InferenceConfig = &types.InferenceConfiguration{MaxTokens: aws.Int32(4096)}
		in.AdditionalModelRequestFields = thinking(2048)
		in.ToolConfig = weatherTools()
		r, err := br.Converse(ctx, &in)
		if err != nil {
			t.Fatal(err)
		}
		content := r.Output.(*types.ConverseOutputMemberMessage).Value.Content
		rc, ok := content[0].(*types.ContentBlockMemberReasoningContent)
		if !ok || len(content) != 2 {
			t.Fatalf("got %#v, want reasoningContent then toolUse", content)
		}
		rt := rc.Value.(*types.ReasoningContentBlockMemberReasoningText).Value
		if _, ok := content[1].(*types.ContentBlockMemberToolUse); !ok || len(strings.Fields(aws.ToString(rt.Text))) != 16 || aws.ToString(rt.Signature) == "" {
			t.Errorf("got %#v and reasoning %+v, want 16 words of signed thinking, then a tool use", content, rt)
		}
		if out := aws.ToInt32(r.Usage.OutputTokens); out <= 16 {
			t.Errorf("got %d output tokens, want the 16 thinking tokens and more", out)
		}

		st := converseStream(t, ctx, br, &in)
		if st.err != nil || st.reasoning != aws.ToString(rt.Text) || st.signature != aws.ToString(rt.Signature) || st.toolName != "get_weather" {
			t.Errorf("got streamed %+v, want the same thinking and a tool call", st)
		}
		if d, ok := st.events[1].(*types.ConverseStreamOutputMemberContentBlockDelta); !ok || aws.ToInt32(d.Value.ContentBlockIndex) != 0 {
			t.Errorf("got second event %#v, want a delta of block 0", st.events[1])
		}
		for _, ev := range st.events {
			if cs, ok := ev.(*types.ConverseStreamOutputMemberContentBlockStart); ok && aws.ToInt32(cs.Value.ContentBlockIndex) != 1 {
				t.Errorf("got the tool call at block %d, want 1", aws.ToInt32(cs.Value.ContentBlockIndex))
			}
		}

		result := types.Message{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberToolResult{Value: types.ToolResultBlock{
			ToolUseId: content[1].(*types.ContentBlockMemberToolUse).Value.ToolUseId,
			Content:   []types.ToolResultContentBlock{&types.ToolResultContentBlockMemberJson{Value: document.NewLazyDocument(map[string]any{"sky": "clear"})}},
		}}}}
		loop := func(assistant []types.ContentBlock) (*bedrockruntime.ConverseOutput, error) {
			l := in
			l.Messages = []types.Message{base.Messages[0], {Role: types.ConversationRoleAssistant, Content: assistant}, result}
			return br.Converse(ctx, &l)
		}
		r, err = loop(content)
		if err != nil {
			t.Fatalf("tool loop: %v", err)
		}
		if got := r.Output.(*types.ConverseOutputMemberMessage).Value.Content; len(got) != 2 || textOf(got[1]) == "" || r.StopReason != types.StopReasonEndTurn {
			t.Errorf("got %#v stop %q, want thinking then text, end_turn", got, r.StopReason)
		}

		altered := &types.ContentBlockMemberReasoningContent{Value: &types.ReasoningContentBlockMemberReasoningText{Value: types.ReasoningTextBlock{
			Text: aws.String(aws.ToString(rt.Text) + " Or not."), Signature: rt.Signature,
		}}}
		var ve *types.ValidationException
		if _, err := loop([]types.ContentBlock{altered, content[1]}); !errors.As(err, &ve) || !strings.Contains(ve.ErrorMessage(), "signature") {
			t.Errorf("altered thinking: got %v, want a ValidationException about the signature", err)
		}
		if _, err := loop(content[1:]); !errors.As(err, &ve) || !strings.Contains(ve.ErrorMessage(), "must start with a thinking block") {
			t.Errorf("dropped thinking: got %v, want a ValidationException", err)
		}
	})

	t.Run("thinking refused", func(t *testing.T) {
		for _, tt := range []struct {
			name, model string
			budget, max int
			want        string
		}{
			{"plain model", "m", 2048, 4096, "thinking: Extra inputs are not permitted"},
			{"small budget", "thinker", 100, 4096, "greater than or equal to 1024"},
			{"max tokens not above the budget", "thinker", 2048, 2048, "`max_tokens` must be greater than `thinking.budget_tokens`"},
		} {
			in := *base
			in.ModelId = aws.String(tt.model)
			in.InferenceConfig = &types.InferenceConfiguration{MaxTokens: aws.Int32(int32(tt.max))}
			in.AdditionalModelRequestFields = thinking(tt.budget)
			_, err := br.Converse(ctx, &in)
			var ve *types.ValidationException
			if !errors.As(err, &ve) || !strings.Contains(ve.ErrorMessage(), tt.want) {
				t.Errorf("%s: got %v, want a ValidationException with %q", tt.name, err, tt.want)
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, tt := range []struct {
			name, model, fault string
			want               any
			message            string
		}{
			{"unknown model", "nope", "", new(*types.ResourceNotFoundException), "The provided model identifier is invalid."},
			{"throttled", "m", "status;status=429", new(*types.ThrottlingException), "Too many requests"},
			{"unavailable", "m", "status;status=503", new(*types.ServiceUnavailableException), ""},
			{"internal", "m", "status;status=500", new(*types.InternalServerException), ""},
			{"timeout", "m", "status;status=408", new(*types.ModelTimeoutException), ""},
			{"context length", "m", "context_length", new(*types.ValidationException), "Input is too long for requested model."},
			{"content policy", "m", "content_policy", new(*types.ValidationException), "content filters"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				in := *base
				in.ModelId = aws.String(tt.model)
				var opts []func(*bedrockruntime.Options)
				if tt.fault != "" {
					opts = append(opts, withFault(c, tt.fault))
				}
				_, err := br.Converse(ctx, &in, opts...)
				if !errors.As(err, tt.want) || !strings.Contains(err.Error(), tt.message) {
					t.Errorf("got %v, want %T with %q", err, tt.want, tt.message)
				}
				_, err = br.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: in.ModelId, Messages: in.Messages}, opts...)
				if !errors.As(err, tt.want) {
					t.Errorf("stream: got %v, want %T", err, tt.want)
				}
			})
		}
	})

	t.Run("stream error", func(t *testing.T) {
		r := converseStream(t, ctx, br, base, withFault(c, "stream_error;after=2"))
		var se *types.ModelStreamErrorException
		if !errors.As(r.err, &se) || aws.ToInt32(se.OriginalStatusCode) != 500 {
			t.Errorf("got %v, want a ModelStreamErrorException of status 500", r.err)
		}
		if want := strings.Join(strings.SplitAfter(text, " ")[:2], ""); r.text != strings.TrimSpace(want) && r.text != want {
			t.Errorf("got %q before the error, want the first two tokens of %q", r.text, text)
		}
	})

	t.Run("malformed", func(t *testing.T) {
		r := converseStream(t, ctx, br, base, withFault(c, "malformed;after=1"))
		if r.err == nil || r.usage != nil {
			t.Errorf("got error %v and usage %+v, want a decoding error and no metadata", r.err, r.usage)
		}
	})

	t.Run("missing metadata", func(t *testing.T) {
		r := converseStream(t, ctx, br, base, withFault(c, "missing_done"))
		if r.err != nil || r.text != text || r.stop != types.StopReasonEndTurn || r.usage != nil {
			t.Errorf("got %+v, want the whole text and messageStop, no metadata", r)
		}
	})

	for _, call := range s.Calls("m") {
		if !strings.HasPrefix(call.Path, "/model/m/converse") || call.Status == 0 {
			t.Errorf("got call %+v, want a converse path and a status", call)
		}
	}
}

// TestBedrockWire checks what the SDK cannot send or does not show:
// credentials, refused bodies and the stream's headers.
func TestBedrockWire(t *testing.T) {
	_, url, c := startSim(t, Config{Models: []Model{testModel("m")}})
	ctx := withTimeout(t)
	body := map[string]any{"messages": []any{map[string]any{"role": "user", "content": []any{map[string]any{"text": "hi"}}}}}
	for _, tt := range []struct {
		name, path, auth string
		body             any
		status           int
		typ, want        string
	}{
		{"no credentials", "/model/m/converse", "", body, 403, "UnrecognizedClientException", "security token"},
		{"other service", "/model/m/converse", "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00", body, 403, "UnrecognizedClientException", "security token"},
		{"empty key", "/model/m/converse", "Bearer ", body, 403, "UnrecognizedClientException", "security token"},
		{"api key", "/model/m/converse", "Bearer key", body, 200, "", `"stopReason":"end_turn"`},
		{"unknown field", "/model/m/converse", "Bearer key", map[string]any{"messages": body["messages"], "model": "m"}, 400, "ValidationException", "extraneous key [model]"},
		{"no messages", "/model/m/converse", "Bearer key", map[string]any{"messages": []any{}}, 400, "ValidationException", "must start with a user message"},
		{"bad role", "/model/m/converse", "Bearer key", map[string]any{"messages": []any{map[string]any{"role": "system", "content": []any{map[string]any{"text": "hi"}}}}}, 400, "ValidationException", "enum value set: [user, assistant]"},
		{"not alternating", "/model/m/converse", "Bearer key", map[string]any{"messages": []any{body["messages"].([]any)[0], body["messages"].([]any)[0]}}, 400, "ValidationException", "must alternate"},
		{"blank text", "/model/m/converse", "Bearer key", map[string]any{"messages": []any{map[string]any{"role": "user", "content": []any{map[string]any{"text": " "}}}}}, 400, "ValidationException", "is blank"},
		{"tool result without tools", "/model/m/converse", "Bearer key", map[string]any{"messages": []any{map[string]any{"role": "user", "content": []any{map[string]any{"toolResult": map[string]any{"toolUseId": "t", "content": []any{map[string]any{"text": "x"}}}}}}}}, 400, "ValidationException", "toolConfig field must be defined"},
		{"stream unknown model", "/model/nope/converse-stream", "Bearer key", body, 404, "ResourceNotFoundException", "model identifier is invalid"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var headers []string
			if tt.auth != "" {
				headers = []string{"Authorization", tt.auth}
			}
			resp := post(t, ctx, c, url+tt.path, tt.body, headers...)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || resp.Header.Get("X-Amzn-ErrorType") != tt.typ || !strings.Contains(string(b), tt.want) {
				t.Errorf("got %d %q %s, want %d %q with %q", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), b, tt.status, tt.typ, tt.want)
			}
			if resp.Header.Get("x-amzn-RequestId") == "" {
				t.Error("got no x-amzn-RequestId")
			}
		})
	}

	resp := post(t, ctx, c, url+"/model/m/converse-stream", body, "Authorization", "Bearer key")
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "application/vnd.amazon.eventstream" {
		t.Errorf("got %d %q, want 200 application/vnd.amazon.eventstream", resp.StatusCode, ct)
	}
}
