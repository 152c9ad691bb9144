package sim

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"github.com/openai/openai-go/v3"
	oaoption "github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/realtime"
)

const rtName = "gpt-realtime"

// rtTestModel is a fast realtime model for tests, with faults.
func rtTestModel(faults ...Fault) Model {
	return Model{Name: rtName, OutputTokens: 8, ContextWindow: 4000, Faults: faults}
}

func rtURL(base, model string) string { return base + "/v1/realtime?model=" + url.QueryEscape(model) }

// rtClient is a test's end of a realtime session.
type rtClient struct {
	t    *testing.T
	conn *websocket.Conn
	ids  map[string]bool // event_ids seen
}

// rtDial opens a session and checks that its first event is
// session.created, which it returns. The socket is closed when the test ends.
func rtDial(t *testing.T, c *http.Client, base string, opts *websocket.DialOptions) (*rtClient, map[string]any) {
	t.Helper()
	if opts == nil {
		opts = &websocket.DialOptions{}
	}
	opts.HTTPClient = c
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, rtURL(base, rtName), opts)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.CloseNow() })
	conn.SetReadLimit(-1) // audio deltas are large
	cl := &rtClient{t: t, conn: conn, ids: map[string]bool{}}
	ev := cl.read()
	if ev["type"] != "session.created" {
		t.Fatalf("first event: got %v, want session.created", ev)
	}
	return cl, ev
}

func (cl *rtClient) send(ev map[string]any) {
	cl.t.Helper()
	cl.sendRaw(websocket.MessageText, mustJSON(ev))
}

func (cl *rtClient) sendRaw(typ websocket.MessageType, b []byte) {
	cl.t.Helper()
	ctx, cancel := context.WithTimeout(cl.t.Context(), 10*time.Second)
	defer cancel()
	if err := cl.conn.Write(ctx, typ, b); err != nil {
		cl.t.Fatalf("write: %v", err)
	}
}

// frame reads the next frame, waiting at most wait.
func (cl *rtClient) frame(wait time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(cl.t.Context(), wait)
	defer cancel()
	typ, b, err := cl.conn.Read(ctx)
	if err == nil && typ != websocket.MessageText {
		cl.t.Errorf("got a binary frame, want text frames only")
	}
	return b, err
}

// event decodes a frame, failing the test unless it is a JSON object with
// a fresh event_id.
func (cl *rtClient) event(b []byte) map[string]any {
	cl.t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(b, &ev); err != nil {
		cl.t.Fatalf("got frame %.80q, want a JSON event", b)
	}
	id, _ := ev["event_id"].(string)
	if !strings.HasPrefix(id, "event_") || cl.ids[id] {
		cl.t.Errorf("%v: got event_id %q, want a fresh event_...", ev["type"], id)
	}
	cl.ids[id] = true
	return ev
}

func (cl *rtClient) read() map[string]any {
	cl.t.Helper()
	b, err := cl.frame(10 * time.Second)
	if err != nil {
		cl.t.Fatalf("read: %v", err)
	}
	return cl.event(b)
}

// until reads events up to and including the first of type typ.
// typesToEnd reads events until the connection ends, and returns their
// types and how it ended.
func (cl *rtClient) typesToEnd() ([]string, error) {
	var types []string
	for {
		b, err := cl.frame(10 * time.Second)
		if err != nil {
			return types, err
		}
		types = append(types, cl.event(b)["type"].(string))
	}
}

func (cl *rtClient) until(typ string) []map[string]any {
	cl.t.Helper()
	var evs []map[string]any
	for {
		ev := cl.read()
		evs = append(evs, ev)
		if ev["type"] == typ {
			return evs
		}
	}
}

func rtTypes(evs []map[string]any) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i], _ = e["type"].(string)
	}
	return out
}

// ofType returns the events of type typ.
func rtOfType(evs []map[string]any, typ string) []map[string]any {
	var out []map[string]any
	for _, e := range evs {
		if e["type"] == typ {
			out = append(out, e)
		}
	}
	return out
}

// num reads a decoded JSON number.
func rtNum(v any) int { f, _ := v.(float64); return int(f) }

// rtEstimate is the simulator's token estimate of texts, each followed by
// a separator byte.
func rtEstimate(texts ...string) int {
	n := 0
	for _, s := range texts {
		n += len(s) + 1
	}
	return max(1, (n+3)/4)
}

// chatAnswer is what the chat endpoint answers the prompt text, and its
// completion tokens.
func chatAnswer(t *testing.T, c *http.Client, base, text string, maxTokens int) (string, int) {
	t.Helper()
	body := oaChat(rtName, text)
	if maxTokens > 0 {
		body = with(body, "max_completion_tokens", maxTokens)
	}
	m := decode(t, post(t, t.Context(), c, base+"/v1/chat/completions", body))
	content, _ := get(m, "choices", 0, "message", "content").(string)
	return content, rtNum(get(m, "usage", "completion_tokens"))
}

func rtUserText(text string) map[string]any {
	return map[string]any{"type": "conversation.item.create", "item": map[string]any{
		"type": "message", "role": "user", "content": []any{map[string]any{"type": "input_text", "text": text}},
	}}
}

func textResponse(kv ...any) map[string]any {
	r := map[string]any{"output_modalities": []any{"text"}}
	for i := 0; i+1 < len(kv); i += 2 {
		r[kv[i].(string)] = kv[i+1]
	}
	return map[string]any{"type": "response.create", "response": r}
}

// wantUsage checks a response's usage.
func wantRTUsage(t *testing.T, resp any, inText, inAudio, outText, outAudio int) {
	t.Helper()
	u := get(resp, "usage")
	got := []int{
		rtNum(get(u, "input_token_details", "text_tokens")), rtNum(get(u, "input_token_details", "audio_tokens")),
		rtNum(get(u, "output_token_details", "text_tokens")), rtNum(get(u, "output_token_details", "audio_tokens")),
		rtNum(get(u, "input_tokens")), rtNum(get(u, "output_tokens")), rtNum(get(u, "total_tokens")),
	}
	want := []int{inText, inAudio, outText, outAudio, inText + inAudio, outText + outAudio, inText + inAudio + outText + outAudio}
	if !slices.Equal(got, want) {
		t.Errorf("usage %v: got [in text, in audio, out text, out audio, in, out, total] %v, want %v", u, got, want)
	}
	for _, k := range []string{"image_tokens", "cached_tokens"} {
		if v, ok := get(u, "input_token_details", k).(float64); !ok || v != 0 {
			t.Errorf("usage input_token_details.%s: got %v, want 0", k, get(u, "input_token_details", k))
		}
	}
	if cd, ok := get(u, "input_token_details", "cached_tokens_details").(map[string]any); !ok || len(cd) != 3 {
		t.Errorf("usage cached_tokens_details: got %v, want text, audio and image tokens", cd)
	}
}

func TestRealtimeSession(t *testing.T) {
	_, base, c := startSim(t, Config{Models: []Model{rtTestModel()}})
	const key = "openai-insecure-api-key.sk-secret-key"
	ctx := t.Context()
	conn, resp, err := websocket.Dial(ctx, rtURL(base, rtName), &websocket.DialOptions{
		HTTPClient:   c,
		HTTPHeader:   http.Header{"Authorization": {"Bearer sk-test"}},
		Subprotocols: []string{key, "openai-beta.realtime-v1", "realtime"},
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.CloseNow() })
	if got := conn.Subprotocol(); got != "realtime" {
		t.Errorf("subprotocol: got %q, want realtime", got)
	}
	for k, vs := range resp.Header {
		if strings.Contains(strings.Join(vs, ","), "sk-secret") {
			t.Errorf("handshake header %s echoes the API key: %q", k, vs)
		}
	}
	cl := &rtClient{t: t, conn: conn, ids: map[string]bool{}}
	created := cl.read()
	sess, _ := created["session"].(map[string]any)
	id, _ := sess["id"].(string)
	if !strings.HasPrefix(id, "sess_") {
		t.Errorf("session id: got %q, want sess_...", id)
	}
	pcm := map[string]any{"type": "audio/pcm", "rate": 24000.0}
	want := map[string]any{
		"type": "realtime", "object": "realtime.session", "id": id, "model": rtName,
		"output_modalities": []any{"audio"}, "instructions": "",
		"audio": map[string]any{
			"input":  map[string]any{"format": pcm},
			"output": map[string]any{"format": pcm, "voice": "alloy"},
		},
		"max_output_tokens": "inf",
	}
	if created["type"] != "session.created" || !reflect.DeepEqual(sess, want) {
		t.Errorf("got %v, want session.created with session %v", created, want)
	}

	cl.send(map[string]any{"type": "session.update", "session": map[string]any{
		"type": "realtime", "output_modalities": []any{"text"}, "instructions": "Be brief.",
		"max_output_tokens": 100, "tools": []any{},
	}})
	updated := cl.read()
	want["output_modalities"], want["instructions"], want["max_output_tokens"] = []any{"text"}, "Be brief.", 100.0
	if updated["type"] != "session.updated" || !reflect.DeepEqual(updated["session"], want) {
		t.Errorf("got %v, want session.updated with session %v", updated, want)
	}
	// A partial update keeps the rest.
	cl.send(map[string]any{"type": "session.update", "session": map[string]any{"max_output_tokens": "inf"}})
	want["max_output_tokens"] = "inf"
	if updated := cl.read(); !reflect.DeepEqual(updated["session"], want) {
		t.Errorf("got %v, want session %v", updated["session"], want)
	}

	// Without subprotocols the session opens as well.
	cl2, _ := rtDial(t, c, base, nil)
	if got := cl2.conn.Subprotocol(); got != "" {
		t.Errorf("subprotocol when none was offered: got %q, want none", got)
	}
}

func TestRealtimeTextResponse(t *testing.T) {
	_, base, c := startSim(t, Config{Models: []Model{rtTestModel()}})
	cl, _ := rtDial(t, c, base, nil)
	cl.send(map[string]any{"type": "session.update", "session": map[string]any{"output_modalities": []any{"text"}, "instructions": "Be brief."}})
	cl.read()

	cl.send(rtUserText("hello there"))
	added, done := cl.read(), cl.read()
	item, _ := added["item"].(map[string]any)
	userID, _ := item["id"].(string)
	wantItem := map[string]any{"id": userID, "object": "realtime.item", "type": "message", "status": "completed",
		"role": "user", "content": []any{map[string]any{"type": "input_text", "text": "hello there"}}}
	if added["type"] != "conversation.item.added" || !strings.HasPrefix(userID, "item_") || !reflect.DeepEqual(item, wantItem) || added["previous_item_id"] != nil {
		t.Errorf("got %v, want conversation.item.added of %v after none", added, wantItem)
	}
	if done["type"] != "conversation.item.done" || !reflect.DeepEqual(done["item"], wantItem) {
		t.Errorf("got %v, want conversation.item.done of the item", done)
	}

	answer, outTokens := chatAnswer(t, c, base, "hello there", 0)
	cl.send(map[string]any{"type": "response.create"})
	evs := cl.until("response.done")
	want := []string{"response.created", "response.output_item.added", "conversation.item.added", "response.content_part.added"}
	for range outTokens {
		want = append(want, "response.output_text.delta")
	}
	want = append(want, "response.output_text.done", "response.content_part.done", "response.output_item.done", "conversation.item.done", "response.done")
	if got := rtTypes(evs); !slices.Equal(got, want) {
		t.Fatalf("events:\n got %v\nwant %v", got, want)
	}
	created := evs[0]["response"]
	respID, _ := get(created, "id").(string)
	if !strings.HasPrefix(respID, "resp_") || get(created, "status") != "in_progress" || len(get(created, "output").([]any)) != 0 || get(created, "object") != "realtime.response" {
		t.Errorf("response.created: got %v, want an in_progress realtime.response with no output", created)
	}
	itemID, _ := get(evs[1], "item", "id").(string)
	if get(evs[1], "item", "status") != "in_progress" || get(evs[1], "item", "role") != "assistant" || itemID == userID {
		t.Errorf("output_item.added: got %v, want a new in_progress assistant item", evs[1])
	}
	if get(evs[2], "previous_item_id") != userID || get(evs[2], "item", "id") != itemID {
		t.Errorf("conversation.item.added: got %v, want the answer after %s", evs[2], userID)
	}
	if !reflect.DeepEqual(get(evs[3], "part"), map[string]any{"type": "text", "text": ""}) {
		t.Errorf("content_part.added: got %v, want an empty text part", evs[3])
	}
	var joined strings.Builder
	for _, d := range rtOfType(evs, "response.output_text.delta") {
		if d["response_id"] != respID || d["item_id"] != itemID || rtNum(d["output_index"]) != 0 || rtNum(d["content_index"]) != 0 {
			t.Errorf("delta %v: want response %s, item %s, indexes 0", d, respID, itemID)
		}
		joined.WriteString(d["delta"].(string))
	}
	n := len(evs)
	if text := get(evs[n-5], "text"); joined.String() != answer || text != answer {
		t.Errorf("got deltas %q and done text %q, want chat's answer %q", joined.String(), text, answer)
	}
	if !reflect.DeepEqual(get(evs[n-4], "part"), map[string]any{"type": "text", "text": answer}) {
		t.Errorf("content_part.done: got %v", evs[n-4])
	}
	wantAnswer := map[string]any{"id": itemID, "object": "realtime.item", "type": "message", "status": "completed",
		"role": "assistant", "content": []any{map[string]any{"type": "output_text", "text": answer}}}
	for _, e := range evs[n-3 : n-1] {
		if !reflect.DeepEqual(e["item"], wantAnswer) {
			t.Errorf("%s: got item %v, want %v", e["type"], e["item"], wantAnswer)
		}
	}
	if get(evs[n-2], "previous_item_id") != userID {
		t.Errorf("conversation.item.done: got previous %v, want %s", get(evs[n-2], "previous_item_id"), userID)
	}
	resp := evs[n-1]["response"]
	if get(resp, "id") != respID || get(resp, "status") != "completed" || get(resp, "object") != "realtime.response" || !reflect.DeepEqual(get(resp, "output"), []any{wantAnswer}) {
		t.Errorf("response.done: got %v, want completed with the answer", resp)
	}
	wantRTUsage(t, resp, rtEstimate("Be brief.", "user", "hello there"), 0, outTokens, 0)

	// The next turn reads the whole conversation, the answer too, and
	// answers the last user text.
	cl.send(rtUserText("and then?"))
	cl.read()
	cl.read()
	answer2, out2 := chatAnswer(t, c, base, "and then?", 0)
	cl.send(map[string]any{"type": "response.create"})
	evs = cl.until("response.done")
	if got := get(evs[len(evs)-5], "text"); got != answer2 || answer2 == answer {
		t.Errorf("second answer: got %q, want chat's %q (not the first %q)", got, answer2, answer)
	}
	wantRTUsage(t, evs[len(evs)-1]["response"], rtEstimate("Be brief.", "user", "hello there", "assistant", answer, "user", "and then?"), 0, out2, 0)
}

func TestRealtimeAudioResponse(t *testing.T) {
	_, base, c := startSim(t, Config{Models: []Model{rtTestModel()}})
	cl, _ := rtDial(t, c, base, nil)
	cl.send(rtUserText("speak to me"))
	cl.read()
	cl.read()
	answer, outTokens := chatAnswer(t, c, base, "speak to me", 0)
	cl.send(map[string]any{"type": "response.create"})
	evs := cl.until("response.done")
	want := []string{"response.created", "response.output_item.added", "conversation.item.added", "response.content_part.added"}
	for range outTokens {
		want = append(want, "response.output_audio_transcript.delta", "response.output_audio.delta")
	}
	want = append(want, "response.output_audio.done", "response.output_audio_transcript.done",
		"response.content_part.done", "response.output_item.done", "conversation.item.done", "response.done")
	if got := rtTypes(evs); !slices.Equal(got, want) {
		t.Fatalf("events:\n got %v\nwant %v", got, want)
	}
	if !reflect.DeepEqual(get(evs[3], "part"), map[string]any{"type": "audio", "transcript": ""}) {
		t.Errorf("content_part.added: got %v, want an empty audio part", evs[3])
	}
	var transcript strings.Builder
	samples := 0
	for i := 4; i < 4+2*outTokens; i += 2 {
		piece, _ := evs[i]["delta"].(string)
		transcript.WriteString(piece)
		pcm, err := base64.StdEncoding.DecodeString(evs[i+1]["delta"].(string))
		if err != nil {
			t.Fatalf("audio delta: %v", err)
		}
		if len(pcm) != 2*utf8.RuneCountInString(piece)*24000/15 || string(pcm) != string(tonePCM(piece)) || strings.Trim(string(pcm), "\x00") == "" {
			t.Errorf("audio of %q: got %d bytes, want the tone of %d samples", piece, len(pcm), utf8.RuneCountInString(piece)*1600)
		}
		samples += len(pcm) / 2
	}
	n := len(evs)
	if transcript.String() != answer || get(evs[n-5], "transcript") != answer {
		t.Errorf("got transcript deltas %q, done %v, want chat's answer %q", transcript.String(), get(evs[n-5], "transcript"), answer)
	}
	wantPart := []any{map[string]any{"type": "output_audio", "transcript": answer}}
	if got := get(evs[n-1], "response", "output", 0, "content"); !reflect.DeepEqual(got, wantPart) {
		t.Errorf("response.done content: got %v, want %v", got, wantPart)
	}
	audioTokens := (samples + 23999) / 24000 * 10
	if audioTokens < 20 {
		t.Fatalf("only %d samples of audio", samples)
	}
	wantRTUsage(t, evs[n-1]["response"], rtEstimate("", "user", "speak to me"), 0, outTokens, audioTokens)
}

func TestRealtimeAudioInput(t *testing.T) {
	_, base, c := startSim(t, Config{Models: []Model{rtTestModel()}})
	cl, _ := rtDial(t, c, base, nil)

	cl.send(map[string]any{"type": "input_audio_buffer.commit", "event_id": "evt_empty"})
	if e := cl.read(); get(e, "error", "code") != "input_audio_buffer_commit_empty" || get(e, "error", "event_id") != "evt_empty" {
		t.Errorf("empty commit: got %v, want error input_audio_buffer_commit_empty", e)
	}
	cl.send(map[string]any{"type": "input_audio_buffer.append", "audio": base64.StdEncoding.EncodeToString([]byte("noise"))})
	cl.send(map[string]any{"type": "input_audio_buffer.clear"})
	if e := cl.read(); e["type"] != "input_audio_buffer.cleared" {
		t.Errorf("clear: got %v, want input_audio_buffer.cleared", e)
	}
	cl.send(map[string]any{"type": "input_audio_buffer.commit"})
	if e := cl.read(); get(e, "error", "code") != "input_audio_buffer_commit_empty" {
		t.Errorf("commit after clear: got %v, want input_audio_buffer_commit_empty", e)
	}

	// The simulator's own speech, appended in two pieces: 21 characters
	// are 1.4 s, billed as 2 s.
	const said = "Mind the gap, please."
	wav := speechAudio("wav", said)
	for _, part := range [][]byte{wav[:1001], wav[1001:]} {
		cl.send(map[string]any{"type": "input_audio_buffer.append", "audio": base64.StdEncoding.EncodeToString(part)})
	}
	cl.send(map[string]any{"type": "input_audio_buffer.commit"})
	committed, added, done := cl.read(), cl.read(), cl.read()
	itemID, _ := committed["item_id"].(string)
	if committed["type"] != "input_audio_buffer.committed" || !strings.HasPrefix(itemID, "item_") || committed["previous_item_id"] != nil {
		t.Errorf("got %v, want input_audio_buffer.committed of a new item after none", committed)
	}
	wantItem := map[string]any{"id": itemID, "object": "realtime.item", "type": "message", "status": "completed", "role": "user",
		"content": []any{map[string]any{"type": "input_audio", "transcript": said}}}
	if added["type"] != "conversation.item.added" || done["type"] != "conversation.item.done" || !reflect.DeepEqual(added["item"], wantItem) || !reflect.DeepEqual(done["item"], wantItem) {
		t.Errorf("got %v and %v, want the added and done events of %v", added, done, wantItem)
	}

	answer, outTokens := chatAnswer(t, c, base, said, 0)
	cl.send(textResponse())
	evs := cl.until("response.done")
	if got := get(evs[len(evs)-5], "text"); got != answer {
		t.Errorf("answer to the speech: got %q, want chat's answer to its transcript %q", got, answer)
	}
	wantRTUsage(t, evs[len(evs)-1]["response"], rtEstimate("", "user"), 20, outTokens, 0)

	// Audio the simulator did not make has no transcript; as PCM16 24 kHz,
	// 48,001 bytes are a second and a sample: with the speech's 1.4 s,
	// 2.4 s in all, billed as 3.
	cl.send(map[string]any{"type": "input_audio_buffer.append", "audio": base64.StdEncoding.EncodeToString(make([]byte, 48001))})
	cl.send(map[string]any{"type": "input_audio_buffer.commit"})
	committed, added, _ = cl.read(), cl.read(), cl.read()
	if get(added, "item", "content", 0, "type") != "input_audio" || get(added, "item", "content", 0, "transcript") != nil {
		t.Errorf("got %v, want an input_audio part with a null transcript", added)
	}
	if answerItem := get(evs[1], "item", "id"); committed["previous_item_id"] != answerItem {
		t.Errorf("committed after %v, want after the answer %v", committed["previous_item_id"], answerItem)
	}
	cl.send(textResponse())
	evs = cl.until("response.done")
	wantRTUsage(t, evs[len(evs)-1]["response"], rtEstimate("", "user", "assistant", answer, "user"), 30, outTokens, 0)
}

func TestRealtimeConversationItems(t *testing.T) {
	_, base, c := startSim(t, Config{Models: []Model{rtTestModel()}})
	cl, _ := rtDial(t, c, base, nil)
	create := func(item map[string]any, prev any) map[string]any {
		ev := map[string]any{"type": "conversation.item.create", "event_id": "evt_c", "item": item}
		if prev != nil {
			ev["previous_item_id"] = prev
		}
		cl.send(ev)
		return cl.read()
	}
	msg := func(id, role, typ, text string) map[string]any {
		field := "text"
		if typ == "output_audio" {
			field = "transcript"
		}
		return map[string]any{"id": id, "type": "message", "role": role, "content": []any{map[string]any{"type": typ, field: text}}}
	}
	if e := create(msg("a", "user", "input_text", "first"), nil); e["type"] != "conversation.item.added" || get(e, "item", "id") != "a" || e["previous_item_id"] != nil {
		t.Errorf("got %v, want item a added first", e)
	}
	cl.read()
	if e := create(msg("b", "assistant", "output_audio", "said"), "a"); get(e, "item", "id") != "b" || e["previous_item_id"] != "a" {
		t.Errorf("got %v, want item b after a", e)
	}
	cl.read()
	if e := create(msg("s", "system", "input_text", "rules"), "root"); get(e, "item", "id") != "s" || e["previous_item_id"] != nil {
		t.Errorf("got %v, want item s at the root", e)
	}
	cl.read()
	if e := create(msg("x", "user", "input_text", "late"), "a"); e["previous_item_id"] != "a" {
		t.Errorf("got %v, want item x inserted after a", e)
	}
	cl.read()
	// Audio in an item is heard as committed audio is: one second of speech.
	spoken := map[string]any{"id": "v", "type": "message", "role": "user", "content": []any{map[string]any{
		"type": "input_audio", "audio": base64.StdEncoding.EncodeToString(speechAudio("wav", "hi"))}}}
	if e := create(spoken, "s"); e["previous_item_id"] != "s" || get(e, "item", "content", 0, "transcript") != "hi" || get(e, "item", "content", 0, "audio") != nil {
		t.Errorf("got %v, want item v after s, its transcript heard and its audio not echoed", e)
	}
	cl.read()
	bad := []struct {
		name       string
		item       map[string]any
		prev       any
		code, parm string
	}{
		{"unknown previous", msg("y", "user", "input_text", "t"), "nope", "invalid_value", "previous_item_id"},
		{"duplicate id", msg("a", "user", "input_text", "t"), nil, "invalid_value", "item.id"},
		{"bad role", msg("", "robot", "input_text", "t"), nil, "invalid_value", "item.role"},
		{"bad part", msg("", "system", "output_text", "t"), nil, "invalid_value", "item.content[0].type"},
		{"not a message", map[string]any{"type": "function_call"}, nil, "invalid_value", "item.type"},
	}
	for _, tc := range bad {
		e := create(tc.item, tc.prev)
		if e["type"] != "error" || get(e, "error", "code") != tc.code || get(e, "error", "param") != tc.parm || get(e, "error", "event_id") != "evt_c" {
			t.Errorf("%s: got %v, want error %s on %s", tc.name, e, tc.code, tc.parm)
		}
	}
	// The conversation is s, v, a, x, b: the answer counts it all and answers x.
	answer, outTokens := chatAnswer(t, c, base, "late", 0)
	cl.send(textResponse())
	evs := cl.until("response.done")
	if get(evs[2], "previous_item_id") != "b" || get(evs[len(evs)-5], "text") != answer {
		t.Errorf("got answer %v after %v, want chat's %q after b", get(evs[len(evs)-5], "text"), get(evs[2], "previous_item_id"), answer)
	}
	wantRTUsage(t, evs[len(evs)-1]["response"], rtEstimate("", "system", "rules", "user", "user", "first", "user", "late", "assistant", "said"), 10, outTokens, 0)
}

func TestRealtimeCancel(t *testing.T) {
	m := rtTestModel()
	m.TokensPerSecond = 1 // a second between deltas: time to cancel
	_, base, c := startSim(t, Config{Models: []Model{m}})
	cl, _ := rtDial(t, c, base, nil)
	cl.send(map[string]any{"type": "response.cancel", "event_id": "evt_0"})
	if e := cl.read(); get(e, "error", "code") != "response_cancel_not_active" || get(e, "error", "event_id") != "evt_0" {
		t.Errorf("cancel with no response: got %v, want error response_cancel_not_active", e)
	}
	cl.send(rtUserText("go on"))
	cl.read()
	cl.read()
	cl.send(textResponse())
	evs := cl.until("response.output_text.delta")
	first, _ := evs[len(evs)-1]["delta"].(string)

	cl.send(map[string]any{"type": "response.create", "event_id": "evt_1"})
	if e := cl.read(); get(e, "error", "code") != "conversation_already_has_active_response" || get(e, "error", "event_id") != "evt_1" {
		t.Errorf("second response.create: got %v, want error conversation_already_has_active_response", e)
	}
	cl.send(map[string]any{"type": "response.cancel"})
	done := cl.read()
	resp := done["response"]
	if done["type"] != "response.done" || get(resp, "status") != "cancelled" || get(resp, "status_details", "type") != "cancelled" {
		t.Fatalf("got %v, want response.done cancelled", done)
	}
	if got := get(resp, "output", 0, "content", 0, "text"); got != first || get(resp, "output", 0, "status") != "incomplete" {
		t.Errorf("cancelled output: got %v, want the incomplete item holding %q", get(resp, "output"), first)
	}
	wantRTUsage(t, resp, rtEstimate("", "user", "go on"), 0, 1, 0)
	cl.send(map[string]any{"type": "response.cancel"})
	if e := cl.read(); get(e, "error", "code") != "response_cancel_not_active" {
		t.Errorf("second cancel: got %v, want error response_cancel_not_active", e)
	}
	// A new response may start, and the cancelled answer is in the conversation.
	cl.send(textResponse())
	if e := cl.read(); e["type"] != "response.created" {
		t.Errorf("after cancel: got %v, want response.created", e)
	}
	cl.read()
	if e := cl.read(); get(e, "previous_item_id") != get(resp, "output", 0, "id") {
		t.Errorf("new answer after %v, want after the cancelled one", get(e, "previous_item_id"))
	}
}

func TestRealtimeMaxOutputTokens(t *testing.T) {
	_, base, c := startSim(t, Config{Models: []Model{rtTestModel()}})
	cl, _ := rtDial(t, c, base, nil)
	cl.send(map[string]any{"type": "session.update", "session": map[string]any{"max_output_tokens": 3, "output_modalities": []any{"text"}}})
	if e := cl.read(); get(e, "session", "max_output_tokens") != 3.0 {
		t.Errorf("got %v, want max_output_tokens 3", e)
	}
	cl.send(rtUserText("tell me everything"))
	cl.read()
	cl.read()
	short, n := chatAnswer(t, c, base, "tell me everything", 3)
	cl.send(map[string]any{"type": "response.create"})
	evs := cl.until("response.done")
	resp := evs[len(evs)-1]["response"]
	if n != 3 || get(resp, "status") != "incomplete" || !reflect.DeepEqual(get(resp, "status_details"), map[string]any{"type": "incomplete", "reason": "max_output_tokens"}) {
		t.Errorf("got status %v %v, want incomplete for max_output_tokens", get(resp, "status"), get(resp, "status_details"))
	}
	if got := get(resp, "output", 0, "content", 0, "text"); got != short || len(rtOfType(evs, "response.output_text.delta")) != 3 || get(resp, "output", 0, "status") != "incomplete" {
		t.Errorf("got %v in %d deltas, want chat's %q cut to 3 tokens", got, len(rtOfType(evs, "response.output_text.delta")), short)
	}
	wantRTUsage(t, resp, rtEstimate("", "user", "tell me everything"), 0, 3, 0)

	// The response's own limit wins over the session's.
	cl.send(textResponse("max_output_tokens", "inf"))
	evs = cl.until("response.done")
	if resp := evs[len(evs)-1]["response"]; get(resp, "status") != "completed" || len(rtOfType(evs, "response.output_text.delta")) != 8 {
		t.Errorf("with max_output_tokens inf: got %v, want 8 tokens, completed", resp)
	}
	cl.send(map[string]any{"type": "response.create", "response": map[string]any{"max_output_tokens": 0}})
	if e := cl.read(); get(e, "error", "code") != "invalid_value" || get(e, "error", "param") != "response.max_output_tokens" {
		t.Errorf("max_output_tokens 0: got %v, want invalid_value on response.max_output_tokens", e)
	}
}

func TestRealtimeInvalidEvents(t *testing.T) {
	_, base, c := startSim(t, Config{Models: []Model{rtTestModel()}})
	cl, _ := rtDial(t, c, base, nil)
	tests := []struct {
		name    string
		typ     websocket.MessageType
		frame   string
		code    string
		eventID any
	}{
		{"not JSON", websocket.MessageText, `{"type": "session.update"`, "invalid_event", nil},
		{"not an object", websocket.MessageText, `[1, 2]`, "invalid_event", nil},
		{"no type", websocket.MessageText, `{"event_id": "evt_1"}`, "invalid_event", "evt_1"},
		{"type not a string", websocket.MessageText, `{"event_id": "evt_2", "type": 7}`, "invalid_event", "evt_2"},
		{"unknown type", websocket.MessageText, `{"event_id": "evt_3", "type": "conversation.teleport"}`, "unknown_event", "evt_3"},
		{"binary frame", websocket.MessageBinary, `{"type": "response.create"}`, "invalid_event", nil},
		{"bad modality", websocket.MessageText, `{"type": "session.update", "session": {"output_modalities": ["video"]}}`, "invalid_value", nil},
	}
	for _, tc := range tests {
		cl.sendRaw(tc.typ, []byte(tc.frame))
		e := cl.read()
		want := map[string]any{"type": "invalid_request_error", "code": tc.code, "event_id": tc.eventID}
		got := map[string]any{"type": get(e, "error", "type"), "code": get(e, "error", "code"), "event_id": get(e, "error", "event_id")}
		if e["type"] != "error" || !reflect.DeepEqual(got, want) || get(e, "error", "message") == "" {
			t.Errorf("%s: got %v, want an error event %v", tc.name, e, want)
		}
		param, ok := e["error"].(map[string]any)["param"]
		if wantNull := tc.code != "invalid_value"; !ok || (param == nil) != wantNull {
			t.Errorf("%s: got param %v, want it null: %v", tc.name, param, wantNull)
		}
	}
	// The session goes on.
	cl.send(rtUserText("still there?"))
	if e := cl.read(); e["type"] != "conversation.item.added" {
		t.Errorf("after errors: got %v, want conversation.item.added", e)
	}
}

func TestRealtimeHTTPErrors(t *testing.T) {
	s, base, c := startSim(t, Config{Models: []Model{rtTestModel(), testModel("gpt-4o")}})
	ctx := t.Context()
	dialErr := func(model string, header http.Header) (int, http.Header, map[string]any) {
		t.Helper()
		conn, resp, err := websocket.Dial(ctx, rtURL(base, model), &websocket.DialOptions{HTTPClient: c, HTTPHeader: header})
		if err == nil {
			_ = conn.CloseNow()
			t.Fatalf("%s: dial succeeded, want an HTTP error", model)
		}
		if resp == nil {
			t.Fatalf("%s: %v, want an HTTP answer", model, err)
		}
		var body map[string]any
		b, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(b, &body); err != nil {
			t.Fatalf("%s: body %q: %v", model, b, err)
		}
		return resp.StatusCode, resp.Header, body
	}
	if st, _, body := dialErr("gpt-4o", nil); st != 400 || get(body, "error", "param") != "model" || get(body, "error", "type") != "invalid_request_error" {
		t.Errorf("non-realtime model: got %d %v, want 400 on param model", st, body)
	}
	if st, _, body := dialErr("gpt-realtime-nope", nil); st != 404 || get(body, "error", "code") != "model_not_found" {
		t.Errorf("unknown model: got %d %v, want 404 model_not_found", st, body)
	}
	if st, _, body := dialErr("", nil); st != 404 || get(body, "error", "code") != "model_not_found" {
		t.Errorf("no model: got %d %v, want 404 model_not_found", st, body)
	}
	st, h, body := dialErr(rtName, http.Header{"X-Sim-Fault": {"status;status=429;retry_after=2s"}})
	if st != 429 || h.Get("Retry-After") != "2" || get(body, "error", "code") != "rate_limit_exceeded" {
		t.Errorf("status fault: got %d %v %v, want 429 rate_limit_exceeded, Retry-After 2", st, h, body)
	}
	resp, err := c.Get(rtURL(base, rtName))
	if err != nil {
		t.Fatal(err)
	}
	if body := decode(t, resp); resp.StatusCode != 400 || !strings.Contains(get(body, "error", "message").(string), "WebSocket") {
		t.Errorf("plain GET: got %d %v, want 400 saying it needs a WebSocket", resp.StatusCode, body)
	}
	calls := s.Calls(rtName)
	var statuses []int
	for _, k := range calls {
		statuses = append(statuses, k.Status)
		if k.Path != "/v1/realtime" || !k.Stream {
			t.Errorf("call %+v: want path /v1/realtime, stream", k)
		}
	}
	if !slices.Equal(statuses, []int{429, 400}) || calls[0].Fault != FaultStatus {
		t.Errorf("calls: got %+v, want the 429 (fault status) and the 400", calls)
	}
	if got := s.Calls("gpt-4o"); len(got) != 1 || got[0].Status != 400 {
		t.Errorf("calls of the non-realtime model: got %+v, want one 400", got)
	}
}

// rtFaultSession opens a session of a model with fault f and starts a
// text response to "fault me".
func rtFaultSession(t *testing.T, f Fault) (*Server, *rtClient, string, *http.Client) {
	t.Helper()
	s, base, c := startSim(t, Config{Models: []Model{rtTestModel(f)}})
	cl, _ := rtDial(t, c, base, nil)
	cl.send(rtUserText("fault me"))
	cl.read()
	cl.read()
	cl.send(textResponse())
	return s, cl, base, c
}

func TestRealtimeFaults(t *testing.T) {
	t.Run("cut", func(t *testing.T) {
		_, cl, _, _ := rtFaultSession(t, Fault{Type: FaultCut})
		types, err := cl.typesToEnd()
		if websocket.CloseStatus(err) != -1 || strings.Contains(err.Error(), "deadline") {
			t.Errorf("got %v, want the connection dropped without a close frame", err)
		}
		if n := countTypes(types, "response.output_text.delta"); n != 4 || slices.Contains(types, "response.done") {
			t.Errorf("got %v, want 4 of 8 deltas and no response.done", types)
		}
	})
	t.Run("stream_error", func(t *testing.T) {
		_, cl, _, _ := rtFaultSession(t, Fault{Type: FaultStreamError, After: 3})
		evs := cl.until("response.done")
		types := rtTypes(evs)
		n := len(evs)
		if countTypes(types, "response.output_text.delta") != 3 || types[n-2] != "error" || get(evs[n-2], "error", "type") != "server_error" {
			t.Errorf("got %v, want 3 deltas, then a server_error error event", types)
		}
		resp := evs[n-1]["response"]
		if get(resp, "status") != "failed" || get(resp, "status_details", "error", "type") != "server_error" {
			t.Errorf("got %v, want response.done failed", resp)
		}
		wantRTUsage(t, resp, rtEstimate("", "user", "fault me"), 0, 3, 0)
		// Only the first response fails.
		cl.send(textResponse())
		evs = cl.until("response.done")
		if get(evs[len(evs)-1], "response", "status") != "completed" || countTypes(rtTypes(evs), "response.output_text.delta") != 8 {
			t.Errorf("second response: got %v, want completed", rtTypes(evs))
		}
	})
	t.Run("malformed", func(t *testing.T) {
		_, cl, _, _ := rtFaultSession(t, Fault{Type: FaultMalformed, After: 2})
		var types []string
		for !slices.Contains(types, "response.done") {
			b, err := cl.frame(10 * time.Second)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if !json.Valid(b) {
				types = append(types, "?")
				continue
			}
			types = append(types, cl.event(b)["type"].(string))
		}
		at := slices.Index(types, "?")
		if countTypes(types, "?") != 1 || countTypes(types[:max(at, 0)], "response.output_text.delta") != 2 || countTypes(types, "response.output_text.delta") != 8 {
			t.Errorf("got %v, want one bad frame after 2 deltas, then all 8", types)
		}
	})
	t.Run("missing_done", func(t *testing.T) {
		_, cl, _, _ := rtFaultSession(t, Fault{Type: FaultMissingDone})
		types, err := cl.typesToEnd()
		if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
			t.Errorf("got %v, want a normal close", err)
		}
		if countTypes(types, "response.output_text.delta") != 8 || types[len(types)-1] != "conversation.item.done" || slices.Contains(types, "response.done") {
			t.Errorf("got %v, want every event up to conversation.item.done and no response.done", types)
		}
	})
	t.Run("stall", func(t *testing.T) {
		s, cl, _, _ := rtFaultSession(t, Fault{Type: FaultStall, After: 2})
		evs := cl.until("response.output_text.delta")
		evs = append(evs, cl.read())
		if evs[len(evs)-1]["type"] != "response.output_text.delta" {
			t.Fatalf("got %v, want 2 deltas", rtTypes(evs))
		}
		cl.send(map[string]any{"type": "response.cancel"}) // not answered either
		if b, err := cl.frame(300 * time.Millisecond); err == nil {
			t.Errorf("got %s after the stall, want nothing", b)
		}
		if calls := s.Calls(rtName); len(calls) != 1 || calls[0].Fault != FaultStall {
			t.Errorf("calls: got %+v, want one with fault stall", calls)
		}
	})
	t.Run("slow_first_token", func(t *testing.T) {
		_, base, c := startSim(t, Config{Models: []Model{rtTestModel()}})
		cl, _ := rtDial(t, c, base, &websocket.DialOptions{HTTPHeader: http.Header{"X-Sim-Fault": {"slow_first_token;delay=300ms"}}})
		measure := func() time.Duration {
			cl.send(textResponse())
			cl.until("response.created")
			start := time.Now()
			cl.until("response.output_text.delta")
			d := time.Since(start)
			cl.until("response.done")
			return d
		}
		if d := measure(); d < 300*time.Millisecond {
			t.Errorf("first response's first delta after %v, want at least 300ms", d)
		}
		if d := measure(); d >= 300*time.Millisecond {
			t.Errorf("second response's first delta after %v, want no delay", d)
		}
	})
}

func countTypes(types []string, typ string) int {
	n := 0
	for _, x := range types {
		if x == typ {
			n++
		}
	}
	return n
}

func TestRealtimeCalls(t *testing.T) {
	s, base, c := startSim(t, Config{Models: []Model{rtTestModel(Fault{Type: FaultMalformed, Times: 1})}})
	for range 2 {
		cl, _ := rtDial(t, c, base, nil)
		cl.send(textResponse())
		cl.until("response.output_text.delta")
		_ = cl.conn.CloseNow()
	}
	calls := s.Calls(rtName)
	if len(calls) != 2 {
		t.Fatalf("got %d calls, want one per session", len(calls))
	}
	for i, k := range calls {
		if k.Path != "/v1/realtime" || !k.Stream || k.Status != http.StatusSwitchingProtocols {
			t.Errorf("call %d: got %+v, want /v1/realtime, stream, 101", i, k)
		}
	}
	if calls[0].Fault != FaultMalformed || calls[1].Fault != "" {
		t.Errorf("faults: got %q and %q, want malformed (Times 1), then none", calls[0].Fault, calls[1].Fault)
	}
}

func TestRealtimeShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Models: []Model{rtTestModel()}})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	cl, _ := rtDial(t, c, "http://"+ln.Addr().String(), nil)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Serve did not return within 3s of cancel with an open session")
	}
	if _, err := cl.frame(5 * time.Second); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("got %v, want the session closed with 1001 going away", err)
	}
}

// The official SDK's realtime client decodes what the simulator sends.
func TestRealtimeSDK(t *testing.T) {
	_, base, c := startSim(t, Config{Models: []Model{rtTestModel()}})
	ctx := t.Context()
	oa := openai.NewClient(oaoption.WithBaseURL(base+"/v1"), oaoption.WithAPIKey("sk-test"),
		oaoption.WithMaxRetries(0), oaoption.WithHTTPClient(c))
	conn, err := oa.Realtime.Connect(ctx, realtime.RealtimeConnectionOptions{}, oaoption.WithQuery("model", rtName))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Abort()
	recv := func() realtime.RealtimeServerEventUnion {
		t.Helper()
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		ev, err := conn.Recv(rctx)
		if err != nil {
			t.Fatalf("recv: %v", err)
		}
		return ev
	}
	if ev := recv(); ev.Type != "session.created" || ev.AsSessionCreatedEvent().EventID == "" {
		t.Fatalf("got %s, want session.created", ev.RawJSON())
	}
	for _, ev := range []map[string]any{rtUserText("hello sdk"), textResponse()} {
		if err := conn.SendRaw(ctx, mustJSON(ev)); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	answer, outTokens := chatAnswer(t, c, base, "hello sdk", 0)
	var text strings.Builder
	for {
		ev := recv()
		switch ev.Type {
		case "response.output_text.delta":
			text.WriteString(ev.AsResponseTextDeltaEvent().Delta)
		case "conversation.item.added":
			if ev.AsConversationItemAdded().Item.Type != "message" {
				t.Errorf("got item %s, want a message", ev.RawJSON())
			}
		case "response.done":
			r := ev.AsResponseDoneEvent().Response
			u := r.Usage
			if r.Status != "completed" || len(r.Output) != 1 || r.Output[0].Type != "message" || u.OutputTokens != int64(outTokens) || u.OutputTokenDetails.TextTokens != int64(outTokens) ||
				u.InputTokenDetails.TextTokens != int64(rtEstimate("", "user", "hello sdk")) || u.TotalTokens != u.InputTokens+u.OutputTokens {
				t.Errorf("response.done: got %s", ev.RawJSON())
			}
			if text.String() != answer {
				t.Errorf("got %q, want chat's answer %q", text.String(), answer)
			}
			return
		}
	}
}
