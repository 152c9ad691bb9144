package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"sync"
	"unicode/utf8"
)

// OpenAI's Conversations API: stored conversations whose items the
// Responses API reads and extends.
//
//	POST   /v1/conversations                          create one, with items and metadata
//	GET    /v1/conversations/{conversation_id}        the conversation
//	POST   /v1/conversations/{conversation_id}        replace its metadata
//	DELETE /v1/conversations/{conversation_id}        forget it (conversation.deleted)
//	GET    /v1/conversations/{conversation_id}/items  its items, a cursor page
//	POST   /v1/conversations/{conversation_id}/items  add 1 to 20 items
//	GET    /v1/conversations/{conversation_id}/items/{item_id}
//	DELETE /v1/conversations/{conversation_id}/items/{item_id}  answers the conversation
//
// A conversation is {"id": "conv_<48 hex>", "object": "conversation",
// "created_at", "metadata"} (metadata {} when none). Metadata holds at
// most 16 string values, keys of at most 64 characters and values of at
// most 512; an update replaces it whole. A create takes at most 20 items,
// an add 1 to 20; each must be an object with a type (a message may leave
// it out: one with a role is a message). An item keeps the id it was given
// (an id the conversation already holds is a 400) and else gets one whose
// prefix follows its type (convItemPrefixes: msg_ for a message, fc_ for a
// function call, ...; item_ for a type not listed). A message needs a role
// (user, assistant, system or developer) and a content, a string or an
// array; a string becomes one input_text part, output_text for the
// assistant, and a message with no status gets "completed". Every other
// field is kept as given.
//
// The item list takes limit (1 to 100, default 20), order (asc or desc,
// the default: by when the items were added) and after (an item id; one
// the conversation does not hold is a 400 on param after); include is
// accepted and ignored. It answers object "list", data, first_id, last_id
// (null when empty) and has_more.
//
// A Responses API request naming a conversation ("conv_..." or {"id"})
// reads the conversation's items as the context before its input, and
// once its response is made the input (a string input as one user
// message) and the output are added to the conversation (see
// rsConversation). Its response carries "conversation": {"id"}.
//
// The simulator keeps the newest maxConversations conversations: making
// one more forgets the oldest, as the Responses and Videos stores do. A
// conversation holds at most maxConversationItems items: an add that
// would pass that is a 400 on param items, while a response adds its
// items anyway and the conversation forgets its oldest items instead, so
// that a long chat goes on as a sliding window rather than failing.
//
// Conversations belong to no model, so requests to these endpoints are
// not recorded (Calls) and a model's configured faults do not apply; the
// X-Sim-Fault header does (see convFault). Authorization is accepted and
// never required.

// Limits and defaults of the Conversations API.
const (
	maxConversations     = 10000 // conversations kept, newest
	maxConversationItems = 1000  // items a conversation holds
	maxItemsPerRequest   = 20    // items a create or an add may carry
	maxMetadataKeys      = 16
	maxMetadataKey       = 64  // characters
	maxMetadataValue     = 512 // characters
	defaultItemPage      = 20
	maxItemPage          = 100
	convIDHex            = 48 // hex digits of a conversation's and an item's id
)

// convOrders are the values the item list's order may take.
var convOrders = []string{"asc", "desc"}

// convRoles are the roles a message item may have.
var convRoles = []string{"user", "assistant", "system", "developer"}

// convItemPrefixes are the id prefixes of the items the simulator names,
// by type, as OpenAI's ids of those items start.
var convItemPrefixes = map[string]string{
	"message":                 "msg_",
	"function_call":           "fc_",
	"function_call_output":    "fco_",
	"reasoning":               "rs_",
	"web_search_call":         "ws_",
	"file_search_call":        "fs_",
	"computer_call":           "cu_",
	"computer_call_output":    "cuo_",
	"image_generation_call":   "ig_",
	"code_interpreter_call":   "ci_",
	"local_shell_call":        "lsh_",
	"local_shell_call_output": "lsho_",
	"mcp_list_tools":          "mcpl_",
	"mcp_approval_request":    "mcpr_",
	"mcp_approval_response":   "mcpa_",
	"mcp_call":                "mcp_",
	"custom_tool_call":        "ctc_",
	"custom_tool_call_output": "ctco_",
}

// defaultItemPrefix is the id prefix of an item of a type not in
// convItemPrefixes.
const defaultItemPrefix = "item_"

// convItem is one item of a conversation: its id and the item as the API
// shows it, id included. The body is never changed once made, so it may
// be shared after the store's lock is released.
type convItem struct {
	id   string
	body json.RawMessage
}

// conversation is one stored conversation.
type conversation struct {
	id       string
	created  int64
	metadata map[string]string // replaced whole, never changed in place
	items    []convItem        // oldest first
}

// conversationObject is OpenAI's conversation object, in the order the API
// sends it.
type conversationObject struct {
	ID        string            `json:"id"`
	Object    string            `json:"object"`
	CreatedAt int64             `json:"created_at"`
	Metadata  map[string]string `json:"metadata"`
}

// object is the conversation as the API shows it. Call it under the
// store's lock, or on a conversation no other goroutine can reach.
func (c *conversation) object() conversationObject {
	md := c.metadata
	if md == nil {
		md = map[string]string{}
	}
	return conversationObject{ID: c.id, Object: "conversation", CreatedAt: c.created, Metadata: md}
}

// holds tells whether the conversation holds an item with id.
func (c *conversation) holds(id string) bool {
	return slices.ContainsFunc(c.items, func(it convItem) bool { return it.id == id })
}

// conversationStore keeps the newest maxConversations conversations. The
// zero value is ready to use.
type conversationStore struct {
	mu    sync.Mutex
	byID  map[string]*conversation
	order []string // ids, oldest first
}

// create keeps c, forgetting the oldest conversation when the store is full.
func (cs *conversationStore) create(c *conversation) conversationObject {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.byID == nil {
		cs.byID = map[string]*conversation{}
	}
	if len(cs.order) >= maxConversations {
		delete(cs.byID, cs.order[0])
		cs.order = slices.Delete(cs.order, 0, 1)
	}
	cs.byID[c.id] = c
	cs.order = append(cs.order, c.id)
	return c.object()
}

// object is the conversation with id, and whether the store holds it.
func (cs *conversationStore) object(id string) (conversationObject, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c, ok := cs.byID[id]
	if !ok {
		return conversationObject{}, false
	}
	return c.object(), true
}

// setMetadata replaces the metadata of the conversation with id.
func (cs *conversationStore) setMetadata(id string, md map[string]string) (conversationObject, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c, ok := cs.byID[id]
	if !ok {
		return conversationObject{}, false
	}
	c.metadata = md
	return c.object(), true
}

func (cs *conversationStore) remove(id string) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if _, ok := cs.byID[id]; !ok {
		return false
	}
	delete(cs.byID, id)
	cs.order = slices.DeleteFunc(cs.order, func(o string) bool { return o == id })
	return true
}

// items is a copy of the items of the conversation with id, oldest first.
func (cs *conversationStore) items(id string) ([]convItem, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c, ok := cs.byID[id]
	if !ok {
		return nil, false
	}
	return slices.Clone(c.items), true
}

// add appends items to the conversation with id, or returns the 400 on
// param items when one of their ids is already held or the conversation
// would hold more than maxConversationItems. found is false when there is
// no such conversation.
func (cs *conversationStore) add(id string, items []convItem) (e *oaError, found bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c, ok := cs.byID[id]
	if !ok {
		return nil, false
	}
	for i, it := range items {
		if c.holds(it.id) {
			return paramError(fmt.Sprintf("items[%d].id", i), fmt.Sprintf("Invalid 'items[%d].id': the conversation already holds an item with id '%s'.", i, it.id)), true
		}
	}
	if n := len(c.items) + len(items); n > maxConversationItems {
		return paramError("items", fmt.Sprintf("Invalid 'items': the conversation holds %d items; adding %d would pass its limit of %d.", len(c.items), len(items), maxConversationItems)), true
	}
	c.items = append(c.items, items...)
	return nil, true
}

// extend appends a response's items to the conversation with id, if it is
// still kept. An item whose id the conversation already holds (an earlier
// item the client sent again) is not added twice, and past
// maxConversationItems the oldest items are forgotten: a response is
// never refused for its conversation's length.
func (cs *conversationStore) extend(id string, items []convItem) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c, ok := cs.byID[id]
	if !ok {
		return
	}
	for _, it := range items {
		if !c.holds(it.id) {
			c.items = append(c.items, it)
		}
	}
	if extra := len(c.items) - maxConversationItems; extra > 0 {
		c.items = slices.Delete(c.items, 0, extra)
	}
}

// item is the item itemID of the conversation with id. convFound is false
// when there is no such conversation, itemFound when it holds no such item.
func (cs *conversationStore) item(id, itemID string) (it convItem, convFound, itemFound bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c, ok := cs.byID[id]
	if !ok {
		return convItem{}, false, false
	}
	i := slices.IndexFunc(c.items, func(it convItem) bool { return it.id == itemID })
	if i < 0 {
		return convItem{}, true, false
	}
	return c.items[i], true, true
}

// removeItem forgets the item itemID of the conversation with id and
// returns the conversation; convFound and itemFound are as item's.
func (cs *conversationStore) removeItem(id, itemID string) (obj conversationObject, convFound, itemFound bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c, ok := cs.byID[id]
	if !ok {
		return conversationObject{}, false, false
	}
	n := len(c.items)
	c.items = slices.DeleteFunc(c.items, func(it convItem) bool { return it.id == itemID })
	return c.object(), true, len(c.items) < n
}

// page is up to limit items of the conversation with id after the item
// with id after ("" for the start), oldest first when asc, else newest
// first, and whether more follow. convFound is false when there is no
// such conversation, afterFound when after names no item of it.
func (cs *conversationStore) page(id, after string, limit int, asc bool) (items []convItem, more, convFound, afterFound bool) {
	all, ok := cs.items(id)
	if !ok {
		return nil, false, false, false
	}
	if !asc {
		slices.Reverse(all)
	}
	start := 0
	if after != "" {
		i := slices.IndexFunc(all, func(it convItem) bool { return it.id == after })
		if i < 0 {
			return nil, false, true, false
		}
		start = i + 1
	}
	end := min(start+limit, len(all))
	return all[start:end], end < len(all), true, true
}

// conversationNotFound is the 404 for a conversation the simulator does
// not hold; param is "" for none (the conversation is in the path) or the
// request field that named it.
func conversationNotFound(w http.ResponseWriter, id, param string) {
	e := conversationMissing(id)
	if param != "" {
		e.Param = strp(param)
	}
	writeOpenAIError(w, http.StatusNotFound, e, 0)
}

func conversationMissing(id string) oaError {
	return oaError{Message: fmt.Sprintf("Conversation with id '%s' not found.", id), Type: "invalid_request_error"}
}

// itemNotFound is the 404 for an item the conversation does not hold.
func itemNotFound(w http.ResponseWriter, itemID string) {
	writeOpenAIError(w, http.StatusNotFound, oaError{
		Message: fmt.Sprintf("Item with id '%s' not found.", itemID), Type: "invalid_request_error",
	}, 0)
}

// convFault applies the X-Sim-Fault header to a Conversations API request
// and reports whether it answered the request. These requests name no
// model, so no model's configured faults can apply, but the header names
// its fault itself, and a gateway's retries on these endpoints deserve
// testing too. status, down, content_policy, reset and hang act as on a
// chat; slow_first_token delays the answer by its delay; context_length
// and the mid-stream faults have no prompt or stream to act on and are
// ignored, as a mid-stream fault is on a request that does not stream.
func (s *Server) convFault(w http.ResponseWriter, r *http.Request) bool {
	h := r.Header.Get("X-Sim-Fault")
	if h == "" {
		return false
	}
	f, err := parseFaultHeader(h)
	if err != nil {
		openAI{s}.badRequest(w, err.Error())
		return true
	}
	s.log.Debug("sim: fault", "fault", string(f.Type), "path", r.URL.Path)
	switch {
	case f.Type == FaultSlowFirstToken:
		// A client gone while waiting is owed no answer.
		return sleep(r.Context(), f.Delay) != nil
	case f.Type == FaultContextLength || f.Type.midStream():
		return false
	}
	return s.preFault(w, r, openAI{s}, &f, &prompt{}, Model{})
}

// convJSON answers v with a request id, as the real API does.
func (s *Server) convJSON(w http.ResponseWriter, v any) {
	writeJSON(w, http.StatusOK, v, map[string]string{"x-request-id": "req_" + s.nextID(24)})
}

// readConvBody reads a JSON object body, or returns its 400.
func readConvBody(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, *oaError) {
	body, err := readBody(w, r)
	var fields map[string]json.RawMessage
	var msg string
	switch {
	case err != nil:
		msg = errDecode(err)
	case !json.Valid(body):
		msg = errDecode(json.Unmarshal(body, &fields))
	case json.Unmarshal(body, &fields) != nil || fields == nil:
		// Valid JSON that is no object (an array, a string, null): errDecode
		// would word it as Go's type, which no client should see.
		msg = "expected an object, but got " + oaKind(body)
	default:
		return fields, nil
	}
	return nil, &oaError{Message: "We could not parse the JSON body of your request. (" + msg + ")", Type: "invalid_request_error"}
}

// convMetadata reads a metadata object, or returns the 400 on param
// metadata. Lengths count characters, not bytes.
func convMetadata(raw json.RawMessage) (map[string]string, *oaError) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil || fields == nil {
		return nil, paramError("metadata", fmt.Sprintf("Invalid type for 'metadata': expected an object, but got %s instead.", oaKind(raw)))
	}
	if len(fields) > maxMetadataKeys {
		return nil, paramError("metadata", fmt.Sprintf("Invalid 'metadata': too many properties. Expected an object with at most %d properties, but got an object with %d properties instead.", maxMetadataKeys, len(fields)))
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the first bad key named is the same on every call
	md := make(map[string]string, len(fields))
	for _, k := range keys {
		if n := utf8.RuneCountInString(k); n > maxMetadataKey {
			return nil, paramError("metadata", fmt.Sprintf("Invalid 'metadata': key too long. Expected a key with maximum length %d, but got a key with length %d instead.", maxMetadataKey, n))
		}
		var v string
		if json.Unmarshal(fields[k], &v) != nil {
			return nil, paramError("metadata", fmt.Sprintf("Invalid type for 'metadata.%s': expected a string, but got %s instead.", k, oaKind(fields[k])))
		}
		if n := utf8.RuneCountInString(v); n > maxMetadataValue {
			return nil, paramError("metadata", fmt.Sprintf("Invalid 'metadata.%s': string too long. Expected a string with maximum length %d, but got a string with length %d instead.", k, maxMetadataValue, n))
		}
		md[k] = v
	}
	return md, nil
}

// convItems reads the items field of a create (required false: it may be
// absent or empty) or an add, naming each item, or returns the 400.
func (s *Server) convItems(fields map[string]json.RawMessage, required bool) ([]convItem, *oaError) {
	if !present(fields, "items") {
		if required {
			return nil, paramError("items", "Missing required parameter: 'items'.")
		}
		return nil, nil
	}
	var raws []json.RawMessage
	if json.Unmarshal(fields["items"], &raws) != nil {
		return nil, paramError("items", fmt.Sprintf("Invalid type for 'items': expected an array, but got %s instead.", oaKind(fields["items"])))
	}
	switch {
	case len(raws) == 0 && required:
		return nil, paramError("items", "Invalid 'items': empty array. Expected an array with minimum length 1, but got an empty array instead.")
	case len(raws) > maxItemsPerRequest:
		return nil, paramError("items", fmt.Sprintf("Invalid 'items': array too long. Expected an array with maximum length %d, but got an array with length %d instead.", maxItemsPerRequest, len(raws)))
	}
	items := make([]convItem, 0, len(raws))
	for i, raw := range raws {
		param := fmt.Sprintf("items[%d]", i)
		it, e := s.convItem(raw, param)
		if e != nil {
			return nil, e
		}
		if slices.ContainsFunc(items, func(o convItem) bool { return o.id == it.id }) {
			return nil, paramError(param+".id", fmt.Sprintf("Invalid '%s.id': duplicate item id '%s'.", param, it.id))
		}
		items = append(items, it)
	}
	return items, nil
}

// convItem checks one item (param names it in errors) and makes it as the
// conversation keeps it: with an id, and for a message its type, a status
// and content parts.
func (s *Server) convItem(raw json.RawMessage, param string) (convItem, *oaError) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil || fields == nil {
		return convItem{}, paramError(param, fmt.Sprintf("Invalid type for '%s': expected an object, but got %s instead.", param, oaKind(raw)))
	}
	str := func(k string) (string, *oaError) {
		var v string
		if json.Unmarshal(fields[k], &v) != nil {
			return "", paramError(param+"."+k, fmt.Sprintf("Invalid type for '%s.%s': expected a string, but got %s instead.", param, k, oaKind(fields[k])))
		}
		return v, nil
	}
	var typ string
	switch {
	case present(fields, "type"):
		var e *oaError
		if typ, e = str("type"); e != nil {
			return convItem{}, e
		}
	case present(fields, "role"):
		// The easy input message of the Responses API leaves its type out.
		typ = "message"
		fields["type"], _ = json.Marshal(typ) // a string always marshals
	default:
		return convItem{}, paramError(param+".type", fmt.Sprintf("Missing required parameter: '%s.type'.", param))
	}
	var id string
	if present(fields, "id") {
		var e *oaError
		if id, e = str("id"); e != nil {
			return convItem{}, e
		}
	}
	if id == "" {
		prefix, ok := convItemPrefixes[typ]
		if !ok {
			prefix = defaultItemPrefix
		}
		id = prefix + s.nextID(convIDHex)
		fields["id"], _ = json.Marshal(id)
	}
	if typ == "message" {
		if e := convMessage(fields, param, str); e != nil {
			return convItem{}, e
		}
	}
	body, err := json.Marshal(fields)
	if err != nil {
		return convItem{}, paramError(param, fmt.Sprintf("Invalid '%s': %v", param, err))
	}
	return convItem{id: id, body: body}, nil
}

// convMessage checks a message item's role and content and completes it:
// a string content becomes one text part, input_text for the user, the
// system and the developer and output_text for the assistant, and a
// message with no status gets "completed".
func convMessage(fields map[string]json.RawMessage, param string, str func(string) (string, *oaError)) *oaError {
	if !present(fields, "role") {
		return paramError(param+".role", fmt.Sprintf("Missing required parameter: '%s.role'.", param))
	}
	role, e := str("role")
	if e != nil {
		return e
	}
	if !slices.Contains(convRoles, role) {
		return paramError(param+".role", invalidValue(role, convRoles))
	}
	if !present(fields, "content") {
		return paramError(param+".content", fmt.Sprintf("Missing required parameter: '%s.content'.", param))
	}
	var text string
	var parts []json.RawMessage
	switch {
	case json.Unmarshal(fields["content"], &text) == nil:
		part := map[string]any{"type": "input_text", "text": text}
		if role == "assistant" {
			part = map[string]any{"type": "output_text", "text": text, "annotations": []any{}}
		}
		fields["content"] = mustJSON([]any{part})
	case json.Unmarshal(fields["content"], &parts) != nil:
		return paramError(param+".content", fmt.Sprintf("Invalid type for '%s.content': expected a string or an array, but got %s instead.", param, oaKind(fields["content"])))
	}
	if !present(fields, "status") {
		fields["status"], _ = json.Marshal("completed")
	}
	return nil
}

// itemList is OpenAI's list of conversation items.
func itemList(items []convItem, more bool) map[string]any {
	data := make([]json.RawMessage, len(items))
	for i, it := range items {
		data[i] = it.body
	}
	var first, last *string
	if len(items) > 0 {
		first, last = &items[0].id, &items[len(items)-1].id
	}
	return map[string]any{"object": "list", "data": data, "first_id": first, "last_id": last, "has_more": more}
}

func (s *Server) handleConversationCreate(w http.ResponseWriter, r *http.Request) {
	if s.convFault(w, r) {
		return
	}
	fields, e := readConvBody(w, r)
	if e == nil {
		if msg := unrecognized(fields, "items", "metadata"); msg != "" {
			e = &oaError{Message: msg, Type: "invalid_request_error"}
		}
	}
	var items []convItem
	if e == nil {
		items, e = s.convItems(fields, false)
	}
	var md map[string]string
	if e == nil && present(fields, "metadata") {
		md, e = convMetadata(fields["metadata"])
	}
	if e != nil {
		writeOpenAIError(w, http.StatusBadRequest, *e, 0)
		return
	}
	c := &conversation{id: "conv_" + s.nextID(convIDHex), created: s.now().Unix(), metadata: md, items: items}
	s.convJSON(w, s.conversations.create(c))
}

func (s *Server) handleConversationGet(w http.ResponseWriter, r *http.Request) {
	if s.convFault(w, r) {
		return
	}
	id := r.PathValue("conversation_id")
	obj, ok := s.conversations.object(id)
	if !ok {
		conversationNotFound(w, id, "")
		return
	}
	s.convJSON(w, obj)
}

// readMetadataUpdate reads a metadata update's body, {"metadata": {...}}
// and nothing else (a conversation's, a stored completion's), or answers
// its 400 and returns false.
func readMetadataUpdate(w http.ResponseWriter, r *http.Request) (map[string]string, bool) {
	fields, e := readConvBody(w, r)
	if e == nil {
		if msg := unrecognized(fields, "metadata"); msg != "" {
			e = &oaError{Message: msg, Type: "invalid_request_error"}
		}
	}
	var md map[string]string
	switch {
	case e != nil:
	case !present(fields, "metadata"):
		e = paramError("metadata", "Missing required parameter: 'metadata'.")
	default:
		md, e = convMetadata(fields["metadata"])
	}
	if e != nil {
		writeOpenAIError(w, http.StatusBadRequest, *e, 0)
		return nil, false
	}
	return md, true
}

func (s *Server) handleConversationUpdate(w http.ResponseWriter, r *http.Request) {
	if s.convFault(w, r) {
		return
	}
	md, ok := readMetadataUpdate(w, r)
	if !ok {
		return
	}
	id := r.PathValue("conversation_id")
	obj, ok := s.conversations.setMetadata(id, md)
	if !ok {
		conversationNotFound(w, id, "")
		return
	}
	s.convJSON(w, obj)
}

func (s *Server) handleConversationDelete(w http.ResponseWriter, r *http.Request) {
	if s.convFault(w, r) {
		return
	}
	id := r.PathValue("conversation_id")
	if !s.conversations.remove(id) {
		conversationNotFound(w, id, "")
		return
	}
	s.convJSON(w, map[string]any{"id": id, "object": "conversation.deleted", "deleted": true})
}

// itemPageParams reads the item list's limit and order, or returns the
// 400 on the param at fault.
func itemPageParams(r *http.Request) (limit int, asc bool, e *oaError) {
	q := r.URL.Query()
	limit = defaultItemPage
	if v := q.Get("limit"); q.Has("limit") {
		n, err := strconv.Atoi(v)
		var msg string
		switch {
		case err != nil:
			msg = fmt.Sprintf("Invalid type for 'limit': expected an integer, but got '%s' instead.", v)
		case n < 1:
			msg = fmt.Sprintf("Invalid 'limit': integer below minimum value. Expected a value >= 1, but got %d instead.", n)
		case n > maxItemPage:
			msg = fmt.Sprintf("Invalid 'limit': integer above maximum value. Expected a value <= %d, but got %d instead.", maxItemPage, n)
		}
		if msg != "" {
			return 0, false, paramError("limit", msg)
		}
		limit = n
	}
	if v := q.Get("order"); q.Has("order") {
		if !slices.Contains(convOrders, v) {
			return 0, false, paramError("order", invalidValue(v, convOrders))
		}
		asc = v == "asc"
	}
	return limit, asc, nil
}

func (s *Server) handleConversationItemList(w http.ResponseWriter, r *http.Request) {
	if s.convFault(w, r) {
		return
	}
	limit, asc, e := itemPageParams(r)
	if e != nil {
		writeOpenAIError(w, http.StatusBadRequest, *e, 0)
		return
	}
	id, after := r.PathValue("conversation_id"), r.URL.Query().Get("after")
	items, more, convFound, afterFound := s.conversations.page(id, after, limit, asc)
	switch {
	case !convFound:
		conversationNotFound(w, id, "")
	case !afterFound:
		writeOpenAIError(w, http.StatusBadRequest, *paramError("after", fmt.Sprintf("Invalid 'after': the conversation holds no item with id '%s'.", after)), 0)
	default:
		s.convJSON(w, itemList(items, more))
	}
}

func (s *Server) handleConversationItemAdd(w http.ResponseWriter, r *http.Request) {
	if s.convFault(w, r) {
		return
	}
	fields, e := readConvBody(w, r)
	if e == nil {
		if msg := unrecognized(fields, "items"); msg != "" {
			e = &oaError{Message: msg, Type: "invalid_request_error"}
		}
	}
	var items []convItem
	if e == nil {
		items, e = s.convItems(fields, true)
	}
	if e != nil {
		writeOpenAIError(w, http.StatusBadRequest, *e, 0)
		return
	}
	id := r.PathValue("conversation_id")
	e, found := s.conversations.add(id, items)
	switch {
	case !found:
		conversationNotFound(w, id, "")
	case e != nil:
		writeOpenAIError(w, http.StatusBadRequest, *e, 0)
	default:
		s.convJSON(w, itemList(items, false))
	}
}

func (s *Server) handleConversationItemGet(w http.ResponseWriter, r *http.Request) {
	if s.convFault(w, r) {
		return
	}
	id, itemID := r.PathValue("conversation_id"), r.PathValue("item_id")
	it, convFound, itemFound := s.conversations.item(id, itemID)
	switch {
	case !convFound:
		conversationNotFound(w, id, "")
	case !itemFound:
		itemNotFound(w, itemID)
	default:
		s.convJSON(w, it.body)
	}
}

func (s *Server) handleConversationItemDelete(w http.ResponseWriter, r *http.Request) {
	if s.convFault(w, r) {
		return
	}
	id, itemID := r.PathValue("conversation_id"), r.PathValue("item_id")
	obj, convFound, itemFound := s.conversations.removeItem(id, itemID)
	switch {
	case !convFound:
		conversationNotFound(w, id, "")
	case !itemFound:
		itemNotFound(w, itemID)
	default:
		s.convJSON(w, obj)
	}
}

// rsConversation is the conversation of one Responses API request, shared
// by the request, which reads it into the prompt, and the dialect, which
// answers with it: prompt can only report a 400's message, so the 404 of
// an unknown conversation, and 400s on param conversation, wait in fail
// for the dialect's badRequest to send.
type rsConversation struct {
	id     string     // the conversation, or "" when the request names none
	input  []convItem // the request's input as conversation items, added with the output
	fail   *oaError   // the error found reading the request, or nil
	status int        // fail's status
}

// refuse keeps the error e with its status and returns its message.
func (c *rsConversation) refuse(status int, e *oaError) string {
	c.fail, c.status = e, status
	return e.Message
}

// load reads the request's conversation field (raw: a conversation id or
// {"id"}, or nothing) and returns the conversation's items, oldest first,
// to put before the input, or the message of the error kept in fail. A
// conversation cannot be continued from a response as well, because both
// say what came before the input.
func (c *rsConversation) load(s *Server, raw json.RawMessage, previousID string) ([]rsItem, string) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, ""
	}
	if previousID != "" {
		return nil, c.refuse(http.StatusBadRequest, paramError("conversation",
			"Mutually exclusive parameters: Ensure you are only providing one of: 'previous_response_id' or 'conversation'; they cannot be used together."))
	}
	var id string
	var obj map[string]json.RawMessage
	switch {
	case json.Unmarshal(raw, &id) == nil:
	case json.Unmarshal(raw, &obj) == nil && obj != nil:
		if !present(obj, "id") {
			return nil, c.refuse(http.StatusBadRequest, paramError("conversation.id", "Missing required parameter: 'conversation.id'."))
		}
		if json.Unmarshal(obj["id"], &id) != nil {
			return nil, c.refuse(http.StatusBadRequest, paramError("conversation.id",
				fmt.Sprintf("Invalid type for 'conversation.id': expected a string, but got %s instead.", oaKind(obj["id"]))))
		}
	default:
		return nil, c.refuse(http.StatusBadRequest, paramError("conversation",
			fmt.Sprintf("Invalid type for 'conversation': expected a string or an object, but got %s instead.", oaKind(raw))))
	}
	if id == "" {
		return nil, c.refuse(http.StatusBadRequest, paramError("conversation",
			"Invalid 'conversation': empty string. Expected a string with minimum length 1, but got an empty string instead."))
	}
	items, ok := s.conversations.items(id)
	if !ok {
		e := conversationMissing(id)
		e.Param = strp("conversation")
		return nil, c.refuse(http.StatusNotFound, &e)
	}
	c.id = id
	history := make([]rsItem, 0, len(items))
	for _, it := range items {
		var ri rsItem
		_ = json.Unmarshal(it.body, &ri) // stored bodies are objects; a field of an odd type is left empty
		history = append(history, ri)
	}
	return history, ""
}

// takeInput makes the request's input (a string, or an array of items)
// the conversation items it adds once answered, or returns the message of
// the 400 kept in fail.
func (c *rsConversation) takeInput(s *Server, input json.RawMessage) string {
	var raws []json.RawMessage
	var text string
	if json.Unmarshal(input, &text) == nil {
		raws = []json.RawMessage{mustJSON(map[string]any{"type": "message", "role": "user", "content": text})}
	} else if json.Unmarshal(input, &raws) != nil {
		return "" // prompt has refused it already
	}
	for i, raw := range raws {
		it, e := s.convItem(raw, fmt.Sprintf("input[%d]", i))
		if e != nil {
			return c.refuse(http.StatusBadRequest, e)
		}
		c.input = append(c.input, it)
	}
	return ""
}

// record adds the request's input and the response's output items to the
// conversation, once the response is made.
func (c *rsConversation) record(s *Server, output []any) {
	if c == nil || c.id == "" {
		return
	}
	items := slices.Clone(c.input)
	for _, o := range output {
		m, _ := o.(map[string]any)
		id, _ := m["id"].(string)
		items = append(items, convItem{id: id, body: mustJSON(o)})
	}
	s.conversations.extend(c.id, items)
}
