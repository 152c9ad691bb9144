package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// OpenAI's stored Chat Completions: a chat completion made with
// "store": true is kept, and these endpoints read and manage it.
//
//	GET    /v1/chat/completions                             stored completions, a cursor page
//	GET    /v1/chat/completions/{completion_id}             one, with its metadata
//	POST   /v1/chat/completions/{completion_id}             replace its metadata
//	DELETE /v1/chat/completions/{completion_id}             forget it (chat.completion.deleted)
//	GET    /v1/chat/completions/{completion_id}/messages    its request's messages, a cursor page
//
// What is kept is the chat.completion object exactly as answered (a
// stream's: the object its chunks add up to, with the usage whether or
// not the stream carried it, as the non-streamed answer to the same
// request would be but for its id), the request's messages, its metadata
// and its model. A stream is kept once its last token is sent, just
// before its finish_reason chunk: one cut short (a client gone, a stall,
// cut or stream_error fault) is not. The stored object is answered with
// "metadata" ({} when none) added to it.
//
// The create's metadata (checked whether or not it stores, as OpenAI
// does) holds at most 16 string values, keys of at most 64 characters and
// values of at most 512; anything else is a 400 on param metadata. An
// update takes {"metadata"} (required, same limits) and replaces the
// metadata whole.
//
// The completion list takes model (the request's model), metadata[key]=
// value (every one given must match), after (a completion id; one not
// kept is a 400 on param after), limit (1 to 100, default 20) and order
// (asc, the default, or desc: by when the completions were kept). The
// message list takes after (a message id), limit and order the same way.
// A message is the request's message with "id" "<completion_id>-<index>"
// (index from 0, as OpenAI numbers them), "name" (null when none) and
// "content_parts": a string content stays the content, with
// content_parts null; an array content becomes content_parts, with
// content null. Every other field (tool_calls, tool_call_id, ...) is kept
// as given. Both lists answer object "list", data, first_id, last_id
// (null when empty) and has_more.
//
// The simulator keeps the newest maxStoredChats completions: keeping one
// more forgets the oldest. These endpoints belong to no model call, so
// they are not recorded (Calls) and a model's configured faults do not
// apply; the X-Sim-Fault header does, as on the Conversations API (see
// convFault).

// maxStoredChats is how many stored chat completions the simulator keeps.
const maxStoredChats = 10000

// chatAPI is the Chat Completions dialect of a request that may be kept:
// openAI's, answering the 400 of bad metadata on its param and keeping
// the completion when the request said store: true.
type chatAPI struct {
	openAI
	keep *chatKeep // shared with the request; nil outside a request
}

// chatKeep is what a chat request asks to keep, read with its prompt.
type chatKeep struct {
	fail     *oaError // the 400 of bad metadata, or nil
	store    bool
	model    string
	metadata map[string]string
	messages []json.RawMessage
}

// chatRequest is a Chat Completions request as oaRequest reads it, and
// what it asks to keep.
type chatRequest struct {
	oaRequest
	keep *chatKeep // shared with the dialect; not part of the JSON

	store    bool
	metadata json.RawMessage
	messages []json.RawMessage
}

// UnmarshalJSON reads the request as oaRequest does, then its store,
// metadata and messages as sent.
func (req *chatRequest) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &req.oaRequest); err != nil {
		return err
	}
	var kept struct {
		Store    bool              `json:"store"`
		Metadata json.RawMessage   `json:"metadata"`
		Messages []json.RawMessage `json:"messages"`
	}
	if err := json.Unmarshal(b, &kept); err != nil {
		return err
	}
	req.store, req.metadata, req.messages = kept.Store, kept.Metadata, kept.Messages
	return nil
}

// prompt extracts the prompt as oaRequest does and checks the metadata,
// or returns the message of a 400 (for bad metadata, kept in keep.fail
// too, for badRequest to send on its param).
func (req *chatRequest) prompt() (*prompt, string) {
	p, msg := req.oaRequest.prompt()
	if msg != "" {
		return nil, msg
	}
	k := req.keep
	if k == nil { // a request decoded outside handleOpenAIChat
		k = &chatKeep{}
		req.keep = k
	}
	if len(req.metadata) > 0 && string(req.metadata) != "null" {
		md, e := convMetadata(req.metadata)
		if e != nil {
			k.fail = e
			return nil, e.Message
		}
		k.metadata = md
	}
	k.store, k.model, k.messages = req.store, req.Model, req.messages
	return p, ""
}

// badRequest answers the 400 kept while the request was read, else a plain 400.
func (d chatAPI) badRequest(w http.ResponseWriter, msg string) {
	if d.keep != nil && d.keep.fail != nil {
		writeOpenAIError(w, http.StatusBadRequest, *d.keep.fail, 0)
		return
	}
	d.openAI.badRequest(w, msg)
}

func (d chatAPI) respond(w http.ResponseWriter, x *exchange, rep reply) {
	id := d.s.nextID(24)
	obj := oaCompletion(x, rep, id, rep.text(), len(rep.tokens))
	d.keep.save(d.s, obj) // before the client can ask for it
	writeJSON(w, http.StatusOK, obj, map[string]string{"x-request-id": "req_" + id, "openai-processing-ms": "1"})
}

func (d chatAPI) newStream(w http.ResponseWriter, x *exchange, rep reply) streamer {
	st := d.openAI.newStream(w, x, rep)
	o, ok := st.(*oaStream)
	if !ok || d.keep == nil || !d.keep.store {
		return st
	}
	return &keptStream{oaStream: o, s: d.s, keep: d.keep}
}

// keptStream is a chat stream whose completion is kept when it finishes.
type keptStream struct {
	*oaStream
	s    *Server
	keep *chatKeep
}

// finish keeps the completion the chunks sent add up to, before the
// finish_reason chunk lets the client ask for it.
func (k *keptStream) finish(terminator bool) error {
	text := strings.Join(k.rep.tokens[:k.sent], "")
	k.keep.save(k.s, oaCompletion(k.x, k.rep, k.id, text, k.sent))
	return k.oaStream.finish(terminator)
}

// save keeps a completion object, when the request said store: true.
func (k *chatKeep) save(s *Server, obj map[string]any) {
	if k == nil || !k.store {
		return
	}
	id, _ := obj["id"].(string)
	body, err := json.Marshal(obj)
	if err != nil {
		return
	}
	msgs := make([]convItem, len(k.messages))
	for i, raw := range k.messages {
		mid := fmt.Sprintf("%s-%d", id, i)
		msgs[i] = convItem{id: mid, body: storeMessage(mid, raw)}
	}
	s.chats.put(&storedChat{id: id, model: k.model, body: body, metadata: k.metadata, messages: msgs})
}

// storeMessage is a request message as the message list shows it.
func storeMessage(id string, raw json.RawMessage) json.RawMessage {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil || fields == nil {
		fields = map[string]json.RawMessage{}
	}
	null := json.RawMessage("null")
	content := fields["content"]
	var text string
	var parts []json.RawMessage
	switch {
	case json.Unmarshal(content, &text) == nil && content != nil:
		fields["content_parts"] = null
	case json.Unmarshal(content, &parts) == nil && parts != nil:
		fields["content"], fields["content_parts"] = null, content
	default:
		fields["content"], fields["content_parts"] = null, null
	}
	if _, ok := fields["name"]; !ok {
		fields["name"] = null
	}
	fields["id"] = mustJSON(id)
	return mustJSON(fields)
}

// storedChat is one kept chat completion. Its body and messages never
// change once kept, and its metadata is replaced whole, so all may be
// shared after the store's lock is released.
type storedChat struct {
	id       string
	model    string          // the request's model
	body     json.RawMessage // the completion as answered, without metadata
	metadata map[string]string
	messages []convItem // the request's messages, as the message list shows them
}

// object is the completion as the API shows it: the body with metadata.
func (c storedChat) object() json.RawMessage {
	var fields map[string]json.RawMessage
	if json.Unmarshal(c.body, &fields) != nil || fields == nil {
		fields = map[string]json.RawMessage{}
	}
	md := c.metadata
	if md == nil {
		md = map[string]string{}
	}
	fields["metadata"] = mustJSON(md)
	return mustJSON(fields)
}

// chatStore keeps the newest maxStoredChats completions. The zero value
// is ready to use.
type chatStore struct {
	mu    sync.Mutex
	byID  map[string]*storedChat
	order []string // ids, oldest first
}

// put keeps c, forgetting the oldest completion when the store is full.
func (cs *chatStore) put(c *storedChat) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.byID == nil {
		cs.byID = map[string]*storedChat{}
	}
	if _, dup := cs.byID[c.id]; dup {
		cs.order = slices.DeleteFunc(cs.order, func(o string) bool { return o == c.id })
	}
	if len(cs.order) >= maxStoredChats {
		delete(cs.byID, cs.order[0])
		cs.order = slices.Delete(cs.order, 0, 1)
	}
	cs.byID[c.id] = c
	cs.order = append(cs.order, c.id)
}

// get is a copy of the completion with id, and whether it is kept.
func (cs *chatStore) get(id string) (storedChat, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c, ok := cs.byID[id]
	if !ok {
		return storedChat{}, false
	}
	return *c, true
}

// setMetadata replaces the metadata of the completion with id.
func (cs *chatStore) setMetadata(id string, md map[string]string) (storedChat, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c, ok := cs.byID[id]
	if !ok {
		return storedChat{}, false
	}
	c.metadata = md
	return *c, true
}

func (cs *chatStore) remove(id string) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if _, ok := cs.byID[id]; !ok {
		return false
	}
	delete(cs.byID, id)
	cs.order = slices.DeleteFunc(cs.order, func(o string) bool { return o == id })
	return true
}

// chatFilter is what a stored completion must match to be listed.
type chatFilter struct {
	model    string            // "" for any
	metadata map[string]string // every pair must be held
}

func (f chatFilter) matches(c *storedChat) bool {
	if f.model != "" && c.model != f.model {
		return false
	}
	for k, v := range f.metadata {
		if got, ok := c.metadata[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// page is up to limit completions matching f after the completion with id
// after ("" for the start), oldest first when asc, else newest first, and
// whether more follow. afterFound is false when after names no kept
// completion.
func (cs *chatStore) page(f chatFilter, after string, limit int, asc bool) (chats []storedChat, more, afterFound bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	ids := slices.Clone(cs.order)
	if !asc {
		slices.Reverse(ids)
	}
	start := 0
	if after != "" {
		i := slices.Index(ids, after)
		if i < 0 {
			return nil, false, false
		}
		start = i + 1
	}
	for _, id := range ids[start:] {
		c := cs.byID[id]
		if !f.matches(c) {
			continue
		}
		if len(chats) == limit {
			return chats, true, true
		}
		chats = append(chats, *c)
	}
	return chats, false, true
}

// chatNotFound is the 404 for a completion the simulator does not keep.
func chatNotFound(w http.ResponseWriter, id string) {
	writeOpenAIError(w, http.StatusNotFound, oaError{
		Message: fmt.Sprintf("Completion with id '%s' not found.", id), Type: "invalid_request_error",
	}, 0)
}

// chatPageParams reads a stored-completion list's limit and order (asc
// when not given), or returns the 400 on the param at fault.
func chatPageParams(r *http.Request) (limit int, asc bool, e *oaError) {
	limit, asc, e = itemPageParams(r)
	if e == nil && !r.URL.Query().Has("order") {
		asc = true
	}
	return limit, asc, e
}

func (s *Server) handleChatList(w http.ResponseWriter, r *http.Request) {
	if s.convFault(w, r) {
		return
	}
	limit, asc, e := chatPageParams(r)
	if e != nil {
		writeOpenAIError(w, http.StatusBadRequest, *e, 0)
		return
	}
	q := r.URL.Query()
	f := chatFilter{model: q.Get("model")}
	for k, vs := range q {
		if key, ok := strings.CutPrefix(k, "metadata["); ok && strings.HasSuffix(key, "]") && len(vs) > 0 {
			if f.metadata == nil {
				f.metadata = map[string]string{}
			}
			f.metadata[strings.TrimSuffix(key, "]")] = vs[0]
		}
	}
	after := q.Get("after")
	chats, more, afterFound := s.chats.page(f, after, limit, asc)
	if !afterFound {
		writeOpenAIError(w, http.StatusBadRequest, *paramError("after", fmt.Sprintf("Invalid 'after': no stored chat completion with id '%s'.", after)), 0)
		return
	}
	items := make([]convItem, len(chats))
	for i, c := range chats {
		items[i] = convItem{id: c.id, body: c.object()}
	}
	s.convJSON(w, itemList(items, more))
}

func (s *Server) handleChatGet(w http.ResponseWriter, r *http.Request) {
	if s.convFault(w, r) {
		return
	}
	id := r.PathValue("completion_id")
	c, ok := s.chats.get(id)
	if !ok {
		chatNotFound(w, id)
		return
	}
	s.convJSON(w, c.object())
}

func (s *Server) handleChatUpdate(w http.ResponseWriter, r *http.Request) {
	if s.convFault(w, r) {
		return
	}
	md, ok := readMetadataUpdate(w, r)
	if !ok {
		return
	}
	id := r.PathValue("completion_id")
	c, ok := s.chats.setMetadata(id, md)
	if !ok {
		chatNotFound(w, id)
		return
	}
	s.convJSON(w, c.object())
}

func (s *Server) handleChatDelete(w http.ResponseWriter, r *http.Request) {
	if s.convFault(w, r) {
		return
	}
	id := r.PathValue("completion_id")
	if !s.chats.remove(id) {
		chatNotFound(w, id)
		return
	}
	s.convJSON(w, map[string]any{"object": "chat.completion.deleted", "id": id, "deleted": true})
}

func (s *Server) handleChatMessages(w http.ResponseWriter, r *http.Request) {
	if s.convFault(w, r) {
		return
	}
	limit, asc, e := chatPageParams(r)
	if e != nil {
		writeOpenAIError(w, http.StatusBadRequest, *e, 0)
		return
	}
	id, after := r.PathValue("completion_id"), r.URL.Query().Get("after")
	c, ok := s.chats.get(id)
	if !ok {
		chatNotFound(w, id)
		return
	}
	msgs := slices.Clone(c.messages)
	if !asc {
		slices.Reverse(msgs)
	}
	start := 0
	if after != "" {
		i := slices.IndexFunc(msgs, func(m convItem) bool { return m.id == after })
		if i < 0 {
			writeOpenAIError(w, http.StatusBadRequest, *paramError("after", fmt.Sprintf("Invalid 'after': the chat completion holds no message with id '%s'.", after)), 0)
			return
		}
		start = i + 1
	}
	end := min(start+limit, len(msgs))
	s.convJSON(w, itemList(msgs[start:end], end < len(msgs)))
}
