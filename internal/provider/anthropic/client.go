// Package anthropic is the provider adapter for the Anthropic Messages API.
// The executor calls it through provider.Provider.
package anthropic

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// DefaultVersion is the anthropic-version header sent when the deployment
// names none.
const DefaultVersion = "2023-06-01"

// DefaultMaxTokens is sent when a translated request sets no output limit
// and the deployment names none (provider.Config.MaxOutputTokens): the
// Messages API requires max_tokens.
const DefaultMaxTokens = 4096

// Client talks to one Anthropic Messages deployment. Safe for concurrent use.
type Client struct {
	cfg       provider.Config
	http      *http.Client
	endpoint  string
	modelJSON []byte // cfg.Model as a JSON string
	now       func() time.Time
	secrets   provider.Secrets // redacted from upstream error messages
}

var _ provider.Provider = (*Client)(nil)

// New returns a Client for cfg. It uses cfg.HTTPClient, or
// http.DefaultClient when that is nil.
func New(cfg provider.Config) *Client {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if !strings.HasSuffix(base, "/v1") {
		base += "/v1"
	}
	model, _ := json.Marshal(cfg.Model) // a string always encodes
	return &Client{cfg: cfg, http: hc, endpoint: base + "/messages", modelJSON: model, now: time.Now, secrets: provider.SecretsOf(cfg)}
}

// Dialect reports llm.DialectAnthropic.
func (c *Client) Dialect() llm.Dialect { return llm.DialectAnthropic }

// Chat sends a non-streaming Messages request; a translated request for
// several answers (OpenAI's n) is sent that many times at once
// (provider.Choices).
func (c *Client) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	body, err := c.messagesBody(req, false)
	if err != nil {
		return nil, err
	}
	n := 1
	if req.Dialect != llm.DialectAnthropic {
		n = req.Choices // a translated request for several answers
	}
	return provider.Choices(ctx, n, func(ctx context.Context) (*llm.Response, error) {
		resp, err := c.post(ctx, req, body, false)
		if err != nil {
			return nil, err
		}
		raw, err := provider.ReadBody(ctx, resp)
		if err != nil {
			return nil, err
		}
		return c.parseResponse(raw)
	})
}

// ChatStream sends a streaming Messages request and returns once the
// response headers arrived.
func (c *Client) ChatStream(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	body, err := c.messagesBody(req, true)
	if err != nil {
		return nil, err
	}
	resp, err := c.post(ctx, req, body, true)
	if err != nil {
		return nil, err
	}
	return newStream(c, resp.Body), nil
}

// messagesBody builds the upstream body: the client's own body with model
// rewritten when it is already Anthropic's dialect, a translation otherwise.
func (c *Client) messagesBody(req *llm.Request, stream bool) ([]byte, error) {
	if req.Dialect != llm.DialectAnthropic || len(req.Raw) == 0 {
		return c.translate(req, stream)
	}
	set := []provider.Member{{Key: "model", Raw: c.modelJSON}}
	if stream != gjson.GetBytes(req.Raw, "stream").Bool() {
		set = append(set, provider.Member{Key: "stream", Raw: []byte(strconv.FormatBool(stream))})
	}
	body, ok := provider.SetMembers(req.Raw, set...)
	if !ok {
		return nil, &provider.Error{Kind: provider.KindBadRequest, Message: "request body is not a JSON object"}
	}
	return body, nil
}

// post sends body, made for req, and returns a 2xx response; any other
// status is read and classified.
func (c *Client) post(ctx context.Context, req *llm.Request, body []byte, stream bool) (*http.Response, error) {
	return c.postTo(ctx, c.endpoint, req, body, stream)
}

func (c *Client) postTo(ctx context.Context, url string, req *llm.Request, body []byte, stream bool) (*http.Response, error) {
	hr, err := provider.NewPost(ctx, url, body, stream, c.cfg.Headers)
	if err != nil {
		return nil, fmt.Errorf("anthropic: build request: %w", err)
	}
	version := c.cfg.APIVersion
	if version == "" {
		version = DefaultVersion
	}
	hr.Header.Set("anthropic-version", version)
	if req.Dialect == llm.DialectAnthropic && req.Beta != "" {
		// The client's betas, after any the deployment's headers set.
		hr.Header.Set("anthropic-beta", joinBetas(hr.Header.Get("anthropic-beta"), req.Beta))
	}
	if c.cfg.APIKey != "" {
		hr.Header.Set("x-api-key", c.cfg.APIKey)
	}
	return provider.Send(c.http, hr, c.classify)
}

// joinBetas merges two comma-separated anthropic-beta lists, each name
// once, in order.
func joinBetas(a, b string) string {
	var names []string
	for _, list := range [2]string{a, b} {
		for n := range strings.SplitSeq(list, ",") {
			if n = strings.TrimSpace(n); n != "" && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	return strings.Join(names, ",")
}

// parseResponse decodes a Messages response body; Raw keeps it verbatim.
func (c *Client) parseResponse(raw []byte) (*llm.Response, error) {
	if !wirejson.Valid(raw) {
		return nil, &provider.Error{Kind: provider.KindUnavailable, Status: 200, Message: "malformed messages response"}
	}
	root := gjson.ParseBytes(raw)
	if root.Get("type").String() == "error" {
		return nil, c.classify(0, nil, raw)
	}
	if !root.Get("content").IsArray() {
		// An empty content array is a legitimate (empty) answer; no
		// content at all is the provider failing.
		return nil, &provider.Error{Kind: provider.KindUnavailable, Status: 200, Message: "messages response without content"}
	}
	if sr := root.Get("stop_reason"); sr.Type != gjson.String || sr.Str == "" {
		// A whole answer always has its stop_reason: one without (null,
		// missing, empty) was not finished, malformed as one cut in half
		// is. It fails over rather than reach the client as a finished
		// answer (an OpenAI client would read finish_reason stop).
		return nil, &provider.Error{Kind: provider.KindUnavailable, Status: 200, Message: "messages response without stop_reason"}
	}
	resp := &llm.Response{
		ID:           root.Get("id").String(),
		Model:        root.Get("model").String(),
		Created:      c.now().Unix(),
		FinishReason: stopReason(root.Get("stop_reason").String()),
		Usage:        usage(root.Get("usage")),
		Raw:          raw,
		Dialect:      llm.DialectAnthropic,
	}
	var text strings.Builder
	for _, b := range root.Get("content").Array() {
		switch b.Get("type").String() {
		case "text":
			text.WriteString(b.Get("text").String())
		case "tool_use":
			args := b.Get("input").Raw
			if args == "" {
				args = "{}"
			}
			resp.ToolCalls = append(resp.ToolCalls, llm.ToolCall{ID: b.Get("id").String(), Name: b.Get("name").String(), Arguments: args})
		case "thinking":
			resp.Thinking = append(resp.Thinking, llm.Thinking{Text: b.Get("thinking").String(), Signature: b.Get("signature").String()})
		case "redacted_thinking":
			resp.Thinking = append(resp.Thinking, llm.Thinking{Redacted: b.Get("data").String()})
		}
	}
	resp.Text = text.String()
	return resp, nil
}

// usage reads a usage object. Anthropic's input_tokens leaves out the
// tokens read from and written to the prompt cache; the canonical input
// count includes them.
func usage(u gjson.Result) llm.Usage {
	return provider.CacheUsage(u, "input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "output_tokens")
}

// stopReason maps Anthropic's stop_reason to the canonical finish reason.
func stopReason(s string) llm.FinishReason {
	switch s {
	case "":
		return ""
	case "max_tokens", "model_context_window_exceeded":
		return llm.FinishLength
	case "tool_use":
		return llm.FinishToolCalls
	case "refusal":
		return llm.FinishContentFilter
	default: // end_turn, stop_sequence, pause_turn
		return llm.FinishStop
	}
}

var _ provider.TokenCounter = (*Client)(nil)

// CountTokens asks the Messages API's count_tokens endpoint how many input
// tokens req (a count_tokens body in the Anthropic dialect) holds on this
// deployment's model. It sends the client's body with only "model"
// rewritten; other dialects are not counted here (KindBadRequest).
func (c *Client) CountTokens(ctx context.Context, req *llm.Request) (int, error) {
	if req.Dialect != llm.DialectAnthropic || len(req.Raw) == 0 {
		return 0, &provider.Error{Kind: provider.KindBadRequest, Message: "count_tokens takes a Messages request"}
	}
	body, ok := provider.SetMembers(req.Raw, provider.Member{Key: "model", Raw: c.modelJSON})
	if !ok {
		return 0, &provider.Error{Kind: provider.KindBadRequest, Message: "request body is not a JSON object"}
	}
	resp, err := c.postTo(ctx, c.endpoint+"/count_tokens", req, body, false)
	if err != nil {
		return 0, err
	}
	raw, err := provider.ReadBody(ctx, resp)
	if err != nil {
		return 0, err
	}
	n := gjson.GetBytes(raw, "input_tokens")
	if n.Type != gjson.Number || n.Int() < 0 {
		return 0, &provider.Error{Kind: provider.KindUnavailable, Status: 200, Message: "count_tokens response without input_tokens"}
	}
	return int(n.Int()), nil
}
