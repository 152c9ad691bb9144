package app

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/sim"
)

// runNodeSDK runs test/npm-sdk/check.mjs, which drives the gateway at base
// with the official OpenAI and Anthropic npm SDKs, and decodes what each
// scenario returned into out (a struct with one field per scenario).
func runNodeSDK(t *testing.T, base string, out any, scenarios ...string) {
	t.Helper()
	node, script := nodeScript(t, filepath.Join("..", "..", "test", "npm-sdk"), "openai")
	cmd := exec.Command(node, script, base, strings.Join(scenarios, ","))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("check.mjs: %v\n%s", err, stderr.String())
	}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("check.mjs printed %q: %v", raw, err)
	}
}

// thrown is what check.mjs prints for a scenario that raised.
type thrown struct {
	Thrown *struct {
		Name    string
		Status  *int
		Message string
	}
}

// TestNodeSDKs checks that apps on the official npm SDKs work by changing
// only the base URL: chat (same dialect and translated), the SDKs' stream
// helpers, tools, vision, JSON mode, embeddings in the npm SDK's default
// base64 form, models, typed errors, the Responses API, and Anthropic
// Messages, tools, count_tokens and models.
func TestNodeSDKs(t *testing.T) {
	s := startStack(t, fastSim(), "")

	type chatResult struct {
		thrown
		Route, Deployment, RequestID, Object, Model, Content, Finish string
		PromptTokens, CompletionTokens                               int
	}
	type streamResult struct {
		thrown
		Chunks           int
		Content, Finish  string
		DeltasMatch      bool
		CompletionTokens int
	}
	type toolsResult struct {
		thrown
		Finish, ToolName, AnswerAfterTool, StreamedFinish, StreamedToolName string
		ArgsJSON, StreamedArgsJSON                                          bool
	}
	type messagesResult struct {
		thrown
		Route, Deployment, Type, Role, Text, Stop, StreamedText, StreamedStop string
		InputTokens, OutputTokens, StreamedOutputTokens                       int
		DeltasMatch                                                           bool
	}
	type anthropicToolsResult struct {
		thrown
		Stop, ToolName, StopAfterTool, StreamedStop, StreamedToolName string
		InputIsObject, StreamedInputIsObject                          bool
	}
	type apiError struct {
		Status                  int
		Code, Type, Param, Name string
	}
	var got struct {
		OpenAIChat   map[string]chatResult   `json:"openai-chat"`
		OpenAIStream map[string]streamResult `json:"openai-stream"`
		OpenAITools  map[string]toolsResult  `json:"openai-tools"`
		OpenAIVision struct {
			thrown
			Deployment, Content string
			JSONContentIsJSON   bool
		} `json:"openai-vision-json"`
		OpenAIEmbeddings struct {
			thrown
			Vectors, Dims, PromptTokens int
			AllNumbers, SameAsFloat     bool
		} `json:"openai-embeddings"`
		OpenAIModels struct {
			thrown
			IDs       []string
			Retrieved string
			Missing   *apiError
		} `json:"openai-models"`
		OpenAIErrors struct {
			thrown
			UnknownModel, NoMessages *apiError
		} `json:"openai-errors"`
		OpenAIResponses struct {
			thrown
			Status, Text, StreamedStatus, StreamedText, FollowStatus, FollowPrevious string
			DeltasMatch                                                              bool
		} `json:"openai-responses"`
		OpenAIResponsesTranslated struct {
			thrown
			Status, Model, Text, StreamedStatus, StreamedText, CallName, AfterCallStatus, AfterCallText string
			FollowStatus, FollowText, RetrievedText, ItemRoles                                          string
			DeletedStatus                                                                               int
			DeltasMatch, CallArgsJSON                                                                   bool
		} `json:"openai-responses-translated"`
		AnthropicMessages map[string]messagesResult       `json:"anthropic-messages"`
		AnthropicTools    map[string]anthropicToolsResult `json:"anthropic-tools"`
		AnthropicMisc     struct {
			thrown
			InputTokens               int
			IDs                       []string
			UnknownModel, NoMaxTokens *apiError
		} `json:"anthropic-count-models-errors"`
	}
	runNodeSDK(t, s.base, &got, "openai-chat", "openai-stream", "openai-tools", "openai-vision-json",
		"openai-embeddings", "openai-models", "openai-errors", "openai-responses", "openai-responses-translated",
		"anthropic-messages", "anthropic-tools", "anthropic-count-models-errors")

	noThrow := func(t *testing.T, th thrown) {
		t.Helper()
		if th.Thrown != nil {
			t.Fatalf("the SDK raised %s: %s", th.Thrown.Name, th.Thrown.Message)
		}
	}
	wantModel := map[string]string{"medium": "sim-medium", "claude": "sim-large"}

	t.Run("openai chat", func(t *testing.T) {
		for _, model := range []string{"medium", "claude"} {
			r, ok := got.OpenAIChat[model]
			if !ok {
				t.Fatalf("%s: no result in %+v", model, got.OpenAIChat)
			}
			noThrow(t, r.thrown)
			if r.Object != "chat.completion" || r.Model != wantModel[model] || r.Content == "" || r.Finish != "stop" {
				t.Errorf("%s: %+v", model, r)
			}
			if r.PromptTokens == 0 || r.CompletionTokens == 0 || r.Route != model || r.Deployment != model || r.RequestID == "" {
				t.Errorf("%s: usage or headers %+v", model, r)
			}
		}
	})
	t.Run("openai stream helper", func(t *testing.T) {
		for _, model := range []string{"medium", "claude"} {
			r := got.OpenAIStream[model]
			noThrow(t, r.thrown)
			if r.Chunks < 3 || r.Content == "" || !r.DeltasMatch || r.Finish != "stop" || r.CompletionTokens == 0 {
				t.Errorf("%s: %+v", model, r)
			}
		}
	})
	t.Run("openai tools", func(t *testing.T) {
		for _, model := range []string{"medium", "claude"} {
			r := got.OpenAITools[model]
			noThrow(t, r.thrown)
			if r.Finish != "tool_calls" || r.ToolName != "get_weather" || !r.ArgsJSON || r.AnswerAfterTool == "" {
				t.Errorf("%s: %+v", model, r)
			}
			if r.StreamedFinish != "tool_calls" || r.StreamedToolName != "get_weather" || !r.StreamedArgsJSON {
				t.Errorf("%s streamed: %+v", model, r)
			}
		}
	})
	t.Run("openai vision and json mode", func(t *testing.T) {
		r := got.OpenAIVision
		noThrow(t, r.thrown)
		if r.Deployment != "medium" || !strings.Contains(r.Content, "image") || !r.JSONContentIsJSON {
			t.Errorf("%+v: want medium (small lacks vision), an answer about the image, JSON content", r)
		}
	})
	t.Run("openai embeddings base64 and float", func(t *testing.T) {
		r := got.OpenAIEmbeddings
		noThrow(t, r.thrown)
		if r.Vectors != 2 || r.Dims == 0 || !r.AllNumbers || !r.SameAsFloat || r.PromptTokens == 0 {
			t.Errorf("%+v", r)
		}
	})
	t.Run("openai models", func(t *testing.T) {
		r := got.OpenAIModels
		noThrow(t, r.thrown)
		for _, id := range []string{"auto", "cheap", "medium", "claude"} {
			if !slices.Contains(r.IDs, id) {
				t.Errorf("models.list: %q missing from %v", id, r.IDs)
			}
		}
		if r.Retrieved != "auto" || r.Missing == nil || r.Missing.Status != 404 || r.Missing.Name != "NotFoundError" {
			t.Errorf("retrieve: %q, missing %+v", r.Retrieved, r.Missing)
		}
	})
	t.Run("openai typed errors", func(t *testing.T) {
		r := got.OpenAIErrors
		noThrow(t, r.thrown)
		if e := r.UnknownModel; e == nil || e.Status != 404 || e.Name != "NotFoundError" || e.Code != "model_not_found" {
			t.Errorf("unknown model: %+v", e)
		}
		if e := r.NoMessages; e == nil || e.Status != 400 || e.Name != "BadRequestError" || e.Type != "invalid_request_error" || e.Param != "messages" {
			t.Errorf("no messages: %+v", e)
		}
	})
	t.Run("openai responses", func(t *testing.T) {
		r := got.OpenAIResponses
		noThrow(t, r.thrown)
		if r.Status != "completed" || r.Text == "" || r.StreamedStatus != "completed" || r.StreamedText == "" || !r.DeltasMatch {
			t.Errorf("%+v", r)
		}
		if r.FollowStatus != "completed" || r.FollowPrevious == "" {
			t.Errorf("follow-up: %+v", r)
		}
	})
	t.Run("openai responses translated for anthropic", func(t *testing.T) {
		r := got.OpenAIResponsesTranslated
		noThrow(t, r.thrown)
		if r.Status != "completed" || r.Model != "sim-large" || r.Text == "" || r.StreamedStatus != "completed" || r.StreamedText == "" || !r.DeltasMatch {
			t.Errorf("%+v", r)
		}
		if r.CallName != "get_weather" || !r.CallArgsJSON || r.AfterCallStatus != "completed" || r.AfterCallText == "" {
			t.Errorf("function call round trip: %+v", r)
		}
		if r.FollowStatus != "completed" || r.FollowText == "" {
			t.Errorf("previous_response_id of a translated response: %+v", r)
		}
		// Kept by the gateway: retrieved as answered, its conversation
		// paged one item at a time by the SDK, deleted.
		if r.RetrievedText != r.FollowText || r.ItemRoles != "user,assistant,user" || r.DeletedStatus != 404 {
			t.Errorf("retrieve, input items, delete of a translated response: %+v", r)
		}
	})
	t.Run("anthropic messages and stream helper", func(t *testing.T) {
		for _, model := range []string{"claude", "medium"} {
			r, ok := got.AnthropicMessages[model]
			if !ok {
				t.Fatalf("%s: no result in %+v", model, got.AnthropicMessages)
			}
			noThrow(t, r.thrown)
			if r.Type != "message" || r.Role != "assistant" || r.Text == "" || r.Stop != "end_turn" || r.InputTokens == 0 || r.OutputTokens == 0 {
				t.Errorf("%s: %+v", model, r)
			}
			if r.StreamedText == "" || !r.DeltasMatch || r.StreamedStop != "end_turn" || r.StreamedOutputTokens == 0 {
				t.Errorf("%s streamed: %+v", model, r)
			}
			if r.Route != model || r.Deployment != model {
				t.Errorf("%s: headers %+v", model, r)
			}
		}
	})
	t.Run("anthropic tools", func(t *testing.T) {
		for _, model := range []string{"claude", "medium"} {
			r := got.AnthropicTools[model]
			noThrow(t, r.thrown)
			if r.Stop != "tool_use" || r.ToolName != "get_weather" || !r.InputIsObject || r.StopAfterTool != "end_turn" {
				t.Errorf("%s: %+v", model, r)
			}
			if r.StreamedStop != "tool_use" || r.StreamedToolName != "get_weather" || !r.StreamedInputIsObject {
				t.Errorf("%s streamed: %+v", model, r)
			}
		}
	})
	t.Run("anthropic count_tokens, models and typed errors", func(t *testing.T) {
		r := got.AnthropicMisc
		noThrow(t, r.thrown)
		if r.InputTokens == 0 || !slices.Contains(r.IDs, "auto") || !slices.Contains(r.IDs, "claude") {
			t.Errorf("count %d, models %v", r.InputTokens, r.IDs)
		}
		if e := r.UnknownModel; e == nil || e.Status != 404 || e.Name != "NotFoundError" || e.Type != "not_found_error" {
			t.Errorf("unknown model: %+v", e)
		}
		if e := r.NoMaxTokens; e == nil || e.Status != 400 || e.Name != "BadRequestError" || e.Type != "invalid_request_error" {
			t.Errorf("no max_tokens: %+v", e)
		}
	})
}

// TestNodeSDKsRaiseOnCutStreams checks the promise that a truncated answer
// is never a success with the npm SDKs' stream helpers: a provider that
// cuts its stream after the first tokens (too late to fail over) makes
// each SDK raise, in both dialects and in the Responses API.
func TestNodeSDKsRaiseOnCutStreams(t *testing.T) {
	s := startStack(t, withFaults(fastSim(), "sim-medium", sim.Fault{Type: sim.FaultCut, After: 2}), "")
	var got map[string]struct {
		thrown
		Finish, Stop, Status string
	}
	runNodeSDK(t, s.base, &got, "openai-stream-cut", "anthropic-stream-cut", "responses-stream-cut")
	for _, name := range []string{"openai-stream-cut", "anthropic-stream-cut", "responses-stream-cut"} {
		r, ok := got[name]
		if !ok {
			t.Errorf("%s: no result", name)
			continue
		}
		if r.Thrown == nil {
			t.Errorf("%s: the SDK returned %+v, want it to raise for a cut stream", name, r)
			continue
		}
		t.Logf("%s raised %s: %s", name, r.Thrown.Name, r.Thrown.Message)
	}
}

// mediaDeployments are the deployments TestNodeSDKMedia's endpoints go to.
const mediaDeployments = `  - {name: moderate, provider: sim-openai, model: sim-moderation, capabilities: {chat: false, moderation: true}}
  - {name: image, provider: sim-openai, model: sim-image, capabilities: {chat: false, images: true}}
  - {name: tts, provider: sim-openai, model: sim-tts, capabilities: {chat: false, speech: true}}
  - {name: whisper, provider: sim-openai, model: sim-whisper, capabilities: {chat: false, transcription: true}}
  - {name: transcribe, provider: sim-openai, model: sim-transcribe, capabilities: {chat: false, transcription: true}}
  - {name: titan, provider: sim-bedrock, model: sim-titan-embed-text-v2, capabilities: {chat: false, embeddings: true}}
routes:
`

// TestNodeSDKMedia checks the npm OpenAI SDK's moderations, images,
// speech and transcriptions (its own multipart form, from toFile) through
// the gateway: the moderation without a model, the transcription with
// one and without, streamed (its deltas make up the text of its done
// event); a streamed image; and Bedrock embeddings in the SDK's default
// base64.
func TestNodeSDKMedia(t *testing.T) {
	cfg := strings.Replace(baseConfig, "routes:\n", mediaDeployments, 1)
	cfg = strings.Replace(cfg, "deployments:\n", `  - {name: sim-bedrock, kind: bedrock, region: us-east-1, base_url: "{{SIM}}", api_key: k}
deployments:
`, 1)
	s := startStack(t, fastSim(), cfg)
	var got struct {
		Media struct {
			thrown
			Flagged                                            []bool
			Images, ImageTokens                                int
			PNGs                                               bool
			SpeechType, RIFF, Transcript, Said, TextTranscript string
			TitanVectors, TitanDims                            int
			TitanSameAsFloat                                   bool
			StreamDeltas                                       int
			StreamText, StreamDone                             string
			StreamTokens                                       int
			ImageEvents                                        []string
		} `json:"openai-media"`
	}
	runNodeSDK(t, s.base, &got, "openai-media")
	r := got.Media
	if r.Thrown != nil {
		t.Fatalf("the SDK raised %s: %s", r.Thrown.Name, r.Thrown.Message)
	}
	if !slices.Equal(r.Flagged, []bool{false, true}) || r.Images != 2 || !r.PNGs || r.ImageTokens == 0 {
		t.Errorf("moderations and images: %+v", r)
	}
	if r.SpeechType != "audio/wav" || r.RIFF != "RIFF" || r.Transcript != r.Said || r.TextTranscript != r.Said {
		t.Errorf("speech and transcriptions: %+v", r)
	}
	if r.StreamDeltas < 2 || r.StreamText != r.Said || r.StreamDone != r.Said || r.StreamTokens == 0 {
		t.Errorf("streamed transcription: %+v", r)
	}
	if !slices.Equal(r.ImageEvents, []string{"image_generation.partial_image", "image_generation.completed"}) {
		t.Errorf("streamed image: events %v", r.ImageEvents)
	}
	if r.TitanVectors != 2 || r.TitanDims != 256 || !r.TitanSameAsFloat {
		t.Errorf("bedrock embeddings in the SDK's base64: %+v", r)
	}
}

// TestNodeSDKRealtime: the npm SDK's Realtime client (OpenAIRealtimeWS,
// over the ws package) holds a session through the gateway by changing
// only the base URL: session.created first, a text turn whose deltas make
// up the done item's text, usage, and a clean close.
func TestNodeSDKRealtime(t *testing.T) {
	s := startStack(t, fastSim(), strings.Replace(baseConfig, "routes:\n", realtimeDeployments, 1))
	var got struct {
		Realtime struct {
			thrown
			First, Text, DoneText, Status string
			OutputTokens, CloseCode       int
		} `json:"openai-realtime"`
	}
	runNodeSDK(t, s.base, &got, "openai-realtime")
	r := got.Realtime
	if r.Thrown != nil {
		t.Fatalf("the SDK raised %s: %s", r.Thrown.Name, r.Thrown.Message)
	}
	if r.First != "session.created" || r.Text == "" || r.Text != r.DoneText || r.Status != "completed" || r.OutputTokens == 0 || r.CloseCode != 1000 {
		t.Errorf("realtime session: %+v", r)
	}
	if calls := s.sim.Calls("sim-realtime"); len(calls) != 1 {
		t.Errorf("sim saw %d sessions, want 1", len(calls))
	}
}

// TestNodeSDKStatefulAndWebSocket checks the npm SDK's Responses
// WebSocket mode (ResponsesWS) and its stateful OpenAI objects
// (conversations, stored chat completions, compaction, input token
// counts) through the gateway, changing only the base URL.
func TestNodeSDKStatefulAndWebSocket(t *testing.T) {
	s := startStack(t, fastSim(), "")
	var got struct {
		WS struct {
			thrown
			Types         []string
			Texts         []string
			Continues     bool
			RefusedStatus *int
		} `json:"openai-responses-ws"`
		State struct {
			thrown
			Conversation, ResponseConversation, StoredSame bool
			ItemRoles                                      []string
			Messages                                       []string
			InputTokens                                    int
			CompactedLast                                  string
		} `json:"openai-state"`
	}
	runNodeSDK(t, s.base, &got, "openai-responses-ws", "openai-state")
	if w := got.WS; w.Thrown != nil || !slices.Equal(w.Types, []string{"response.completed", "response.completed", "response.completed", "error"}) ||
		!w.Continues || slices.Contains(w.Texts, "") || w.RefusedStatus == nil || *w.RefusedStatus != 404 {
		t.Errorf("WebSocket mode: %+v", w)
	}
	if st := got.State; st.Thrown != nil || !st.Conversation || !st.ResponseConversation || !slices.Equal(st.ItemRoles, []string{"user", "assistant"}) ||
		!st.StoredSame || !slices.Equal(st.Messages, []string{"Keep this."}) || st.InputTokens <= 0 || st.CompactedLast != "compaction" {
		t.Errorf("stateful objects: %+v", st)
	}
}
