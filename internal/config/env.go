package config

import (
	"errors"
	"fmt"
	"strings"
)

// expandEnv replaces every ${NAME} in s with getenv(NAME). "$${" stands for
// a literal "${"; any other "$" is literal. An unset or empty variable is an
// error. Error messages never quote s, which may hold a secret.
func expandEnv(s string, getenv func(string) string) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", errors.New("unterminated ${ reference")
			}
			name := s[i+2 : i+2+end]
			if !validEnvName(name) {
				return "", errors.New("invalid ${NAME} reference: NAME must be letters, digits and underscores, not starting with a digit")
			}
			v := getenv(name)
			if v == "" {
				return "", fmt.Errorf("environment variable %s is not set or empty", name)
			}
			b.WriteString(v)
			i += 2 + end + 1
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), nil
}

func validEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// expandSecrets resolves ${ENV} references in the fields that accept them:
// every Secret (server keys, provider keys and headers, telemetry headers,
// the client-secret key), providers[].base_url, the store, limits, cache
// and batch queue URLs and batch.worker_id. A field that fails is left as
// it was and reported with its path.
func (c *Config) expandSecrets(getenv func(string) string) []Problem {
	var probs []Problem
	str := func(path string, p *string) {
		v, err := expandEnv(*p, getenv)
		if err != nil {
			probs = append(probs, Problem{Path: path, Msg: err.Error()})
			return
		}
		*p = v
	}
	sec := func(path string, p *Secret) {
		s := string(*p)
		str(path, &s)
		*p = Secret(s)
	}
	for i := range c.Server.APIKeys {
		sec(fmt.Sprintf("server.api_keys[%d]", i), &c.Server.APIKeys[i])
	}
	sec("server.master_key", &c.Server.MasterKey)
	sec("server.client_secret_key", &c.Server.ClientSecretKey)
	for _, k := range sortedKeys(c.Telemetry.Headers) {
		v := c.Telemetry.Headers[k]
		sec("telemetry.headers."+k, &v)
		c.Telemetry.Headers[k] = v
	}
	q := string(c.Batch.Queue)
	str("batch.queue", &q)
	c.Batch.Queue = DSN(q)
	str("batch.worker_id", &c.Batch.WorkerID)
	for i := range c.Providers {
		p := &c.Providers[i]
		base := fmt.Sprintf("providers[%d]", i)
		str(base+".base_url", &p.BaseURL)
		sec(base+".api_key", &p.APIKey)
		for _, k := range sortedKeys(p.Headers) {
			v := p.Headers[k]
			sec(base+".headers."+k, &v)
			p.Headers[k] = v
		}
	}
	c.expandTenancy(str)
	return probs
}
