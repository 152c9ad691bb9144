package gateway

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/cache"
	"github.com/switchyard-gw/switchyard/internal/clocktest"
)

// gatedEmbedChat is an OpenAI upstream of chat answers and embeddings (one
// fixed vector: any two questions match), each held until its gate opens;
// the first freeEmbeds embeddings are not held.
type gatedEmbedChat struct {
	freeEmbeds int32
	*httptest.Server
	chats, embeds       atomic.Int32
	chatGate, embedGate chan struct{}
	chatOnce, embedOnce sync.Once
}

func (u *gatedEmbedChat) openChat()  { u.chatOnce.Do(func() { close(u.chatGate) }) }
func (u *gatedEmbedChat) openEmbed() { u.embedOnce.Do(func() { close(u.embedGate) }) }

func newGatedEmbedChat(t *testing.T, freeEmbeds int32) *gatedEmbedChat {
	u := &gatedEmbedChat{freeEmbeds: freeEmbeds, chatGate: make(chan struct{}), embedGate: make(chan struct{})}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/embeddings") {
			if u.embeds.Add(1) > u.freeEmbeds {
				<-u.embedGate
			}
			io.WriteString(w, `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.6,0.8,0]}],"model":"m-embed","usage":{"prompt_tokens":11,"total_tokens":11}}`)
			return
		}
		n := u.chats.Add(1)
		<-u.chatGate
		fmt.Fprintf(w, `{"id":"chatcmpl-%d","object":"chat.completion","created":1,"model":"m-1","choices":[{"index":0,"message":{"role":"assistant","content":"answer %d"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`, n, n)
	}))
	t.Cleanup(u.Close)
	return u
}

func semanticCoalesceConfig(upstream string) string {
	return `
providers:
  - {name: up, kind: openai, base_url: "` + upstream + `/v1"}
deployments:
  - {name: d, provider: up, model: m-1, price: {input_per_mtok: 1, output_per_mtok: 2}}
  - {name: embed, provider: up, model: m-embed, price: {input_per_mtok: 7}, capabilities: {chat: false, tools: false, streaming: false, embeddings: true}}
routes:
  - {name: chat, targets: [d]}
cache: {backend: memory, ttl: 1m, semantic: {embedding_deployment: embed, threshold: 0.95}}
`
}

// TestCoalescedMissesSkipSemanticLookup: with the semantic cache on,
// identical requests that join one in flight are not embedded: the burst
// costs one upstream call and one embedding, and the joined requests'
// records are cache hits with no cost (found by audit AR, AR4).
func TestCoalescedMissesSkipSemanticLookup(t *testing.T) {
	up := newGatedEmbedChat(t, 0)
	up.openEmbed()
	recs := make(records, 16)
	g, srv := serveConfig(t, semanticCoalesceConfig(up.URL), Options{Cache: cache.NewMemory(1<<20, nil), Semantic: cache.NewSemantic(100, nil), Recorder: recs})
	defer srv.Close()
	defer g.Close()
	defer up.openChat() // before the servers close, should the test fail waiting

	const n = 4
	body := `{"model":"chat","messages":[{"role":"user","content":"same question"}]}`
	done := make(chan []reply, 1)
	go func() { done <- sendAll(t, srv.URL, body, n) }()
	clocktest.WaitFor(t, "one upstream call and the others waiting for it", func() bool {
		return up.chats.Load() == 1 && g.flights.waiters() == n-1
	})
	up.openChat()
	for _, r := range <-done {
		if r.code != 200 || !strings.Contains(r.body, `"answer 1"`) {
			t.Errorf("reply %d %s, want 200 with the one upstream answer", r.code, r.body)
		}
	}
	if c, e := up.chats.Load(), up.embeds.Load(); c != 1 || e != 1 {
		t.Errorf("%d upstream calls and %d embeddings, want 1 and 1", c, e)
	}
	for range n {
		if rec := <-recs; rec.CacheHit && (rec.CostUSD != 0 || rec.InputTokens != 0) {
			t.Errorf("coalesced record: cost %g, %d input tokens; want none", rec.CostUSD, rec.InputTokens)
		}
	}
}

// TestCoalescedOnSemanticHit: requests that joined one whose semantic
// lookup then finds an answer are served that answer, as it is.
func TestCoalescedOnSemanticHit(t *testing.T) {
	up := newGatedEmbedChat(t, 1)
	up.openChat()
	sem := cache.NewSemantic(100, nil)
	g, srv := serveConfig(t, semanticCoalesceConfig(up.URL), Options{Cache: cache.NewMemory(1<<20, nil), Semantic: sem})
	defer srv.Close()
	defer g.Close()
	defer up.openEmbed()

	if r := sendAll(t, srv.URL, `{"model":"chat","messages":[{"role":"user","content":"What is the capital of France?"}]}`, 1)[0]; r.code != 200 || r.cache != cacheResultMiss {
		t.Fatalf("first: %d %s cache=%q, want a 200 miss", r.code, r.body, r.cache)
	}
	clocktest.WaitFor(t, "the answer in the semantic index", func() bool { return sem.Len() == 1 })

	const n = 3
	done := make(chan []reply, 1)
	go func() {
		done <- sendAll(t, srv.URL, `{"model":"chat","messages":[{"role":"user","content":"what is the capital of france"}]}`, n)
	}()
	clocktest.WaitFor(t, "one embedding and the others waiting for it", func() bool {
		return up.embeds.Load() == 2 && g.flights.waiters() == n-1
	})
	up.openEmbed()
	for _, r := range <-done {
		if r.code != 200 || r.cache != cacheResultHit || !strings.Contains(r.body, `"answer 1"`) {
			t.Errorf("reply %d %s cache=%q, want the stored answer as a hit", r.code, r.body, r.cache)
		}
	}
	if c, e := up.chats.Load(), up.embeds.Load(); c != 1 || e != 2 {
		t.Errorf("%d upstream calls and %d embeddings, want the first request's call and embedding, and 1 embedding more", c, e)
	}
	if g.flights.waiters() != 0 || len(g.flights.m) != 0 {
		t.Errorf("flights left: %d waiting, %d in the map", g.flights.waiters(), len(g.flights.m))
	}
}
