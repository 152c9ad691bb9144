package learned

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/learned/dataset"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// SetReport is the evaluation of a router on one data set.
type SetReport struct {
	Set     string           `json:"set"`
	Split   string           `json:"split"`
	Prompts int              `json:"prompts"`
	LogLoss *LogLoss         `json:"log_loss,omitempty"`
	Two     *TwoModelResult  `json:"two_model,omitempty"`
	Many    *ManyModelResult `json:"many_model,omitempty"`
	// PerModel is the per-model view (see perModel): shown when most
	// prompts have one model's result, as in data from route export, or
	// when asked for (route eval --per-model).
	PerModel []ModelRow `json:"per_model,omitempty"`
	// Notes say what could not be evaluated and why.
	Notes []string `json:"notes,omitempty"`
	// Tasks is the two-model view per task (route eval --by-task), with the
	// set's strong/weak pair.
	Tasks []TaskRow `json:"tasks,omitempty"`
}

// TaskRow is the two-model view of a router on one task of a set.
type TaskRow struct {
	Task    string  `json:"task"`
	Prompts int     `json:"prompts"`
	QStrong float64 `json:"quality_strong"`
	QWeak   float64 `json:"quality_weak"`
	Router  TwoRow  `json:"router"`
	Oracle  TwoRow  `json:"oracle"`
	// DifficultyCeiling is TwoModelResult.DifficultyCeiling on the task.
	DifficultyCeiling *TwoRow `json:"difficulty_ceiling,omitempty"`
}

// ByTask adds the per-task two-model view to rep: each task of s (in order
// of first appearance) evaluated alone, with the pair rep.Two used for the
// whole set. Tasks where the pair's qualities are equal have no PGR and are
// left out.
func ByTask(r *Router, s *dataset.Set, rep *SetReport, o EvalOptions) {
	if rep.Two == nil {
		return
	}
	strong, weak := s.ModelIndex(rep.Two.Strong), s.ModelIndex(rep.Two.Weak)
	var tasks []string
	seen := map[string]bool{}
	for _, p := range s.Prompts {
		if !seen[p.Task] {
			seen[p.Task] = true
			tasks = append(tasks, p.Task)
		}
	}
	for _, task := range tasks {
		ts := s.Subset(func(i int) bool { return s.Prompts[i].Task == task })
		refs := r.MapModels(ts.Models, o.Map)
		preds := make([][]float64, len(ts.Prompts))
		for i, p := range ts.Prompts {
			preds[i] = r.PredictWith(p.Text, o.Embeddings.Of(p.Text))
		}
		t, why := EvalTwo(r, ts, strong, weak, refs, preds)
		if why != "" || t.QStrong == t.QWeak {
			continue
		}
		rep.Tasks = append(rep.Tasks, TaskRow{Task: task, Prompts: t.Prompts, QStrong: t.QStrong, QWeak: t.QWeak, Router: t.Router, Oracle: t.Oracle, DifficultyCeiling: t.DifficultyCeiling})
	}
}

// LogLoss compares the router's per-cell log-loss on mapped models with
// always predicting each model's mean quality on its training set.
type LogLoss struct {
	Router float64 `json:"router"`
	Prior  float64 `json:"prior"`
	Cells  int     `json:"cells"`
}

// EvalOptions select the views of Evaluate.
type EvalOptions struct {
	Strong, Weak string            // two-model pair; default: see defaultPair
	Map          map[string]string // data set model → reference model
	// PerModel adds the per-model view even when most prompts have
	// several models' results.
	PerModel bool
	// Embeddings are the prompts' embeddings for a router trained with
	// them (nil: predict from the text alone).
	Embeddings *EmbeddingTable
}

// embedOptions are the --embed-* flags of route train and route eval.
type embedOptions struct {
	url, model, keyEnv string
}

func embedFlags(fs *flag.FlagSet) *embedOptions {
	var e embedOptions
	fs.StringVar(&e.url, "embed-url", "", "OpenAI-compatible API base URL (e.g. http://127.0.0.1:8080/v1) to embed every prompt with: optional embedding features")
	fs.StringVar(&e.model, "embed-model", "", "embedding model for --embed-url (route eval: default the router's)")
	fs.StringVar(&e.keyEnv, "embed-key-env", "SWITCHYARD_EMBED_API_KEY", "environment variable holding the API key for --embed-url")
	return &e
}

// fetch embeds every prompt of sets, or returns nil without --embed-url.
func (e *embedOptions) fetch(sets []*dataset.Set, model string, log io.Writer) (*EmbeddingTable, error) {
	if e.url == "" {
		return nil, nil
	}
	var prompts []string
	for _, s := range sets {
		for _, p := range s.Prompts {
			prompts = append(prompts, p.Text)
		}
	}
	key := os.Getenv(e.keyEnv)
	if key == "" {
		key = "none" // a local endpoint without keys
	}
	fmt.Fprintf(log, "embedding %d prompts with %s at %s\n", len(prompts), model, e.url)
	t, err := FetchEmbeddings(context.Background(), NewOpenAIEmbedder(e.url, key, model), model, prompts)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "embeddings: %d dimensions\n", t.Dims)
	return t, nil
}

// Evaluate runs the router on every prompt of s and computes the two-model
// view (for two-model sets, or a chosen pair) and the many-model view.
func Evaluate(r *Router, s *dataset.Set, split string, o EvalOptions) SetReport {
	rep := SetReport{Set: s.Name, Split: split, Prompts: len(s.Prompts)}
	refs := r.MapModels(s.Models, o.Map)
	if n := unmappedNote(s.Models, refs); n != "" {
		rep.Notes = append(rep.Notes, n)
	}
	preds := make([][]float64, len(s.Prompts))
	for i, p := range s.Prompts {
		preds[i] = r.PredictWith(p.Text, o.Embeddings.Of(p.Text))
	}
	var ll LogLoss
	for i := range s.Prompts {
		for m, ref := range refs {
			j, ok := r.index[ref]
			y := s.Quality[i][m]
			if !ok || math.IsNaN(y) {
				continue
			}
			ll.Router += bce(preds[i][j], y)
			ll.Prior += bce(r.file.Models[j].MeanQuality, y)
			ll.Cells++
		}
	}
	if ll.Cells > 0 {
		ll.Router, ll.Prior = round6(ll.Router/float64(ll.Cells)), round6(ll.Prior/float64(ll.Cells))
		rep.LogLoss = &ll
	}
	if o.PerModel || mostlySingle(s) {
		cols := make([]int, len(refs))
		for m, ref := range refs {
			cols[m] = -1
			if j, ok := r.index[ref]; ok && ref != "" {
				cols[m] = j
			}
		}
		rep.PerModel = perModel(s, refs, cols, preds)
	}
	strong, weak := s.ModelIndex(o.Strong), s.ModelIndex(o.Weak)
	if strong < 0 || weak < 0 {
		strong, weak = defaultPair(s)
	}
	if strong >= 0 && weak >= 0 && strong != weak {
		if t, why := EvalTwo(r, s, strong, weak, refs, preds); why == "" {
			rep.Two = &t
		} else {
			rep.Notes = append(rep.Notes, why)
		}
	}
	if len(s.Models) > 2 {
		if view, vrefs, fromRef, unpriced, ok := pricedView(r, s, refs); ok {
			if m, why := EvalMany(view, vrefs, r, preds); why == "" {
				m.CostFromRef, m.Unpriced = fromRef, unpriced
				rep.Many = &m
			} else {
				rep.Notes = append(rep.Notes, why)
			}
		} else {
			rep.Notes = append(rep.Notes, fmt.Sprintf("no many-model view: no cost for %s (give cost_usd, or a price table with --prices)", strings.Join(unpriced, ", ")))
		}
	}
	return rep
}

// unmappedNote says which of a set's models have no reference model (refs
// as MapModels gives them): those are scored by the prompt's predicted
// difficulty alone, and with none mapped the router cannot tell the models
// apart at all, so its figures say little.
func unmappedNote(models, refs []string) string {
	var none []string
	for m, ref := range refs {
		if ref == "" {
			none = append(none, models[m])
		}
	}
	switch {
	case len(none) == 0:
		return ""
	case len(none) == len(models):
		return fmt.Sprintf("none of the set's models maps to a reference model of the router (%s): every model is scored by the predicted difficulty alone; map them with --map dataModel=referenceModel", strings.Join(none, ", "))
	}
	return fmt.Sprintf("no reference model for %s: scored by the predicted difficulty alone (map with --map dataModel=referenceModel)", strings.Join(none, ", "))
}

func bce(p, y float64) float64 {
	p = math.Min(1-1e-6, math.Max(1e-6, p))
	return -(y*math.Log(p) + (1-y)*math.Log(1-p))
}

// defaultPair is GPT-4 vs Mixtral-8x7B when the set has both (the RouteLLM
// benchmark pair), else the best vs the worst model by mean quality.
func defaultPair(s *dataset.Set) (strong, weak int) {
	strong, weak = -1, -1
	for m, name := range s.Models {
		switch FamilyKey(name) {
		case "gpt-4":
			if strong < 0 {
				strong = m
			}
		case "mixtral-8x7b":
			if weak < 0 {
				weak = m
			}
		}
	}
	if strong >= 0 && weak >= 0 {
		return strong, weak
	}
	mean := make([]float64, len(s.Models))
	for m := range s.Models {
		var n float64
		for i := range s.Prompts {
			if v := s.Quality[i][m]; !math.IsNaN(v) {
				mean[m] += v
				n++
			}
		}
		mean[m] /= math.Max(n, 1)
	}
	strong, weak = 0, 0
	for m := range mean {
		if mean[m] > mean[strong] {
			strong = m
		}
		if mean[m] < mean[weak] {
			weak = m
		}
	}
	return strong, weak
}

func loadSets(dirs []string, pricesDir string) ([]*dataset.Set, error) {
	var sets []*dataset.Set
	for _, d := range dirs {
		pd := pricesDir
		if pd == "" {
			pd = dataset.DefaultPricesDir(d)
		}
		prices, err := dataset.LoadPrices(pd)
		if err != nil {
			return nil, err
		}
		s, err := dataset.Load(d, prices)
		if err != nil {
			return nil, err
		}
		sets = append(sets, s)
	}
	return sets, nil
}

// TrainMain is "switchyard route train": it trains a router from one or
// more --data folders, prints progress and a validation summary, and writes
// --out. It returns the process exit code: 2 for a usage error, which a
// flag out of range or not one of its choices is (checkTrainFlags), found
// before any data is read or any training time spent.
func TrainMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("route train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var data multiFlag
	fs.Var(&data, "data", "folder with prompts.csv and scores.csv (repeatable)")
	out := fs.String("out", "router.json", "router file to write")
	def := DefaultTrainOptions()
	seed := fs.Uint64("seed", def.Seed, "random seed")
	holdout := fs.Float64("holdout", def.Holdout, "share of prompts held out for validation (by prompt_id hash)")
	epochs := fs.Int("epochs", def.Epochs, "training epochs")
	l2emb := fs.Float64("l2-emb", def.L2Emb, "L2 regularisation of the n-gram embedding")
	l2dev := fs.Float64("l2-dev", def.L2Dev, "L2 regularisation of per-model deviations from the shared head")
	prices := fs.String("prices", "", "price table folder (default: DATA/../prices)")
	l2task := fs.Float64("l2-task", def.L2Task, "L2 regularisation of the per-task offsets fitted in training (0: none)")
	dim := fs.Int("dim", def.Dim, "hashed n-gram buckets")
	hidden := fs.Int("hidden", def.Hidden, "width of the prompt representation")
	cv := fs.String("cv", "", "instead of writing a router, cross-validate: task (leave one task out), set (leave one data set out), both, or settask (leave one task of one set out)")
	kind := fs.String("kind", def.Kind, "model: empty for the hashed n-gram network, or difficulty")
	target := fs.String("target", def.Target, "difficulty target for --kind difficulty: fail, irt or gap")
	noCentre := fs.Bool("no-centre", false, "keep each task's mean in the difficulty target")
	within := fs.Bool("within", false, "fit the linear difficulty term on features centred within each task")
	ridge := fs.Float64("ridge", def.Ridge, "L2 of the linear difficulty term")
	trees := fs.Int("trees", def.Trees, "boosted trees on the difficulty residual (0: linear only)")
	depth := fs.Int("depth", def.Depth, "depth of each boosted tree")
	shrink := fs.Float64("shrink", def.Shrink, "boosting shrinkage")
	minLeaf := fs.Int("min-leaf", def.MinLeaf, "smallest tree leaf, in prompts")
	cvMin := fs.Int("cv-min-prompts", 50, "smallest left-out part evaluated by --cv")
	ef := embedFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0 // the usage was asked for, and printed
		}
		return 2
	}
	o := def
	o.Seed, o.Holdout, o.Epochs, o.L2Emb, o.L2Dev = *seed, *holdout, *epochs, *l2emb, *l2dev
	o.Dim, o.Hidden, o.L2Task = *dim, *hidden, *l2task
	o.Kind, o.Target, o.NoCentre, o.Ridge = *kind, *target, *noCentre, *ridge
	o.Trees, o.Depth, o.Shrink, o.MinLeaf = *trees, *depth, *shrink, *minLeaf
	o.Within = *within
	if errs := checkTrainFlags(o, *cv, *cvMin, *out); len(errs) > 0 {
		for _, err := range errs {
			fmt.Fprintf(stderr, "route train: %v\n", err)
		}
		return 2
	}
	if len(data) == 0 {
		fmt.Fprintln(stderr, "route train: at least one --data folder is required")
		return 2
	}
	sets, err := loadSets(data, *prices)
	if err != nil {
		fmt.Fprintf(stderr, "route train: %v\n", err)
		return 1
	}
	if ef.url != "" && ef.model == "" {
		fmt.Fprintln(stderr, "route train: --embed-url needs --embed-model")
		return 2
	}
	if o.Embeddings, err = ef.fetch(sets, ef.model, stderr); err != nil {
		fmt.Fprintf(stderr, "route train: %v\n", err)
		return 1
	}
	if *cv != "" {
		kinds := []string{*cv}
		if *cv == "both" {
			kinds = []string{"set", "task"}
		}
		for _, by := range kinds {
			res, err := CrossValidate(sets, o, by, *cvMin, stderr)
			if err != nil {
				fmt.Fprintf(stderr, "route train: %v\n", err)
				return 2
			}
			printFolds(stdout, by, res)
		}
		return 0
	}
	r, err := Train(sets, o, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "route train: %v\n", err)
		return 1
	}
	var reps []SetReport
	if o.Holdout > 0 {
		for _, s := range sets {
			v := s.Subset(func(i int) bool { return dataset.IsValidation(s.Prompts[i].ID, o.Holdout) })
			if len(v.Prompts) == 0 {
				continue
			}
			rep := Evaluate(r, v, "validation", EvalOptions{Embeddings: o.Embeddings})
			rep.Two.trimCurve()
			rep.Many.trimCurve()
			reps = append(reps, rep)
			printReport(stdout, rep)
		}
		if r, err = withValidation(r, reps); err != nil {
			fmt.Fprintf(stderr, "route train: %v\n", err)
			return 1
		}
	}
	if err := r.Save(*out); err != nil {
		fmt.Fprintf(stderr, "route train: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s\n", *out)
	return 0
}

// checkTrainFlags returns route train's usage errors, each naming its
// flag: the options' (TrainOptions.Check), a --cv that is none of its
// choices or a --cv-min-prompts below 1, and, when a router is to be
// written (no --cv), an --out that could never be written or options
// that would make a router file larger than Load reads. It reads no data,
// so nothing is trained only to fail at the end.
func checkTrainFlags(o TrainOptions, cv string, cvMin int, out string) []error {
	var errs []error
	for _, err := range o.problems() {
		errs = append(errs, fmt.Errorf("--%w", err)) // named as the flag, less the dashes
	}
	if err := oneOf("cv", cv, "", "task", "set", "both", "settask"); err != nil {
		errs = append(errs, fmt.Errorf("--%w", err))
	}
	if err := atLeast("cv-min-prompts", cvMin, 1); err != nil {
		errs = append(errs, fmt.Errorf("--%w", err))
	}
	if len(errs) > 0 || cv != "" {
		return errs // cross-validation writes no router
	}
	if fi, err := os.Stat(out); err == nil && fi.IsDir() {
		errs = append(errs, fmt.Errorf("--out %s is a directory: want the router file to write", out))
	} else if fi, err := os.Stat(filepath.Dir(out)); err != nil || !fi.IsDir() {
		errs = append(errs, fmt.Errorf("--out %s: its folder %s does not exist", out, filepath.Dir(out)))
	}
	if err := o.checkFileSize(); err != nil {
		errs = append(errs, err)
	}
	return errs
}

func (t *TwoModelResult) trimCurve() {
	if t != nil {
		t.RouterCurve = nil
	}
}

func (m *ManyModelResult) trimCurve() {
	if m != nil {
		m.RouterCurve = nil
	}
}

// EvalMain is "switchyard route eval": it prints the router's cost/quality
// curve and metrics on --data next to the random router and the oracle
// (--json for JSON). It returns the process exit code.
func EvalMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("route eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("router", "", "router file")
	var data, maps multiFlag
	fs.Var(&data, "data", "folder with prompts.csv and scores.csv (repeatable)")
	fs.Var(&maps, "map", "data-set model=reference model (repeatable); default: same name or family")
	asJSON := fs.Bool("json", false, "print JSON")
	strong := fs.String("strong", "", "strong model of the two-model view (default: GPT-4 vs Mixtral-8x7B if present, else best vs worst)")
	weak := fs.String("weak", "", "weak model of the two-model view")
	split := fs.String("split", "all", "prompts to evaluate: all, validation or train (split by prompt_id hash)")
	holdout := fs.Float64("holdout", DefaultTrainOptions().Holdout, "validation share for --split")
	prices := fs.String("prices", "", "price table folder (default: DATA/../prices)")
	byTask := fs.Bool("by-task", false, "also print the two-model view per task of each set")
	perModelView := fs.Bool("per-model", false, "also print the per-model view (quality, cost and the router's AUC per model) for sets where most prompts have several models' results; it is printed anyway where most have one, as in route export's data")
	ef := embedFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0 // the usage was asked for, and printed
		}
		return 2
	}
	if *path == "" || len(data) == 0 {
		fmt.Fprintln(stderr, "route eval: --router and --data are required")
		return 2
	}
	if !(*holdout >= 0 && *holdout < 1) {
		fmt.Fprintf(stderr, "route eval: --holdout %g is not in [0,1): it is the validation share of --split\n", *holdout)
		return 2
	}
	o := EvalOptions{Strong: *strong, Weak: *weak, Map: map[string]string{}, PerModel: *perModelView}
	for _, m := range maps {
		k, v, ok := strings.Cut(m, "=")
		if !ok {
			fmt.Fprintf(stderr, "route eval: bad --map %q, want model=reference\n", m)
			return 2
		}
		o.Map[k] = v
	}
	r, err := Load(*path)
	if err != nil {
		fmt.Fprintf(stderr, "route eval: %v\n", err)
		return 1
	}
	sets, err := loadSets(data, *prices)
	if err != nil {
		fmt.Fprintf(stderr, "route eval: %v\n", err)
		return 1
	}
	if err := checkMap(o.Map, r, sets); err != nil {
		fmt.Fprintf(stderr, "route eval: %v\n", err)
		return 2
	}
	if model, dims := r.Embedding(); dims > 0 {
		if ef.model == "" {
			ef.model = model
		}
		if o.Embeddings, err = ef.fetch(sets, ef.model, stderr); err != nil {
			fmt.Fprintf(stderr, "route eval: %v\n", err)
			return 1
		}
		if o.Embeddings == nil {
			fmt.Fprintf(stderr, "route eval: the router uses %s embeddings; without --embed-url it is evaluated on the text alone\n", model)
		}
	}
	var reps []SetReport
	for _, s := range sets {
		switch *split {
		case "all":
		case "validation", "train":
			want := *split == "validation"
			s = s.Subset(func(i int) bool { return dataset.IsValidation(s.Prompts[i].ID, *holdout) == want })
		default:
			fmt.Fprintf(stderr, "route eval: unknown --split %q\n", *split)
			return 2
		}
		if len(s.Prompts) == 0 {
			fmt.Fprintf(stderr, "route eval: %s: no prompts in split %s\n", s.Name, *split)
			return 1
		}
		rep := Evaluate(r, s, *split, o)
		if *byTask {
			ByTask(r, s, &rep, o)
		}
		reps = append(reps, rep)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(reps); err != nil {
			fmt.Fprintf(stderr, "route eval: %v\n", err)
			return 1
		}
		return 0
	}
	for _, rep := range reps {
		printReport(stdout, rep)
		printCurves(stdout, rep)
	}
	return 0
}

// checkMap reports --map entries naming a model no data set has, or a
// reference model the router does not know: a typo would otherwise leave
// the model silently unmapped.
func checkMap(m map[string]string, r *Router, sets []*dataset.Set) error {
	inData := map[string]bool{}
	for _, s := range sets {
		for _, name := range s.Models {
			inData[name] = true
		}
	}
	var bad []string
	for k, v := range m {
		if !inData[k] {
			bad = append(bad, fmt.Sprintf("%q is not a model of the data", k))
		}
		if !r.has(v) {
			bad = append(bad, fmt.Sprintf("%q is not a reference model of the router", v))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	slices.Sort(bad)
	return fmt.Errorf("--map: %s (the router's reference models: %s)", strings.Join(bad, "; "), strings.Join(r.models, ", "))
}

func printReport(w io.Writer, rep SetReport) {
	fmt.Fprintf(w, "\n== %s (%s, %d prompts)\n", rep.Set, rep.Split, rep.Prompts)
	if ll := rep.LogLoss; ll != nil {
		fmt.Fprintf(w, "log-loss on mapped models: router %.4f, per-model mean %.4f (%d cells)\n", ll.Router, ll.Prior, ll.Cells)
	}
	printPerModel(w, rep.PerModel)
	if t := rep.Two; t != nil {
		fmt.Fprintf(w, "two-model: strong %s (%.3f) vs weak %s (%.3f), %d prompts\n", t.Strong, t.QStrong, t.Weak, t.QWeak, t.Prompts)
		fmt.Fprintf(w, "  %-8s %7s %9s %9s\n", "", "APGR", "CPT(50%)", "CPT(80%)")
		for _, row := range []struct {
			n string
			r TwoRow
		}{{"router", t.Router}, {"random", t.Random}, {"oracle", t.Oracle}} {
			fmt.Fprintf(w, "  %-8s %7.3f %9.3f %9.3f\n", row.n, row.r.APGR, row.r.CPT50, row.r.CPT80)
		}
		if d := t.DifficultyCeiling; d != nil {
			fmt.Fprintf(w, "  %-8s %7.3f %9.3f %9.3f  (knowing each prompt's difficulty from the other models' results)\n", "ceiling", d.APGR, d.CPT50, d.CPT80)
		}
	}
	if len(rep.Tasks) > 0 {
		fmt.Fprintf(w, "  per task:\n  %-24s %7s %8s %8s %7s %9s %9s %7s %7s\n", "task", "prompts", "strong", "weak", "APGR", "CPT(50%)", "CPT(80%)", "oracle", "ceiling")
		for _, t := range rep.Tasks {
			ceiling := "-"
			if d := t.DifficultyCeiling; d != nil {
				ceiling = fmt.Sprintf("%.3f", d.APGR)
			}
			fmt.Fprintf(w, "  %-24s %7d %8.3f %8.3f %7.3f %9.3f %9.3f %7.3f %7s\n", t.Task, t.Prompts, t.QStrong, t.QWeak, t.Router.APGR, t.Router.CPT50, t.Router.CPT80, t.Oracle.APGR, ceiling)
		}
	}
	for _, n := range rep.Notes {
		fmt.Fprintln(w, n)
	}
	if m := rep.Many; m != nil {
		fmt.Fprintf(w, "many-model: %d models, best single %s quality %.3f at $%.6g/call\n", len(m.Models), m.BestSingle, m.BestQuality, m.BestCost)
		if len(m.CostFromRef) > 0 {
			fmt.Fprintf(w, "  costed at their reference model's mean $/call (no cost in the data): %s\n", strings.Join(m.CostFromRef, ", "))
		}
		if len(m.Unpriced) > 0 {
			fmt.Fprintf(w, "  left out (no cost in the data, no reference model): %s\n", strings.Join(m.Unpriced, ", "))
		}
		fmt.Fprintf(w, "  %-8s %14s %10s %7s\n", "", "cost@95%best", "saving", "AIQ")
		for _, row := range []struct {
			n string
			r ManyRow
		}{{"router", m.Router}, {"random", m.Random}, {"oracle", m.Oracle}} {
			switch {
			case row.r.Reached && m.BestCost > 0:
				fmt.Fprintf(w, "  %-8s %14.6g %9.1f%% %7.4f\n", row.n, row.r.Cost95, 100*row.r.Saving95, row.r.AIQ)
			case row.r.Reached: // the best model costs nothing: no saving to speak of
				fmt.Fprintf(w, "  %-8s %14.6g %10s %7.4f\n", row.n, row.r.Cost95, "-", row.r.AIQ)
			default:
				fmt.Fprintf(w, "  %-8s %14s %10s %7.4f\n", row.n, "not reached", "-", row.r.AIQ)
			}
		}
	}
}

// printPerModel prints the per-model view; "-" marks a figure with no
// data (no reference model, no cost), "n/a" an AUC with nothing to rank.
func printPerModel(w io.Writer, rows []ModelRow) {
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(w, "per model, on the prompts each has a result for:\n  %-24s %-24s %7s %8s %9s %6s %11s\n", "model", "reference", "prompts", "quality", "predicted", "AUC", "$/call")
	na := false
	for _, m := range rows {
		ref, pred, auc, cost := "-", "-", "n/a", "-"
		if m.Ref != "" {
			ref = m.Ref
		}
		if m.Predicted != nil {
			pred = fmt.Sprintf("%.3f", *m.Predicted)
		}
		if m.AUC != nil {
			auc = fmt.Sprintf("%.3f", *m.AUC)
		} else {
			na = true
		}
		if m.CostUSD != nil {
			cost = fmt.Sprintf("%.6g", *m.CostUSD)
		}
		fmt.Fprintf(w, "  %-24s %-24s %7d %8.3f %9s %6s %11s\n", m.Model, ref, m.Prompts, m.Quality, pred, auc, cost)
	}
	fmt.Fprintln(w, "  AUC: the chance that of two of a model's prompts with different quality the router predicts the better one higher (0.5: chance)")
	if na {
		fmt.Fprintln(w, "  AUC n/a: every result of that model has the same quality, so there is nothing to rank")
	}
}

func printCurves(w io.Writer, rep SetReport) {
	if t := rep.Two; t != nil && len(t.RouterCurve) > 0 {
		fmt.Fprintln(w, "  router curve (strong share → quality):")
		for _, p := range t.RouterCurve {
			fmt.Fprintf(w, "    %.3f  %.4f\n", p.X, p.Y)
		}
	}
	if m := rep.Many; m != nil && len(m.RouterCurve) > 0 {
		fmt.Fprintln(w, "  router hull (mean $/call → quality):")
		for _, p := range m.RouterCurve {
			fmt.Fprintf(w, "    %.6g  %.4f\n", p.X, p.Y)
		}
	}
}
