package learned

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/learned/dataset"
)

// FoldResult is the evaluation of one leave-one-out fold on one data set:
// a router trained without the fold's prompts, evaluated on them.
type FoldResult struct {
	// Fold is the left-out task (TaskKey) or data set name.
	Fold    string  `json:"fold"`
	Set     string  `json:"set"`
	Prompts int     `json:"prompts"`
	Strong  string  `json:"strong"`
	Weak    string  `json:"weak"`
	APGR    float64 `json:"apgr"`
	Oracle  float64 `json:"oracle_apgr"`
	// Ceiling is the difficulty ceiling's APGR (TwoModelResult.
	// DifficultyCeiling; 0 when the set has too few models).
	Ceiling float64 `json:"difficulty_ceiling_apgr,omitempty"`
	// LogLoss and PriorLogLoss are per mapped cell (0 when no model maps).
	LogLoss      float64 `json:"log_loss"`
	PriorLogLoss float64 `json:"prior_log_loss"`
	// AIQ and RandomAIQ are the many-model view (sets of three or more
	// models; 0 otherwise): the router's AIQ and the single-model hull's.
	AIQ       float64 `json:"aiq,omitempty"`
	RandomAIQ float64 `json:"random_aiq,omitempty"`
}

// TaskKey normalises a task name so the same benchmark matches across data
// sets: lower case without '-', '_' and spaces ("arc-challenge" and
// "arc_challenge" are "arcchallenge", "human_eval" is "humaneval").
func TaskKey(task string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == ' ' {
			return -1
		}
		return r
	}, strings.ToLower(task))
}

// CrossValidate trains one router per fold without the fold's prompts and
// evaluates it on them. by is "task" (leave one task out, across all sets:
// a task the router never saw), "set" (leave one data set out: prompts
// and, unless their names match, models never seen) or "settask" (leave
// one task of one set out: the benchmark stays in training through the
// other sets' models, as when a benchmark is known but not its results
// for the models being routed). Training uses every
// prompt outside the fold (o.Holdout is ignored). Progress goes to log.
func CrossValidate(sets []*dataset.Set, o TrainOptions, by string, minPrompts int, log io.Writer) ([]FoldResult, error) {
	var folds []string
	switch by {
	case "set":
		for _, s := range sets {
			folds = append(folds, s.Name)
		}
	case "task":
		seen := map[string]bool{}
		for _, s := range sets {
			for _, p := range s.Prompts {
				if k := TaskKey(p.Task); !seen[k] {
					seen[k] = true
					folds = append(folds, k)
				}
			}
		}
		sort.Strings(folds)
	case "settask":
		seen := map[string]bool{}
		for _, s := range sets {
			for _, p := range s.Prompts {
				if k := s.Name + "/" + TaskKey(p.Task); !seen[k] {
					seen[k] = true
					folds = append(folds, k)
				}
			}
		}
		sort.Strings(folds)
	default:
		return nil, fmt.Errorf("learned: cross-validate: unknown fold kind %q, want task, set or settask", by)
	}
	o.Holdout = 0
	var out []FoldResult
	for _, fold := range folds {
		in := func(s *dataset.Set, i int) bool {
			switch by {
			case "set":
				return s.Name == fold
			case "settask":
				return s.Name+"/"+TaskKey(s.Prompts[i].Task) == fold
			}
			return TaskKey(s.Prompts[i].Task) == fold
		}
		var trainSets, testSets []*dataset.Set
		for _, s := range sets {
			tr := s.Subset(func(i int) bool { return !in(s, i) })
			te := s.Subset(func(i int) bool { return in(s, i) })
			if len(tr.Prompts) > 0 {
				trainSets = append(trainSets, tr)
			}
			if len(te.Prompts) >= minPrompts {
				testSets = append(testSets, te)
			}
		}
		if len(testSets) == 0 || len(trainSets) == 0 {
			continue
		}
		r, err := Train(trainSets, o, io.Discard)
		if err != nil {
			return nil, err
		}
		for _, te := range testSets {
			rep := Evaluate(r, te, "fold", EvalOptions{Embeddings: o.Embeddings})
			if rep.Two == nil || rep.Two.QStrong == rep.Two.QWeak {
				continue
			}
			fr := FoldResult{Fold: fold, Set: te.Name, Prompts: rep.Two.Prompts, Strong: rep.Two.Strong, Weak: rep.Two.Weak,
				APGR: rep.Two.Router.APGR, Oracle: rep.Two.Oracle.APGR}
			if d := rep.Two.DifficultyCeiling; d != nil {
				fr.Ceiling = d.APGR
			}
			if rep.LogLoss != nil {
				fr.LogLoss, fr.PriorLogLoss = rep.LogLoss.Router, rep.LogLoss.Prior
			}
			if rep.Many != nil {
				fr.AIQ, fr.RandomAIQ = rep.Many.Router.AIQ, rep.Many.Random.AIQ
			}
			fmt.Fprintf(log, "fold %-22s %-26s %5d prompts  APGR %.3f (oracle %.3f)  log-loss %.4f vs %.4f\n",
				fr.Fold, fr.Set, fr.Prompts, fr.APGR, fr.Oracle, fr.LogLoss, fr.PriorLogLoss)
			out = append(out, fr)
		}
	}
	return out, nil
}

// FoldSummary averages fold results: the mean APGR over folds (each fold
// and set counts once), the prompt-weighted mean, and the log-loss gain
// over the per-model prior.
type FoldSummary struct {
	Folds    int
	MeanAPGR float64
	// MeanCeiling is the mean difficulty-ceiling APGR over the rows that
	// have one.
	MeanCeiling  float64
	WeightedAPGR float64
	LogLossGain  float64
	// AIQGain is the mean of router AIQ − random AIQ over the rows with a
	// many-model view.
	AIQGain float64
}

// Summarise computes the FoldSummary of results; keep selects the rows
// (nil: all).
func Summarise(results []FoldResult, keep func(FoldResult) bool) FoldSummary {
	var s FoldSummary
	var w, cells, many, ceilings float64
	for _, r := range results {
		if keep != nil && !keep(r) {
			continue
		}
		s.Folds++
		s.MeanAPGR += r.APGR
		if r.Ceiling > 0 {
			s.MeanCeiling += r.Ceiling
			ceilings++
		}
		s.WeightedAPGR += r.APGR * float64(r.Prompts)
		w += float64(r.Prompts)
		if r.AIQ > 0 {
			s.AIQGain += r.AIQ - r.RandomAIQ
			many++
		}
		if r.LogLoss > 0 {
			s.LogLossGain += (r.PriorLogLoss - r.LogLoss) * float64(r.Prompts)
			cells += float64(r.Prompts)
		}
	}
	s.MeanAPGR /= math.Max(float64(s.Folds), 1)
	s.MeanCeiling /= math.Max(ceilings, 1)
	s.WeightedAPGR /= math.Max(w, 1)
	s.LogLossGain /= math.Max(cells, 1)
	s.AIQGain /= math.Max(many, 1)
	return s
}

func printFolds(w io.Writer, by string, results []FoldResult) {
	fmt.Fprintf(w, "\nleave-one-%s-out (%d rows)\n", by, len(results))
	fmt.Fprintln(w, "| left out | set | prompts | strong vs weak | router APGR | difficulty ceiling APGR | oracle APGR | log-loss router / prior | AIQ router / random |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		ceiling := "–"
		if r.Ceiling > 0 {
			ceiling = fmt.Sprintf("%.3f", r.Ceiling)
		}
		fmt.Fprintf(w, "| %s | %s | %d | %s vs %s | %.3f | %s | %.3f | %.3f / %.3f | %.3f / %.3f |\n",
			r.Fold, r.Set, r.Prompts, r.Strong, r.Weak, r.APGR, ceiling, r.Oracle, r.LogLoss, r.PriorLogLoss, r.AIQ, r.RandomAIQ)
	}
	all := Summarise(results, nil)
	fmt.Fprintf(w, "mean APGR %.3f (prompt-weighted %.3f) over %d rows, difficulty ceiling %.3f; log-loss gain over prior %.4f; AIQ router − random %+.4f\n",
		all.MeanAPGR, all.WeightedAPGR, all.Folds, all.MeanCeiling, all.LogLossGain, all.AIQGain)
	rb := Summarise(results, func(r FoldResult) bool { return r.Set == "routerbench_0shot_subset" })
	if rb.Folds > 0 {
		fmt.Fprintf(w, "routerbench rows (GPT-4 vs Mixtral): mean APGR %.3f (prompt-weighted %.3f) over %d rows, difficulty ceiling %.3f\n",
			rb.MeanAPGR, rb.WeightedAPGR, rb.Folds, rb.MeanCeiling)
	}
}
