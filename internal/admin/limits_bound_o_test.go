package admin

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store/postgres"
	"github.com/switchyard-gw/switchyard/internal/store/storetest"
	"github.com/switchyard-gw/switchyard/internal/tenancy"
)

// TestLimitsAboveInt32Refused: an rpm, tpm or max_concurrent above
// 2147483647 is a 400 invalid_request naming the field and the bound, on
// SQLite and on PostgreSQL alike (whose integer columns it would overflow:
// it was a 503 store_unavailable there), for keys and tenants; the bound
// itself is stored. A key stored with a larger limit before the bound
// existed can still be edited.
func TestLimitsAboveInt32Refused(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			e := newEnv(t)
			if db == "postgres" {
				st, err := postgres.Open(context.Background(), storetest.PostgresURL(t))
				if err != nil {
					t.Fatal(err)
				}
				e.st = st
				e.srv = httptest.NewServer(New(Options{Store: st, AdminKey: adminKey, Now: func() time.Time { return e.now }}))
				t.Cleanup(func() { e.srv.Close(); st.Close() })
			}
			e.tenant("t1", tenancy.Limits{})
			for _, tt := range []struct {
				name, method, path, body string
				code                     int
				want                     string
			}{
				{"key tpm 3e9", "POST", "/admin/keys", `{"tenant_id":"t1","limits":{"tpm":3000000000}}`, 400, "limits.tpm must be at most 2147483647"},
				{"key rpm 2^31", "POST", "/admin/keys", `{"tenant_id":"t1","limits":{"rpm":2147483648}}`, 400, "limits.rpm must be at most 2147483647"},
				{"key at the bound", "POST", "/admin/keys", `{"tenant_id":"t1","limits":{"rpm":2147483647,"tpm":2147483647,"max_concurrent":2147483647}}`, 201, `"tpm":2147483647`},
				{"tenant max_concurrent 5e9", "PATCH", "/admin/tenants/t1", `{"limits":{"max_concurrent":5000000000}}`, 400, "limits.max_concurrent must be at most 2147483647"},
				{"new tenant tpm 2^31", "POST", "/admin/tenants", `{"id":"t2","limits":{"tpm":2147483648}}`, 400, "limits.tpm must be at most 2147483647"},
				{"tenant at the bound", "PATCH", "/admin/tenants/t1", `{"limits":{"rpm":2147483647}}`, 200, `"rpm":2147483647`},
			} {
				code, b := e.doRaw(adminKey, tt.method, tt.path, tt.body)
				if code != tt.code || !strings.Contains(b, tt.want) || (code == 400 && !strings.Contains(b, `"invalid_request"`)) {
					t.Errorf("%s: got %d %.300s, want %d %q", tt.name, code, b, tt.code, tt.want)
				}
			}
			if db != "sqlite" {
				return
			}
			k := e.key(KeyCreate{TenantID: "t1", Name: "k"})
			stored, err := e.st.GetKey(context.Background(), k.ID)
			if err != nil {
				t.Fatal(err)
			}
			stored.TPM = 3_000_000_000
			if err := e.st.UpdateKey(context.Background(), stored); err != nil {
				t.Fatal(err)
			}
			if code, b := e.doRaw(adminKey, "PATCH", "/admin/keys/"+k.ID, `{"name":"renamed"}`); code != 200 {
				t.Errorf("renaming a key stored with tpm 3e9: got %d %.300s, want 200", code, b)
			}
			if code, b := e.doRaw(adminKey, "PATCH", "/admin/keys/"+k.ID, `{"limits":{"tpm":3000000001}}`); code != 400 || !strings.Contains(b, "limits.tpm must be at most 2147483647") {
				t.Errorf("raising it further: got %d %.300s, want 400", code, b)
			}
		})
	}
}
