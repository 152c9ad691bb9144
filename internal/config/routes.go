package config

import (
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/router/rules"
)

// policyValidator checks what is specific to one route policy; the checks
// common to every route (name, known targets, cycles) run before it.
type policyValidator func(v *routeValidator, path string, r *Route)

// policyValidatorFor returns the checks for a policy, or false for an
// unknown policy. A new policy adds a case here (and its fields to Route).
func policyValidatorFor(policy string) (policyValidator, bool) {
	switch policy {
	case PolicyFallback:
		return validateFallback, true
	case PolicyRules:
		return validateRules, true
	case PolicyCheapest:
		return validateCheapest, true
	case PolicyFastest:
		return validateFastest, true
	case PolicyWeighted:
		return validateWeighted, true
	case PolicyCascade:
		return validateCascade, true
	case PolicyClassify:
		return validateClassify, true
	case PolicyLearned:
		return validateLearned, true
	}
	return nil, false
}

// knownPolicies is listed in the unknown-policy message.
const knownPolicies = "fallback, rules, cheapest, fastest, weighted, cascade, classify or learned"

// routeValidator is the validator with what route checks look up.
type routeValidator struct {
	*validator
	c           *Config
	deployments map[string]int
	routes      map[string]int
	compiler    *rules.Compiler
	compileErr  error
}

// compile type-checks a CEL condition, building the environment once.
func (v *routeValidator) compile(expr string) error {
	if v.compiler == nil && v.compileErr == nil {
		v.compiler, v.compileErr = rules.NewCompiler()
	}
	if v.compileErr != nil {
		return v.compileErr
	}
	_, err := v.compiler.Compile(expr)
	return err
}

// deployment reports a problem unless name is a deployment.
func (v *routeValidator) deployment(path, name string) {
	switch _, ok := v.deployments[name]; {
	case name == "":
		v.add(path, "required")
	case !ok:
		v.add(path, "unknown deployment %q", name)
	}
}

// validateFallback requires at least one target and no target twice: a
// request must never visit the same deployment twice in one fallback list.
func validateFallback(v *routeValidator, path string, r *Route) {
	if len(r.Targets) == 0 {
		v.add(path+".targets", "a fallback route needs at least one target")
	}
	noDuplicates(v, path, r.Targets)
}

func noDuplicates(v *routeValidator, path string, targets []string) {
	seen := make(map[string]int, len(targets))
	for i, t := range targets {
		if j, dup := seen[t]; dup {
			v.add(fmt.Sprintf("%s.targets[%d]", path, i), "%q is already targets[%d]", t, j)
			continue
		}
		seen[t] = i
	}
}

func validateRules(v *routeValidator, path string, r *Route) {
	if len(r.Rules) == 0 {
		v.add(path+".rules", "a rules route needs at least one rule")
	}
	if r.Default == "" {
		v.add(path+".default", "required: where a request that matches no rule goes")
	}
	for i, ru := range r.Rules {
		p := fmt.Sprintf("%s.rules[%d]", path, i)
		if ru.Target == "" {
			v.add(p+".target", "required")
		}
		if strings.TrimSpace(ru.When) == "" {
			v.add(p+".when", "required: a CEL condition")
			continue
		}
		if err := v.compile(ru.When); err != nil {
			v.add(p+".when", "%s", strings.TrimPrefix(err.Error(), "rules: "))
		}
	}
}

func candidates(v *routeValidator, path string, r *Route) {
	if len(r.Targets) == 0 {
		v.add(path+".targets", "a %s route needs at least one target", r.Policy)
	}
	noDuplicates(v, path, r.Targets)
}

func validateCheapest(v *routeValidator, path string, r *Route) {
	candidates(v, path, r)
	if !(r.MinQuality >= 0 && r.MinQuality <= 1) {
		v.add(path+".min_quality", "must be between 0 and 1, got %v", r.MinQuality)
		return
	}
	if r.MinQuality > 0 && len(r.Targets) > 0 {
		for _, d := range v.c.reach(r, v.routes) {
			if v.c.Deployments[d].Quality >= r.MinQuality {
				return
			}
		}
		v.add(path+".min_quality", "no target deployment has quality ≥ %v", r.MinQuality)
	}
}

func validateFastest(v *routeValidator, path string, r *Route) {
	candidates(v, path, r)
	switch r.Fastest.By {
	case "", "ttft", "in_flight":
	default:
		v.add(path+".fastest.by", "unknown measure %q (want ttft or in_flight)", r.Fastest.By)
	}
	if e := r.Fastest.Explore; e != nil && !(*e >= 0 && *e < 1) {
		v.add(path+".fastest.explore", "must be at least 0 and less than 1, got %v", *e)
	}
}

func validateWeighted(v *routeValidator, path string, r *Route) {
	if len(r.Arms) == 0 {
		v.add(path+".arms", "a weighted route needs at least one arm")
	}
	names := make(map[string]int, len(r.Arms))
	for i, a := range r.Arms {
		p := fmt.Sprintf("%s.arms[%d]", path, i)
		if a.Target == "" {
			v.add(p+".target", "required")
		}
		if !(a.Weight > 0) || a.Weight > 1e9 {
			v.add(p+".weight", "must be a positive number, got %v", a.Weight)
		}
		name := a.Name
		if name == "" {
			name = a.Target
		}
		if j, dup := names[name]; dup {
			v.add(p+".name", "arm %q is already arms[%d]", name, j)
		}
		names[name] = i
	}
	switch s := r.Sticky; {
	case s == "", s == "key", s == "user", s == "tenant", s == "none":
	case strings.HasPrefix(s, "header:") && validHeaderName(s[len("header:"):]):
	case strings.HasPrefix(s, "metadata:") && len(s) > len("metadata:"):
	default:
		v.add(path+".sticky", "unknown sticky field %q (want key, user, tenant, none, header:NAME or metadata:NAME)", s)
	}
}

func validateCascade(v *routeValidator, path string, r *Route) {
	if len(r.Targets) < 2 {
		v.add(path+".targets", "a cascade route needs at least two stages, cheapest first")
	}
	noDuplicates(v, path, r.Targets)
	if len(r.Checks) == 0 {
		v.add(path+".checks", "a cascade route needs at least one check")
	}
	for i, ch := range r.Checks {
		p := fmt.Sprintf("%s.checks[%d]", path, i)
		n := 0
		for _, set := range []bool{ch.JSON, ch.Schema, ch.Regex != "", ch.MinLength != 0, ch.NoRefusal, ch.Judge != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			v.add(p, "set exactly one of json, schema, regex, min_length, no_refusal, judge (got %d)", n)
			continue
		}
		switch {
		case ch.Regex != "":
			if _, err := regexp.Compile(ch.Regex); err != nil {
				v.add(p+".regex", "%v", err)
			}
		case ch.MinLength < 0:
			v.add(p+".min_length", "must be positive, got %d", ch.MinLength)
		case ch.MinLength > MaxCheckMinLength:
			v.add(p+".min_length", "must be at most %d, got %d", MaxCheckMinLength, ch.MinLength)
		case ch.Judge != nil:
			v.deployment(p+".judge.deployment", ch.Judge.Deployment)
			if m := ch.Judge.MinScore; m != nil && !(*m >= 0 && *m <= 10) {
				v.add(p+".judge.min_score", "must be between 0 and 10, got %v", *m)
			}
			if ch.Judge.Timeout < 0 {
				v.add(p+".judge.timeout", "must not be negative, got %s", ch.Judge.Timeout)
			}
		}
	}
}

func validateClassify(v *routeValidator, path string, r *Route) {
	if r.Default == "" {
		v.add(path+".default", "required: where a request goes when the classifier is slow, fails or answers no known label")
	}
	cl := r.Classifier
	if cl == nil {
		v.add(path+".classifier", "required for a classify route")
		return
	}
	v.deployment(path+".classifier.deployment", cl.Deployment)
	if len(cl.Labels) == 0 {
		v.add(path+".classifier.labels", "at least one label is required")
	}
	for _, l := range sortedKeys(cl.Labels) {
		if strings.TrimSpace(l) == "" || strings.ContainsAny(l, "\n\r") {
			v.add(path+".classifier.labels", "label %q must be a non-empty single line", l)
		}
	}
	if cl.Timeout < 0 {
		v.add(path+".classifier.timeout", "must not be negative, got %s", cl.Timeout)
	}
	if cl.CacheSize < 0 {
		v.add(path+".classifier.cache_size", "must not be negative, got %d", cl.CacheSize)
	}
	v.atMost(path+".classifier.cache_size", int64(cl.CacheSize), MaxClassifierCacheSize)
}

func validateLearned(v *routeValidator, path string, r *Route) {
	candidates(v, path, r)
	l := r.Learned
	if l == nil {
		v.add(path+".learned", "required for a learned route (router_file and quality or willingness_to_pay)")
		return
	}
	if l.RouterFile == "" {
		v.add(path+".learned.router_file", "required")
	}
	switch {
	case (l.Quality != 0) == (l.WillingnessToPay != 0):
		v.add(path+".learned", "set exactly one of quality and willingness_to_pay")
	case !(l.Quality >= 0 && l.Quality <= 1):
		v.add(path+".learned.quality", "must be between 0 and 1, got %v", l.Quality)
	case !(l.WillingnessToPay >= 0) || math.IsInf(l.WillingnessToPay, 1):
		// An infinite one would make every cost difference equal (NaN
		// or Inf scores), so the choice fell to the cheapest.
		v.add(path+".learned.willingness_to_pay", "must be a positive finite number, got %v", l.WillingnessToPay)
	}
	for _, d := range sortedKeys(l.RefModels) {
		v.deployment(path+".learned.ref_models", d)
	}
	if e := l.EmbeddingDeployment; e != "" {
		v.embeddingDeployment(v.c, path+".learned.embedding_deployment", e)
	}
	if l.EmbeddingTimeout < 0 {
		v.add(path+".learned.embedding_timeout", "must not be negative, got %s", l.EmbeddingTimeout)
	}
}

// embeddingDeployment checks name is a deployment that serves embeddings.
func (v *validator) embeddingDeployment(c *Config, path, name string) {
	for i := range c.Deployments {
		if d := &c.Deployments[i]; d.Name == name {
			if !d.Capabilities.Has(CapEmbeddings) {
				v.add(path, "deployment %q does not serve embeddings (set capabilities.embeddings: true)", name)
			}
			return
		}
	}
	v.add(path, "unknown deployment %q", name)
}

// fieldsOf lists the policy-specific fields a route sets, for the check
// that a route sets no field its policy ignores.
func fieldsOf(r *Route) map[string]bool {
	return map[string]bool{
		"targets":     len(r.Targets) > 0,
		"default":     r.Default != "",
		"rules":       len(r.Rules) > 0,
		"min_quality": r.MinQuality != 0,
		"fastest":     r.Fastest != Fastest{},
		"arms":        len(r.Arms) > 0,
		"sticky":      r.Sticky != "",
		"checks":      len(r.Checks) > 0,
		"classifier":  r.Classifier != nil,
		"learned":     r.Learned != nil,
	}
}

// policyFields are the fields each policy reads.
func policyFields(policy string) []string {
	switch policy {
	case PolicyFallback:
		return []string{"targets"}
	case PolicyRules:
		return []string{"rules", "default"}
	case PolicyCheapest:
		return []string{"targets", "min_quality"}
	case PolicyFastest:
		return []string{"targets", "fastest"}
	case PolicyWeighted:
		return []string{"arms", "sticky"}
	case PolicyCascade:
		return []string{"targets", "checks"}
	case PolicyClassify:
		return []string{"classifier", "default"}
	case PolicyLearned:
		return []string{"targets", "learned"}
	}
	return nil
}

// edge is one name a route refers to, with the YAML path of the reference.
type edge struct {
	path, name string
}

// edges lists every route or deployment the route may send a request to.
func edges(path string, r *Route) []edge {
	var out []edge
	for j, t := range r.Targets {
		out = append(out, edge{fmt.Sprintf("%s.targets[%d]", path, j), t})
	}
	for j, ru := range r.Rules {
		if ru.Target != "" {
			out = append(out, edge{fmt.Sprintf("%s.rules[%d].target", path, j), ru.Target})
		}
	}
	for j, a := range r.Arms {
		if a.Target != "" {
			out = append(out, edge{fmt.Sprintf("%s.arms[%d].target", path, j), a.Target})
		}
	}
	if r.Default != "" {
		out = append(out, edge{path + ".default", r.Default})
	}
	if r.Classifier != nil {
		for _, l := range sortedKeys(r.Classifier.Labels) {
			out = append(out, edge{fmt.Sprintf("%s.classifier.labels.%s", path, l), r.Classifier.Labels[l]})
		}
	}
	for _, k := range sortedKeys(r.Tiers) {
		out = append(out, edge{fmt.Sprintf("%s.tiers.%s", path, k), r.Tiers[k]})
	}
	for _, k := range sortedKeys(r.Tenants) {
		out = append(out, edge{fmt.Sprintf("%s.tenants.%s", path, k), r.Tenants[k]})
	}
	return out
}

func (c *Config) validateRoutes(base *validator) {
	v := &routeValidator{validator: base, c: c, deployments: make(map[string]int, len(c.Deployments))}
	for i := len(c.Deployments) - 1; i >= 0; i-- {
		v.deployments[c.Deployments[i].Name] = i
	}
	routes := make(map[string]int, len(c.Routes)) // name -> first index
	for i := len(c.Routes) - 1; i >= 0; i-- {
		if c.Routes[i].Name != "" {
			routes[c.Routes[i].Name] = i
		}
	}
	v.routes = routes
	for i := range c.Routes {
		r := &c.Routes[i]
		path := fmt.Sprintf("routes[%d]", i)
		v.name(path+".name", r.Name)
		if j := routes[r.Name]; r.Name != "" && j != i {
			v.add(path+".name", "duplicate route name %q (first at routes[%d])", r.Name, j)
			continue
		}
		if _, ok := v.deployments[r.Name]; ok {
			v.add(path+".name", "%q is also a deployment name; a client's model must name one thing", r.Name)
		}
		for _, e := range edges(path, r) {
			if _, ok := routes[e.name]; !ok {
				if _, ok := v.deployments[e.name]; !ok {
					v.add(e.path, "unknown target %q (not a deployment or route)", e.name)
				}
			}
		}
		check, ok := policyValidatorFor(r.Policy)
		if !ok {
			v.add(path+".policy", "unknown policy %q (want %s)", r.Policy, knownPolicies)
			continue
		}
		set := fieldsOf(r)
		for _, f := range policyFields(r.Policy) {
			delete(set, f)
		}
		for _, f := range []string{"targets", "default", "rules", "min_quality", "fastest", "arms", "sticky", "checks", "classifier", "learned"} {
			if set[f] {
				v.add(path+"."+f, "not used by the %s policy", r.Policy)
			}
		}
		check(v, path, r)
		c.validateRequires(v, path, r)
	}
	c.checkRouteCycles(v.validator, routes)
}

// validateRequires checks that each required capability is known and that
// some deployment the route can reach has it.
func (c *Config) validateRequires(v *routeValidator, path string, r *Route) {
	for j, capName := range r.Requires {
		p := fmt.Sprintf("%s.requires[%d]", path, j)
		switch capName {
		case CapChat, CapVision, CapTools, CapJSONMode, CapStreaming, CapEmbeddings, CapReasoning, CapModeration, CapImages, CapSpeech, CapTranscription, CapRealtime, CapVideo:
		default:
			v.add(p, "unknown capability %q (want chat, vision, tools, json_mode, streaming, embeddings, reasoning, moderation, images, speech, transcription, realtime or video)", capName)
			continue
		}
		found := false
		for _, d := range c.reach(r, v.routes) {
			if c.Deployments[d].Capabilities.Has(capName) {
				found = true
				break
			}
		}
		if !found {
			v.add(p, "no deployment this route reaches has %s", capName)
		}
	}
	c.validateRedirectRequires(v, path, r)
}

// validateRedirectRequires checks that every tier's and tenant's own target
// can meet what r requires: the redirect replaces r, and a request it
// sends there needs r's requires too, so a target that cannot meet them
// would fail every request of that tier or tenant.
func (c *Config) validateRedirectRequires(v *routeValidator, path string, r *Route) {
	if len(r.Requires) == 0 {
		return
	}
	// The redirects of r and of every route it reaches: a nested route's
	// tier or tenant redirect serves r's requests too.
	var redirects []edge
	seen := map[string]bool{}
	var walk func(rr *Route, rpath string)
	walk = func(rr *Route, rpath string) {
		if seen[rr.Name] {
			return
		}
		seen[rr.Name] = true
		for _, k := range sortedKeys(rr.Tiers) {
			redirects = append(redirects, edge{rpath + ".tiers." + k, rr.Tiers[k]})
		}
		for _, k := range sortedKeys(rr.Tenants) {
			redirects = append(redirects, edge{rpath + ".tenants." + k, rr.Tenants[k]})
		}
		for _, e := range edges("", rr) {
			if j, ok := v.routes[e.name]; ok {
				walk(&c.Routes[j], fmt.Sprintf("routes[%d]", j))
			}
		}
	}
	walk(r, path)
	for _, e := range redirects {
		var reach []int
		if j, ok := v.routes[e.name]; ok {
			reach = c.reach(&c.Routes[j], v.routes)
		} else if i, ok := v.deployments[e.name]; ok {
			reach = []int{i}
		} else {
			continue // reported as an unknown target
		}
		for _, capName := range r.Requires {
			found := false
			for _, d := range reach {
				if c.Deployments[d].Capabilities.Has(capName) {
					found = true
					break
				}
			}
			switch {
			case found:
			case strings.HasPrefix(e.path, path+"."):
				v.add(e.path, "%q reaches no deployment with %s, which this route requires", e.name, capName)
			default:
				v.add(e.path, "%q reaches no deployment with %s, which route %q, reaching this redirect, requires", e.name, capName, r.Name)
			}
		}
	}
}

// reach returns the indexes of every deployment r can send a request to,
// following routes (each route once, so cycles end).
func (c *Config) reach(r *Route, routes map[string]int) []int {
	var out []int
	seenD := make(map[int]bool)
	seenR := make(map[string]bool)
	var walk func(r *Route)
	walk = func(r *Route) {
		if seenR[r.Name] {
			return
		}
		seenR[r.Name] = true
		for _, e := range edges("", r) {
			if j, ok := routes[e.name]; ok {
				walk(&c.Routes[j])
				continue
			}
			for i := range c.Deployments {
				if c.Deployments[i].Name == e.name && !seenD[i] {
					seenD[i] = true
					out = append(out, i)
				}
			}
		}
	}
	walk(r)
	return out
}

// checkRouteCycles reports every route-to-route cycle once, as the path
// "a -> b -> a" starting at the cycle's first route in file order.
func (c *Config) checkRouteCycles(v *validator, routes map[string]int) {
	const (
		unvisited = iota
		onStack
		done
	)
	state := make([]int, len(c.Routes))
	var stack []int
	reported := make(map[string]bool)
	var visit func(i int)
	visit = func(i int) {
		state[i] = onStack
		stack = append(stack, i)
		for _, e := range edges("", &c.Routes[i]) {
			t := e.name
			j, ok := routes[t]
			if !ok {
				continue
			}
			switch state[j] {
			case unvisited:
				visit(j)
			case onStack:
				c.reportCycle(v, cycleFrom(stack, j), reported)
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
	}
	for i := range c.Routes {
		if j, ok := routes[c.Routes[i].Name]; ok && j == i && state[i] == unvisited {
			visit(i)
		}
	}
}

// cycleFrom returns the part of stack from route j on, rotated so that it
// starts at its lowest index.
func cycleFrom(stack []int, j int) []int {
	start := len(stack) - 1
	for stack[start] != j {
		start--
	}
	cyc := stack[start:]
	low := 0
	for k := range cyc {
		if cyc[k] < cyc[low] {
			low = k
		}
	}
	out := make([]int, 0, len(cyc))
	out = append(out, cyc[low:]...)
	return append(out, cyc[:low]...)
}

func (c *Config) reportCycle(v *validator, cyc []int, reported map[string]bool) {
	names := make([]string, 0, len(cyc)+1)
	for _, i := range cyc {
		names = append(names, c.Routes[i].Name)
	}
	names = append(names, c.Routes[cyc[0]].Name)
	s := strings.Join(names, " -> ")
	if reported[s] {
		return
	}
	reported[s] = true
	v.add(fmt.Sprintf("routes[%d].targets", cyc[0]), "route cycle %s", s)
}
