package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/tenancy"
)

// TestNamesAndMetadataBounded: a tenant's name, like a key's, is at most
// 200 characters (counted as characters, not bytes), and a key's metadata
// at most 16 entries of 64-character keys and 512-character values, on
// create and on PATCH; a refusal is a 400 that says the bound.
func TestNamesAndMetadataBounded(t *testing.T) {
	e := newEnv(t)
	e.tenant("t1", tenancy.Limits{})
	k := e.key(KeyCreate{TenantID: "t1", Name: "k"})
	body := func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	}
	meta := func(n, keyLen, valueLen int) map[string]string {
		m := map[string]string{}
		for i := range n {
			m[fmt.Sprintf("%0*d", keyLen, i)] = strings.Repeat("v", valueLen)
		}
		return m
	}
	long, longest := strings.Repeat("x", 201), strings.Repeat("é", 200)
	for _, tt := range []struct {
		name, method, path, body string
		code                     int
		want                     string
	}{
		{"tenant name too long", "POST", "/admin/tenants", body(TenantCreate{ID: "a", Name: long}), 400, "name must be at most 200 characters"},
		{"tenant name of 200 characters", "POST", "/admin/tenants", body(TenantCreate{ID: "b", Name: longest}), 201, ""},
		{"tenant renamed too long", "PATCH", "/admin/tenants/t1", body(TenantUpdate{Name: &long}), 400, "name must be at most 200 characters"},
		{"key name too long", "POST", "/admin/keys", body(KeyCreate{TenantID: "t1", Name: long}), 400, "name must be at most 200 characters"},
		{"key name of 200 characters", "POST", "/admin/keys", body(KeyCreate{TenantID: "t1", Name: longest}), 201, ""},
		{"17 metadata entries", "POST", "/admin/keys", body(KeyCreate{TenantID: "t1", Metadata: meta(17, 2, 1)}), 400, "metadata may have at most 16 entries"},
		{"metadata key too long", "POST", "/admin/keys", body(KeyCreate{TenantID: "t1", Metadata: meta(1, 65, 1)}), 400, "longer than 64 characters"},
		{"metadata value too long", "POST", "/admin/keys", body(KeyCreate{TenantID: "t1", Metadata: meta(1, 2, 513)}), 400, "longer than 512 characters"},
		{"largest metadata", "POST", "/admin/keys", body(KeyCreate{TenantID: "t1", Metadata: meta(16, 64, 512)}), 201, ""},
		{"metadata too big on PATCH", "PATCH", "/admin/keys/" + k.ID, body(map[string]any{"metadata": meta(5000, 8, 100)}), 400, "metadata may have at most 16 entries"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, b := e.doRaw(adminKey, tt.method, tt.path, tt.body)
			if code != tt.code || !strings.Contains(b, tt.want) {
				t.Errorf("got %d %.300s, want %d %q", code, b, tt.code, tt.want)
			}
		})
	}
}

// TestBoundsSpareStoredKeys: a key stored before the name and metadata
// bounds existed (here written to the store directly) can still be
// edited and rotated without trimming them first; only a name or
// metadata the request changes is checked.
func TestBoundsSpareStoredKeys(t *testing.T) {
	e := newEnv(t)
	e.tenant("t1", tenancy.Limits{})
	k := e.key(KeyCreate{TenantID: "t1", Name: "k"})
	stored, err := e.st.GetKey(context.Background(), k.ID)
	if err != nil {
		t.Fatal(err)
	}
	stored.Name = strings.Repeat("n", 300)
	stored.Metadata = map[string]string{}
	for i := range 40 {
		stored.Metadata[fmt.Sprint("m", i)] = "v"
	}
	if err := e.st.UpdateKey(context.Background(), stored); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, method, path, body string
		code                     int
		want                     string
	}{
		{"limits only", "PATCH", "/admin/keys/" + k.ID, `{"limits":{"rpm":5}}`, 200, ""},
		{"new metadata still bounded", "PATCH", "/admin/keys/" + k.ID, `{"metadata":{"a":"` + strings.Repeat("v", 513) + `"}}`, 400, "longer than 512 characters"},
		{"rotate", "POST", "/admin/keys/" + k.ID + "/rotate", "", 200, ""},
	} {
		code, b := e.doRaw(adminKey, tt.method, tt.path, tt.body)
		if code != tt.code || !strings.Contains(b, tt.want) {
			t.Errorf("%s: got %d %.300s, want %d %q", tt.name, code, b, tt.code, tt.want)
		}
	}
}
