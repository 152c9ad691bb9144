package bedrock

import (
	"bytes"
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/provider/providertest"
)

// TestMain fails the tests when goroutines leak.
func TestMain(m *testing.M) { providertest.VerifyTestMain(m) }

const (
	testKey   = "bedrock-api-key-s3cret"
	testModel = "anthropic.claude-sonnet-4-5-20250929-v1:0"
	// testRequestID is the x-amzn-RequestId the fake upstreams answer with.
	testRequestID = "5d6a5f1e-0c1b-4d4e-9a3f-0123456789ab"
)

// testNow is the fixed clock of newClient's clients.
var testNow = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// newClient returns a Client for srv, with a Bedrock API key and a fixed
// clock.
func newClient(srv *httptest.Server, mod func(*provider.Config)) *Client {
	cfg := provider.Config{BaseURL: srv.URL, APIKey: testKey, Model: testModel, Region: "us-east-1", HTTPClient: srv.Client()}
	if mod != nil {
		mod(&cfg)
	}
	c := New(cfg)
	c.now = func() time.Time { return testNow }
	return c
}

// adapter is this package's Client as providertest's shared checks build it.
var adapter = providertest.Adapter{
	New: func(srv *httptest.Server, mod func(*provider.Config)) provider.Provider { return newClient(srv, mod) },
	Key: testKey,
}

// frame is one event stream message a fake upstream sends: an event or
// an exception with its JSON payload, or an event stream error with its
// code (name) and message (payload) in headers.
type frame struct {
	kind, name, payload string
}

// event is an event frame of type name.
func event(name, payload string) frame { return frame{"event", name, payload} }

// exception is an exception frame of type name.
func exception(name, payload string) frame { return frame{"exception", name, payload} }

// encode encodes frames as application/vnd.amazon.eventstream, with the
// headers Bedrock sends.
func encode(t testing.TB, frames ...frame) []byte {
	t.Helper()
	enc := eventstream.NewEncoder()
	var buf bytes.Buffer
	for _, f := range frames {
		var hs eventstream.Headers
		hs.Set(":message-type", eventstream.StringValue(f.kind))
		payload := []byte(f.payload)
		switch f.kind {
		case "exception":
			hs.Set(":exception-type", eventstream.StringValue(f.name))
		case "error":
			hs.Set(":error-code", eventstream.StringValue(f.name))
			hs.Set(":error-message", eventstream.StringValue(f.payload))
			payload = nil
		default:
			hs.Set(":event-type", eventstream.StringValue(f.name))
		}
		hs.Set(":content-type", eventstream.StringValue("application/json"))
		if err := enc.Encode(&buf, eventstream.Message{Headers: hs, Payload: payload}); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// streamReply is a fake upstream's 200 with an event stream body.
func streamReply(body []byte) providertest.Reply {
	return providertest.Reply{Body: string(body), Header: map[string]string{
		"Content-Type": "application/vnd.amazon.eventstream", "x-amzn-RequestId": testRequestID,
	}}
}

// request is a request with the canonical body b, as a client of another
// dialect sends it.
func request(b *llm.Body) *llm.Request {
	r := &llm.Request{Model: "route", Dialect: llm.DialectOpenAI, Raw: []byte(`{"ignored":true}`)}
	r.SetBody(b)
	return r
}

// hello is a request with one user message.
func hello() *llm.Request {
	return request(&llm.Body{Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "hi"}}}}})
}

// openStream starts a stream from a fake upstream that answers with body.
func openStream(t *testing.T, body []byte) llm.Stream {
	t.Helper()
	srv, _ := providertest.Upstream(t, streamReply(body))
	s, err := newClient(srv, nil).ChatStream(context.Background(), hello())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// drain reads a stream to its end and returns the events and the final
// error.
func drain(t testing.TB, s llm.Stream) ([]llm.Event, error) {
	t.Helper()
	var evs []llm.Event
	for range 10000 {
		ev, err := s.Next()
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
	t.Fatal("stream did not end")
	return nil, nil
}
