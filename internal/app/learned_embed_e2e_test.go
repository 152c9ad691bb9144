package app

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/learned"
	"github.com/switchyard-gw/switchyard/internal/learned/dataset"
	"github.com/switchyard-gw/switchyard/internal/sim"
)

// embedPrompt is a prompt whose text says nothing about its difficulty:
// only its embedding does (see trainEmbeddedRouter).
func embedPrompt(i int) string {
	return fmt.Sprintf("Please handle support request number %d for this account.", i)
}

// trainEmbeddedRouter trains a router on embedPrompt(0..399) whose cheap
// reference model "cheap-ref" is right exactly when the first component of
// the simulator's sim-embed embedding of the prompt is positive (the
// expensive "dear-ref" always is), and writes it to a file. It returns the
// file and a function giving that component for any prompt.
func trainEmbeddedRouter(t *testing.T) (string, func(string) float32) {
	t.Helper()
	_, url, stop, err := sim.Start(sim.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	embed := learned.NewOpenAIEmbedder(url+"/v1", "none", "sim-embed")
	first := func(p string) float32 {
		v, err := embed(context.Background(), []string{learned.EmbeddingText(p)})
		if err != nil {
			t.Fatal(err)
		}
		return v[0][0]
	}
	s := &dataset.Set{Name: "embedded", Models: []string{"dear-ref", "cheap-ref"}, CostMeasured: true}
	var texts []string
	for i := range 400 {
		p := dataset.Prompt{ID: fmt.Sprint(i), Task: "support", Text: embedPrompt(i)}
		s.Prompts = append(s.Prompts, p)
		texts = append(texts, p.Text)
	}
	tab, err := learned.FetchEmbeddings(context.Background(), embed, "sim-embed", texts)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range s.Prompts {
		cheap := 0.0
		if tab.Of(p.Text)[0] > 0 {
			cheap = 1
		}
		s.Quality = append(s.Quality, []float64{1, cheap})
		s.Cost = append(s.Cost, []float64{0.01, 0.001})
		s.OutChars = append(s.OutChars, []float64{400, 400})
	}
	o := learned.DefaultTrainOptions()
	o.Dim, o.Epochs, o.Holdout, o.Embeddings = 1<<10, 8, 0, tab
	r, err := learned.Train([]*dataset.Set{s}, o, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "embedded.json")
	if err := r.Save(path); err != nil {
		t.Fatal(err)
	}
	return path, first
}

// A learned route with an embedding deployment embeds each prompt through
// the gateway's own provider before deciding: prompts that read the same
// but embed differently go to different deployments. A failing embedding
// deployment costs the decision its embedding, never the request.
func TestLearnedRouteWithEmbeddings(t *testing.T) {
	file, first := trainEmbeddedRouter(t)
	simCfg := routeSim(nil)
	simCfg.Models = append(simCfg.Models, sim.Model{Name: "sim-embed", ContextWindow: 8192, EmbeddingDims: sim.DefaultEmbeddingDims})
	head := strings.Replace(routeHead, "deployments:\n", `deployments:
  - {name: embed, provider: sim, model: sim-embed, context_window: 8192, capabilities: {chat: false, tools: false, streaming: false, embeddings: true}}
  - {name: embed-down, provider: down, model: sim-embed, context_window: 8192, capabilities: {chat: false, tools: false, streaming: false, embeddings: true}}
`, 1)
	head = strings.Replace(head, "providers:\n", "providers:\n  - {name: down, kind: openai, base_url: \"http://127.0.0.1:1/v1\"}\n", 1)
	routes := fmt.Sprintf(`  - name: smart-emb
    policy: learned
    targets: [large, small]
    learned: {router_file: %q, quality: 0.5, ref_models: {small: cheap-ref, large: dear-ref}, embedding_deployment: embed, embedding_timeout: 5s}
  - name: smart-emb-down
    policy: learned
    targets: [large, small]
    learned: {router_file: %q, quality: 0.5, ref_models: {small: cheap-ref, large: dear-ref}, embedding_deployment: embed-down}
`, file, file)
	st := startStub(t, nil)
	s := startStack(t, simCfg, strings.ReplaceAll(head, "{{STUB}}", st.srv.URL)+routes)

	var cheap, dear int
	for i := 1000; i < 1030; i++ {
		p := embedPrompt(i)
		e0 := first(p)
		want := ""
		switch {
		case e0 > 0.2:
			want, cheap = "small", cheap+1
		case e0 < -0.2:
			want, dear = "large", dear+1
		}
		before := s.callCount("sim-embed")
		h := s.served(routeBody("smart-emb", p, ""))
		if want != "" && h.Get("X-Switchyard-Deployment") != want {
			t.Errorf("%q (embedding[0] %.2f): got %q, want %q (reason %q)", p, e0, h.Get("X-Switchyard-Deployment"), want, h.Get("X-Switchyard-Reason"))
		}
		if strings.Contains(h.Get("X-Switchyard-Reason"), "text only") {
			t.Errorf("reason: got %q, want the embedding used", h.Get("X-Switchyard-Reason"))
		}
		if got := s.callCount("sim-embed") - before; got != 1 {
			t.Errorf("embedding calls for one request: got %d, want 1", got)
		}
	}
	if cheap < 3 || dear < 3 {
		t.Fatalf("got %d cheap and %d dear prompts of 30, want a few of each", cheap, dear)
	}

	// The embedding deployment is unreachable: the request is still served,
	// decided from the text alone, and the reason says so.
	h := s.served(routeBody("smart-emb-down", embedPrompt(7), ""))
	if got := h.Get("X-Switchyard-Reason"); !strings.Contains(got, "embedding embed-down failed; text only") {
		t.Errorf("reason with the embedding deployment down: got %q, want it to say the text alone decided", got)
	}
	// Explain calls no model, the embedding deployment included.
	before := s.callCount("sim-embed")
	if code, ex := s.explain(routeBody("smart-emb", embedPrompt(7), "")); code != 200 || !strings.Contains(ex.Reason, "embedding embed not called; text only") {
		t.Errorf("explain: got %d %q, want 200 and a reason saying the embedding was not called", code, ex.Reason)
	}
	if got := s.callCount("sim-embed") - before; got != 0 {
		t.Errorf("embedding calls during explain: got %d, want 0", got)
	}
}
