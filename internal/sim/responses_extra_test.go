package sim

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
)

var (
	// compactIDPattern is the shape of a compaction's id, a response's.
	compactIDPattern = regexp.MustCompile(`^resp_[0-9a-f]{24}$`)
	// userItemIDPattern is the shape of the id the simulator gives a user
	// message, a conversation item's.
	userItemIDPattern = regexp.MustCompile(`^msg_[0-9a-f]{48}$`)
)

// countTokens posts body to the input token count, which must succeed,
// and returns the count.
func countTokens(t *testing.T, c *http.Client, url string, body any, headers ...string) float64 {
	t.Helper()
	got := wantOK(t, post(t, t.Context(), c, url+"/v1/responses/input_tokens", body, headers...))
	n, ok := got["input_tokens"].(float64)
	if got["object"] != "response.input_tokens" || !ok || len(got) != 2 {
		t.Fatalf("got %v, want {object: response.input_tokens, input_tokens: N}", got)
	}
	return n
}

// without is a copy of m without the keys.
func without(m map[string]any, keys ...string) map[string]any {
	out := with(m)
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

// callsTo are the calls recorded for model on path.
func callsTo(s *Server, model, path string) []Call {
	var out []Call
	for _, k := range s.Calls(model) {
		if k.Path == path {
			out = append(out, k)
		}
	}
	return out
}

func TestResponsesInputTokens(t *testing.T) {
	s, url, c := startSim(t, Config{Models: []Model{testModel("sim-small")}})
	ctx := t.Context()
	first := wantOK(t, post(t, ctx, c, url+"/v1/responses", map[string]any{"model": "sim-small", "input": "My name is Ada."}))
	convID := createConv(t, c, url, map[string]any{"items": []any{map[string]any{"role": "user", "content": "My name is Ada."}}})["id"].(string)

	tests := []struct {
		name string
		body map[string]any
	}{
		{"string", map[string]any{"model": "sim-small", "input": "Which platform for the coast?"}},
		{"items", map[string]any{"model": "sim-small", "input": []any{
			map[string]any{"role": "user", "content": "My name is Ada."},
			map[string]any{"role": "assistant", "content": "Hello Ada."},
			map[string]any{"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": `{"q":1}`},
			map[string]any{"type": "function_call_output", "call_id": "c1", "output": "42"},
			map[string]any{"type": "message", "role": "user", "content": []any{
				map[string]any{"type": "input_text", "text": "And this?"},
				map[string]any{"type": "input_image", "image_url": "data:image/png;base64,AAAA"}}},
		}}},
		{"instructions and tools", map[string]any{"model": "sim-small", "input": "Weather?", "instructions": "Be brief.",
			"tools": []any{map[string]any{"type": "function", "name": "get_weather", "description": "The weather.",
				"parameters": map[string]any{"type": "object", "properties": weatherSchema}}},
			"tool_choice": "required", "reasoning": map[string]any{"effort": "low"}, "stream": true}},
		{"previous_response_id", map[string]any{"model": "sim-small", "input": "And my name?", "previous_response_id": first["id"]}},
		{"conversation", map[string]any{"model": "sim-small", "input": "And my name?", "conversation": convID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := countTokens(t, c, url, tt.body)
			if m := countTokens(t, c, url, without(tt.body, "model")); m != n {
				t.Errorf("without a model: got %v, want %v", m, n)
			}
			// A count reads the conversation and adds nothing to it.
			if _, ids := convItems(t, c, url, convID, ""); len(ids) != 1 {
				t.Fatalf("the conversation holds %d items after counting, want 1", len(ids))
			}
			// A fault, configured or asked for, does not apply to a count.
			if got := countTokens(t, c, url, tt.body, "X-Sim-Fault", "status;status=500"); got != n {
				t.Errorf("with X-Sim-Fault: got %v, want %v", got, n)
			}
			var want any
			if tt.body["stream"] == true {
				_, evs, err := stream(t, ctx, c, url+"/v1/responses", tt.body)
				if err != nil || len(evs) == 0 {
					t.Fatalf("stream: %v, %d events", err, len(evs))
				}
				want = get(eventOf(t, evs[len(evs)-1].data), "response", "usage", "input_tokens")
			} else {
				want = get(wantOK(t, post(t, ctx, c, url+"/v1/responses", tt.body)), "usage", "input_tokens")
			}
			if n != want {
				t.Errorf("counted %v input tokens, the response reported %v", n, want)
			}
		})
	}

	m := testModel("sim-small")
	m.Faults = []Fault{{Type: FaultStatus, Status: http.StatusServiceUnavailable}}
	s.SetConfig(Config{Models: []Model{m}})
	countTokens(t, c, url, tests[0].body)
	wantError(t, post(t, ctx, c, url+"/v1/responses", tests[0].body), http.StatusServiceUnavailable, "server_error", "", "")
	if calls := callsTo(s, "sim-small", "/v1/responses/input_tokens"); len(calls) != 0 {
		t.Errorf("counts were recorded: %v", calls)
	}
}

func TestResponsesInputTokensErrors(t *testing.T) {
	s, url, c := startSim(t, Config{Models: []Model{testModel("sim-small"), testModel("other")}})
	ctx := t.Context()
	others := wantOK(t, post(t, ctx, c, url+"/v1/responses", map[string]any{"model": "other", "input": "Mine."}))
	tests := []struct {
		name   string
		body   any
		status int
		param  string
		code   string
	}{
		{"unknown model", map[string]any{"model": "nope", "input": "x"}, http.StatusNotFound, "", "model_not_found"},
		{"undecodable", []byte(`{"model": "sim-small", "input": `), http.StatusBadRequest, "", ""},
		{"wrong field type", []byte(`{"model": "sim-small", "input": "x", "instructions": 7}`), http.StatusBadRequest, "", ""},
		{"no input", map[string]any{"model": "sim-small"}, http.StatusBadRequest, "", ""},
		{"input a number", map[string]any{"model": "sim-small", "input": 42}, http.StatusBadRequest, "", ""},
		{"empty input", map[string]any{"model": "sim-small", "input": []any{}}, http.StatusBadRequest, "", ""},
		{"content a number", map[string]any{"model": "sim-small", "input": []any{map[string]any{"role": "user", "content": 42}}}, http.StatusBadRequest, "", ""},
		{"reasoning content", map[string]any{"model": "sim-small", "input": []any{map[string]any{"type": "reasoning", "encrypted_content": "x"}}}, http.StatusBadRequest, "", ""},
		{"unknown previous", map[string]any{"model": "sim-small", "input": "x", "previous_response_id": "resp_nope"}, http.StatusBadRequest, "", ""},
		{"another model's previous", map[string]any{"model": "sim-small", "input": "x", "previous_response_id": others["id"]}, http.StatusBadRequest, "", ""},
		{"unknown conversation", map[string]any{"model": "sim-small", "input": "x", "conversation": "conv_nope"}, http.StatusNotFound, "conversation", ""},
		{"compaction without content", map[string]any{"model": "sim-small", "input": []any{map[string]any{"type": "compaction"}}},
			http.StatusBadRequest, "input[0].encrypted_content", ""},
		{"max_output_tokens", map[string]any{"model": "sim-small", "input": "x", "max_output_tokens": 3}, http.StatusBadRequest, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The count refuses a body exactly as a response does.
			got := wantError(t, post(t, ctx, c, url+"/v1/responses/input_tokens", tt.body), tt.status, "invalid_request_error", tt.param, tt.code)
			want := wantError(t, post(t, ctx, c, url+"/v1/responses", tt.body), tt.status, "invalid_request_error", tt.param, tt.code)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %v, want the response's %v", got, want)
			}
		})
	}
	// Without a model, another model's response may be counted on.
	countTokens(t, c, url, map[string]any{"input": "x", "previous_response_id": others["id"]})
	for _, model := range []string{"", "nope", "sim-small"} {
		if calls := callsTo(s, model, "/v1/responses/input_tokens"); len(calls) != 0 {
			t.Errorf("model %q: counts were recorded: %v", model, calls)
		}
	}
}

// compaction is the compaction item ending a compacted output, checked,
// and its summary.
func compaction(t *testing.T, out map[string]any) (map[string]any, string) {
	t.Helper()
	items, _ := out["output"].([]any)
	if len(items) == 0 {
		t.Fatalf("got %v, want an output", out)
	}
	item, _ := items[len(items)-1].(map[string]any)
	token, _ := item["encrypted_content"].(string)
	id, _ := out["id"].(string)
	if item["type"] != "compaction" || item["id"] != "cmp_"+strings.TrimPrefix(id, "resp_") || len(item) != 3 ||
		!strings.HasPrefix(token, compactionPrefix) {
		t.Fatalf("got last item %v, want a compaction item cmp_... holding a %s token", item, compactionPrefix)
	}
	summary, ok := openCompaction(token)
	if !ok {
		t.Fatalf("the simulator cannot read its own token %q", token)
	}
	return item, summary
}

// userItem is a user message as a compaction lists it, without its id.
func userItem(text string) map[string]any {
	return map[string]any{"type": "message", "role": "user", "status": "completed",
		"content": []any{map[string]any{"type": "input_text", "text": text}}}
}

func TestResponsesCompact(t *testing.T) {
	s, url, c := startSim(t, Config{Models: []Model{testModel("sim-small")}})
	ctx := t.Context()
	first := wantOK(t, post(t, ctx, c, url+"/v1/responses", map[string]any{"model": "sim-small", "input": "My name is Ada.", "instructions": "Be brief."}))
	answer := rsText(first)
	input := []any{
		map[string]any{"role": "user", "content": "Which platform?"},
		map[string]any{"role": "assistant", "content": "Platform nine."},
		map[string]any{"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": `{"q":1}`},
		map[string]any{"type": "function_call_output", "call_id": "c1", "output": "42"},
		map[string]any{"type": "message", "id": "msg_mine", "role": "user", "content": []any{map[string]any{"type": "input_text", "text": "Thanks."}}},
	}
	resp := post(t, ctx, c, url+"/v1/responses/compact", map[string]any{"model": "sim-small", "previous_response_id": first["id"],
		"input": input, "prompt_cache_key": "k", "service_tier": "auto", "something_new": true})
	if id := resp.Header.Get("x-request-id"); !strings.HasPrefix(id, "req_") {
		t.Errorf("got x-request-id %q, want req_...", id)
	}
	out := wantOK(t, resp)
	id, _ := out["id"].(string)
	if !compactIDPattern.MatchString(id) || out["object"] != "response.compaction" || out["created_at"] == nil || len(out) != 5 {
		t.Errorf("got %v, want a response.compaction resp_... with created_at, output and usage", out)
	}

	// It is recorded as a model call under its path, and not stored.
	calls := s.Calls("sim-small")
	if last := calls[len(calls)-1]; last.Path != "/v1/responses/compact" || last.Status != http.StatusOK || last.Stream || last.Fault != "" {
		t.Errorf("got call %+v, want a 200 to /v1/responses/compact", last)
	}
	wantError(t, do(t, c, http.MethodGet, url+"/v1/responses/"+id), http.StatusNotFound, "invalid_request_error", "", "")

	// The user messages of the chain, then of the input, then the
	// compaction, whose summary holds the other items, the first
	// response's instructions not among them.
	items := out["output"].([]any)
	_, summary := compaction(t, out)
	if want := "assistant: " + answer + "\nassistant: Platform nine.\nfunction_call: lookup {\"q\":1}\nfunction_call_output: 42"; summary != want {
		t.Errorf("got summary %q, want %q", summary, want)
	}
	wantUsers := []map[string]any{userItem("My name is Ada."), userItem("Which platform?"), userItem("Thanks.")}
	if len(items) != len(wantUsers)+1 {
		t.Fatalf("got %d items %v, want %d user messages and the compaction", len(items), items, len(wantUsers))
	}
	for i, w := range wantUsers {
		item := items[i].(map[string]any)
		itemID, _ := item["id"].(string)
		if i == 2 {
			if itemID != "msg_mine" {
				t.Errorf("item 2: got id %q, want the one it was sent with", itemID)
			}
		} else if !userItemIDPattern.MatchString(itemID) {
			t.Errorf("item %d: got id %q, want msg_...", i, itemID)
		}
		w["id"] = itemID
		if !reflect.DeepEqual(item, map[string]any(w)) {
			t.Errorf("item %d: got %v, want %v", i, item, w)
		}
	}

	// The usage is a response's, its input the whole conversation's.
	inline := wantOK(t, post(t, ctx, c, url+"/v1/responses", map[string]any{"model": "sim-small",
		"input": append([]any{map[string]any{"role": "user", "content": "My name is Ada."}, map[string]any{"role": "assistant", "content": answer}}, input...)}))
	in := get(inline, "usage", "input_tokens").(float64)
	wantUsage := map[string]any{"input_tokens": in, "input_tokens_details": map[string]any{"cached_tokens": 0.0},
		"output_tokens": 8.0, "output_tokens_details": map[string]any{"reasoning_tokens": 0.0}, "total_tokens": in + 8}
	if !reflect.DeepEqual(out["usage"], map[string]any(wantUsage)) {
		t.Errorf("got usage %v, want %v", out["usage"], wantUsage)
	}

	// Sent back with a new message, the compaction reads as an assistant
	// message holding its summary: the same input tokens and answer, in
	// a count, a response and a stream.
	next := append(append([]any{}, items...), map[string]any{"role": "user", "content": "What next?"})
	plain := append(append([]any{}, items[:len(items)-1]...), map[string]any{"role": "assistant", "content": summary}, map[string]any{"role": "user", "content": "What next?"})
	got := wantOK(t, post(t, ctx, c, url+"/v1/responses", map[string]any{"model": "sim-small", "input": next}))
	want := wantOK(t, post(t, ctx, c, url+"/v1/responses", map[string]any{"model": "sim-small", "input": plain}))
	n := get(got, "usage", "input_tokens")
	if n != get(want, "usage", "input_tokens") || rsText(got) != rsText(want) {
		t.Errorf("got %v tokens %q, want the summary's %v %q", n, rsText(got), get(want, "usage", "input_tokens"), rsText(want))
	}
	if count := countTokens(t, c, url, map[string]any{"model": "sim-small", "input": next}); count != n {
		t.Errorf("counted %v, want %v", count, n)
	}
	_, evs, err := stream(t, ctx, c, url+"/v1/responses", map[string]any{"model": "sim-small", "input": next})
	if err != nil || len(evs) == 0 {
		t.Fatalf("stream: %v, %d events", err, len(evs))
	}
	if done := eventOf(t, evs[len(evs)-1].data); done["type"] != "response.completed" || get(done, "response", "usage", "input_tokens") != n {
		t.Errorf("got final event %v, want response.completed with %v input tokens", done, n)
	}

	// Compacting again keeps the user messages, ids and all, and the
	// earlier summary.
	again := wantOK(t, post(t, ctx, c, url+"/v1/responses/compact", map[string]any{"model": "sim-small",
		"input": append(next, map[string]any{"role": "assistant", "content": "Onwards."})}))
	againItems := again["output"].([]any)
	if _, s2 := compaction(t, again); s2 != summary+"\nassistant: Onwards." {
		t.Errorf("got summary %q, want the first's and the new answer", s2)
	}
	if len(againItems) != 5 || !reflect.DeepEqual(againItems[:3], items[:3]) || get(againItems, 3, "content", 0, "text") != "What next?" {
		t.Errorf("got %v, want the three user messages, the new one and the compaction", againItems)
	}

	// previous_response_id alone is enough to compact.
	alone := wantOK(t, post(t, ctx, c, url+"/v1/responses/compact", map[string]any{"model": "sim-small", "previous_response_id": first["id"]}))
	if _, s3 := compaction(t, alone); s3 != "assistant: "+answer || len(alone["output"].([]any)) != 2 ||
		get(alone, "output", 0, "content", 0, "text") != "My name is Ada." {
		t.Errorf("got %v (summary %q), want the first turn compacted", alone["output"], s3)
	}
}

func TestResponsesCompactionRefused(t *testing.T) {
	s, url, c := startSim(t, Config{Models: []Model{testModel("sim-small")}})
	ctx := t.Context()
	token := sealCompaction("assistant: Platform nine.")
	payload, check, _ := strings.Cut(strings.TrimPrefix(token, compactionPrefix), ".")
	other := sealCompaction("assistant: Platform ten.")
	otherPayload, _, _ := strings.Cut(strings.TrimPrefix(other, compactionPrefix), ".")
	flip := func(s string) string {
		last := s[len(s)-1]
		if last == 'A' {
			return s[:len(s)-1] + "B"
		}
		return s[:len(s)-1] + "A"
	}
	bad := map[string]any{
		"payload changed":       compactionPrefix + flip(payload) + "." + check,
		"checksum changed":      compactionPrefix + payload + "." + flip(check),
		"another's payload":     compactionPrefix + otherPayload + "." + check,
		"no prefix":             strings.TrimPrefix(token, compactionPrefix),
		"no checksum":           compactionPrefix + payload,
		"OpenAI's":              "gAAAAABo-not-ours",
		"empty":                 "",
		"no encrypted_content":  nil,
		"encrypted_content nil": "null",
	}
	for name, content := range bad {
		t.Run(name, func(t *testing.T) {
			item := map[string]any{"type": "compaction", "id": "cmp_x"}
			code := "invalid_encrypted_content"
			switch content {
			case nil: // left out
				code = ""
			case "null":
				item["encrypted_content"] = nil
				code = ""
			default:
				item["encrypted_content"] = content
			}
			body := map[string]any{"model": "sim-small", "input": []any{map[string]any{"role": "user", "content": "Hi."}, item}}
			for _, path := range []string{"/v1/responses", "/v1/responses/input_tokens", "/v1/responses/compact"} {
				e := wantError(t, post(t, ctx, c, url+path, body), http.StatusBadRequest, "invalid_request_error", "input[1].encrypted_content", code)
				if msg, _ := e["message"].(string); !strings.Contains(msg, "input[1]") {
					t.Errorf("%s: got message %q, want it to name input[1]", path, msg)
				}
			}
			resp, evs, _ := stream(t, ctx, c, url+"/v1/responses", body)
			if resp.StatusCode != http.StatusBadRequest || len(evs) != 0 {
				t.Errorf("stream: got %d with %d events, want a 400 before any", resp.StatusCode, len(evs))
			}
		})
	}
	// The token itself is accepted, and its summary counts.
	body := map[string]any{"model": "sim-small", "input": []any{map[string]any{"role": "user", "content": "Hi."},
		map[string]any{"type": "compaction", "encrypted_content": token}}}
	plain := map[string]any{"model": "sim-small", "input": []any{map[string]any{"role": "user", "content": "Hi."},
		map[string]any{"role": "assistant", "content": "assistant: Platform nine."}}}
	if got, want := countTokens(t, c, url, body), countTokens(t, c, url, plain); got != want {
		t.Errorf("counted %v, want the summary as an assistant message's %v", got, want)
	}
	for _, k := range callsTo(s, "sim-small", "/v1/responses/compact") {
		if k.Status != http.StatusBadRequest {
			t.Errorf("got a refused compaction recorded as %+v, want status 400", k)
		}
	}
}

func TestResponsesCompactErrors(t *testing.T) {
	s, url, c := startSim(t, Config{Models: []Model{testModel("sim-small")}})
	ctx := t.Context()
	const path = "/v1/responses/compact"
	wantError(t, post(t, ctx, c, url+path, map[string]any{"input": "x"}), http.StatusBadRequest, "invalid_request_error", "", "")
	wantError(t, post(t, ctx, c, url+path, []byte(`{"model":`)), http.StatusBadRequest, "invalid_request_error", "", "")
	wantError(t, post(t, ctx, c, url+path, map[string]any{"model": "nope", "input": "x"}), http.StatusNotFound, "invalid_request_error", "", "model_not_found")
	e := wantError(t, post(t, ctx, c, url+path, map[string]any{"model": "sim-small"}), http.StatusBadRequest, "invalid_request_error", "", "")
	if e["message"] != "Missing required parameter: 'input'." {
		t.Errorf("got %v, want input required without previous_response_id", e["message"])
	}
	e = wantError(t, post(t, ctx, c, url+path, map[string]any{"model": "sim-small", "input": "x", "previous_response_id": "resp_nope"}),
		http.StatusBadRequest, "invalid_request_error", "", "")
	if e["message"] != "Previous response with id 'resp_nope' not found." {
		t.Errorf("got %v", e["message"])
	}
	if calls := callsTo(s, "nope", path); len(calls) != 1 || calls[0].Status != http.StatusNotFound {
		t.Errorf("got calls %+v, want the unknown model's 404 recorded", calls)
	}
}

func TestResponsesCompactFaults(t *testing.T) {
	m := testModel("sim-small")
	// The stall matches streams only, and a compaction never streams.
	m.Faults = []Fault{{Type: FaultStatus, Status: http.StatusServiceUnavailable, Times: 1}, {Type: FaultStall}}
	s, url, c := startSim(t, Config{Models: []Model{m}})
	ctx := t.Context()
	const path = "/v1/responses/compact"
	body := map[string]any{"model": "sim-small", "input": "Compact me."}
	wantError(t, post(t, ctx, c, url+path, body), http.StatusServiceUnavailable, "server_error", "", "")
	wantOK(t, post(t, ctx, c, url+path, body))
	resp := post(t, ctx, c, url+path, body, "X-Sim-Fault", "status;status=429;retry_after=2s")
	if got := resp.Header.Get("Retry-After"); got != "2" {
		t.Errorf("got Retry-After %q, want 2", got)
	}
	wantError(t, resp, http.StatusTooManyRequests, "requests", "", "rate_limit_exceeded")
	wantError(t, post(t, ctx, c, url+path, body, "X-Sim-Fault", "context_length"), http.StatusBadRequest, "invalid_request_error", "messages", "context_length_exceeded")
	wantOK(t, post(t, ctx, c, url+path, body, "X-Sim-Fault", "stall"))

	var got []Call
	for _, k := range callsTo(s, "sim-small", path) {
		got = append(got, Call{Path: k.Path, Status: k.Status, Fault: k.Fault})
	}
	want := []Call{
		{Path: path, Status: http.StatusServiceUnavailable, Fault: FaultStatus},
		{Path: path, Status: http.StatusOK},
		{Path: path, Status: http.StatusTooManyRequests, Fault: FaultStatus},
		{Path: path, Status: http.StatusBadRequest, Fault: FaultContextLength},
		{Path: path, Status: http.StatusOK},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got calls %+v, want %+v", got, want)
	}
}

func TestResponsesCompactSDK(t *testing.T) {
	_, oa, _ := sdkClients(t, Config{Models: []Model{testModel("sim-small")}})
	ctx := t.Context()

	count, err := oa.Responses.InputTokens.Count(ctx, responses.InputTokenCountParams{Model: openai.String("sim-small"),
		Instructions: openai.String("Be brief."), Input: responses.InputTokenCountParamsInputUnion{OfString: openai.String("Which platform?")}})
	if err != nil {
		t.Fatalf("count: %v", err)
	}
	first, err := oa.Responses.New(ctx, responses.ResponseNewParams{Model: "sim-small", Instructions: openai.String("Be brief."),
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Which platform?")}})
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	if count.Object != "response.input_tokens" || count.InputTokens != first.Usage.InputTokens || count.InputTokens == 0 {
		t.Errorf("counted %+v, want the response's %d input tokens", count, first.Usage.InputTokens)
	}

	compacted, err := oa.Responses.Compact(ctx, responses.ResponseCompactParams{Model: "sim-small", PreviousResponseID: openai.String(first.ID),
		Input: responses.ResponseCompactParamsInputUnion{OfString: openai.String("Thanks.")}, PromptCacheKey: openai.String("k")})
	if err != nil {
		t.Fatalf("compact: %v", err)
	}
	if compacted.Object != "response.compaction" || !compactIDPattern.MatchString(compacted.ID) || compacted.CreatedAt == 0 || len(compacted.Output) != 3 {
		t.Fatalf("got %+v, want a compaction of two user messages", compacted)
	}
	u := compacted.Usage
	if u.InputTokens == 0 || u.OutputTokens != 8 || u.TotalTokens != u.InputTokens+u.OutputTokens {
		t.Errorf("got usage %+v", u)
	}
	var next []responses.ResponseInputItemUnionParam
	for i, o := range compacted.Output[:2] {
		msg := o.AsMessage()
		if o.Type != "message" || msg.Role != "user" || msg.Status != "completed" || !userItemIDPattern.MatchString(msg.ID) || len(msg.Content) != 1 {
			t.Fatalf("output %d: got %s", i, o.RawJSON())
		}
		next = append(next, responses.ResponseInputItemParamOfMessage(msg.Content[0].Text, responses.EasyInputMessageRoleUser))
	}
	if got := []string{next[0].OfMessage.Content.OfString.Value, next[1].OfMessage.Content.OfString.Value}; got[0] != "Which platform?" || got[1] != "Thanks." {
		t.Errorf("got user messages %q", got)
	}
	item := compacted.Output[2].AsCompaction()
	if compacted.Output[2].Type != "compaction" || !strings.HasPrefix(item.ID, "cmp_") || !strings.HasPrefix(item.EncryptedContent, compactionPrefix) {
		t.Fatalf("got %s, want a compaction item", compacted.Output[2].RawJSON())
	}
	next = append(next, responses.ResponseInputItemParamOfCompaction(item.EncryptedContent),
		responses.ResponseInputItemParamOfMessage("What next?", responses.EasyInputMessageRoleUser))

	r, err := oa.Responses.New(ctx, responses.ResponseNewParams{Model: "sim-small", Input: responses.ResponseNewParamsInputUnion{OfInputItemList: next}})
	if err != nil || r.OutputText() == "" {
		t.Fatalf("new after compaction: %v", err)
	}
	count, err = oa.Responses.InputTokens.Count(ctx, responses.InputTokenCountParams{Input: responses.InputTokenCountParamsInputUnion{OfResponseInputItemArray: next}})
	if err != nil || count.InputTokens != r.Usage.InputTokens {
		t.Errorf("counted %+v %v, want %d", count, err, r.Usage.InputTokens)
	}

	next[2] = responses.ResponseInputItemParamOfCompaction(item.EncryptedContent + "x")
	_, err = oa.Responses.New(ctx, responses.ResponseNewParams{Model: "sim-small", Input: responses.ResponseNewParamsInputUnion{OfInputItemList: next}})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || apiErr.Param != "input[2].encrypted_content" || apiErr.Code != "invalid_encrypted_content" {
		t.Errorf("got %v, want a 400 on input[2].encrypted_content", err)
	}
}

// The input items of a stored response are listed as OpenAI lists them:
// newest first unless order=asc, limit and after as a cursor; a bad order
// or an after naming no item is a 400 naming it.
func TestResponsesInputItems(t *testing.T) {
	_, url, c := startSim(t, Config{Models: []Model{testModel("sim-small")}})
	input := []any{
		map[string]any{"role": "user", "content": "one"},
		map[string]any{"role": "user", "content": "two"},
		map[string]any{"role": "user", "content": "three"},
	}
	id := wantOK(t, post(t, t.Context(), c, url+"/v1/responses", map[string]any{"model": "sim-small", "input": input}))["id"].(string)
	list := func(query string) (int, map[string]any) {
		resp, err := c.Get(url + "/v1/responses/" + id + "/input_items" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v
	}
	texts := func(v map[string]any) string {
		var out []string
		for _, it := range v["data"].([]any) {
			out = append(out, get(it, "content", 0, "text").(string))
		}
		return strings.Join(out, ",")
	}
	if code, v := list(""); code != 200 || texts(v) != "three,two,one" || v["has_more"] != false {
		t.Errorf("default: %d %v, want three,two,one", code, v)
	}
	code, v := list("?order=asc&limit=2")
	if code != 200 || texts(v) != "one,two" || v["has_more"] != true {
		t.Fatalf("asc, limit 2: %d %v, want one,two and more", code, v)
	}
	if code, v2 := list("?order=asc&after=" + v["last_id"].(string)); code != 200 || texts(v2) != "three" {
		t.Errorf("after the second: %d %v, want three", code, v2)
	}
	for _, q := range []string{"?order=up", "?after=msg_nope", "?limit=0"} {
		if code, v := list(q); code != 400 || get(v, "error", "param") == nil {
			t.Errorf("%s: %d %v, want a 400 naming the param", q, code, v)
		}
	}
}
