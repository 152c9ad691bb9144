package app

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/sim"
)

// TestPartialStreamsBilledOnce streams through the real simulated provider
// and cuts each stream part-way, by the client or by the provider: every
// request yields exactly one usage record, flagged partial, with a cost.
func TestPartialStreamsBilledOnce(t *testing.T) {
	tests := []struct {
		name      string
		path      string // endpoint
		route     string
		fault     *sim.Fault // on every model; nil for a client cut
		clientCut bool
		wantCode  string // the record's error code
	}{
		{name: "openai client disconnects", path: "/v1/chat/completions", route: "cheap", clientCut: true, wantCode: "client_cancelled"},
		{name: "anthropic client disconnects", path: "/v1/messages", route: "anthropic-first", clientCut: true, wantCode: "client_cancelled"},
		{name: "openai provider cuts", path: "/v1/chat/completions", route: "cheap", fault: &sim.Fault{Type: sim.FaultCut, After: 3}},
		{name: "anthropic provider cuts", path: "/v1/messages", route: "anthropic-first", fault: &sim.Fault{Type: sim.FaultCut, After: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := sim.DefaultConfig()
			for i := range cfg.Models {
				// Slow enough that the client's cut lands mid-stream.
				cfg.Models[i].TokensPerSecond, cfg.Models[i].OutputTokens = 40, 200
				if tt.fault != nil {
					cfg.Models[i].Faults = []sim.Fault{*tt.fault}
				}
			}
			extra := sqliteExtra(t, "")
			s := startTenantStack(t, startSim(t, cfg), extra)
			k := s.newKey("acme", admin.KeyCreate{})
			body := fmt.Sprintf(`{"model":%q,"stream":true,"max_tokens":200,"messages":[{"role":"user","content":"tell me a story"}]}`, tt.route)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "POST", s.base+tt.path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("x-api-key", k.Secret)
			req.Header.Set("anthropic-version", "2023-06-01")
			resp, err := s.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("got %d %s, want 200", resp.StatusCode, b)
			}
			var got string
			if tt.clientCut {
				// Read until the first content arrives, then hang up.
				br := bufio.NewReader(resp.Body)
				for !strings.Contains(got, "story") && !strings.Contains(got, "delta") {
					line, err := br.ReadString('\n')
					got += line
					if err != nil {
						t.Fatalf("stream ended before the cut: %v", err)
					}
				}
				cancel()
			} else {
				b, _ := io.ReadAll(resp.Body)
				got = string(b)
				if !strings.Contains(got, "error") {
					t.Errorf("got a stream with no in-band error after the provider's cut, want one: %s", got)
				}
			}
			resp.Body.Close()

			st := storeOf(t, extra)
			waitForT(t, "the record", func() bool { return len(usageRecords(t, st)) > 0 }, func() string { return "none" })
			s.stop() // flush whatever else would come
			recs := usageRecords(t, st)
			if len(recs) != 1 {
				t.Fatalf("got %d records, want exactly 1: %+v", len(recs), recs)
			}
			r := recs[0]
			if !r.Partial || !r.Stream || r.Status != 200 || r.KeyID != k.ID || r.OutputTokens <= 0 || r.CostUSD <= 0 {
				t.Errorf("got %+v, want one partial stream record of %s, status 200, with tokens and cost", r, k.ID)
			}
			if (tt.wantCode != "" && r.ErrorCode != tt.wantCode) || r.ErrorCode == "" {
				t.Errorf("got error code %q, want %q (any, for a provider cut)", r.ErrorCode, tt.wantCode)
			}
			if r.OutputTokens >= 200 {
				t.Errorf("got %d output tokens, want fewer than the 200 of a whole answer", r.OutputTokens)
			}
		})
	}
}
