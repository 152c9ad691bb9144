package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/tenancy"
)

// TestFeedbackBecomesTrainingData: an answered request on a route with
// capture_prompts, rated through POST /v1/feedback by its tenant, is a
// training example (its routing text, deployment, rating and cost); a
// request on a route that does not capture is not, however rated.
func TestFeedbackBecomesTrainingData(t *testing.T) {
	s := startEditedTenantStack(t, startSim(t, fastSim()), sqliteExtra(t, ""), func(c string) string {
		return strings.Replace(c, "  - name: cheap\n    targets: [small, medium]\n", "  - name: cheap\n    targets: [small, medium]\n    capture_prompts: true\n", 1)
	})
	acme := s.newKey("acme", admin.KeyCreate{Name: "a"})
	auth := []string{"Authorization", "Bearer " + acme.Secret}
	ask := func(model, text string) string {
		t.Helper()
		code, body, h := s.send("/v1/chat/completions", `{"model":"`+model+`","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"`+text+`"}]}`, auth...)
		if code != 200 || h.Get("X-Request-Id") == "" {
			t.Fatalf("%s: %d %s", model, code, body)
		}
		return h.Get("X-Request-Id")
	}
	captured := ask("cheap", "How long is a rail?")
	notCaptured := ask("auto", "How heavy is a sleeper?")
	rate := func(id string, q string) (int, string) {
		t.Helper()
		code, body, _ := s.send("/v1/feedback", `{"request_id":"`+id+`","quality":`+q+`}`, auth...)
		return code, body
	}
	if code, body := rate(captured, "0.75"); code != 200 || gjson.Get(body, "object").Str != "feedback" || gjson.Get(body, "quality").Float() != 0.75 {
		t.Fatalf("feedback: %d %s", code, body)
	}
	if code, body := rate(notCaptured, "1"); code != 200 {
		t.Fatalf("feedback on the other: %d %s", code, body)
	}
	// Refusals, in OpenAI's error shape.
	for _, bad := range []struct{ body, want string }{
		{`{"request_id":"` + captured + `","quality":1.5}`, "quality"},
		{`{"request_id":"` + captured + `"}`, "quality"},
		{`{"request_id":"","quality":1}`, "request_id"},
		{`{"request_id":"a b","quality":1}`, "request_id"},
		{`not json`, "JSON"},
	} {
		code, body, _ := s.send("/v1/feedback", bad.body, auth...)
		if code != 400 || !strings.Contains(gjson.Get(body, "error.message").Str, bad.want) {
			t.Errorf("feedback %s: %d %s, want a 400 about %s", bad.body, code, body, bad.want)
		}
	}
	if code, _, _ := s.send("/v1/feedback", `{"request_id":"`+captured+`","quality":1}`); code != 401 {
		t.Errorf("feedback without a key: %d, want 401", code)
	}

	// Ratings count against the key's rate limit.
	limited := s.newKey("acme", admin.KeyCreate{Name: "rpm", Limits: tenancy.Limits{RPM: 2}})
	codes := []int{}
	for range 3 {
		code, _, _ := s.send("/v1/feedback", `{"request_id":"`+captured+`","quality":1}`, "Authorization", "Bearer "+limited.Secret)
		codes = append(codes, code)
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != 429 {
		t.Errorf("three ratings with a key of 2 requests a minute: %v, want 200 200 429", codes)
	}

	// The example appears once the usage record and the prompt are stored.
	var got []store.TrainingExample
	clocktest.WaitFor(t, "the training example", func() bool {
		got = got[:0]
		err := s.ten.Store.TrainingExamples(context.Background(), time.Time{}, func(e store.TrainingExample) error {
			got = append(got, e)
			return nil
		})
		return err == nil && len(got) > 0
	})
	e := got[0]
	if len(got) != 1 || e.RequestID != captured || e.Route != "cheap" || e.Text != "How long is a rail?" || e.Deployment != "small" ||
		e.Quality != 1 || e.CostUSD <= 0 || e.TenantID == "" {
		t.Errorf("training examples %+v, want only the captured request's", got)
	}

	// Counted: 2 ratings then 2 more of the limited key stored; 5 bad
	// bodies, 1 without a key and 1 over the limit refused; 1 prompt
	// captured.
	m := s.scrape()
	for _, want := range []string{`switchyard_feedback_total{result="stored"} 4`, `switchyard_feedback_total{result="refused"} 7`,
		`switchyard_feedback_total{result="failed"} 0`, `switchyard_captured_prompts_total{result="stored"} 1`, `switchyard_captured_prompts_total{result="dropped"} 0`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	// The admin API forgets a tenant's prompts and ratings on request.
	var purged struct{ Purged int64 }
	s.adminDo("DELETE", "/admin/learning?tenant_id="+e.TenantID, nil, &purged)
	if purged.Purged != 3 { // one captured prompt, two ratings
		t.Errorf("purged %d rows, want 3", purged.Purged)
	}
	n := 0
	_ = s.ten.Store.TrainingExamples(context.Background(), time.Time{}, func(store.TrainingExample) error { n++; return nil })
	if n != 0 {
		t.Errorf("%d training examples after the purge, want none", n)
	}
}
