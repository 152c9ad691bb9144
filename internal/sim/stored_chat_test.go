package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/openai/openai-go/v3"
	oaoption "github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
)

// chatSim starts a simulator on a manual clock (so that a streamed and a
// plain answer share their created time) serving models m and n, with
// an SDK client for it.
func chatSim(t *testing.T) (*Server, string, *http.Client, openai.Client) {
	t.Helper()
	clock := clocktest.New(videoT0)
	s, url, c := startSim(t, Config{Models: []Model{testModel("m"), testModel("n")}}, WithClock(clock.Now))
	oa := openai.NewClient(oaoption.WithBaseURL(url+"/v1"), oaoption.WithAPIKey("sk-test"),
		oaoption.WithMaxRetries(0), oaoption.WithHTTPClient(c))
	return s, url, c, oa
}

// storeChat makes a chat completion with store: true and the fields kv,
// which must succeed, and returns the answer.
func storeChat(t *testing.T, c *http.Client, url, model, text string, kv ...any) map[string]any {
	t.Helper()
	body := with(oaChat(model, text), append([]any{"store", true}, kv...)...)
	return wantOK(t, post(t, t.Context(), c, url+"/v1/chat/completions", body))
}

// getChat gets a stored completion, which must be kept.
func getChat(t *testing.T, c *http.Client, url, id string) map[string]any {
	t.Helper()
	return wantOK(t, do(t, c, http.MethodGet, url+"/v1/chat/completions/"+id))
}

// wantChatNotFound checks the exact 404 of a completion not kept.
func wantChatNotFound(t *testing.T, resp *http.Response, id string) {
	t.Helper()
	body := decode(t, resp)
	want := map[string]any{"error": map[string]any{
		"message": "Completion with id '" + id + "' not found.", "type": "invalid_request_error", "param": nil, "code": nil,
	}}
	if resp.StatusCode != http.StatusNotFound || !reflect.DeepEqual(body, want) {
		t.Errorf("got %d %v, want 404 %v", resp.StatusCode, body, want)
	}
}

// chatList lists stored completions (or, with a path, what it names) with
// a query, which must succeed, and returns the page and its ids.
func chatList(t *testing.T, c *http.Client, url, query string) (map[string]any, []string) {
	t.Helper()
	page := wantOK(t, do(t, c, http.MethodGet, url+"/v1/chat/completions"+query))
	return page, dataIDs(page)
}

// wantPage checks a list page's ids, first_id, last_id and has_more.
func wantPage(t *testing.T, page map[string]any, ids, want []string, more bool) {
	t.Helper()
	var first, last any
	if len(want) > 0 {
		first, last = want[0], want[len(want)-1]
	}
	if !slices.Equal(ids, want) || page["object"] != "list" || page["first_id"] != first || page["last_id"] != last || page["has_more"] != more {
		t.Errorf("got ids %v, page %v; want %v, has_more %v", ids, without(page, "data"), want, more)
	}
}

func TestStoredChatGet(t *testing.T) {
	s, url, c, _ := chatSim(t)
	ans := storeChat(t, c, url, "m", "hello store", "metadata", map[string]any{"topic": "a", "user": "ann"})
	id := ans["id"].(string)
	if got, want := getChat(t, c, url, id), with(ans, "metadata", map[string]any{"topic": "a", "user": "ann"}); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	plain := storeChat(t, c, url, "m", "no metadata")
	if got, want := getChat(t, c, url, plain["id"].(string)), with(plain, "metadata", map[string]any{}); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	if _, ok := ans["metadata"]; ok {
		t.Errorf("got metadata in the create's answer %v, want the answer unchanged", ans)
	}
	if n := len(s.Calls("m")); n != 2 {
		t.Errorf("got %d calls recorded, want the 2 creates only", n)
	}
}

func TestStoredChatStream(t *testing.T) {
	_, url, c, _ := chatSim(t)
	ctx := t.Context()
	tools := []any{map[string]any{"type": "function", "function": map[string]any{
		"name": "get_weather", "parameters": map[string]any{"type": "object", "properties": weatherSchema},
	}}}
	tests := []struct {
		name string
		body map[string]any
	}{
		{"text", oaChat("m", "stream me")},
		{"text with usage", with(oaChat("m", "stream me"), "stream_options", map[string]any{"include_usage": true})},
		{"tool call", with(oaChat("n", "weather?"), "tools", tools)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := with(tt.body, "metadata", map[string]any{"via": "stream"})
			plain := wantOK(t, post(t, ctx, c, url+"/v1/chat/completions", without(body, "stream_options")))
			resp, evs, err := stream(t, ctx, c, url+"/v1/chat/completions", with(body, "store", true))
			if err != nil || resp.StatusCode != http.StatusOK || len(evs) == 0 || evs[len(evs)-1].data != "[DONE]" {
				t.Fatalf("stream: %d %v, %d events", resp.StatusCode, err, len(evs))
			}
			// What the chunks add up to.
			var id, callID, content, args, finish string
			for _, e := range evs[:len(evs)-1] {
				var ch map[string]any
				if err := json.Unmarshal([]byte(e.data), &ch); err != nil {
					t.Fatal(err)
				}
				id = ch["id"].(string)
				if s, ok := get(ch, "choices", 0, "delta", "content").(string); ok {
					content += s
				}
				if s, ok := get(ch, "choices", 0, "delta", "tool_calls", 0, "id").(string); ok {
					callID = s
				}
				if s, ok := get(ch, "choices", 0, "delta", "tool_calls", 0, "function", "arguments").(string); ok {
					args += s
				}
				if s, ok := get(ch, "choices", 0, "finish_reason").(string); ok {
					finish = s
				}
			}
			got := getChat(t, c, url, id)
			msg := get(got, "choices", 0, "message")
			if callID == "" && get(msg, "content") != content || callID != "" && get(msg, "tool_calls", 0, "function", "arguments") != args ||
				get(got, "choices", 0, "finish_reason") != finish {
				t.Errorf("got %v, want the chunks' content %q arguments %q finish %q", got, content, args, finish)
			}
			// As the plain answer to the same request, but for its ids.
			want := with(plain, "id", id, "metadata", map[string]any{"via": "stream"})
			if callID != "" {
				get(want, "choices", 0, "message", "tool_calls", 0).(map[string]any)["id"] = callID
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %v\nwant %v", got, want)
			}
		})
	}

	t.Run("cut short", func(t *testing.T) {
		resp, evs, err := stream(t, ctx, c, url+"/v1/chat/completions", with(oaChat("m", "fail me"), "store", true), "X-Sim-Fault", "stream_error;after=2")
		if err != nil || resp.StatusCode != http.StatusOK || len(evs) == 0 {
			t.Fatalf("stream: %d %v", resp.StatusCode, err)
		}
		var ch map[string]any
		if err := json.Unmarshal([]byte(evs[0].data), &ch); err != nil {
			t.Fatal(err)
		}
		wantChatNotFound(t, do(t, c, http.MethodGet, url+"/v1/chat/completions/"+ch["id"].(string)), ch["id"].(string))
	})
}

func TestStoredChatNotKept(t *testing.T) {
	_, url, c, _ := chatSim(t)
	ctx := t.Context()
	for _, body := range []map[string]any{
		oaChat("m", "absent"),
		with(oaChat("m", "false"), "store", false),
		with(oaChat("m", "false with metadata"), "store", false, "metadata", map[string]any{"a": "b"}),
	} {
		ans := wantOK(t, post(t, ctx, c, url+"/v1/chat/completions", body))
		id := ans["id"].(string)
		wantChatNotFound(t, do(t, c, http.MethodGet, url+"/v1/chat/completions/"+id), id)
		wantChatNotFound(t, do(t, c, http.MethodGet, url+"/v1/chat/completions/"+id+"/messages"), id)
	}
	resp, evs, err := stream(t, ctx, c, url+"/v1/chat/completions", oaChat("m", "streamed"))
	if err != nil || resp.StatusCode != http.StatusOK || len(evs) == 0 {
		t.Fatalf("stream: %d %v", resp.StatusCode, err)
	}
	// Refused requests keep nothing either.
	wantError(t, post(t, ctx, c, url+"/v1/chat/completions", with(oaChat("nope", "x"), "store", true)), http.StatusNotFound, "invalid_request_error", "", "model_not_found")
	wantError(t, post(t, ctx, c, url+"/v1/chat/completions", with(oaChat("m", "x"), "store", true), "X-Sim-Fault", "status;status=500"), http.StatusInternalServerError, "server_error", "", "")
	page, ids := chatList(t, c, url, "")
	wantPage(t, page, ids, nil, false)
}

func TestStoredChatCreateValidation(t *testing.T) {
	s, url, c, _ := chatSim(t)
	ctx := t.Context()
	many := map[string]any{}
	for i := range 17 {
		many[fmt.Sprint("k", i)] = "v"
	}
	tests := []struct {
		name  string
		body  map[string]any
		param string
	}{
		{"metadata not an object", with(oaChat("m", "x"), "store", true, "metadata", "tag"), "metadata"},
		{"metadata an array", with(oaChat("m", "x"), "store", true, "metadata", []any{"a"}), "metadata"},
		{"too many keys", with(oaChat("m", "x"), "store", true, "metadata", many), "metadata"},
		{"key too long", with(oaChat("m", "x"), "store", true, "metadata", map[string]any{strings.Repeat("k", 65): "v"}), "metadata"},
		{"value too long", with(oaChat("m", "x"), "store", true, "metadata", map[string]any{"k": strings.Repeat("v", 513)}), "metadata"},
		{"value not a string", with(oaChat("m", "x"), "store", true, "metadata", map[string]any{"k": 1}), "metadata"},
		{"bad metadata without store", with(oaChat("m", "x"), "metadata", map[string]any{"k": true}), "metadata"},
		{"store not a boolean", with(oaChat("m", "x"), "store", "yes"), ""},
		{"no messages", with(oaChat("m", "x"), "store", true, "messages", []any{}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, post(t, ctx, c, url+"/v1/chat/completions", tt.body), http.StatusBadRequest, "invalid_request_error", tt.param, "")
		})
	}
	// At the limits, metadata is fine.
	full := map[string]any{strings.Repeat("k", 64): strings.Repeat("v", 512)}
	for i := range 15 {
		full[fmt.Sprint("k", i)] = "é"
	}
	ans := storeChat(t, c, url, "m", "x", "metadata", full)
	if got := getChat(t, c, url, ans["id"].(string)); !reflect.DeepEqual(got["metadata"], full) {
		t.Errorf("got metadata %v, want %v", got["metadata"], full)
	}
	if _, ids := chatList(t, c, url, ""); !slices.Equal(ids, []string{ans["id"].(string)}) {
		t.Errorf("got stored %v, want the valid one alone", ids)
	}
	// The body that could not be read is recorded under no model.
	calls := s.Calls("m")
	if len(calls) != len(tests) || calls[0].Status != http.StatusBadRequest || len(s.Calls("")) != 1 {
		t.Errorf("got calls %+v and %+v, want %d under m, the refused ones 400, and one under no model", calls, s.Calls(""), len(tests))
	}
}

func TestStoredChatUpdateDelete(t *testing.T) {
	_, url, c, _ := chatSim(t)
	ans := storeChat(t, c, url, "m", "update me", "metadata", map[string]any{"old": "1"})
	id := ans["id"].(string)
	base := url + "/v1/chat/completions/" + id

	upd := wantOK(t, sendJSON(t, c, http.MethodPost, base, `{"metadata":{"x":"1","y":"2"}}`))
	if want := with(ans, "metadata", map[string]any{"x": "1", "y": "2"}); !reflect.DeepEqual(upd, want) {
		t.Errorf("got %v\nwant %v", upd, want)
	}
	if got := getChat(t, c, url, id); !reflect.DeepEqual(got, upd) {
		t.Errorf("got %v after update, want %v", got, upd)
	}
	upd = wantOK(t, sendJSON(t, c, http.MethodPost, base, `{"metadata":{"z":"3"}}`))
	if got := upd["metadata"]; !reflect.DeepEqual(got, map[string]any{"z": "3"}) {
		t.Errorf("got metadata %v, want it replaced whole by {z: 3}", got)
	}
	upd = wantOK(t, sendJSON(t, c, http.MethodPost, base, `{"metadata":{}}`))
	if got := upd["metadata"]; !reflect.DeepEqual(got, map[string]any{}) {
		t.Errorf("got metadata %v, want {}", got)
	}

	for _, tt := range []struct{ body, param string }{
		{`{}`, "metadata"},
		{`{"metadata":null}`, "metadata"},
		{`{"metadata":"x"}`, "metadata"},
		{`{"metadata":{"k":2}}`, "metadata"},
		{`{"metadata":{"k":"` + strings.Repeat("v", 513) + `"}}`, "metadata"},
		{`{"metadata":{},"model":"m"}`, ""},
		{`{"metadata":`, ""},
		{`[]`, ""},
	} {
		wantError(t, sendJSON(t, c, http.MethodPost, base, tt.body), http.StatusBadRequest, "invalid_request_error", tt.param, "")
	}
	wantChatNotFound(t, sendJSON(t, c, http.MethodPost, url+"/v1/chat/completions/chatcmpl-nope", `{"metadata":{}}`), "chatcmpl-nope")

	del := wantOK(t, do(t, c, http.MethodDelete, base))
	if want := map[string]any{"object": "chat.completion.deleted", "id": id, "deleted": true}; !reflect.DeepEqual(del, want) {
		t.Errorf("got %v, want %v", del, want)
	}
	wantChatNotFound(t, do(t, c, http.MethodGet, base), id)
	wantChatNotFound(t, do(t, c, http.MethodGet, base+"/messages"), id)
	wantChatNotFound(t, sendJSON(t, c, http.MethodPost, base, `{"metadata":{}}`), id)
	wantChatNotFound(t, do(t, c, http.MethodDelete, base), id)
	if _, ids := chatList(t, c, url, ""); len(ids) != 0 {
		t.Errorf("got %v listed after the delete, want none", ids)
	}
}

func TestStoredChatList(t *testing.T) {
	_, url, c, _ := chatSim(t)
	md := func(kv ...string) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	var ids []string
	for i, x := range []struct {
		model string
		md    map[string]any
	}{
		{"m", md("env", "prod", "team", "a")},
		{"n", md("env", "prod")},
		{"m", md("env", "dev", "team", "a")},
		{"m", md()},
		{"n", md("env", "prod", "team", "a")},
	} {
		ids = append(ids, storeChat(t, c, url, x.model, fmt.Sprint("prompt ", i), "metadata", x.md)["id"].(string))
	}
	pick := func(is ...int) []string {
		var out []string
		for _, i := range is {
			out = append(out, ids[i])
		}
		return out
	}

	page, got := chatList(t, c, url, "")
	wantPage(t, page, got, ids, false)
	for i, obj := range page["data"].([]any) {
		if want := getChat(t, c, url, ids[i]); !reflect.DeepEqual(obj, want) {
			t.Errorf("got listed %v\nwant %v", obj, want)
		}
	}
	tests := []struct {
		query string
		want  []string
		more  bool
	}{
		{"?order=asc", ids, false},
		{"?order=desc", pick(4, 3, 2, 1, 0), false},
		{"?model=m", pick(0, 2, 3), false},
		{"?model=n&order=desc", pick(4, 1), false},
		{"?model=zzz", nil, false},
		{"?metadata[env]=prod", pick(0, 1, 4), false},
		{"?metadata%5Benv%5D=prod&metadata%5Bteam%5D=a", pick(0, 4), false},
		{"?metadata[env]=prod&metadata[team]=a&model=n", pick(4), false},
		{"?metadata[team]=b", nil, false},
		{"?limit=2", pick(0, 1), true},
		{"?limit=2&after=" + ids[1], pick(2, 3), true},
		{"?limit=2&after=" + ids[3], pick(4), false},
		{"?limit=2&after=" + ids[4], nil, false},
		{"?limit=2&order=desc&after=" + ids[3], pick(2, 1), true},
		{"?model=m&after=" + ids[1], pick(2, 3), false},
		{"?model=m&limit=2", pick(0, 2), true},
		{"?model=m&limit=3", pick(0, 2, 3), false},
		{"?limit=100", ids, false},
	}
	for _, tt := range tests {
		page, got := chatList(t, c, url, tt.query)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.query, got, tt.want)
		}
		wantPage(t, page, got, tt.want, tt.more)
	}

	for _, tt := range []struct{ query, param string }{
		{"?limit=0", "limit"},
		{"?limit=101", "limit"},
		{"?limit=x", "limit"},
		{"?order=up", "order"},
		{"?after=chatcmpl-nope", "after"},
	} {
		wantError(t, do(t, c, http.MethodGet, url+"/v1/chat/completions"+tt.query), http.StatusBadRequest, "invalid_request_error", tt.param, "")
	}
}

func TestStoredChatMessages(t *testing.T) {
	_, url, c, _ := chatSim(t)
	parts := []any{
		map[string]any{"type": "text", "text": "what is this?"},
		map[string]any{"type": "image_url", "image_url": map[string]any{"url": "https://example.com/cat.png"}},
	}
	calls := []any{map[string]any{"id": "call_1", "type": "function", "function": map[string]any{"name": "look", "arguments": "{}"}}}
	msgs := []any{
		map[string]any{"role": "system", "content": "be brief"},
		map[string]any{"role": "user", "content": parts},
		map[string]any{"role": "assistant", "content": nil, "tool_calls": calls},
		map[string]any{"role": "tool", "content": "a cat", "tool_call_id": "call_1"},
		map[string]any{"role": "user", "content": "thanks", "name": "ann"},
	}
	ans := wantOK(t, post(t, t.Context(), c, url+"/v1/chat/completions", map[string]any{"model": "m", "messages": msgs, "store": true}))
	id := ans["id"].(string)
	base := "/" + id + "/messages"
	mid := func(i int) string { return fmt.Sprintf("%s-%d", id, i) }
	want := []any{
		map[string]any{"id": mid(0), "role": "system", "content": "be brief", "name": nil, "content_parts": nil},
		map[string]any{"id": mid(1), "role": "user", "content": nil, "name": nil, "content_parts": parts},
		map[string]any{"id": mid(2), "role": "assistant", "content": nil, "name": nil, "content_parts": nil, "tool_calls": calls},
		map[string]any{"id": mid(3), "role": "tool", "content": "a cat", "name": nil, "content_parts": nil, "tool_call_id": "call_1"},
		map[string]any{"id": mid(4), "role": "user", "content": "thanks", "name": "ann", "content_parts": nil},
	}
	page, got := chatList(t, c, url, base)
	wantPage(t, page, got, []string{mid(0), mid(1), mid(2), mid(3), mid(4)}, false)
	if !reflect.DeepEqual(page["data"], want) {
		t.Errorf("got messages %v\nwant %v", page["data"], want)
	}
	tests := []struct {
		query string
		want  []string
		more  bool
	}{
		{"?order=asc", []string{mid(0), mid(1), mid(2), mid(3), mid(4)}, false},
		{"?order=desc", []string{mid(4), mid(3), mid(2), mid(1), mid(0)}, false},
		{"?limit=2", []string{mid(0), mid(1)}, true},
		{"?limit=2&after=" + mid(1), []string{mid(2), mid(3)}, true},
		{"?limit=2&after=" + mid(3), []string{mid(4)}, false},
		{"?after=" + mid(4), nil, false},
		{"?limit=2&order=desc&after=" + mid(3), []string{mid(2), mid(1)}, true},
	}
	for _, tt := range tests {
		page, got := chatList(t, c, url, base+tt.query)
		wantPage(t, page, got, tt.want, tt.more)
	}
	for _, tt := range []struct{ query, param string }{
		{"?limit=0", "limit"},
		{"?limit=101", "limit"},
		{"?order=sideways", "order"},
		{"?after=" + id + "-9", "after"},
	} {
		wantError(t, do(t, c, http.MethodGet, url+"/v1/chat/completions"+base+tt.query), http.StatusBadRequest, "invalid_request_error", tt.param, "")
	}
	wantChatNotFound(t, do(t, c, http.MethodGet, url+"/v1/chat/completions/chatcmpl-nope/messages"), "chatcmpl-nope")
}

func TestStoredChatFaults(t *testing.T) {
	s, url, c, _ := chatSim(t)
	id := storeChat(t, c, url, "m", "fault me")["id"].(string)
	base := url + "/v1/chat/completions"
	send := func(method, u, body, fault string) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, u, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Sim-Fault", fault)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	faulted := []struct{ method, url, body string }{
		{http.MethodGet, base, ""},
		{http.MethodGet, base + "/" + id, ""},
		{http.MethodPost, base + "/" + id, `{"metadata":{"a":"b"}}`},
		{http.MethodGet, base + "/" + id + "/messages", ""},
		{http.MethodDelete, base + "/" + id, ""},
	}
	for _, tt := range faulted {
		resp := send(tt.method, tt.url, tt.body, "status;status=429;retry_after=2s")
		if ra := resp.Header.Get("Retry-After"); ra != "2" {
			t.Errorf("%s %s: got Retry-After %q, want 2", tt.method, tt.url, ra)
		}
		wantError(t, resp, http.StatusTooManyRequests, "requests", "", "rate_limit_exceeded")
		wantError(t, send(tt.method, tt.url, tt.body, "bogus"), http.StatusBadRequest, "invalid_request_error", "", "")
	}
	// The faulted update and delete changed nothing.
	if got := getChat(t, c, url, id); !reflect.DeepEqual(got["metadata"], map[string]any{}) {
		t.Errorf("got metadata %v, want {}", got["metadata"])
	}
	// A fault with nothing to act on is ignored.
	for _, tt := range faulted {
		resp := send(tt.method, tt.url, tt.body, "stall;after=1")
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s %s: got %d under a stall, want 200", tt.method, tt.url, resp.StatusCode)
		}
		decode(t, resp)
	}
	wantChatNotFound(t, do(t, c, http.MethodGet, base+"/"+id), id)
	if n := len(s.Calls("m")); n != 1 {
		t.Errorf("got %d calls recorded, want the create alone", n)
	}
}

func TestStoredChatBounded(t *testing.T) {
	s, url, c, _ := chatSim(t)
	first := storeChat(t, c, url, "m", "oldest")["id"].(string)
	for i := range maxStoredChats - 1 {
		fid := fmt.Sprint("chatcmpl-filler", i)
		s.chats.put(&storedChat{id: fid, model: "m", body: mustJSON(map[string]any{"id": fid, "object": "chat.completion"})})
	}
	if _, ids := chatList(t, c, url, "?limit=1"); !slices.Equal(ids, []string{first}) {
		t.Errorf("got first %v, want %s", ids, first)
	}
	newest := storeChat(t, c, url, "m", "newest")["id"].(string)
	wantChatNotFound(t, do(t, c, http.MethodGet, url+"/v1/chat/completions/"+first), first)
	if _, ids := chatList(t, c, url, "?limit=1"); !slices.Equal(ids, []string{"chatcmpl-filler0"}) {
		t.Errorf("got first %v, want the oldest filler", ids)
	}
	if _, ids := chatList(t, c, url, "?limit=1&order=desc"); !slices.Equal(ids, []string{newest}) {
		t.Errorf("got last %v, want %s", ids, newest)
	}
	s.chats.mu.Lock()
	n, m := len(s.chats.order), len(s.chats.byID)
	s.chats.mu.Unlock()
	if n != maxStoredChats || m != maxStoredChats {
		t.Errorf("got %d ordered, %d by id, want %d", n, m, maxStoredChats)
	}
}

func TestStoredChatConcurrent(t *testing.T) {
	_, url, c, _ := chatSim(t)
	const workers, each = 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*3)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				b := mustJSON(with(oaChat("m", fmt.Sprint("worker ", w, " call ", i)), "store", true, "metadata", map[string]any{"w": fmt.Sprint(w)}))
				resp, err := c.Post(url+"/v1/chat/completions", "application/json", bytes.NewReader(b))
				if err != nil {
					errs <- err
					return
				}
				var ans map[string]any
				err = json.NewDecoder(resp.Body).Decode(&ans)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("create: %d %v", resp.StatusCode, err)
					return
				}
				id, _ := ans["id"].(string)
				for _, u := range []string{"", "/" + id, "/" + id + "/messages"} {
					resp, err := c.Get(url + "/v1/chat/completions" + u)
					if err != nil {
						errs <- err
						return
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						errs <- fmt.Errorf("GET %s: %d", u, resp.StatusCode)
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for w := range workers {
		if _, ids := chatList(t, c, url, fmt.Sprintf("?metadata[w]=%d", w)); len(ids) != each {
			t.Errorf("worker %d: got %d stored, want %d", w, len(ids), each)
		}
	}
}

func TestStoredChatSDK(t *testing.T) {
	_, _, _, oa := chatSim(t)
	ctx := t.Context()
	params := func(model, text string, md shared.Metadata) openai.ChatCompletionNewParams {
		return openai.ChatCompletionNewParams{
			Model:    model,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("be brief"), openai.UserMessage(text)},
			Store:    openai.Bool(true),
			Metadata: md,
		}
	}
	first, err := oa.Chat.Completions.New(ctx, params("m", "hello sdk", shared.Metadata{"k": "v"}))
	if err != nil {
		t.Fatal(err)
	}
	got, err := oa.Chat.Completions.Get(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != first.ID || got.Choices[0].Message.Content != first.Choices[0].Message.Content || got.Usage.RawJSON() != first.Usage.RawJSON() ||
		got.Created != first.Created || got.Model != "m" || !reflect.DeepEqual(got.Metadata, shared.Metadata{"k": "v"}) {
		t.Errorf("got %+v, want %+v with metadata k=v", got, first)
	}

	upd, err := oa.Chat.Completions.Update(ctx, first.ID, openai.ChatCompletionUpdateParams{Metadata: shared.Metadata{"k": "w", "x": "y"}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(upd.Metadata, shared.Metadata{"k": "w", "x": "y"}) || upd.ID != first.ID {
		t.Errorf("got updated %s %v, want k=w x=y", upd.ID, upd.Metadata)
	}

	st := oa.Chat.Completions.NewStreaming(ctx, params("n", "stream sdk", shared.Metadata{"k": "w"}))
	var acc openai.ChatCompletionAccumulator
	for st.Next() {
		acc.AddChunk(st.Current())
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	st.Close()
	streamed, err := oa.Chat.Completions.Get(ctx, acc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if streamed.Choices[0].Message.Content != acc.Choices[0].Message.Content || streamed.Choices[0].FinishReason != "stop" || streamed.Usage.CompletionTokens != 8 {
		t.Errorf("got %+v, want %q, stop, 8 tokens", streamed, acc.Choices[0].Message.Content)
	}
	third, err := oa.Chat.Completions.New(ctx, params("m", "third", nil))
	if err != nil {
		t.Fatal(err)
	}

	list, err := oa.Chat.Completions.List(ctx, openai.ChatCompletionListParams{Model: openai.String("m")})
	if err != nil {
		t.Fatal(err)
	}
	if ids := sdkIDs(list.Data); !slices.Equal(ids, []string{first.ID, third.ID}) || list.HasMore {
		t.Errorf("got %v (more %v), want the two of m", ids, list.HasMore)
	}
	list, err = oa.Chat.Completions.List(ctx, openai.ChatCompletionListParams{Metadata: shared.Metadata{"k": "w"}, Order: openai.ChatCompletionListParamsOrderDesc})
	if err != nil {
		t.Fatal(err)
	}
	if ids := sdkIDs(list.Data); !slices.Equal(ids, []string{acc.ID, first.ID}) {
		t.Errorf("got %v, want those with k=w, newest first", ids)
	}
	var all []string
	pager := oa.Chat.Completions.ListAutoPaging(ctx, openai.ChatCompletionListParams{Limit: openai.Int(1)})
	for pager.Next() {
		all = append(all, pager.Current().ID)
	}
	if err := pager.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(all, []string{first.ID, acc.ID, third.ID}) {
		t.Errorf("got paged %v, want all three oldest first", all)
	}

	msgs, err := oa.Chat.Completions.Messages.List(ctx, first.ID, openai.ChatCompletionMessageListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs.Data) != 2 || msgs.Data[0].ID != first.ID+"-0" || msgs.Data[0].Content != "be brief" ||
		msgs.Data[1].ID != first.ID+"-1" || msgs.Data[1].Content != "hello sdk" || string(msgs.Data[1].Role) != "user" || msgs.HasMore {
		t.Errorf("got messages %+v", msgs.Data)
	}
	desc, err := oa.Chat.Completions.Messages.List(ctx, first.ID, openai.ChatCompletionMessageListParams{
		Limit: openai.Int(1), Order: openai.ChatCompletionMessageListParamsOrderDesc})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.Data) != 1 || desc.Data[0].ID != first.ID+"-1" || !desc.HasMore {
		t.Errorf("got %+v, want the last message and more", desc)
	}

	del, err := oa.Chat.Completions.Delete(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !del.Deleted || del.ID != first.ID || del.Object != "chat.completion.deleted" {
		t.Errorf("got %+v, want deleted %s", del, first.ID)
	}
	_, err = oa.Chat.Completions.Get(ctx, first.ID)
	wantAPIError(t, err, http.StatusNotFound, "", "Completion with id '"+first.ID+"' not found.")
	_, err = oa.Chat.Completions.Messages.List(ctx, first.ID, openai.ChatCompletionMessageListParams{})
	wantAPIError(t, err, http.StatusNotFound, "", "not found")
	_, err = oa.Chat.Completions.New(ctx, params("m", "bad", shared.Metadata{"k": strings.Repeat("v", 513)}))
	wantAPIError(t, err, http.StatusBadRequest, "", "string too long")
}

// sdkIDs are the ids of SDK completions.
func sdkIDs(cs []openai.ChatCompletion) []string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}
