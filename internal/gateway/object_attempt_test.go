package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// A request for a kept object (GET /v1/responses/{id}) relayed to the
// deployment that made it records that call as its one attempt: its usage
// record and metrics name the deployment, as the response header does.
func TestObjectRequestRecordsAttempt(t *testing.T) {
	const object = `{"id":"resp_obj1","object":"response","status":"completed","model":"m","output":[{"type":"message","id":"msg_1","role":"assistant","status":"completed","content":[{"type":"output_text","text":"hi","annotations":[]}]}],"usage":{"input_tokens":3,"output_tokens":1,"total_tokens":4}}`
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1/responses":
			fmt.Fprint(w, object)
		case r.Method == http.MethodGet && r.URL.Path == "/v1/responses/resp_obj1":
			fmt.Fprint(w, object)
		default:
			http.Error(w, `{"error":{"message":"no","type":"invalid_request_error"}}`, http.StatusNotFound)
		}
	}))
	defer up.Close()
	k := k1Serve(t, `
providers:
  - {name: up, kind: openai, base_url: "`+up.URL+`/v1"}
deployments:
  - {name: d-good, provider: up, model: m}
`, nil)
	if resp, body := k.post("/v1/responses", `{"model":"d-good","input":"hi"}`); resp.StatusCode != 200 {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	resp, err := http.Get(k.url + "/v1/responses/resp_obj1")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Switchyard-Deployment") != "d-good" || resp.Header.Get("X-Switchyard-Attempts") != "1" {
		t.Fatalf("get: %d deployment %q attempts %q, want 200 from d-good in 1 attempt", resp.StatusCode,
			resp.Header.Get("X-Switchyard-Deployment"), resp.Header.Get("X-Switchyard-Attempts"))
	}
	id := resp.Header.Get("X-Request-Id")
	var rec store.UsageRecord
	clocktest.WaitFor(t, "the GET's usage record", func() bool {
		for _, r := range k.records() {
			if r.RequestID == id {
				rec = r
				return true
			}
		}
		return false
	})
	if rec.Deployment != "d-good" || rec.Attempts != 1 || rec.Status != 200 {
		t.Errorf("usage record: deployment %q, attempts %d, status %d; want d-good, 1, 200", rec.Deployment, rec.Attempts, rec.Status)
	}
	if n := k.attempts("d-good", "d-good", "ok"); n != 2 {
		t.Errorf("attempts_total{outcome=ok} = %v, want 2 (the create and the GET)", n)
	}
}
