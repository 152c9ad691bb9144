// Package bedrock is the provider adapter for Amazon Bedrock's Converse
// API. The executor calls it through provider.Provider. No client speaks
// Bedrock's dialect, so every request is translated from the canonical
// body, and every answer is translated back: nothing is relayed verbatim.
package bedrock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go/encoding/httpbinding"
	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// DefaultRegion is the AWS region used when the deployment names none and
// its base URL does not name one either (see regionOf).
const DefaultRegion = "us-east-1"

// DefaultMaxTokens is the answer's share of maxTokens when thinking is
// turned on for a request that sets no output limit on a deployment that
// names none: the thinking budget is added to it.
const DefaultMaxTokens = 4096

// signingService is the SigV4 service name of the Bedrock runtime.
const signingService = "bedrock"

// requestIDHeader carries the id AWS gives each request; a Converse body
// has no id of its own, so it becomes the answer's.
const requestIDHeader = "x-amzn-RequestId"

// Client talks to one Bedrock Converse deployment (a model in a region,
// with one credential). Safe for concurrent use.
type Client struct {
	cfg      provider.Config
	http     *http.Client
	endpoint string // base URL + /model/<escaped model>
	region   string
	signer   *v4.Signer
	now      func() time.Time
	secrets  provider.Secrets // redacted from upstream error messages
}

var _ provider.Provider = (*Client)(nil)

// New returns a Client for cfg. It uses cfg.HTTPClient, or
// http.DefaultClient when that is nil. An empty cfg.BaseURL means the
// public endpoint of cfg.Region.
func New(cfg provider.Config) *Client {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	region := regionOf(cfg)
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = "https://bedrock-runtime." + region + ".amazonaws.com"
	}
	return &Client{
		cfg:      cfg,
		http:     hc,
		endpoint: base + "/model/" + httpbinding.EscapePath(cfg.Model, true),
		region:   region,
		signer:   v4.NewSigner(),
		now:      time.Now,
		secrets:  provider.SecretsOf(cfg),
	}
}

// regionOf is the deployment's region: cfg.Region, else the region named
// by a base URL of the form https://bedrock-runtime[-fips].<region>.amazonaws.com,
// else DefaultRegion. It is the SigV4 signing region and the default
// endpoint's.
func regionOf(cfg provider.Config) string {
	if cfg.Region != "" {
		return cfg.Region
	}
	if u, err := url.Parse(cfg.BaseURL); err == nil {
		labels := strings.Split(u.Hostname(), ".")
		if len(labels) >= 4 && strings.HasPrefix(labels[0], "bedrock-runtime") && labels[2] == "amazonaws" && labels[1] != "" {
			return labels[1]
		}
	}
	return DefaultRegion
}

// Dialect reports llm.DialectBedrock.
func (c *Client) Dialect() llm.Dialect { return llm.DialectBedrock }

// Chat sends a Converse request; a request for several answers (OpenAI's
// n) is sent that many times at once (provider.Choices).
func (c *Client) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	body, err := c.translate(req)
	if err != nil {
		return nil, err
	}
	return provider.Choices(ctx, req.Choices, func(ctx context.Context) (*llm.Response, error) {
		resp, err := c.post(ctx, body, false)
		if err != nil {
			return nil, err
		}
		raw, err := provider.ReadBody(ctx, resp)
		if err != nil {
			return nil, err
		}
		return c.parseResponse(raw, resp.Header)
	})
}

// ChatStream sends a ConverseStream request and returns once the response
// headers arrived.
func (c *Client) ChatStream(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	body, err := c.translate(req)
	if err != nil {
		return nil, err
	}
	resp, err := c.post(ctx, body, true)
	if err != nil {
		return nil, err
	}
	return newStream(c, resp.Body, resp.Header.Get(requestIDHeader)), nil
}

// post sends body to the Converse (or ConverseStream) endpoint and returns
// a 2xx response; any other status is read and classified.
func (c *Client) post(ctx context.Context, body []byte, stream bool) (*http.Response, error) {
	op := "/converse"
	if stream {
		op += "-stream"
	}
	return c.postTo(ctx, op, body, stream)
}

// postTo sends body to the model's operation op ("/converse") and returns
// a 2xx response; any other status is read and classified.
func (c *Client) postTo(ctx context.Context, op string, body []byte, stream bool) (*http.Response, error) {
	hr, err := provider.NewPost(ctx, c.endpoint+op, body, stream, c.cfg.Headers)
	if err != nil {
		return nil, fmt.Errorf("bedrock: build request: %w", err)
	}
	if stream {
		hr.Header.Set("Accept", "application/vnd.amazon.eventstream")
	}
	if err := c.authorize(ctx, hr, body); err != nil {
		return nil, err
	}
	return provider.Send(c.http, hr, c.classify)
}

// authorize adds the deployment's credential to hr, whose other headers
// are all set: a Bedrock API key as a bearer token, else a SigV4 signature
// of the request with the access keys (it covers the headers, so it comes
// last), else nothing.
func (c *Client) authorize(ctx context.Context, hr *http.Request, body []byte) error {
	switch {
	case c.cfg.APIKey != "":
		hr.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	case c.cfg.AWSAccessKeyID != "":
		sum := sha256.Sum256(body)
		creds := aws.Credentials{
			AccessKeyID:     c.cfg.AWSAccessKeyID,
			SecretAccessKey: c.cfg.AWSSecretAccessKey,
			SessionToken:    c.cfg.AWSSessionToken,
		}
		if err := c.signer.SignHTTP(ctx, creds, hr, hex.EncodeToString(sum[:]), signingService, c.region, c.now()); err != nil {
			// The signer's errors never hold the keys, but say little
			// either; the deployment's credential is unusable.
			return &provider.Error{Kind: provider.KindAuth, Message: "cannot sign the request", Err: err}
		}
	}
	return nil
}

// parseResponse decodes a Converse response body; Raw keeps it verbatim.
// h gives the answer its id (Bedrock's request id).
func (c *Client) parseResponse(raw []byte, h http.Header) (*llm.Response, error) {
	if !wirejson.Valid(raw) {
		return nil, &provider.Error{Kind: provider.KindUnavailable, Status: 200, Message: "malformed converse response"}
	}
	root := gjson.ParseBytes(raw)
	msg := root.Get("output.message")
	if !msg.IsObject() {
		return nil, &provider.Error{Kind: provider.KindUnavailable, Status: 200, Message: "converse response without output.message"}
	}
	if err := malformedStop(root.Get("stopReason").String()); err != nil {
		return nil, err
	}
	if sr := root.Get("stopReason"); sr.Type != gjson.String || sr.Str == "" {
		// A whole answer always has its stopReason: one without was not
		// finished, malformed as one cut in half is. It fails over
		// rather than reach the client as a finished answer.
		return nil, &provider.Error{Kind: provider.KindUnavailable, Status: 200, Message: "converse response without stopReason"}
	}
	resp := &llm.Response{
		ID:           h.Get(requestIDHeader),
		Model:        c.cfg.Model,
		Created:      c.now().Unix(),
		FinishReason: stopReason(root.Get("stopReason").String()),
		StopSequence: stopSequence(root),
		Usage:        usage(root.Get("usage")),
		Raw:          raw,
		Dialect:      llm.DialectBedrock,
	}
	var text strings.Builder
	for _, b := range msg.Get("content").Array() {
		switch {
		case b.Get("text").Type == gjson.String:
			text.WriteString(b.Get("text").String())
		case b.Get("toolUse").IsObject():
			tu := b.Get("toolUse")
			args := tu.Get("input").Raw
			if args == "" {
				args = "{}"
			}
			resp.ToolCalls = append(resp.ToolCalls, llm.ToolCall{ID: tu.Get("toolUseId").String(), Name: tu.Get("name").String(), Arguments: args})
		case b.Get("reasoningContent").IsObject():
			rc := b.Get("reasoningContent")
			if rt := rc.Get("reasoningText"); rt.IsObject() {
				resp.Thinking = append(resp.Thinking, llm.Thinking{Text: rt.Get("text").String(), Signature: rt.Get("signature").String()})
			} else if r := rc.Get("redactedContent").String(); r != "" {
				resp.Thinking = append(resp.Thinking, llm.Thinking{Redacted: r})
			}
		}
	}
	resp.Text = text.String()
	return resp, nil
}

// usage reads a TokenUsage object. Bedrock's inputTokens leaves out the
// tokens read from and written to the prompt cache; the canonical input
// count includes them.
func usage(u gjson.Result) llm.Usage {
	return provider.CacheUsage(u, "inputTokens", "cacheReadInputTokens", "cacheWriteInputTokens", "outputTokens")
}

// malformedStop is the failure a stopReason of malformed output reports
// (malformed_model_output, malformed_tool_use): the answer cannot be used,
// so it fails over like any other bad answer rather than pass as complete.
func malformedStop(stop string) error {
	if stop == "malformed_model_output" || stop == "malformed_tool_use" {
		return &provider.Error{Kind: provider.KindUnavailable, Status: 200, Message: "the model's output was malformed (" + stop + ")"}
	}
	return nil
}

// stopReason maps Bedrock's stopReason to the canonical finish reason.
func stopReason(s string) llm.FinishReason {
	switch s {
	case "":
		return ""
	case "max_tokens", "model_context_window_exceeded":
		return llm.FinishLength
	case "tool_use":
		return llm.FinishToolCalls
	case "guardrail_intervened", "content_filtered":
		return llm.FinishContentFilter
	default: // end_turn, stop_sequence (malformed output is a failure: see malformedStop)
		return llm.FinishStop
	}
}

// stopSequence is the stop sequence that ended the answer of stop, a
// Converse response or messageStop event: nil unless its stopReason is
// stop_sequence; then the sequence the model reported among
// additionalModelResponseFields (see stopSequencePath), or "" when it
// reported none.
func stopSequence(stop gjson.Result) *string {
	if stop.Get("stopReason").String() != "stop_sequence" {
		return nil
	}
	seq := stop.Get("additionalModelResponseFields.stop_sequence").String()
	return &seq
}
