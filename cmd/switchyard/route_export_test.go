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
	var recs []store.UsageRecord
	for i := range 80 {
		id := fmt.Sprintf("req_%03d", i)
		dep, text, q := "small", "say hi to the team number "+fmt.Sprint(i), 1.0
		if i%2 == 1 {
			dep, text, q = "large", "prove, step by step, that the sum of the first "+fmt.Sprint(i)+" odd numbers is a square, with a \"quoted\" line,\nand a second", 0.5
		}
		recs = append(recs, store.UsageRecord{RequestID: id, Time: now, TenantID: "t", Route: "smart", Deployment: dep, Status: 200, CostUSD: 0.001 * float64(1+i%2)})
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
	if !strings.Contains(stdout.String(), "80 rated requests") {
		t.Errorf("route export said %q, want 80 rated requests", stdout.String())
	}
	scores, _ := os.ReadFile(filepath.Join(out, "scores.csv"))
	if !strings.HasPrefix(string(scores), "prompt_id,model,quality,quality_raw,cost_usd,output_chars\nreq_000,small,1,1,0.001,\n") {
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
	// Nothing rated in the window: an empty, still valid, export.
	if code := cmdRoute([]string{"export", "--store", dsn, "--out", filepath.Join(dir, "none"), "--since", "1ns"}, &stdout, &stderr); code != 0 {
		t.Fatalf("empty export: exit %d: %s", code, stderr.String())
	}
	if code := cmdRoute([]string{"export", "--out", out}, &stdout, &stderr); code != 2 {
		t.Errorf("export without a store: exit %d, want 2", code)
	}
}
