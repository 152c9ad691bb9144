package admin

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/tenancy"
)

// doRaw sends body exactly as given (e.do marshals its body) and returns
// the status and answer.
func (e *env) doRaw(key, method, path, body string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestTrailingDataRefused: a body with anything after its JSON value (a
// second object, stray text) is a 400 invalid_request and changes
// nothing; trailing white space is fine.
func TestTrailingDataRefused(t *testing.T) {
	e := newEnv(t)
	e.tenant("t1", tenancy.Limits{})
	k := e.key(KeyCreate{TenantID: "t1", Name: "k"})
	for _, tt := range []struct{ name, method, path, body string }{
		{"second object", "POST", "/admin/tenants", `{"id":"x"} {"id":"y"}`},
		{"stray text", "PATCH", "/admin/tenants/t1", `{"name":"renamed"} trailing garbage`},
		{"stray brace", "POST", "/admin/keys", `{"tenant_id":"t1","name":"n"}}`},
		{"second key object", "PATCH", "/admin/keys/" + k.ID, `{"name":"renamed"}{"name":"again"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, b := e.doRaw(adminKey, tt.method, tt.path, tt.body)
			if code != 400 || !strings.Contains(b, `"code":"invalid_request"`) {
				t.Errorf("got %d %s, want 400 invalid_request", code, b)
			}
		})
	}
	ctx := context.Background()
	if _, err := e.st.GetTenant(ctx, "x"); err == nil {
		t.Error("got tenant x created from a refused body, want nothing created")
	}
	if tn, _ := e.st.GetTenant(ctx, "t1"); tn.Name != "t1" {
		t.Errorf("got tenant name %q after a refused body, want t1", tn.Name)
	}
	if got, _ := e.st.GetKey(ctx, k.ID); got.Name != "k" {
		t.Errorf("got key name %q after a refused body, want k", got.Name)
	}
	if code, b := e.doRaw(adminKey, "PATCH", "/admin/tenants/t1", "{\"name\":\"ok\"}\n\t "); code != 200 {
		t.Errorf("trailing white space: got %d %s, want 200", code, b)
	}
}
