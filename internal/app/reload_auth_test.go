package app

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
)

// TestReloadKeepsAuthentication edits the config of a gateway that started
// with a client key and an admin API: a reload that would leave it open to
// anyone, or remove admin.key, is refused with the old keys still in force;
// one that rotates admin.key takes effect at once.
func TestReloadKeepsAuthentication(t *testing.T) {
	const (
		clientKey = "sk-client-reload-1"
		oldAdmin  = "adm-reload-old"
		newAdmin  = "adm-reload-new"
	)
	keys := "  api_keys: [" + clientKey + "]\n"
	withAdmin := func(key string) string { return "admin: {listen: 127.0.0.1:0, key: " + key + "}\n" }
	base := strings.Replace(baseConfig, "  listen: 127.0.0.1:0\n", "  listen: 127.0.0.1:0\n"+keys, 1)
	s := startStack(t, fastSim(), base+withAdmin(oldAdmin))
	text, err := os.ReadFile(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	running := string(text)
	adminURL := "http://" + logAttr(t, s.logs.String(), "admin API listening", "listen")

	status := func(url, key string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := s.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	models, whoami := s.base+"/v1/models", adminURL+"/admin/whoami"
	rejected := func(t *testing.T, edited, why string) {
		t.Helper()
		s.logs.Reset()
		if err := os.WriteFile(s.cfg, []byte(edited), 0o600); err != nil {
			t.Fatal(err)
		}
		clocktest.WaitFor(t, "the reload to be refused", func() bool {
			return strings.Contains(s.logs.String(), "config reload rejected; keeping the running config")
		})
		if logs := s.logs.String(); !strings.Contains(logs, why) || strings.Contains(logs, `"config reloaded"`) {
			t.Errorf("refused reload logged %s, want the reason %q and no \"config reloaded\"", logs, why)
		}
		if got := status(models, ""); got != 401 {
			t.Errorf("no key after a refused reload: got %d, want 401", got)
		}
		if got := status(models, clientKey); got != 200 {
			t.Errorf("client key after a refused reload: got %d, want 200", got)
		}
		if got := status(whoami, oldAdmin); got != 200 {
			t.Errorf("admin key after a refused reload: got %d, want 200", got)
		}
	}

	if got := status(models, ""); got != 401 {
		t.Fatalf("no key at start: got %d, want 401", got)
	}
	t.Run("every key removed", func(t *testing.T) {
		rejected(t, strings.Replace(strings.Replace(running, keys, "", 1), withAdmin(oldAdmin), "", 1), "no client key")
	})
	t.Run("admin key removed", func(t *testing.T) {
		rejected(t, strings.Replace(running, withAdmin(oldAdmin), "", 1), "removes admin.key")
	})
	t.Run("admin key rotated", func(t *testing.T) {
		rotated := strings.Replace(running, withAdmin(oldAdmin), withAdmin(newAdmin), 1)
		if err := os.WriteFile(s.cfg, []byte(rotated), 0o600); err != nil {
			t.Fatal(err)
		}
		// Wait for the reload, not by trying the new key: each try that
		// fails counts as a failed sign-in, and ten lock the address out.
		clocktest.WaitFor(t, "the reload", func() bool { return strings.Contains(s.logs.String(), `"config reloaded"`) })
		if got := status(whoami, newAdmin); got != 200 {
			t.Errorf("new admin key after rotation: got %d, want 200", got)
		}
		if got := status(whoami, oldAdmin); got != 401 {
			t.Errorf("old admin key after rotation: got %d, want 401", got)
		}
		if got := status(models, ""); got != 401 {
			t.Errorf("no key after rotation: got %d, want 401", got)
		}
	})
}

// logAttr returns the string attribute attr of the first JSON log line
// whose msg is msg.
func logAttr(t *testing.T, logs, msg, attr string) string {
	t.Helper()
	for line := range strings.Lines(logs) {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
			if v, ok := rec[attr].(string); ok {
				return v
			}
		}
	}
	t.Fatalf("no log line %q with %s in %s", msg, attr, logs)
	return ""
}

// TestReloadAddingAdminKeyToAnOpenGateway: an open gateway (no keys) whose
// reload adds admin.key stays open until the restart that starts the admin
// API: closing it at once would lock every client out, with no admin API
// to issue a key.
func TestReloadAddingAdminKeyToAnOpenGateway(t *testing.T) {
	s := startStack(t, fastSim(), "")
	get := func() int {
		resp, err := s.hc.Get(s.base + "/v1/models")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get(); got != 200 {
		t.Fatalf("open at start: got %d", got)
	}
	text, err := os.ReadFile(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.logs.Reset()
	if err := os.WriteFile(s.cfg, append(text, "admin: {listen: 127.0.0.1:0, key: adm-added-later}\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	clocktest.WaitFor(t, "the reload", func() bool { return strings.Contains(s.logs.String(), "the admin API starts at the next restart") })
	clocktest.WaitFor(t, "the reload to apply", func() bool { return strings.Contains(s.logs.String(), `"config reloaded"`) })
	if got := get(); got != 200 {
		t.Errorf("after adding admin.key by reload: got %d, want 200 until the restart", got)
	}
}
