// Package dataset reads per-prompt model results in the routing data format
// (a folder with prompts.csv and scores.csv, see shared/data/routing/README.md)
// for training and evaluating the learned router. It fills in per-call costs
// from a price table when the source did not measure them, and splits prompts
// deterministically into training and validation parts.
package dataset

import (
	"encoding/csv"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Prompt is one prompt of a data set.
type Prompt struct {
	ID   string
	Task string
	Text string
}

// Set is one data set: prompts × models, with quality and cost per cell.
type Set struct {
	// Name is the folder's base name.
	Name string
	// Models are the model names in sorted order.
	Models []string
	// Prompts are in file order; only prompts with at least one score.
	Prompts []Prompt
	// Quality[i][m] is model m's quality on prompt i in [0,1]; NaN if missing.
	Quality [][]float64
	// Cost[i][m] is the USD cost of that call: measured, or estimated from a
	// price table (see EstimateCost). NaN if neither is known.
	Cost [][]float64
	// OutChars[i][m] is the answer length in characters; NaN if unknown.
	OutChars [][]float64
	// CostMeasured reports whether every known cost came from cost_usd.
	CostMeasured bool
}

// Price is a model's list price in USD per million tokens.
type Price struct {
	InputPerMTok, OutputPerMTok float64
}

// Token estimates used when a source gives no measured cost. They are
// deliberately simple and documented in docs/learned-router.md.
const (
	// CharsPerToken converts characters to tokens (about 4 for English text).
	CharsPerToken = 4.0
	// DefaultOutputTokens is the assumed answer length when output_chars is empty.
	DefaultOutputTokens = 200.0
)

// Largest values read from the data, far beyond real ones, so that sums
// and means over any number of prompts stay finite (a cost of 1e308 was
// accepted and made the mean cost +Inf, which JSON cannot encode).
const (
	// MaxCostUSD bounds cost_usd, per call.
	MaxCostUSD = 1e6
	// MaxOutputChars bounds output_chars.
	MaxOutputChars = 1e12
	// MaxPricePerMTok bounds a price table's USD per million tokens.
	MaxPricePerMTok = 1e6
)

// EstimateCost is the cost of one call from list prices: prompt tokens are
// len(prompt)/4, answer tokens are outChars/4 (DefaultOutputTokens when
// outChars is NaN).
func EstimateCost(p Price, promptChars int, outChars float64) float64 {
	in := float64(promptChars) / CharsPerToken
	out := DefaultOutputTokens
	if !math.IsNaN(outChars) {
		out = outChars / CharsPerToken
	}
	return (in*p.InputPerMTok + out*p.OutputPerMTok) / 1e6
}

// SizePrice guesses a list price from a parameter count in the model name
// ("...-7b-...", "70B") when no price table row matches, following the
// open-model price bands of shared/data/routing/prices. ok is false when the
// name carries no size.
func SizePrice(model string) (Price, bool) {
	b := ParamBillions(model)
	if b <= 0 {
		return Price{}, false
	}
	var p float64
	switch {
	case b <= 10:
		p = 0.2
	case b <= 20:
		p = 0.3
	case b <= 50:
		p = 0.6
	case b <= 80:
		p = 0.9
	default:
		p = 1.2
	}
	return Price{p, p}, true
}

// ParamBillions extracts "<n>b" (e.g. 7b, 8x7b → 56, 1.5b) from a model
// name; 0 if none.
func ParamBillions(model string) float64 {
	s := strings.ToLower(model)
	best := 0.0
	for i := 0; i < len(s); i++ {
		if s[i] != 'b' || i == 0 || (i+1 < len(s) && isAlnum(s[i+1])) {
			continue
		}
		j := i
		for j > 0 && (isDigit(s[j-1]) || s[j-1] == '.') {
			j--
		}
		if j == i {
			continue
		}
		v, err := strconv.ParseFloat(s[j:i], 64)
		if err != nil {
			continue
		}
		// "8x7b": multiply by the expert count.
		if j >= 2 && s[j-1] == 'x' {
			k := j - 1
			for k > 0 && isDigit(s[k-1]) {
				k--
			}
			if n, err := strconv.ParseFloat(s[k:j-1], 64); err == nil && k < j-1 {
				v *= n
			}
		}
		if v > best {
			best = v
		}
	}
	return best
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool { return isDigit(c) || (c >= 'a' && c <= 'z') }

// LoadPrices reads every *.csv in dir with columns model,
// input_usd_per_mtok and output_usd_per_mtok. A missing dir gives an empty
// table. A row whose prices are not numbers from 0 to MaxPricePerMTok is
// skipped.
func LoadPrices(dir string) (map[string]Price, error) {
	out := map[string]Price{}
	files, err := filepath.Glob(filepath.Join(dir, "*.csv"))
	if err != nil {
		return nil, fmt.Errorf("dataset: prices: %w", err)
	}
	sort.Strings(files)
	for _, f := range files {
		rows, err := readCSV(f)
		if err != nil {
			return nil, err
		}
		if len(rows) == 0 {
			continue
		}
		col := index(rows[0])
		mi, ii, oi := col["model"], col["input_usd_per_mtok"], col["output_usd_per_mtok"]
		if mi < 0 || ii < 0 || oi < 0 {
			continue
		}
		for _, r := range rows[1:] {
			in, err1 := strconv.ParseFloat(get(r, ii), 64)
			o, err2 := strconv.ParseFloat(get(r, oi), 64)
			if err1 != nil || err2 != nil || !(in >= 0 && in <= MaxPricePerMTok) || !(o >= 0 && o <= MaxPricePerMTok) {
				continue
			}
			out[get(r, mi)] = Price{in, o}
		}
	}
	return out, nil
}

// LookupPrice finds a model's price: exact name, then the name without an
// "org/" prefix, then SizePrice.
func LookupPrice(prices map[string]Price, model string) (Price, bool) {
	if p, ok := prices[model]; ok {
		return p, true
	}
	if i := strings.LastIndex(model, "/"); i >= 0 {
		if p, ok := prices[model[i+1:]]; ok {
			return p, true
		}
	}
	return SizePrice(model)
}

// Load reads the data set in dir. prices fills in costs where cost_usd is
// empty (nil: only measured costs and SizePrice guesses).
func Load(dir string, prices map[string]Price) (*Set, error) {
	prow, err := readCSV(filepath.Join(dir, "prompts.csv"))
	if err != nil {
		return nil, err
	}
	srow, err := readCSV(filepath.Join(dir, "scores.csv"))
	if err != nil {
		return nil, err
	}
	if len(prow) == 0 || len(srow) == 0 {
		return nil, fmt.Errorf("dataset: %s: empty csv", dir)
	}
	pc := index(prow[0])
	sc := index(srow[0])
	for _, c := range []string{"prompt_id", "prompt"} {
		if pc[c] < 0 {
			return nil, fmt.Errorf("dataset: %s: prompts.csv lacks column %q", dir, c)
		}
	}
	for _, c := range []string{"prompt_id", "model", "quality"} {
		if sc[c] < 0 {
			return nil, fmt.Errorf("dataset: %s: scores.csv lacks column %q", dir, c)
		}
	}
	modelSet := map[string]bool{}
	for _, r := range srow[1:] {
		modelSet[get(r, sc["model"])] = true
	}
	s := &Set{Name: filepath.Base(filepath.Clean(dir)), CostMeasured: true}
	for m := range modelSet {
		s.Models = append(s.Models, m)
	}
	sort.Strings(s.Models)
	mIdx := map[string]int{}
	for i, m := range s.Models {
		mIdx[m] = i
	}
	pIdx := map[string]int{}
	var all []Prompt
	for _, r := range prow[1:] {
		id := get(r, pc["prompt_id"])
		if _, dup := pIdx[id]; dup {
			continue
		}
		pIdx[id] = len(all)
		all = append(all, Prompt{ID: id, Task: get(r, pc["task"]), Text: get(r, pc["prompt"])})
	}
	nm := len(s.Models)
	q := make([][]float64, len(all))
	cost := make([][]float64, len(all))
	oc := make([][]float64, len(all))
	for i := range all {
		q[i], cost[i], oc[i] = nanRow(nm), nanRow(nm), nanRow(nm)
	}
	for row, r := range srow[1:] {
		i, ok := pIdx[get(r, sc["prompt_id"])]
		if !ok {
			continue
		}
		m := mIdx[get(r, sc["model"])]
		var err error
		// An empty cell is a missing value; anything else must be a
		// number in range, or training would learn from garbage (a NaN
		// quality made every weight NaN).
		if q[i][m], err = cell("quality", get(r, sc["quality"]), 0, 1); err == nil {
			if cost[i][m], err = cell("cost_usd", get(r, sc["cost_usd"]), 0, MaxCostUSD); err == nil {
				oc[i][m], err = cell("output_chars", get(r, sc["output_chars"]), 0, MaxOutputChars)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("dataset: %s: scores.csv line %d: %w", dir, row+2, err)
		}
	}
	for i, p := range all {
		keep := false
		for m := range nm {
			if !math.IsNaN(q[i][m]) {
				keep = true
			}
			if math.IsNaN(cost[i][m]) {
				if pr, ok := LookupPrice(prices, s.Models[m]); ok {
					cost[i][m] = EstimateCost(pr, len(p.Text), oc[i][m])
					s.CostMeasured = false
				}
			}
		}
		if keep {
			s.Prompts = append(s.Prompts, p)
			s.Quality = append(s.Quality, q[i])
			s.Cost = append(s.Cost, cost[i])
			s.OutChars = append(s.OutChars, oc[i])
		}
	}
	if len(s.Prompts) == 0 {
		return nil, fmt.Errorf("dataset: %s: no scored prompts", dir)
	}
	return s, nil
}

// IsValidation reports whether a prompt belongs to the validation part: a
// stable hash of its ID falls in the first frac of the hash range. The split
// is the same on every machine and run.
func IsValidation(promptID string, frac float64) bool {
	h := fnv.New64a()
	_, _ = io.WriteString(h, promptID)
	return float64(h.Sum64()%1_000_000) < frac*1_000_000
}

// Subset returns the set restricted to the prompts for which keep is true.
func (s *Set) Subset(keep func(i int) bool) *Set {
	out := &Set{Name: s.Name, Models: s.Models, CostMeasured: s.CostMeasured}
	for i := range s.Prompts {
		if keep(i) {
			out.Prompts = append(out.Prompts, s.Prompts[i])
			out.Quality = append(out.Quality, s.Quality[i])
			out.Cost = append(out.Cost, s.Cost[i])
			out.OutChars = append(out.OutChars, s.OutChars[i])
		}
	}
	return out
}

// Columns returns the set restricted to the models at cols, in that order,
// with its own copies of the quality, cost and answer-length rows.
func (s *Set) Columns(cols []int) *Set {
	out := &Set{Name: s.Name, Prompts: s.Prompts, CostMeasured: s.CostMeasured}
	for _, m := range cols {
		out.Models = append(out.Models, s.Models[m])
	}
	pick := func(rows [][]float64) [][]float64 {
		res := make([][]float64, len(rows))
		for i, r := range rows {
			res[i] = make([]float64, len(cols))
			for k, m := range cols {
				res[i][k] = r[m]
			}
		}
		return res
	}
	out.Quality, out.Cost, out.OutChars = pick(s.Quality), pick(s.Cost), pick(s.OutChars)
	return out
}

// ModelIndex is the column of model name, or -1.
func (s *Set) ModelIndex(name string) int {
	for i, m := range s.Models {
		if m == name {
			return i
		}
	}
	return -1
}

// DefaultPricesDir is the price table folder next to a data folder
// (DIR/../prices), as laid out in shared/data/routing.
func DefaultPricesDir(dataDir string) string {
	return filepath.Join(filepath.Dir(filepath.Clean(dataDir)), "prices")
}

func readCSV(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("dataset: read %s: %w", path, err)
	}
	return rows, nil
}

func index(header []string) map[string]int {
	m := map[string]int{"prompt_id": -1, "prompt": -1, "task": -1, "model": -1, "quality": -1,
		"cost_usd": -1, "output_chars": -1, "input_usd_per_mtok": -1, "output_usd_per_mtok": -1}
	for i, h := range header {
		m[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	return m
}

func get(r []string, i int) string {
	if i < 0 || i >= len(r) {
		return ""
	}
	return strings.TrimSpace(r[i])
}

// cell reads a numeric cell: NaN when empty (missing), else a finite
// number in [lo, hi].
func cell(column, s string, lo, hi float64) (float64, error) {
	if s == "" {
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v >= lo && v <= hi) {
		return 0, fmt.Errorf("%s %q is not a number from %g to %g", column, s, lo, hi)
	}
	return v, nil
}

func nanRow(n int) []float64 {
	r := make([]float64, n)
	for i := range r {
		r[i] = math.NaN()
	}
	return r
}
