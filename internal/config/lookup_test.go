package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func loadFull(t *testing.T) *Config {
	t.Helper()
	data, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(data, getenv)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLookups(t *testing.T) {
	c := loadFull(t)
	unindexed := *c
	unindexed.index = nil
	for _, cfg := range []struct {
		name string
		c    *Config
	}{{"indexed", c}, {"unindexed", &unindexed}} {
		t.Run(cfg.name, func(t *testing.T) {
			if d, ok := cfg.c.Deployment("claude-sonnet"); !ok || d.Model != "claude-sonnet-4-5" {
				t.Errorf("got Deployment(claude-sonnet) = %v, %v, want model claude-sonnet-4-5", d, ok)
			}
			if p, ok := cfg.c.Provider("azure-east"); !ok || p.Kind != "azure" {
				t.Errorf("got Provider(azure-east) = %v, %v, want kind azure", p, ok)
			}
			if r, ok := cfg.c.Route("auto"); !ok || r.Targets[1] != "smart" {
				t.Errorf("got Route(auto) = %v, %v, want targets [gpt-4o-mini smart]", r, ok)
			}
			for _, miss := range []string{"", "nope", "smart "} {
				if _, ok := cfg.c.Deployment(miss); ok {
					t.Errorf("got Deployment(%q) found, want not found", miss)
				}
				if _, ok := cfg.c.Provider(miss); ok {
					t.Errorf("got Provider(%q) found, want not found", miss)
				}
			}
			if _, ok := cfg.c.Route("claude-sonnet"); ok {
				t.Errorf("got Route(claude-sonnet) found, want deployments and routes kept apart")
			}
		})
	}
}

func TestLookupPointsIntoConfig(t *testing.T) {
	c := loadFull(t)
	d, _ := c.Deployment("embed-small")
	if d != &c.Deployments[3] {
		t.Errorf("got %p, want &c.Deployments[3] %p", d, &c.Deployments[3])
	}
}

func TestRedacted(t *testing.T) {
	c := loadFull(t)
	out := c.Redacted()
	for _, v := range testEnv {
		if strings.HasPrefix(v, "sk-") || strings.Contains(v, "secret") || v == "tools-2024" {
			if strings.Contains(out, v) {
				t.Errorf("got redacted config containing secret %q", v)
			}
		}
	}
	for _, want := range []string{"api_key: <redacted>", "deadline: 1m0s", "anthropic-beta: <redacted>", "https://contoso.openai.azure.com"} {
		if !strings.Contains(out, want) {
			t.Errorf("got redacted config without %q:\n%s", want, out)
		}
	}
	// It parses back to the same config, secrets aside, with every
	// capability explicit.
	back, err := Parse([]byte(out), getenv)
	if err != nil {
		t.Fatalf("got %v, want the redacted config to parse", err)
	}
	if got := back.Deployments[0].Capabilities.Streaming; got == nil || !*got {
		t.Errorf("got streaming %v, want an explicit true", got)
	}
	if got := c.Deployments[0].Capabilities.Streaming; got != nil {
		t.Errorf("got original streaming %v, want Redacted to leave c unchanged", *got)
	}
	redact := cmp.Transformer("redact", func(s Secret) string { return s.String() })
	resolve := cmp.Transformer("resolve", func(c Capabilities) Capabilities { return c.resolved() })
	if diff := cmp.Diff(c, back, ignoreIndex, redact, resolve, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	c := loadFull(t)
	p, _ := c.Provider("openai")
	for _, s := range []string{p.APIKey.String(), c.Server.MasterKey.String()} {
		if s != "<redacted>" {
			t.Errorf("got %q, want <redacted>", s)
		}
	}
	if got := p.APIKey.Value(); got != "sk-openai-secret" {
		t.Errorf("got %q, want the plain value from Value", got)
	}
}

func TestDemo(t *testing.T) {
	c := Demo("http://127.0.0.1:4000")
	if err := c.Validate(); err != nil {
		t.Fatalf("got %v, want the demo config valid", err)
	}
	tests := []struct {
		name, deployment, provider, model string
		vision, embeddings, chat          bool
	}{
		{"small", "sim-small", "sim-openai", "sim-small", false, false, true},
		{"medium", "sim-medium", "sim-openai", "sim-medium", false, false, true},
		{"large", "sim-large", "sim-openai", "sim-large", true, false, true},
		{"large over anthropic", "sim-large-anthropic", "sim-anthropic", "sim-large", true, false, true},
		{"vision", "sim-vision", "sim-openai", "sim-vision", true, false, true},
		{"embed", "sim-embed", "sim-openai", "sim-embed", false, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := c.Deployment(tt.deployment)
			if !ok {
				t.Fatalf("got no deployment %q, want one", tt.deployment)
			}
			if d.Provider != tt.provider || d.Model != tt.model {
				t.Errorf("got provider %q model %q, want %q %q", d.Provider, d.Model, tt.provider, tt.model)
			}
			caps := d.Capabilities
			if caps.Has(CapVision) != tt.vision || caps.Has(CapEmbeddings) != tt.embeddings || caps.Has(CapChat) != tt.chat {
				t.Errorf("got vision %v embeddings %v chat %v, want %v %v %v",
					caps.Has(CapVision), caps.Has(CapEmbeddings), caps.Has(CapChat), tt.vision, tt.embeddings, tt.chat)
			}
		})
	}
	if p, _ := c.Provider("sim-openai"); p.BaseURL != "http://127.0.0.1:4000/v1" {
		t.Errorf("got sim-openai base_url %q, want http://127.0.0.1:4000/v1", p.BaseURL)
	}
	if p, _ := c.Provider("sim-anthropic"); p.BaseURL != "http://127.0.0.1:4000" || p.Kind != KindAnthropic {
		t.Errorf("got sim-anthropic %q %q, want anthropic at http://127.0.0.1:4000", p.Kind, p.BaseURL)
	}
	r, ok := c.Route("auto")
	if want := []string{"sim-medium", "sim-large-anthropic", "sim-small"}; !ok || r.Policy != PolicyFallback || !cmp.Equal(r.Targets, want) {
		t.Errorf("got route auto %+v, want fallback over %v", r, want)
	}
	small, _ := c.Deployment("sim-small")
	large, _ := c.Deployment("sim-large")
	if !(small.Price.InputPerMTok < large.Price.InputPerMTok && small.ContextWindow < large.ContextWindow && small.Quality < large.Quality) {
		t.Errorf("got small %+v large %+v, want large dearer, bigger and better", small, large)
	}
	// What serve prints must survive the round trip.
	if _, err := Parse([]byte(c.Redacted()), getenv); err != nil {
		t.Errorf("got %v, want the redacted demo config to parse", err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("log: {level: loud}\n"+validTail), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"missing file", filepath.Join(dir, "nope.yaml"), "config: read: open " + filepath.Join(dir, "nope.yaml") + ": no such file or directory"},
		{"invalid", bad, "config: " + bad + `: log.level: unknown level "loud" (want debug, info, warn or error)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.path)
			if err == nil || err.Error() != tt.want {
				t.Errorf("got %v, want %s", err, tt.want)
			}
		})
	}
	_, err := Load(bad)
	var verr *ValidationError
	if !errors.As(err, &verr) || len(verr.Problems) != 1 || verr.Problems[0].Path != "log.level" {
		t.Errorf("got %#v, want one problem at log.level", err)
	}
}

func TestValidateWithoutDefaults(t *testing.T) {
	// A Config built in Go without ApplyDefaults names each zero duration.
	c := &Config{Log: Log{Level: "info"}, Server: Server{Listen: "127.0.0.1:0", MaxBodyBytes: 1}}
	err := c.Validate()
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("got %v, want a *ValidationError", err)
	}
	var paths []string
	for _, p := range verr.Problems {
		paths = append(paths, p.Path)
	}
	want := []string{
		"server.read_header_timeout", "server.read_timeout", "server.idle_timeout", "server.shutdown_timeout", "server.send_timeout",
		"executor.max_attempts", "executor.backoff_base", "executor.backoff_max",
		"executor.max_retry_after", "executor.deadline", "executor.breaker.failure_threshold",
		"executor.breaker.open_for", "deployments",
		"store", "limits", "replicas", "admin.listen", "usage.queue_size",
		"usage.batch_size", "usage.flush_interval", "auth.key_cache_ttl",
		"batch.queue", "batch.workers", "batch.concurrency", "batch.max_file_bytes", "batch.max_requests", "batch.retention", "batch.lease", "learning.retention",
	}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("problem paths (-want +got):\n%s", diff)
	}
}
