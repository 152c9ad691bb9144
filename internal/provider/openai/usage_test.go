package openai

import (
	"context"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider/providertest"
)

// TestUsageClamped: an upstream's negative or absurd token counts are
// clamped to [0, llm.MaxReportedTokens] on every path that reads them, so
// no cost goes negative (a budget refunded, a metric counter decreased) and
// no sum overflows in the usage store.
func TestUsageClamped(t *testing.T) {
	const (
		bad    = `{"prompt_tokens":-1000000,"completion_tokens":9223372036854775807,"prompt_tokens_details":{"cached_tokens":1e30}}`
		maxTok = llm.MaxReportedTokens
	)
	want := llm.Usage{InputTokens: 0, CachedInputTokens: maxTok, OutputTokens: maxTok}
	ctx := context.Background()

	t.Run("chat", func(t *testing.T) {
		srv, _ := providertest.Upstream(t, providertest.Reply{Body: `{"id":"c","object":"chat.completion","model":"m",
			"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":` + bad + `}`})
		resp, err := newClient(srv, nil).Chat(ctx, &llm.Request{Dialect: llm.DialectOpenAI, Raw: []byte(`{"model":"m","messages":[]}`)})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Usage != want {
			t.Errorf("got usage %+v, want %+v", resp.Usage, want)
		}
	})
	t.Run("chat stream", func(t *testing.T) {
		srv, _ := providertest.Upstream(t, providertest.Reply{Header: map[string]string{"Content-Type": "text/event-stream"},
			Body: "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"},\"finish_reason\":\"stop\"}]}\n\n" +
				"data: {\"id\":\"c\",\"choices\":[],\"usage\":" + bad + "}\n\ndata: [DONE]\n\n"})
		s, err := newClient(srv, nil).ChatStream(ctx, &llm.Request{Dialect: llm.DialectOpenAI, Stream: true, Raw: []byte(`{"model":"m","messages":[]}`)})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var got *llm.Usage
		for {
			ev, err := s.Next()
			if err != nil {
				break
			}
			if ev.Usage != nil {
				got = ev.Usage
			}
		}
		if got == nil || *got != want {
			t.Errorf("got usage %+v, want %+v", got, want)
		}
	})
	t.Run("embeddings", func(t *testing.T) {
		srv, _ := providertest.Upstream(t, providertest.Reply{Body: `{"object":"list","model":"e","data":[{"object":"embedding","index":0,"embedding":[0.1]}],"usage":{"prompt_tokens":-8,"total_tokens":-8}}`})
		resp, err := newClient(srv, nil).Embed(ctx, &llm.EmbedRequest{Raw: []byte(`{"model":"e","input":"a"}`), Inputs: 1})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Usage != (llm.Usage{}) {
			t.Errorf("got usage %+v, want zeros", resp.Usage)
		}
	})
	t.Run("responses", func(t *testing.T) {
		srv := rsServer(t, 200, `{"id":"resp_1","object":"response","status":"completed","model":"m",
			"output":[{"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":"ok","annotations":[]}]}],
			"usage":{"input_tokens":9223372036854775807,"input_tokens_details":{"cached_tokens":-3},"output_tokens":-1}}`, nil)
		resp, err := newClient(srv, nil).Chat(ctx, rsRequest(`{"model":"route","input":"hi"}`))
		if err != nil {
			t.Fatal(err)
		}
		if w := (llm.Usage{InputTokens: maxTok}); resp.Usage != w {
			t.Errorf("got usage %+v, want %+v", resp.Usage, w)
		}
	})
}
