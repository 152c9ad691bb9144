package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/gateway"
)

// upstreamLog is a fake provider that records each request's path, body
// and anthropic-beta header, and answers with a fixed body.
type upstreamLog struct {
	mu   sync.Mutex
	got  []string // path + " beta=" + header + " " + body
	srv  *httptest.Server
	body string
}

func newUpstreamLog(t *testing.T, answer string) *upstreamLog {
	u := &upstreamLog{body: answer}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.got = append(u.got, r.URL.Path+" beta="+r.Header.Get("anthropic-beta")+" "+string(b))
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, u.body)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstreamLog) calls() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.got...)
}

const (
	anthropicAnswer = `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":1}}`
	openAIAnswer    = `{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`
)

// TestAnthropicBetaAndRelayOnly: the client's anthropic-beta header reaches
// Anthropic deployments; a Messages request using what no translation
// carries (a document block, a server tool) skips the route's OpenAI
// deployment for its Anthropic one, or is a 400 naming why when the route
// has none.
func TestAnthropicBetaAndRelayOnly(t *testing.T) {
	oa := newUpstreamLog(t, openAIAnswer)
	an := newUpstreamLog(t, anthropicAnswer)
	base := gw(t, `
providers:
  - {name: oa, kind: openai, base_url: "`+oa.srv.URL+`/v1"}
  - {name: an, kind: anthropic, base_url: "`+an.srv.URL+`"}
deployments:
  - {name: o, provider: oa, model: m}
  - {name: a, provider: an, model: m}
routes:
  - {name: both, targets: [o, a]}
  - {name: openai-only, targets: [o]}
`, nil)
	post := func(path, body string, hdr ...string) (int, string, http.Header) {
		t.Helper()
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("anthropic-version", "2023-06-01")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Add(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	document := `{"model":"%s","max_tokens":20,"messages":[{"role":"user","content":[{"type":"text","text":"what"},{"type":"document","source":{"type":"text","media_type":"text/plain","data":"doc"}}]}]}`

	t.Run("beta header to the Anthropic deployment", func(t *testing.T) {
		code, body, _ := post("/v1/messages", `{"model":"a","max_tokens":20,"context_management":{"edits":[]},"messages":[{"role":"user","content":"hi"}]}`,
			"anthropic-beta", "context-management-2025-06-27", "anthropic-beta", "files-api-2025-04-14")
		if code != 200 {
			t.Fatalf("got %d %s, want 200", code, body)
		}
		calls := an.calls()
		if want := "/v1/messages beta=context-management-2025-06-27,files-api-2025-04-14 "; len(calls) == 0 || !strings.HasPrefix(calls[len(calls)-1], want) {
			t.Errorf("upstream got %q, want %q and the body", calls, want)
		}
		if code, body, _ := post("/v1/messages/count_tokens", `{"model":"a","messages":[{"role":"user","content":"hi"}]}`, "anthropic-beta", "token-counting-2024-11-01"); code != 200 {
			t.Fatalf("count_tokens: got %d %s", code, body)
		}
		if calls := an.calls(); !strings.HasPrefix(calls[len(calls)-1], "/v1/messages/count_tokens beta=token-counting-2024-11-01 ") {
			t.Errorf("count_tokens upstream got %q, want the beta header", calls[len(calls)-1])
		}
	})
	t.Run("document skips the OpenAI deployment", func(t *testing.T) {
		before := len(oa.calls())
		code, body, h := post("/v1/messages", strings.Replace(document, "%s", "both", 1))
		if code != 200 || h.Get("X-Switchyard-Deployment") != "a" {
			t.Fatalf("got %d from %q: %s, want 200 from a", code, h.Get("X-Switchyard-Deployment"), body)
		}
		if got := len(oa.calls()); got != before {
			t.Errorf("the OpenAI deployment got %d calls, want none", got-before)
		}
	})
	t.Run("server tool on an OpenAI-only route", func(t *testing.T) {
		code, body, _ := post("/v1/messages", `{"model":"openai-only","max_tokens":20,"messages":[{"role":"user","content":"q"}],"tools":[{"type":"web_search_20250305","name":"web_search"}]}`)
		if code != 400 || !strings.Contains(body, `"invalid_request_error"`) || !strings.Contains(body, `tools of type \"web_search_20250305\"`) || !strings.Contains(body, "only Anthropic deployments") {
			t.Errorf("got %d %s, want a 400 naming the server tool and Anthropic deployments", code, body)
		}
	})
	t.Run("plain request still goes to the first deployment", func(t *testing.T) {
		code, body, h := post("/v1/messages", `{"model":"both","max_tokens":20,"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`)
		if code != 200 || h.Get("X-Switchyard-Deployment") != "o" {
			t.Errorf("got %d from %q: %s, want 200 from o", code, h.Get("X-Switchyard-Deployment"), body)
		}
	})
}

// TestRelayedAnswerKeptBeforeTheClientHasIt: where a stored completion was
// made is known from the stream's first chunk, not once the handler is
// done, so a client that names it the moment it has the id (here: while
// the upstream still holds the rest of the stream) is relayed there, not
// told 404.
func TestRelayedAnswerKeptBeforeTheClientHasIt(t *testing.T) {
	release := make(chan struct{})
	var gets sync.Map
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "GET" {
			gets.Store(r.URL.Path, true)
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":"chatcmpl-held1","object":"chat.completion","created":1,"model":"m","choices":[]}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		chunk := `data: {"id":"chatcmpl-held1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":%s,"finish_reason":%s}]}` + "\n\n"
		fmt.Fprintf(w, chunk, `{"role":"assistant","content":"hi"}`, "null")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		fmt.Fprintf(w, chunk, `{}`, `"stop"`)
		io.WriteString(w, "data: [DONE]\n\n")
	}))
	defer up.Close()
	base := gw(t, `
providers:
  - {name: p, kind: openai, base_url: "`+up.URL+`/v1"}
deployments:
  - {name: d, provider: p, model: m}
routes:
  - {name: auto, targets: [d]}
`, nil)
	resp, err := http.Post(base+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"auto","store":true,"stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || !strings.Contains(line, "chatcmpl-held1") {
		t.Fatalf("first line %q %v, want the first chunk", line, err)
	}
	get, err := http.Get(base + "/v1/chat/completions/chatcmpl-held1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(get.Body)
	get.Body.Close()
	close(release)
	if get.StatusCode != 200 {
		t.Errorf("GET while the stream runs: got %d %s, want 200 relayed to the deployment that makes it", get.StatusCode, b)
	}
	if _, ok := gets.Load("/v1/chat/completions/chatcmpl-held1"); !ok {
		t.Errorf("the upstream got no GET")
	}
	rest, _ := io.ReadAll(br)
	if !strings.Contains(string(rest), "[DONE]") {
		t.Errorf("the stream did not finish: %q", rest)
	}
}

// TestBadRequestRecordedAsSuch: a request the gateway refuses as malformed
// is recorded with the error the client was told, not "unknown".
func TestBadRequestRecordedAsSuch(t *testing.T) {
	rec := &recs{}
	base := gw(t, `
providers:
  - {name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}
deployments:
  - {name: d, provider: p, model: m}
routes:
  - {name: auto, targets: [d]}
`, rec)
	for _, body := range []string{`{"model":`, `{"model":"auto","messages":"hi"}`} {
		resp, err := http.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Fatalf("%s: got %d, want 400", body, resp.StatusCode)
		}
	}
	rs := rec.all()
	if len(rs) != 2 || rs[0].ErrorCode != "invalid_request" || rs[1].ErrorCode != "invalid_request" {
		t.Errorf("got records %+v, want two with error invalid_request", rs)
	}
}

// tokenGuard admits everything and notes the tokens each request reserves.
type tokenGuard struct {
	mu     sync.Mutex
	tokens []int
}

func (g *tokenGuard) Authenticate(context.Context, http.Header) (*gateway.Principal, error) {
	return &gateway.Principal{TenantID: "t"}, nil
}

func (g *tokenGuard) Admit(_ context.Context, _ *gateway.Principal, _ string, tokens int, _ float64) (gateway.Admission, error) {
	g.mu.Lock()
	g.tokens = append(g.tokens, tokens)
	g.mu.Unlock()
	return settleNothing{}, nil
}

type settleNothing struct{}

func (settleNothing) Settle(int, int, float64) {}

// TestTokensReservedForEveryChoice: a request for n answers reserves n
// times max_tokens against the token limits, as its cost is reserved n
// times.
func TestTokensReservedForEveryChoice(t *testing.T) {
	oa := newUpstreamLog(t, openAIAnswer)
	c, err := config.Parse([]byte(`
providers:
  - {name: oa, kind: openai, base_url: "`+oa.srv.URL+`/v1"}
deployments:
  - {name: o, provider: oa, model: m}
routes:
  - {name: auto, targets: [o]}
`), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	guard := &tokenGuard{}
	g := gateway.New(gateway.Options{Executor: executor.New(executor.Options{}), Guard: guard})
	if err := g.Apply(c); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler())
	defer srv.Close()
	for _, n := range []string{"1", "3"} {
		resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json",
			strings.NewReader(`{"model":"auto","n":`+n+`,"max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	guard.mu.Lock()
	defer guard.mu.Unlock()
	if len(guard.tokens) != 2 || guard.tokens[1]-guard.tokens[0] != 200 {
		t.Errorf("reserved %v tokens for n=1 and n=3, want the second 2×100 more", guard.tokens)
	}
}
