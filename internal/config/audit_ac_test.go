package config

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// problemAt parses yaml and reports whether a problem at path contains msg.
func problemAt(t *testing.T, yaml, path, msg string) (bool, error) {
	t.Helper()
	_, err := Parse([]byte(yaml), func(string) string { return "" })
	var verr *ValidationError
	if !errors.As(err, &verr) {
		return false, err
	}
	for _, p := range verr.Problems {
		if p.Path == path && strings.Contains(p.Msg, msg) {
			return true, err
		}
	}
	return false, err
}

// Every integer size or count has an upper bound: a huge value is a
// config error naming the field, not a makeslice panic or an out-of-memory
// crash in serve or at a reload (audit AC, C1 and C2).
func TestSizeBounds(t *testing.T) {
	const huge = "9000000000000000000"
	classify := `routes: [{name: rc, policy: classify, default: d, classifier: {deployment: d, labels: {a: d}, cache_size: N}}]`
	cascade := `routes: [{name: rk, policy: cascade, targets: [d, d2], checks: [{min_length: N}]}]`
	tail := `providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}]
deployments: [{name: d, provider: p, model: m}, {name: d2, provider: p, model: m2}]
`
	tests := []struct {
		path, yaml string
		max        int64
	}{
		{"routes[0].classifier.cache_size", classify, MaxClassifierCacheSize},
		{"routes[0].checks[0].min_length", cascade, MaxCheckMinLength},
		{"usage.batch_size", "usage: {batch_size: N}", MaxUsageBatchSize},
		{"usage.queue_size", "usage: {queue_size: N}", MaxUsageQueueSize},
		{"batch.workers", "batch: {workers: N}", MaxBatchWorkers},
		{"batch.concurrency", "batch: {concurrency: N}", MaxBatchConcurrency},
		{"batch.max_file_bytes", "batch: {max_file_bytes: N}", MaxBatchFileBytes},
		{"batch.max_requests", "batch: {max_requests: N}", MaxBatchRequests},
		{"cache.max_bytes", "cache: {backend: memory, max_bytes: N, max_entry_bytes: 1000}", MaxCacheBytes},
		{"cache.max_entry_bytes", "cache: {backend: redis://127.0.0.1:6379/0, max_entry_bytes: N}", MaxCacheEntryBytes},
		{"cache.semantic.max_entries", "cache: {backend: memory, semantic: {embedding_deployment: e, max_entries: N}}\n" +
			`deployments: [{name: d, provider: p, model: m}, {name: d2, provider: p, model: m2}, {name: e, provider: p, model: te, capabilities: {chat: false, embeddings: true}}]`, MaxSemanticEntries},
		{"server.max_body_bytes", "server: {max_body_bytes: N}", MaxServerBodyBytes},
		{"executor.max_attempts", "executor: {max_attempts: N}", MaxExecutorAttempts},
		{"executor.retries_per_deployment", "executor: {retries_per_deployment: N}", MaxRetriesPerDeployment},
		{"executor.breaker.failure_threshold", "executor: {breaker: {failure_threshold: N}}", MaxBreakerThreshold},
		{"replicas", "replicas: N", MaxReplicas},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			with := func(n string) string {
				y := strings.ReplaceAll(tt.yaml, "N", n) + "\n"
				if !strings.Contains(y, "deployments:") {
					return y + tail
				}
				return y + `providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}]` + "\n"
			}
			for _, n := range []string{huge, strconv.FormatInt(tt.max+1, 10)} {
				if ok, err := problemAt(t, with(n), tt.path, "must be at most "+strconv.FormatInt(tt.max, 10)); !ok {
					t.Errorf("%s = %s: got %v, want a problem naming the field and its bound", tt.path, n, err)
				}
			}
			if _, err := Parse([]byte(with(strconv.FormatInt(tt.max, 10))), func(string) string { return "" }); err != nil {
				t.Errorf("%s = its bound %d: got %v, want it accepted", tt.path, tt.max, err)
			}
		})
	}
	deployment := func(field, n string) string {
		return `providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}]
deployments: [{name: d, provider: p, model: m, ` + field + `: ` + n + `}]
`
	}
	for _, f := range []string{"context_window", "max_output_tokens"} {
		if ok, err := problemAt(t, deployment(f, huge), "deployments[0]."+f, "must be at most"); !ok {
			t.Errorf("%s = %s: got %v, want a problem naming the field and its bound", f, huge, err)
		}
	}
}

// sample_ratio: .nan is not a number between 0 and 1 (audit AC, C3).
func TestSampleRatioNaN(t *testing.T) {
	for _, r := range []string{".nan", ".inf", "-.inf", "1.5"} {
		y := "telemetry: {otlp_endpoint: \"http://127.0.0.1:4318/v1/traces\", sample_ratio: " + r + "}\n" + validTail
		if ok, err := problemAt(t, y, "telemetry.sample_ratio", "between 0 and 1"); !ok {
			t.Errorf("sample_ratio %s: got %v, want it refused", r, err)
		}
	}
}

// A client key with a tab could never match what a client sends: api_keys,
// master_key and admin.key refuse it, as the docs say; an upstream header
// value may still hold one (audit AC, C4).
func TestClientKeysRefuseTab(t *testing.T) {
	tests := []struct{ yaml, path string }{
		{"server: {api_keys: [\"ck-1\\t\"]}", "server.api_keys[0]"},
		{"server: {api_keys: [\"ok\", \"mid\\tkey\"]}", "server.api_keys[1]"},
		{"server: {master_key: \"mk\\tkey\"}", "server.master_key"},
		{"admin: {key: \"ak\\tkey\"}", "admin.key"},
	}
	for _, tt := range tests {
		ok, err := problemAt(t, tt.yaml+"\n"+validTail, tt.path, "tabs")
		if !ok {
			t.Errorf("%s: got %v, want a tab refused", tt.path, err)
		}
		if err != nil && strings.Contains(err.Error(), "key") && strings.Contains(err.Error(), "mid") {
			t.Errorf("got %v, want the key kept out", err)
		}
	}
}

// yaml.v3 names an unknown alias in its error, and an unquoted secret that
// begins with * is one: the error gives the line, never the name (audit
// AC, C5). A value that begins with ! is a tag, dropped silently or
// quoted in errors: refused by line too.
func TestSecretReadAsAliasOrTagNotEchoed(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"server:\n  master_key: *Xk9SECRETmasterkey42\n", "line 2: unknown anchor referenced; quote a value that begins with *"},
		{"server:\n  api_keys: [ok, *Xk9SECRETmasterkey42]\n", "line 2: unknown anchor referenced"},
		{"log: {level: info}\nproviders: [{name: p, kind: openai, base_url: \"http://127.0.0.1:1/v1\", api_key: *Xk9SECRETmasterkey42}]\n", "line 2: unknown anchor referenced"},
		{"server:\n  master_key: !Xk9SECRETmasterkey42\n", "line 2: unknown tag"},
		{"server:\n  master_key: !Xk9SECRETmasterkey42 rest\n", "line 2: unknown tag"},
		{"server:\n  api_keys: !Xk9SECRETmasterkey42\n", "line 2: unknown tag"},
		{"server:\n  master_key: !!Xk9SECRETmasterkey42 rest\n", "line 2: unknown tag"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.yaml+validTail), func(string) string { return "" })
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: got %v, want %q", tt.yaml, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "Xk9SECRET") {
			t.Errorf("%q: got %v, want the secret kept out", tt.yaml, err)
		}
	}
	// A real anchor and alias, and YAML's own tags, still work.
	ok := "server:\n  api_keys: [&k \"sk-one\", *k]\n  master_key: !!str sk-m\n" + validTail
	if _, err := Parse([]byte(ok), func(string) string { return "" }); err != nil {
		t.Errorf("anchor, alias and !!str: got %v, want them accepted", err)
	}
}

// X-Extra and x-extra are one header given twice: refused, naming both,
// rather than one value dropped silently (audit AC, C7).
func TestHeaderNamesDifferingInCase(t *testing.T) {
	prov := `providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1", headers: {X-Extra: a1, x-extra: b2, X-Other: c}}]
deployments: [{name: d, provider: p, model: m}]
`
	if ok, err := problemAt(t, prov, "providers[0].headers", `"X-Extra" and "x-extra" name one header`); !ok {
		t.Errorf("provider headers: got %v, want the two spellings refused", err)
	}
	tel := "telemetry: {otlp_endpoint: \"http://127.0.0.1:4318/v1/traces\", headers: {X-Collector-Key: a1, x-collector-key: b2}}\n" + validTail
	if ok, err := problemAt(t, tel, "telemetry.headers", `"X-Collector-Key" and "x-collector-key" name one header`); !ok {
		t.Errorf("telemetry headers: got %v, want the two spellings refused", err)
	}
}

// The config file must be a regular file of at most MaxConfigFileBytes: a
// device or a directory is an error before anything is read, a larger file
// is refused, not read whole (audit AC, C6).
func TestLoadReadsOnlyRegularBoundedFiles(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxConfigFileBytes + 1); err != nil { // sparse
		t.Fatal(err)
	}
	f.Close()
	cases := map[string]string{big: "larger than", dir: "not a regular file"}
	if _, err := os.Stat("/dev/zero"); err == nil {
		cases["/dev/zero"] = "not a regular file"
	}
	for path, want := range cases {
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%s): got %v, want %q", path, err, want)
		}
		w := NewWatcher(path, nil, func(*Config) error { return nil })
		if err := w.Reload(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Watcher(%s).Reload: got %v, want %q", path, err, want)
		}
	}
	// A symlink to a regular file (a Kubernetes ConfigMap) is fine.
	real := filepath.Join(dir, "real.yaml")
	if err := os.WriteFile(real, []byte(validTail), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.yaml")
	if err := os.Symlink(real, link); err != nil {
		t.Skip(err)
	}
	if _, err := Load(link); err != nil {
		t.Errorf("Load(symlink): %v", err)
	}
}

// A config that validates but that onChange panics on (a bug in building
// it) is refused like any other, and the watcher goes on: a reload never
// takes the process down (audit AC, C1).
func TestWatcherSurvivesPanicInOnChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchyard.yaml")
	replaceFile(t, path, configWithLevel("info"))
	var failed []error
	w := NewWatcher(path, slog.New(slog.DiscardHandler), func(c *Config) error {
		if c.Log.Level == "debug" {
			panic("makeslice: cap out of range")
		}
		return nil
	})
	w.OnError = func(err error) { failed = append(failed, err) }
	if err := w.Reload(); err != nil {
		t.Fatal(err)
	}
	replaceFile(t, path, configWithLevel("debug"))
	err := w.Reload()
	if err == nil || !strings.Contains(err.Error(), "cap out of range") {
		t.Fatalf("got %v, want the panic as an error", err)
	}
	if len(failed) != 1 {
		t.Errorf("got %d OnError calls, want 1", len(failed))
	}
	replaceFile(t, path, configWithLevel("warn"))
	if err := w.Reload(); err != nil {
		t.Errorf("next good file: %v", err)
	}
}

// server.send_timeout under a second would cut clients that read (the
// write waits on the network and the scheduler too); shutdown_delay may be
// 0 but not negative (audit AS).
func TestServerSendTimeoutAndShutdownDelayBounds(t *testing.T) {
	for _, tt := range []struct{ yaml, path, msg string }{
		{"server: {send_timeout: 500ms}", "server.send_timeout", "at least 1s"},
		{"server: {send_timeout: 1ns}", "server.send_timeout", "at least 1s"},
		{"server: {shutdown_delay: -1s}", "server.shutdown_delay", "must not be negative"},
	} {
		if ok, err := problemAt(t, tt.yaml+"\n"+validTail, tt.path, tt.msg); !ok {
			t.Errorf("%s: got %v, want a problem at %s saying %q", tt.yaml, err, tt.path, tt.msg)
		}
	}
	for _, y := range []string{"server: {send_timeout: 1s}", "server: {shutdown_delay: 0s}", "server: {shutdown_delay: 10s}"} {
		if _, err := Parse([]byte(y+"\n"+validTail), func(string) string { return "" }); err != nil {
			t.Errorf("%s: got %v, want it accepted", y, err)
		}
	}
}
