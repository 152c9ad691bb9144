package learned

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/learned/dataset"
	"github.com/switchyard-gw/switchyard/internal/learned/metrics"
)

// FamilyKey normalises a model name for matching a data set's models to a
// router's reference models: lower case, no "org/" prefix, and without
// release tags that do not change the model (chat, instruct, preview,
// turbo, hf, version and date suffixes). "mistralai/mixtral-8x7b-chat" and
// "mixtral-8x7b-instruct-v0.1" share the key "mixtral-8x7b";
// "gpt-4-turbo" and "gpt-4-1106-preview" share "gpt-4". A version right
// after the name is the model's generation, not a release: "claude-v2"
// and "claude-2" share "claude-2".
func FamilyKey(model string) string {
	s := strings.ToLower(model)
	if i := strings.LastIndex(s, "/"); i >= 0 {
		s = s[i+1:]
	}
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '_' || r == ' ' || r == ':' })
	var keep []string
	for i, p := range parts {
		switch {
		case p == "chat" || p == "instruct" || p == "it" || p == "hf" || p == "preview" || p == "turbo":
			continue
		case i == 1 && len(p) >= 2 && p[0] == 'v' && isNumeric(p[1:]):
			p = p[1:] // claude-v2: the generation
		case len(p) >= 2 && p[0] == 'v' && isNumeric(p[1:]):
			continue
		case len(p) >= 4 && isNumeric(p):
			continue // dates like 1106, 0613, 20240229
		}
		keep = append(keep, p)
	}
	return strings.Join(keep, "-")
}

func isNumeric(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return true
}

// MapModels maps each of names to a reference model of r: an explicit
// entry of explicit, else the exact name, else the same FamilyKey. Unmapped
// names map to "".
func (r *Router) MapModels(names []string, explicit map[string]string) []string {
	keys := map[string]string{}
	for _, m := range r.models {
		if _, dup := keys[FamilyKey(m)]; !dup {
			keys[FamilyKey(m)] = m
		}
	}
	out := make([]string, len(names))
	for i, n := range names {
		switch {
		case explicit[n] != "":
			out[i] = explicit[n]
		case r.has(n):
			out[i] = n
		default:
			out[i] = keys[FamilyKey(n)]
		}
	}
	return out
}

// TwoModelResult is the two-model view of a router on a data set.
type TwoModelResult struct {
	Strong    string  `json:"strong"`
	Weak      string  `json:"weak"`
	StrongRef string  `json:"strong_ref"`
	WeakRef   string  `json:"weak_ref"`
	Prompts   int     `json:"prompts"`
	QStrong   float64 `json:"quality_strong"`
	QWeak     float64 `json:"quality_weak"`
	Router    TwoRow  `json:"router"`
	Random    TwoRow  `json:"random"`
	Oracle    TwoRow  `json:"oracle"`
	// DifficultyCeiling is what a router would score that knew each
	// prompt's exact difficulty (see difficultyCeiling); nil when the set
	// has fewer than two other models to measure it with.
	DifficultyCeiling *TwoRow         `json:"difficulty_ceiling,omitempty"`
	RouterCurve       []metrics.Point `json:"router_curve"`
}

// TwoRow holds APGR and CPT for one router.
type TwoRow struct {
	APGR  float64 `json:"apgr"`
	CPT50 float64 `json:"cpt50"`
	CPT80 float64 `json:"cpt80"`
}

func twoRow(c []metrics.Point) TwoRow {
	return TwoRow{APGR: round6(metrics.APGR(c)), CPT50: round6(metrics.CPT(c, 0.5)), CPT80: round6(metrics.CPT(c, 0.8))}
}

// completeRows are the prompts with a known quality for every one of cols.
func completeRows(s *dataset.Set, cols []int) []int {
	var rows []int
	for i := range s.Prompts {
		ok := true
		for _, c := range cols {
			if math.IsNaN(s.Quality[i][c]) {
				ok = false
			}
		}
		if ok {
			rows = append(rows, i)
		}
	}
	return rows
}

// EvalTwo evaluates the router as a strong/weak router on columns strong
// and weak of s. The router's score is the predicted quality gap
// q̂(strong) - q̂(weak) when both map to reference models; otherwise the
// predicted difficulty 1 - mean over reference models of q̂.
//
// The view needs prompts with both models' results and a gap between the
// two: with no such prompt (data from route export has one model per
// prompt), or the same mean quality on them, PGR, APGR and CPT are
// undefined, and EvalTwo returns instead why there is no view (a note for
// the report); why is "" when there is one.
func EvalTwo(r *Router, s *dataset.Set, strong, weak int, refs []string, preds [][]float64) (res TwoModelResult, why string) {
	rows := completeRows(s, []int{strong, weak})
	res = TwoModelResult{Strong: s.Models[strong], Weak: s.Models[weak], StrongRef: refs[strong], WeakRef: refs[weak], Prompts: len(rows)}
	if len(rows) == 0 {
		return res, fmt.Sprintf("no two-model view: no prompt has results of both %s and %s, so the two cannot be compared prompt by prompt (data from route export has one model per prompt)", res.Strong, res.Weak)
	}
	si, sok := r.index[refs[strong]]
	wi, wok := r.index[refs[weak]]
	n := len(rows)
	score, qs, qw, oracle := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for k, i := range rows {
		qs[k], qw[k] = s.Quality[i][strong], s.Quality[i][weak]
		oracle[k] = qs[k] - qw[k]
		p := preds[i]
		if sok && wok && refs[strong] != "" && refs[weak] != "" {
			score[k] = p[si] - p[wi]
		} else {
			var m float64
			for _, v := range p {
				m += v
			}
			score[k] = 1 - m/float64(len(p))
		}
		res.QStrong += qs[k] / float64(n)
		res.QWeak += qw[k] / float64(n)
	}
	res.QStrong, res.QWeak = round6(res.QStrong), round6(res.QWeak)
	c := metrics.TwoModelCurve(score, qs, qw)
	if metrics.PGR(c) == nil {
		return res, fmt.Sprintf("no two-model view: %s and %s have the same mean quality (%.3f) on the %d prompts with results of both, so there is no gap to recover (PGR, APGR and CPT are undefined)", res.Strong, res.Weak, res.QStrong, n)
	}
	res.Router = twoRow(c)
	res.Oracle = twoRow(metrics.TwoModelCurve(oracle, qs, qw))
	// The random router's expected curve is the straight line.
	res.Random = twoRow(metrics.TwoModelCurve(make([]float64, n), qs, qw))
	if d := difficultyCeiling(s, rows, strong, weak); d != nil {
		row := twoRow(metrics.TwoModelCurve(d, qs, qw))
		res.DifficultyCeiling = &row
	}
	res.RouterCurve = thin(c, 21)
	return res, ""
}

// difficultyCeiling scores rows of s as a router would that knew each
// prompt's difficulty exactly: β, the prompt's Rasch difficulty fitted from
// the results of every model other than strong and weak on that very
// prompt, with each model's ability the logit of its mean quality on the
// rows. The score is the gap the Rasch model then gives,
// σ(θ_strong − β) − σ(θ_weak − β), largest where the weak model is likely
// to fail and the strong one to succeed. No router sees those results at
// request time, so this bounds what any router that reduces a prompt to
// one difficulty number can reach. It is nil unless every row has at
// least two other models' results.
func difficultyCeiling(s *dataset.Set, rows []int, strong, weak int) []float64 {
	theta := make([]float64, len(s.Models))
	for m := range s.Models {
		var sum, n float64
		for _, i := range rows {
			if q := s.Quality[i][m]; !math.IsNaN(q) {
				sum += q
				n++
			}
		}
		theta[m] = logit(sum / math.Max(n, 1))
	}
	sig := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	out := make([]float64, len(rows))
	var th, q []float64
	for k, i := range rows {
		th, q = th[:0], q[:0]
		for m := range s.Models {
			if v := s.Quality[i][m]; m != strong && m != weak && !math.IsNaN(v) {
				th, q = append(th, theta[m]), append(q, v)
			}
		}
		if len(th) < 2 {
			return nil
		}
		b := metrics.RaschDifficulty(th, q)
		out[k] = sig(theta[strong]-b) - sig(theta[weak]-b)
	}
	return out
}

// thin keeps about k evenly spaced points of a curve for printing.
func thin(c []metrics.Point, k int) []metrics.Point {
	if len(c) <= k {
		return roundPts(c)
	}
	var out []metrics.Point
	for j := range k {
		out = append(out, c[j*(len(c)-1)/(k-1)])
	}
	return roundPts(out)
}

func roundPts(c []metrics.Point) []metrics.Point {
	out := make([]metrics.Point, len(c))
	for i, p := range c {
		out[i] = metrics.Point{X: roundSig(p.X, 6), Y: round6(p.Y)}
	}
	return out
}

// ModelRow is one model of the per-model view: how the model did on the
// prompts it has a result for, and how well the router predicted it there.
type ModelRow struct {
	Model string `json:"model"`
	// Ref is the model's reference model in the router; "" when none.
	Ref     string `json:"ref,omitempty"`
	Prompts int    `json:"prompts"`
	// Quality is the mean observed quality on the prompts; Predicted the
	// router's mean predicted quality q̂ on them (absent without a
	// reference model).
	Quality   float64  `json:"quality"`
	Predicted *float64 `json:"predicted,omitempty"`
	// CostUSD is the mean cost per call on those of the prompts with a
	// cost (absent when none has one).
	CostUSD *float64 `json:"cost_usd,omitempty"`
	// AUC is metrics.Concordance of the router's score with the observed
	// quality over the prompts: the chance that of two of them with
	// different quality the router scores the better one higher (0.5:
	// chance). Absent when every result has the same quality.
	AUC *float64 `json:"auc,omitempty"`
}

// perModel is the per-model view of s: one row per model with at least one
// result (see ModelRow). Unlike the two- and many-model views it needs no
// prompt with several models' results, so it is the view for data from
// route export (one model per prompt). cols[m] is the index in preds[i] of
// model m's reference model, -1 for none; the score ranked for the AUC is
// q̂ of that reference model, or for a model without one the prompt's
// predicted easiness (mean q̂ over all of the router's models).
func perModel(s *dataset.Set, refs []string, cols []int, preds [][]float64) []ModelRow {
	var out []ModelRow
	for m, name := range s.Models {
		var score, y []float64
		var pred, cost float64
		var nc int
		for i := range s.Prompts {
			q := s.Quality[i][m]
			if math.IsNaN(q) {
				continue
			}
			y = append(y, q)
			var v float64
			if j := cols[m]; j >= 0 {
				v = preds[i][j]
				pred += v
			} else {
				for _, p := range preds[i] {
					v += p
				}
				v /= float64(len(preds[i]))
			}
			score = append(score, v)
			if c := s.Cost[i][m]; !math.IsNaN(c) {
				cost += c
				nc++
			}
		}
		if len(y) == 0 {
			continue
		}
		row := ModelRow{Model: name, Ref: refs[m], Prompts: len(y)}
		var sum float64
		for _, q := range y {
			sum += q
		}
		row.Quality = round6(sum / float64(len(y)))
		if cols[m] >= 0 {
			v := round6(pred / float64(len(y)))
			row.Predicted = &v
		}
		if nc > 0 {
			v := roundSig(cost/float64(nc), 6)
			row.CostUSD = &v
		}
		if a, ok := metrics.Concordance(score, y); ok {
			a = round6(a)
			row.AUC = &a
		}
		out = append(out, row)
	}
	return out
}

// mostlySingle reports whether more than half of the prompts of s have the
// result of one model only, as in data from route export.
func mostlySingle(s *dataset.Set) bool {
	var single int
	for i := range s.Prompts {
		var k int
		for _, q := range s.Quality[i] {
			if !math.IsNaN(q) {
				k++
			}
		}
		if k == 1 {
			single++
		}
	}
	return 2*single > len(s.Prompts)
}

// ManyModelResult is the many-model view of a router on a data set.
type ManyModelResult struct {
	Models []string `json:"models"`
	Refs   []string `json:"refs"`
	// CostFromRef lists the models with no cost in the data (no cost_usd,
	// no price) costed at their reference model's mean cost per call in the
	// router's training data; Unpriced the models left out of the view
	// because neither is known.
	CostFromRef []string        `json:"cost_from_reference,omitempty"`
	Unpriced    []string        `json:"unpriced,omitempty"`
	Prompts     int             `json:"prompts"`
	BestSingle  string          `json:"best_single"`
	BestQuality float64         `json:"best_single_quality"`
	BestCost    float64         `json:"best_single_cost"`
	Router      ManyRow         `json:"router"`
	Random      ManyRow         `json:"random"`
	Oracle      ManyRow         `json:"oracle"`
	RouterCurve []metrics.Point `json:"router_curve"`
}

// ManyRow holds the many-model metrics of one router: mean cost per call to
// reach 95% of the best single model's quality (Reached false if it never
// does), the saving against always calling that model (0 when that model
// costs nothing: there is nothing to save), and AIQ.
type ManyRow struct {
	Cost95   float64 `json:"cost_at_95"`
	Saving95 float64 `json:"saving_at_95"`
	Reached  bool    `json:"reached_95"`
	AIQ      float64 `json:"aiq"`
}

func manyRow(pts []metrics.Point, target, bestCost float64) ManyRow {
	row := ManyRow{AIQ: round6(metrics.AIQ(pts))}
	if c, ok := metrics.CostToReach(pts, target); ok {
		row.Reached, row.Cost95 = true, roundSig(c, 6)
		if bestCost > 0 {
			row.Saving95 = round6(1 - c/bestCost)
		}
	}
	return row
}

// EvalMany sweeps the willingness to pay λ of the policy "pick the model
// with the largest q̂ - λ·cost" (cost: the model's mean cost per call on the
// set) and reports the resulting cost/quality curve. Models without a
// reference model are predicted by their set mean quality shifted by the
// prompt's predicted difficulty (see docs). The oracle sweeps the same
// policy with the true qualities and costs; "random" is the hull of the
// single models (mixing them at random). With no prompt that has every
// model's result and cost there is no curve, and EvalMany returns instead
// why there is no view (a note for the report); why is "" when there is one.
func EvalMany(s *dataset.Set, refs []string, r *Router, preds [][]float64) (res ManyModelResult, why string) {
	nm := len(s.Models)
	cols := make([]int, nm)
	for m := range cols {
		cols[m] = m
	}
	var rows []int
	for _, i := range completeRows(s, cols) {
		ok := true
		for m := range nm {
			if math.IsNaN(s.Cost[i][m]) {
				ok = false
			}
		}
		if ok {
			rows = append(rows, i)
		}
	}
	res = ManyModelResult{Models: s.Models, Refs: refs, Prompts: len(rows)}
	n := float64(len(rows))
	if len(rows) == 0 {
		return res, fmt.Sprintf("no many-model view: no prompt has the results and costs of all %d models (%s)", nm, strings.Join(s.Models, ", "))
	}
	meanQ, meanC := make([]float64, nm), make([]float64, nm)
	for _, i := range rows {
		for m := range nm {
			meanQ[m] += s.Quality[i][m] / n
			meanC[m] += s.Cost[i][m] / n
		}
	}
	best := 0
	var singles []metrics.Point
	for m := range nm {
		singles = append(singles, metrics.Point{X: meanC[m], Y: meanQ[m]})
		if meanQ[m] > meanQ[best] || (meanQ[m] == meanQ[best] && meanC[m] < meanC[best]) {
			best = m
		}
	}
	res.BestSingle, res.BestQuality, res.BestCost = s.Models[best], round6(meanQ[best]), roundSig(meanC[best], 6)
	target := 0.95 * meanQ[best]
	// Predicted quality per prompt and set model.
	qhat := make([][]float64, len(rows))
	for k, i := range rows {
		qhat[k] = make([]float64, nm)
		var diff float64
		for _, v := range preds[i] {
			diff += v
		}
		diff /= float64(len(preds[i]))
		var prior float64
		for _, h := range r.file.Models {
			prior += h.MeanQuality
		}
		prior /= float64(len(r.file.Models))
		for m := range nm {
			if j, ok := r.index[refs[m]]; ok && refs[m] != "" {
				qhat[k][m] = preds[i][j]
			} else {
				qhat[k][m] = sigmoid(logit(meanQ[m]) + logit(diff) - logit(prior))
			}
		}
	}
	sweep := func(q func(k, m int) float64) []metrics.Point {
		scale := 0.0
		for m := range nm {
			scale += meanC[m] / float64(nm)
		}
		var pts []metrics.Point
		for step := -1; step <= 160; step++ {
			lambda := 0.0 // step -1: quality only
			if step >= 0 {
				lambda = math.Pow(10, -3+float64(step)*6/160) / scale
			}
			var cq, cc float64
			for k, i := range rows {
				bm, bv := 0, math.Inf(-1)
				for m := range nm {
					v := q(k, m) - lambda*meanC[m]
					if v > bv || (v == bv && meanC[m] < meanC[bm]) {
						bm, bv = m, v
					}
				}
				cq += s.Quality[i][bm]
				cc += s.Cost[i][bm]
			}
			pts = append(pts, metrics.Point{X: cc / n, Y: cq / n})
		}
		sort.Slice(pts, func(a, b int) bool { return pts[a].X < pts[b].X })
		return pts
	}
	rc := sweep(func(k, m int) float64 { return qhat[k][m] })
	oc := sweep(func(k, m int) float64 { return s.Quality[rows[k]][m] })
	res.Router = manyRow(rc, target, meanC[best])
	res.Oracle = manyRow(oc, target, meanC[best])
	res.Random = manyRow(singles, target, meanC[best])
	res.RouterCurve = thin(metrics.Hull(rc), 21)
	return res, ""
}

func logit(p float64) float64 {
	p = math.Min(1-1e-4, math.Max(1e-4, p))
	return math.Log(p / (1 - p))
}

// pricedView prepares s for the many-model view, which needs every call's
// cost: a model with no cost on any prompt (no cost_usd and no price
// table entry) is costed at its reference model's mean cost per call when
// it has one, and left out otherwise. ok is false when fewer than two
// models remain.
func pricedView(r *Router, s *dataset.Set, refs []string) (view *dataset.Set, viewRefs, fromRef, unpriced []string, ok bool) {
	var cols []int
	refCost := map[int]float64{}
	for m, name := range s.Models {
		priced := false
		for i := range s.Prompts {
			if !math.IsNaN(s.Cost[i][m]) {
				priced = true
				break
			}
		}
		if !priced {
			j, mapped := r.index[refs[m]]
			if !mapped || refs[m] == "" || r.file.Models[j].MeanCostUSD <= 0 {
				unpriced = append(unpriced, name)
				continue
			}
			refCost[len(cols)] = r.file.Models[j].MeanCostUSD
			fromRef = append(fromRef, name)
		}
		cols = append(cols, m)
		viewRefs = append(viewRefs, refs[m])
	}
	if len(cols) < 2 {
		return nil, nil, fromRef, unpriced, false
	}
	if len(cols) == len(s.Models) && len(refCost) == 0 {
		return s, refs, nil, nil, true
	}
	view = s.Columns(cols)
	for k, c := range refCost {
		for i := range view.Cost {
			view.Cost[i][k] = c
		}
	}
	return view, viewRefs, fromRef, unpriced, true
}

func (r *Router) has(name string) bool { _, ok := r.index[name]; return ok }

// HasModel reports whether name is one of the router's reference models.
func (r *Router) HasModel(name string) bool { return r.has(name) }
