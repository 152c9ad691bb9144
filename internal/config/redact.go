package config

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Redacted returns the config as YAML with every secret replaced by
// "<redacted>" and every capability resolved to its effective value, for
// showing a config that may hold secrets (nothing in the binary prints a
// whole config today: switchyard check does not). The output decodes
// again with Parse.
func (c *Config) Redacted() string {
	cp := *c
	cp.Deployments = make([]Deployment, len(c.Deployments))
	for i, d := range c.Deployments {
		d.Capabilities = d.Capabilities.resolved()
		cp.Deployments[i] = d
	}
	out, err := yaml.Marshal(&cp)
	if err != nil {
		// Unreachable for this type; keep the signature simple for callers.
		return fmt.Sprintf("# config: redact: %v\n", err)
	}
	return string(out)
}
