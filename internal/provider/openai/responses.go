package openai

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// responsesBody is the client's Responses API body with model (and, when
// streaming, stream) rewritten; the request is never translated.
func (c *Client) responsesBody(req *llm.Request, stream bool) ([]byte, error) {
	if c.cfg.Azure {
		return nil, &provider.Error{Kind: provider.KindBadRequest, Message: "this deployment does not serve the Responses API"}
	}
	flag := []byte("false")
	if stream {
		flag = jsonTrue
	}
	body, ok := provider.SetMembers(req.Raw,
		provider.Member{Key: "model", Raw: c.modelJSON},
		provider.Member{Key: "stream", Raw: flag})
	if !ok {
		return nil, notObject()
	}
	return withoutOurThinking(body)
}

// withoutOurThinking drops the input's reasoning items that hold thinking
// the gateway gave out for another deployment's answer
// (llm.ThinkingItemPrefix): OpenAI would refuse their encrypted_content.
func withoutOurThinking(body []byte) ([]byte, error) {
	if !bytes.Contains(body, []byte(llm.ThinkingItemPrefix)) {
		return body, nil
	}
	items := gjson.GetBytes(body, "input")
	if !items.IsArray() {
		return body, nil
	}
	kept := make([]byte, 0, len(items.Raw))
	kept = append(kept, '[')
	items.ForEach(func(_, it gjson.Result) bool {
		if it.Get("type").Str == "reasoning" && strings.HasPrefix(it.Get("encrypted_content").Str, llm.ThinkingItemPrefix) {
			return true
		}
		if len(kept) > 1 {
			kept = append(kept, ',')
		}
		kept = append(kept, it.Raw...)
		return true
	})
	kept = append(kept, ']')
	body, err := sjson.SetRawBytes(body, "input", kept)
	if err != nil {
		return nil, notObject()
	}
	return body, nil
}

// postResponses sends a Responses API request and returns a 2xx response.
func (c *Client) postResponses(ctx context.Context, req *llm.Request, stream bool) (*http.Response, error) {
	body, err := c.responsesBody(req, stream)
	if err != nil {
		return nil, err
	}
	return c.post(ctx, c.endpoint("responses"), body, stream)
}

// Forward sends a request to op under the base URL with rawQuery: a
// bodiless one (GET, DELETE, or POST as for responses/{id}/cancel) when
// body is nil, else body as JSON. It returns a 2xx response for the
// caller to relay and close; any other status is a classified error. The
// object endpoints of the Responses, Videos and Conversations APIs use
// it, which Azure's URL layout does not have: refused.
func (c *Client) Forward(ctx context.Context, method, op, rawQuery string, body []byte) (*http.Response, error) {
	if c.cfg.Azure {
		return nil, &provider.Error{Kind: provider.KindBadRequest, Message: "this deployment (Azure's URL layout) does not serve " + op}
	}
	u := c.endpoint(op)
	if rawQuery != "" {
		u += "?" + rawQuery
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	hr, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("openai: build request: %w", err)
	}
	for k, v := range c.cfg.Headers {
		hr.Header.Set(k, v)
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	hr.Header.Set("Accept", "application/json, text/event-stream")
	if c.cfg.APIKey != "" {
		hr.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
	return provider.Send(c.http, hr, c.classify)
}

// responses sends a non-streaming Responses API request.
func (c *Client) responses(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	resp, err := c.postResponses(ctx, req, false)
	if err != nil {
		return nil, err
	}
	raw, err := provider.ReadBody(ctx, resp)
	if err != nil {
		return nil, err
	}
	return c.parseResponsesObject(raw)
}

// responsesStream sends a streaming Responses API request.
func (c *Client) responsesStream(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	resp, err := c.postResponses(ctx, req, true)
	if err != nil {
		return nil, err
	}
	return &rsStream{c: c, upstreamSSE: newUpstreamSSE(resp.Body)}, nil
}

// parseResponsesObject reads a response object: its text and function
// calls (for checks and estimates), status and usage; Raw keeps it verbatim.
// A failed response, or one with no output, is the provider failing.
func (c *Client) parseResponsesObject(raw []byte) (*llm.Response, error) {
	if !wirejson.Valid(raw) {
		return nil, &provider.Error{Kind: provider.KindUnavailable, Status: 200, Message: "malformed response object"}
	}
	root := gjson.ParseBytes(raw)
	if e := root.Get("error"); e.IsObject() {
		return nil, c.classify(0, nil, []byte(`{"error":`+e.Raw+`}`))
	}
	output := root.Get("output")
	// A background response is answered while still queued (or already
	// in progress), with no output yet: that is its answer.
	pending := root.Get("status").Str == "queued" || root.Get("status").Str == "in_progress"
	if !output.IsArray() || output.Get("#").Int() == 0 && !pending {
		return nil, &provider.Error{Kind: provider.KindUnavailable, Status: 200, Message: "response object without output"}
	}
	resp := &llm.Response{
		ID:           root.Get("id").String(),
		Model:        root.Get("model").String(),
		Created:      root.Get("created_at").Int(),
		FinishReason: llm.FinishStop,
		Raw:          raw,
		Dialect:      llm.DialectOpenAIResponses,
	}
	var text strings.Builder
	output.ForEach(func(_, item gjson.Result) bool {
		switch item.Get("type").Str {
		case "message":
			item.Get("content").ForEach(func(_, part gjson.Result) bool {
				text.WriteString(part.Get("text").Str)
				text.WriteString(part.Get("refusal").Str)
				return true
			})
		case "function_call":
			resp.ToolCalls = append(resp.ToolCalls, llm.ToolCall{
				ID: item.Get("call_id").Str, Name: item.Get("name").Str, Arguments: item.Get("arguments").Str,
			})
		}
		return true
	})
	resp.Text = text.String()
	switch {
	case root.Get("status").Str == "incomplete":
		resp.FinishReason = llm.FinishLength
	case len(resp.ToolCalls) > 0:
		resp.FinishReason = llm.FinishToolCalls
	}
	if u := root.Get("usage"); u.IsObject() {
		resp.Usage = responsesUsage(u)
	}
	return resp, nil
}

// rsStream decodes a Responses API stream: typed events, the terminal one
// response.completed or response.incomplete (no [DONE]); response.failed
// and error events are failures. Every event keeps its frame for the relay.
type rsStream struct {
	upstreamSSE
	c   *Client
	err error // sticky: io.EOF after the terminal event, or the failure
}

// Dialect reports llm.DialectOpenAIResponses.
func (s *rsStream) Dialect() llm.Dialect { return llm.DialectOpenAIResponses }

var _ llm.Buffering = (*rsStream)(nil)

// Next returns the next event; see llm.Stream for the end rules.
func (s *rsStream) Next() (llm.Event, error) {
	if s.err != nil {
		return llm.Event{}, s.err
	}
	f, ev, data, err := s.nextFrame("response.completed")
	if err != nil {
		s.err = err
		return llm.Event{}, err
	}
	if !data {
		return ev, nil // comment or keep-alive
	}
	typ := f.Event
	if typ == "" {
		typ = gjson.Get(f.Data, "type").Str
	}
	switch typ {
	case "response.output_text.delta", "response.refusal.delta":
		ev.Text = gjson.Get(f.Data, "delta").Str
	case "response.function_call_arguments.delta":
		ev.ToolCalls = []llm.ToolCallDelta{{Index: int(gjson.Get(f.Data, "output_index").Int()), Arguments: gjson.Get(f.Data, "delta").Str}}
	case "response.created":
		r := gjson.GetMany(f.Data, "response.id", "response.model")
		ev.Start, ev.ID, ev.Model = true, r[0].Str, r[1].Str
	case "response.completed", "response.incomplete":
		r := gjson.Get(f.Data, "response")
		ev.Done = true
		ev.Model = r.Get("model").Str
		ev.FinishReason = llm.FinishStop
		if typ == "response.incomplete" {
			ev.FinishReason = llm.FinishLength
		}
		if u := r.Get("usage"); u.IsObject() {
			u := responsesUsage(u)
			ev.Usage = &u
		}
		s.err = io.EOF
	case "response.failed":
		e := gjson.Get(f.Data, "response.error")
		if !e.IsObject() {
			e = gjson.Parse(`{"type":"server_error","message":"response failed"}`)
		}
		s.err = s.c.classify(0, nil, []byte(`{"error":`+e.Raw+`}`))
		return llm.Event{}, s.err
	case "error":
		s.err = s.c.classify(0, nil, []byte(`{"error":`+f.Data+`}`))
		return llm.Event{}, s.err
	}
	return ev, nil
}

// CompactResponse sends a Responses API compaction (POST
// responses/compact) with the deployment's model, and returns the
// compacted conversation as it came, with its usage.
func (c *Client) CompactResponse(ctx context.Context, req *llm.RelayRequest) (*llm.RelayResponse, error) {
	raw, err := c.relayResponses(ctx, "responses/compact", req)
	if err != nil {
		return nil, err
	}
	r := gjson.GetManyBytes(raw, "object", "output", "usage")
	if r[0].Str != "response.compaction" || !r[1].IsArray() {
		return nil, &provider.Error{Kind: provider.KindUnavailable, Message: "compaction answer without a compacted output"}
	}
	u := gjson.GetMany(r[2].Raw, "input_tokens", "output_tokens", "input_tokens_details.cached_tokens")
	return &llm.RelayResponse{Raw: raw, Usage: llm.Usage{InputTokens: int(u[0].Int()), OutputTokens: int(u[1].Int()), CachedInputTokens: int(u[2].Int())}.Clamped()}, nil
}

// CountResponseTokens asks the deployment how many input tokens a
// Responses API request holds (POST responses/input_tokens).
func (c *Client) CountResponseTokens(ctx context.Context, req *llm.RelayRequest) (int, error) {
	raw, err := c.relayResponses(ctx, "responses/input_tokens", req)
	if err != nil {
		return 0, err
	}
	n := gjson.GetBytes(raw, "input_tokens")
	if n.Type != gjson.Number || n.Int() < 0 {
		return 0, &provider.Error{Kind: provider.KindUnavailable, Message: "input token count without input_tokens"}
	}
	return int(n.Int()), nil
}

// relayResponses posts req to op of the Responses API with the
// deployment's model (postModel), which Azure's URL layout does not have.
func (c *Client) relayResponses(ctx context.Context, op string, req *llm.RelayRequest) ([]byte, error) {
	if !c.Relays(llm.DialectOpenAIResponses) {
		return nil, &provider.Error{Kind: provider.KindBadRequest, Message: "this deployment (Azure's URL layout) does not serve " + op}
	}
	return c.postModel(ctx, op, req.Raw)
}
