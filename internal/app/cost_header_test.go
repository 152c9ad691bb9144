package app

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// TestCostHeader: an answer says what it cost, from its usage and its
// deployment's price: a header on a complete answer, a trailer after a
// stream, zero for an exact cache hit.
func TestCostHeader(t *testing.T) {
	s := startStack(t, fastSim(), baseConfig+"cache: {backend: memory, ttl: 1m}\n")
	cost := func(v string) float64 {
		t.Helper()
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || strings.ContainsAny(v, "eE") {
			t.Fatalf("cost %q: want a plain decimal", v)
		}
		return f
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

	// claude: $3 in, $15 out per million tokens.
	resp, b := s.post("/v1/chat/completions", `{"model":"claude","messages":[{"role":"user","content":"What does a signal box do?"}]}`)
	in, out := gjson.GetBytes(b, "usage.prompt_tokens").Float(), gjson.GetBytes(b, "usage.completion_tokens").Float()
	if resp.StatusCode != 200 || in == 0 || out == 0 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	if got, want := cost(resp.Header.Get("X-Switchyard-Cost")), (3*in+15*out)/1e6; !near(got, want) {
		t.Errorf("claude: cost %v, want %v", got, want)
	}

	// The same again is a cache hit, which costs nothing.
	resp, b = s.post("/v1/chat/completions", `{"model":"claude","messages":[{"role":"user","content":"What does a signal box do?"}]}`)
	if resp.Header.Get("X-Switchyard-Cache") != "hit" || cost(resp.Header.Get("X-Switchyard-Cost")) != 0 {
		t.Errorf("cache hit: %q, cost %q, want a hit at 0", resp.Header.Get("X-Switchyard-Cache"), resp.Header.Get("X-Switchyard-Cost"))
	}

	// Embeddings are priced too (embed has no price: free).
	resp, b = s.post("/v1/embeddings", `{"model":"embed","input":"a signal box"}`)
	if resp.StatusCode != 200 || resp.Header.Get("X-Switchyard-Cost") != "0" {
		t.Errorf("embeddings: %d, cost %q, want 0; %s", resp.StatusCode, resp.Header.Get("X-Switchyard-Cost"), b)
	}

	// Streamed from medium ($1 in, $4 out): the trailer, after the body.
	resp, b = s.post("/v1/chat/completions", `{"model":"medium","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Tell me about sleepers"}]}`)
	if resp.StatusCode != 200 || resp.Header.Get("X-Switchyard-Cost") != "" {
		t.Fatalf("stream: %d, cost header %q before the body", resp.StatusCode, resp.Header.Get("X-Switchyard-Cost"))
	}
	var usage gjson.Result
	for _, line := range strings.Split(string(b), "\n") {
		if u := gjson.Get(strings.TrimPrefix(line, "data: "), "usage"); u.Exists() && u.Type != gjson.Null {
			usage = u
		}
	}
	in, out = usage.Get("prompt_tokens").Float(), usage.Get("completion_tokens").Float()
	if in == 0 || out == 0 {
		t.Fatalf("stream without usage: %s", b)
	}
	if got, want := cost(resp.Trailer.Get("X-Switchyard-Cost")), (in+4*out)/1e6; !near(got, want) {
		t.Errorf("stream: trailer cost %v, want %v", got, want)
	}
}
