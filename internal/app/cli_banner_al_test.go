package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/config"
)

// With client keys configured, the banner's curl carries an Authorization
// header, with a placeholder, never the key; an open gateway's has none.
func TestBannerCurlNeedsAKeyWhenKeysAreConfigured(t *testing.T) {
	cfg, err := config.Parse([]byte(`
server: {api_keys: ["sk-client-secret-1"]}
providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}]
deployments: [{name: d, provider: p, model: m}]
routes: [{name: r, targets: [d]}]
`), os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	printBanner(&b, "http://127.0.0.1:1", false, cfg)
	out := b.String()
	if !strings.Contains(out, `-H "Authorization: Bearer $SWITCHYARD_API_KEY"`) || strings.Contains(out, "sk-client-secret-1") {
		t.Errorf("banner with client keys: got\n%s\nwant an Authorization header with a placeholder and no key", out)
	}
	cfg.Server.APIKeys = nil
	b.Reset()
	printBanner(&b, "http://127.0.0.1:1", false, cfg)
	if strings.Contains(b.String(), "Authorization") {
		t.Errorf("open gateway's banner: got\n%s\nwant no Authorization header", b.String())
	}
}

// serve --listen onto admin.listen's address is the config error the same
// value in server.listen gets, not a bind failure after the admin API took
// the port.
func TestListenFlagMustDifferFromAdminListen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	text := `
store: "sqlite://` + filepath.Join(dir, "s.db") + `"
admin: {listen: "127.0.0.1:20999", key: "adm-key-0123456789abcdef"}
server: {listen: "127.0.0.1:0"}
providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}]
deployments: [{name: d, provider: p, model: m}]
routes: [{name: r, targets: [d]}]
`
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := Serve(context.Background(), Options{ConfigPath: path, Listen: "127.0.0.1:20999", Stdout: &out, Started: func(string) { t.Error("serve started") }})
	if err == nil || !strings.Contains(err.Error(), "admin.listen") || !strings.Contains(err.Error(), "must differ from server.listen") || !strings.Contains(err.Error(), "--listen") {
		t.Fatalf("got %v, want the admin.listen config error naming --listen", err)
	}
}
