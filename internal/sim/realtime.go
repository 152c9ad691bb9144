package sim

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// OpenAI's Realtime API (the GA format of gpt-realtime) over a WebSocket:
// GET /v1/realtime?model=M, upgraded, one JSON event per text frame.
//
// # Connecting
//
// Before the upgrade the request is ordinary HTTP, answered with OpenAI's
// error JSON: a missing or unknown model gets the 404 of an unknown model,
// a model whose name does not hold "realtime" a 400 on param "model", and
// a request that is no WebSocket upgrade a 400. The session is one Call
// (Path /v1/realtime, Stream true, Status 101 once upgraded). The model's
// faults are picked as for a stream: status, down, context_length and
// content_policy answer the handshake with their status and error JSON,
// reset and hang as on every endpoint; the mid-stream faults and
// slow_first_token apply to the session's first response (see below).
// Then the session waits Latency and upgrades, choosing the subprotocol
// "realtime" when the client offers it (never an offered
// "openai-insecure-api-key.*" entry). Any origin is accepted.
//
// # Events
//
// The server sends session.created first. Every server event has a fresh
// event_id ("event_..."). The client events:
//
//   - session.update: output_modalities (["text"] or ["audio"], the
//     default), instructions and max_output_tokens (1..4096 or "inf") are
//     merged into the session; other fields are ignored. session.updated
//     carries the whole session.
//   - conversation.item.create: a message item (role user, system or
//     assistant; content input_text and input_audio for the user,
//     input_text for the system, output_text and output_audio for the
//     assistant), appended, or placed after previous_item_id ("root": first).
//     conversation.item.added and conversation.item.done echo it with its
//     id (item_... when the client gave none), object realtime.item and
//     status completed, and the id of the item before it (or null).
//   - input_audio_buffer.append adds base64 audio to the buffer (no
//     answer); input_audio_buffer.clear empties it
//     (input_audio_buffer.cleared); input_audio_buffer.commit turns it
//     into a user item: input_audio_buffer.committed {previous_item_id,
//     item_id}, then the item's added and done events, its content one
//     input_audio part whose transcript is the text the simulator's own
//     speech carries (a WAV's ICMT, a SIMAUDIO1 container's text), else
//     null. An empty buffer gets the error input_audio_buffer_commit_empty.
//   - response.create, its response's output_modalities, instructions and
//     max_output_tokens overriding the session's for that response; while
//     one is in progress, the error conversation_already_has_active_response.
//   - response.cancel ends the response in progress with response.done
//     status cancelled; with none, the error response_cancel_not_active.
//
// An undecodable frame or one without a string type gets an error event
// of code invalid_event, an unknown type unknown_event; errors are
// {"type":"error","error":{"type":"invalid_request_error","code","message",
// "param","event_id"}}, event_id being the client event's (or null). The
// session stays open.
//
// A response answers as a chat completion of the last user item does
// (the prompt of one user message holding its text parts, or the
// transcripts of its audio): the same words, cut to max_output_tokens
// (status incomplete, status_details {"type":"incomplete","reason":
// "max_output_tokens"}). Its events, in order:
//
//	response.created                    status in_progress, output []
//	response.output_item.added          the assistant item, in_progress
//	conversation.item.added
//	response.content_part.added         part {"type":"text"} or {"type":"audio"}
//	per token, text:  response.output_text.delta
//	           audio: response.output_audio_transcript.delta, response.output_audio.delta
//	text:  response.output_text.done {text}
//	audio: response.output_audio.done, response.output_audio_transcript.done {transcript}
//	response.content_part.done
//	response.output_item.done
//	conversation.item.done
//	response.done                       the response with its output and usage
//
// The deltas are paced as a chat stream's tokens: the first FirstToken
// after response.create, then one every 1/TokensPerSecond. An audio delta
// is 16-bit PCM (24 kHz mono), 1/15 s per character of its transcript
// delta, a tone that depends on that text. The answer item stays in the
// conversation (content output_text or output_audio with its transcript;
// no audio bytes are echoed). A cancelled or failed response sends
// response.done only, its item incomplete with what was produced.
//
// Usage (response.done), per response:
//
//   - input text tokens: estimateTokens of the instructions and, for
//     every item in the conversation before the answer, its role and each
//     text (input_text, output_text, output_audio transcripts), each
//     followed by a separator byte; input audio parts count as audio only.
//   - input audio tokens: 10 per second of all input audio in the
//     conversation (committed or sent in items), whole seconds rounded up;
//     a sim WAV or SIMAUDIO1 container counts its duration, other bytes as
//     raw PCM16 24 kHz mono (bytes / 48000 seconds).
//   - output text tokens: the tokens sent (as a chat completion's
//     completion_tokens); output audio tokens (audio only): 10 per second
//     of the audio sent, rounded up.
//   - input_tokens = text + audio, output_tokens likewise, total = both;
//     image and cached tokens are 0.
//
// # Faults
//
// Mid-stream faults hit the first response only, at After deltas (half
// the tokens when After is 0): cut closes the TCP connection without a
// close frame; stream_error sends an error event of type server_error,
// then response.done status failed with the usage so far; malformed sends
// one frame that is no JSON and goes on; stall sends nothing more (and
// answers nothing) until the client goes away; missing_done sends every
// event but response.done and closes the socket with a normal close
// frame. slow_first_token adds its Delay to the first response's first
// delta. When the server stops, sessions are closed with 1001 (going away).

// Limits of a realtime session.
const (
	rtReadLimit      = 16 << 20 // bytes of one client event
	rtMaxBuffer      = maxBody  // bytes of uncommitted input audio
	rtMaxOutput      = 4096     // highest max_output_tokens
	rtPCMBytesPerSec = 2 * speechRate
	rtVoice          = "alloy"
)

// rtClientEvents are the client events the simulator answers.
var rtClientEvents = []string{
	"session.update", "conversation.item.create", "input_audio_buffer.append",
	"input_audio_buffer.commit", "input_audio_buffer.clear", "response.create", "response.cancel",
}

// realtimeModel tells whether a model may be used over the Realtime API.
func realtimeModel(name string) bool { return strings.Contains(strings.ToLower(name), "realtime") }

// headerHasToken tells whether a comma-separated header holds token, in any case.
func headerHasToken(h http.Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

func (s *Server) handleRealtime(w http.ResponseWriter, r *http.Request) {
	d := openAI{s}
	model := r.URL.Query().Get("model")
	c := s.begin(model, r.URL.Path, true)
	rw := &recorder{ResponseWriter: w, c: c}
	s.log.Debug("sim: request", "model", model, "path", r.URL.Path, "stream", true)
	m, ok := s.lookup(model)
	switch {
	case !ok:
		d.notFound(rw, model)
		return
	case !realtimeModel(model):
		writeOpenAIError(rw, http.StatusBadRequest, oaError{
			Message: fmt.Sprintf("The model `%s` is not supported by the Realtime API. Use a realtime model, such as gpt-realtime.", model),
			Type:    "invalid_request_error", Param: strp("model"),
		}, 0)
		return
	case !headerHasToken(r.Header, "Connection", "upgrade") || !headerHasToken(r.Header, "Upgrade", "websocket"):
		writeOpenAIError(rw, http.StatusBadRequest, oaError{
			Message: "The Realtime API is served over a WebSocket: this request is not a WebSocket upgrade (Connection: Upgrade, Upgrade: websocket).",
			Type:    "invalid_request_error",
		}, 0)
		return
	}
	f, err := s.pickFault(r, m, true)
	if err != nil {
		d.badRequest(rw, err.Error())
		return
	}
	if f != nil {
		c.update(func(k *Call) { k.Fault = f.Type })
		s.log.Debug("sim: fault", "model", m.Name, "fault", string(f.Type), "path", r.URL.Path)
		if s.preFault(rw, r, d, f, &prompt{}, m) {
			return
		}
	}
	if sleep(r.Context(), m.Latency) != nil {
		return
	}
	stop, _ := r.Context().Value(hangKey{}).(context.Context)
	if stop == nil {
		stop = context.Background()
	}
	conn, err := websocket.Accept(rw, r, &websocket.AcceptOptions{
		Subprotocols:       []string{"realtime"},
		InsecureSkipVerify: true, // a simulator: any origin
	})
	if err != nil {
		return // Accept answered
	}
	conn.SetReadLimit(rtReadLimit)
	rc := &rtConn{s: s, m: m, conn: conn,
		id: "sess_" + s.nextID(24), convID: "conv_" + s.nextID(24),
		cfg: rtConfig{modalities: []string{"audio"}},
	}
	if f != nil && (f.Type.midStream() || f.Type == FaultSlowFirstToken) {
		rc.fault = f
	}
	rc.run(stop)
}

// rtConfig is what a session (or one response) is configured with.
type rtConfig struct {
	modalities   []string
	instructions string
	maxOutput    int // 0: "inf"
}

func (c rtConfig) maxOutputJSON() any {
	if c.maxOutput == 0 {
		return "inf"
	}
	return c.maxOutput
}

// rtPart is one content part of a conversation item.
type rtPart struct {
	typ        string  // input_text, input_audio, output_text or output_audio
	text       string  // input_text, output_text
	transcript *string // input_audio (nil: null), output_audio
}

func (p rtPart) json() map[string]any {
	if p.typ == "input_text" || p.typ == "output_text" {
		return map[string]any{"type": p.typ, "text": p.text}
	}
	var tr any
	if p.transcript != nil {
		tr = *p.transcript
	}
	return map[string]any{"type": p.typ, "transcript": tr}
}

// rtItem is one message of the conversation.
type rtItem struct {
	id, role, status string
	content          []rtPart
	audioBytes       int // input audio it carries, in bytes of PCM16 24 kHz mono
}

func (it *rtItem) json() map[string]any {
	content := make([]any, len(it.content))
	for i, p := range it.content {
		content[i] = p.json()
	}
	return map[string]any{"id": it.id, "object": "realtime.item", "type": "message",
		"status": it.status, "role": it.role, "content": content}
}

// rtResponse is the response in progress.
type rtResponse struct {
	id         string
	item       *rtItem
	prevID     any // the item before the answer, or nil
	cfg        rtConfig
	audio      bool
	tokens     []string
	truncated  bool
	sent       int // deltas sent
	samples    int // audio samples sent
	inText     int
	inAudio    int
	ttft       time.Duration
	fault      *Fault // a mid-stream fault, injected at faultAt deltas
	faultAt    int
	missedDone bool // missing_done: no response.done
}

// rtConn is one realtime session. Its run loop owns every field: client
// events and the response's timer are handled on one goroutine, so that
// the events go out in order.
type rtConn struct {
	s      *Server
	m      Model
	conn   *websocket.Conn
	ctx    context.Context // ends when the client goes away or the server stops
	id     string
	convID string
	cfg    rtConfig
	fault  *Fault // for the first response, then nil
	items  []*rtItem
	buf    []byte // input audio not yet committed
	resp   *rtResponse
	timer  *time.Timer
	tick   <-chan time.Time // the timer's channel while it is armed, else nil
	stall  bool             // a stall fault: send nothing more
	dead   bool             // the socket failed or was closed
}

// rtFrame is one message read from the client.
type rtFrame struct {
	typ  websocket.MessageType
	data []byte
}

// run serves the session until the client goes away, a fault ends it or
// stop is done (then it closes the socket with 1001).
func (rc *rtConn) run(stop context.Context) {
	ctx, cancel := context.WithCancel(stop)
	defer cancel()
	rc.ctx = ctx
	// Reads are not bound to ctx: cancelling a read closes the socket,
	// and a shutdown wants its close frame out first.
	readCtx, stopReading := context.WithCancel(context.Background())
	in := make(chan rtFrame)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer cancel() // the client went away
		for {
			typ, data, err := rc.conn.Read(readCtx)
			if err != nil {
				return
			}
			select {
			case in <- rtFrame{typ, data}:
			case <-readCtx.Done():
				return
			}
		}
	}()
	defer func() {
		if rc.timer != nil {
			rc.timer.Stop()
		}
		stopReading()
		_ = rc.conn.CloseNow()
		<-readerDone
	}()
	rc.send(map[string]any{"type": "session.created", "session": rc.sessionJSON()})
	for !rc.dead {
		select {
		case fr := <-in:
			if !rc.stall {
				rc.handle(fr)
			}
		case <-rc.tick:
			rc.tick = nil
			rc.delta()
		case <-ctx.Done():
			if stop.Err() != nil {
				_ = rc.conn.Close(websocket.StatusGoingAway, "server shutting down")
			}
			return
		}
	}
}

// send writes one server event with a fresh event_id.
func (rc *rtConn) send(ev map[string]any) {
	if rc.dead {
		return
	}
	ev["event_id"] = "event_" + rc.s.nextID(24)
	rc.write(mustJSON(ev))
}

func (rc *rtConn) write(b []byte) {
	if rc.dead {
		return
	}
	// Not bound to the session's context: the library closes the socket
	// when a write's context ends, even just after the write completed,
	// which at shutdown would drop the session without its 1001. A client
	// that stops reading still cannot hold a write for ever.
	ctx, cancel := context.WithTimeout(context.Background(), rtWriteTimeout)
	defer cancel()
	if rc.conn.Write(ctx, websocket.MessageText, b) != nil {
		rc.dead = true
	}
}

// rtWriteTimeout bounds one server event's write.
const rtWriteTimeout = 10 * time.Second

// sendError sends an error event. eventID is the client event's event_id
// or nil; code and param are null when empty.
func (rc *rtConn) sendError(eventID any, typ, code, param, msg string) {
	e := map[string]any{"type": typ, "code": nil, "message": msg, "param": nil, "event_id": eventID}
	if code != "" {
		e["code"] = code
	}
	if param != "" {
		e["param"] = param
	}
	rc.send(map[string]any{"type": "error", "error": e})
}

func (rc *rtConn) badEvent(eventID any, code, param, msg string) {
	rc.sendError(eventID, "invalid_request_error", code, param, msg)
}

func pcmFormat() map[string]any { return map[string]any{"type": "audio/pcm", "rate": speechRate} }

func (rc *rtConn) sessionJSON() map[string]any {
	return map[string]any{
		"type": "realtime", "object": "realtime.session", "id": rc.id, "model": rc.m.Name,
		"output_modalities": rc.cfg.modalities, "instructions": rc.cfg.instructions,
		"audio": map[string]any{
			"input":  map[string]any{"format": pcmFormat()},
			"output": map[string]any{"format": pcmFormat(), "voice": rtVoice},
		},
		"max_output_tokens": rc.cfg.maxOutputJSON(),
	}
}

// handle answers one client frame.
func (rc *rtConn) handle(fr rtFrame) {
	if fr.typ != websocket.MessageText {
		rc.badEvent(nil, "invalid_event", "", "Expected a text frame holding one JSON event, got a binary frame.")
		return
	}
	var ev map[string]json.RawMessage
	if err := json.Unmarshal(fr.data, &ev); err != nil || ev == nil {
		msg := "The event is not a JSON object."
		if err != nil {
			msg = "Invalid JSON: " + errDecode(err) + "."
		}
		rc.badEvent(nil, "invalid_event", "", msg)
		return
	}
	var eventID any
	var id string
	if json.Unmarshal(ev["event_id"], &id) == nil {
		eventID = id
	}
	var typ string
	if !present(ev, "type") || json.Unmarshal(ev["type"], &typ) != nil || typ == "" {
		rc.badEvent(eventID, "invalid_event", "", "Missing required parameter: 'type'.")
		return
	}
	switch typ {
	case "session.update":
		rc.sessionUpdate(eventID, ev)
	case "conversation.item.create":
		rc.itemCreate(eventID, ev)
	case "input_audio_buffer.append":
		rc.audioAppend(eventID, ev)
	case "input_audio_buffer.commit":
		rc.audioCommit(eventID)
	case "input_audio_buffer.clear":
		rc.buf = rc.buf[:0]
		rc.send(map[string]any{"type": "input_audio_buffer.cleared"})
	case "response.create":
		rc.responseCreate(eventID, ev)
	case "response.cancel":
		rc.responseCancel(eventID)
	default:
		rc.badEvent(eventID, "unknown_event", "", invalidValue(typ, rtClientEvents))
	}
}

// object decodes ev[k] as a JSON object; a missing or null one is nil.
// ok is false when it is something else.
func object(ev map[string]json.RawMessage, k string) (map[string]json.RawMessage, bool) {
	if !present(ev, k) {
		return nil, true
	}
	var o map[string]json.RawMessage
	return o, json.Unmarshal(ev[k], &o) == nil && o != nil
}

// configure merges the output_modalities, instructions and
// max_output_tokens of fields (a session or a response) into cfg, or
// returns the param and message of an error.
func configure(cfg rtConfig, fields map[string]json.RawMessage, prefix string) (rtConfig, string, string) {
	if present(fields, "output_modalities") {
		var mods []string
		if json.Unmarshal(fields["output_modalities"], &mods) != nil || len(mods) != 1 || (mods[0] != "text" && mods[0] != "audio") {
			return cfg, prefix + "output_modalities", "Invalid 'output_modalities': expected [\"text\"] or [\"audio\"]."
		}
		cfg.modalities = mods
	}
	if present(fields, "instructions") {
		if json.Unmarshal(fields["instructions"], &cfg.instructions) != nil {
			return cfg, prefix + "instructions", fmt.Sprintf("Invalid type for 'instructions': expected a string, but got %s instead.", oaKind(fields["instructions"]))
		}
	}
	if present(fields, "max_output_tokens") {
		var n int
		var inf string
		switch raw := fields["max_output_tokens"]; {
		case json.Unmarshal(raw, &inf) == nil && inf == "inf":
			cfg.maxOutput = 0
		case json.Unmarshal(raw, &n) == nil && n >= 1 && n <= rtMaxOutput:
			cfg.maxOutput = n
		default:
			return cfg, prefix + "max_output_tokens", fmt.Sprintf("Invalid 'max_output_tokens': expected an integer from 1 to %d or \"inf\", but got %s.", rtMaxOutput, string(raw))
		}
	}
	return cfg, "", ""
}

func (rc *rtConn) sessionUpdate(eventID any, ev map[string]json.RawMessage) {
	sess, ok := object(ev, "session")
	switch {
	case !ok:
		rc.badEvent(eventID, "invalid_type", "session", fmt.Sprintf("Invalid type for 'session': expected an object, but got %s instead.", oaKind(ev["session"])))
		return
	case sess == nil:
		rc.badEvent(eventID, "missing_required_parameter", "session", "Missing required parameter: 'session'.")
		return
	}
	var typ string
	if present(sess, "type") && (json.Unmarshal(sess["type"], &typ) != nil || typ != "realtime") {
		rc.badEvent(eventID, "invalid_value", "session.type", "Invalid 'session.type': this session is of type 'realtime'.")
		return
	}
	cfg, param, msg := configure(rc.cfg, sess, "session.")
	if msg != "" {
		rc.badEvent(eventID, "invalid_value", param, msg)
		return
	}
	rc.cfg = cfg
	rc.send(map[string]any{"type": "session.updated", "session": rc.sessionJSON()})
}

// rtPartTypes are the content part types each role's messages may hold.
var rtPartTypes = map[string][]string{
	"user":      {"input_text", "input_audio"},
	"system":    {"input_text"},
	"assistant": {"output_text", "output_audio"},
}

// rtRawItem is what the simulator reads of a conversation.item.create item.
type rtRawItem struct {
	ID      *string `json:"id"`
	Type    string  `json:"type"`
	Role    string  `json:"role"`
	Content []struct {
		Type       string  `json:"type"`
		Text       *string `json:"text"`
		Transcript *string `json:"transcript"`
		Audio      *string `json:"audio"`
	} `json:"content"`
}

func (rc *rtConn) itemCreate(eventID any, ev map[string]json.RawMessage) {
	if !present(ev, "item") {
		rc.badEvent(eventID, "missing_required_parameter", "item", "Missing required parameter: 'item'.")
		return
	}
	var raw rtRawItem
	if err := json.Unmarshal(ev["item"], &raw); err != nil {
		rc.badEvent(eventID, "invalid_type", "item", "Invalid 'item': "+errDecode(err)+".")
		return
	}
	switch {
	case raw.Type != "message":
		rc.badEvent(eventID, "invalid_value", "item.type", invalidValue(raw.Type, []string{"message"}))
		return
	case rtPartTypes[raw.Role] == nil:
		rc.badEvent(eventID, "invalid_value", "item.role", invalidValue(raw.Role, []string{"user", "system", "assistant"}))
		return
	}
	it := &rtItem{role: raw.Role, status: "completed"}
	for i, c := range raw.Content {
		param := fmt.Sprintf("item.content[%d]", i)
		if !slices.Contains(rtPartTypes[raw.Role], c.Type) {
			rc.badEvent(eventID, "invalid_value", param+".type", invalidValue(c.Type, rtPartTypes[raw.Role]))
			return
		}
		p := rtPart{typ: c.Type, transcript: c.Transcript}
		switch c.Type {
		case "input_text", "output_text":
			if c.Text == nil {
				rc.badEvent(eventID, "missing_required_parameter", param+".text", fmt.Sprintf("Missing required parameter: '%s.text'.", param))
				return
			}
			p.text = *c.Text
		case "output_audio":
			if c.Transcript == nil {
				p.transcript = new(string)
			}
		case "input_audio":
			if c.Audio != nil {
				audio, err := base64.StdEncoding.DecodeString(*c.Audio)
				if err != nil {
					rc.badEvent(eventID, "invalid_value", param+".audio", fmt.Sprintf("Invalid '%s.audio': not valid base64.", param))
					return
				}
				text, pcm := heardAudio(audio)
				it.audioBytes += pcm
				if p.transcript == nil {
					p.transcript = text
				}
			}
		}
		it.content = append(it.content, p)
	}
	switch {
	case raw.ID == nil || *raw.ID == "":
		it.id = "item_" + rc.s.nextID(24)
	case rc.find(*raw.ID) >= 0:
		rc.badEvent(eventID, "invalid_value", "item.id", fmt.Sprintf("Item with id '%s' already exists.", *raw.ID))
		return
	default:
		it.id = *raw.ID
	}
	at := len(rc.items)
	if present(ev, "previous_item_id") {
		var prev string
		if json.Unmarshal(ev["previous_item_id"], &prev) != nil {
			rc.badEvent(eventID, "invalid_type", "previous_item_id", "Invalid type for 'previous_item_id': expected a string.")
			return
		}
		switch i := rc.find(prev); {
		case prev == "root":
			at = 0
		case i < 0:
			rc.badEvent(eventID, "invalid_value", "previous_item_id", fmt.Sprintf("Previous item with id '%s' not found.", prev))
			return
		default:
			at = i + 1
		}
	}
	rc.insert(it, at)
}

// find returns the index of the item with id, or -1.
func (rc *rtConn) find(id string) int {
	return slices.IndexFunc(rc.items, func(it *rtItem) bool { return it.id == id })
}

// insert puts it at index at of the conversation and sends its added and
// done events.
func (rc *rtConn) insert(it *rtItem, at int) {
	rc.items = slices.Insert(rc.items, at, it)
	prev := rc.prevID(at)
	rc.send(map[string]any{"type": "conversation.item.added", "previous_item_id": prev, "item": it.json()})
	rc.send(map[string]any{"type": "conversation.item.done", "previous_item_id": prev, "item": it.json()})
}

// prevID is the id of the item before index at, or nil.
func (rc *rtConn) prevID(at int) any {
	if at == 0 {
		return nil
	}
	return rc.items[at-1].id
}

// heardAudio is what the simulator hears in input audio: the text of its
// own speech (nil for other audio) and the audio's length in bytes of
// PCM16 24 kHz mono (a sim WAV or SIMAUDIO1 container by its duration,
// anything else by its size).
func heardAudio(b []byte) (*string, int) {
	text, secs, ok := readWAV(b)
	if !ok {
		text, secs, ok = readSimAudio(b)
	}
	if !ok {
		return nil, len(b)
	}
	pcm := int(math.Round(secs * rtPCMBytesPerSec))
	if text == "" {
		return nil, pcm
	}
	return &text, pcm
}

func (rc *rtConn) audioAppend(eventID any, ev map[string]json.RawMessage) {
	var b64 string
	if !present(ev, "audio") || json.Unmarshal(ev["audio"], &b64) != nil {
		rc.badEvent(eventID, "missing_required_parameter", "audio", "Missing required parameter: 'audio' (a base64 string).")
		return
	}
	audio, err := base64.StdEncoding.DecodeString(b64)
	switch {
	case err != nil:
		rc.badEvent(eventID, "invalid_value", "audio", "Invalid 'audio': not valid base64.")
	case len(rc.buf)+len(audio) > rtMaxBuffer:
		rc.badEvent(eventID, "invalid_value", "audio", fmt.Sprintf("The input audio buffer would exceed %d bytes; commit or clear it first.", rtMaxBuffer))
	default:
		rc.buf = append(rc.buf, audio...)
	}
}

func (rc *rtConn) audioCommit(eventID any) {
	if len(rc.buf) == 0 {
		rc.badEvent(eventID, "input_audio_buffer_commit_empty", "",
			"Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has 0.00ms of audio.")
		return
	}
	text, pcm := heardAudio(rc.buf)
	rc.buf = nil
	it := &rtItem{id: "item_" + rc.s.nextID(24), role: "user", status: "completed", audioBytes: pcm,
		content: []rtPart{{typ: "input_audio", transcript: text}}}
	rc.send(map[string]any{"type": "input_audio_buffer.committed", "previous_item_id": rc.prevID(len(rc.items)), "item_id": it.id})
	rc.insert(it, len(rc.items))
}

// inputTokens counts the conversation as the model reads it for a
// response with instructions: text tokens and audio tokens.
func (rc *rtConn) inputTokens(instructions string) (text, audio int) {
	p := &prompt{}
	p.add(instructions)
	pcm := 0
	for _, it := range rc.items {
		p.add(it.role)
		pcm += it.audioBytes
		for _, part := range it.content {
			switch part.typ {
			case "input_text", "output_text":
				p.add(part.text)
			case "output_audio":
				p.add(*part.transcript)
			}
		}
	}
	return p.inputTokens(), audioTokens(pcm, rtPCMBytesPerSec)
}

// audioTokens is audioTokensPerSecond per second of n units at perSecond
// units a second, whole seconds rounded up.
func audioTokens(n, perSecond int) int {
	return (n + perSecond - 1) / perSecond * audioTokensPerSecond
}

// answerPrompt is the chat prompt the answer is generated from: one user
// message holding the last user item's texts (an audio part's transcript).
func (rc *rtConn) answerPrompt(maxTokens int) *prompt {
	p := &prompt{lastFromUser: true, maxTokens: maxTokens}
	for _, it := range slices.Backward(rc.items) {
		if it.role != "user" {
			continue
		}
		p.add("user")
		for _, part := range it.content {
			switch {
			case part.typ == "input_text":
				p.add(part.text)
			case part.transcript != nil:
				p.add(*part.transcript)
			default:
				p.add("")
			}
		}
		break
	}
	return p
}

func (rc *rtConn) responseCreate(eventID any, ev map[string]json.RawMessage) {
	if rc.resp != nil {
		rc.badEvent(eventID, "conversation_already_has_active_response", "",
			fmt.Sprintf("Conversation already has an active response in progress: %s. Wait until the response is finished before creating a new one.", rc.resp.id))
		return
	}
	fields, ok := object(ev, "response")
	if !ok {
		rc.badEvent(eventID, "invalid_type", "response", fmt.Sprintf("Invalid type for 'response': expected an object, but got %s instead.", oaKind(ev["response"])))
		return
	}
	cfg, param, msg := configure(rc.cfg, fields, "response.")
	if msg != "" {
		rc.badEvent(eventID, "invalid_value", param, msg)
		return
	}
	r := &rtResponse{id: "resp_" + rc.s.nextID(24), cfg: cfg, audio: cfg.modalities[0] == "audio", ttft: rc.m.FirstToken}
	r.inText, r.inAudio = rc.inputTokens(cfg.instructions)
	rep := generate(rc.m, rc.answerPrompt(cfg.maxOutput))
	r.tokens, r.truncated = rep.tokens, rep.truncated
	if f := rc.fault; f != nil {
		rc.fault = nil
		switch {
		case f.Type == FaultSlowFirstToken:
			r.ttft += f.Delay
		case f.Type == FaultMissingDone:
			r.missedDone = true
		default:
			r.fault, r.faultAt = f, len(r.tokens)/2
			if f.After > 0 {
				r.faultAt = min(f.After, len(r.tokens))
			}
		}
	}
	r.item = &rtItem{id: "item_" + rc.s.nextID(24), role: "assistant", status: "in_progress"}
	r.prevID = rc.prevID(len(rc.items))
	rc.items = append(rc.items, r.item)
	rc.resp = r
	rc.send(map[string]any{"type": "response.created", "response": rc.responseJSON("in_progress", nil, false)})
	rc.send(map[string]any{"type": "response.output_item.added", "response_id": r.id, "output_index": 0, "item": r.item.json()})
	rc.send(map[string]any{"type": "conversation.item.added", "previous_item_id": r.prevID, "item": r.item.json()})
	rc.send(r.partEvent("response.content_part.added", "part", r.wirePart("")))
	rc.pump()
}

// partEvent is an event about the answer's content part, with the fields
// of kv (key, value, ...) too.
func (r *rtResponse) partEvent(typ string, kv ...any) map[string]any {
	ev := map[string]any{"type": typ, "response_id": r.id, "item_id": r.item.id,
		"output_index": 0, "content_index": 0}
	for i := 0; i+1 < len(kv); i += 2 {
		ev[kv[i].(string)] = kv[i+1]
	}
	return ev
}

// wirePart is the content part as response.content_part events show it.
func (r *rtResponse) wirePart(text string) map[string]any {
	if r.audio {
		return map[string]any{"type": "audio", "transcript": text}
	}
	return map[string]any{"type": "text", "text": text}
}

// itemPart is the content part as the conversation item holds it.
func (r *rtResponse) itemPart(text string) rtPart {
	if r.audio {
		return rtPart{typ: "output_audio", transcript: &text}
	}
	return rtPart{typ: "output_text", text: text}
}

// responseJSON is the response object; done gives it its output and usage.
func (rc *rtConn) responseJSON(status string, details any, done bool) map[string]any {
	r := rc.resp
	out := []any{}
	var usage any
	if done {
		out = append(out, r.item.json())
		usage = r.usage()
	}
	return map[string]any{
		"object": "realtime.response", "id": r.id, "status": status, "status_details": details,
		"output": out, "conversation_id": rc.convID, "output_modalities": r.cfg.modalities,
		"max_output_tokens": r.cfg.maxOutputJSON(),
		"audio":             map[string]any{"output": map[string]any{"format": pcmFormat(), "voice": rtVoice}},
		"usage":             usage, "metadata": nil,
	}
}

// rtUsage is a realtime response's usage, in OpenAI's field order.
type rtUsage struct {
	TotalTokens       int `json:"total_tokens"`
	InputTokens       int `json:"input_tokens"`
	OutputTokens      int `json:"output_tokens"`
	InputTokenDetails struct {
		TextTokens          int `json:"text_tokens"`
		AudioTokens         int `json:"audio_tokens"`
		ImageTokens         int `json:"image_tokens"`
		CachedTokens        int `json:"cached_tokens"`
		CachedTokensDetails struct {
			TextTokens  int `json:"text_tokens"`
			AudioTokens int `json:"audio_tokens"`
			ImageTokens int `json:"image_tokens"`
		} `json:"cached_tokens_details"`
	} `json:"input_token_details"`
	OutputTokenDetails struct {
		TextTokens  int `json:"text_tokens"`
		AudioTokens int `json:"audio_tokens"`
	} `json:"output_token_details"`
}

// usage bills the conversation read and what was sent so far.
func (r *rtResponse) usage() rtUsage {
	var u rtUsage
	u.InputTokenDetails.TextTokens, u.InputTokenDetails.AudioTokens = r.inText, r.inAudio
	u.OutputTokenDetails.TextTokens = r.sent
	if r.audio {
		u.OutputTokenDetails.AudioTokens = audioTokens(r.samples, speechRate)
	}
	u.InputTokens = r.inText + r.inAudio
	u.OutputTokens = u.OutputTokenDetails.TextTokens + u.OutputTokenDetails.AudioTokens
	u.TotalTokens = u.InputTokens + u.OutputTokens
	return u
}

// pump moves the response on from its point (r.sent deltas out): it
// injects the fault due there, finishes the response when every delta is
// out, else arms the timer for the next delta.
func (rc *rtConn) pump() {
	r := rc.resp
	if f := r.fault; f != nil && r.sent >= r.faultAt {
		r.fault = nil
		switch f.Type {
		case FaultStall:
			rc.stall = true
			return
		case FaultCut:
			_ = rc.conn.CloseNow()
			rc.dead = true
			return
		case FaultStreamError:
			msg := "The server had an error while processing your request. Sorry about that!"
			rc.sendError(nil, "server_error", "", "", msg)
			rc.end("failed", map[string]any{"type": "failed", "error": map[string]any{"type": "server_error", "code": nil, "message": msg}})
			return
		case FaultMalformed:
			kind := "output_text"
			if r.audio {
				kind = "output_audio_transcript"
			}
			rc.write([]byte(`{"type":"response.` + kind + `.delta","response_id":"` + r.id + `","delta":"`))
		}
	}
	if r.sent == len(r.tokens) {
		rc.finish()
		return
	}
	d := gap(rc.m)
	if r.sent == 0 {
		d = r.ttft
	}
	if rc.timer == nil {
		rc.timer = time.NewTimer(d)
	} else {
		rc.timer.Reset(d)
	}
	rc.tick = rc.timer.C
}

// delta sends the response's next token: a text delta, or a transcript
// delta and its audio.
func (rc *rtConn) delta() {
	r := rc.resp
	if r == nil {
		return
	}
	piece := r.tokens[r.sent]
	r.sent++
	if !r.audio {
		rc.send(r.partEvent("response.output_text.delta", "delta", piece))
	} else {
		pcm := tonePCM(piece)
		r.samples += len(pcm) / 2
		rc.send(r.partEvent("response.output_audio_transcript.delta", "delta", piece))
		rc.send(r.partEvent("response.output_audio.delta", "delta", base64.StdEncoding.EncodeToString(pcm)))
	}
	rc.pump()
}

// finish sends the closing events of a response that sent every delta.
func (rc *rtConn) finish() {
	r := rc.resp
	text := strings.Join(r.tokens, "")
	status, details := "completed", any(nil)
	if r.truncated {
		status, details = "incomplete", map[string]any{"type": "incomplete", "reason": "max_output_tokens"}
	}
	r.item.status, r.item.content = status, []rtPart{r.itemPart(text)}
	if r.audio {
		rc.send(r.partEvent("response.output_audio.done"))
		rc.send(r.partEvent("response.output_audio_transcript.done", "transcript", text))
	} else {
		rc.send(r.partEvent("response.output_text.done", "text", text))
	}
	rc.send(r.partEvent("response.content_part.done", "part", r.wirePart(text)))
	rc.send(map[string]any{"type": "response.output_item.done", "response_id": r.id, "output_index": 0, "item": r.item.json()})
	rc.send(map[string]any{"type": "conversation.item.done", "previous_item_id": r.prevID, "item": r.item.json()})
	if r.missedDone {
		rc.resp = nil
		_ = rc.conn.Close(websocket.StatusNormalClosure, "")
		rc.dead = true
		return
	}
	rc.send(map[string]any{"type": "response.done", "response": rc.responseJSON(status, details, true)})
	rc.resp = nil
}

// end ends the response before its last delta: response.done alone, the
// item incomplete with what was sent.
func (rc *rtConn) end(status string, details any) {
	r := rc.resp
	if rc.timer != nil {
		rc.timer.Stop()
	}
	rc.tick = nil
	r.item.status, r.item.content = "incomplete", []rtPart{r.itemPart(strings.Join(r.tokens[:r.sent], ""))}
	rc.send(map[string]any{"type": "response.done", "response": rc.responseJSON(status, details, true)})
	rc.resp = nil
}

func (rc *rtConn) responseCancel(eventID any) {
	if rc.resp == nil {
		rc.badEvent(eventID, "response_cancel_not_active", "", "Cancellation failed: no active response found.")
		return
	}
	rc.end("cancelled", map[string]any{"type": "cancelled", "reason": "client_cancelled"})
}

// tonePCM is the speech of a transcript piece: 16-bit PCM at speechRate,
// 1/speechCharsPerSecond second per character, a triangle tone whose pitch
// depends on the piece.
func tonePCM(piece string) []byte {
	n := utf8.RuneCountInString(piece) * speechRate / speechCharsPerSecond
	h := fnv.New32a()
	_, _ = h.Write([]byte(piece))
	period := 40 + 2*int(h.Sum32()%80) // 80..238 samples: 100..300 Hz
	b := make([]byte, 2*n)
	for i := range n {
		v := i % period
		if v >= period/2 {
			v = period - v
		}
		binary.LittleEndian.PutUint16(b[2*i:], uint16(int16((v-period/4)*toneStep)))
	}
	return b
}
