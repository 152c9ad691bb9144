package config

import (
	"fmt"
	"strings"
)

// policyValidator checks what is specific to one route policy; the checks
// common to every route (name, known targets, cycles) run before it.
type policyValidator func(v *validator, path string, r *Route)

// policyValidatorFor returns the checks for a policy, or false for an
// unknown policy. A new policy adds a case here (and its fields to Route).
func policyValidatorFor(policy string) (policyValidator, bool) {
	switch policy {
	case PolicyFallback:
		return validateFallback, true
	}
	return nil, false
}

// knownPolicies is listed in the unknown-policy message.
const knownPolicies = "fallback"

// validateFallback requires at least one target and no target twice: a
// request must never visit the same deployment twice in one fallback list.
func validateFallback(v *validator, path string, r *Route) {
	if len(r.Targets) == 0 {
		v.add(path+".targets", "a fallback route needs at least one target")
	}
	seen := make(map[string]int, len(r.Targets))
	for i, t := range r.Targets {
		if j, dup := seen[t]; dup {
			v.add(fmt.Sprintf("%s.targets[%d]", path, i), "%q is already targets[%d]", t, j)
			continue
		}
		seen[t] = i
	}
}

func (c *Config) validateRoutes(v *validator) {
	deployments := make(map[string]bool, len(c.Deployments))
	for _, d := range c.Deployments {
		deployments[d.Name] = true
	}
	routes := make(map[string]int, len(c.Routes)) // name -> first index
	for i := len(c.Routes) - 1; i >= 0; i-- {
		if c.Routes[i].Name != "" {
			routes[c.Routes[i].Name] = i
		}
	}
	for i := range c.Routes {
		r := &c.Routes[i]
		path := fmt.Sprintf("routes[%d]", i)
		v.name(path+".name", r.Name)
		if j := routes[r.Name]; r.Name != "" && j != i {
			v.add(path+".name", "duplicate route name %q (first at routes[%d])", r.Name, j)
			continue
		}
		if deployments[r.Name] {
			v.add(path+".name", "%q is also a deployment name; a client's model must name one thing", r.Name)
		}
		for j, t := range r.Targets {
			if _, ok := routes[t]; !ok && !deployments[t] {
				v.add(fmt.Sprintf("%s.targets[%d]", path, j), "unknown target %q (not a deployment or route)", t)
			}
		}
		check, ok := policyValidatorFor(r.Policy)
		if !ok {
			v.add(path+".policy", "unknown policy %q (want %s)", r.Policy, knownPolicies)
			continue
		}
		check(v, path, r)
	}
	c.checkRouteCycles(v, routes)
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
		for _, t := range c.Routes[i].Targets {
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
