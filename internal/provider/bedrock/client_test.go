package bedrock

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/provider/providertest"
)

// wire is a request as the fake upstream of wireUpstream received it,
// with its path as sent (escaped).
type wire struct {
	host, uri string
	header    http.Header
	body      []byte
}

// wireUpstream starts a fake upstream that records each request's raw
// URI and answers a Converse fixture (or, for converse-stream, a short
// event stream).
func wireUpstream(t *testing.T) (*httptest.Server, <-chan wire) {
	t.Helper()
	got := make(chan wire, 8)
	stream := encode(t, event("messageStart", `{"role":"assistant"}`), event("messageStop", `{"stopReason":"end_turn"}`))
	fixture := providertest.Fixture(t, "converse_text.json")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- wire{host: r.Host, uri: r.RequestURI, header: r.Header.Clone(), body: b}
		if strings.HasSuffix(r.URL.Path, "/converse-stream") {
			w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
			_, _ = w.Write(stream)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(fixture)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

// send makes one Chat (or, with stream, ChatStream) call of c and returns
// the request the upstream received.
func send(t *testing.T, c *Client, got <-chan wire, stream bool) wire {
	t.Helper()
	if stream {
		s, err := c.ChatStream(context.Background(), hello())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := drain(t, s); err != io.EOF {
			t.Fatalf("stream ended with %v, want io.EOF", err)
		}
		_ = s.Close()
	} else if _, err := c.Chat(context.Background(), hello()); err != nil {
		t.Fatal(err)
	}
	select {
	case w := <-got:
		return w
	default:
		t.Fatal("got no upstream request, want one")
		return wire{}
	}
}

// TestRequestWithAPIKey: the model goes escaped into the path, a Bedrock
// API key as a bearer token, the configured headers along; a stream asks
// for an event stream.
func TestRequestWithAPIKey(t *testing.T) {
	const arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5"
	for _, tt := range []struct {
		name, model, suffix string
		stream              bool
		wantURI, wantAccept string
	}{
		// The model id is escaped as the AWS SDK escapes a path label:
		// everything but letters, digits and -._~.
		{"converse", testModel, "", false, "/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse", "application/json"},
		{"converse-stream", testModel, "", true, "/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream", "application/vnd.amazon.eventstream"},
		{"profile ARN, base URL with a slash", arn, "/", false,
			"/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-sonnet-4-5/converse", "application/json"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := wireUpstream(t)
			c := newClient(srv, func(cfg *provider.Config) {
				cfg.Model, cfg.BaseURL = tt.model, cfg.BaseURL+tt.suffix
				cfg.Headers = map[string]string{"X-Amzn-Bedrock-Trace": "ENABLED"}
				cfg.AWSAccessKeyID, cfg.AWSSecretAccessKey = "AKIDEXAMPLE", "unused" // the API key wins
			})
			w := send(t, c, got, tt.stream)
			if w.uri != tt.wantURI {
				t.Errorf("URI %q, want %q", w.uri, tt.wantURI)
			}
			for name, want := range map[string]string{
				"Authorization": "Bearer " + testKey, "Content-Type": "application/json", "Accept": tt.wantAccept,
				"X-Amzn-Bedrock-Trace": "ENABLED", "X-Amz-Date": "", "X-Amz-Security-Token": "",
			} {
				if g := w.header.Get(name); g != want {
					t.Errorf("header %s: %q, want %q", name, g, want)
				}
			}
		})
	}
}

// TestRequestSignedWithAccessKeys: without an API key the request is
// signed with SigV4 for the bedrock service in the deployment's region,
// after every other header is set (the signature covers them), with the
// session token when there is one; the signature checks out against the
// request as received.
func TestRequestSignedWithAccessKeys(t *testing.T) {
	for _, tt := range []struct {
		name   string
		token  string
		stream bool
	}{
		{"access keys", "", false},
		{"with a session token", "session-token-s3cret", false},
		{"streaming", "session-token-s3cret", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := wireUpstream(t)
			creds := aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret-key-s3cret", SessionToken: tt.token}
			c := newClient(srv, func(cfg *provider.Config) {
				cfg.APIKey = ""
				cfg.AWSAccessKeyID, cfg.AWSSecretAccessKey, cfg.AWSSessionToken = creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken
				cfg.Headers = map[string]string{"X-Custom": "1"}
			})
			w := send(t, c, got, tt.stream)
			auth := w.header.Get("Authorization")
			if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/bedrock/aws4_request, SignedHeaders=") {
				t.Errorf("Authorization %q, want a SigV4 signature for bedrock in us-east-1", auth)
			}
			if !strings.Contains(auth, "accept;content-length;content-type;host;x-amz-date;") || !strings.Contains(auth, "x-custom") {
				t.Errorf("Authorization %q, want every header signed", auth)
			}
			if d := w.header.Get("X-Amz-Date"); d != "20250101T000000Z" {
				t.Errorf("X-Amz-Date %q, want 20250101T000000Z", d)
			}
			if tok := w.header.Get("X-Amz-Security-Token"); tok != tt.token {
				t.Errorf("X-Amz-Security-Token %q, want %q", tok, tt.token)
			}
			if want := resign(t, w, creds); auth != want {
				t.Errorf("Authorization\n got %s\nwant %s (the request as received, signed)", auth, want)
			}
		})
	}
}

// resign signs the request w as received, with only the headers its
// Authorization names, and returns the Authorization that makes.
func resign(t *testing.T, w wire, creds aws.Credentials) string {
	t.Helper()
	_, signed, _ := strings.Cut(w.header.Get("Authorization"), "SignedHeaders=")
	signed, _, _ = strings.Cut(signed, ",")
	hr, err := http.NewRequest(http.MethodPost, "http://"+w.host+w.uri, bytes.NewReader(w.body))
	if err != nil {
		t.Fatal(err)
	}
	hr.Header = http.Header{}
	for _, name := range strings.Split(signed, ";") {
		if name != "host" && name != "content-length" {
			hr.Header[http.CanonicalHeaderKey(name)] = w.header.Values(name)
		}
	}
	sum := sha256.Sum256(w.body)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, hr, hex.EncodeToString(sum[:]), "bedrock", "us-east-1", testNow); err != nil {
		t.Fatal(err)
	}
	return hr.Header.Get("Authorization")
}

// TestRequestWithoutCredential: a deployment with no credential sends
// none (a proxy in front of Bedrock may add it).
func TestRequestWithoutCredential(t *testing.T) {
	srv, got := wireUpstream(t)
	w := send(t, newClient(srv, func(cfg *provider.Config) { cfg.APIKey = "" }), got, false)
	for _, name := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token"} {
		if v := w.header.Get(name); v != "" {
			t.Errorf("header %s %q, want none", name, v)
		}
	}
}

// TestCredentialsNeverInErrors: an upstream that echoes the credential
// back does not get it into the error.
func TestCredentialsNeverInErrors(t *testing.T) {
	secrets := []string{"AKIDLEAK", "secret-key-s3cret", "session-token-s3cret"}
	srv, _ := providertest.Upstream(t, providertest.Reply{Status: 403,
		Header: map[string]string{"X-Amzn-ErrorType": "InvalidSignatureException"},
		Body: `{"message":"The request signature we calculated does not match the signature you provided. ` +
			`Credential=AKIDLEAK/20250101/us-east-1/bedrock/aws4_request key secret-key-s3cret token session-token-s3cret"}`})
	c := newClient(srv, func(cfg *provider.Config) {
		cfg.APIKey = ""
		cfg.AWSAccessKeyID, cfg.AWSSecretAccessKey, cfg.AWSSessionToken = secrets[0], secrets[1], secrets[2]
	})
	_, err := c.Chat(context.Background(), hello())
	if provider.KindOf(err) != provider.KindAuth {
		t.Fatalf("got %v, want an auth error", err)
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q holds the credential %q", err, s)
		}
	}
	if !strings.Contains(err.Error(), "signature we calculated") {
		t.Errorf("error %q, want the provider's message", err)
	}
}

// TestDefaultEndpoint: with no base URL the region's public endpoint is
// used; the signing region is the configured one, else the base URL's,
// else us-east-1.
func TestDefaultEndpoint(t *testing.T) {
	for _, tt := range []struct {
		cfg                  provider.Config
		wantEndpoint, region string
	}{
		{provider.Config{Region: "eu-west-1", Model: "m"}, "https://bedrock-runtime.eu-west-1.amazonaws.com/model/m", "eu-west-1"},
		{provider.Config{Model: "m"}, "https://bedrock-runtime.us-east-1.amazonaws.com/model/m", "us-east-1"},
		{provider.Config{BaseURL: "https://bedrock-runtime.ap-south-1.amazonaws.com/", Model: "a/b"}, "https://bedrock-runtime.ap-south-1.amazonaws.com/model/a%2Fb", "ap-south-1"},
		{provider.Config{BaseURL: "https://bedrock-runtime-fips.us-west-2.amazonaws.com", Model: "m"}, "https://bedrock-runtime-fips.us-west-2.amazonaws.com/model/m", "us-west-2"},
		{provider.Config{BaseURL: "https://proxy.example.com/bedrock", Region: "eu-central-1", Model: "m"}, "https://proxy.example.com/bedrock/model/m", "eu-central-1"},
		{provider.Config{BaseURL: "http://127.0.0.1:8080", Model: "m"}, "http://127.0.0.1:8080/model/m", "us-east-1"},
	} {
		c := New(tt.cfg)
		if c.endpoint != tt.wantEndpoint || c.region != tt.region {
			t.Errorf("%+v: endpoint %q region %q, want %q %q", tt.cfg, c.endpoint, c.region, tt.wantEndpoint, tt.region)
		}
	}
	if d := New(provider.Config{}).Dialect(); d != llm.DialectBedrock {
		t.Errorf("dialect %q, want bedrock", d)
	}
}

// TestChatResponses: Converse answers become canonical responses, with
// the request id as their id and the cache counts in the input count.
func TestChatResponses(t *testing.T) {
	header := map[string]string{"x-amzn-RequestId": testRequestID}
	for _, tt := range []struct {
		name, fixture string
		want          func(raw []byte) *llm.Response
	}{
		{"text blocks concatenated, cache reads counted in", "converse_text.json", func(raw []byte) *llm.Response {
			return &llm.Response{ID: testRequestID, Model: testModel, Created: testNow.Unix(),
				Text: "Hi! My name is Claude. How can I help?", FinishReason: llm.FinishStop,
				Usage: llm.Usage{InputTokens: 2195, CachedInputTokens: 100, OutputTokens: 503}, Raw: raw, Dialect: llm.DialectBedrock}
		}},
		{"tool use, cache reads and writes counted in", "converse_tool_use.json", func(raw []byte) *llm.Response {
			return &llm.Response{ID: testRequestID, Model: testModel, Created: testNow.Unix(),
				Text: "I'll check the weather.", FinishReason: llm.FinishToolCalls,
				ToolCalls: []llm.ToolCall{
					{ID: "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", Name: "get_weather", Arguments: `{"location": "San Francisco, CA", "unit": "celsius"}`},
					{ID: "tooluse_2", Name: "get_time", Arguments: "{}"},
				},
				Usage: llm.Usage{InputTokens: 472, CachedInputTokens: 300, CacheWriteTokens: 100, OutputTokens: 89}, Raw: raw, Dialect: llm.DialectBedrock}
		}},
		{"reasoning text and redacted reasoning", "converse_thinking.json", func(raw []byte) *llm.Response {
			return &llm.Response{ID: testRequestID, Model: testModel, Created: testNow.Unix(),
				Text: "Rayleigh scattering.", FinishReason: llm.FinishStop,
				Thinking: []llm.Thinking{{Text: "The sky scatters blue light.", Signature: "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"}, {Redacted: "EmwKAhgBEgy3va3pzix"}},
				Usage:    llm.Usage{InputTokens: 25, OutputTokens: 40}, Raw: raw, Dialect: llm.DialectBedrock}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := providertest.Upstream(t, providertest.Reply{Fixture: tt.fixture, Header: header})
			resp, err := newClient(srv, nil).Chat(context.Background(), hello())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want(providertest.Fixture(t, tt.fixture)), resp); diff != "" {
				t.Errorf("response mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestChatStopReasons: every Bedrock stop reason maps to a finish reason.
func TestChatStopReasons(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want llm.FinishReason
	}{
		{"end_turn", llm.FinishStop}, {"stop_sequence", llm.FinishStop}, {"tool_use", llm.FinishToolCalls},
		{"max_tokens", llm.FinishLength}, {"model_context_window_exceeded", llm.FinishLength},
		{"guardrail_intervened", llm.FinishContentFilter}, {"content_filtered", llm.FinishContentFilter},
		// Malformed output, and no stopReason (an answer not finished).
		{"malformed_model_output", "unusable"}, {"malformed_tool_use", "unusable"}, {"", "unusable"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			srv, _ := providertest.Upstream(t, providertest.Reply{Body: `{"output":{"message":{"role":"assistant","content":[{"text":"x"}]}},"stopReason":"` + tt.in + `"}`})
			resp, err := newClient(srv, nil).Chat(context.Background(), hello())
			if tt.want == "unusable" {
				// Malformed output is a failure to fail over, not an answer.
				if provider.KindOf(err) != provider.KindUnavailable {
					t.Errorf("got %v, want an unavailable error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.FinishReason != tt.want {
				t.Errorf("got %q, want %q", resp.FinishReason, tt.want)
			}
		})
	}
}

// TestChatStopSequence: a stop_sequence stop names the sequence the model
// reported among additionalModelResponseFields, or none when it reported
// none; any other stop has no stop sequence.
func TestChatStopSequence(t *testing.T) {
	for _, tt := range []struct {
		name, fields, stop string
		want               *string
	}{
		{"reported", `,"additionalModelResponseFields":{"stop_sequence":"STOP1"}`, "stop_sequence", new("STOP1")},
		{"not reported", ``, "stop_sequence", new("")},
		{"end_turn", `,"additionalModelResponseFields":{"stop_sequence":null}`, "end_turn", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := providertest.Upstream(t, providertest.Reply{Body: `{"output":{"message":{"role":"assistant","content":[{"text":"x"}]}},"stopReason":"` + tt.stop + `"` + tt.fields + `}`})
			resp, err := newClient(srv, nil).Chat(context.Background(), hello())
			if err != nil {
				t.Fatal(err)
			}
			if resp.FinishReason != llm.FinishStop || !cmp.Equal(resp.StopSequence, tt.want) {
				t.Errorf("got %q, stop sequence %v; want stop, %v", resp.FinishReason, ptr(resp.StopSequence), ptr(tt.want))
			}
		})
	}
}

// ptr is *p, or "nil", for messages.
func ptr(p *string) string {
	if p == nil {
		return "nil"
	}
	return strconv.Quote(*p)
}

// TestChatWithoutMessageFails: a 200 that is not JSON or has no
// output.message is an unavailable upstream; a message with no content is
// a (legitimately) empty answer, with no id when the header is missing.
func TestChatWithoutMessageFails(t *testing.T) {
	for _, tt := range []struct {
		body    string
		wantErr bool
	}{
		{`not json`, true},
		{`{"stopReason":"end_turn","usage":{"inputTokens":1,"outputTokens":0}}`, true},
		{`{"output":{"message":null}}`, true},
		// Not finished: no stopReason, or a null one.
		{`{"output":{"message":{"role":"assistant","content":[{"text":"Partial"}]}}}`, true},
		{`{"output":{"message":{"role":"assistant","content":[{"text":"Partial"}]}},"stopReason":null}`, true},
		{`{"output":{"message":{"role":"assistant","content":[]}},"stopReason":"end_turn"}`, false},
	} {
		srv, _ := providertest.Upstream(t, providertest.Reply{Body: tt.body})
		resp, err := newClient(srv, nil).Chat(context.Background(), hello())
		if got := provider.KindOf(err) == provider.KindUnavailable; got != tt.wantErr {
			t.Errorf("%s: got %+v, %v; want unavailable error %v", tt.body, resp, err, tt.wantErr)
		}
		if !tt.wantErr && (resp.Text != "" || resp.ID != "" || resp.FinishReason != llm.FinishStop) {
			t.Errorf("%s: got %+v, want an empty answer", tt.body, resp)
		}
	}
}
