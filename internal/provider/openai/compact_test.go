package openai

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// TestCompactAndCount: a compaction and an input token count are posted
// to their Responses API paths with the deployment's model, the rest of
// the body as the client wrote it; the compaction's usage is read, an
// answer of the wrong shape is an upstream failure, and Azure's layout is
// refused before any call.
func TestCompactAndCount(t *testing.T) {
	type call struct{ path, body string }
	calls := make(chan call, 1)
	answer := `{"id":"resp_1","object":"response.compaction","output":[{"type":"compaction","id":"cmp_1","encrypted_content":"x"}],"usage":{"input_tokens":120,"output_tokens":30,"input_tokens_details":{"cached_tokens":20}}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		calls <- call{r.URL.Path, string(b)}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, answer)
	}))
	defer srv.Close()
	c := newClient(srv, func(cfg *provider.Config) { cfg.Model = "gpt-5" })
	ctx := context.Background()

	resp, err := c.CompactResponse(ctx, &llm.RelayRequest{Model: "route", Raw: []byte(`{"model":"route","input":"long","instructions":"keep it"}`)})
	got := <-calls
	if err != nil || got.path != "/v1/responses/compact" || gjson.Get(got.body, "model").Str != "gpt-5" || gjson.Get(got.body, "instructions").Str != "keep it" {
		t.Fatalf("compact: %v, sent %+v", err, got)
	}
	if resp.Usage != (llm.Usage{InputTokens: 120, OutputTokens: 30, CachedInputTokens: 20}) || string(resp.Raw) != answer {
		t.Errorf("compact answer: %+v", resp)
	}

	answer = `{"object":"response.input_tokens","input_tokens":42}`
	n, err := c.CountResponseTokens(ctx, &llm.RelayRequest{Raw: []byte(`{"input":"count me"}`)})
	if got = <-calls; err != nil || n != 42 || got.path != "/v1/responses/input_tokens" || gjson.Get(got.body, "model").Str != "gpt-5" {
		t.Errorf("count: %d %v, sent %+v", n, err, got)
	}

	var pe *provider.Error
	answer = `{"object":"list"}`
	if _, err := c.CompactResponse(ctx, &llm.RelayRequest{Raw: []byte(`{}`)}); !errors.As(err, &pe) || pe.Kind != provider.KindUnavailable {
		t.Errorf("not a compaction: %v", err)
	}
	<-calls
	if _, err := c.CountResponseTokens(ctx, &llm.RelayRequest{Raw: []byte(`{}`)}); !errors.As(err, &pe) || pe.Kind != provider.KindUnavailable {
		t.Errorf("not a count: %v", err)
	}
	<-calls

	az := newClient(srv, func(cfg *provider.Config) { cfg.Azure = true })
	if _, err := az.CompactResponse(ctx, &llm.RelayRequest{Raw: []byte(`{}`)}); !errors.As(err, &pe) || pe.Kind != provider.KindBadRequest {
		t.Errorf("azure: %v, want a bad request before any call", err)
	}
	select {
	case c := <-calls:
		t.Errorf("azure called %+v", c)
	default:
	}
}
