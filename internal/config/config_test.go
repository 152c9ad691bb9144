package config

import (
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var update = flag.Bool("update", false, "rewrite testdata/*.bad.err golden files")

// testEnv is the environment the testdata files are parsed with.
var testEnv = map[string]string{
	"TEST_API_KEY":      "sk-test-client",
	"CLIENT_KEY_1":      "sk-client-1",
	"CLIENT_KEY_2":      "sk-client-2",
	"MASTER_KEY":        "sk-master",
	"OPENAI_API_KEY":    "sk-openai-secret",
	"AZURE_RESOURCE":    "contoso",
	"AZURE_API_KEY":     "azure-secret",
	"ANTHROPIC_API_KEY": "sk-ant-secret",
	"ANTHROPIC_BETA":    "tools-2024",
}

func getenv(name string) string { return testEnv[name] }

var ignoreIndex = cmpopts.IgnoreUnexported(Config{})

func TestBadConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/*.bad.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("got %d bad files (err %v), want some", len(files), err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".bad.yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Parse(data, getenv)
			if err == nil {
				t.Fatalf("got config %+v, want an error", c)
			}
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Errorf("got error type %T, want it to wrap *ValidationError", err)
			}
			golden := strings.TrimSuffix(file, ".yaml") + ".err"
			got := err.Error() + "\n"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden (run go test -update): %v", err)
			}
			if got != string(want) {
				t.Errorf("error mismatch (-want +got):\n%s", cmp.Diff(string(want), got))
			}
			for _, secret := range []string{"hunter2", "sk-"} {
				if strings.Contains(got, secret) {
					t.Errorf("got error containing %q, want secrets kept out of errors", secret)
				}
			}
		})
	}
}

func TestFullExample(t *testing.T) {
	data, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(data, getenv)
	if err != nil {
		t.Fatalf("got %v, want no error", err)
	}
	yes, no := true, false
	want := &Config{
		Server: Server{
			Listen:    "0.0.0.0:9090",
			APIKeys:   []Secret{"sk-client-1", "sk-client-2"},
			MasterKey: "sk-master", MaxBodyBytes: 1 << 20,
			ReadHeaderTimeout: dur(5 * time.Second), ReadTimeout: dur(45 * time.Second), IdleTimeout: dur(90 * time.Second),
			ShutdownTimeout: dur(15 * time.Second),
			SendTimeout:     dur(time.Minute),
		},
		Executor: Executor{
			MaxAttempts: 3, RetriesPerDeployment: 0,
			BackoffBase: dur(50 * time.Millisecond), BackoffMax: dur(time.Second),
			MaxRetryAfter: dur(3 * time.Second), Deadline: dur(time.Minute),
			Breaker: Breaker{FailureThreshold: 3, OpenFor: dur(10 * time.Second)},
		},
		Providers: []Provider{
			{Name: "openai", Kind: "openai", BaseURL: "https://api.openai.com/v1", APIKey: "sk-openai-secret", ConnectTimeout: dur(2 * time.Second)},
			{
				Name: "azure-east", Kind: "azure", BaseURL: "https://contoso.openai.azure.com", APIKey: "azure-secret",
				APIVersion: "2024-10-21", Headers: map[string]Secret{"X-Team": "gateway"}, ConnectTimeout: dur(5 * time.Second),
			},
			{
				Name: "anthropic", Kind: "anthropic", BaseURL: "https://api.anthropic.com", APIKey: "sk-ant-secret",
				APIVersion: "2023-06-01", Headers: map[string]Secret{"anthropic-beta": "tools-2024"}, ConnectTimeout: dur(5 * time.Second),
			},
		},
		Deployments: []Deployment{
			{
				Name: "gpt-4o-mini", Provider: "openai", Model: "gpt-4o-mini", Price: Price{InputPerMTok: 0.15, OutputPerMTok: 0.6},
				ContextWindow: 128000, MaxOutputTokens: 16384, Capabilities: Capabilities{Vision: &yes, JSONMode: &yes},
				Quality: 0.6, FirstTokenTimeout: dur(30 * time.Second), IdleTimeout: dur(30 * time.Second), Timeout: dur(time.Minute),
			},
			{
				Name: "gpt-4o-azure", Provider: "azure-east", Model: "gpt-4o", Price: Price{InputPerMTok: 2.5, OutputPerMTok: 10},
				ContextWindow: 128000, MaxOutputTokens: 16384,
				Capabilities: Capabilities{Chat: &yes, Vision: &yes, Tools: &yes, JSONMode: &yes, Streaming: &yes, Embeddings: &no},
				Quality:      0.85, FirstTokenTimeout: dur(10 * time.Second), IdleTimeout: dur(20 * time.Second), Timeout: dur(90 * time.Second),
			},
			{
				Name: "claude-sonnet", Provider: "anthropic", Model: "claude-sonnet-4-5", Price: Price{InputPerMTok: 3, OutputPerMTok: 15, CachedInputPerMTok: ptr(0.3), CacheWritePerMTok: ptr(3.75)}, PromptCache: "system",
				ContextWindow: 200000, MaxOutputTokens: 64000, Capabilities: Capabilities{Vision: &yes},
				Quality: 0.9, FirstTokenTimeout: dur(30 * time.Second), IdleTimeout: dur(30 * time.Second), Timeout: dur(time.Minute),
			},
			{
				Name: "embed-small", Provider: "openai", Model: "text-embedding-3-small", Price: Price{InputPerMTok: 0.02},
				ContextWindow: 8192, MaxOutputTokens: 4096,
				Capabilities:      Capabilities{Chat: &no, Tools: &no, Streaming: &no, Embeddings: &yes},
				FirstTokenTimeout: dur(30 * time.Second), IdleTimeout: dur(30 * time.Second), Timeout: dur(time.Minute),
			},
		},
		Routes: []Route{
			{Name: "smart", Policy: "fallback", Targets: []string{"claude-sonnet", "gpt-4o-azure"}},
			{Name: "auto", Policy: "fallback", Targets: []string{"gpt-4o-mini", "smart"}, Cache: &no},
		},
		Log: Log{Level: "debug"},
		// Tenancy sections at their defaults (tenancy_test.go covers them).
		Store: DefaultStore, Limits: DefaultLimits, Replicas: DefaultReplicas,
		Admin: Admin{Listen: DefaultAdminListen},
		Usage: Usage{QueueSize: DefaultUsageQueueSize, BatchSize: DefaultUsageBatchSize, FlushInterval: dur(DefaultUsageFlush), SpoolPath: DefaultUsageSpoolPath},
		Auth:  Auth{KeyCacheTTL: dur(DefaultKeyCacheTTL)},
		Cache: Cache{Backend: CacheMemory, TTL: dur(2 * time.Minute), MaxBytes: 1 << 20, MaxEntryBytes: 64 << 10},
		Batch: Batch{Queue: BatchQueueEmbedded, Stream: DefaultBatchStream, Workers: DefaultBatchWorkers, Concurrency: DefaultBatchConcurrency,
			MaxFileBytes: DefaultBatchMaxFileBytes, MaxRequests: DefaultBatchMaxRequests, Retention: dur(DefaultBatchRetention), Lease: dur(DefaultBatchLease)},
		Learning: Learning{Retention: dur(DefaultLearningRetention)},
	}
	if diff := cmp.Diff(want, got, ignoreIndex); diff != "" {
		t.Errorf("config mismatch (-want +got):\n%s", diff)
	}
}

func dur(d time.Duration) Duration { return Duration(d) }

func TestExampleFileInDocs(t *testing.T) {
	// The documented example uses only ${ENV} names from testEnv.
	for k := range testEnv {
		t.Setenv(k, "")
	}
	c, err := Load(filepath.Join("..", "..", "docs", "switchyard.example.yaml"))
	if err == nil {
		t.Fatalf("got %d deployments, want the missing-environment error first", len(c.Deployments))
	}
	for k, v := range testEnv {
		t.Setenv(k, v)
	}
	c, err = Load(filepath.Join("..", "..", "docs", "switchyard.example.yaml"))
	if err != nil {
		t.Fatalf("got %v, want docs/switchyard.example.yaml to load", err)
	}
	if len(c.Routes) == 0 || len(c.Deployments) == 0 {
		t.Errorf("got %d routes and %d deployments, want some of each", len(c.Routes), len(c.Deployments))
	}
}

func TestDefaults(t *testing.T) {
	const minimal = `
providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}]
deployments:
  - {name: d, provider: p, model: m}
  - {name: tiny, provider: p, model: m, context_window: 2048}
routes: [{name: r, targets: [d]}]
`
	c, err := Parse([]byte(minimal), getenv)
	if err != nil {
		t.Fatalf("got %v, want no error", err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"listen", c.Server.Listen, "127.0.0.1:8080"},
		{"max_body_bytes", c.Server.MaxBodyBytes, int64(8 << 20)},
		{"read_header_timeout", c.Server.ReadHeaderTimeout.D(), 10 * time.Second},
		{"read_timeout", c.Server.ReadTimeout.D(), 60 * time.Second},
		{"server idle_timeout", c.Server.IdleTimeout.D(), 120 * time.Second},
		{"send_timeout", c.Server.SendTimeout.D(), time.Minute},
		{"shutdown_timeout", c.Server.ShutdownTimeout.D(), 30 * time.Second},
		{"max_attempts", c.Executor.MaxAttempts, 4},
		{"retries_per_deployment", c.Executor.RetriesPerDeployment, 1},
		{"backoff_base", c.Executor.BackoffBase.D(), 100 * time.Millisecond},
		{"backoff_max", c.Executor.BackoffMax.D(), 2 * time.Second},
		{"max_retry_after", c.Executor.MaxRetryAfter.D(), 5 * time.Second},
		{"deadline", c.Executor.Deadline.D(), 120 * time.Second},
		{"failure_threshold", c.Executor.Breaker.FailureThreshold, 5},
		{"open_for", c.Executor.Breaker.OpenFor.D(), 5 * time.Second},
		{"connect_timeout", c.Providers[0].ConnectTimeout.D(), 5 * time.Second},
		{"context_window", c.Deployments[0].ContextWindow, 8192},
		{"max_output_tokens", c.Deployments[0].MaxOutputTokens, 4096},
		{"max_output_tokens capped by context_window", c.Deployments[1].MaxOutputTokens, 2048},
		{"first_token_timeout", c.Deployments[0].FirstTokenTimeout.D(), 30 * time.Second},
		{"deployment idle_timeout", c.Deployments[0].IdleTimeout.D(), 30 * time.Second},
		{"timeout", c.Deployments[0].Timeout.D(), 60 * time.Second},
		{"policy", c.Routes[0].Policy, "fallback"},
		{"log level", c.Log.Level, "info"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestRetriesPerDeploymentZeroIsKept(t *testing.T) {
	c, err := Parse([]byte(`
executor: {retries_per_deployment: 0}
providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}]
deployments: [{name: d, provider: p, model: m}]
`), getenv)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Executor.RetriesPerDeployment; got != 0 {
		t.Errorf("got retries_per_deployment %d, want an explicit 0 kept", got)
	}
}

func TestDurationYAML(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    time.Duration
		wantErr string
	}{
		{name: "milliseconds", in: "250ms", want: 250 * time.Millisecond},
		{name: "seconds", in: "5s", want: 5 * time.Second},
		{name: "minutes", in: "1m", want: time.Minute},
		{name: "compound", in: "1m30s", want: 90 * time.Second},
		{name: "no unit", in: "5", wantErr: `line 1: invalid duration "5"`},
		{name: "junk", in: "soon", wantErr: `line 1: invalid duration "soon"`},
		{name: "mapping", in: "{s: 1}", wantErr: "line 1: want a duration such as \"5s\", got a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := "executor: {deadline: " + tt.in + "}\n" + validTail
			c, err := Parse([]byte(data), getenv)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got %v, want no error", err)
			}
			if got := c.Executor.Deadline.D(); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// validTail completes a config with one provider and deployment.
const validTail = `providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}]
deployments: [{name: d, provider: p, model: m}]
`

func TestExpandEnv(t *testing.T) {
	env := map[string]string{"A": "alpha", "B_2": "beta"}
	tests := []struct {
		name, in, want, wantErr string
	}{
		{name: "literal", in: "plain-secret", want: "plain-secret"},
		{name: "whole", in: "${A}", want: "alpha"},
		{name: "embedded", in: "Bearer ${A}/${B_2}", want: "Bearer alpha/beta"},
		{name: "lone dollar", in: "pa$$word$", want: "pa$$word$"},
		{name: "escaped", in: "$${A}", want: "${A}"},
		{name: "missing", in: "${NOPE}", wantErr: "environment variable NOPE is not set or empty"},
		{name: "unterminated", in: "x${A", wantErr: "unterminated ${ reference"},
		{name: "empty name", in: "${}", wantErr: "invalid ${NAME} reference"},
		{name: "digit first", in: "${1A}", wantErr: "invalid ${NAME} reference"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := expandEnv(tt.in, func(k string) string { return env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got (%q, %v), want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got (%q, %v), want %q", got, err, tt.want)
			}
		})
	}
}

func TestCapabilitiesHas(t *testing.T) {
	yes, no := true, false
	unset := Capabilities{}
	flipped := Capabilities{Chat: &no, Vision: &yes, Tools: &no, JSONMode: &yes, Streaming: &no, Embeddings: &yes}
	tests := []struct {
		name string
		caps Capabilities
		cap  string
		want bool
	}{
		{"chat default", unset, CapChat, true},
		{"tools default", unset, CapTools, true},
		{"streaming default", unset, CapStreaming, true},
		{"vision default", unset, CapVision, false},
		{"json_mode default", unset, CapJSONMode, false},
		{"embeddings default", unset, CapEmbeddings, false},
		{"chat set", flipped, CapChat, false},
		{"tools set", flipped, CapTools, false},
		{"streaming set", flipped, CapStreaming, false},
		{"vision set", flipped, CapVision, true},
		{"json_mode set", flipped, CapJSONMode, true},
		{"embeddings set", flipped, CapEmbeddings, true},
		{"unknown", flipped, "telepathy", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.caps.Has(tt.cap); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDocsExamples(t *testing.T) {
	// Every ```yaml block in docs/config.md must load.
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "config.md"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SWITCHYARD_CLIENT_KEY": "k", "OPENAI_API_KEY": "k", "ANTHROPIC_API_KEY": "k", "AWS_BEARER_TOKEN_BEDROCK": "k"}
	blocks := strings.Split(string(data), "```yaml\n")[1:]
	if len(blocks) == 0 {
		t.Fatal("got no yaml blocks in docs/config.md, want at least one")
	}
	for i, b := range blocks {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			src, _, _ := strings.Cut(b, "```")
			if _, err := Parse([]byte(src), func(k string) string { return env[k] }); err != nil {
				t.Errorf("got %v, want the documented example to load", err)
			}
		})
	}
}

// TestDocsYAMLIsYAML: the yaml blocks of the other docs are often parts
// of a config, so they need not load, but each must be valid YAML (an
// unquoted URL ending in ':' or ${ENV} inside a flow mapping is not).
func TestDocsYAMLIsYAML(t *testing.T) {
	for _, name := range []string{"README.md", "docs/operations.md", "docs/routing.md", "docs/learned-router.md"} {
		data, err := os.ReadFile(filepath.Join("..", "..", name))
		if err != nil {
			t.Fatal(err)
		}
		for i, b := range strings.Split(string(data), "```yaml\n")[1:] {
			src, _, _ := strings.Cut(b, "```")
			var v any
			if err := yaml.Unmarshal([]byte(src), &v); err != nil {
				t.Errorf("%s, yaml block %d: %v\n%s", name, i, err, src)
			}
		}
	}
}

func TestDuplicateKey(t *testing.T) {
	_, err := Parse([]byte("log: {level: info}\nlog: {level: debug}\n"+validTail), getenv)
	if err == nil || !strings.Contains(err.Error(), `mapping key "log" already defined`) {
		t.Errorf("got %v, want a duplicate key error", err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestPriceCost(t *testing.T) {
	plain := Price{InputPerMTok: 3, OutputPerMTok: 15}
	cached := Price{InputPerMTok: 3, OutputPerMTok: 15, CachedInputPerMTok: ptr(0.3), CacheWritePerMTok: ptr(3.75)}
	free := Price{InputPerMTok: 2, OutputPerMTok: 8, CachedInputPerMTok: ptr(0.0)}
	tests := []struct {
		name                     string
		p                        Price
		in, cached, written, out int
		want                     float64
	}{
		{"no cache", plain, 1_000_000, 0, 0, 1_000_000, 18},
		{"cache prices unset: cached and written input cost the input price", plain, 1_000_000, 400_000, 100_000, 0, 3},
		{"cached input at its price", cached, 1_000_000, 600_000, 0, 0, 0.4*3 + 0.6*0.3},
		{"cache writes at theirs", cached, 1_000_000, 0, 1_000_000, 0, 3.75},
		{"read, write, plain and output together", cached, 2_000_000, 500_000, 500_000, 100_000, 1*3 + 0.5*0.3 + 0.5*3.75 + 0.1*15},
		{"a zero cached price is free, not unset", free, 1_000_000, 1_000_000, 0, 0, 0},
		{"counts beyond the input never go negative", cached, 100, 200, 0, 0, 200 * 0.3 / 1e6},
	}
	for _, tt := range tests {
		if got := tt.p.Cost(tt.in, tt.cached, tt.written, tt.out); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestEnvInEveryDocumentedField: each field documented to take ${ENV}
// references resolves them, and an unset variable is a problem at its
// path (a literal "${...}" must never be used as a key or a URL).
func TestEnvInEveryDocumentedField(t *testing.T) {
	env := map[string]string{"CSK": strings.Repeat("k", 40), "OTEL": "Bearer otel-canary", "NATS": "nats://u:pw@127.0.0.1:4222", "WORKER": "pod-7"}
	getenv := func(k string) string { return env[k] }
	c, err := Parse([]byte(`
server: {client_secret_key: "${CSK}"}
telemetry: {otlp_endpoint: "http://127.0.0.1:4318", headers: {Authorization: "${OTEL}"}}
batch: {queue: "${NATS}", worker_id: "${WORKER}"}
`+validTail), getenv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.ClientSecretKey.Value() != env["CSK"] || c.Telemetry.Headers["Authorization"].Value() != env["OTEL"] ||
		c.Batch.Queue.Value() != env["NATS"] || c.Batch.WorkerID != "pod-7" {
		t.Errorf("got %q %q %q %q, want the variables' values", c.Server.ClientSecretKey.Value(), c.Telemetry.Headers["Authorization"].Value(), c.Batch.Queue.Value(), c.Batch.WorkerID)
	}
	_, err = Parse([]byte(`
server: {client_secret_key: "${UNSET_CLIENT_SECRET_KEY_FOR_A_TEST_XYZ}"}
batch: {queue: "${UNSET_NATS}"}
`+validTail), getenv)
	for _, path := range []string{"server.client_secret_key", "batch.queue"} {
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("unset variables: got %v, want a problem at %s", err, path)
		}
	}
}

// A header value with a line break (typically a key read from a file with
// its trailing newline) would fail every upstream call; check refuses it at
// its path without printing the value.
func TestHeaderValuesWithLineBreaks(t *testing.T) {
	env := map[string]string{"KEY": "sk-secretvalue\n", "HDR": "a\r\nX-Injected: 1"}
	get := func(k string) string { return env[k] }
	tests := []struct{ name, yaml, path string }{
		{"api key", `providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1", api_key: "${KEY}"}]`, "providers[0].api_key"},
		{"provider header", `providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1", headers: {X-Org: "${HDR}"}}]`, "providers[0].headers.X-Org"},
		{"telemetry header", "telemetry: {otlp_endpoint: \"http://127.0.0.1:4318\", headers: {Authorization: \"${KEY}\"}}\n" + validTail, "telemetry.headers.Authorization"},
		{"client key", "server: {api_keys: [\"sk-ok\", \"${KEY}\"]}\n" + validTail, "server.api_keys[1]"},
		{"master key", "server: {master_key: \"${KEY}\"}\n" + validTail, "server.master_key"},
		{"admin key", "admin: {key: \"${KEY}\"}\n" + validTail, "admin.key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml := tt.yaml
			if !strings.Contains(yaml, "deployments") {
				yaml += "\ndeployments: [{name: d, provider: p, model: m}]\n"
			}
			_, err := Parse([]byte(yaml), get)
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("got %v, want a *ValidationError", err)
			}
			found := false
			for _, p := range verr.Problems {
				found = found || (p.Path == tt.path && strings.Contains(p.Msg, "line breaks"))
			}
			if !found {
				t.Errorf("got %v, want a problem at %s about line breaks", err, tt.path)
			}
			if strings.Contains(err.Error(), "secretvalue") || strings.Contains(err.Error(), "Injected") {
				t.Errorf("got %v, want the value kept out", err)
			}
		})
	}
	ok := `providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1", api_key: "sk-x", headers: {X-Org: "org\tone"}}]` +
		"\ndeployments: [{name: d, provider: p, model: m}]\n"
	if _, err := Parse([]byte(ok), get); err != nil {
		t.Errorf("got %v for a tab in a header value, want it allowed", err)
	}
}

// A memory cache smaller than the default largest entry takes its own size
// as the largest entry when max_entry_bytes is unset, instead of failing
// validation against a default the user never wrote.
func TestSmallMemoryCacheCapsTheDefaultEntrySize(t *testing.T) {
	c, err := Parse([]byte("cache: {backend: memory, max_bytes: 500000}\n"+validTail), getenv)
	if err != nil {
		t.Fatalf("got %v, want a small memory cache to load", err)
	}
	if c.Cache.MaxEntryBytes != 500000 {
		t.Errorf("max_entry_bytes %d, want max_bytes (500000)", c.Cache.MaxEntryBytes)
	}
	if _, err := Parse([]byte("cache: {backend: memory, max_bytes: 500000, max_entry_bytes: 600000}\n"+validTail), getenv); err == nil {
		t.Error("an explicit max_entry_bytes over max_bytes loaded, want the error")
	}
	c, err = Parse([]byte("cache: {backend: \"redis://127.0.0.1:6379/0\", max_bytes: 500000}\n"+validTail), getenv)
	if err != nil || c.Cache.MaxEntryBytes != DefaultCacheMaxEntryBytes {
		t.Errorf("redis: got %v, max_entry_bytes %d; want the default (max_bytes is the memory cache's)", err, c.Cache.MaxEntryBytes)
	}
}
