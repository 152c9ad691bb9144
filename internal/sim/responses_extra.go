package sim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Two more endpoints of OpenAI's Responses API:
//
//	POST /v1/responses/input_tokens  the input tokens of a Responses request
//	POST /v1/responses/compact       a conversation compacted to its user
//	                                 messages and one compaction item
//
// An input token count takes the body of a Responses request (model
// optional) and answers {"object": "response.input_tokens",
// "input_tokens": N}, N being exactly the usage.input_tokens that POST
// /v1/responses would report for the same body: the same code reads the
// body and refuses what it refuses. It generates nothing, so, as
// Anthropic's and Bedrock's counts, it is not recorded (Calls) and no
// fault applies to it, nor does it read from or write to the prompt
// cache.
//
// A compaction takes model (required), input, instructions and
// previous_response_id; other fields (prompt_cache_key, service_tier, ...)
// are ignored, as unknown fields of a Responses request are. Its
// conversation is previous_response_id's (the input and output items of
// every response of the chain, oldest first; instructions are not carried
// over), then the input. The answer is a CompactedResponse, {"id":
// "resp_...", "object": "response.compaction", "created_at", "output",
// "usage"}, whose output lists the conversation's user messages (each a
// message item with an id and status completed) and then one compaction
// item, {"type": "compaction", "id": "cmp_...", "encrypted_content"}. The
// encrypted content is the simulator's own opaque token (see
// sealCompaction) holding a summary: a line for each other item, its role
// or kind and its text. A compaction is a model call: it is recorded
// under its path, faults apply as to a non-streamed response, it waits
// as one, and its usage is a response's: input_tokens is the whole
// conversation's (instructions included), output_tokens what the model
// would have written for it. It is not stored.
//
// A compaction item sent back in a Responses request's input (or an
// input token count's) reads as an assistant message holding its summary;
// one whose encrypted content the simulator cannot read is a 400 on param
// input[i].encrypted_content.

// compactionPrefix starts every encrypted_content the simulator makes, so
// that its tokens are recognisable at a glance.
const compactionPrefix = "simcmp1."

// compactionPayload is what a compaction's token holds.
type compactionPayload struct {
	Summary string `json:"summary"`
}

// sealCompaction makes the encrypted_content of a compaction: the prefix,
// the payload's JSON in unpadded URL-safe base64, a dot and a checksum of
// the two, so that a token changed on the way back is refused as OpenAI
// refuses content it cannot verify, rather than read as another summary.
func sealCompaction(summary string) string {
	payload := base64.RawURLEncoding.EncodeToString(mustJSON(compactionPayload{Summary: summary}))
	return compactionPrefix + payload + "." + compactionCheck(payload)
}

// compactionCheck is the checksum of a token's payload.
func compactionCheck(payload string) string {
	sum := sha256.Sum256([]byte(compactionPrefix + payload))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// openCompaction reads back the summary of a token sealCompaction made,
// and reports whether it could.
func openCompaction(token string) (string, bool) {
	rest, ok := strings.CutPrefix(token, compactionPrefix)
	if !ok {
		return "", false
	}
	payload, check, ok := strings.Cut(rest, ".")
	if !ok || check != compactionCheck(payload) {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	var c compactionPayload
	if err != nil || json.Unmarshal(b, &c) != nil {
		return "", false
	}
	return c.Summary, true
}

// openCompactionItem is openCompaction of a compaction item's content.
func openCompactionItem(it rsItem) (string, bool) {
	if it.EncryptedContent == nil {
		return "", false
	}
	return openCompaction(*it.EncryptedContent)
}

// compactionProblem is the 400 for the compaction item input[i] when it
// has no encrypted content or one the simulator cannot read, else nil.
func compactionProblem(it rsItem, i int) *oaError {
	param := fmt.Sprintf("input[%d].encrypted_content", i)
	if it.EncryptedContent == nil {
		return paramError(param, fmt.Sprintf("Missing required parameter: '%s'.", param))
	}
	if _, ok := openCompaction(*it.EncryptedContent); !ok {
		e := paramError(param, fmt.Sprintf("The encrypted content for item input[%d] could not be verified.", i))
		e.Code = strp("invalid_encrypted_content")
		return e
	}
	return nil
}

// rsInputItems is a Responses request's input as items: a string is one
// user message, an array its elements. Any other input has been refused
// by the time this is called, and gives none.
func rsInputItems(input json.RawMessage) []json.RawMessage {
	if len(input) == 0 || string(input) == "null" {
		return nil
	}
	var text string
	if json.Unmarshal(input, &text) == nil {
		return []json.RawMessage{mustJSON(map[string]any{"type": "message", "role": "user", "content": text})}
	}
	var raws []json.RawMessage
	_ = json.Unmarshal(input, &raws)
	return raws
}

// chain is the conversation that the response id ends, oldest first: for
// each response of its previous_response_id chain, the request's input
// items, then the response's output items. A link the store no longer
// holds (forgotten or deleted) ends the chain there.
func (r *storedResponses) chain(id string) []json.RawMessage {
	var turns []storedResponse
	r.mu.Lock()
	// Ids are never reused, so the chain has no loop; the bound only keeps
	// a broken store from holding the lock for ever.
	for range maxStoredResponses {
		sr, ok := r.byID[id]
		if !ok {
			break
		}
		turns = append(turns, sr)
		if id = sr.previous; id == "" {
			break
		}
	}
	r.mu.Unlock()
	var items []json.RawMessage
	for _, t := range slices.Backward(turns) {
		var out struct {
			Output []json.RawMessage `json:"output"`
		}
		_ = json.Unmarshal(t.body, &out) // the body is a response the simulator made
		items = append(items, t.input...)
		items = append(items, out.Output...)
	}
	return items
}

// handleInputTokens answers POST /v1/responses/input_tokens. It is not
// recorded as a call and injects no fault: it generates nothing, as
// Anthropic's count (handleCountTokens) does not.
func (s *Server) handleInputTokens(w http.ResponseWriter, r *http.Request) {
	conv := &rsConversation{}
	req := &rsRequest{s: s, conv: conv}
	d := responsesAPI{openAI: openAI{s}, conv: conv, req: req}
	body, err := readBody(w, r)
	if err == nil {
		err = json.Unmarshal(body, req)
	}
	if err != nil {
		d.badRequest(w, "We could not parse the JSON body of your request. ("+errDecode(err)+")")
		return
	}
	p, msg := req.read()
	if msg != "" {
		d.badRequest(w, msg)
		return
	}
	if req.Model != "" {
		if _, ok := s.lookup(req.Model); !ok {
			d.notFound(w, req.Model)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "response.input_tokens", "input_tokens": p.inputTokens()},
		map[string]string{"x-request-id": "req_" + s.nextID(24)})
}

// compactRequest is the part of a compaction request the simulator reads.
// The prompt cache fields and service_tier are accepted and change
// nothing: the simulator caches by prefix (see promptcache.go) and has
// one tier.
type compactRequest struct {
	s    *Server         // not part of the JSON
	conv *rsConversation // holds a 400's param for the dialect; not part of the JSON
	// users are the conversation's user messages as output items and
	// summary the text of the other items, both made by prompt; not part
	// of the JSON.
	users   []json.RawMessage
	summary []string

	Model              string          `json:"model"`
	Input              json.RawMessage `json:"input"`
	Instructions       string          `json:"instructions"`
	PreviousResponseID string          `json:"previous_response_id"`
}

func (req *compactRequest) target() (string, bool) { return req.Model, false }

// prompt reads the compaction as the Responses request of its
// conversation would be read, so that it is refused as that would be and
// its input tokens are that conversation's, then sorts the
// conversation's items into the user messages it keeps and the summary of
// the others.
func (req *compactRequest) prompt() (*prompt, string) {
	if req.Model == "" {
		return nil, "Missing required parameter: 'model'."
	}
	rs := &rsRequest{s: req.s, conv: req.conv, compact: true, Model: req.Model, Input: req.Input,
		Instructions: req.Instructions, PreviousResponseID: req.PreviousResponseID}
	p, msg := rs.read()
	if msg != "" {
		return nil, msg
	}
	for _, raw := range rs.prior {
		// Items of earlier responses were checked when they were sent; one
		// the conversation store would refuse is left out of the list.
		_ = req.take(raw, "previous_response_id")
	}
	for i, raw := range rsInputItems(req.Input) {
		if e := req.take(raw, fmt.Sprintf("input[%d]", i)); e != nil {
			return nil, req.conv.refuse(http.StatusBadRequest, e)
		}
	}
	return p, ""
}

// take sorts one item of the conversation: a user message joins the
// output, as a message item with an id (its own or a new msg_ one) and
// status completed; any other item adds its line to the summary. param
// names the item in a 400.
func (req *compactRequest) take(raw json.RawMessage, param string) *oaError {
	var it rsItem
	if json.Unmarshal(raw, &it) != nil {
		return paramError(param, fmt.Sprintf("Invalid type for '%s': expected an object, but got %s instead.", param, oaKind(raw)))
	}
	if (it.Type == "" || it.Type == "message") && it.Role == "user" {
		var fields map[string]json.RawMessage
		if json.Unmarshal(raw, &fields) != nil || fields == nil {
			return paramError(param, fmt.Sprintf("Invalid type for '%s': expected an object, but got %s instead.", param, oaKind(raw)))
		}
		fields["status"] = mustJSON("completed")
		ci, e := req.s.convItem(mustJSON(fields), param)
		if e != nil {
			return e
		}
		req.users = append(req.users, ci.body)
		return nil
	}
	if line := compactedLine(it); line != "" {
		req.summary = append(req.summary, line)
	}
	return nil
}

// compactedLine is what an item other than a user message leaves in a
// compaction's summary: its role or kind and its text, or "" for an item
// with no text the simulator reads (a reasoning item, a tool call of a
// kind it does not serve). A compaction item leaves its own summary, so
// that compacting again loses nothing.
func compactedLine(it rsItem) string {
	switch it.Type {
	case "compaction":
		summary, _ := openCompactionItem(it)
		return summary
	case "function_call":
		return "function_call: " + it.Name + " " + it.Arguments
	case "function_call_output":
		var text string
		if json.Unmarshal(it.Output, &text) != nil {
			text = string(it.Output)
		}
		return "function_call_output: " + text
	case "", "message":
		var text string
		if json.Unmarshal(it.Content, &text) != nil {
			var parts []struct {
				Text string `json:"text"`
			}
			_ = json.Unmarshal(it.Content, &parts)
			var texts []string
			for _, part := range parts {
				if part.Text != "" {
					texts = append(texts, part.Text)
				}
			}
			text = strings.Join(texts, " ")
		}
		return it.Role + ": " + text
	}
	return ""
}

// compactAPI is the dialect of a compaction: the Responses API's errors,
// and a CompactedResponse for its answer. A compaction never streams.
type compactAPI struct {
	responsesAPI
	compaction *compactRequest
}

func (s *Server) handleCompact(w http.ResponseWriter, r *http.Request) {
	conv := &rsConversation{}
	req := &compactRequest{s: s, conv: conv}
	s.handleOpenAIStyle(w, r, compactAPI{responsesAPI: responsesAPI{openAI: openAI{s}, conv: conv}, compaction: req}, req)
}

// respond answers the compaction once the model has written it. The
// reply's tokens are the summary the model would have written: they pace
// the answer and are its output tokens.
func (d compactAPI) respond(w http.ResponseWriter, x *exchange, rep reply) {
	id := d.s.nextID(24)
	output := make([]any, 0, len(d.compaction.users)+1)
	for _, u := range d.compaction.users {
		output = append(output, u)
	}
	output = append(output, map[string]any{"type": "compaction", "id": "cmp_" + id,
		"encrypted_content": sealCompaction(strings.Join(d.compaction.summary, "\n"))})
	writeJSON(w, http.StatusOK, map[string]any{
		"id": "resp_" + id, "object": "response.compaction", "created_at": x.created,
		"output": output, "usage": rsUsage(x, len(rep.tokens)),
	}, map[string]string{"x-request-id": "req_" + id, "openai-processing-ms": "1"})
}
