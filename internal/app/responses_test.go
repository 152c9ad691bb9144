package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/openai/openai-go/v3/responses"
	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/sim"
)

func responsesInput(s string) responses.ResponseNewParamsInputUnion {
	return responses.ResponseNewParamsInputUnion{OfString: openai.String(s)}
}

// streamEvent is one event of a Responses API stream, as the SDK read it.
type streamEvent struct {
	Type           string
	SequenceNumber int64
}

// readResponsesStream reads a Responses API stream to its end: its events,
// the text of its deltas and the response of response.completed.
func readResponsesStream(t *testing.T, stream *ssestream.Stream[responses.ResponseStreamEventUnion]) (events []streamEvent, text string, final responses.Response) {
	t.Helper()
	defer stream.Close()
	var sb strings.Builder
	for stream.Next() {
		ev := stream.Current()
		events = append(events, streamEvent{ev.Type, ev.SequenceNumber})
		switch ev.Type {
		case "response.output_text.delta":
			sb.WriteString(ev.Delta)
		case "response.completed":
			final = ev.Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v (events %v)", err, events)
	}
	return events, sb.String(), final
}

// TestOpenAISDKResponses drives POST /v1/responses with the official
// OpenAI Go SDK: a plain and a streamed answer relayed from the route's
// OpenAI deployment, a request only a relay can serve skipping an
// Anthropic deployment or refused on a route without an OpenAI one, and
// usage taken from the provider.
func TestOpenAISDKResponses(t *testing.T) {
	s := startStack(t, fastSim(), "")
	c := s.openai()
	ctx := context.Background()

	var httpResp *http.Response
	resp, err := c.Responses.New(ctx, responses.ResponseNewParams{
		Model: "auto", Input: responsesInput("Say hello"), Instructions: openai.String("Be brief."),
	}, option.WithResponseInto(&httpResp))
	if err != nil {
		t.Fatalf("responses: %v", err)
	}
	if resp.OutputText() == "" || resp.Model != "sim-medium" || resp.Status != "completed" || resp.Usage.InputTokens == 0 || resp.Usage.OutputTokens == 0 {
		t.Fatalf("response: text %q model %q status %q usage %+v", resp.OutputText(), resp.Model, resp.Status, resp.Usage)
	}
	if got := httpResp.Header.Get("X-Switchyard-Deployment"); got != "medium" {
		t.Errorf("deployment %q, want medium", got)
	}

	// Streaming: deltas, then response.completed with the same text.
	types, text, final := readResponsesStream(t, c.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: "auto", Input: responsesInput("Tell me about trains")}))
	if len(types) < 4 || types[0].Type != "response.created" || types[len(types)-1].Type != "response.completed" {
		t.Fatalf("events %v: want response.created first and response.completed last", types)
	}
	if text == "" || text != final.OutputText() || final.Usage.OutputTokens == 0 {
		t.Errorf("streamed %q, final %q usage %+v", text, final.OutputText(), final.Usage)
	}

	// anthropic-first is [claude, medium]: a request with a built-in tool
	// needs the upstream's own Responses API, so medium answers.
	webSearch := []responses.ToolUnionParam{{OfWebSearch: &responses.WebSearchToolParam{Type: responses.WebSearchToolTypeWebSearch}}}
	resp, err = c.Responses.New(ctx, responses.ResponseNewParams{Model: "anthropic-first", Input: responsesInput("hi"), Tools: webSearch}, option.WithResponseInto(&httpResp))
	if err != nil || httpResp.Header.Get("X-Switchyard-Deployment") != "medium" {
		t.Fatalf("anthropic-first with web_search: %v, deployment %q, want medium", err, httpResp.Header.Get("X-Switchyard-Deployment"))
	}

	// A route of Anthropic deployments only refuses it with a clear 400.
	_, err = c.Responses.New(ctx, responses.ResponseNewParams{Model: "claude", Input: responsesInput("hi"), Tools: webSearch})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.Message, "Responses API") || !strings.Contains(apiErr.Message, `tools of type "web_search"`) {
		t.Fatalf("claude with web_search: got %v, want a 400 naming the Responses API and the tool", err)
	}

	// Bad input is a 400 in OpenAI's error format, naming the parameter.
	r, body := s.post("/v1/responses", `{"model":"auto","input":5}`)
	var e struct {
		Error struct{ Message, Param, Code string }
	}
	if r.StatusCode != 400 || json.Unmarshal(body, &e) != nil || e.Error.Param != "input" {
		t.Errorf("input 5: %d %s, want 400 with param input", r.StatusCode, body)
	}

	// The request log line holds the provider's token counts.
	clocktest.WaitFor(t, "the responses log lines", func() bool { return strings.Count(s.logs.String(), `"dialect":"openai-responses"`) >= 5 })
	for _, line := range strings.Split(s.logs.String(), "\n") {
		if !strings.Contains(line, `"dialect":"openai-responses"`) || !strings.Contains(line, `"status":200`) {
			continue
		}
		if strings.Contains(line, `"tokens_estimated":true`) || !strings.Contains(line, `"output_tokens":`) || strings.Contains(line, `"output_tokens":0`) {
			t.Errorf("log line with estimated or missing usage: %s", line)
		}
	}
}

// TestResponsesFailover: a Responses API request fails over before the
// first byte like any other, and a stream cut after it ends with an error
// event, never response.completed.
func TestResponsesFailover(t *testing.T) {
	s := startStack(t, simWithFaults("sim-medium", sim.Fault{Type: sim.FaultStatus, Status: 500, Times: 2}), "")
	c := s.openai()
	ctx := context.Background()
	var httpResp *http.Response
	resp, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "auto", Input: responsesInput("hello")}, option.WithResponseInto(&httpResp))
	if err != nil || resp.OutputText() == "" {
		t.Fatalf("auto with medium failing: %v", err)
	}
	if got := httpResp.Header.Get("X-Switchyard-Deployment"); got != "claude" {
		t.Errorf("deployment %q, want claude (medium failed twice; claude serves it translated)", got)
	}

	cut := startStack(t, simWithFaults("sim-medium", sim.Fault{Type: sim.FaultCut, After: 3}), "")
	cc := cut.openai()
	stream := cc.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: "medium", Input: responsesInput("a long story")})
	var deltas int
	for stream.Next() {
		switch stream.Current().Type {
		case "response.output_text.delta":
			deltas++
		case "response.completed":
			t.Fatal("a cut stream ended with response.completed")
		}
	}
	if stream.Err() == nil || deltas != 3 {
		t.Fatalf("cut stream: err %v after %d deltas, want an error after 3", stream.Err(), deltas)
	}
	r, body := cut.post("/v1/responses", `{"model":"medium","stream":true,"input":"a long story"}`)
	if r.StatusCode != 200 || !strings.Contains(string(body), "event: error\n") || strings.Contains(string(body), "event: response.completed") {
		t.Errorf("raw cut stream: %d %q, want an error event and no response.completed", r.StatusCode, body)
	}
}

// TestResponsesFollowTheirDeployment: a response lives at the deployment
// that made it. A follow-up naming it (previous_response_id) is sent
// there even when its route would start elsewhere (the simulator, like
// OpenAI, refuses a previous response it does not hold), and the object
// endpoints (retrieve, delete) reach it; an id the gateway did not make
// is a 404.
func TestResponsesFollowTheirDeployment(t *testing.T) {
	s := startStack(t, fastSim(), "")
	c := s.openai()
	ctx := context.Background()
	var h *http.Response
	first, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "small", Input: responsesInput("My name is Ada.")}, option.WithResponseInto(&h))
	if err != nil || h.Header.Get("X-Switchyard-Deployment") != "small" {
		t.Fatalf("first: %v (deployment %q)", err, h.Header.Get("X-Switchyard-Deployment"))
	}
	// auto starts at medium, which does not hold the first response.
	_, err = c.Responses.New(ctx, responses.ResponseNewParams{Model: "auto", Input: responsesInput("What is my name?"),
		PreviousResponseID: openai.String(first.ID)}, option.WithResponseInto(&h))
	if err != nil || h.Header.Get("X-Switchyard-Deployment") != "small" || h.Header.Get("X-Switchyard-Attempts") != "1" {
		t.Fatalf("follow-up: %v (deployment %q, attempts %q), want small at the first attempt", err, h.Header.Get("X-Switchyard-Deployment"), h.Header.Get("X-Switchyard-Attempts"))
	}
	if !strings.Contains(h.Header.Get("X-Switchyard-Reason"), "previous_response_id") {
		t.Errorf("reason %q does not say why", h.Header.Get("X-Switchyard-Reason"))
	}
	// A streamed response is remembered too.
	stream := c.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: "small", Input: responsesInput("Count to three.")})
	streamedID := ""
	for stream.Next() {
		if ev := stream.Current(); ev.Type == "response.completed" {
			streamedID = ev.Response.ID
		}
	}
	if stream.Err() != nil || streamedID == "" {
		t.Fatalf("stream: %v", stream.Err())
	}

	got, err := c.Responses.Get(ctx, first.ID, responses.ResponseGetParams{}, option.WithResponseInto(&h))
	if err != nil || got.ID != first.ID || got.OutputText() != first.OutputText() || h.Header.Get("X-Switchyard-Deployment") != "small" {
		t.Fatalf("retrieve: %+v %v", got, err)
	}
	if got, err := c.Responses.Get(ctx, streamedID, responses.ResponseGetParams{}); err != nil || got.ID != streamedID {
		t.Fatalf("retrieve the streamed one: %v", err)
	}
	// Its input items are relayed to it too, which the simulator lists as
	// OpenAI does (found by audit AD: the simulator had no such route, so
	// the demo answered 404 "deleted or expired").
	items, err := c.Responses.InputItems.List(ctx, first.ID, responses.InputItemListParams{})
	if err != nil || len(items.Data) != 1 || items.Data[0].ID == "" || !strings.Contains(items.Data[0].RawJSON(), `{"text":"My name is Ada.","type":"input_text"}`) {
		t.Fatalf("input items: %+v %v, want the one message with its text", items, err)
	}
	if err := c.Responses.Delete(ctx, first.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	var apiErr *openai.Error
	if _, err := c.Responses.Get(ctx, first.ID, responses.ResponseGetParams{}); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Errorf("retrieve after delete: %v, want the provider's 404", err)
	}
	for _, id := range []string{"resp_unknown", "resp_..%2F..%2Ffiles"} {
		if _, err := c.Responses.Get(ctx, id, responses.ResponseGetParams{}); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || !strings.Contains(apiErr.Message, "no response") {
			t.Errorf("retrieve %q: %v, want the gateway's 404", id, err)
		}
	}
}

// TestResponseObjectsAreTheTenants: another tenant cannot reach a
// response through the gateway, even knowing its id: not its object
// endpoints, nor its context by previous_response_id.
func TestResponseObjectsAreTheTenants(t *testing.T) {
	s := startTenantStack(t, startSim(t, fastSim()), sqliteExtra(t, ""))
	acme := s.newKey("acme", admin.KeyCreate{Name: "a"})
	globex := s.newKey("globex", admin.KeyCreate{Name: "g"})
	// Relayed (small) and translated (claude, which the gateway keeps).
	for _, model := range []string{"small", "claude"} {
		code, body, _ := s.send("/v1/responses", `{"model":"`+model+`","input":"hello"}`, "Authorization", "Bearer "+acme.Secret)
		id := gjson.Get(body, "id").Str
		if code != 200 || id == "" {
			t.Fatalf("create on %s: %d %s", model, code, body)
		}
		do := func(method, path string, k admin.KeyView) int {
			req, _ := http.NewRequest(method, s.base+"/v1/responses/"+id+path, nil)
			req.Header.Set("Authorization", "Bearer "+k.Secret)
			resp, err := s.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		for _, path := range []string{"", "/input_items"} {
			if got := do("GET", path, globex); got != 404 {
				t.Errorf("%s: another tenant's GET %q: %d, want 404", model, path, got)
			}
		}
		if got := do("DELETE", "", globex); got != 404 {
			t.Errorf("%s: another tenant's DELETE: %d, want 404", model, got)
		}
		paths := []string{"", "/input_items"}
		if model == "small" {
			paths = paths[:1] // the simulator keeps no input items
		}
		for _, path := range paths {
			if got := do("GET", path, acme); got != 200 {
				t.Errorf("%s: its tenant's GET %q: %d, want 200", model, path, got)
			}
		}
		// Nor continue it: the upstream account is shared, so naming the
		// id must not reach the response's context.
		follow := `{"model":"` + model + `","input":"And then?","previous_response_id":"` + id + `"}`
		if code, body, _ := s.send("/v1/responses", follow, "Authorization", "Bearer "+globex.Secret); code != 404 || gjson.Get(body, "error.code").Str != "previous_response_not_found" {
			t.Errorf("%s: another tenant's follow-up: %d %s, want 404 previous_response_not_found", model, code, body)
		}
		if code, body, _ := s.send("/v1/responses", follow, "Authorization", "Bearer "+acme.Secret); code != 200 {
			t.Errorf("%s: its tenant's follow-up: %d %s", model, code, body)
		}
		// A compaction (which answers with the chain's messages) and a
		// token count are follow-ups too.
		for _, path := range []string{"/v1/responses/compact", "/v1/responses/input_tokens"} {
			if code, body, _ := s.send(path, `{"model":"small","previous_response_id":"`+id+`"}`, "Authorization", "Bearer "+globex.Secret); code != 404 {
				t.Errorf("%s: another tenant's %s: %d %s, want 404", model, path, code, body)
			}
		}
	}
	if code, body, _ := s.send("/v1/responses", `{"model":"small","input":"x","previous_response_id":"resp_unknown"}`, "Authorization", "Bearer "+acme.Secret); code != 404 {
		t.Errorf("an unknown response's follow-up: %d %s, want 404", code, body)
	}
}

// TestResponseAffinityAcrossReplicas: with the limits in Redis, a replica
// finds the deployment of a response another replica relayed.
func TestResponseAffinityAcrossReplicas(t *testing.T) {
	simURL := startSim(t, fastSim())
	limits := fmt.Sprintf("limits: %q\n", redisURL(t))
	r1 := startTenantStack(t, simURL, storeOnly(t)+limits)
	r2 := startTenantStack(t, simURL, storeOnly(t)+limits)
	code, body, _ := r1.send("/v1/responses", `{"model":"small","input":"My name is Ada."}`)
	id := gjson.Get(body, "id").Str
	if code != 200 || id == "" {
		t.Fatalf("create on replica 1: %d %s", code, body)
	}
	code, body, h := r2.send("/v1/responses", fmt.Sprintf(`{"model":"auto","input":"And my name?","previous_response_id":%q}`, id))
	if code != 200 || h.Get("X-Switchyard-Deployment") != "small" {
		t.Fatalf("follow-up on replica 2: %d %s (deployment %q), want small", code, body, h.Get("X-Switchyard-Deployment"))
	}
	resp, err := r2.hc.Get(r2.base + "/v1/responses/" + id)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("retrieve on replica 2: %d, want 200", resp.StatusCode)
	}

	// A response the gateway translated (claude) is kept in Redis too:
	// replica 2 serves it, and a follow-up of it.
	code, body, _ = r1.send("/v1/responses", `{"model":"claude","input":"My name is Ada."}`)
	id = gjson.Get(body, "id").Str
	if code != 200 || id == "" {
		t.Fatalf("translated create on replica 1: %d %s", code, body)
	}
	resp, err = r2.hc.Get(r2.base + "/v1/responses/" + id)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || gjson.GetBytes(got, "id").Str != id || gjson.GetBytes(got, "output.0.content.0.text").Str != gjson.Get(body, "output.0.content.0.text").Str {
		t.Errorf("retrieve the translated response on replica 2: %d %s, want %s", resp.StatusCode, got, body)
	}
	if code, body, _ := r2.send("/v1/responses", fmt.Sprintf(`{"model":"claude","input":"And my name?","previous_response_id":%q}`, id)); code != 200 {
		t.Errorf("translated follow-up on replica 2: %d %s", code, body)
	}
}

// TestResponsesStoreDown: with the Redis that keeps responses unreachable,
// answers still come, but what needs the kept responses says the store is
// down (503), not that the response does not exist.
func TestResponsesStoreDown(t *testing.T) {
	s := startTenantStack(t, startSim(t, fastSim()), storeOnly(t)+"limits: redis://127.0.0.1:1/0\n")
	code, body, _ := s.send("/v1/responses", `{"model":"claude","input":"hello"}`)
	id := gjson.Get(body, "id").Str
	if code != 200 || id == "" {
		t.Fatalf("a translated response with Redis down: %d %s", code, body)
	}
	resp, err := s.hc.Get(s.base + "/v1/responses/" + id)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || gjson.GetBytes(got, "error.message").Str == "" {
		t.Errorf("GET with the store down: %d %s, want a 503", resp.StatusCode, got)
	}
	if code, body, _ := s.send("/v1/responses", `{"model":"claude","input":"And?","previous_response_id":"`+id+`"}`); code != 503 {
		t.Errorf("follow-up with the store down: %d %s, want a 503", code, body)
	}
}

// TestCompactWithinAllowedRoutes: a key limited to a route compacts its
// own chain through that route: the deployment that made the response
// narrows the route's plan, as a follow-up's does, instead of being the
// model its permission is checked against (found by audit X: a 403
// route_not_allowed naming a deployment the client never named).
func TestCompactWithinAllowedRoutes(t *testing.T) {
	s := startTenantStack(t, startSim(t, fastSim()), sqliteExtra(t, ""))
	k := s.newKey("acme", admin.KeyCreate{Name: "a", AllowedRoutes: []string{"cheap"}})
	auth := []string{"Authorization", "Bearer " + k.Secret}
	code, body, h := s.send("/v1/responses", `{"model":"cheap","input":"hello"}`, auth...)
	id := gjson.Get(body, "id").Str
	if code != 200 || id == "" {
		t.Fatalf("create: %d %s", code, body)
	}
	made := h.Get("X-Switchyard-Deployment")
	code, body, h = s.send("/v1/responses/compact", `{"model":"cheap","previous_response_id":"`+id+`"}`, auth...)
	if code != 200 || h.Get("X-Switchyard-Deployment") != made {
		t.Errorf("compact through the key's route: %d %s (deployment %q), want 200 at %s", code, body, h.Get("X-Switchyard-Deployment"), made)
	}
}
