package sim

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/conversations"
	oaoption "github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
)

// convIDPattern is the shape of a conversation's id.
var convIDPattern = regexp.MustCompile(`^conv_[0-9a-f]{48}$`)

// convSim starts a simulator on a manual clock serving sim-small.
func convSim(t *testing.T) (*Server, string, *http.Client) {
	t.Helper()
	clock := clocktest.New(videoT0)
	return startSim(t, Config{Models: []Model{testModel("sim-small")}}, WithClock(clock.Now))
}

// createConv creates a conversation from body, which must succeed.
func createConv(t *testing.T, c *http.Client, url string, body any) map[string]any {
	t.Helper()
	return wantOK(t, post(t, t.Context(), c, url+"/v1/conversations", body))
}

// convItems lists a conversation's items with a query ("" for none),
// which must succeed, and returns the page and its item ids.
func convItems(t *testing.T, c *http.Client, url, id, query string) (map[string]any, []string) {
	t.Helper()
	page := wantOK(t, do(t, c, http.MethodGet, url+"/v1/conversations/"+id+"/items?"+query))
	return page, dataIDs(page)
}

// dataIDs are the ids of a list's items, in order.
func dataIDs(page map[string]any) []string {
	var ids []string
	for _, it := range page["data"].([]any) {
		ids = append(ids, it.(map[string]any)["id"].(string))
	}
	return ids
}

// wantNotFound checks the exact 404 of an unknown conversation.
func wantNotFound(t *testing.T, resp *http.Response, id string) {
	t.Helper()
	body := decode(t, resp)
	want := map[string]any{"error": map[string]any{
		"message": "Conversation with id '" + id + "' not found.", "type": "invalid_request_error", "param": nil, "code": nil,
	}}
	if resp.StatusCode != http.StatusNotFound || !reflect.DeepEqual(body, want) {
		t.Errorf("got %d %v, want 404 %v", resp.StatusCode, body, want)
	}
}

// sendJSON sends a JSON body with method; the caller closes the response.
func sendJSON(t *testing.T, c *http.Client, method, url, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp
}

func TestConversationCreate(t *testing.T) {
	_, url, c := convSim(t)
	conv := createConv(t, c, url, map[string]any{
		"metadata": map[string]any{"topic": "rails", "ünïcode": strings.Repeat("é", maxMetadataValue)},
		"items": []any{
			map[string]any{"type": "message", "role": "user", "content": "My name is Ada."},
			map[string]any{"role": "assistant", "content": "Hello Ada."},
			map[string]any{"type": "message", "role": "developer", "id": "msg_mine", "status": "incomplete",
				"content": []any{map[string]any{"type": "input_text", "text": "be brief"}}},
			map[string]any{"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}", "x_extra": []any{1.0}},
			map[string]any{"type": "function_call_output", "call_id": "call_1", "output": "42"},
			map[string]any{"type": "web_search_call", "status": "completed"},
			map[string]any{"type": "something_new"},
		},
	})
	id, _ := conv["id"].(string)
	if !convIDPattern.MatchString(id) || conv["object"] != "conversation" || conv["created_at"] != unix(videoT0) ||
		get(conv, "metadata", "topic") != "rails" || len(conv) != 4 {
		t.Errorf("got %v, want a conversation object created at %v with the metadata", conv, unix(videoT0))
	}
	if got := wantOK(t, do(t, c, http.MethodGet, url+"/v1/conversations/"+id)); !reflect.DeepEqual(got, conv) {
		t.Errorf("got %v, want %v", got, conv)
	}

	page, ids := convItems(t, c, url, id, "order=asc")
	prefixes := []string{"msg_", "msg_", "msg_mine", "fc_", "fco_", "ws_", "item_"}
	for i, p := range prefixes {
		if i >= len(ids) || !strings.HasPrefix(ids[i], p) {
			t.Fatalf("got ids %v, want prefixes %v", ids, prefixes)
		}
	}
	data := page["data"].([]any)
	want := []map[string]any{
		{"type": "message", "role": "user", "status": "completed", "content": []any{map[string]any{"type": "input_text", "text": "My name is Ada."}}},
		{"type": "message", "role": "assistant", "status": "completed",
			"content": []any{map[string]any{"type": "output_text", "text": "Hello Ada.", "annotations": []any{}}}},
		{"type": "message", "role": "developer", "status": "incomplete", "content": []any{map[string]any{"type": "input_text", "text": "be brief"}}},
		{"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}", "x_extra": []any{1.0}},
		{"type": "function_call_output", "call_id": "call_1", "output": "42"},
		{"type": "web_search_call", "status": "completed"},
		{"type": "something_new"},
	}
	for i, w := range want {
		w["id"] = ids[i]
		if !reflect.DeepEqual(data[i], map[string]any(w)) {
			t.Errorf("item %d: got %v, want %v", i, data[i], w)
		}
	}

	// No items, no metadata: metadata is {} and the list empty, with null
	// cursors.
	empty := createConv(t, c, url, map[string]any{})
	if md, ok := empty["metadata"].(map[string]any); !ok || len(md) != 0 {
		t.Errorf("got metadata %v, want {}", empty["metadata"])
	}
	page, ids = convItems(t, c, url, empty["id"].(string), "")
	if len(ids) != 0 || page["first_id"] != nil || page["last_id"] != nil || page["has_more"] != false || page["object"] != "list" {
		t.Errorf("got %v, want an empty list", page)
	}
}

func TestConversationUpdateDelete(t *testing.T) {
	_, url, c := convSim(t)
	conv := createConv(t, c, url, map[string]any{"metadata": map[string]any{"a": "1", "b": "2"}})
	id := conv["id"].(string)
	base := url + "/v1/conversations/" + id

	// An update replaces the metadata whole.
	got := wantOK(t, post(t, t.Context(), c, base, map[string]any{"metadata": map[string]any{"c": "3"}}))
	if !reflect.DeepEqual(got["metadata"], map[string]any{"c": "3"}) || got["id"] != id || got["created_at"] != conv["created_at"] {
		t.Errorf("got %v, want metadata {c: 3} and the rest unchanged", got)
	}
	if got := wantOK(t, do(t, c, http.MethodGet, base)); !reflect.DeepEqual(got["metadata"], map[string]any{"c": "3"}) {
		t.Errorf("got %v after the update", got)
	}
	wantError(t, post(t, t.Context(), c, base, map[string]any{}), http.StatusBadRequest, "invalid_request_error", "metadata", "")
	wantError(t, post(t, t.Context(), c, base, map[string]any{"metadata": map[string]any{}, "items": []any{}}),
		http.StatusBadRequest, "invalid_request_error", "", "")

	got = wantOK(t, do(t, c, http.MethodDelete, base))
	if !reflect.DeepEqual(got, map[string]any{"id": id, "object": "conversation.deleted", "deleted": true}) {
		t.Errorf("got %v, want conversation.deleted", got)
	}
	wantNotFound(t, do(t, c, http.MethodGet, base), id)
	wantNotFound(t, do(t, c, http.MethodDelete, base), id)
	wantNotFound(t, post(t, t.Context(), c, base, map[string]any{"metadata": map[string]any{}}), id)
	wantNotFound(t, do(t, c, http.MethodGet, base+"/items"), id)
	wantNotFound(t, post(t, t.Context(), c, base+"/items", map[string]any{"items": []any{map[string]any{"role": "user", "content": "x"}}}), id)
	wantNotFound(t, do(t, c, http.MethodGet, base+"/items/msg_x"), id)
	wantNotFound(t, do(t, c, http.MethodDelete, base+"/items/msg_x"), id)
}

func TestConversationItems(t *testing.T) {
	_, url, c := convSim(t)
	var items []any
	for i := range 5 {
		items = append(items, map[string]any{"role": "user", "content": fmt.Sprint("turn ", i), "id": fmt.Sprint("msg_", i)})
	}
	id := createConv(t, c, url, map[string]any{"items": items})["id"].(string)
	base := url + "/v1/conversations/" + id + "/items"

	// Newest first by default.
	page, ids := convItems(t, c, url, id, "include=message.output_text.logprobs")
	if want := []string{"msg_4", "msg_3", "msg_2", "msg_1", "msg_0"}; !reflect.DeepEqual(ids, want) ||
		page["first_id"] != "msg_4" || page["last_id"] != "msg_0" || page["has_more"] != false {
		t.Errorf("got %v, want %v newest first", page, want)
	}
	pages := []struct {
		query string
		ids   []string
		more  bool
	}{
		{"order=asc&limit=2", []string{"msg_0", "msg_1"}, true},
		{"order=asc&limit=2&after=msg_1", []string{"msg_2", "msg_3"}, true},
		{"order=asc&limit=2&after=msg_3", []string{"msg_4"}, false},
		{"order=asc&after=msg_4", nil, false},
		{"order=desc&limit=3&after=msg_4", []string{"msg_3", "msg_2", "msg_1"}, true},
		{"limit=100", []string{"msg_4", "msg_3", "msg_2", "msg_1", "msg_0"}, false},
	}
	for _, p := range pages {
		page, ids := convItems(t, c, url, id, p.query)
		if !reflect.DeepEqual(ids, p.ids) || page["has_more"] != p.more {
			t.Errorf("%s: got %v has_more %v, want %v %v", p.query, ids, page["has_more"], p.ids, p.more)
		}
	}

	// Add two: the answer lists them, named.
	added := wantOK(t, post(t, t.Context(), c, base, map[string]any{"items": []any{
		map[string]any{"type": "message", "role": "assistant", "content": "noted"},
		map[string]any{"type": "function_call_output", "call_id": "call_9", "output": "ok"},
	}}))
	addedIDs := dataIDs(added)
	if len(addedIDs) != 2 || !strings.HasPrefix(addedIDs[0], "msg_") || !strings.HasPrefix(addedIDs[1], "fco_") ||
		added["first_id"] != addedIDs[0] || added["last_id"] != addedIDs[1] || added["has_more"] != false || added["object"] != "list" {
		t.Errorf("got %v, want the two items added", added)
	}
	if _, ids := convItems(t, c, url, id, "limit=2"); !reflect.DeepEqual(ids, []string{addedIDs[1], addedIDs[0]}) {
		t.Errorf("got newest %v, want %v", ids, addedIDs)
	}

	// One item: get, delete (answering the conversation), then 404.
	it := wantOK(t, do(t, c, http.MethodGet, base+"/msg_2?include=message.output_text.logprobs"))
	if it["id"] != "msg_2" || get(it, "content", 0, "text") != "turn 2" || it["status"] != "completed" {
		t.Errorf("got %v, want msg_2", it)
	}
	conv := wantOK(t, do(t, c, http.MethodDelete, base+"/msg_2"))
	if conv["id"] != id || conv["object"] != "conversation" {
		t.Errorf("got %v, want the conversation", conv)
	}
	for _, method := range []string{http.MethodGet, http.MethodDelete} {
		e := wantError(t, do(t, c, method, base+"/msg_2"), http.StatusNotFound, "invalid_request_error", "", "")
		if e["message"] != "Item with id 'msg_2' not found." {
			t.Errorf("%s: got %v", method, e)
		}
	}
	if _, ids := convItems(t, c, url, id, "order=asc"); !reflect.DeepEqual(ids, []string{"msg_0", "msg_1", "msg_3", "msg_4", addedIDs[0], addedIDs[1]}) {
		t.Errorf("got %v after the delete", ids)
	}
}

func TestConversationValidation(t *testing.T) {
	_, url, c := convSim(t)
	id := createConv(t, c, url, map[string]any{"items": []any{map[string]any{"id": "msg_held", "role": "user", "content": "x"}}})["id"].(string)
	base := url + "/v1/conversations/" + id
	msg := func(k string) map[string]any { return map[string]any{"role": "user", "content": k} }
	many := func(n int) []any {
		var out []any
		for i := range n {
			out = append(out, msg(fmt.Sprint(i)))
		}
		return out
	}
	bigMetadata := map[string]any{}
	for i := range maxMetadataKeys + 1 {
		bigMetadata[fmt.Sprint("k", i)] = "v"
	}
	cases := []struct {
		name, method, path, body string
		param                    string
	}{
		{"too many items", "POST", "/v1/conversations", mustString(map[string]any{"items": many(21)}), "items"},
		{"items not an array", "POST", "/v1/conversations", `{"items":{}}`, "items"},
		{"item not an object", "POST", "/v1/conversations", `{"items":["hi"]}`, "items[0]"},
		{"item without type or role", "POST", "/v1/conversations", `{"items":[{"content":"hi"}]}`, "items[0].type"},
		{"bad role", "POST", "/v1/conversations", `{"items":[{"role":"robot","content":"hi"}]}`, "items[0].role"},
		{"no content", "POST", "/v1/conversations", `{"items":[{"type":"message","role":"user"}]}`, "items[0].content"},
		{"bad content", "POST", "/v1/conversations", `{"items":[{"role":"user","content":7}]}`, "items[0].content"},
		{"duplicate ids", "POST", "/v1/conversations", `{"items":[{"id":"a","type":"x"},{"id":"a","type":"x"}]}`, "items[1].id"},
		{"too many keys", "POST", "/v1/conversations", mustString(map[string]any{"metadata": bigMetadata}), "metadata"},
		{"long key", "POST", "/v1/conversations", mustString(map[string]any{"metadata": map[string]any{strings.Repeat("k", 65): "v"}}), "metadata"},
		{"long value", "POST", "/v1/conversations", mustString(map[string]any{"metadata": map[string]any{"k": strings.Repeat("v", 513)}}), "metadata"},
		{"value not a string", "POST", "/v1/conversations", `{"metadata":{"k":1}}`, "metadata"},
		{"metadata not an object", "POST", "/v1/conversations", `{"metadata":["k"]}`, "metadata"},
		{"unknown field", "POST", "/v1/conversations", `{"title":"x"}`, ""},
		{"array body", "POST", "/v1/conversations", `[]`, ""},
		{"string body", "POST", "/v1/conversations", `"x"`, ""},
		{"null body", "POST", "/v1/conversations", `null`, ""},
		{"bad JSON", "POST", "/v1/conversations", `{"items":`, ""},
		{"empty body", "POST", "/v1/conversations", ``, ""},
		{"update without metadata", "POST", "/v1/conversations/" + id, `{}`, "metadata"},
		{"update bad metadata", "POST", "/v1/conversations/" + id, mustString(map[string]any{"metadata": bigMetadata}), "metadata"},
		{"add no items", "POST", "/v1/conversations/" + id + "/items", `{}`, "items"},
		{"add empty items", "POST", "/v1/conversations/" + id + "/items", `{"items":[]}`, "items"},
		{"add too many", "POST", "/v1/conversations/" + id + "/items", mustString(map[string]any{"items": many(21)}), "items"},
		{"add held id", "POST", "/v1/conversations/" + id + "/items", `{"items":[{"id":"msg_held","type":"x"}]}`, "items[0].id"},
		{"limit 0", "GET", "/v1/conversations/" + id + "/items?limit=0", "", "limit"},
		{"limit 101", "GET", "/v1/conversations/" + id + "/items?limit=101", "", "limit"},
		{"limit not a number", "GET", "/v1/conversations/" + id + "/items?limit=ten", "", "limit"},
		{"bad order", "GET", "/v1/conversations/" + id + "/items?order=sideways", "", "order"},
		{"unknown after", "GET", "/v1/conversations/" + id + "/items?after=msg_nope", "", "after"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, sendJSON(t, c, tc.method, url+tc.path, tc.body), http.StatusBadRequest, "invalid_request_error", tc.param, "")
		})
	}
	// Nothing refused was kept.
	if _, ids := convItems(t, c, url, id, ""); !reflect.DeepEqual(ids, []string{"msg_held"}) {
		t.Errorf("got items %v, want msg_held alone", ids)
	}
	if got := wantOK(t, do(t, c, http.MethodGet, base)); len(got["metadata"].(map[string]any)) != 0 {
		t.Errorf("got %v, want no metadata", got)
	}
}

// mustString is v as JSON text.
func mustString(v any) string { return string(mustJSON(v)) }

func TestConversationBounds(t *testing.T) {
	s, url, c := convSim(t)
	id := createConv(t, c, url, map[string]any{})["id"].(string)

	// Fill the conversation to one short of its limit, then add two.
	var items []convItem
	for i := range maxConversationItems - 1 {
		items = append(items, convItem{id: fmt.Sprint("msg_", i), body: mustJSON(map[string]any{"id": fmt.Sprint("msg_", i), "type": "x"})})
	}
	if e, ok := s.conversations.add(id, items); e != nil || !ok {
		t.Fatalf("add: %v %v", e, ok)
	}
	two := `{"items":[{"type":"x"},{"type":"x"}]}`
	wantError(t, sendJSON(t, c, http.MethodPost, url+"/v1/conversations/"+id+"/items", two), http.StatusBadRequest, "invalid_request_error", "items", "")

	// A response adds its items anyway, and the oldest go.
	wantOK(t, post(t, t.Context(), c, url+"/v1/responses", map[string]any{"model": "sim-small", "input": "hi", "conversation": id}))
	_, ids := convItems(t, c, url, id, "order=asc&limit=1")
	all, _ := s.conversations.items(id)
	if len(all) != maxConversationItems || !reflect.DeepEqual(ids, []string{"msg_1"}) {
		t.Errorf("got %d items starting %v, want %d starting msg_1", len(all), ids, maxConversationItems)
	}

	// The store keeps the newest maxConversations conversations.
	var cs conversationStore
	for i := range maxConversations + 1 {
		cs.create(&conversation{id: fmt.Sprint("conv_", i)})
	}
	if _, ok := cs.object("conv_0"); ok {
		t.Error("the oldest conversation is still kept")
	}
	if _, ok := cs.object(fmt.Sprint("conv_", maxConversations)); !ok || len(cs.order) != maxConversations {
		t.Errorf("got %d conversations, want the newest %d", len(cs.order), maxConversations)
	}
}

func TestConversationFaults(t *testing.T) {
	_, url, c := convSim(t)
	id := createConv(t, c, url, map[string]any{})["id"].(string)
	withFault := func(method, path, fault string) *http.Response {
		req, err := http.NewRequestWithContext(t.Context(), method, url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Sim-Fault", fault)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		return resp
	}
	resp := withFault(http.MethodGet, "/v1/conversations/"+id, "status;status=429;retry_after=2s")
	if resp.Header.Get("Retry-After") != "2" {
		t.Errorf("got Retry-After %q, want 2", resp.Header.Get("Retry-After"))
	}
	wantError(t, resp, http.StatusTooManyRequests, "requests", "", "rate_limit_exceeded")
	wantError(t, withFault(http.MethodGet, "/v1/conversations/"+id+"/items", "down"), http.StatusServiceUnavailable, "server_error", "", "")
	wantError(t, withFault(http.MethodPost, "/v1/conversations", "nonsense"), http.StatusBadRequest, "invalid_request_error", "", "")
	// A fault with nothing to act on is ignored.
	if got := wantOK(t, withFault(http.MethodGet, "/v1/conversations/"+id, "context_length")); got["id"] != id {
		t.Errorf("got %v", got)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodDelete, url+"/v1/conversations/"+id, nil)
	req.Header.Set("X-Sim-Fault", "reset")
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("reset: got %d, want a broken connection", resp.StatusCode)
	}
	// The faulted delete did nothing.
	wantOK(t, do(t, c, http.MethodGet, url+"/v1/conversations/"+id))
}

// rsText is the text of a Responses API answer's first output item.
func rsText(body map[string]any) string {
	s, _ := get(body, "output", 0, "content", 0, "text").(string)
	return s
}

func TestResponsesConversation(t *testing.T) {
	s, url, c := convSim(t)
	ctx := t.Context()
	id := createConv(t, c, url, map[string]any{"items": []any{map[string]any{"role": "user", "content": "My name is Ada."}}})["id"].(string)

	// The conversation is the context before the input: the answer and
	// its input tokens are those of the same items sent inline.
	inline := wantOK(t, post(t, ctx, c, url+"/v1/responses", map[string]any{"model": "sim-small", "input": []any{
		map[string]any{"role": "user", "content": "My name is Ada."}, map[string]any{"role": "user", "content": "And my name?"}}}))
	bare := wantOK(t, post(t, ctx, c, url+"/v1/responses", map[string]any{"model": "sim-small", "input": "And my name?"}))
	got := wantOK(t, post(t, ctx, c, url+"/v1/responses", map[string]any{"model": "sim-small", "input": "And my name?", "conversation": id}))
	if !reflect.DeepEqual(got["conversation"], map[string]any{"id": id}) {
		t.Errorf("got conversation %v, want {id: %s}", got["conversation"], id)
	}
	if _, ok := bare["conversation"]; ok {
		t.Errorf("got conversation %v in a response without one, want none", bare["conversation"])
	}
	if rsText(got) != rsText(inline) || get(got, "usage", "input_tokens") != get(inline, "usage", "input_tokens") {
		t.Errorf("got %q %v tokens, want the inline answer %q %v", rsText(got), get(got, "usage", "input_tokens"), rsText(inline), get(inline, "usage", "input_tokens"))
	}
	if get(got, "usage", "input_tokens").(float64) <= get(bare, "usage", "input_tokens").(float64) || rsText(got) == rsText(bare) {
		t.Errorf("the conversation did not count: %v, without %v", got["usage"], bare["usage"])
	}

	// The input (a user message) and the output were added.
	page, ids := convItems(t, c, url, id, "order=asc")
	data := page["data"].([]any)
	outID := get(got, "output", 0, "id")
	if len(ids) != 3 || !strings.HasPrefix(ids[1], "msg_") || ids[2] != outID ||
		!reflect.DeepEqual(data[1], map[string]any{"id": ids[1], "type": "message", "role": "user", "status": "completed",
			"content": []any{map[string]any{"type": "input_text", "text": "And my name?"}}}) ||
		!reflect.DeepEqual(data[2], get(got, "output", 0)) {
		t.Errorf("got items %v, want the first, the input and the output %v", data, get(got, "output", 0))
	}

	// The object form, and the stored response, carry it too. The second
	// turn reads the first's answer as inline items would.
	inline2 := wantOK(t, post(t, ctx, c, url+"/v1/responses", map[string]any{"model": "sim-small", "input": []any{
		map[string]any{"role": "user", "content": "My name is Ada."}, map[string]any{"role": "user", "content": "And my name?"},
		map[string]any{"role": "assistant", "content": rsText(got)}, map[string]any{"role": "user", "content": "Thanks."}}}))
	got2 := wantOK(t, post(t, ctx, c, url+"/v1/responses", map[string]any{"model": "sim-small",
		"input": []any{map[string]any{"type": "message", "role": "user", "content": "Thanks."}}, "conversation": map[string]any{"id": id}}))
	if !reflect.DeepEqual(got2["conversation"], map[string]any{"id": id}) || rsText(got2) != rsText(inline2) {
		t.Errorf("got %v %q, want conversation %s and %q", got2["conversation"], rsText(got2), id, rsText(inline2))
	}
	stored := wantOK(t, do(t, c, http.MethodGet, url+"/v1/responses/"+got2["id"].(string)))
	if !reflect.DeepEqual(stored["conversation"], map[string]any{"id": id}) {
		t.Errorf("got stored conversation %v", stored["conversation"])
	}
	if _, ids := convItems(t, c, url, id, ""); len(ids) != 5 {
		t.Errorf("got %d items, want 5", len(ids))
	}

	// A streamed answer carries it in response.created and
	// response.completed, and adds its items once completed.
	resp, evs, err := stream(t, ctx, c, url+"/v1/responses", map[string]any{"model": "sim-small", "input": "More?", "conversation": id, "stream": true})
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("stream: %v %d", err, resp.StatusCode)
	}
	var completed map[string]any
	for _, ev := range evs {
		if ev.name != "response.created" && ev.name != "response.completed" {
			continue
		}
		body := eventOf(t, ev.data)
		if !reflect.DeepEqual(get(body, "response", "conversation"), map[string]any{"id": id}) {
			t.Errorf("%s: got conversation %v", ev.name, get(body, "response", "conversation"))
		}
		completed = body
	}
	if _, ids := convItems(t, c, url, id, "limit=1"); completed == nil || len(ids) != 1 || ids[0] != get(completed, "response", "output", 0, "id") {
		t.Errorf("got newest item %v, want the streamed output", ids)
	}

	// A stream that fails adds nothing, nor does a refused request.
	_, _, _ = stream(t, ctx, c, url+"/v1/responses", map[string]any{"model": "sim-small", "input": "Again?", "conversation": id, "stream": true},
		"X-Sim-Fault", "stream_error;after=2")
	wantError(t, post(t, ctx, c, url+"/v1/responses", map[string]any{"model": "sim-small", "input": "Again?", "conversation": id},
		"X-Sim-Fault", "status;status=500"), http.StatusInternalServerError, "server_error", "", "")
	if _, ids := convItems(t, c, url, id, "limit=100"); len(ids) != 7 {
		t.Errorf("got %d items, want 7", len(ids))
	}

	// Errors: an unknown conversation, one with previous_response_id, odd
	// shapes. Each is recorded under the model.
	before := len(s.Calls("sim-small"))
	e := wantError(t, post(t, ctx, c, url+"/v1/responses", map[string]any{"model": "sim-small", "input": "x", "conversation": "conv_nope"}),
		http.StatusNotFound, "invalid_request_error", "conversation", "")
	if e["message"] != "Conversation with id 'conv_nope' not found." {
		t.Errorf("got %v", e)
	}
	wantError(t, post(t, ctx, c, url+"/v1/responses", map[string]any{"model": "sim-small", "input": "x", "conversation": map[string]any{"id": "conv_nope"}}),
		http.StatusNotFound, "invalid_request_error", "conversation", "")
	e = wantError(t, post(t, ctx, c, url+"/v1/responses", map[string]any{"model": "sim-small", "input": "x", "conversation": id, "previous_response_id": bare["id"]}),
		http.StatusBadRequest, "invalid_request_error", "conversation", "")
	if msg, _ := e["message"].(string); !strings.Contains(msg, "previous_response_id") || !strings.Contains(msg, "cannot be used together") {
		t.Errorf("got %q, want it to say previous_response_id and conversation cannot be used together", msg)
	}
	for bad, param := range map[string]string{`7`: "conversation", `""`: "conversation", `{}`: "conversation.id", `{"id":7}`: "conversation.id"} {
		body := `{"model":"sim-small","input":"x","conversation":` + bad + `}`
		wantError(t, sendJSON(t, c, http.MethodPost, url+"/v1/responses", body), http.StatusBadRequest, "invalid_request_error", param, "")
	}
	wantError(t, post(t, ctx, c, url+"/v1/responses", map[string]any{"model": "sim-small", "input": []any{map[string]any{"role": "robot", "content": "x"}}, "conversation": id}),
		http.StatusBadRequest, "invalid_request_error", "input[0].role", "")
	calls := s.Calls("sim-small")[before:]
	if len(calls) != 8 || calls[0].Status != http.StatusNotFound || calls[2].Status != http.StatusBadRequest {
		t.Errorf("got calls %+v, want 8, the first a 404", calls)
	}
	if _, ids := convItems(t, c, url, id, "limit=100"); len(ids) != 7 {
		t.Errorf("got %d items after the errors, want 7", len(ids))
	}
}

func TestResponsesConversationConcurrent(t *testing.T) {
	_, url, c := convSim(t)
	id := createConv(t, c, url, map[string]any{"items": []any{map[string]any{"role": "user", "content": "start"}}})["id"].(string)
	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp := post(t, t.Context(), c, url+"/v1/responses", map[string]any{"model": "sim-small", "input": fmt.Sprint("turn ", i), "conversation": id})
			if resp.StatusCode != http.StatusOK {
				t.Errorf("turn %d: got %d", i, resp.StatusCode)
			}
			resp.Body.Close()
		})
		wg.Go(func() {
			resp := do(t, c, http.MethodGet, url+"/v1/conversations/"+id+"/items")
			resp.Body.Close()
		})
	}
	wg.Wait()
	if _, ids := convItems(t, c, url, id, "limit=100"); len(ids) != 1+2*n {
		t.Errorf("got %d items, want %d", len(ids), 1+2*n)
	}
}

func TestConversationSDK(t *testing.T) {
	_, url, c := convSim(t)
	oa := openai.NewClient(oaoption.WithBaseURL(url+"/v1"), oaoption.WithAPIKey("sk-test"),
		oaoption.WithMaxRetries(0), oaoption.WithHTTPClient(c))
	ctx := t.Context()

	conv, err := oa.Conversations.New(ctx, conversations.ConversationNewParams{
		Items: []responses.ResponseInputItemUnionParam{
			responses.ResponseInputItemParamOfMessage("My name is Ada.", responses.EasyInputMessageRoleUser),
			responses.ResponseInputItemParamOfMessage("Hello Ada.", responses.EasyInputMessageRoleAssistant),
		},
		Metadata: shared.Metadata{"topic": "names"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !convIDPattern.MatchString(conv.ID) || conv.CreatedAt != videoT0.Unix() || conv.Object != "conversation" ||
		!reflect.DeepEqual(conv.Metadata, map[string]any{"topic": "names"}) {
		t.Errorf("got %+v", conv)
	}
	got, err := oa.Conversations.Get(ctx, conv.ID)
	if err != nil || got.ID != conv.ID || got.CreatedAt != conv.CreatedAt {
		t.Errorf("get: %+v %v", got, err)
	}

	page, err := oa.Conversations.Items.List(ctx, conv.ID, conversations.ItemListParams{Order: conversations.ItemListParamsOrderAsc})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 2 || page.HasMore {
		t.Fatalf("got %+v, want 2 items", page.Data)
	}
	m := page.Data[0].AsMessage()
	a := page.Data[1].AsMessage()
	if m.Role != "user" || m.Status != "completed" || len(m.Content) != 1 || m.Content[0].Type != "input_text" || m.Content[0].Text != "My name is Ada." ||
		a.Role != "assistant" || a.Content[0].Type != "output_text" || a.Content[0].Text != "Hello Ada." {
		t.Errorf("got %+v and %+v", m, a)
	}

	// A response in the conversation, by id and by object.
	resp, err := oa.Responses.New(ctx, responses.ResponseNewParams{Model: "sim-small",
		Input:        responses.ResponseNewParamsInputUnion{OfString: openai.String("And my name?")},
		Conversation: responses.ResponseNewParamsConversationUnion{OfString: openai.String(conv.ID)}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Conversation.ID != conv.ID || resp.OutputText() == "" {
		t.Errorf("got conversation %q text %q, want %s", resp.Conversation.ID, resp.OutputText(), conv.ID)
	}
	resp2, err := oa.Responses.New(ctx, responses.ResponseNewParams{Model: "sim-small",
		Input:        responses.ResponseNewParamsInputUnion{OfString: openai.String("Thanks.")},
		Conversation: responses.ResponseNewParamsConversationUnion{OfConversationObject: &responses.ResponseConversationParam{ID: conv.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	if resp2.Conversation.ID != conv.ID {
		t.Errorf("got conversation %q, want %s", resp2.Conversation.ID, conv.ID)
	}
	plain, err := oa.Responses.New(ctx, responses.ResponseNewParams{Model: "sim-small",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Thanks.")}})
	if err != nil || plain.Conversation.ID != "" || plain.JSON.Conversation.Valid() {
		t.Errorf("got conversation %+v (%v), want none", plain.Conversation, err)
	}

	// Every item, in pages of two: the two given, then each turn's input
	// and output.
	var texts []string
	iter := oa.Conversations.Items.ListAutoPaging(ctx, conv.ID, conversations.ItemListParams{Limit: openai.Int(2), Order: conversations.ItemListParamsOrderAsc})
	for iter.Next() {
		msg := iter.Current().AsMessage()
		texts = append(texts, string(msg.Role)+": "+msg.Content[0].Text)
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"user: My name is Ada.", "assistant: Hello Ada.", "user: And my name?", "assistant: " + resp.OutputText(),
		"user: Thanks.", "assistant: " + resp2.OutputText()}
	if !reflect.DeepEqual(texts, want) {
		t.Errorf("got %q, want %q", texts, want)
	}

	// Add, get and delete an item; update and delete the conversation.
	added, err := oa.Conversations.Items.New(ctx, conv.ID, conversations.ItemNewParams{Items: []responses.ResponseInputItemUnionParam{
		responses.ResponseInputItemParamOfMessage("One more.", responses.EasyInputMessageRoleUser)}})
	if err != nil || len(added.Data) != 1 || added.FirstID != added.Data[0].ID || added.LastID != added.Data[0].ID {
		t.Fatalf("add: %+v %v", added, err)
	}
	item, err := oa.Conversations.Items.Get(ctx, conv.ID, added.FirstID, conversations.ItemGetParams{})
	if err != nil || item.ID != added.FirstID || item.AsMessage().Content[0].Text != "One more." {
		t.Errorf("get item: %+v %v", item, err)
	}
	after, err := oa.Conversations.Items.Delete(ctx, conv.ID, added.FirstID)
	if err != nil || after.ID != conv.ID {
		t.Errorf("delete item: %+v %v", after, err)
	}
	updated, err := oa.Conversations.Update(ctx, conv.ID, conversations.ConversationUpdateParams{Metadata: shared.Metadata{"topic": "done"}})
	if err != nil || !reflect.DeepEqual(updated.Metadata, map[string]any{"topic": "done"}) {
		t.Errorf("update: %+v %v", updated, err)
	}
	deleted, err := oa.Conversations.Delete(ctx, conv.ID)
	if err != nil || !deleted.Deleted || deleted.ID != conv.ID || deleted.Object != "conversation.deleted" {
		t.Errorf("delete: %+v %v", deleted, err)
	}
	_, err = oa.Conversations.Get(ctx, conv.ID)
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || apiErr.Message != "Conversation with id '"+conv.ID+"' not found." {
		t.Errorf("get after delete: %v, want a 404", err)
	}
	_, err = oa.Responses.New(ctx, responses.ResponseNewParams{Model: "sim-small",
		Input:        responses.ResponseNewParamsInputUnion{OfString: openai.String("Hello?")},
		Conversation: responses.ResponseNewParamsConversationUnion{OfString: openai.String(conv.ID)}})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || apiErr.Param != "conversation" {
		t.Errorf("response in a deleted conversation: %v, want a 404 on param conversation", err)
	}

	// Streamed: response.created and response.completed name it.
	conv2, err := oa.Conversations.New(ctx, conversations.ConversationNewParams{})
	if err != nil {
		t.Fatal(err)
	}
	st := oa.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: "sim-small",
		Input:        responses.ResponseNewParamsInputUnion{OfString: openai.String("Stream it.")},
		Conversation: responses.ResponseNewParamsConversationUnion{OfString: openai.String(conv2.ID)}})
	defer st.Close()
	var seen []string
	for st.Next() {
		ev := st.Current()
		if ev.Type == "response.created" || ev.Type == "response.completed" {
			seen = append(seen, ev.Type+" "+ev.Response.Conversation.ID)
		}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"response.created " + conv2.ID, "response.completed " + conv2.ID}; !reflect.DeepEqual(seen, want) {
		t.Errorf("got %q, want %q", seen, want)
	}
	page, err = oa.Conversations.Items.List(ctx, conv2.ID, conversations.ItemListParams{})
	if err != nil || len(page.Data) != 2 || page.Data[0].Role != "assistant" || page.Data[1].Role != "user" {
		t.Errorf("got %+v %v, want the output then the input, newest first", page, err)
	}
}
