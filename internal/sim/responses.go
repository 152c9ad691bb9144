package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// responsesAPI is the OpenAI Responses API (POST /v1/responses). Its errors
// are OpenAI's; its answer is a response object whose output holds a
// message (output_text) or a function_call; its stream is typed events,
// each with a sequence_number, ending with response.completed (or
// response.incomplete when max_output_tokens cut the answer), and no
// [DONE]. A request may name a conversation of the Conversations API (see
// conversations.go): its items come before the input, the input and the
// output are added to it, and the response carries its id.
type responsesAPI struct {
	openAI
	conv *rsConversation // the request's conversation; nil outside a request
	req  *rsRequest      // the request, whose input a kept response keeps; nil outside a request
}

// rsRequest is the part of a Responses API request the simulator reads.
type rsRequest struct {
	s    *Server         // for previous_response_id; not part of the JSON
	conv *rsConversation // the conversation named, shared with the dialect; not part of the JSON
	// compact is set by a compaction (see responses_extra.go), not the
	// JSON: the items of previous_response_id's conversation are read as
	// context before the input, and kept in prior for the compaction to
	// list, and input may be left out when previous_response_id is given.
	compact bool
	prior   []json.RawMessage

	Model           string          `json:"model"`
	Input           json.RawMessage `json:"input"`
	Instructions    string          `json:"instructions"`
	Stream          bool            `json:"stream"`
	MaxOutputTokens *int            `json:"max_output_tokens"`
	Tools           []struct {
		Type        string          `json:"type"`
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
	} `json:"tools"`
	ToolChoice         json.RawMessage `json:"tool_choice"`
	PreviousResponseID string          `json:"previous_response_id"`
	Conversation       json.RawMessage `json:"conversation"`
	Store              *bool           `json:"store"`
	Text               *struct {
		Format struct {
			Type   string          `json:"type"`
			Schema json.RawMessage `json:"schema"`
		} `json:"format"`
	} `json:"text"`
}

// rsItem is one input item: a message (role and content) or a function
// call or its output.
type rsItem struct {
	Type      string          `json:"type"`
	Role      string          `json:"role"`
	Content   json.RawMessage `json:"content"`
	Name      string          `json:"name"`
	Arguments string          `json:"arguments"`
	Output    json.RawMessage `json:"output"`
	// EncryptedContent is a reasoning item's: the simulator makes none,
	// so, as OpenAI does with another organisation's, it can verify none.
	// A compaction item's is the simulator's own (see sealCompaction).
	EncryptedContent *string `json:"encrypted_content"`
}

func (s *Server) handleResponses(w http.ResponseWriter, r *http.Request) {
	conv := &rsConversation{}
	req := &rsRequest{s: s, conv: conv}
	s.handleOpenAIStyle(w, r, responsesAPI{openAI: openAI{s}, conv: conv, req: req}, req)
}

// badRequest answers the error rsConversation kept while the request was
// read (a 404 or a 400 on param conversation), else a plain 400.
func (d responsesAPI) badRequest(w http.ResponseWriter, msg string) {
	if d.conv != nil && d.conv.fail != nil {
		writeOpenAIError(w, d.conv.status, *d.conv.fail, 0)
		return
	}
	d.openAI.badRequest(w, msg)
}

func (req *rsRequest) target() (string, bool) { return req.Model, req.Stream }

// prompt extracts the prompt, or returns the message of a 400.
func (req *rsRequest) prompt() (*prompt, string) {
	if req.Model == "" {
		return nil, "Missing required parameter: 'model'."
	}
	return req.read()
}

// read is prompt without the check that a model is named, which an input
// token count leaves out: there the model is optional.
func (req *rsRequest) read() (*prompt, string) {
	if req.conv == nil { // a request decoded outside handleResponses
		req.conv = &rsConversation{}
	}
	history, msg := req.conv.load(req.s, req.Conversation, req.PreviousResponseID)
	if msg != "" {
		return nil, msg
	}
	if id := req.PreviousResponseID; id != "" && !req.s.stored.has(req.Model, id) {
		// Stored responses belong to the model (the account) that made them.
		return nil, fmt.Sprintf("Previous response with id '%s' not found.", id)
	}
	if req.compact && req.PreviousResponseID != "" {
		req.prior = req.s.stored.chain(req.PreviousResponseID)
		for _, raw := range req.prior {
			var it rsItem
			_ = json.Unmarshal(raw, &it) // the items were checked when they were sent, or made here
			history = append(history, it)
		}
	}
	p := &prompt{includeUsage: true, store: req.Store == nil || *req.Store, previousID: req.PreviousResponseID}
	p.add(req.Instructions)
	for _, it := range history {
		// The conversation's items were checked when they were added. One
		// of a kind the simulator does not read adds what it could read,
		// rather than failing every later request of the conversation.
		_ = p.addRSItem(it)
	}
	var str string
	var items []rsItem
	switch {
	case len(req.Input) == 0 || string(req.Input) == "null":
		// A compaction may compact previous_response_id's conversation alone.
		if !req.compact || req.PreviousResponseID == "" {
			return nil, "Missing required parameter: 'input'."
		}
	case json.Unmarshal(req.Input, &str) == nil:
		p.add("user")
		p.add(str)
		p.lastFromUser = true
	case json.Unmarshal(req.Input, &items) == nil:
		if len(items) == 0 {
			return nil, "Invalid 'input': empty array. Expected an array with minimum length 1."
		}
		for i, it := range items {
			if it.Type == "reasoning" && it.EncryptedContent != nil {
				return nil, fmt.Sprintf("The encrypted content for item input[%d] could not be verified.", i)
			}
			if it.Type == "compaction" {
				if e := compactionProblem(it, i); e != nil {
					return nil, req.conv.refuse(http.StatusBadRequest, e)
				}
			}
			if msg := p.addRSItem(it); msg != "" {
				return nil, msg
			}
		}
		last := items[len(items)-1]
		p.lastFromUser = last.Type != "function_call_output" && last.Role == "user"
	default:
		return nil, fmt.Sprintf("Invalid type for 'input': expected a string or an array, got %s.", string(req.Input[:1]))
	}
	if req.conv.id != "" {
		if msg := req.conv.takeInput(req.s, req.Input); msg != "" {
			return nil, msg
		}
	}
	for _, t := range req.Tools {
		if t.Type != "function" {
			continue
		}
		p.tools = append(p.tools, tool{name: t.Name, schema: t.Parameters})
		p.add(t.Name)
		p.add(t.Description)
		p.add(string(t.Parameters))
	}
	p.setToolChoice(req.ToolChoice)
	if req.Text != nil {
		switch req.Text.Format.Type {
		case "json_object":
			p.jsonMode = true
		case "json_schema":
			p.jsonMode, p.jsonSchema = true, req.Text.Format.Schema
		}
	}
	if req.MaxOutputTokens != nil {
		if *req.MaxOutputTokens < 16 {
			return nil, fmt.Sprintf("Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got %d instead.", *req.MaxOutputTokens)
		}
		p.maxTokens = *req.MaxOutputTokens
	}
	return p, ""
}

// addRSItem adds an input item's text (and images) to the prompt, or
// returns the message of a 400. A reasoning item adds nothing: the
// simulator makes none, so it has none to read. A compaction item adds
// its summary as an assistant message would, the summary being the
// model's own account of the items it stands for; one the simulator
// cannot read (refused in a request's input, see compactionProblem) adds
// nothing.
func (p *prompt) addRSItem(it rsItem) string {
	switch it.Type {
	case "reasoning":
	case "compaction":
		if summary, ok := openCompactionItem(it); ok {
			p.add("assistant")
			p.add(summary)
		}
	case "function_call":
		p.add(it.Name)
		p.add(it.Arguments)
	case "function_call_output":
		p.add(string(it.Output))
	default: // a message, with or without "type": "message"
		p.add(it.Role)
		var str string
		if json.Unmarshal(it.Content, &str) == nil {
			p.add(str)
			return ""
		}
		var parts []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if json.Unmarshal(it.Content, &parts) != nil {
			return "Invalid type for 'input.content': expected a string or an array."
		}
		for _, part := range parts {
			if part.Type == "input_image" {
				p.images++
			} else {
				p.add(part.Text)
			}
		}
	}
	return ""
}

// response is the response object of x with the given status and output.
func (d responsesAPI) response(x *exchange, id, status string, output []any, usage any) map[string]any {
	var incomplete any
	if status == "incomplete" {
		incomplete = map[string]any{"reason": "max_output_tokens"}
	}
	var maxOut any
	if x.p.maxTokens > 0 {
		maxOut = x.p.maxTokens
	}
	var previous any
	if x.p.previousID != "" {
		previous = x.p.previousID
	}
	obj := map[string]any{
		"id": "resp_" + id, "object": "response", "created_at": x.created, "status": status,
		"error": nil, "incomplete_details": incomplete, "instructions": nil, "max_output_tokens": maxOut,
		"model": x.model.Name, "output": output, "parallel_tool_calls": true, "previous_response_id": previous,
		"reasoning": map[string]any{"effort": nil, "summary": nil}, "store": x.p.store, "temperature": 1.0,
		"text": map[string]any{"format": map[string]any{"type": "text"}}, "tool_choice": "auto", "tools": []any{},
		"top_p": 1.0, "truncation": "disabled", "usage": usage, "user": nil, "metadata": map[string]any{},
	}
	// Without a conversation the field is left out, as it always was here;
	// the SDKs read a missing one as null.
	if d.conv != nil && d.conv.id != "" {
		obj["conversation"] = map[string]any{"id": d.conv.id}
	}
	return obj
}

func rsUsage(x *exchange, out int) map[string]any {
	in := x.input
	out += x.reasoning
	return map[string]any{
		"input_tokens": in, "input_tokens_details": map[string]any{"cached_tokens": x.cached},
		"output_tokens": out, "output_tokens_details": map[string]any{"reasoning_tokens": x.reasoning},
		"total_tokens": in + out,
	}
}

// item is the output item of rep, complete or (done false) just opened.
func rsOutputItem(id string, rep reply, text string, done bool) map[string]any {
	status := "in_progress"
	if done {
		status = "completed"
	}
	if rep.toolName != "" {
		return map[string]any{"type": "function_call", "id": "fc_" + id, "call_id": "call_" + id,
			"name": rep.toolName, "arguments": text, "status": status}
	}
	content := []any{}
	if done {
		content = append(content, map[string]any{"type": "output_text", "text": text, "annotations": []any{}})
	}
	return map[string]any{"type": "message", "id": "msg_" + id, "status": status, "role": "assistant", "content": content}
}

func rsStatus(rep reply) string {
	if rep.truncated {
		return "incomplete"
	}
	return "completed"
}

func (d responsesAPI) respond(w http.ResponseWriter, x *exchange, rep reply) {
	id := d.s.nextID(24)
	output := []any{rsOutputItem(id, rep, rep.text(), true)}
	obj := d.response(x, id, rsStatus(rep), output, rsUsage(x, len(rep.tokens)))
	d.keep(x, "resp_"+id, obj)
	d.conv.record(d.s, output) // before the client can list the conversation
	writeJSON(w, http.StatusOK, obj, map[string]string{"x-request-id": "req_" + id, "openai-processing-ms": "1"})
}

// keep stores a finished response object for GET /v1/responses/{id} and
// previous_response_id, unless the request said store: false. The
// request's input items and previous_response_id are kept with it, so
// that a compaction continuing it can list the conversation it ends.
func (d responsesAPI) keep(x *exchange, id string, obj map[string]any) {
	if !x.p.store {
		return
	}
	obj["store"] = true
	var input []json.RawMessage
	if d.req != nil {
		input = rsInputItems(d.req.Input)
	}
	if b, err := json.Marshal(obj); err == nil {
		d.s.stored.put(x.model.Name, id, storedResponse{body: b, input: input, previous: x.p.previousID})
	}
}

// storedResponses are the Responses API objects the simulator keeps, each
// under the model that made it (a model stands for an account here).
// Bounded: the oldest go first.
type storedResponses struct {
	mu    sync.Mutex
	byID  map[string]storedResponse
	order []string
}

type storedResponse struct {
	model    string
	body     []byte
	input    []json.RawMessage // the request's input items (a string input as a user message)
	previous string            // the request's previous_response_id, or ""
}

const maxStoredResponses = 10000

func (r *storedResponses) put(model, id string, sr storedResponse) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byID == nil {
		r.byID = make(map[string]storedResponse)
	}
	if len(r.order) >= maxStoredResponses {
		delete(r.byID, r.order[0])
		r.order = r.order[1:]
	}
	sr.model = model
	r.byID[id] = sr
	r.order = append(r.order, id)
}

func (r *storedResponses) get(id string) (storedResponse, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sr, ok := r.byID[id]
	return sr, ok
}

// has reports whether the store holds the response id of model, or of
// any model when model is "" (an input token count need not name one).
func (r *storedResponses) has(model, id string) bool {
	sr, ok := r.get(id)
	return ok && (model == "" || sr.model == model)
}

func (r *storedResponses) remove(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.byID[id]
	delete(r.byID, id)
	return ok
}

// handleGetResponse answers GET /v1/responses/{id}: a stored response.
func (s *Server) handleGetResponse(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	sr, ok := s.stored.get(id)
	if !ok {
		responseNotFound(w, id)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(sr.body)
}

// handleDeleteResponse answers DELETE /v1/responses/{id}.
func (s *Server) handleDeleteResponse(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !s.stored.remove(id) {
		responseNotFound(w, id)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "object": "response", "deleted": true}, nil)
}

// handleInputItems answers GET /v1/responses/{id}/input_items: the input
// items of a stored response, as OpenAI lists them (each with an id; a
// message's text content as input_text parts), newest first unless
// order=asc, at most limit (default 20) after the item named by after.
func (s *Server) handleInputItems(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	sr, ok := s.stored.get(id)
	if !ok {
		responseNotFound(w, id)
		return
	}
	q := r.URL.Query()
	limit := 20
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			writeOpenAIError(w, http.StatusBadRequest, oaError{Message: "Invalid 'limit': expected an integer from 1 to 100.", Type: "invalid_request_error", Param: new("limit")}, 0)
			return
		}
		limit = n
	}
	order := q.Get("order")
	if order != "" && order != "asc" && order != "desc" {
		writeOpenAIError(w, http.StatusBadRequest, oaError{Message: "Invalid 'order': expected 'asc' or 'desc'.", Type: "invalid_request_error", Param: new("order")}, 0)
		return
	}
	items := make([]map[string]any, 0, len(sr.input))
	for i, raw := range sr.input {
		var it map[string]any
		if json.Unmarshal(raw, &it) != nil {
			continue
		}
		if _, ok := it["id"]; !ok {
			it["id"] = fmt.Sprintf("msg_%s%d", strings.TrimPrefix(id, "resp_"), i)
		}
		if it["type"] == nil || it["type"] == "message" {
			it["type"] = "message"
			if _, ok := it["status"]; !ok {
				it["status"] = "completed"
			}
			if text, ok := it["content"].(string); ok {
				it["content"] = []any{map[string]any{"type": "input_text", "text": text}}
			}
		}
		items = append(items, it)
	}
	if order != "asc" {
		slices.Reverse(items)
	}
	if after := q.Get("after"); after != "" {
		i := slices.IndexFunc(items, func(it map[string]any) bool { return it["id"] == after })
		if i < 0 {
			writeOpenAIError(w, http.StatusBadRequest, oaError{Message: fmt.Sprintf("Invalid 'after': no input item with id '%s'.", after), Type: "invalid_request_error", Param: new("after")}, 0)
			return
		}
		items = items[i+1:]
	}
	more := len(items) > limit
	items = items[:min(limit, len(items))]
	list := map[string]any{"object": "list", "data": items, "has_more": more, "first_id": nil, "last_id": nil}
	if len(items) > 0 {
		list["first_id"], list["last_id"] = items[0]["id"], items[len(items)-1]["id"]
	}
	writeJSON(w, http.StatusOK, list, nil)
}

// handleCancelResponse answers POST /v1/responses/{id}/cancel: the
// simulator runs no background responses, and OpenAI cancels only those.
func (s *Server) handleCancelResponse(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, ok := s.stored.get(id); !ok {
		responseNotFound(w, id)
		return
	}
	writeOpenAIError(w, http.StatusBadRequest, oaError{Message: "Cannot cancel a synchronous response.", Type: "invalid_request_error"}, 0)
}

// responseNotFound is OpenAI's 404 for a response id it does not hold.
func responseNotFound(w http.ResponseWriter, id string) {
	writeOpenAIError(w, http.StatusNotFound, oaError{Message: fmt.Sprintf("No response found with id '%s'.", id), Type: "invalid_request_error"}, 0)
}

func (d responsesAPI) newStream(w http.ResponseWriter, x *exchange, rep reply) streamer {
	return &rsStream{sse: newSSE(w), d: d, x: x, rep: rep, id: d.s.nextID(24)}
}

// rsStream writes Responses API stream events.
type rsStream struct {
	*sse
	d    responsesAPI
	x    *exchange
	rep  reply
	id   string
	seq  int
	sent int
	text string
}

// emit writes one typed event: its type is both the SSE event name and
// the payload's "type", as OpenAI sends them.
func (o *rsStream) emit(typ string, fields map[string]any) error {
	fields["type"] = typ
	fields["sequence_number"] = o.seq
	o.seq++
	return o.event(typ, fields)
}

func (o *rsStream) itemID() string {
	if o.rep.toolName != "" {
		return "fc_" + o.id
	}
	return "msg_" + o.id
}

func (o *rsStream) start() error {
	if err := o.header(map[string]string{"x-request-id": "req_" + o.id}); err != nil {
		return err
	}
	for _, typ := range []string{"response.created", "response.in_progress"} {
		if err := o.emit(typ, map[string]any{"response": o.d.response(o.x, o.id, "in_progress", []any{}, nil)}); err != nil {
			return err
		}
	}
	if err := o.emit("response.output_item.added", map[string]any{"output_index": 0, "item": rsOutputItem(o.id, o.rep, "", false)}); err != nil {
		return err
	}
	if o.rep.toolName != "" {
		return nil
	}
	return o.emit("response.content_part.added", map[string]any{"item_id": o.itemID(), "output_index": 0, "content_index": 0,
		"part": map[string]any{"type": "output_text", "text": "", "annotations": []any{}}})
}

func (o *rsStream) token(piece string) error {
	o.sent++
	o.text += piece
	if o.rep.toolName != "" {
		return o.emit("response.function_call_arguments.delta", map[string]any{"item_id": o.itemID(), "output_index": 0, "delta": piece})
	}
	return o.emit("response.output_text.delta", map[string]any{"item_id": o.itemID(), "output_index": 0, "content_index": 0, "delta": piece, "logprobs": []any{}})
}

func (o *rsStream) ping() error { return nil }

func (o *rsStream) malformed() error {
	return o.event("response.output_text.delta", `{"type":"response.output_text.delta","delta":"`)
}

func (o *rsStream) fail() error {
	return o.emit("error", map[string]any{"code": "server_error", "param": nil,
		"message": "The server had an error while processing your request. Sorry about that!"})
}

// finish closes the item and, with terminator, sends the terminal
// response.completed (or response.incomplete) event.
func (o *rsStream) finish(terminator bool) error {
	if o.rep.toolName != "" {
		if err := o.emit("response.function_call_arguments.done", map[string]any{"item_id": o.itemID(), "output_index": 0, "arguments": o.text}); err != nil {
			return err
		}
	} else {
		if err := o.emit("response.output_text.done", map[string]any{"item_id": o.itemID(), "output_index": 0, "content_index": 0, "text": o.text, "logprobs": []any{}}); err != nil {
			return err
		}
		if err := o.emit("response.content_part.done", map[string]any{"item_id": o.itemID(), "output_index": 0, "content_index": 0,
			"part": map[string]any{"type": "output_text", "text": o.text, "annotations": []any{}}}); err != nil {
			return err
		}
	}
	item := rsOutputItem(o.id, o.rep, o.text, true)
	if err := o.emit("response.output_item.done", map[string]any{"output_index": 0, "item": item}); err != nil {
		return err
	}
	if !terminator {
		return nil
	}
	status := rsStatus(o.rep)
	final := o.d.response(o.x, o.id, status, []any{item}, rsUsage(o.x, o.sent))
	o.d.keep(o.x, "resp_"+o.id, final) // before the client can ask for it
	o.d.conv.record(o.d.s, []any{item})
	return o.emit("response."+status, map[string]any{"response": final})
}
