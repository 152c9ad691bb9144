package admin

import (
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/tenancy"
)

// Creating a key for a tenant that does not exist says so, naming it, for
// the global admin (found by audit AL: "no such object", which the CLI had
// to explain by asking again); a tenant admin naming another tenant still
// gets the plain 404, which tells nothing of other tenants.
func TestCreateKeyForMissingTenant(t *testing.T) {
	e := newEnv(t)
	code, b := e.do(adminKey, "POST", "/admin/keys", KeyCreate{TenantID: "nobody"})
	if code != 404 || !strings.Contains(string(b), `tenant \"nobody\" does not exist`) {
		t.Errorf("global admin: got %d %s, want 404 naming the missing tenant", code, b)
	}
	e.tenant("acme", tenancy.Limits{})
	ta := e.key(KeyCreate{TenantID: "acme", Role: "tenant_admin"})
	code, b = e.do(ta.Secret, "POST", "/admin/keys", KeyCreate{TenantID: "nobody"})
	if code != 404 || strings.Contains(string(b), "nobody") {
		t.Errorf("tenant admin: got %d %s, want the plain 404", code, b)
	}
}
