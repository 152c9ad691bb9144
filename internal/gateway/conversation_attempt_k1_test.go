package gateway_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// POST /v1/conversations calls the conversation holder once: that call is
// the request's attempt, so its log line, usage record, metrics and trace
// name the deployment the X-Switchyard-Deployment header names, with one
// attempt, and a failed call is counted as a failed attempt of it.
func TestK1ConversationCreateRecordsAttempt(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/v1/conversations" || strings.Contains(string(b), "fail") {
			http.Error(w, `{"error":{"message":"down","type":"server_error"}}`, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"conv_k1abc","object":"conversation","created_at":1,"metadata":{"topic":"x"}}`))
	}))
	defer up.Close()
	k := k1Serve(t, `
executor:
  retries_per_deployment: 0
providers:
  - {name: up, kind: openai, base_url: "`+up.URL+`/v1"}
deployments:
  - {name: d-good, provider: up, model: good-1}
`, nil)
	record := func(id string) store.UsageRecord {
		t.Helper()
		var rec store.UsageRecord
		clocktest.WaitFor(t, "the usage record of "+id, func() bool {
			for _, r := range k.records() {
				if r.RequestID == id {
					rec = r
					return true
				}
			}
			return false
		})
		return rec
	}

	resp, body := k.post("/v1/conversations", `{"metadata":{"topic":"x"}}`)
	if resp.StatusCode != 200 || resp.Header.Get("X-Switchyard-Deployment") != "d-good" || resp.Header.Get("X-Switchyard-Attempts") != "1" {
		t.Fatalf("got %d, deployment %q, attempts %q (%s); want 200 from d-good in 1 attempt", resp.StatusCode,
			resp.Header.Get("X-Switchyard-Deployment"), resp.Header.Get("X-Switchyard-Attempts"), body)
	}
	id := resp.Header.Get("X-Request-Id")
	if rec := record(id); rec.Deployment != "d-good" || rec.Attempts != 1 || rec.Status != 200 {
		t.Errorf("usage record: deployment %q, attempts %d, status %d; want d-good, 1, 200", rec.Deployment, rec.Attempts, rec.Status)
	}
	if n := testutil.ToFloat64(k.metrics.Requests.WithLabelValues("d-good", "d-good", "200")); n != 1 {
		t.Errorf("requests_total{deployment=d-good,status=200} = %v, want 1", n)
	}
	if n := k.attempts("d-good", "d-good", "ok"); n != 1 {
		t.Errorf("attempts_total{outcome=ok} = %v, want 1", n)
	}
	req := k.request(id)
	if k1Attr(req.server, "switchyard.deployment") != "d-good" || k1Attr(req.server, "switchyard.attempts") != "1" {
		t.Errorf("request span: deployment %q, attempts %s; want d-good, 1", k1Attr(req.server, "switchyard.deployment"), k1Attr(req.server, "switchyard.attempts"))
	}
	if len(req.calls) != 1 || k1Attr(req.calls[0], "switchyard.deployment") != "d-good" || k1Attr(req.calls[0], "error.type") != "" {
		t.Errorf("got %d call spans, want the one successful call to d-good", len(req.calls))
	}

	// The upstream fails the call.
	resp, body = k.post("/v1/conversations", `{"metadata":{"topic":"fail"}}`)
	if resp.StatusCode/100 != 5 || resp.Header.Get("X-Switchyard-Attempts") != "1" {
		t.Fatalf("failed call: %d, attempts %q (%s); want a 5xx after 1 attempt", resp.StatusCode, resp.Header.Get("X-Switchyard-Attempts"), body)
	}
	if rec := record(resp.Header.Get("X-Request-Id")); rec.Attempts != 1 || rec.ErrorCode != "unavailable" {
		t.Errorf("usage record: attempts %d, error %q; want 1, unavailable", rec.Attempts, rec.ErrorCode)
	}
	if n := k.attempts("d-good", "d-good", "unavailable"); n != 1 {
		t.Errorf("attempts_total{outcome=unavailable} = %v, want 1", n)
	}
	req = k.request(resp.Header.Get("X-Request-Id"))
	if len(req.calls) != 1 || k1Attr(req.calls[0], "error.type") != "unavailable" || k1Attr(req.calls[0], "http.response.status_code") != "500" {
		t.Errorf("got %d call spans, want the one call to d-good failed unavailable with status 500", len(req.calls))
	}
}
