package admin

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/tenancy"
)

// TestCompressedBodyRefused: a body in a content coding is a 415 naming
// it, with Accept-Encoding: identity, as on the client API, not a 400
// about malformed JSON; nothing is created (audit AO1).
func TestCompressedBodyRefused(t *testing.T) {
	e := newEnv(t)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(`{"id":"zipped"}`))
	_ = zw.Close()
	req, _ := http.NewRequest("POST", e.srv.URL+"/admin/tenants", bytes.NewReader(gz.Bytes()))
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusUnsupportedMediaType || !strings.Contains(string(b), `"code":"unsupported_content_encoding"`) ||
		!strings.Contains(string(b), `Content-Encoding \"gzip\"`) || resp.Header.Get("Accept-Encoding") != "identity" {
		t.Errorf("got %d %s (Accept-Encoding %q), want 415 unsupported_content_encoding naming gzip, with Accept-Encoding identity",
			resp.StatusCode, b, resp.Header.Get("Accept-Encoding"))
	}
	if _, err := e.st.GetTenant(context.Background(), "zipped"); err == nil {
		t.Error("a tenant was created from the refused body")
	}
}

// TestBodyTypeErrorsInJSONTerms: a body of the wrong shape is a 400 that
// names the JSON field and type, never the Go type it decodes into.
func TestBodyTypeErrorsInJSONTerms(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct{ name, body, want string }{
		{"array body", `[]`, "the request body must be an object, not array"},
		{"string field a number", `{"id":7}`, `id: must be a string, not number`},
		{"object field an array", `{"id":"t","limits":[]}`, `limits: must be an object, not array`},
		{"integer field a string", `{"id":"t","limits":{"rpm":"9"}}`, `limits.rpm: must be an integer, not string`},
		{"empty body", ``, "the body is empty"},
		{"unknown field", `{"id":"t","colour":"red"}`, `unknown field \"colour\"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, b := e.doRaw(adminKey, "POST", "/admin/tenants", tt.body)
			if code != 400 || !strings.Contains(b, tt.want) || strings.Contains(b, "Go value") || strings.Contains(b, "admin.") {
				t.Errorf("got %d %s, want 400 saying %q without Go type names", code, b, tt.want)
			}
		})
	}
}

// TestKeyTimeErrorInJSONTerms: a malformed expires_at is a 400 saying the
// form a time must have, not Go's layout string or method name (audit AS,
// AS6).
func TestKeyTimeErrorInJSONTerms(t *testing.T) {
	e := newEnv(t)
	e.tenant("t1", tenancy.Limits{})
	for _, v := range []string{`"tomorrow"`, `5`, `"2030-13-01T00:00:00Z"`} {
		code, b := e.doRaw(adminKey, "POST", "/admin/keys", `{"tenant_id":"t1","name":"k","expires_at":`+v+`}`)
		if code != 400 || !strings.Contains(b, "RFC 3339") || strings.Contains(b, "2006-01-02") || strings.Contains(b, "UnmarshalJSON") {
			t.Errorf("expires_at %s: got %d %s, want 400 naming RFC 3339 without Go internals", v, code, b)
		}
	}
}
