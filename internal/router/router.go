// Package router turns a request into a plan: the ordered deployments to try,
// with the reasons. Routers make plans; they never send requests, except that
// the classify and cascade policies ask a model (through Options.Call, which
// the gateway runs through the executor). The gateway builds a Router from
// each config version and asks it for a Decision per request; docs/routing.md
// describes every policy.
package router

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/learned"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/router/rules"
	"github.com/switchyard-gw/switchyard/internal/tokens"
)

// ErrUnknownModel is returned when the request names neither a route nor a
// deployment.
var ErrUnknownModel = errors.New("router: unknown model")

// NoCapableError says that no deployment of a route can serve the request.
type NoCapableError struct {
	Route string
	Need  []string // capabilities the request needs
	// Window, when not zero, is the context window the request needs:
	// deployments that serve everything else it needs are all too small
	// (explain's answer for what serving refuses as context_length_exceeded).
	Window int
	// Missing, when not empty, is the one capability of Need that every
	// deployment considered lacked (the first each lacked): what to ask
	// for otherwise, named as a request field by the caller's error.
	Missing string
}

func (e *NoCapableError) Error() string {
	return fmt.Sprintf("router: no deployment of %q supports %s", e.Route, strings.Join(e.Need, ", "))
}

// WindowMessage is the client's message for an error with Window set, as
// serving words its context_length_exceeded.
func (e *NoCapableError) WindowMessage() string {
	return fmt.Sprintf("the request does not fit the context window of any deployment for %q: it needs %d tokens (input and max_tokens)", e.Route, e.Window)
}

// Decision is a plan with the reasons for it.
type Decision struct {
	// Route is the route (or deployment) the client named.
	Route string
	// Policy is the policy of that route ("direct" for a deployment).
	Policy string
	// Reason says why the plan is what it is, for headers and logs: one
	// "route: why" clause per route the decision passed through, joined by
	// "; ". It never holds prompt text.
	Reason string
	// Deployments are the deployments to try, in order.
	Deployments []string
	// Skipped lists deployments left out, with why ("sim-small: no vision").
	Skipped []string
	// Arm is the weighted arm chosen, when a weighted route was on the path.
	Arm string
	// ArmRoute is the weighted route Arm is an arm of, and ArmOf maps
	// each deployment that route planned to its arm's name: what a filter
	// of the plan made after routing (require_params) needs to move the
	// request to an arm that can serve it.
	ArmRoute string
	ArmOf    map[string]string
	// NoCache is set when a route the decision passed through (the one
	// named, a nested target, a tier or tenant redirect) has cache: false.
	NoCache bool
	// Cascade is set when the plan is a cascade: the gateway calls the
	// stages (Deployments, in order) one at a time, non-streaming, and
	// escalates while Cascade.Check fails.
	Cascade *Cascade
	// InputTokens is the estimated input size the decision used.
	InputTokens int
	// Features are the request features the decision used.
	Features *Features
}

// Options are the router's injected dependencies; all are optional.
type Options struct {
	// Health returns a deployment's learned state (executor.Health); nil
	// means no observations (every deployment looks the same).
	Health func(deployment string) executor.Health
	// Rand returns a number in [0,1), for exploration and unsticky arms;
	// default math/rand/v2. It must be safe for concurrent use.
	Rand func() float64
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Call sends a request to one deployment (the classifier, the judge) and
	// returns its answer; the gateway runs it through the executor. Without
	// it classify routes use their default and judge checks fail.
	Call func(ctx context.Context, deployment string, req *llm.Request) (*llm.Response, error)
	// Embed embeds text with one deployment (a learned route's
	// embedding_deployment); the gateway calls the deployment's provider.
	// Without it learned routes decide from the text alone.
	Embed func(ctx context.Context, deployment, text string) ([]float32, error)
	// Tokens counts input tokens; default tokens.NewCounter().
	Tokens *tokens.Counter
	// LoadLearned loads a learned router file; default learned.Load.
	LoadLearned func(path string) (*learned.Router, error)
}

// Router plans requests over one config version. Safe for concurrent use.
type Router struct {
	cfg  *config.Config
	opts Options
	// per route name
	conds       map[string][]*rules.Condition
	classifiers map[string]*classifier
	cascades    map[string]*cascadeSpec
	learned     map[string]*learned.Router
	// exact is true when some route's policy looks at the input size
	// (anything but a plain fallback chain); only then are prompts counted
	// with the tokenizer, whose tables cost ~20 MB of memory and a few µs a
	// request. Otherwise the byte estimate of tokens.Input is used.
	exact bool
}

// New builds a router over cfg, which must have passed validation: it
// compiles the rules conditions and check regexes and loads learned router
// files.
func New(cfg *config.Config, opts Options) (*Router, error) {
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Tokens == nil {
		opts.Tokens = tokens.NewCounter()
	}
	if opts.LoadLearned == nil {
		opts.LoadLearned = learned.Load
	}
	r := &Router{
		cfg: cfg, opts: opts,
		conds:       make(map[string][]*rules.Condition),
		classifiers: make(map[string]*classifier),
		cascades:    make(map[string]*cascadeSpec),
		learned:     make(map[string]*learned.Router),
	}
	var comp *rules.Compiler
	files := make(map[string]*learned.Router)
	for i := range cfg.Routes {
		rt := &cfg.Routes[i]
		switch rt.Policy {
		case config.PolicyRules:
			if comp == nil {
				var err error
				if comp, err = rules.NewCompiler(); err != nil {
					return nil, fmt.Errorf("router: %w", err)
				}
			}
			conds := make([]*rules.Condition, len(rt.Rules))
			for j, ru := range rt.Rules {
				c, err := comp.Compile(ru.When)
				if err != nil {
					return nil, fmt.Errorf("router: route %q rules[%d]: %w", rt.Name, j, err)
				}
				conds[j] = c
			}
			r.conds[rt.Name] = conds
		case config.PolicyClassify:
			r.classifiers[rt.Name] = newClassifier(rt)
		case config.PolicyCascade:
			spec, err := newCascadeSpec(rt)
			if err != nil {
				return nil, fmt.Errorf("router: route %q: %w", rt.Name, err)
			}
			r.cascades[rt.Name] = spec
		case config.PolicyLearned:
			path := rt.Learned.RouterFile
			lr, ok := files[path]
			if !ok {
				var err error
				if lr, err = opts.LoadLearned(path); err != nil {
					return nil, fmt.Errorf("router: route %q: %w", rt.Name, err)
				}
				files[path] = lr
			}
			// A reference model the file lacks would rank its target last
			// with no prediction (quality NaN) and no word of why.
			for _, d := range slices.Sorted(maps.Keys(rt.Learned.RefModels)) {
				if ref := rt.Learned.RefModels[d]; !lr.HasModel(ref) {
					return nil, fmt.Errorf("router: route %q: learned.ref_models.%s: reference model %q is not in %s (it has %s)", rt.Name, d, ref, path, strings.Join(lr.ReferenceModels(), ", "))
				}
			}
			if e := rt.Learned.EmbeddingDeployment; e != "" {
				if _, dims := lr.Embedding(); dims == 0 {
					return nil, fmt.Errorf("router: route %q: learned.embedding_deployment %q is set but %s was trained without embedding features (route train --embed-url)", rt.Name, e, path)
				}
			}
			r.learned[rt.Name] = lr
		}
	}
	for _, rt := range cfg.Routes {
		if rt.Policy != config.PolicyFallback || len(rt.Tiers) > 0 || len(rt.Tenants) > 0 {
			r.exact = true
		}
	}
	return r, nil
}

// Config returns the config the router plans over.
func (r *Router) Config() *config.Config { return r.cfg }

// Plan returns the decision for req, computing its features once.
func (r *Router) Plan(ctx context.Context, req *llm.Request, info Info) (Decision, error) {
	counter := r.opts.Tokens
	if !r.exact {
		counter = nil
	}
	f := FeaturesOf(req, info, counter)
	return r.PlanFeatures(ctx, f, Needs(req))
}

// PlanFeatures returns the decision for a request with the given features
// that needs the given capabilities.
func (r *Router) PlanFeatures(ctx context.Context, f *Features, need []string) (Decision, error) {
	return r.plan(ctx, f, need, false)
}

// plan makes the decision; dry (explain) calls no model.
func (r *Router) plan(ctx context.Context, f *Features, need []string, dry bool) (Decision, error) {
	model := f.Model
	dec := Decision{Route: model, InputTokens: f.InputTokens, Features: f}
	if d, ok := r.cfg.Deployment(model); ok {
		dec.Policy, dec.Reason = "direct", "model names a deployment"
		if m := missing(d, need); m != "" {
			return dec, &NoCapableError{Route: model, Need: need, Missing: m}
		}
		if dry && d.ContextWindow > 0 && f.InputTokens+f.MaxTokens > d.ContextWindow {
			// What the executor will refuse (context_length_exceeded).
			return dec, &NoCapableError{Route: model, Need: append(slices.Clone(need), windowNeed(f)), Window: f.InputTokens + f.MaxTokens}
		}
		dec.Deployments = []string{d.Name}
		return dec, nil
	}
	rt, ok := r.cfg.Route(model)
	if !ok {
		return dec, fmt.Errorf("%w %q", ErrUnknownModel, model)
	}
	dec.Policy = rt.Policy
	p := &planner{r: r, ctx: ctx, f: f, dec: &dec, seen: make(map[string]bool), dry: dry}
	p.route(rt, need, 0)
	dec.Reason = strings.Join(p.reasons, "; ")
	if len(dec.Skipped) > 0 {
		dec.Reason += "; skipped " + strings.Join(dec.Skipped, ", ")
	}
	if len(dec.Deployments) == 0 {
		var small []string
		for _, s := range dec.Skipped {
			if name, ok := strings.CutSuffix(s, ": context window"); ok {
				small = append(small, name)
			}
		}
		if len(small) > 0 && !dry {
			// Capable deployments, all too small: the executor skips them
			// and answers 400 context_length_exceeded, as a client of an
			// OpenAI-style API expects for a request too long for the model.
			dec.Deployments = small
			return dec, nil
		}
		nc := &NoCapableError{Route: rt.Name, Need: need, Missing: commonMissing(dec.Skipped)}
		if len(small) > 0 {
			nc.Need, nc.Window = append(slices.Clone(need), windowNeed(f)), f.InputTokens+f.MaxTokens
		}
		return dec, nc
	}
	if dec.Cascade != nil && len(dec.Cascade.Stages) < 2 {
		dec.Cascade = nil // one capable stage: nothing to escalate to
	}
	return dec, nil
}

// commonMissing is the capability that every skipped deployment lacked,
// from planner.unfit's "NAME: no CAPABILITY" reasons, or "" when they
// lacked different ones or were skipped for another reason.
func commonMissing(skipped []string) string {
	var common string
	for _, s := range skipped {
		_, why, _ := strings.Cut(s, ": ")
		m, ok := strings.CutPrefix(why, "no ")
		if !ok || common != "" && m != common {
			return ""
		}
		common = m
	}
	return common
}

// windowNeed names the context window a request of f needs, as a
// NoCapableError lists it.
func windowNeed(f *Features) string {
	return fmt.Sprintf("a context window of %d tokens", f.InputTokens+f.MaxTokens)
}

// PlanFor returns the decision for a request naming model that needs the
// given capabilities, without request features (embeddings requests need
// config.CapEmbeddings only, moderations config.CapModeration). The
// caller's tenant and tier entries on the route apply as they do for chat,
// and so do the requires of the routes passed; every policy's targets are
// then expanded in config order, as a fallback chain.
func (r *Router) PlanFor(model string, need []string, info Info) (Decision, error) {
	if d, ok := r.cfg.Deployment(model); ok {
		dec := Decision{Route: model, Policy: "direct", Reason: "model names a deployment"}
		if missing(d, need) != "" {
			return dec, &NoCapableError{Route: model, Need: need}
		}
		dec.Deployments = []string{d.Name}
		return dec, nil
	}
	rt, ok := r.cfg.Route(model)
	if !ok {
		return Decision{Route: model}, fmt.Errorf("%w %q", ErrUnknownModel, model)
	}
	dec := Decision{Route: rt.Name, Policy: rt.Policy}
	f := &Features{Model: model, Tenant: info.TenantID, Tier: info.Tier, Key: info.KeyID, Headers: info.Headers}
	p := &planner{r: r, f: f, dec: &dec, seen: make(map[string]bool)}
	sub, to, all := p.redirect(rt, need)
	if sub == nil {
		p.deployment(to, all, false)
	} else {
		for _, m := range p.flatten(sub, withRequires(all, sub)) {
			p.deployment(m.name, m.need, false)
		}
		p.reasons = append(p.reasons, "all targets in config order")
	}
	dec.Reason = strings.Join(p.reasons, "; ")
	if len(dec.Deployments) == 0 {
		return dec, &NoCapableError{Route: rt.Name, Need: need}
	}
	if len(dec.Skipped) > 0 {
		dec.Reason += "; skipped " + strings.Join(dec.Skipped, ", ")
	}
	return dec, nil
}

func missing(d *config.Deployment, need []string) string {
	for _, c := range need {
		if !d.Capabilities.Has(c) {
			return c
		}
	}
	return ""
}

// Needs lists the capabilities a request needs from a deployment.
func Needs(req *llm.Request) []string {
	need := make([]string, 0, 4)
	need = append(need, config.CapChat)
	if req.Stream {
		need = append(need, config.CapStreaming)
	}
	if req.HasImages {
		need = append(need, config.CapVision)
	}
	if req.HasTools {
		need = append(need, config.CapTools)
	}
	if req.JSONMode {
		need = append(need, config.CapJSONMode)
	}
	return need
}
