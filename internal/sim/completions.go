package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// completionsAPI is OpenAI's legacy Completions API (POST /v1/completions):
// a prompt in, text_completion objects out (chunks when streaming, ending
// with [DONE]). Its errors are OpenAI's.
type completionsAPI struct{ openAI }

// cmRequest is the part of a Completions request the simulator reads.
type cmRequest struct {
	Model         string          `json:"model"`
	Prompt        json.RawMessage `json:"prompt"`
	Suffix        string          `json:"suffix"`
	MaxTokens     *int            `json:"max_tokens"`
	Stream        bool            `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

func (s *Server) handleCompletions(w http.ResponseWriter, r *http.Request) {
	s.handleOpenAIStyle(w, r, completionsAPI{openAI{s}}, &cmRequest{})
}

func (req *cmRequest) target() (string, bool) { return req.Model, req.Stream }

// prompt extracts the prompt, or returns the message of a 400.
func (req *cmRequest) prompt() (*prompt, string) {
	if req.Model == "" {
		return nil, "you must provide a model parameter"
	}
	p := &prompt{lastFromUser: true}
	var one string
	var many []string
	switch {
	case len(req.Prompt) == 0 || string(req.Prompt) == "null":
		return nil, "Missing required parameter: 'prompt'."
	case json.Unmarshal(req.Prompt, &one) == nil:
		p.add(one)
	case json.Unmarshal(req.Prompt, &many) == nil && len(many) == 1:
		p.add(many[0])
	default:
		return nil, "Invalid 'prompt': the simulator takes a string or an array of one string."
	}
	p.add(req.Suffix)
	if req.MaxTokens != nil {
		if *req.MaxTokens < 0 {
			return nil, fmt.Sprintf("Invalid 'max_tokens': integer below minimum value. Expected a value >= 0, but got %d instead.", *req.MaxTokens)
		}
		p.maxTokens = *req.MaxTokens
	}
	p.includeUsage = req.Stream && req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	return p, ""
}

func (d completionsAPI) object(x *exchange, id string, choices []any) map[string]any {
	return map[string]any{"id": "cmpl-" + id, "object": "text_completion", "created": x.created, "model": x.model.Name,
		"choices": choices, "system_fingerprint": "fp_sim"}
}

func cmChoice(text string, finish any) map[string]any {
	return map[string]any{"text": text, "index": 0, "logprobs": nil, "finish_reason": finish}
}

func (d completionsAPI) respond(w http.ResponseWriter, x *exchange, rep reply) {
	id := d.s.nextID(24)
	o := d.object(x, id, []any{cmChoice(rep.text(), finishReason(reply{truncated: rep.truncated}))})
	o["usage"] = newOAUsage(x, len(rep.tokens))
	writeJSON(w, http.StatusOK, o, map[string]string{"x-request-id": "req_" + id})
}

func (d completionsAPI) newStream(w http.ResponseWriter, x *exchange, rep reply) streamer {
	return &cmStream{sse: newSSE(w), d: d, x: x, rep: rep, id: d.s.nextID(24)}
}

// cmStream writes text_completion chunks.
type cmStream struct {
	*sse
	d    completionsAPI
	x    *exchange
	rep  reply
	id   string
	sent int
}

func (o *cmStream) start() error {
	return o.header(map[string]string{"x-request-id": "req_" + o.id})
}

func (o *cmStream) token(piece string) error {
	o.sent++
	return o.event("", o.d.object(o.x, o.id, []any{cmChoice(piece, nil)}))
}

func (o *cmStream) ping() error { return nil }

func (o *cmStream) malformed() error {
	return o.event("", `{"id":"cmpl-`+o.id+`","object":"text_completion","choices":[{"text":"`)
}

func (o *cmStream) fail() error {
	return o.event("", map[string]oaError{"error": {
		Message: "The server had an error while processing your request. Sorry about that!", Type: "server_error",
	}})
}

func (o *cmStream) finish(terminator bool) error {
	if err := o.event("", o.d.object(o.x, o.id, []any{cmChoice("", finishReason(reply{truncated: o.rep.truncated}))})); err != nil {
		return err
	}
	if !terminator {
		return nil
	}
	if o.x.usage {
		c := o.d.object(o.x, o.id, []any{})
		c["usage"] = newOAUsage(o.x, o.sent)
		if err := o.event("", c); err != nil {
			return err
		}
	}
	return o.event("", "[DONE]")
}
