// Regression tests for bugs found in review: each failed before its fix.
package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/gateway"
	"github.com/switchyard-gw/switchyard/internal/store"
)

type recs struct {
	mu sync.Mutex
	rs []store.UsageRecord
}

func (r *recs) Enqueue(rec store.UsageRecord) { r.mu.Lock(); r.rs = append(r.rs, rec); r.mu.Unlock() }
func (r *recs) all() []store.UsageRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]store.UsageRecord(nil), r.rs...)
}

func gw(t *testing.T, yaml string, rec gateway.Recorder) string {
	c, err := config.Parse([]byte(yaml), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	g := gateway.New(gateway.Options{Executor: executor.New(executor.Options{}), Recorder: rec})
	if err := g.Apply(c); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)
	t.Cleanup(g.Close)
	return srv.URL
}

// A: Anthropic upstream cut after lots of text: output billed?
func TestRegressionPartialAnthropicBilling(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"m\",\"usage\":{\"input_tokens\":50,\"output_tokens\":1}}}\n\n")
		fmt.Fprint(w, "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n")
		for i := 0; i < 50; i++ {
			fmt.Fprint(w, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"lorem ipsum dolor sit amet consectetur \"}}\n\n")
		}
		// body ends: no message_delta / message_stop
	}))
	defer up.Close()
	rec := &recs{}
	url := gw(t, `
providers:
  - {name: an, kind: anthropic, base_url: "`+up.URL+`"}
deployments:
  - {name: claude, provider: an, model: m}
routes:
  - {name: auto, targets: [claude]}
`, rec)
	resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"auto","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	_ = b
	rs := rec.all()
	if len(rs) != 1 {
		t.Fatalf("records %d", len(rs))
	}
	t.Logf("record: partial=%v out=%d in=%d est=%v status=%d err=%s", rs[0].Partial, rs[0].OutputTokens, rs[0].InputTokens, rs[0].TokensEstimated, rs[0].Status, rs[0].ErrorCode)
	if rs[0].OutputTokens < 100 {
		t.Errorf("got output tokens %d for ~2000 bytes streamed, want an estimate", rs[0].OutputTokens)
	}
}

// B: cascade + streaming OpenAI client with stream_options
func TestRegressionCascadeStreamOptions(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		if strings.Contains(string(b), "stream_options") && !strings.Contains(string(b), `"stream":true`) {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":{"message":"The 'stream_options' parameter is only allowed when 'stream' is enabled.","type":"invalid_request_error","param":"stream_options","code":null}}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"c1","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1}}`)
	}))
	defer up.Close()
	url := gw(t, `
providers:
  - {name: oa, kind: openai, base_url: "`+up.URL+`"}
deployments:
  - {name: small, provider: oa, model: s}
  - {name: big, provider: oa, model: b}
routes:
  - {name: auto, policy: cascade, targets: [small, big], checks: [{min_length: 1}]}
`, nil)
	resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"auto","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("status %d body %s\nupstream bodies: %q", resp.StatusCode, b, bodies)
	if resp.StatusCode != 200 {
		t.Errorf("got status %d, want 200", resp.StatusCode)
	}
	// The replayed answer's cost is known before it is sent: a header.
	if c := resp.Header.Get("X-Switchyard-Cost"); c == "" {
		t.Errorf("a streamed cascade answer without X-Switchyard-Cost")
	}
}

// C: cascade reason header leaks upstream auth message
func TestRegressionCascadeReasonLeak(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if strings.Contains(string(b), `"model":"s"`) {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"error":{"message":"Incorrect API key provided: sk-proj-****************************wxyz. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","code":"invalid_api_key"}}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"c1","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1}}`)
	}))
	defer up.Close()
	rec := &recs{}
	url := gw(t, `
providers:
  - {name: oa, kind: openai, base_url: "`+up.URL+`"}
deployments:
  - {name: small, provider: oa, model: s}
  - {name: big, provider: oa, model: b}
routes:
  - {name: auto, policy: cascade, targets: [small, big], checks: [{min_length: 1}]}
`, rec)
	resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"auto","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	h := resp.Header.Get(gateway.HeaderReason)
	t.Logf("status %d reason header: %s", resp.StatusCode, h)
	if strings.Contains(h, "sk-proj") {
		t.Errorf("reason header leaks upstream credential message: %s", h)
	}
}

// D: idle watchdog not armed when blank lines follow a frame
func TestRegressionIdleWatchdogBlankLines(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"id\":\"x\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"hi\"}}]}\n\n"+os.Getenv("EXTRA"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer up.Close()
	url := gw(t, `
providers:
  - {name: oa, kind: openai, base_url: "`+up.URL+`"}
deployments:
  - {name: small, provider: oa, model: s, idle_timeout: 300ms}
routes:
  - {name: auto, targets: [small]}
`, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", url+"/v1/chat/completions", strings.NewReader(`{"model":"auto","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("after %v: %v", time.Since(start), err)
	}
	br := bufio.NewReader(resp.Body)
	var got []string
	for {
		line, err := br.ReadString('\n')
		if line != "" && line != "\n" {
			got = append(got, fmt.Sprintf("%v %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(line)))
		}
		if err != nil {
			got = append(got, fmt.Sprintf("%v err %v", time.Since(start).Round(time.Millisecond), err))
			break
		}
	}
	resp.Body.Close()
	t.Logf("%s", strings.Join(got, "\n"))
	if time.Since(start) > 2*time.Second {
		t.Errorf("stream not ended by the 300ms idle timeout: took %v", time.Since(start))
	}
}

// TestJudgeCostIsBilled: a cascade judge's call is a paid model call; its
// tokens and cost belong to the request that caused it.
func TestJudgeCostIsBilled(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		answer := "a fine answer"
		if strings.Contains(string(b), `"model":"j"`) {
			answer = "9" // the judge's score: the cheap answer passes
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"c1","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}],"usage":{"prompt_tokens":100,"completion_tokens":10}}`, answer)
	}))
	defer up.Close()
	rec := &recs{}
	url := gw(t, `
providers:
  - {name: oa, kind: openai, base_url: "`+up.URL+`"}
deployments:
  - {name: small, provider: oa, model: s, price: {input_per_mtok: 1, output_per_mtok: 1}}
  - {name: big, provider: oa, model: b, price: {input_per_mtok: 10, output_per_mtok: 10}}
  - {name: judge, provider: oa, model: j, price: {input_per_mtok: 1000, output_per_mtok: 1000}}
routes:
  - {name: auto, policy: cascade, targets: [small, big], checks: [{judge: {deployment: judge, min_score: 7}}]}
`, rec)
	resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"auto","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if got := resp.Header.Get(gateway.HeaderDeployment); got != "small" {
		t.Fatalf("deployment: got %q, want small (the judge passed it)", got)
	}
	rs := rec.all()
	if len(rs) != 1 {
		t.Fatalf("usage records: got %d, want 1", len(rs))
	}
	// small: 110 tokens at $1/M; judge: 110 tokens at $1000/M.
	want := 110*1.0/1e6 + 110*1000.0/1e6
	if got := rs[0].CostUSD; got < want*0.999 || got > want*1.001 {
		t.Errorf("cost: got %g, want %g (the answer and the judge's call)", got, want)
	}
	if rs[0].InputTokens != 200 || rs[0].OutputTokens != 20 {
		t.Errorf("tokens: got %d in / %d out, want 200 / 20", rs[0].InputTokens, rs[0].OutputTokens)
	}
}

// anthropicGateway serves one route, auto, over one deployment, d, of an
// Anthropic-kind provider answered by h, with usage records to rec.
func anthropicGateway(t *testing.T, rec gateway.Recorder, h http.HandlerFunc) string {
	t.Helper()
	up := httptest.NewServer(h)
	t.Cleanup(up.Close)
	return gw(t, `
providers:
  - {name: p, kind: anthropic, base_url: "`+up.URL+`"}
deployments:
  - {name: d, provider: p, model: m}
routes:
  - {name: auto, targets: [d]}
`, rec)
}

// sseEvent writes one server-sent event.
func sseEvent(w io.Writer, name, data string) { fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, data) }
