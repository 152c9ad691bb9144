package learned

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/learned/dataset"
	"github.com/switchyard-gw/switchyard/internal/sim"
)

// embeddedSet is a set whose labels only an embedding shows: the prompts
// read the same but for a number, and the small model is right exactly
// when the first component of the simulated provider's embedding of the
// prompt is positive. It returns the set, its embeddings (fetched over a
// real socket from the simulated provider) and the server's URL.
func embeddedSet(t *testing.T, n int) (*dataset.Set, *EmbeddingTable, string) {
	t.Helper()
	srv := httptest.NewServer(sim.New(sim.DefaultConfig()).Handler())
	t.Cleanup(srv.Close)
	s := &dataset.Set{Name: "embedded", Models: []string{"big", "small"}, CostMeasured: true}
	var texts []string
	for i := range n {
		p := dataset.Prompt{ID: fmt.Sprintf("e%d", i), Task: "t", Text: fmt.Sprintf("Please handle support request number %d for this account.", i)}
		s.Prompts = append(s.Prompts, p)
		texts = append(texts, p.Text)
	}
	tab, err := FetchEmbeddings(context.Background(), NewOpenAIEmbedder(srv.URL+"/v1", "none", "sim-embed"), "sim-embed", texts)
	if err != nil {
		t.Fatal(err)
	}
	if tab.Dims != sim.DefaultEmbeddingDims {
		t.Fatalf("got %d dimensions, want %d", tab.Dims, sim.DefaultEmbeddingDims)
	}
	for _, p := range s.Prompts {
		small := 0.0
		if tab.Of(p.Text)[0] > 0 {
			small = 1
		}
		s.Quality = append(s.Quality, []float64{1, small})
		s.Cost = append(s.Cost, []float64{0.01, 0.001})
		s.OutChars = append(s.OutChars, []float64{400, 400})
	}
	return s, tab, srv.URL
}

func TestEmbeddingFeatures(t *testing.T) {
	s, tab, _ := embeddedSet(t, 500)
	train := s.Subset(func(i int) bool { return i < 400 })
	test := s.Subset(func(i int) bool { return i >= 400 })
	o := DefaultTrainOptions()
	o.Dim, o.Epochs, o.Holdout, o.Embeddings = 1<<10, 8, 0, tab
	r, err := Train([]*dataset.Set{train}, o, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if model, dims := r.Embedding(); model != "sim-embed" || dims != sim.DefaultEmbeddingDims {
		t.Fatalf("got embedding %q/%d, want sim-embed/%d", model, dims, sim.DefaultEmbeddingDims)
	}
	pair := EvalOptions{Strong: "big", Weak: "small"}
	without := Evaluate(r, test, "test", pair).Two
	pair.Embeddings = tab
	with := Evaluate(r, test, "test", pair).Two
	t.Logf("held-out APGR: %.3f with embeddings, %.3f without, oracle %.3f", with.Router.APGR, without.Router.APGR, with.Oracle.APGR)
	// Prompts the router never saw: only the embedding tells them apart.
	if with.Router.APGR < with.Oracle.APGR-0.05 {
		t.Errorf("with embeddings: got APGR %.3f, want within 0.05 of the oracle's %.3f", with.Router.APGR, with.Oracle.APGR)
	}
	if without.Router.APGR > 0.6 {
		t.Errorf("text alone: got APGR %.3f, want near random (<= 0.6): the labels are not in the text", without.Router.APGR)
	}

	// Deterministic, and the file keeps the embedding part.
	again, err := Train([]*dataset.Set{train}, o, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pa, pb := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	if err := r.Save(pa); err != nil {
		t.Fatal(err)
	}
	if err := again.Save(pb); err != nil {
		t.Fatal(err)
	}
	ba, _ := os.ReadFile(pa)
	bb, _ := os.ReadFile(pb)
	if !bytes.Equal(ba, bb) {
		t.Errorf("got different files for the same seed and embeddings, want identical")
	}
	l, err := Load(pa)
	if err != nil {
		t.Fatal(err)
	}
	p := test.Prompts[0].Text
	got, want := l.PredictWith(p, tab.Of(p)), r.PredictWith(p, tab.Of(p))
	for i := range want {
		if d := got[i] - want[i]; d > 1e-6 || d < -1e-6 {
			t.Errorf("model %d: got %v after load, want %v", i, got[i], want[i])
		}
	}
	// A vector of the wrong size is ignored, as none.
	if a, b := r.PredictWith(p, []float32{1, 2, 3}), r.Predict(p); a[1] != b[1] {
		t.Errorf("wrong-size embedding: got %v, want the text-only %v", a, b)
	}
	// The ranked choice follows the embedding.
	cands := []Candidate{{Name: "cheap", RefModel: "small", CostPerCall: 0.001}, {Name: "dear", RefModel: "big", CostPerCall: 0.01}}
	for _, tp := range test.Prompts[:20] {
		want := "dear"
		if tab.Of(tp.Text)[0] > 0.2 {
			want = "cheap"
		} else if tab.Of(tp.Text)[0] > -0.2 {
			continue // near the boundary either is fine
		}
		if got := r.RankWith(tp.Text, tab.Of(tp.Text), cands, Target{Quality: 0.5})[0].Name; got != want {
			t.Errorf("%q (e0 %.2f): got %s first, want %s", tp.Text, tab.Of(tp.Text)[0], got, want)
		}
	}

	o.Kind = KindDifficulty
	if _, err := Train([]*dataset.Set{train}, o, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "network kind") {
		t.Errorf("difficulty kind with embeddings: got %v, want an error naming the network kind", err)
	}
}

func TestLoadRejectsBadEmbeddingPart(t *testing.T) {
	r := trainSynthetic(t)
	f := r.File()
	f.PromptEmbedding = &EmbeddingFeatures{Model: "m", Dims: 4, Proj: make([]float64, 3)}
	if _, err := fromFile(f); err == nil {
		t.Errorf("got nil error for a projection of the wrong size, want one")
	}
}

// writeSet writes s in the shared CSV format.
func writeSet(t *testing.T, s *dataset.Set) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, rows [][]string) {
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		if err := w.WriteAll(rows); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	prompts := [][]string{{"prompt_id", "split", "task", "prompt"}}
	scores := [][]string{{"prompt_id", "model", "quality", "quality_raw", "cost_usd", "output_chars"}}
	for i, p := range s.Prompts {
		prompts = append(prompts, []string{p.ID, "train", p.Task, p.Text})
		for m, name := range s.Models {
			q := fmt.Sprint(s.Quality[i][m])
			scores = append(scores, []string{p.ID, name, q, q, fmt.Sprint(s.Cost[i][m]), "400"})
		}
	}
	write("prompts.csv", prompts)
	write("scores.csv", scores)
	return dir
}

// route train and route eval call the embeddings endpoint themselves.
func TestTrainEvalMainWithEmbeddings(t *testing.T) {
	s, _, url := embeddedSet(t, 500)
	dir := writeSet(t, s)
	out := filepath.Join(t.TempDir(), "r.json")
	var so, se bytes.Buffer
	args := []string{"--data", dir, "--out", out, "--epochs", "8", "--dim", "1024", "--embed-url", url + "/v1", "--embed-model", "sim-embed"}
	if code := TrainMain(args, &so, &se); code != 0 {
		t.Fatalf("train: got exit %d, want 0: %s", code, se.String())
	}
	var f File
	b, _ := os.ReadFile(out)
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if f.PromptEmbedding == nil || f.PromptEmbedding.Model != "sim-embed" || f.PromptEmbedding.Dims != sim.DefaultEmbeddingDims {
		t.Fatalf("got prompt_embedding %+v, want sim-embed with %d dims", f.PromptEmbedding, sim.DefaultEmbeddingDims)
	}
	apgr := func(extra ...string) (float64, string) {
		var so, se bytes.Buffer
		args := append([]string{"--router", out, "--data", dir, "--split", "validation", "--strong", "big", "--weak", "small", "--json"}, extra...)
		if code := EvalMain(args, &so, &se); code != 0 {
			t.Fatalf("eval %v: got exit %d, want 0: %s", extra, code, se.String())
		}
		var reps []SetReport
		if err := json.Unmarshal(so.Bytes(), &reps); err != nil {
			t.Fatal(err)
		}
		return reps[0].Two.Router.APGR, se.String()
	}
	with, _ := apgr("--embed-url", url+"/v1") // the model comes from the router file
	without, note := apgr()
	t.Logf("validation APGR: %.3f with embeddings, %.3f without", with, without)
	if with < without+0.1 {
		t.Errorf("validation APGR: got %.3f with embeddings and %.3f without, want the embeddings to add at least 0.1", with, without)
	}
	if !strings.Contains(note, "sim-embed") {
		t.Errorf("eval without --embed-url: got stderr %q, want a note that the router uses sim-embed embeddings", note)
	}

	se.Reset()
	if code := TrainMain([]string{"--data", dir, "--out", out, "--embed-url", url + "/v1"}, &so, &se); code != 2 || !strings.Contains(se.String(), "--embed-model") {
		t.Errorf("--embed-url without --embed-model: got exit %d (%s), want 2 naming --embed-model", code, se.String())
	}
	se.Reset()
	if code := TrainMain([]string{"--data", dir, "--out", out, "--embed-url", url + "/v1", "--embed-model", "no-such-model"}, &so, &se); code != 1 || !strings.Contains(se.String(), "embeddings") {
		t.Errorf("unknown embedding model: got exit %d (%s), want 1 with the embeddings error", code, se.String())
	}
}

// The embeddings client retries a 503 and reports a 4xx with the
// endpoint's own message, without retrying it.
func TestOpenAIEmbedderErrors(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if r.Header.Get("Authorization") != "Bearer k" || r.URL.Path != "/v1/embeddings" {
			t.Errorf("got %s %s, want /v1/embeddings with the key", r.URL.Path, r.Header.Get("Authorization"))
		}
		var req struct {
			Model string
			Input []string
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		switch {
		case req.Model == "bad":
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":{"message":"model bad does not exist"}}`)
		case n == 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		default: // answers out of order, as the API allows
			fmt.Fprintf(w, `{"data":[{"index":1,"embedding":[0,1]},{"index":0,"embedding":[1,0]}]}`)
		}
	}))
	defer srv.Close()
	got, err := NewOpenAIEmbedder(srv.URL+"/v1/", "k", "m")(context.Background(), []string{"a", "b"})
	if err != nil || len(got) != 2 || got[0][0] != 1 || got[1][1] != 1 || calls.Load() != 2 {
		t.Errorf("after one 503: got %v, %v in %d calls, want [[1 0] [0 1]] in 2", got, err, calls.Load())
	}
	calls.Store(10)
	_, err = NewOpenAIEmbedder(srv.URL+"/v1", "k", "bad")(context.Background(), []string{"a"})
	if err == nil || !strings.Contains(err.Error(), "model bad does not exist") || calls.Load() != 11 {
		t.Errorf("400: got %v after %d calls, want the endpoint's message after 1", err, calls.Load()-10)
	}
}
