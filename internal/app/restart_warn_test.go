package app

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/config"
)

// restartWarning is the message of warnRestart.
const restartWarning = "these settings changed and take effect at restart; the running values stay"

// TestReloadWarnsOfRestartOnlySettings: a reload that changes settings the
// process reads only as it starts (limits, replicas, the store, usage.*,
// auth.key_cache_ttl, server.listen and its timeouts, batch.*,
// learning.retention) still says "config reloaded" for the rest, and a
// warning names each of those settings; a reload that changes none of
// them warns of nothing.
func TestReloadWarnsOfRestartOnlySettings(t *testing.T) {
	s := startStack(t, fastSim(), "")
	text, err := os.ReadFile(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	running := string(text)
	reload := func(edited string) []string {
		t.Helper()
		s.logs.Reset()
		if err := os.WriteFile(s.cfg, []byte(edited), 0o600); err != nil {
			t.Fatal(err)
		}
		clocktest.WaitFor(t, "the reload", func() bool {
			logs := s.logs.String()
			if strings.Contains(logs, "config reload failed") {
				t.Fatalf("reload failed: %s", logs)
			}
			return strings.Contains(logs, `"msg":"config reloaded"`)
		})
		var warned []string
		for line := range strings.Lines(s.logs.String()) {
			var rec struct {
				Msg      string   `json:"msg"`
				Level    string   `json:"level"`
				Settings []string `json:"settings"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == restartWarning {
				if rec.Level != "WARN" {
					t.Errorf("restart warning logged at %s, want WARN", rec.Level)
				}
				warned = append(warned, rec.Settings...)
			}
		}
		return warned
	}

	edited := strings.NewReplacer(
		"  listen: 127.0.0.1:0\n", "  listen: 127.0.0.1:1\n  read_timeout: 7s\n",
		"usage:\n", "usage:\n  batch_size: 10\n",
	).Replace(running) + `limits: redis://127.0.0.1:1/0?key_prefix=moved-
replicas: 4
auth: {key_cache_ttl: 1s}
batch: {workers: 3}
learning: {retention: 2h}
`
	want := []string{"server.listen", "server.read_timeout", "limits", "replicas", "usage.batch_size", "auth.key_cache_ttl", "batch.workers", "learning.retention"}
	if got := reload(edited); !slices.Equal(got, want) {
		t.Errorf("restart warning named %v, want %v\nlogs: %s", got, want, s.logs.String())
	}
	// Back to the start values, with a new route (applied at once): no
	// setting waits for a restart.
	if got := reload(running + "  - name: added\n    targets: [small]\n"); len(got) != 0 {
		t.Errorf("restart warning named %v, want none\nlogs: %s", got, s.logs.String())
	}
	if resp, b := s.post("/v1/chat/completions", `{"model":"added","messages":[{"role":"user","content":"hi"}]}`); resp.StatusCode != 200 {
		t.Errorf("the reloaded route: got %d %s, want 200", resp.StatusCode, b)
	}
}

// TestEverySettingIsLiveOrRestartOnly: each setting of the config (a
// section's fields, one level down) either takes effect on reload or is
// in restartSettings (or warns on its own: cache.*, admin.*), so a new
// start-up-only setting cannot be reloaded in silence.
func TestEverySettingIsLiveOrRestartOnly(t *testing.T) {
	// Applied by a reload: gateway.Apply (executor, providers,
	// deployments, routes, and the server fields requests read from the
	// running config), the static keys, log.level and telemetry.
	live := []string{"server.api_keys", "server.master_key", "server.max_body_bytes", "server.websocket_origins",
		"server.client_secret_key", "executor.", "providers", "deployments", "routes", "log.", "telemetry.",
		// Warned of by warnCacheRestart and Tenancy.Apply.
		"cache.", "admin."}
	restart := map[string]bool{}
	for _, s := range restartSettings {
		restart[s.name] = true
	}
	classified := func(path string) bool {
		if restart[path] {
			return true
		}
		for _, l := range live {
			if path == l || strings.HasSuffix(l, ".") && strings.HasPrefix(path, l) {
				return true
			}
		}
		return false
	}
	ct := reflect.TypeFor[config.Config]()
	for f := range ct.Fields() {
		name := yamlName(f)
		if name == "" {
			continue
		}
		paths := []string{name}
		if f.Type.Kind() == reflect.Struct {
			paths = nil
			for sf := range f.Type.Fields() {
				if sub := yamlName(sf); sub != "" {
					paths = append(paths, name+"."+sub)
				}
			}
		}
		for _, p := range paths {
			if !classified(p) {
				t.Errorf("%s: neither applied on reload nor in restartSettings", p)
			}
		}
	}
}

// yamlName is a field's YAML key, "" for a field YAML does not decode.
func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	return name
}
