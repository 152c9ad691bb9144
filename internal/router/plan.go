package router

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/learned"
)

// maxDepth bounds route-to-route recursion; validation rejects cycles, so
// this only guards a config that skipped validation.
const maxDepth = 16

// defaultOutputTokens is the output size cost estimates assume when the
// request sets no max_tokens.
const defaultOutputTokens = 256

// defaultExplore is the fastest policy's exploration share.
const defaultExplore = 0.05

// planner builds one decision.
type planner struct {
	r       *Router
	ctx     context.Context
	f       *Features
	dec     *Decision
	seen    map[string]bool
	reasons []string
	// dry is set by Explain: no model is called.
	dry bool
}

func (p *planner) why(route, format string, args ...any) {
	if len(args) == 0 && !strings.Contains(format, "%") {
		// A fixed reason ("fallback chain", every request of such a
		// route) needs no formatting: Sprintf would copy it.
		p.reasons = append(p.reasons, route+": "+format)
		return
	}
	p.reasons = append(p.reasons, route+": "+fmt.Sprintf(format, args...))
}

// route appends the deployments of rt, as its policy orders them; need is
// what the request needs plus the requires of the routes on the way here.
func (p *planner) route(rt *config.Route, need []string, depth int) {
	if depth > maxDepth {
		return
	}
	rt, to, need := p.redirect(rt, need)
	if rt == nil {
		p.deployment(to, need, true)
		return
	}
	need = withRequires(need, rt)
	switch rt.Policy {
	case config.PolicyRules:
		p.rules(rt, need, depth)
	case config.PolicyCheapest:
		p.cheapest(rt, need)
	case config.PolicyFastest:
		p.fastest(rt, need)
	case config.PolicyWeighted:
		p.weighted(rt, need, depth)
	case config.PolicyCascade:
		p.cascade(rt, need)
	case config.PolicyClassify:
		p.classify(rt, need, depth)
	case config.PolicyLearned:
		p.learned(rt, need)
	default:
		p.why(rt.Name, "fallback chain")
		for _, t := range rt.Targets {
			p.target(t, need, depth)
		}
	}
}

// redirect follows rt's tenant and tier entries for the request's caller (a
// tenant's entry wins): the route that serves the request instead, or nil
// and the deployment named. need gains the requires of every route passed,
// so a redirect never escapes what the route the client named requires.
func (p *planner) redirect(rt *config.Route, need []string) (*config.Route, string, []string) {
	p.pass(rt)
	for hop := 0; hop < maxDepth; hop++ {
		to, who := "", ""
		if t := p.f.Tenant; t != "" && rt.Tenants[t] != "" {
			to, who = rt.Tenants[t], "tenant "+t
		} else if t := p.f.Tier; t != "" && rt.Tiers[t] != "" {
			to, who = rt.Tiers[t], "tier "+t
		}
		if to == "" {
			break
		}
		p.why(rt.Name, "%s uses %s", who, to)
		need = withRequires(need, rt)
		sub, ok := p.r.cfg.Route(to)
		if !ok {
			return nil, to, need
		}
		rt = sub
		p.pass(rt)
	}
	return rt, "", need
}

// pass notes a route the decision passes through: every route is entered
// through redirect, so one with cache: false anywhere on the way keeps the
// request out of the response cache.
func (p *planner) pass(rt *config.Route) {
	if rt.Cache != nil && !*rt.Cache {
		p.dec.NoCache = true
	}
}

// withRequires returns need plus the capabilities rt requires, leaving
// need's backing array alone.
func withRequires(need []string, rt *config.Route) []string {
	if len(rt.Requires) == 0 {
		return need
	}
	return append(slices.Clip(need), rt.Requires...)
}

// target appends a route's plan or a deployment.
func (p *planner) target(name string, need []string, depth int) {
	if sub, ok := p.r.cfg.Route(name); ok {
		p.route(sub, need, depth+1)
		return
	}
	// A deployment whose context window is too small for the request is
	// left out and named in the reason, in live plans as in Explain: a
	// weighted route then credits the arm that answers, not one whose
	// deployment the executor would skip (it still checks, as a safety net).
	p.deployment(name, need, true)
}

// deployment appends a deployment unless it is already planned or cannot
// serve the request; fit also requires the context window to hold the input
// and max_tokens.
func (p *planner) deployment(name string, need []string, fit bool) bool {
	d, ok := p.r.cfg.Deployment(name)
	if !ok || p.seen[name] {
		return false
	}
	p.seen[name] = true
	if why := p.unfit(d, need, fit); why != "" {
		p.dec.Skipped = append(p.dec.Skipped, name+": "+why)
		return false
	}
	p.dec.Deployments = append(p.dec.Deployments, name)
	return true
}

func (p *planner) unfit(d *config.Deployment, need []string, fit bool) string {
	if m := missing(d, need); m != "" {
		return "no " + m
	}
	if fit && p.f != nil && d.ContextWindow > 0 && p.f.InputTokens+p.f.MaxTokens > d.ContextWindow {
		return "context window"
	}
	return ""
}

// member is a deployment a route reaches, with what a request sent to it
// through that route needs.
type member struct {
	name string
	need []string
}

// flatten lists the deployments a route's targets reach, routes expanded in
// config order, each deployment once. A nested route's tenant and tier
// entries are followed and its requires added to the need of the
// deployments reached through it, as when the route is planned itself.
func (p *planner) flatten(rt *config.Route, need []string) []member {
	var out []member
	seen := make(map[string]bool)
	add := func(name string, need []string) {
		if !seen[name] {
			seen[name] = true
			out = append(out, member{name, need})
		}
	}
	var walk func(rt *config.Route, need []string, depth int)
	walk = func(rt *config.Route, need []string, depth int) {
		if depth > maxDepth {
			return
		}
		for _, e := range targetsOf(rt) {
			sub, ok := p.r.cfg.Route(e)
			if !ok {
				add(e, need)
				continue
			}
			sub, to, subNeed := p.redirect(sub, need)
			if sub == nil {
				add(to, subNeed)
				continue
			}
			walk(sub, withRequires(subNeed, sub), depth+1)
		}
	}
	walk(rt, need, 0)
	return out
}

// targetsOf lists every name a route may send to, in config order.
func targetsOf(rt *config.Route) []string {
	out := slices.Clone(rt.Targets)
	for _, ru := range rt.Rules {
		out = append(out, ru.Target)
	}
	for _, a := range rt.Arms {
		out = append(out, a.Target)
	}
	if rt.Classifier != nil {
		for _, l := range sortedLabels(rt.Classifier.Labels) {
			out = append(out, rt.Classifier.Labels[l])
		}
	}
	if rt.Default != "" {
		out = append(out, rt.Default)
	}
	return out
}

// capable returns the candidate deployments of rt able to serve the
// request (context window included), recording the others as skipped.
func (p *planner) capable(rt *config.Route, need []string) []*config.Deployment {
	ms := p.flatten(rt, need)
	out := make([]*config.Deployment, 0, len(ms))
	for _, m := range ms {
		n := m.name
		d, ok := p.r.cfg.Deployment(n)
		if !ok || p.seen[n] {
			continue
		}
		if why := p.unfit(d, m.need, true); why != "" {
			p.seen[n] = true
			p.dec.Skipped = append(p.dec.Skipped, n+": "+why)
			continue
		}
		if rt.Policy == config.PolicyCheapest && d.Quality < rt.MinQuality {
			p.seen[n] = true
			p.dec.Skipped = append(p.dec.Skipped, n+": quality "+strconv.FormatFloat(d.Quality, 'g', -1, 64))
			continue
		}
		out = append(out, d)
	}
	return out
}

func (p *planner) rules(rt *config.Route, need []string, depth int) {
	conds := p.r.conds[rt.Name]
	for i, c := range conds {
		ok, err := c.Eval(p.f)
		name := rt.Rules[i].Name
		if name == "" {
			name = "rules[" + strconv.Itoa(i) + "]"
		}
		if err != nil {
			p.why(rt.Name, "%s could not be evaluated", name)
			continue
		}
		if ok {
			p.why(rt.Name, "%s matched -> %s", name, rt.Rules[i].Target)
			p.target(rt.Rules[i].Target, need, depth)
			p.target(rt.Default, need, depth)
			return
		}
	}
	p.why(rt.Name, "no rule matched -> default %s", rt.Default)
	p.target(rt.Default, need, depth)
}

// health returns a deployment's learned state, or the zero state.
func (p *planner) health(name string) executor.Health {
	if p.r.opts.Health == nil {
		return executor.Health{State: "closed"}
	}
	return p.r.opts.Health(name)
}

// penalty orders deployments by health: healthy, failing, half-open, open.
func penalty(h executor.Health) int {
	switch {
	case h.State == "open":
		return 3
	case h.State == "half_open":
		return 2
	case h.ConsecutiveFailures > 0:
		return 1
	}
	return 0
}

// outputTokens is the output size cost estimates assume for d.
func (p *planner) outputTokens(d *config.Deployment) int {
	out := p.f.MaxTokens
	if out <= 0 {
		out = defaultOutputTokens
	}
	return min(out, d.MaxOutputTokens)
}

// answerTokens is the answer length the fastest policy times on d: the
// request's max_tokens, else d's observed mean answer, else the default.
func (p *planner) answerTokens(d *config.Deployment, h executor.Health) float64 {
	if p.f.MaxTokens <= 0 && h.OutputTokens > 0 {
		return min(h.OutputTokens, float64(d.MaxOutputTokens))
	}
	return float64(p.outputTokens(d))
}

// cost is the estimated USD cost of the request on d.
func (p *planner) cost(d *config.Deployment) float64 {
	return (float64(p.f.InputTokens)*d.Price.InputPerMTok + float64(p.outputTokens(d))*d.Price.OutputPerMTok) / 1e6
}

func (p *planner) cheapest(rt *config.Route, need []string) {
	type cand struct {
		d    *config.Deployment
		cost float64
		pen  int
		lat  int64
	}
	ds := p.capable(rt, need)
	hs := make([]executor.Health, len(ds))
	for i, d := range ds {
		hs[i] = p.health(d.Name)
	}
	// Latency ties are broken on one measure for every candidate, as the
	// fastest policy picks it (speedBasis): never one deployment's time to
	// first token against another's whole non-streaming answer. One not
	// yet observed on it counts 0, so it is tried and measured.
	basis := speedBasis(hs, p.f.Stream)
	cs := make([]cand, len(ds))
	for i, d := range ds {
		h := hs[i]
		lat := h.Latency
		if basis == byStream {
			lat = h.TTFT
		}
		cs[i] = cand{d, p.cost(d), penalty(h), int64(lat)}
	}
	slices.SortStableFunc(cs, func(a, b cand) int {
		return cmp.Or(cmp.Compare(a.cost, b.cost), cmp.Compare(a.pen, b.pen), cmp.Compare(a.lat, b.lat))
	})
	for _, c := range cs {
		p.deployment(c.d.Name, need, true)
	}
	if len(cs) > 0 {
		p.why(rt.Name, "cheapest capable %s at $%.6f", cs[0].d.Name, cs[0].cost)
	} else {
		p.why(rt.Name, "no capable deployment")
	}
}

// speed is how the fastest policy compares deployments: every candidate
// on one measure, so that unlike numbers are never ranked against each
// other.
type speed int

const (
	// byLatency is the observed duration of non-streaming calls.
	byLatency speed = iota
	// byStream is the observed time to first token, plus the expected
	// answer's length at the observed token rate when every candidate
	// measured on it has a rate.
	byStream
)

// speedBasis picks the measure a fastest route ranks hs on: the one more
// candidates have been observed on, the request's own kind (streamed or
// not) on a tie. A candidate not observed on it ranks as unmeasured.
func speedBasis(hs []executor.Health, stream bool) speed {
	var lat, str int
	for _, h := range hs {
		if h.Latency > 0 {
			lat++
		}
		if h.TTFT > 0 {
			str++
		}
	}
	if str > lat || (str == lat && stream) {
		return byStream
	}
	return byLatency
}

func (p *planner) fastest(rt *config.Route, need []string) {
	type cand struct {
		d     *config.Deployment
		pen   int
		known bool
		score float64
	}
	byInFlight := rt.Fastest.By == "in_flight"
	ds := p.capable(rt, need)
	hs := make([]executor.Health, len(ds))
	for i, d := range ds {
		hs[i] = p.health(d.Name)
	}
	basis := speedBasis(hs, p.f.Stream)
	// The answer's generation time counts only when every candidate
	// measured by stream has a token rate: TTFT alone against TTFT plus
	// generation would be unlike numbers again.
	rates := true
	for _, h := range hs {
		if h.TTFT > 0 && h.TokensPerSec <= 0 {
			rates = false
		}
	}
	cs := make([]cand, len(ds))
	for i, d := range ds {
		h := hs[i]
		c := cand{d: d, pen: penalty(h)}
		switch {
		case byInFlight:
			c.known, c.score = true, float64(h.InFlight)
		case basis == byStream && h.TTFT > 0:
			c.known, c.score = true, h.TTFT.Seconds()
			if rates {
				c.score += p.answerTokens(d, h) / h.TokensPerSec
			}
		case basis == byLatency && h.Latency > 0:
			c.known, c.score = true, h.Latency.Seconds()
		}
		cs[i] = c
	}
	slices.SortStableFunc(cs, func(a, b cand) int {
		if a.pen != b.pen {
			return cmp.Compare(a.pen, b.pen)
		}
		if a.known != b.known {
			if a.known {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.score, b.score)
	})
	explore := defaultExplore
	if rt.Fastest.Explore != nil {
		explore = *rt.Fastest.Explore
	}
	what, by := "fastest", ""
	if byInFlight {
		what = "fewest in flight"
	} else if slices.ContainsFunc(cs, func(c cand) bool { return c.known }) {
		switch {
		case basis == byLatency:
			by = " by non-streaming latency"
		case rates:
			by = " by time to first token and token rate"
		default:
			by = " by time to first token"
		}
	}
	if len(cs) > 1 && explore > 0 && p.r.opts.Rand() < explore {
		j := 1 + int(p.r.opts.Rand()*float64(len(cs)-1))
		j = min(j, len(cs)-1)
		c := cs[j]
		copy(cs[1:j+1], cs[:j])
		cs[0] = c
		what, by = "exploring", ""
	}
	for _, c := range cs {
		p.deployment(c.d.Name, need, true)
	}
	if len(cs) > 0 {
		p.why(rt.Name, "%s %s%s", what, cs[0].d.Name, by)
	} else {
		p.why(rt.Name, "no capable deployment")
	}
}

// stickyValue returns the request field a weighted route hashes, and its
// name for reasons.
func (p *planner) stickyValue(rt *config.Route) (string, string) {
	s := rt.Sticky
	if s == "" {
		s = "key"
	}
	switch {
	case s == "key":
		return p.stickyKey(), s
	case s == "tenant":
		return p.f.Tenant, s
	case s == "user":
		if u := p.f.Metadata["user_id"]; u != "" {
			return u, s
		}
		if u := p.f.Metadata["user"]; u != "" {
			return u, s
		}
		if p.f.Headers != nil {
			return p.f.Headers.Get("X-Switchyard-User"), s
		}
	case len(s) > 7 && s[:7] == "header:":
		if p.f.Headers != nil {
			return p.f.Headers.Get(s[7:]), s
		}
	case len(s) > 9 && s[:9] == "metadata:":
		return p.f.Metadata[s[9:]], s
	}
	return "", s
}

// stickyKey is the caller's key id, or for a caller without one (a static
// key of server.api_keys, or any key on an open gateway) the SHA-256 digest
// of the key it sent: as stable as an id, and only hashed again to pick
// an arm, never kept or shown. "" when the request carries no key.
func (p *planner) stickyKey() string {
	if p.f.Key != "" || p.f.Headers == nil {
		return p.f.Key
	}
	key, ok := auth.FromHeader(p.f.Headers)
	if !ok {
		return ""
	}
	h := auth.Hash(key)
	return "static:" + string(h[:])
}

// stickyPoint maps a route and a sticky value to a point in [0,1) that is
// the same on every replica and across restarts.
func stickyPoint(route, value string) float64 {
	h := fnv.New64a()
	h.Write([]byte(route))
	h.Write([]byte{0})
	h.Write([]byte(value))
	// FNV's high bits barely move for keys that differ in their last bytes;
	// the splitmix64 finalizer spreads them.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

func (p *planner) weighted(rt *config.Route, need []string, depth int) {
	total := 0.0
	for _, a := range rt.Arms {
		total += a.Weight
	}
	value, field := p.stickyValue(rt)
	var x float64
	how := "sticky " + field
	if value == "" || field == "none" {
		x, how = p.r.opts.Rand(), "random"
	} else {
		x = stickyPoint(rt.Name, value)
	}
	pick := len(rt.Arms) - 1
	acc := 0.0
	for i, a := range rt.Arms {
		acc += a.Weight / total
		if x < acc {
			pick = i
			break
		}
	}
	armName := func(a config.Arm) string {
		if a.Name != "" {
			return a.Name
		}
		return a.Target
	}
	name := armName(rt.Arms[pick])
	setArm := p.dec.Arm == ""
	if setArm {
		p.dec.Arm, p.dec.ArmRoute, p.dec.ArmOf = name, rt.Name, make(map[string]string, len(rt.Arms))
	}
	// planned notes which arm the deployments from the n-th on came from.
	planned := func(n int, arm string) {
		if setArm {
			for _, dep := range p.dec.Deployments[n:] {
				p.dec.ArmOf[dep] = arm
			}
		}
	}
	p.why(rt.Name, "arm %s (%s)", name, how)
	before := len(p.dec.Deployments)
	p.target(rt.Arms[pick].Target, need, depth)
	planned(before, name)
	served := len(p.dec.Deployments) > before
	rest := make([]int, 0, len(rt.Arms)-1)
	for i := range rt.Arms {
		if i != pick {
			rest = append(rest, i)
		}
	}
	slices.SortStableFunc(rest, func(i, j int) int { return cmp.Compare(rt.Arms[j].Weight, rt.Arms[i].Weight) })
	for _, i := range rest {
		n := len(p.dec.Deployments)
		p.target(rt.Arms[i].Target, need, depth)
		planned(n, armName(rt.Arms[i]))
		if !served && len(p.dec.Deployments) > n {
			// The picked arm cannot serve this request (a capability it
			// lacks): the request is the arm's that answers it,
			// so an A/B comparison counts it there.
			served = true
			if setArm {
				p.dec.Arm = armName(rt.Arms[i])
			}
			p.why(rt.Name, "arm %s cannot serve this request; arm %s", name, armName(rt.Arms[i]))
		}
	}
}

func (p *planner) cascade(rt *config.Route, need []string) {
	first := len(p.dec.Deployments) == 0 && p.dec.Cascade == nil
	var stages []string
	for _, m := range p.flatten(rt, need) {
		if p.deployment(m.name, m.need, true) {
			stages = append(stages, m.name)
		}
	}
	if first && len(stages) > 0 {
		p.dec.Cascade = &Cascade{Route: rt.Name, Stages: stages, spec: p.r.cascades[rt.Name], call: p.r.opts.Call}
		n := strconv.Itoa(len(stages)) + " stages"
		if len(stages) == 1 {
			n = "1 stage (" + stages[0] + ")"
		}
		p.why(rt.Name, "cascade over %s, checked by %s", n, p.r.cascades[rt.Name].describe())
		return
	}
	p.why(rt.Name, "cascade stages as fallbacks")
}

func (p *planner) classify(rt *config.Route, need []string, depth int) {
	cl := p.r.classifiers[rt.Name]
	call := p.r.opts.Call
	if p.dry {
		call = nil
	}
	label, why := cl.label(p.ctx, call, p.f)
	to := rt.Default
	if label != "" {
		to = rt.Classifier.Labels[label]
		p.why(rt.Name, "classified %s -> %s (%s)", label, to, why)
	} else {
		p.why(rt.Name, "%s -> default %s", why, to)
	}
	p.target(to, need, depth)
	p.target(rt.Default, need, depth)
}

// defaultEmbeddingTimeout bounds a learned route's embedding call.
const defaultEmbeddingTimeout = 300 * time.Millisecond

// embedding returns the prompt's embedding for a learned route with an
// embedding deployment, or nil and why the decision uses the text alone
// ("" when the route has no embedding deployment).
func (p *planner) embedding(rt *config.Route, lr *learned.Router, prompt string) ([]float32, string) {
	dep := rt.Learned.EmbeddingDeployment
	_, dims := lr.Embedding()
	if dep == "" || dims == 0 {
		return nil, ""
	}
	if p.dry || p.r.opts.Embed == nil {
		return nil, "embedding " + dep + " not called; text only"
	}
	timeout := rt.Learned.EmbeddingTimeout.D()
	if timeout <= 0 {
		timeout = defaultEmbeddingTimeout
	}
	ctx := p.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	emb, err := p.r.opts.Embed(ctx, dep, learned.EmbeddingText(prompt))
	switch {
	case err != nil && ctx.Err() == context.DeadlineExceeded:
		return nil, "embedding " + dep + " timed out after " + timeout.String() + "; text only"
	case err != nil:
		return nil, "embedding " + dep + " failed; text only"
	case len(emb) != dims:
		return nil, fmt.Sprintf("embedding %s has %d dimensions, the router %d; text only", dep, len(emb), dims)
	}
	return emb, ""
}

func (p *planner) learned(rt *config.Route, need []string) {
	lr := p.r.learned[rt.Name]
	ds := p.capable(rt, need)
	cands := make([]learned.Candidate, 0, len(ds))
	var unknown []string
	for _, d := range ds {
		ref := rt.Learned.RefModels[d.Name]
		if ref == "" && lr.HasModel(d.Name) {
			ref = d.Name // a router trained on this gateway's export
		}
		if ref == "" {
			ref = lr.MapModels([]string{d.Model}, nil)[0]
		}
		if ref == "" {
			unknown = append(unknown, d.Name)
			continue
		}
		cands = append(cands, learned.Candidate{Name: d.Name, RefModel: ref, InputPerMTok: d.Price.InputPerMTok, OutputPerMTok: d.Price.OutputPerMTok})
	}
	prompt := p.f.LastUser
	target := learned.Target{Quality: rt.Learned.Quality, WillingnessToPay: rt.Learned.WillingnessToPay}
	emb, embWhy := p.embedding(rt, lr, prompt)
	if embWhy != "" {
		p.why(rt.Name, "%s", embWhy)
	}
	ranked := lr.RankWith(prompt, emb, cands, target)
	for _, c := range ranked {
		p.deployment(c.Name, need, true)
	}
	for _, n := range unknown {
		p.deployment(n, need, true)
	}
	switch {
	case len(ranked) == 0:
		p.why(rt.Name, "no deployment maps to a reference model; config order")
	case target.WillingnessToPay > 0:
		p.why(rt.Name, "learned best value %s (quality %.2f, $%.6f)", ranked[0].Name, ranked[0].Quality, ranked[0].CostUSD)
	case ranked[0].MeetsGoal:
		p.why(rt.Name, "learned cheapest %s predicted quality %.2f >= %.2f ($%.6f)", ranked[0].Name, ranked[0].Quality, target.Quality, ranked[0].CostUSD)
	default:
		p.why(rt.Name, "learned: none predicted to reach %.2f; best %s (%.2f)", target.Quality, ranked[0].Name, ranked[0].Quality)
	}
}
