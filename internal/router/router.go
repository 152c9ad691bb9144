// Package router turns a request into a plan: the ordered deployments to try.
// Routers make plans; they never send requests (the executor does). The
// gateway builds a Router from each config version and asks it for a
// Decision per request.
package router

import (
	"errors"
	"fmt"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

// ErrUnknownModel is returned when the request names neither a route nor a
// deployment.
var ErrUnknownModel = errors.New("router: unknown model")

// NoCapableError says that no deployment of a route can serve the request.
type NoCapableError struct {
	Route string
	Need  []string // capabilities the request needs
}

func (e *NoCapableError) Error() string {
	return fmt.Sprintf("router: no deployment of %q supports %s", e.Route, strings.Join(e.Need, ", "))
}

// Decision is a plan with the reasons for it.
type Decision struct {
	// Route is the route (or deployment) the client named.
	Route string
	// Policy is the policy of that route.
	Policy string
	// Reason says why the plan is what it is, for headers and logs.
	Reason string
	// Deployments are the deployments to try, in order.
	Deployments []string
	// Skipped lists deployments left out, with why ("sim-small: no vision").
	Skipped []string
}

// Router plans requests over one config version. Safe for concurrent use.
type Router struct {
	cfg *config.Config
}

// New builds a router over cfg, which must have passed validation.
func New(cfg *config.Config) *Router {
	return &Router{cfg: cfg}
}

// Plan returns the decision for req.
func (r *Router) Plan(req *llm.Request) (Decision, error) {
	return r.PlanFor(req.Model, Needs(req))
}

// PlanFor returns the decision for a request naming model that needs the
// given capabilities (embeddings requests need config.CapEmbeddings only).
func (r *Router) PlanFor(model string, need []string) (Decision, error) {
	if d, ok := r.cfg.Deployment(model); ok {
		dec := Decision{Route: model, Policy: "direct", Reason: "model names a deployment"}
		if missing := r.missing(d, need); missing != "" {
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
	seen := make(map[string]bool)
	r.expand(rt, need, &dec, seen, 0)
	if len(dec.Deployments) == 0 {
		return dec, &NoCapableError{Route: rt.Name, Need: need}
	}
	dec.Reason = "fallback chain"
	if len(dec.Skipped) > 0 {
		dec.Reason += "; skipped " + strings.Join(dec.Skipped, ", ")
	}
	return dec, nil
}

// expand appends the route's targets in order, recursing into routes.
// Validation rejects cycles; depth and seen guard anyway.
func (r *Router) expand(rt *config.Route, need []string, dec *Decision, seen map[string]bool, depth int) {
	if depth > 16 {
		return
	}
	for _, t := range rt.Targets {
		if sub, ok := r.cfg.Route(t); ok {
			r.expand(sub, need, dec, seen, depth+1)
			continue
		}
		d, ok := r.cfg.Deployment(t)
		if !ok || seen[d.Name] {
			continue
		}
		seen[d.Name] = true
		if m := r.missing(d, need); m != "" {
			dec.Skipped = append(dec.Skipped, d.Name+": no "+m)
			continue
		}
		dec.Deployments = append(dec.Deployments, d.Name)
	}
}

func (r *Router) missing(d *config.Deployment, need []string) string {
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
