package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/openai/openai-go/v3/packages/pagination"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/switchyard-gw/switchyard/internal/sim"
)

// TestResponsesTranslatedForAnthropic drives the Responses API with the
// official OpenAI Go SDK against an Anthropic deployment: the request is
// translated to Messages and the answer back into a response object, plain
// and streamed, with function calling round trips, structured output,
// max_output_tokens and a follow-up naming a response, which only a relay
// could serve.
func TestResponsesTranslatedForAnthropic(t *testing.T) {
	// claude may answer in JSON here (Anthropic's output_config.format).
	cfg := strings.Replace(baseConfig, "capabilities: {vision: true}", "capabilities: {vision: true, json_mode: true}", 1)
	s := startStack(t, fastSim(), cfg)
	c := s.openai()
	ctx := context.Background()

	var httpResp *http.Response
	resp, err := c.Responses.New(ctx, responses.ResponseNewParams{
		Model: "claude", Input: responsesInput("Say hello"), Instructions: openai.String("Be brief."),
	}, option.WithResponseInto(&httpResp))
	if err != nil {
		t.Fatalf("responses: %v", err)
	}
	if resp.Status != "completed" || resp.Model != "sim-large" || resp.OutputText() == "" || !strings.HasPrefix(resp.ID, "resp_") ||
		resp.Usage.InputTokens == 0 || resp.Usage.OutputTokens == 0 || resp.Usage.TotalTokens != resp.Usage.InputTokens+resp.Usage.OutputTokens {
		t.Fatalf("response %+v", resp)
	}
	if len(resp.Output) != 1 || resp.Output[0].Type != "message" || resp.Output[0].Role != "assistant" {
		t.Errorf("output %+v, want one assistant message", resp.Output)
	}
	if got := httpResp.Header.Get("X-Switchyard-Deployment"); got != "claude" {
		t.Errorf("deployment %q, want claude", got)
	}

	// Streamed: the SDK sees the typed events in order and a final
	// response.completed holding what the deltas said.
	types, text, final := readResponsesStream(t, c.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: "claude", Input: responsesInput("Tell me about trains")}))
	for i, ev := range types {
		if want := int64(i); ev.SequenceNumber != want {
			t.Errorf("event %s: sequence_number %d, want %d", ev.Type, ev.SequenceNumber, want)
		}
	}
	if len(types) < 8 || types[0].Type != "response.created" || types[len(types)-1].Type != "response.completed" {
		t.Fatalf("events %v", types)
	}
	if text == "" || text != final.OutputText() || final.Status != "completed" || final.Usage.OutputTokens == 0 {
		t.Errorf("streamed %q, final %q status %q usage %+v", text, final.OutputText(), final.Status, final.Usage)
	}

	// Function calling: a call, its output sent back as input items, an answer.
	weather := []responses.ToolUnionParam{responses.ToolParamOfFunction("get_weather",
		map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}}, false)}
	ask := responses.ResponseInputItemParamOfMessage("What is the weather in Paris?", responses.EasyInputMessageRoleUser)
	first, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "claude", Tools: weather,
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{ask}}})
	if err != nil {
		t.Fatal(err)
	}
	var call responses.ResponseFunctionToolCall
	for _, item := range first.Output {
		if item.Type == "function_call" {
			call = item.AsFunctionCall()
		}
	}
	if call.Name != "get_weather" || call.CallID == "" || !json.Valid([]byte(call.Arguments)) {
		t.Fatalf("function call %+v in %+v", call, first.Output)
	}
	output := responses.ResponseInputItemParamOfFunctionCallOutput(`{"temp_c": 21}`)
	output.OfFunctionCallOutput.CallID = openai.String(call.CallID)
	second, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "claude", Tools: weather,
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			ask, responses.ResponseInputItemParamOfFunctionCall(call.Arguments, call.CallID, call.Name), output}}})
	if err != nil {
		t.Fatalf("with the function's output: %v", err)
	}
	if second.Status != "completed" || second.OutputText() == "" {
		t.Errorf("after the function output: %+v", second)
	}

	// A streamed function call: its arguments arrive as deltas and done.
	fs := c.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: "claude", Tools: weather,
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{ask}}})
	var args string
	for fs.Next() {
		if ev := fs.Current(); ev.Type == "response.function_call_arguments.done" {
			args = ev.Arguments
		}
	}
	if err := fs.Err(); err != nil || !json.Valid([]byte(args)) || !strings.Contains(args, "city") {
		t.Errorf("streamed function call: arguments %q, %v", args, err)
	}
	fs.Close()

	// Structured output: text.format json_schema becomes Anthropic's
	// output format.
	js, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "claude", Input: responsesInput("List three colours"),
		Text: responses.ResponseTextConfigParam{Format: responses.ResponseFormatTextConfigParamOfJSONSchema("colours",
			map[string]any{"type": "object", "properties": map[string]any{"colours": map[string]any{"type": "array", "items": map[string]any{"type": "string"}}}})}})
	if err != nil {
		t.Errorf("json_schema: %v", err)
	} else if !json.Valid([]byte(js.OutputText())) {
		t.Errorf("json_schema: output %q is not JSON", js.OutputText())
	}

	// max_output_tokens cuts the answer: status incomplete, as OpenAI says it.
	cut, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "claude", Input: responsesInput("Tell me a long story"), MaxOutputTokens: openai.Int(16)})
	if err != nil {
		t.Errorf("max_output_tokens 16: %v", err)
	} else if cut.Status != "incomplete" || cut.IncompleteDetails.Reason != "max_output_tokens" || cut.Usage.OutputTokens != 16 {
		t.Errorf("max_output_tokens 16: status %q reason %q usage %+v", cut.Status, cut.IncompleteDetails.Reason, cut.Usage)
	}

	// A translated response is not kept upstream, so the gateway keeps its
	// conversation: a follow-up naming it is answered as if it had sent
	// the whole conversation (the simulator's answer is a function of its
	// prompt), here streamed, and the streamed answer can be followed up
	// in turn.
	fs2 := c.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: "claude", Input: responsesInput("And then?"), PreviousResponseID: openai.String(resp.ID)})
	_, followText, follow := readResponsesStream(t, fs2)
	history := []responses.ResponseInputItemUnionParam{
		responses.ResponseInputItemParamOfMessage("Say hello", responses.EasyInputMessageRoleUser),
		responses.ResponseInputItemParamOfMessage(resp.OutputText(), responses.EasyInputMessageRoleAssistant),
		responses.ResponseInputItemParamOfMessage("And then?", responses.EasyInputMessageRoleUser),
	}
	explicit, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "claude", Input: responses.ResponseNewParamsInputUnion{OfInputItemList: history}})
	if err != nil {
		t.Fatal(err)
	}
	if followText == "" || followText != explicit.OutputText() || follow.ID == "" {
		t.Errorf("follow-up %q (id %q), want the answer to the whole conversation %q", followText, follow.ID, explicit.OutputText())
	}
	third, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "claude", Input: responsesInput("Why?"), PreviousResponseID: openai.String(follow.ID)})
	if err != nil {
		t.Fatalf("following up the streamed follow-up: %v", err)
	}
	history = append(history, responses.ResponseInputItemParamOfMessage(followText, responses.EasyInputMessageRoleAssistant),
		responses.ResponseInputItemParamOfMessage("Why?", responses.EasyInputMessageRoleUser))
	if explicit, err = c.Responses.New(ctx, responses.ResponseNewParams{Model: "claude", Input: responses.ResponseNewParamsInputUnion{OfInputItemList: history}}); err != nil || third.OutputText() != explicit.OutputText() {
		t.Errorf("third turn %q, want %q (%v)", third.OutputText(), explicit.OutputText(), err)
	}
	// An id the gateway does not keep can only be the upstream's: only an
	// OpenAI deployment could serve it, and claude's route has none.
	_, err = c.Responses.New(ctx, responses.ResponseNewParams{Model: "claude", Input: responsesInput("And then?"), PreviousResponseID: openai.String("resp_unknown")})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.Message, "previous_response_id") {
		t.Errorf("unknown previous_response_id on claude: %v, want a 400 naming it", err)
	}

	// The gateway keeps what it translated: GET gives the response object
	// the client got (plain, and the streamed one's terminal object).
	for _, want := range []*responses.Response{resp, &follow} {
		got, err := c.Responses.Get(ctx, want.ID, responses.ResponseGetParams{})
		if err != nil {
			t.Fatalf("GET %s: %v", want.ID, err)
		}
		if got.ID != want.ID || got.OutputText() != want.OutputText() || got.Status != "completed" || got.Usage.OutputTokens != want.Usage.OutputTokens ||
			len(got.Output) != len(want.Output) || got.Output[0].ID != want.Output[0].ID {
			t.Errorf("GET %s = %+v, want %+v", want.ID, got, want)
		}
	}
	// Its input items: the whole conversation it answered, newest first by
	// default, paged with after.
	third2, err := c.Responses.InputItems.List(ctx, third.ID, responses.InputItemListParams{Order: responses.InputItemListParamsOrderAsc})
	if err != nil {
		t.Fatalf("input items: %v", err)
	}
	wantTexts := []string{"Say hello", resp.OutputText(), "And then?", followText, "Why?"}
	if len(third2.Data) != len(wantTexts) || third2.HasMore {
		t.Fatalf("input items of the third turn: %d (has_more %v), want %d", len(third2.Data), third2.HasMore, len(wantTexts))
	}
	for i, it := range third2.Data {
		m := it.AsMessage()
		if it.Type != "message" || it.ID == "" || len(m.Content) != 1 || m.Content[0].Text != wantTexts[i] {
			t.Errorf("input item %d: %s", i, it.RawJSON())
		}
	}
	page, err := c.Responses.InputItems.List(ctx, third.ID, responses.InputItemListParams{Limit: openai.Int(2)})
	if err != nil || len(page.Data) != 2 || !page.HasMore || page.Data[0].ID != third2.Data[4].ID || page.Data[1].ID != third2.Data[3].ID {
		t.Fatalf("first page of 2, newest first: %v, %v", itemIDs(page), err)
	}
	next, err := c.Responses.InputItems.List(ctx, third.ID, responses.InputItemListParams{Limit: openai.Int(2), After: openai.String(page.Data[1].ID)})
	if err != nil || len(next.Data) != 2 || next.Data[0].ID != third2.Data[2].ID {
		t.Fatalf("second page: %v, %v", itemIDs(next), err)
	}
	if _, err := c.Responses.InputItems.List(ctx, third.ID, responses.InputItemListParams{Limit: openai.Int(500)}); !errors.As(err, &apiErr) || apiErr.StatusCode != 400 {
		t.Errorf("limit 500: %v, want a 400", err)
	}
	// It ran to completion, so it cannot be cancelled.
	if _, err := c.Responses.Cancel(ctx, resp.ID); !errors.As(err, &apiErr) || apiErr.StatusCode != 400 {
		t.Errorf("cancel a finished translated response: %v, want a 400", err)
	}
	// Deleted, it is gone: for GET, and for previous_response_id.
	if err := c.Responses.Delete(ctx, resp.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := c.Responses.Get(ctx, resp.ID, responses.ResponseGetParams{}); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Errorf("GET a deleted response: %v, want 404", err)
	}
	if err := c.Responses.Delete(ctx, resp.ID); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Errorf("delete again: %v, want 404", err)
	}
	if _, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "claude", Input: responsesInput("And then?"), PreviousResponseID: openai.String(resp.ID)}); !errors.As(err, &apiErr) || apiErr.StatusCode != 400 {
		t.Errorf("following up a deleted response: %v, want a 400", err)
	}
	// store false keeps nothing, as OpenAI keeps nothing of it.
	unstored, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "claude", Input: responsesInput("Say hello"), Store: openai.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Responses.Get(ctx, unstored.ID, responses.ResponseGetParams{}); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Errorf("GET a store-false response: %v, want 404", err)
	}
}

// TestResponsesTranslatedStreamCut: an Anthropic stream cut after its first
// tokens (too late to fail over) ends the translated Responses stream with
// an error event the SDK raises, never response.completed.
func TestResponsesTranslatedStreamCut(t *testing.T) {
	s := startStack(t, withFaults(fastSim(), "sim-large", sim.Fault{Type: sim.FaultCut, After: 3}), "")
	c := s.openai()
	stream := c.Responses.NewStreaming(context.Background(), responses.ResponseNewParams{Model: "claude", Input: responsesInput("a long story")})
	defer stream.Close()
	var deltas int
	for stream.Next() {
		switch stream.Current().Type {
		case "response.output_text.delta":
			deltas++
		case "response.completed", "response.incomplete":
			t.Fatalf("a cut stream ended with %s", stream.Current().Type)
		}
	}
	if stream.Err() == nil || deltas != 3 {
		t.Fatalf("cut stream: err %v after %d deltas, want an error after 3", stream.Err(), deltas)
	}
}

// itemIDs is a page's item ids and has_more, to print.
func itemIDs(p *pagination.CursorPage[responses.ResponseItemUnion]) string {
	if p == nil {
		return "no page"
	}
	ids := make([]string, len(p.Data))
	for i, it := range p.Data {
		ids[i] = it.ID
	}
	return fmt.Sprintf("%v has_more %v", ids, p.HasMore)
}
