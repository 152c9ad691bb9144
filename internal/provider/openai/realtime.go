package openai

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/coder/websocket"

	"github.com/switchyard-gw/switchyard/internal/provider"
)

var _ provider.RealtimeDialer = (*Client)(nil)

// DialRealtime opens a Realtime API session (a WebSocket) with the
// deployment's model: OpenAI's /realtime?model=M under the base URL,
// Azure's /openai/v1/realtime?model=DEPLOYMENT, with the deployment's
// credential and headers and the client's other query parameters. A
// refused handshake is classified like any failed call, so the executor
// fails over from it.
func (c *Client) DialRealtime(ctx context.Context, req *provider.RealtimeRequest) (*websocket.Conn, error) {
	q := url.Values{}
	for k, v := range req.Query {
		switch k {
		case "model", "deployment", "api-version":
		default:
			q[k] = v
		}
	}
	q.Set("model", c.cfg.Model)
	h := make(http.Header, len(c.cfg.Headers)+2)
	for k, v := range c.cfg.Headers {
		h.Set(k, v)
	}
	u := c.base + "/realtime?" + q.Encode()
	switch {
	case c.cfg.Azure:
		u = c.base + "/openai/v1/realtime?" + q.Encode()
		h.Set("api-key", c.cfg.APIKey)
	case c.cfg.APIKey != "":
		h.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
	if req.Beta != "" {
		h.Set("OpenAI-Beta", req.Beta)
	}
	conn, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: c.websocketClient(), HTTPHeader: h})
	if err == nil {
		return conn, nil
	}
	if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
		var body []byte
		if resp.Body != nil {
			body, _ = io.ReadAll(resp.Body) // the library kept at most 1 KiB
		}
		return nil, c.classify(resp.StatusCode, resp.Header, body)
	}
	if ctx.Err() != nil {
		return nil, provider.TransportError(ctx, err)
	}
	if resp != nil {
		// Switching protocols, then a broken handshake.
		return nil, &provider.Error{Kind: provider.KindUnavailable, Status: resp.StatusCode, Message: fmt.Sprintf("realtime handshake failed: %v", c.secrets.Redact(err.Error()))}
	}
	return nil, provider.TransportError(ctx, err)
}

// websocketClient is the deployment's HTTP client limited to HTTP/1.1,
// whose Upgrade a WebSocket handshake needs (HTTP/2, which the pooled
// transport negotiates over TLS, has none). Built on first use.
func (c *Client) websocketClient() *http.Client {
	c.wsOnce.Do(func() {
		c.ws = c.http
		t, ok := c.http.Transport.(*http.Transport)
		if !ok {
			return
		}
		t = t.Clone()
		t.ForceAttemptHTTP2 = false
		t.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		if t.TLSClientConfig != nil {
			t.TLSClientConfig.NextProtos = nil
		}
		c.ws = &http.Client{Transport: t, CheckRedirect: c.http.CheckRedirect}
	})
	return c.ws
}
