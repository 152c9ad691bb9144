package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// openAI is the OpenAI Chat Completions dialect.
type openAI struct{ s *Server }

var _ dialect = openAI{}

// oaRequest is the part of a chat completion request the simulator reads.
type oaRequest struct {
	Model               string      `json:"model"`
	Messages            []oaMessage `json:"messages"`
	MaxTokens           *int        `json:"max_tokens"`
	MaxCompletionTokens *int        `json:"max_completion_tokens"`
	Stream              bool        `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Tools []struct {
		Type     string `json:"type"`
		Function struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			Parameters  json.RawMessage `json:"parameters"`
		} `json:"function"`
	} `json:"tools"`
	ToolChoice     json.RawMessage `json:"tool_choice"`
	ResponseFormat *struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	} `json:"response_format"`
	ReasoningEffort string   `json:"reasoning_effort"`
	Temperature     *float64 `json:"temperature"`
}

type oaMessage struct {
	Role      string          `json:"role"`
	Content   json.RawMessage `json:"content"`
	ToolCalls []struct {
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
	// ThinkingBlocks is not OpenAI's: a real server refuses a message
	// with a property it does not know, and so does the simulator for
	// this one, which a gateway gives clients of Anthropic deployments.
	ThinkingBlocks json.RawMessage `json:"thinking_blocks"`
}

// oaPart is one part of an array content.
type oaPart struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	ImageURL *struct {
		URL string `json:"url"`
	} `json:"image_url"`
}

// oaError is the body of an OpenAI error.
type oaError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func strp(s string) *string { return &s }

func writeOpenAIError(w http.ResponseWriter, status int, e oaError, retryAfter time.Duration) {
	h := map[string]string{"x-request-id": "req_sim"}
	if retryAfter > 0 {
		h["Retry-After"] = retryAfterSeconds(retryAfter)
	}
	writeJSON(w, status, map[string]oaError{"error": e}, h)
}

func (s *Server) handleOpenAIChat(w http.ResponseWriter, r *http.Request) {
	keep := &chatKeep{} // what a request with store: true keeps (see stored_chat.go)
	s.handleOpenAIStyle(w, r, chatAPI{openAI: openAI{s}, keep: keep}, &chatRequest{keep: keep})
}

// openAIStyleRequest is a request of one of OpenAI's APIs, decoded from JSON.
type openAIStyleRequest interface {
	// prompt extracts the prompt, or returns the message of a 400.
	prompt() (*prompt, string)
	// target is the model named and whether the answer streams.
	target() (model string, stream bool)
}

func (req *oaRequest) target() (string, bool) { return req.Model, req.Stream }

// handleOpenAIStyle decodes a request of one of OpenAI's APIs into req,
// answers its 400s in OpenAI's format, and serves the chat.
func (s *Server) handleOpenAIStyle(w http.ResponseWriter, r *http.Request, d dialect, req openAIStyleRequest) {
	body, err := readBody(w, r)
	if err == nil {
		err = json.Unmarshal(body, req)
	}
	if err != nil {
		c := s.begin("", r.URL.Path, false)
		d.badRequest(&recorder{ResponseWriter: w, c: c}, "We could not parse the JSON body of your request. ("+errDecode(err)+")")
		return
	}
	p, msg := req.prompt()
	model, stream := req.target()
	if msg != "" {
		c := s.begin(model, r.URL.Path, stream)
		d.badRequest(&recorder{ResponseWriter: w, c: c}, msg)
		return
	}
	s.chat(w, r, d, model, p, stream)
}

// setToolChoice reads an OpenAI tool_choice: "none", "required", or a
// named tool, as Chat Completions ({"function":{"name"}}) or the Responses
// API ({"name"}) spell it.
func (p *prompt) setToolChoice(raw json.RawMessage) {
	var choice string
	var named struct {
		Name     string `json:"name"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	switch {
	case json.Unmarshal(raw, &choice) == nil:
		switch choice {
		case "none":
			p.choice = toolNone
		case "required":
			p.choice = toolRequired
		}
	case json.Unmarshal(raw, &named) == nil && named.Name+named.Function.Name != "":
		p.choice, p.forcedTool = toolRequired, named.Name+named.Function.Name
	}
}

// prompt extracts the prompt, or returns the message of a 400.
func (req *oaRequest) prompt() (*prompt, string) {
	if req.Model == "" {
		return nil, "you must provide a model parameter"
	}
	if len(req.Messages) == 0 {
		return nil, "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead."
	}
	p := &prompt{}
	for i, m := range req.Messages {
		if m.ThinkingBlocks != nil {
			return nil, fmt.Sprintf("Additional properties are not allowed ('thinking_blocks' was unexpected) - 'messages.%d'", i)
		}
		p.add(m.Role)
		var str string
		if json.Unmarshal(m.Content, &str) == nil {
			p.add(str)
		} else {
			var parts []oaPart
			if len(m.Content) > 0 && string(m.Content) != "null" && json.Unmarshal(m.Content, &parts) != nil {
				return nil, fmt.Sprintf("Invalid type for 'messages.content': expected a string or an array, got %s.", string(m.Content[:1]))
			}
			for _, part := range parts {
				switch part.Type {
				case "image_url":
					p.images++
				default:
					p.add(part.Text)
				}
			}
		}
		for _, tc := range m.ToolCalls {
			p.add(tc.Function.Name)
			p.add(tc.Function.Arguments)
		}
	}
	p.includeUsage = req.Stream && req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	p.lastFromUser = req.Messages[len(req.Messages)-1].Role == "user"
	for _, t := range req.Tools {
		p.tools = append(p.tools, tool{name: t.Function.Name, schema: t.Function.Parameters})
		p.add(t.Function.Name)
		p.add(t.Function.Description)
		p.add(string(t.Function.Parameters))
	}
	p.setToolChoice(req.ToolChoice)
	if rf := req.ResponseFormat; rf != nil {
		switch rf.Type {
		case "json_object":
			p.jsonMode = true
		case "json_schema":
			p.jsonMode = true
			if rf.JSONSchema != nil {
				p.jsonSchema = rf.JSONSchema.Schema
			}
		}
	}
	switch {
	case req.MaxCompletionTokens != nil:
		p.maxTokens = *req.MaxCompletionTokens
	case req.MaxTokens != nil:
		p.maxTokens = *req.MaxTokens
	}
	if p.maxTokens < 0 {
		return nil, fmt.Sprintf("Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got %d instead.", p.maxTokens)
	}
	p.effort, p.maxTokensParam, p.temperature = req.ReasoningEffort, req.MaxTokens != nil, req.Temperature
	return p, ""
}

func (openAI) badRequest(w http.ResponseWriter, msg string) {
	writeOpenAIError(w, http.StatusBadRequest, oaError{Message: msg, Type: "invalid_request_error"}, 0)
}

func (openAI) notFound(w http.ResponseWriter, model string) {
	writeOpenAIError(w, http.StatusNotFound, oaError{
		Message: fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", model),
		Type:    "invalid_request_error", Code: strp("model_not_found"),
	}, 0)
}

func (openAI) statusError(w http.ResponseWriter, status int, retryAfter time.Duration) {
	e := oaError{Type: "server_error", Message: "The server had an error while processing your request. Sorry about that!"}
	switch {
	case status == http.StatusTooManyRequests:
		e = oaError{Type: "requests", Code: strp("rate_limit_exceeded"),
			Message: "Rate limit reached for requests. Please try again later."}
	case status == http.StatusUnauthorized:
		e = oaError{Type: "invalid_request_error", Code: strp("invalid_api_key"),
			Message: "Incorrect API key provided."}
	case status == http.StatusForbidden:
		e = oaError{Type: "invalid_request_error", Code: strp("permission_denied"),
			Message: "You are not allowed to access this resource."}
	case status == http.StatusServiceUnavailable:
		e.Message = "The engine is currently overloaded, please try again later."
	case status < 500:
		e = oaError{Type: "invalid_request_error", Message: http.StatusText(status)}
	}
	writeOpenAIError(w, status, e, retryAfter)
}

func (openAI) contextError(w http.ResponseWriter, input, maxTokens, window int) {
	msg := fmt.Sprintf("This model's maximum context length is %d tokens. However, you requested %d tokens (%d in the messages, %d in the completion). Please reduce the length of the messages or completion.",
		window, input+maxTokens, input, maxTokens)
	if maxTokens == 0 {
		msg = fmt.Sprintf("This model's maximum context length is %d tokens. However, your messages resulted in %d tokens. Please reduce the length of the messages.", window, input)
	}
	writeOpenAIError(w, http.StatusBadRequest, oaError{Message: msg, Type: "invalid_request_error",
		Param: strp("messages"), Code: strp("context_length_exceeded")}, 0)
}

func (openAI) policyError(w http.ResponseWriter) {
	writeOpenAIError(w, http.StatusBadRequest, oaError{
		Message: "Your request was rejected as a result of our safety system. Your prompt may contain text that is not allowed by our safety system.",
		Type:    "invalid_request_error", Code: strp("content_policy_violation"),
	}, 0)
}

// oaUsage is an OpenAI usage block.
type oaUsage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	TotalTokens         int `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
		AudioTokens  int `json:"audio_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens          int `json:"reasoning_tokens"`
		AudioTokens              int `json:"audio_tokens"`
		AcceptedPredictionTokens int `json:"accepted_prediction_tokens"`
		RejectedPredictionTokens int `json:"rejected_prediction_tokens"`
	} `json:"completion_tokens_details"`
}

func newOAUsage(x *exchange, out int) *oaUsage {
	out += x.reasoning
	u := &oaUsage{PromptTokens: x.input, CompletionTokens: out, TotalTokens: x.input + out}
	u.PromptTokensDetails.CachedTokens = x.cached
	u.CompletionTokensDetails.ReasoningTokens = x.reasoning
	return u
}

func finishReason(rep reply) string {
	switch {
	case rep.truncated:
		return "length"
	case rep.toolName != "":
		return "tool_calls"
	}
	return "stop"
}

func (d openAI) respond(w http.ResponseWriter, x *exchange, rep reply) {
	id := d.s.nextID(24)
	writeJSON(w, http.StatusOK, oaCompletion(x, rep, id, rep.text(), len(rep.tokens)),
		map[string]string{"x-request-id": "req_" + id, "openai-processing-ms": "1"})
}

// oaCompletion is the chat.completion object "chatcmpl-"+id answering
// with text (the content, or the tool call's arguments) in out tokens.
func oaCompletion(x *exchange, rep reply, id, text string, out int) map[string]any {
	msg := map[string]any{"role": "assistant", "content": nil, "refusal": nil, "annotations": []any{}}
	if rep.toolName != "" {
		msg["tool_calls"] = []any{map[string]any{
			"id": "call_" + id, "type": "function",
			"function": map[string]any{"name": rep.toolName, "arguments": text},
		}}
	} else {
		msg["content"] = text
	}
	if x.model.ShowReasoning && x.reasoning > 0 {
		msg["reasoning_content"] = strings.Join(thinkingTokens(x.reasoning), "")
	}
	return map[string]any{
		"id": "chatcmpl-" + id, "object": "chat.completion", "created": x.created, "model": x.model.Name,
		"choices": []any{map[string]any{
			"index": 0, "message": msg, "logprobs": nil, "finish_reason": finishReason(rep),
		}},
		"usage":              newOAUsage(x, out),
		"service_tier":       "default",
		"system_fingerprint": "fp_sim",
	}
}

func (d openAI) newStream(w http.ResponseWriter, x *exchange, rep reply) streamer {
	id := d.s.nextID(24)
	return &oaStream{sse: newSSE(w), x: x, rep: rep, id: id}
}

// oaStream writes chat.completion.chunk events.
type oaStream struct {
	*sse
	x    *exchange
	rep  reply
	id   string
	sent int
}

func (o *oaStream) chunk(delta map[string]any, finish any) map[string]any {
	c := map[string]any{
		"id": "chatcmpl-" + o.id, "object": "chat.completion.chunk", "created": o.x.created,
		"model": o.x.model.Name, "system_fingerprint": "fp_sim", "service_tier": "default",
		"choices": []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}},
	}
	if o.x.usage {
		c["usage"] = nil
	}
	return c
}

func (o *oaStream) start() error {
	if err := o.header(map[string]string{"x-request-id": "req_" + o.id}); err != nil {
		return err
	}
	if o.x.model.ShowReasoning {
		// DeepSeek's shape: the reasoning first, with no content.
		for _, t := range thinkingTokens(o.x.reasoning) {
			if err := o.event("", o.chunk(map[string]any{"content": nil, "reasoning_content": t}, nil)); err != nil {
				return err
			}
		}
	}
	delta := map[string]any{"role": "assistant", "content": "", "refusal": nil}
	if o.rep.toolName != "" {
		delta["content"] = nil
		delta["tool_calls"] = []any{map[string]any{
			"index": 0, "id": "call_" + o.id, "type": "function",
			"function": map[string]any{"name": o.rep.toolName, "arguments": ""},
		}}
	}
	return o.event("", o.chunk(delta, nil))
}

func (o *oaStream) token(piece string) error {
	o.sent++
	delta := map[string]any{"content": piece}
	if o.rep.toolName != "" {
		delta = map[string]any{"tool_calls": []any{map[string]any{
			"index": 0, "function": map[string]any{"arguments": piece},
		}}}
	}
	return o.event("", o.chunk(delta, nil))
}

func (o *oaStream) ping() error { return nil }

func (o *oaStream) malformed() error {
	return o.event("", `{"id":"chatcmpl-`+o.id+`","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"`)
}

func (o *oaStream) fail() error { return o.event("", oaStreamError()) }

// oaStreamError is the in-band error frame of OpenAI's streams, sent by a
// stream_error fault.
func oaStreamError() map[string]oaError {
	return map[string]oaError{"error": {
		Message: "The server had an error while processing your request. Sorry about that!",
		Type:    "server_error",
	}}
}

func (o *oaStream) finish(terminator bool) error {
	if err := o.event("", o.chunk(map[string]any{}, finishReason(o.rep))); err != nil {
		return err
	}
	if !terminator {
		return nil
	}
	if o.x.usage {
		c := o.chunk(nil, nil)
		c["choices"] = []any{}
		c["usage"] = newOAUsage(o.x, o.sent)
		if err := o.event("", c); err != nil {
			return err
		}
	}
	return o.event("", "[DONE]")
}

// handleModels lists the models, in the Anthropic format when the client
// sends anthropic-version, else in the OpenAI format.
func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	names := append([]string(nil), s.order...)
	s.mu.Unlock()
	created := s.now()
	if r.Header.Get("anthropic-version") != "" {
		data := make([]any, 0, len(names))
		for _, n := range names {
			data = append(data, anModel(n, created))
		}
		first, last := "", ""
		if len(names) > 0 {
			first, last = names[0], names[len(names)-1]
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": data, "has_more": false, "first_id": first, "last_id": last}, nil)
		return
	}
	data := make([]any, 0, len(names))
	for _, n := range names {
		data = append(data, oaModel(n, created))
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data}, nil)
}

// handleModel describes one model, in the dialect chosen like handleModels.
func (s *Server) handleModel(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("model")
	_, ok := s.lookup(name)
	anthropic := r.Header.Get("anthropic-version") != ""
	switch {
	case !ok && anthropic:
		anthropicAPI{s}.notFound(w, name)
	case !ok:
		openAI{s}.notFound(w, name)
	case anthropic:
		writeJSON(w, http.StatusOK, anModel(name, s.now()), nil)
	default:
		writeJSON(w, http.StatusOK, oaModel(name, s.now()), nil)
	}
}

func oaModel(name string, created time.Time) map[string]any {
	return map[string]any{"id": name, "object": "model", "created": created.Unix(), "owned_by": "switchyard-sim"}
}

func anModel(name string, created time.Time) map[string]any {
	return map[string]any{"type": "model", "id": name, "display_name": displayName(name),
		"created_at": created.UTC().Format(time.RFC3339)}
}

// displayName is a model name with its first letter upper-cased.
func displayName(name string) string {
	if name == "" {
		return ""
	}
	return strings.ToUpper(name[:1]) + name[1:]
}
