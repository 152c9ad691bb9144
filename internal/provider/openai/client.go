// Package openai is the provider adapter for the OpenAI Chat Completions,
// Responses (relayed only) and Embeddings APIs, and for Azure OpenAI's deployment URL layout. The executor
// calls it through provider.Provider and provider.Embedder.
package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// DefaultAzureAPIVersion is the api-version sent to Azure OpenAI when the
// deployment names none.
const DefaultAzureAPIVersion = "2024-10-21"

// Client talks to one OpenAI-compatible deployment. Safe for concurrent use.
type Client struct {
	cfg       provider.Config
	http      *http.Client
	base      string
	modelJSON []byte // cfg.Model as a JSON string
	now       func() time.Time
	secrets   provider.Secrets // redacted from upstream error messages

	wsOnce sync.Once
	ws     *http.Client // for Realtime API handshakes (websocketClient)
}

var (
	_ provider.Provider = (*Client)(nil)
	_ provider.Embedder = (*Client)(nil)
)

// New returns a Client for cfg. It uses cfg.HTTPClient, or
// http.DefaultClient when that is nil.
func New(cfg provider.Config) *Client {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	model, _ := json.Marshal(cfg.Model) // a string always encodes
	return &Client{cfg: cfg, http: hc, base: strings.TrimRight(cfg.BaseURL, "/"), modelJSON: model, now: time.Now, secrets: provider.SecretsOf(cfg)}
}

// Dialect reports llm.DialectOpenAI.
func (c *Client) Dialect() llm.Dialect { return llm.DialectOpenAI }

// Chat sends a non-streaming chat completion.
func (c *Client) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	if req.Dialect == llm.DialectOpenAIResponses && c.Relays(req.Dialect) {
		return c.responses(ctx, req)
	}
	body, err := c.chatBody(req, false)
	if err != nil {
		return nil, err
	}
	resp, err := c.post(ctx, c.endpoint(operation(req)), body, false)
	if err != nil {
		return nil, err
	}
	raw, err := provider.ReadBody(ctx, resp)
	if err != nil {
		return nil, err
	}
	if req.Dialect == llm.DialectOpenAICompletions {
		return c.parseCompletion(raw)
	}
	return c.parseResponse(raw)
}

// operation is the API path of a chat request: Chat Completions, or the
// legacy Completions API a request of that dialect is relayed to.
func operation(req *llm.Request) string {
	if req.Dialect == llm.DialectOpenAICompletions {
		return "completions"
	}
	return "chat/completions"
}

// Relays reports whether the deployment takes requests of dialect d, which
// the gateway relays without translating: the legacy Completions API
// always (Azure included), the Responses API unless Azure.
func (c *Client) Relays(d llm.Dialect) bool {
	switch d {
	case llm.DialectOpenAICompletions:
		return true
	case llm.DialectOpenAIResponses:
		return !c.cfg.Azure
	}
	return false
}

// ChatStream sends a streaming chat completion and returns once the
// response headers arrived.
func (c *Client) ChatStream(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	if req.Dialect == llm.DialectOpenAIResponses && c.Relays(req.Dialect) {
		return c.responsesStream(ctx, req)
	}
	body, err := c.chatBody(req, true)
	if err != nil {
		return nil, err
	}
	resp, err := c.post(ctx, c.endpoint(operation(req)), body, true)
	if err != nil {
		return nil, err
	}
	s := newStream(c, resp.Body, req.Choices)
	s.completions = req.Dialect == llm.DialectOpenAICompletions
	return s, nil
}

// Embed sends an embeddings request: req.Raw with only model rewritten.
func (c *Client) Embed(ctx context.Context, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	raw, err := c.postModel(ctx, "embeddings", req.Raw)
	if err != nil {
		return nil, err
	}
	u := gjson.GetManyBytes(raw, "model", "usage.prompt_tokens", "data.#")
	if req.Inputs > 0 && int(u[2].Int()) != req.Inputs {
		// Fewer (or more) embeddings than inputs cannot be matched to
		// them: fail over rather than relay, and never cache, it.
		return nil, &provider.Error{Kind: provider.KindUnavailable, Status: 200,
			Message: fmt.Sprintf("embeddings response has %d embeddings for %d inputs", u[2].Int(), req.Inputs)}
	}
	return &llm.EmbedResponse{Model: u[0].String(), Usage: llm.Usage{InputTokens: int(u[1].Int())}.Clamped(), Raw: raw}, nil
}

// Moderate relays a moderations request with model rewritten. Azure
// OpenAI has no moderations endpoint (config refuses the capability
// there).
func (c *Client) Moderate(ctx context.Context, req *llm.ModerationRequest) (*llm.ModerationResponse, error) {
	if c.cfg.Azure {
		return nil, &provider.Error{Kind: provider.KindNotFound, Message: "Azure OpenAI serves no moderations endpoint"}
	}
	raw, err := c.postModel(ctx, "moderations", req.Raw)
	if err != nil {
		return nil, err
	}
	if r := gjson.GetBytes(raw, "results"); !r.IsArray() {
		return nil, &provider.Error{Kind: provider.KindUnavailable, Message: "malformed moderations response"}
	}
	return &llm.ModerationResponse{Model: gjson.GetBytes(raw, "model").String(), Raw: raw}, nil
}

// postModel posts raw, a client's JSON body, to op with only its model
// rewritten to the deployment's, and reads the answer, which must be
// whole JSON.
func (c *Client) postModel(ctx context.Context, op string, raw []byte) ([]byte, error) {
	body, ok := provider.SetMembers(raw, provider.Member{Key: "model", Raw: c.modelJSON})
	if !ok {
		return nil, notObject()
	}
	resp, err := c.post(ctx, c.endpoint(op), body, false)
	if err != nil {
		return nil, err
	}
	answer, err := provider.ReadBody(ctx, resp)
	if err != nil {
		return nil, err
	}
	if !wirejson.Valid(answer) {
		return nil, &provider.Error{Kind: provider.KindUnavailable, Status: resp.StatusCode, Message: "malformed " + op + " response: not JSON"}
	}
	return answer, nil
}

// maxImagesBody bounds an image generation answer: up to ten large
// images, base64-encoded.
const maxImagesBody = 128 << 20

// GenerateImages relays an image generation request with model rewritten
// (to Azure OpenAI's deployment path too). The answer must hold its
// images (data); usage is read where the model reports it.
func (c *Client) GenerateImages(ctx context.Context, req *llm.ImageRequest) (*llm.ImageResponse, error) {
	body, ok := provider.SetMembers(req.Raw, provider.Member{Key: "model", Raw: c.modelJSON})
	if !ok {
		return nil, notObject()
	}
	resp, err := c.post(ctx, c.endpoint("images/generations"), body, false)
	if err != nil {
		return nil, err
	}
	return imageAnswer(ctx, resp)
}

// EditImages relays an image edit or variation, a multipart form (see
// formRequest) to the endpoint its Op names; the answer is read as a
// generation's.
func (c *Client) EditImages(ctx context.Context, req *llm.FormRequest) (*llm.ImageResponse, error) {
	hr, err := c.formRequest(ctx, req)
	if err != nil {
		return nil, err
	}
	resp, err := c.send(hr)
	if err != nil {
		return nil, err
	}
	return imageAnswer(ctx, resp)
}

// CreateVideo starts a Videos API job: a create, as a form (see
// formRequest) or JSON with model rewritten, or a remix of an earlier
// video, its body relayed as it is. The answer must be a video object.
func (c *Client) CreateVideo(ctx context.Context, req *llm.VideoRequest) (*llm.VideoResponse, error) {
	if c.cfg.Azure {
		return nil, &provider.Error{Kind: provider.KindBadRequest, Message: "this deployment does not serve the Videos API"}
	}
	var resp *http.Response
	var err error
	switch {
	case req.RemixOf != "":
		resp, err = c.post(ctx, c.endpoint("videos/"+url.PathEscape(req.RemixOf)+"/remix"), req.Raw, false)
	case req.Form != nil:
		var hr *http.Request
		if hr, err = c.formRequest(ctx, req.Form); err == nil {
			resp, err = c.send(hr)
		}
	default:
		body, ok := provider.SetMembers(req.Raw, provider.Member{Key: "model", Raw: c.modelJSON})
		if !ok {
			return nil, notObject()
		}
		resp, err = c.post(ctx, c.endpoint("videos"), body, false)
	}
	if err != nil {
		return nil, err
	}
	raw, err := provider.ReadBody(ctx, resp)
	if err != nil {
		return nil, err
	}
	r := gjson.GetManyBytes(raw, "id", "object", "seconds")
	if r[0].Str == "" || r[1].Str != "video" || !wirejson.Valid(raw) {
		return nil, &provider.Error{Kind: provider.KindUnavailable, Status: resp.StatusCode, Message: "video response without a video object"}
	}
	seconds, _ := strconv.ParseFloat(r[2].String(), 64) // "4", or a number
	return &llm.VideoResponse{ID: r[0].Str, Seconds: max(seconds, 0), Raw: raw}, nil
}

// imageAnswer reads an image generation or edit answer: it must be whole
// JSON holding its images (data); usage is read where the model reports
// it.
func imageAnswer(ctx context.Context, resp *http.Response) (*llm.ImageResponse, error) {
	raw, err := provider.ReadBodyUpTo(ctx, resp, maxImagesBody)
	if err != nil {
		return nil, err
	}
	r := gjson.GetManyBytes(raw, "data", "usage.input_tokens", "usage.output_tokens")
	if !r[0].IsArray() || len(r[0].Array()) == 0 || !wirejson.Valid(raw) {
		return nil, &provider.Error{Kind: provider.KindUnavailable, Status: resp.StatusCode, Message: "image response without images"}
	}
	return &llm.ImageResponse{
		Usage:  llm.Usage{InputTokens: int(r[1].Int()), OutputTokens: int(r[2].Int())}.Clamped(),
		Images: len(r[0].Array()),
		Raw:    raw,
	}, nil
}

// chatBody builds the upstream body: the client's own body with model
// rewritten when it is already OpenAI's dialect, a translation otherwise.
func (c *Client) chatBody(req *llm.Request, stream bool) ([]byte, error) {
	if req.Dialect != llm.DialectOpenAI && req.Dialect != llm.DialectOpenAICompletions || len(req.Raw) == 0 {
		return c.translate(req, stream)
	}
	body, err := c.relayBody(req.Raw, stream)
	if err != nil {
		return nil, err
	}
	return withoutThinkingBlocks(body)
}

// withoutThinkingBlocks drops the thinking_blocks of assistant messages:
// the gateway gives an Anthropic deployment's thinking to OpenAI clients
// in that field, to be sent back to Anthropic, and no OpenAI-compatible
// server takes it.
func withoutThinkingBlocks(body []byte) ([]byte, error) {
	if !bytes.Contains(body, []byte(`"thinking_blocks"`)) {
		return body, nil
	}
	var err error
	for i, m := range gjson.GetBytes(body, "messages").Array() {
		if m.Get("thinking_blocks").Exists() && err == nil {
			body, err = sjson.DeleteBytes(body, "messages."+strconv.Itoa(i)+".thinking_blocks")
		}
	}
	if err != nil {
		return nil, &provider.Error{Kind: provider.KindBadRequest, Message: "request body is not a JSON object", Err: err}
	}
	return body, nil
}

// relayBody is an OpenAI client's own body for this deployment.
func (c *Client) relayBody(raw []byte, stream bool) ([]byte, error) {
	if stream {
		// Usage must always be known, for budgets and usage records.
		body, ok := provider.SetMembers(raw,
			provider.Member{Key: "model", Raw: c.modelJSON},
			provider.Member{Key: "stream", Raw: jsonTrue},
			provider.Member{Key: "stream_options", Raw: includeUsage, Merge: setIncludeUsage})
		if !ok {
			return nil, notObject()
		}
		return body, nil
	}
	body, ok := provider.SetMembers(raw, provider.Member{Key: "model", Raw: c.modelJSON})
	if !ok {
		return nil, notObject()
	}
	if gjson.GetBytes(body, "stream").Bool() {
		// A streaming client's request sent non-streaming (a cascade
		// stage): OpenAI rejects stream_options without stream.
		var err error
		body, err = sjson.SetBytes(body, "stream", false)
		if err == nil {
			body, err = sjson.DeleteBytes(body, "stream_options")
		}
		if err != nil {
			return nil, &provider.Error{Kind: provider.KindBadRequest, Message: "request body is not a JSON object", Err: err}
		}
	}
	return body, nil
}

var (
	jsonTrue     = []byte("true")
	includeUsage = []byte(`{"include_usage":true}`)
)

func notObject() error {
	return &provider.Error{Kind: provider.KindBadRequest, Message: "request body is not a JSON object"}
}

// setIncludeUsage sets include_usage in a client's own stream_options.
func setIncludeUsage(old []byte) ([]byte, error) {
	return sjson.SetBytes(old, "include_usage", true)
}

// endpoint returns the URL of an API operation ("chat/completions").
func (c *Client) endpoint(op string) string {
	if !c.cfg.Azure {
		return c.base + "/" + op
	}
	v := c.cfg.APIVersion
	if v == "" {
		v = DefaultAzureAPIVersion
	}
	return c.base + "/openai/deployments/" + url.PathEscape(c.cfg.Model) + "/" + op + "?api-version=" + url.QueryEscape(v)
}

// post sends body to u and returns a 2xx response; any other status is read
// and classified.
func (c *Client) post(ctx context.Context, u string, body []byte, stream bool) (*http.Response, error) {
	hr, err := provider.NewPost(ctx, u, body, stream, c.cfg.Headers)
	if err != nil {
		return nil, fmt.Errorf("openai: build request: %w", err)
	}
	return c.send(hr)
}

// send adds the deployment's credential to hr and sends it (see post).
func (c *Client) send(hr *http.Request) (*http.Response, error) {
	if c.cfg.Azure {
		hr.Header.Set("api-key", c.cfg.APIKey)
	} else if c.cfg.APIKey != "" {
		hr.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
	return provider.Send(c.http, hr, c.classify)
}
