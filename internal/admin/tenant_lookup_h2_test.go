package admin

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/tenancy"
)

// tenantLookupFails is a store whose tenant reads fail, as when the store
// is unreachable after the key was read.
type tenantLookupFails struct{ store.Store }

func (tenantLookupFails) GetTenant(context.Context, string) (store.Tenant, error) {
	return store.Tenant{}, errors.New("connection reset")
}

// TestTenantAdminStoreFailure: a tenant admin whose tenant cannot be read
// because the store fails gets 503 store_unavailable, as the global admin
// does, not a 403 saying its tenant is disabled, which made the dashboard
// tell a valid tenant admin its key is no admin key (found by audit H).
func TestTenantAdminStoreFailure(t *testing.T) {
	e := newEnv(t)
	e.tenant("t1", tenancy.Limits{})
	ta := e.key(KeyCreate{TenantID: "t1", Role: store.RoleTenantAdmin})
	e.srv.Close()
	e.srv = httptest.NewServer(New(Options{Store: tenantLookupFails{e.st}, AdminKey: adminKey}))
	defer e.srv.Close()
	if code, b := e.do(ta.Secret, "GET", "/admin/keys", nil); code != 503 || !strings.Contains(string(b), `"code":"store_unavailable"`) {
		t.Errorf("got %d %s, want 503 store_unavailable", code, b)
	}
}
