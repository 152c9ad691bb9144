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

// gatedUpstream is an OpenAI chat upstream whose answers wait for release;
// fail makes the first answer a 400 (not failed over).
type gatedUpstream struct {
	*httptest.Server
	calls   atomic.Int32
	release chan struct{}
	once    sync.Once
}

// open lets every answer, held or to come, go out.
func (u *gatedUpstream) open() { u.once.Do(func() { close(u.release) }) }

func newGatedUpstream(t *testing.T, failFirst bool) *gatedUpstream {
	u := &gatedUpstream{release: make(chan struct{})}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		n := u.calls.Add(1)
		<-u.release
		if failFirst && n == 1 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":{"message":"refused","type":"invalid_request_error","param":null,"code":null}}`)
			return
		}
		if strings.Contains(r.Header.Get("Accept"), "event-stream") || r.URL.Query().Has("stream") {
			t.Errorf("unexpected stream request")
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"chatcmpl-%d","object":"chat.completion","created":1,"model":"m-1","choices":[{"index":0,"message":{"role":"assistant","content":"answer %d"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`, n, n)
	}))
	t.Cleanup(u.Close)
	return u
}

func coalesceConfig(upstream string) string {
	return `
providers:
  - {name: up, kind: openai, base_url: "` + upstream + `/v1"}
deployments:
  - {name: d, provider: up, model: m-1, price: {input_per_mtok: 1, output_per_mtok: 2}}
routes:
  - {name: chat, targets: [d]}
cache: {backend: memory, ttl: 1m}
`
}

type reply struct {
	code  int
	body  string
	cache string
}

// sendAll posts body n times at once and returns the replies.
func sendAll(t *testing.T, url, body string, n int) []reply {
	out := make([]reply, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			out[i] = reply{resp.StatusCode, string(b), resp.Header.Get(HeaderCache)}
		})
	}
	wg.Wait()
	return out
}

// TestCoalescedCacheMisses: identical non-streamed requests that arrive
// while the first is upstream wait for its answer and are served it as a
// hit, with one upstream call for all; one usage record each, the waiters'
// as cache hits with no cost.
func TestCoalescedCacheMisses(t *testing.T) {
	up := newGatedUpstream(t, false)
	recs := make(records, 16)
	g, srv := serveConfig(t, coalesceConfig(up.URL), Options{Cache: cache.NewMemory(1<<20, nil), Recorder: recs})
	defer srv.Close()
	defer g.Close()
	defer up.open() // before the servers close, should the test fail waiting

	const n = 5
	body := `{"model":"chat","messages":[{"role":"user","content":"same question"}]}`
	done := make(chan []reply, 1)
	go func() { done <- sendAll(t, srv.URL, body, n) }()
	clocktest.WaitFor(t, "one upstream call and the others waiting for it", func() bool {
		return up.calls.Load() == 1 && g.flights.waiters() == n-1
	})
	up.open()
	replies := <-done

	hits := 0
	for _, r := range replies {
		if r.code != 200 || !strings.Contains(r.body, `"answer 1"`) {
			t.Errorf("reply %d %s, want 200 with the one upstream answer", r.code, r.body)
		}
		if r.cache == cacheResultHit {
			hits++
		}
	}
	if hits != n-1 || up.calls.Load() != 1 {
		t.Errorf("%d hits and %d upstream calls, want %d and 1", hits, up.calls.Load(), n-1)
	}
	cacheHits, cost := 0, 0.0
	for range n {
		rec := <-recs
		if rec.CacheHit {
			cacheHits++
		}
		cost += rec.CostUSD
	}
	if cacheHits != n-1 || cost <= 0 {
		t.Errorf("usage records: %d cache hits, total cost %g; want %d hits and the one call's cost", cacheHits, cost, n-1)
	}
	if g.flights.waiters() != 0 || len(g.flights.m) != 0 {
		t.Errorf("flights left: %d waiting, %d in the map", g.flights.waiters(), len(g.flights.m))
	}
}

// TestCoalescedMissLeaderFails: when the request waited for fails, each
// waiting request goes upstream itself rather than sharing the error.
func TestCoalescedMissLeaderFails(t *testing.T) {
	up := newGatedUpstream(t, true)
	g, srv := serveConfig(t, coalesceConfig(up.URL), Options{Cache: cache.NewMemory(1<<20, nil)})
	defer srv.Close()
	defer g.Close()
	defer up.open()

	const n = 3
	body := `{"model":"chat","messages":[{"role":"user","content":"another question"}]}`
	done := make(chan []reply, 1)
	go func() { done <- sendAll(t, srv.URL, body, n) }()
	clocktest.WaitFor(t, "one upstream call and the others waiting for it", func() bool {
		return up.calls.Load() == 1 && g.flights.waiters() == n-1
	})
	up.open()
	failed, ok := 0, 0
	for _, r := range <-done {
		switch r.code {
		case 400:
			failed++
		case 200:
			ok++
		}
	}
	if failed != 1 || ok != n-1 {
		t.Errorf("%d refused and %d answered, want the leader's one 400 and %d answers of their own", failed, ok, n-1)
	}
	if c := up.calls.Load(); c < 2 {
		t.Errorf("%d upstream calls: the waiting requests did not go upstream themselves", c)
	}
}

// TestStreamedMissesAreNotCoalesced: streamed requests never wait for one
// another (a waiter would get nothing until the other's last token): all
// are upstream at once.
func TestStreamedMissesAreNotCoalesced(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(release) }) }
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		<-release
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":null}]}\n\n")
		io.WriteString(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m-1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")
	}))
	defer up.Close()
	g, srv := serveConfig(t, coalesceConfig(up.URL), Options{Cache: cache.NewMemory(1<<20, nil)})
	defer srv.Close()
	defer g.Close()
	defer open()
	const n = 3
	done := make(chan []reply, 1)
	go func() {
		done <- sendAll(t, srv.URL, `{"model":"chat","stream":true,"messages":[{"role":"user","content":"q"}]}`, n)
	}()
	clocktest.WaitFor(t, "every streamed request upstream at once", func() bool { return calls.Load() == n })
	open()
	for _, r := range <-done {
		if r.code != 200 || !strings.Contains(r.body, "[DONE]") || r.cache != cacheResultMiss {
			t.Errorf("reply %d cache=%q %s, want a 200 miss", r.code, r.cache, r.body)
		}
	}
}
