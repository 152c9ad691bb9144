package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/learned"
	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/store/open"
)

// TestRouteExportTrains: what route export writes from a store's rated,
// captured requests is a data set route train takes, and the router it
// trains knows the gateway's deployments as its reference models.
func TestRouteExportTrains(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dsn := "sqlite://" + filepath.Join(dir, "sy.db")
	st, err := open.Store(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	// Rated traffic of two kinds, each answered by both deployments in
	// turn: small answers greetings well and code badly, large both well.
	greetings := []string{"say hi to the team", "wish Ana a happy birthday", "thank the crew for the party", "greet the new driver", "say good morning to the depot"}
	code := []string{"write a Go function that parses a CSV file and returns the rows", "fix this Python code: def f(x): return x +", "write a SQL query joining orders and customers by id", "implement a binary search in Rust with tests", "refactor this JavaScript class into functions"}
	var recs []store.UsageRecord
	for i := range 200 {
		id := fmt.Sprintf("req_%03d", i)
		dep, q := "small", 1.0
		if i%2 == 1 {
			dep = "large"
		}
		text := greetings[i/2%len(greetings)] + fmt.Sprintf(" (%d)", i)
		if i%4 >= 2 {
			text = code[i/4%len(code)] + fmt.Sprintf(" (%d)", i)
			if dep == "small" {
				q = 0
			}
		}
		recs = append(recs, store.UsageRecord{RequestID: id, Time: now, TenantID: "t", Route: "smart", Deployment: dep, Status: 200, CostUSD: map[string]float64{"small": 0.0001, "large": 0.002}[dep]})
		if err := st.PutPrompt(ctx, store.CapturedPrompt{RequestID: id, TenantID: "t", Route: "smart", Text: text, Created: now}); err != nil {
			t.Fatal(err)
		}
		if err := st.PutFeedback(ctx, store.Feedback{RequestID: id, TenantID: "t", Quality: q, Created: now}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.InsertUsage(ctx, recs); err != nil {
		t.Fatal(err)
	}
	st.Close()

	out := filepath.Join(dir, "export")
	var stdout, stderr bytes.Buffer
	if code := cmdRoute([]string{"export", "--store", dsn, "--out", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("route export: exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "200 rated requests") {
		t.Errorf("route export said %q, want 200 rated requests", stdout.String())
	}
	scores, _ := os.ReadFile(filepath.Join(out, "scores.csv"))
	if !strings.HasPrefix(string(scores), "prompt_id,model,quality,quality_raw,cost_usd,output_chars\nreq_000,small,1,1,0.0001,\n") {
		t.Errorf("scores.csv starts %q", scores[:min(len(scores), 120)])
	}
	router := filepath.Join(dir, "router.json")
	stdout.Reset()
	stderr.Reset()
	if code := cmdRoute([]string{"train", "--data", out, "--out", router, "--holdout", "0"}, &stdout, &stderr); code != 0 {
		t.Fatalf("route train on the export: exit %d: %s", code, stderr.String())
	}
	r, err := learned.Load(router)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.ReferenceModels(), ","); got != "large,small" && got != "small,large" {
		t.Errorf("reference models %q, want the deployments large and small", got)
	}
	// It steers as the ratings say: a new greeting to small (cheaper and
	// good enough), new code to large.
	cands := []learned.Candidate{{Name: "small", RefModel: "small", CostPerCall: 0.0001}, {Name: "large", RefModel: "large", CostPerCall: 0.002}}
	for _, tc := range []struct{ prompt, want string }{
		{"say hello to the signal crew", "small"},
		{"write a Go function that reverses a linked list", "large"},
	} {
		if got := r.Choose(tc.prompt, cands, learned.Target{Quality: 0.7}); got[0] != tc.want {
			t.Errorf("Choose(%q) = %v, want %s first (predicted %v for %v)", tc.prompt, got, tc.want, r.Predict(tc.prompt), r.ReferenceModels())
		}
	}
	// Filters: another tenant's or route's requests are left out.
	for _, args := range [][]string{{"--tenant", "other"}, {"--route", "other"}} {
		stdout.Reset()
		if code := cmdRoute(append([]string{"export", "--store", dsn, "--out", filepath.Join(dir, "filtered")}, args...), &stdout, &stderr); code != 0 ||
			!strings.HasPrefix(stdout.String(), "0 rated requests") {
			t.Errorf("export %v: exit %d, %q; want 0 requests", args, code, stdout.String())
		}
	}
	stdout.Reset()
	if code := cmdRoute([]string{"export", "--store", dsn, "--out", filepath.Join(dir, "mine"), "--tenant", "t", "--route", "smart"}, &stdout, &stderr); code != 0 ||
		!strings.HasPrefix(stdout.String(), "200 rated requests") {
		t.Errorf("export of tenant t, route smart: exit %d, %q; want all 200", code, stdout.String())
	}
	// Nothing rated in the window: an empty, still valid, export.
	if code := cmdRoute([]string{"export", "--store", dsn, "--out", filepath.Join(dir, "none"), "--since", "1ns"}, &stdout, &stderr); code != 0 {
		t.Fatalf("empty export: exit %d: %s", code, stderr.String())
	}
	if code := cmdRoute([]string{"export", "--out", out}, &stdout, &stderr); code != 2 {
		t.Errorf("export without a store: exit %d, want 2", code)
	}
}
