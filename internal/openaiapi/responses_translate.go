package openaiapi

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/sse"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// A Responses API request that uses only what Chat Completions can say
// (messages, function tools and their calls and outputs, images by URL,
// sampling, output limit, JSON formats) is translated for deployments of
// other APIs; its answer is written back as a response object. Anything
// else (previous_response_id, built-in tools, stored prompts, background
// runs, files) needs the upstream's own Responses API, so the request is
// relayed to OpenAI deployments only: Request.RelayOnly says why.

// wire types of the Responses API request, used only when a translation
// needs the whole body.
type (
	rsRequest struct {
		Input        json.RawMessage `json:"input"`
		Instructions *string         `json:"instructions"`
		Temperature  *float64        `json:"temperature"`
		TopP         *float64        `json:"top_p"`
		Tools        []rsTool        `json:"tools"`
		ToolChoice   json.RawMessage `json:"tool_choice"`
		Text         *struct {
			Format json.RawMessage `json:"format"`
		} `json:"text"`
		User      string `json:"user"`
		Reasoning *struct {
			Effort string `json:"effort"`
		} `json:"reasoning"`
		ParallelTools *bool  `json:"parallel_tool_calls"`
		ServiceTier   string `json:"service_tier"`
	}
	rsTool struct {
		Type        string          `json:"type"`
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
	}
	rsInputItem struct {
		Type      string          `json:"type"`
		Role      string          `json:"role"`
		Content   json.RawMessage `json:"content"`
		CallID    string          `json:"call_id"`
		Name      string          `json:"name"`
		Arguments string          `json:"arguments"`
		Output    json.RawMessage `json:"output"`
		// EncryptedContent is a reasoning item's (see thinkingItem).
		EncryptedContent string `json:"encrypted_content"`
	}
	rsPart struct {
		Type     string `json:"type"`
		Text     string `json:"text"`
		Refusal  string `json:"refusal"`
		ImageURL string `json:"image_url"`
		FileID   string `json:"file_id"`
	}
)

// translatableItems are the input item types a translation carries;
// reasoning items carry the thinking the gateway gave out (thinkingItem),
// and others are dropped (they are an upstream's opaque notes).
var translatableItems = map[string]bool{"": true, "message": true, "function_call": true, "function_call_output": true, "reasoning": true}

// decodeResponses decodes a Responses API body into the canonical Body.
// ParseResponses has already marked what only a relay can serve
// (Request.RelayOnly), so the gateway sends such requests nowhere else.
func decodeResponses(raw []byte) (*llm.Body, error) {
	var in rsRequest
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, badRequest(wirejson.DecodeProblem(err))
	}
	b := &llm.Body{Temperature: in.Temperature, TopP: in.TopP, User: in.User, NoParallelTools: in.ParallelTools != nil && !*in.ParallelTools,
		ServiceTier: in.ServiceTier}
	if in.Reasoning != nil {
		if err := checkEffort("reasoning.effort", in.Reasoning.Effort); err != nil {
			return nil, err
		}
		b.ReasoningEffort = in.Reasoning.Effort
	}
	var system []string
	if in.Instructions != nil && *in.Instructions != "" {
		system = append(system, *in.Instructions)
	}
	var str string
	var items []rsInputItem
	switch {
	case len(in.Input) == 0 || string(in.Input) == "null":
	case json.Unmarshal(in.Input, &str) == nil:
		b.Messages = append(b.Messages, llm.Message{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: str}}})
	case json.Unmarshal(in.Input, &items) == nil:
	default:
		return nil, badRequest("input", "input must be a string or an array of input items")
	}
	// thinking is the reasoning items' thinking, waiting for the assistant
	// turn they came with (the next message or function call).
	var thinking []llm.Thinking
	assistant := func(m llm.Message) {
		m.Thinking, thinking = thinking, nil
		b.Messages = append(b.Messages, m)
	}
	for i, it := range items {
		param := "input[" + strconv.Itoa(i) + "]"
		switch it.Type {
		case "", "message":
			parts, err := decodeRsContent(it.Content, param+".content")
			if err != nil {
				return nil, err
			}
			switch it.Role {
			case "system", "developer":
				system = append(system, joinText(parts))
			case "user":
				b.Messages = append(b.Messages, llm.Message{Role: llm.RoleUser, Parts: parts})
			case "assistant":
				assistant(llm.Message{Role: llm.RoleAssistant, Parts: parts})
			default:
				return nil, badRequest(param+".role", "invalid role "+quote(it.Role))
			}
		case "function_call":
			call := llm.ToolCall{ID: it.CallID, Name: it.Name, Arguments: it.Arguments}
			// Calls follow their assistant turn: one message holds them all.
			if n := len(b.Messages); n > 0 && b.Messages[n-1].Role == llm.RoleAssistant && thinking == nil {
				b.Messages[n-1].ToolCalls = append(b.Messages[n-1].ToolCalls, call)
			} else {
				assistant(llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{call}})
			}
		case "function_call_output":
			parts, err := decodeRsContent(it.Output, param+".output")
			if err != nil {
				return nil, err
			}
			b.Messages = append(b.Messages, llm.Message{Role: llm.RoleTool, Parts: parts, ToolCallID: it.CallID})
		case "reasoning":
			if t, ok := thinkingOf(it.EncryptedContent); ok {
				thinking = append(thinking, t)
			}
		default:
			return nil, badRequest(param+".type", "input item type "+quote(it.Type)+" needs an OpenAI deployment")
		}
	}
	if len(b.Messages) == 0 {
		// OpenAI's API has the conversation upstream (previous_response_id,
		// conversation, prompt: all relayed); a translated request must
		// carry it, as Chat Completions' messages must.
		if len(in.Input) == 0 || string(in.Input) == "null" {
			return nil, badRequest("input", "missing required parameter: 'input'")
		}
		return nil, badRequest("input", "input must contain at least one message")
	}
	b.System = strings.Join(system, "\n\n")
	for _, t := range in.Tools {
		if t.Type != "function" {
			return nil, badRequest("tools", "tool type "+quote(t.Type)+" needs an OpenAI deployment")
		}
		b.Tools = append(b.Tools, llm.Tool{Name: t.Name, Description: t.Description, Parameters: t.Parameters})
	}
	var err error
	if b.ToolChoice, err = decodeRsToolChoice(in.ToolChoice); err != nil {
		return nil, err
	}
	if in.Text != nil {
		if b.ResponseFormat, err = chatResponseFormat(in.Text.Format); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// decodeRsContent reads a message's content or a function call's output:
// a string or a list of parts.
func decodeRsContent(raw json.RawMessage, param string) ([]llm.Part, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []llm.Part{{Type: llm.PartText, Text: s}}, nil
	}
	var in []rsPart
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, badRequest(param, "content must be a string or an array of content parts")
	}
	parts := make([]llm.Part, 0, len(in))
	for j, p := range in {
		switch p.Type {
		case "input_text", "output_text":
			parts = append(parts, llm.Part{Type: llm.PartText, Text: p.Text})
		case "refusal":
			parts = append(parts, llm.Part{Type: llm.PartText, Text: p.Refusal})
		case "input_image":
			if p.ImageURL == "" {
				return nil, badRequest(fmt.Sprintf("%s[%d]", param, j), "an image by file_id needs an OpenAI deployment; send image_url")
			}
			parts = append(parts, llm.Part{Type: llm.PartImage, ImageURL: p.ImageURL})
		default:
			return nil, badRequest(fmt.Sprintf("%s[%d].type", param, j), "content part type "+quote(p.Type)+" needs an OpenAI deployment")
		}
	}
	return parts, nil
}

func decodeRsToolChoice(raw json.RawMessage) (*llm.ToolChoice, error) {
	return decodeToolChoiceWith(raw, func(obj gjson.Result) string {
		if obj.Get("type").Str != "function" {
			return ""
		}
		return obj.Get("name").Str
	})
}

// chatResponseFormat is a Responses text.format as Chat Completions'
// response_format, the shape the canonical body carries.
func chatResponseFormat(raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var f struct {
		Type        string          `json:"type"`
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Schema      json.RawMessage `json:"schema"`
		Strict      *bool           `json:"strict,omitempty"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, badRequest("text.format", "text.format must be an object")
	}
	switch f.Type {
	case "text":
		return nil, nil
	case "json_object":
		return json.RawMessage(`{"type":"json_object"}`), nil
	case "json_schema":
		type schema struct {
			Name        string          `json:"name"`
			Description string          `json:"description,omitempty"`
			Schema      json.RawMessage `json:"schema"`
			Strict      *bool           `json:"strict,omitempty"`
		}
		out, err := json.Marshal(struct {
			Type       string `json:"type"`
			JSONSchema schema `json:"json_schema"`
		}{"json_schema", schema{f.Name, f.Description, f.Schema, f.Strict}})
		if err != nil {
			return nil, badRequest("text.format.schema", "schema must be a JSON object")
		}
		return out, nil
	}
	return nil, badRequest("text.format.type", "text.format.type must be text, json_object or json_schema")
}

// wire types of a translated response object.
type (
	rsObject struct {
		ID                 string          `json:"id"`
		Object             string          `json:"object"`
		CreatedAt          int64           `json:"created_at"`
		Status             string          `json:"status"`
		Error              *struct{}       `json:"error"`
		IncompleteDetails  *rsIncomplete   `json:"incomplete_details"`
		Instructions       *string         `json:"instructions"`
		MaxOutputTokens    *int            `json:"max_output_tokens"`
		Model              string          `json:"model"`
		Output             []any           `json:"output"`
		ParallelToolCalls  bool            `json:"parallel_tool_calls"`
		PreviousResponseID *string         `json:"previous_response_id"`
		Reasoning          json.RawMessage `json:"reasoning"`
		Store              bool            `json:"store"`
		Temperature        float64         `json:"temperature"`
		Text               json.RawMessage `json:"text"`
		ToolChoice         json.RawMessage `json:"tool_choice"`
		Tools              json.RawMessage `json:"tools"`
		TopP               float64         `json:"top_p"`
		Truncation         string          `json:"truncation"`
		Usage              *rsUsageObject  `json:"usage"`
		User               *string         `json:"user,omitempty"`
		Metadata           json.RawMessage `json:"metadata"`
	}
	rsIncomplete struct {
		Reason string `json:"reason"`
	}
	rsUsageObject struct {
		InputTokens        int `json:"input_tokens"`
		InputTokensDetails struct {
			CachedTokens int `json:"cached_tokens"`
		} `json:"input_tokens_details"`
		OutputTokens        int `json:"output_tokens"`
		OutputTokensDetails struct {
			ReasoningTokens int `json:"reasoning_tokens"`
		} `json:"output_tokens_details"`
		TotalTokens int `json:"total_tokens"`
	}
	rsMessageItem struct {
		Type    string       `json:"type"`
		ID      string       `json:"id"`
		Status  string       `json:"status"`
		Role    string       `json:"role"`
		Content []rsTextPart `json:"content"`
	}
	rsTextPart struct {
		Type        string `json:"type"`
		Text        string `json:"text"`
		Annotations []any  `json:"annotations"`
		Logprobs    []any  `json:"logprobs"`
	}
	// rsReasoningItem is the thinking of a translated answer. Its
	// summary is the thinking's text (Claude's thinking is itself a
	// summary), and encrypted_content the block as the deployment signed
	// it (see thinkingItem).
	rsReasoningItem struct {
		Type             string          `json:"type"`
		ID               string          `json:"id,omitempty"`
		Summary          []rsSummaryPart `json:"summary"`
		EncryptedContent string          `json:"encrypted_content,omitempty"`
		Status           string          `json:"status,omitempty"`
	}
	rsSummaryPart struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	rsFunctionCallItem struct {
		Type      string `json:"type"`
		ID        string `json:"id"`
		CallID    string `json:"call_id"`
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
		Status    string `json:"status"`
	}
)

func toRsUsage(u llm.Usage) *rsUsageObject {
	o := &rsUsageObject{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, TotalTokens: u.InputTokens + u.OutputTokens}
	o.InputTokensDetails.CachedTokens = u.CachedInputTokens
	return o
}

// rsStatus is a response's status and incomplete_details for a finish
// reason: a cut answer is incomplete, as OpenAI reports it.
func rsStatus(f llm.FinishReason) (string, *rsIncomplete) {
	switch f {
	case llm.FinishLength:
		return "incomplete", &rsIncomplete{Reason: "max_output_tokens"}
	case llm.FinishContentFilter:
		return "incomplete", &rsIncomplete{Reason: "content_filter"}
	}
	return "completed", nil
}

// rsEcho is what a response object repeats of the request that made it,
// as OpenAI's do: its instructions, limits, tools, tool_choice, text format,
// sampling, metadata, previous_response_id and store.
type rsEcho struct {
	instructions, previousResponseID, user *string
	maxOutputTokens                        *int
	parallelToolCalls                      bool
	temperature, topP                      float64
	reasoning, text, toolChoice, tools     json.RawMessage
	metadata                               json.RawMessage
	truncation                             string
	// store is the request's store (true unless it set false): the
	// gateway keeps a translated response unless told not to.
	store bool
}

// defaultEcho is the echo of a request that set none of the fields
// (store aside: an object made without its request is not kept).
var defaultEcho = rsEcho{
	parallelToolCalls: true, temperature: 1, topP: 1, truncation: "disabled",
	reasoning: json.RawMessage(`{"effort":null,"summary":null}`), text: json.RawMessage(`{"format":{"type":"text"}}`),
	toolChoice: json.RawMessage(`"auto"`), tools: json.RawMessage(`[]`), metadata: json.RawMessage(`{}`),
}

// echoOf reads the echoed fields of a Responses API request body; each
// one of the wrong JSON type keeps its default.
func echoOf(raw []byte) *rsEcho {
	e := defaultEcho
	e.store = true
	if len(raw) == 0 {
		return &e
	}
	str := func(v gjson.Result) *string {
		if v.Type != gjson.String {
			return nil
		}
		return &v.Str
	}
	rawOf := func(v gjson.Result, isType func(gjson.Result) bool, def json.RawMessage) json.RawMessage {
		if !isType(v) {
			return def
		}
		return json.RawMessage(v.Raw)
	}
	object := func(v gjson.Result) bool { return v.IsObject() }
	gjson.ParseBytes(raw).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "instructions":
			e.instructions = str(v)
		case "previous_response_id":
			e.previousResponseID = str(v)
		case "user":
			e.user = str(v)
		case "max_output_tokens":
			if v.Type == gjson.Number {
				n := int(v.Int())
				e.maxOutputTokens = &n
			}
		case "parallel_tool_calls":
			if v.IsBool() {
				e.parallelToolCalls = v.Bool()
			}
		case "store":
			if v.IsBool() {
				e.store = v.Bool()
			}
		case "temperature":
			if v.Type == gjson.Number {
				e.temperature = v.Num
			}
		case "top_p":
			if v.Type == gjson.Number {
				e.topP = v.Num
			}
		case "truncation":
			if v.Type == gjson.String {
				e.truncation = v.Str
			}
		case "reasoning":
			e.reasoning = rawOf(v, object, e.reasoning)
		case "text":
			e.text = rawOf(v, object, e.text)
		case "metadata":
			e.metadata = rawOf(v, object, e.metadata)
		case "tools":
			e.tools = rawOf(v, gjson.Result.IsArray, e.tools)
		case "tool_choice":
			e.toolChoice = rawOf(v, func(v gjson.Result) bool { return v.Type == gjson.String || v.IsObject() }, e.toolChoice)
		}
		return true
	})
	return &e
}

// echoFor is echoOf req's body, naming the response req continued when
// the gateway rewrote req to carry its conversation instead
// (Request.PreviousResponseID).
func echoFor(req *llm.Request) *rsEcho {
	e := echoOf(req.Raw)
	if e.previousResponseID == nil && req.PreviousResponseID != "" {
		id := req.PreviousResponseID
		e.previousResponseID = &id
	}
	return e
}

// newRsObject is a response object without output, repeating what echo
// (nil: defaults) says of its request.
func (s source) newRsObject(id, model, status string, echo *rsEcho) rsObject {
	if echo == nil {
		echo = &defaultEcho
	}
	return rsObject{ID: id, Object: "response", CreatedAt: s.now().Unix(), Status: status, Model: model, Output: []any{},
		Instructions: echo.instructions, MaxOutputTokens: echo.maxOutputTokens, PreviousResponseID: echo.previousResponseID,
		ParallelToolCalls: echo.parallelToolCalls, Store: echo.store, Reasoning: echo.reasoning, Temperature: echo.temperature, Text: echo.text,
		ToolChoice: echo.toolChoice, Tools: echo.tools, TopP: echo.topP, Truncation: echo.truncation, User: echo.user, Metadata: echo.metadata}
}

func textItem(id, status, text string) rsMessageItem {
	return rsMessageItem{Type: "message", ID: id, Status: status, Role: "assistant",
		Content: []rsTextPart{{Type: "output_text", Text: text, Annotations: []any{}, Logprobs: []any{}}}}
}

// encodeResponsesObject encodes a canonical answer as a response object.
// It is not stored upstream (store false): a follow-up sends the
// conversation again instead of naming it.
// Its id is resp.ID when that is a response id already (the gateway
// chose it), else a new one.
func (s source) encodeResponsesObject(resp *llm.Response) ([]byte, error) {
	b, _, err := s.encodeTranslated(nil, resp)
	return b, err
}

// encodeTranslated is encodeResponsesObject, and the answer's output as
// history items (see EncodeTranslatedResponse).
func (s source) encodeTranslated(req *llm.Request, resp *llm.Response) (object, history []byte, err error) {
	status, incomplete := rsStatus(resp.FinishReason)
	id := resp.ID
	if !strings.HasPrefix(id, "resp_") {
		id = s.newID("resp_")
	}
	var echo *rsEcho
	if req != nil {
		echo = echoFor(req)
	}
	o := s.newRsObject(id, resp.Model, status, echo)
	o.IncompleteDetails, o.Usage = incomplete, toRsUsage(resp.Usage)
	o.Output = s.outputItems(resp, status)
	if object, err = wirejson.Marshal(o); err == nil {
		history, err = historyItems(o.Output)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("openaiapi: encode response object: %w", err)
	}
	return object, history, nil
}

// EncodeTranslatedResponse encodes a translated answer as a response
// object (its id is resp.ID when that is a response id), and its output
// as the input items a later request may send back: what the gateway
// keeps of a response it translated, for retrieval and for
// previous_response_id. The object repeats req's instructions, tools,
// limits and so on, as OpenAI's do. Function calls keep resp's call ids
// (give every call one first).
func EncodeTranslatedResponse(req *llm.Request, resp *llm.Response) (object, history []byte, err error) {
	return defaultSource().encodeTranslated(req, resp)
}

// outputItems is a translated answer's output: its text as a message,
// then its function calls.
func (s source) outputItems(resp *llm.Response, status string) []any {
	itemStatus := "completed"
	if status != "completed" {
		itemStatus = "incomplete"
	}
	var out []any
	for _, t := range resp.Thinking {
		out = append(out, thinkingItem(s.newID("rs_"), t))
	}
	if resp.Text != "" || len(resp.ToolCalls) == 0 {
		out = append(out, textItem(s.newID("msg_"), itemStatus, resp.Text))
	}
	for _, tc := range resp.ToolCalls {
		callID := tc.ID
		if callID == "" {
			callID = s.newID("call_")
		}
		out = append(out, rsFunctionCallItem{Type: "function_call", ID: s.newID("fc_"), CallID: callID,
			Name: tc.Name, Arguments: tc.Arguments, Status: "completed"})
	}
	return out
}

// historyItems is output items as input items in their plainest form, no
// ids of ours: the thinking, an assistant message of text, and function
// calls. Any deployment takes them back (an OpenAI one is sent no
// thinking of ours, see llm.ThinkingItemPrefix).
func historyItems(items []any) ([]byte, error) {
	type message struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	type call struct {
		Type      string `json:"type"`
		CallID    string `json:"call_id"`
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	}
	out := make([]any, 0, len(items))
	for _, it := range items {
		switch v := it.(type) {
		case rsMessageItem:
			var text strings.Builder
			for _, p := range v.Content {
				text.WriteString(p.Text)
			}
			out = append(out, message{Role: "assistant", Content: text.String()})
		case rsFunctionCallItem:
			out = append(out, call{Type: "function_call", CallID: v.CallID, Name: v.Name, Arguments: v.Arguments})
		case rsReasoningItem:
			v.ID, v.Status = "", ""
			out = append(out, v)
		}
	}
	return wirejson.Marshal(out)
}

// rsEncoder turns a translated stream's canonical events into the
// Responses API's typed events: response.created and in_progress, then per
// output item (a message, or a function call) output_item.added, its
// deltas and its done events, and at the end response.completed (or
// response.incomplete) with the whole response.
type rsEncoder struct {
	gen     source
	id      string
	model   string
	echo    *rsEcho // what the response objects repeat of the request
	started bool
	usage   llm.Usage
	finish  llm.FinishReason
	output  []any  // finished items, in order
	final   []byte // the response object of the terminal event

	// The open item: a message (text), a function call (tool ≥ 0), or
	// thinking (reasoning).
	open      bool
	tool      int // source tool index of an open function call, -1 for text
	reasoning bool
	thinking  llm.Thinking // the open thinking's signature or redacted data
	think     int          // source index of the open thinking
	itemID    string
	text      []byte // the open message's text or thinking, or the call's arguments
	call      rsFunctionCallItem
}

// rsEvent is the common shape of the item-level stream events; the
// zero fields a given event type lacks are left out.
type rsEvent struct {
	Type         string  `json:"type"`
	Sequence     int     `json:"sequence_number"`
	Response     any     `json:"response,omitempty"`
	OutputIndex  *int    `json:"output_index,omitempty"`
	Item         any     `json:"item,omitempty"`
	ItemID       string  `json:"item_id,omitempty"`
	ContentIndex *int    `json:"content_index,omitempty"`
	Part         any     `json:"part,omitempty"`
	Delta        string  `json:"delta,omitempty"`
	Text         *string `json:"text,omitempty"`
	Arguments    *string `json:"arguments,omitempty"`
	Logprobs     []any   `json:"logprobs,omitempty"`
	SummaryIndex *int    `json:"summary_index,omitempty"`
}

// appendEvent appends the frames that carry ev to buf; seq numbers them.
func (e *rsEncoder) appendEvent(buf []byte, seq *int, ev llm.Event) []byte {
	if ev.Model != "" {
		e.model = ev.Model
	}
	if ev.Usage != nil {
		e.usage.Merge(*ev.Usage)
	}
	buf = e.appendStart(buf, seq)
	if ev.Thinking != nil {
		buf = e.appendThinking(buf, seq, *ev.Thinking)
	}
	if ev.Text != "" {
		if !e.open || e.tool >= 0 || e.reasoning {
			buf = e.appendClose(buf, seq)
			buf = e.appendOpenText(buf, seq)
		}
		e.text = append(e.text, ev.Text...)
		zero := 0
		buf = e.frame(buf, seq, rsEvent{Type: "response.output_text.delta", ItemID: e.itemID, OutputIndex: e.index(), ContentIndex: &zero, Delta: ev.Text, Logprobs: []any{}})
	}
	for _, d := range ev.ToolCalls {
		if !e.open || e.tool != d.Index || e.reasoning {
			buf = e.appendClose(buf, seq)
			callID := d.ID
			if callID == "" {
				callID = e.gen.newID("call_")
			}
			e.open, e.tool, e.itemID, e.text = true, d.Index, e.gen.newID("fc_"), e.text[:0]
			e.call = rsFunctionCallItem{Type: "function_call", ID: e.itemID, CallID: callID, Name: d.Name, Status: "in_progress"}
			buf = e.frame(buf, seq, rsEvent{Type: "response.output_item.added", OutputIndex: e.index(), Item: e.call})
		}
		if d.Arguments != "" {
			e.text = append(e.text, d.Arguments...)
			buf = e.frame(buf, seq, rsEvent{Type: "response.function_call_arguments.delta", ItemID: e.itemID, OutputIndex: e.index(), Delta: d.Arguments})
		}
	}
	if ev.FinishReason != "" {
		e.finish = ev.FinishReason
	}
	return buf
}

// appendThinking streams thinking as a reasoning item: its text as
// summary text deltas, the item whole (signed) at its end.
func (e *rsEncoder) appendThinking(buf []byte, seq *int, d llm.ThinkingDelta) []byte {
	zero := 0
	if !e.open || !e.reasoning || e.think != d.Index {
		buf = e.appendClose(buf, seq)
		e.open, e.reasoning, e.tool, e.think, e.itemID, e.text = true, true, -1, d.Index, e.gen.newID("rs_"), e.text[:0]
		e.thinking = llm.Thinking{}
		buf = e.frame(buf, seq, rsEvent{Type: "response.output_item.added", OutputIndex: e.index(), Item: rsReasoningItem{Type: "reasoning", ID: e.itemID, Summary: []rsSummaryPart{}}})
		if d.Redacted == "" {
			buf = e.frame(buf, seq, rsEvent{Type: "response.reasoning_summary_part.added", ItemID: e.itemID, OutputIndex: e.index(), SummaryIndex: &zero, Part: rsSummaryPart{Type: "summary_text"}})
		}
	}
	if d.Text != "" {
		e.text = append(e.text, d.Text...)
		buf = e.frame(buf, seq, rsEvent{Type: "response.reasoning_summary_text.delta", ItemID: e.itemID, OutputIndex: e.index(), SummaryIndex: &zero, Delta: d.Text})
	}
	if d.Signature != "" {
		e.thinking.Signature = d.Signature
	}
	if d.Redacted != "" {
		e.thinking.Redacted = d.Redacted
	}
	return buf
}

// index is the open item's output_index.
func (e *rsEncoder) index() *int {
	i := len(e.output)
	return &i
}

func (e *rsEncoder) appendStart(buf []byte, seq *int) []byte {
	if e.started {
		return buf
	}
	e.started = true
	e.id = e.gen.newID("resp_")
	o := e.gen.newRsObject(e.id, e.model, "in_progress", e.echo)
	buf = e.frame(buf, seq, rsEvent{Type: "response.created", Response: o})
	return e.frame(buf, seq, rsEvent{Type: "response.in_progress", Response: o})
}

func (e *rsEncoder) appendOpenText(buf []byte, seq *int) []byte {
	e.open, e.tool, e.itemID, e.text = true, -1, e.gen.newID("msg_"), e.text[:0]
	item := textItem(e.itemID, "in_progress", "")
	item.Content = []rsTextPart{}
	zero := 0
	buf = e.frame(buf, seq, rsEvent{Type: "response.output_item.added", OutputIndex: e.index(), Item: item})
	return e.frame(buf, seq, rsEvent{Type: "response.content_part.added", ItemID: e.itemID, OutputIndex: e.index(), ContentIndex: &zero,
		Part: rsTextPart{Type: "output_text", Annotations: []any{}, Logprobs: []any{}}})
}

// appendClose finishes the open item, if any.
func (e *rsEncoder) appendClose(buf []byte, seq *int) []byte {
	if !e.open {
		return buf
	}
	e.open = false
	text := string(e.text)
	if e.reasoning {
		e.reasoning = false
		e.thinking.Text = text
		item := thinkingItem(e.itemID, e.thinking)
		if e.thinking.Redacted == "" {
			zero := 0
			buf = e.frame(buf, seq, rsEvent{Type: "response.reasoning_summary_text.done", ItemID: e.itemID, OutputIndex: e.index(), SummaryIndex: &zero, Text: &text})
			buf = e.frame(buf, seq, rsEvent{Type: "response.reasoning_summary_part.done", ItemID: e.itemID, OutputIndex: e.index(), SummaryIndex: &zero, Part: rsSummaryPart{Type: "summary_text", Text: text}})
		}
		buf = e.frame(buf, seq, rsEvent{Type: "response.output_item.done", OutputIndex: e.index(), Item: item})
		e.output = append(e.output, item)
		return buf
	}
	if e.tool >= 0 {
		e.call.Arguments, e.call.Status = text, "completed"
		buf = e.frame(buf, seq, rsEvent{Type: "response.function_call_arguments.done", ItemID: e.itemID, OutputIndex: e.index(), Arguments: &text})
		buf = e.frame(buf, seq, rsEvent{Type: "response.output_item.done", OutputIndex: e.index(), Item: e.call})
		e.output = append(e.output, e.call)
		return buf
	}
	status := "completed"
	if s, _ := rsStatus(e.finish); s != "completed" {
		status = "incomplete"
	}
	zero := 0
	item := textItem(e.itemID, status, text)
	buf = e.frame(buf, seq, rsEvent{Type: "response.output_text.done", ItemID: e.itemID, OutputIndex: e.index(), ContentIndex: &zero, Text: &text, Logprobs: []any{}})
	buf = e.frame(buf, seq, rsEvent{Type: "response.content_part.done", ItemID: e.itemID, OutputIndex: e.index(), ContentIndex: &zero, Part: item.Content[0]})
	buf = e.frame(buf, seq, rsEvent{Type: "response.output_item.done", OutputIndex: e.index(), Item: item})
	e.output = append(e.output, item)
	return buf
}

// appendEnd closes the open item and appends the terminal event with the
// whole response.
func (e *rsEncoder) appendEnd(buf []byte, seq *int) []byte {
	buf = e.appendStart(buf, seq)
	buf = e.appendClose(buf, seq)
	if !slices.ContainsFunc(e.output, func(it any) bool { _, thinking := it.(rsReasoningItem); return !thinking }) {
		// An answer with nothing in it (but thinking) is still one
		// (empty) message.
		buf = e.appendOpenText(buf, seq)
		buf = e.appendClose(buf, seq)
	}
	status, incomplete := rsStatus(e.finish)
	o := e.gen.newRsObject(e.id, e.model, status, e.echo)
	o.IncompleteDetails, o.Output, o.Usage = incomplete, e.output, toRsUsage(e.usage)
	typ := "response.completed"
	if status != "completed" {
		typ = "response.incomplete"
	}
	e.final, _ = wirejson.Marshal(o)
	return e.frame(buf, seq, rsEvent{Type: typ, Response: o})
}

func (e *rsEncoder) frame(buf []byte, seq *int, ev rsEvent) []byte {
	ev.Sequence = *seq
	*seq++
	b, err := wirejson.Marshal(ev)
	if err != nil {
		// Only our own wire structs reach here; they always marshal.
		panic(fmt.Sprintf("openaiapi: marshal responses event: %v", err))
	}
	return sse.AppendFrame(buf, ev.Type, b)
}

// thinkingItem is thinking t as a reasoning item: encrypted_content
// carries the block as it came, so a client that sends the item back
// (as the Responses API asks of a tool loop) gives the deployment its
// signed thinking again.
func thinkingItem(id string, t llm.Thinking) rsReasoningItem {
	blob, _ := json.Marshal(thinkingBlob{Thinking: t.Text, Signature: t.Signature, Redacted: t.Redacted}) // strings always encode
	it := rsReasoningItem{Type: "reasoning", ID: id, Summary: []rsSummaryPart{},
		EncryptedContent: llm.ThinkingItemPrefix + base64.RawURLEncoding.EncodeToString(blob), Status: "completed"}
	if t.Text != "" {
		it.Summary = []rsSummaryPart{{Type: "summary_text", Text: t.Text}}
	}
	return it
}

// thinkingBlob is the JSON inside a reasoning item's encrypted_content.
type thinkingBlob struct {
	Thinking  string `json:"thinking,omitempty"`
	Signature string `json:"signature,omitempty"`
	Redacted  string `json:"redacted,omitempty"`
}

// thinkingOf reads the thinking of a reasoning item the gateway made;
// false for any other (an OpenAI deployment's own).
func thinkingOf(encrypted string) (llm.Thinking, bool) {
	rest, ok := strings.CutPrefix(encrypted, llm.ThinkingItemPrefix)
	if !ok {
		return llm.Thinking{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	var b thinkingBlob
	if err != nil || json.Unmarshal(raw, &b) != nil || b.Thinking == "" && b.Redacted == "" {
		return llm.Thinking{}, false
	}
	return llm.Thinking{Text: b.Thinking, Signature: b.Signature, Redacted: b.Redacted}, true
}
