package learned

import (
	"cmp"
	"math"
	"slices"

	"github.com/switchyard-gw/switchyard/internal/learned/dataset"
)

// Candidate is one deployment a route may send the request to.
type Candidate struct {
	// Name identifies the deployment; Choose returns names.
	Name string
	// RefModel is the router's reference model standing in for this
	// deployment (config field); it must be one of ReferenceModels.
	RefModel string
	// CostPerCall is the expected USD cost of one call. When zero, the cost
	// is estimated from the per-million-token prices below, the prompt's
	// length (4 characters a token) and the reference model's mean answer
	// length.
	CostPerCall                 float64
	InputPerMTok, OutputPerMTok float64
}

// Target is what a route asks of the router; set exactly one field.
type Target struct {
	// Quality in [0,1]: call the cheapest deployment whose predicted quality
	// (probability of a good answer) is at least this.
	Quality float64
	// WillingnessToPay in USD per good answer: call the deployment with the
	// largest WillingnessToPay·q̂ - cost.
	WillingnessToPay float64
}

// Choice is one candidate with the numbers behind its rank.
type Choice struct {
	Name      string
	Quality   float64 // predicted
	CostUSD   float64 // expected per call
	MeetsGoal bool    // predicted quality meets Target.Quality (always true for willingness to pay)
}

// Choose ranks candidates for prompt, best first. With a quality target:
// the candidates predicted to meet it, cheapest first, then the rest by
// predicted quality (highest first) as fall-backs. With a willingness to
// pay: by WillingnessToPay·q̂ - cost. Candidates whose RefModel is unknown
// go last, in their given order. Ties keep the given order.
func (r *Router) Choose(prompt string, candidates []Candidate, target Target) []string {
	s := r.pool.Get().(*scratch)
	defer r.pool.Put(s)
	s.choices = r.rank(prompt, candidates, target, s, s.choices[:0])
	out := make([]string, len(s.choices))
	for i, c := range s.choices {
		out[i] = c.Name
	}
	return out
}

// Rank is Choose with the predicted quality and cost of each candidate.
func (r *Router) Rank(prompt string, candidates []Candidate, target Target) []Choice {
	return r.RankWith(prompt, nil, candidates, target)
}

// RankWith is Rank with the prompt's embedding (see PredictWith).
func (r *Router) RankWith(prompt string, emb []float32, candidates []Candidate, target Target) []Choice {
	s := r.pool.Get().(*scratch)
	defer r.pool.Put(s)
	s.in = emb
	defer func() { s.in = nil }()
	return r.rank(prompt, candidates, target, s, make([]Choice, 0, len(candidates)))
}

// rank appends the ranked candidates to out; it does not allocate when
// out has room for them.
func (r *Router) rank(prompt string, candidates []Candidate, target Target, s *scratch, out []Choice) []Choice {
	r.represent(prompt, s)
	for _, c := range candidates {
		i, ok := r.index[c.RefModel]
		if !ok {
			continue
		}
		ch := Choice{Name: c.Name, Quality: r.headProb(i, s), CostUSD: c.CostPerCall}
		if ch.CostUSD == 0 {
			p := dataset.Price{InputPerMTok: c.InputPerMTok, OutputPerMTok: c.OutputPerMTok}
			ch.CostUSD = dataset.EstimateCost(p, len(prompt), r.file.Models[i].OutputTokens*dataset.CharsPerToken)
		}
		out = append(out, ch)
	}
	known := out
	if w := target.WillingnessToPay; w > 0 {
		for i := range known {
			known[i].MeetsGoal = true
		}
		slices.SortStableFunc(known, func(x, y Choice) int {
			return cmp.Compare(w*y.Quality-y.CostUSD, w*x.Quality-x.CostUSD)
		})
	} else {
		for i := range known {
			known[i].MeetsGoal = known[i].Quality >= target.Quality
		}
		slices.SortStableFunc(known, func(x, y Choice) int {
			switch {
			case x.MeetsGoal != y.MeetsGoal:
				if x.MeetsGoal {
					return -1
				}
				return 1
			case x.MeetsGoal:
				return cmp.Compare(x.CostUSD, y.CostUSD)
			}
			return cmp.Compare(y.Quality, x.Quality)
		})
	}
	for _, c := range candidates {
		if _, ok := r.index[c.RefModel]; !ok {
			out = append(out, Choice{Name: c.Name, Quality: math.NaN(), CostUSD: c.CostPerCall})
		}
	}
	return out
}
