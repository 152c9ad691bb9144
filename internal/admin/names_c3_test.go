package admin

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/tenancy"
)

// TestNamesRefuseControlCharacters: a tenant's or a key's name may not
// hold a control character (a newline that would begin a forged row in
// `switchyard keys list`, an ESC sequence sent to the admin's terminal),
// on create and on PATCH, from a tenant admin as from the global admin:
// a 400 invalid_request naming the character. Other characters, emoji and
// accents included, are kept (found by audit C).
func TestNamesRefuseControlCharacters(t *testing.T) {
	e := newEnv(t)
	e.tenant("t1", tenancy.Limits{})
	k := e.key(KeyCreate{TenantID: "t1", Name: "k"})
	ta := e.key(KeyCreate{TenantID: "t1", Name: "ta", Role: store.RoleTenantAdmin})
	body := func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	}
	str := func(s string) *string { return &s }
	forged := "ci\nkey_forged                       globex           sk-sy-zzzz   tenant_admin active   \x1b[31mroot"
	for _, tt := range []struct {
		name, secret, method, path, body string
		code                             int
		want                             string
	}{
		{"key name with a newline", adminKey, "POST", "/admin/keys", body(KeyCreate{TenantID: "t1", Name: forged}), 400, "U+000A at character 3"},
		{"key name with ESC, from a tenant admin", ta.Secret, "POST", "/admin/keys", body(KeyCreate{Name: "a\x1b[31mroot"}), 400, "U+001B at character 2"},
		{"key name with a tab", adminKey, "POST", "/admin/keys", body(KeyCreate{TenantID: "t1", Name: "a\tb"}), 400, "control characters"},
		{"key name with DEL", adminKey, "POST", "/admin/keys", body(KeyCreate{TenantID: "t1", Name: "a\x7f"}), 400, "U+007F"},
		{"key name with a C1 control", adminKey, "POST", "/admin/keys", body(KeyCreate{TenantID: "t1", Name: "a\u009b31m"}), 400, "U+009B"},
		{"key renamed with a carriage return", adminKey, "PATCH", "/admin/keys/" + k.ID, `{"name":"ok\rforged"}`, 400, "U+000D"},
		{"key renamed by its tenant admin with NUL", ta.Secret, "PATCH", "/admin/keys/" + k.ID, `{"name":"x\u0000"}`, 400, "U+0000"},
		{"tenant name with a newline", adminKey, "POST", "/admin/tenants", body(TenantCreate{ID: "t2", Name: "acme\nglobex"}), 400, "U+000A"},
		{"tenant renamed with ESC", adminKey, "PATCH", "/admin/tenants/t1", body(TenantUpdate{Name: str("\x1b]0;title\x07")}), 400, "U+001B"},
		{"key name with emoji and accents", adminKey, "POST", "/admin/keys", body(KeyCreate{TenantID: "t1", Name: "ci — déploiement 🚀 \"prod\", a=b"}), 201, ""},
		{"tenant name with spaces and quotes", adminKey, "POST", "/admin/tenants", body(TenantCreate{ID: "t3", Name: `Acme "EU", Inc.`}), 201, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, b := e.doRaw(tt.secret, tt.method, tt.path, tt.body)
			if code != tt.code || !strings.Contains(b, tt.want) || (code == 400 && !strings.Contains(b, `"invalid_request"`)) {
				t.Errorf("got %d %.300s, want %d %q", code, b, tt.code, tt.want)
			}
		})
	}
}
