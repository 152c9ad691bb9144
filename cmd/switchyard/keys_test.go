package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/store/sqlite"
)

func TestCmdKeys(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.CreateTenant(context.Background(), store.Tenant{ID: "acme", Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(admin.New(admin.Options{Store: st, AdminKey: "adm-cli"}))
	defer srv.Close()
	t.Setenv("SWITCHYARD_ADMIN_KEY", "adm-cli")
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := cmdKeys(append(args[:1:1], append([]string{"--admin-url", srv.URL}, args[1:]...)...), &out, &errb)
		return code, out.String(), errb.String()
	}
	code, out, errs := run("create", "--tenant", "acme", "--name", "svc", "--rpm", "60", "--routes", "cheap,auto", "--expires", "24h")
	if code != 0 || !strings.Contains(out, "secret (shown once): sk-sy-") {
		t.Fatalf("create: got %d %q %q, want a secret", code, out, errs)
	}
	id := regexp.MustCompile(`key_\w+`).FindString(out)
	secret := regexp.MustCompile(`sk-sy-\w+`).FindString(out)
	if code, out, _ := run("list", "--tenant", "acme"); code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "active") || strings.Contains(out, secret) {
		t.Errorf("list: got %d %q, want the key listed without its secret", code, out)
	}
	if code, out, _ := run("rotate", id); code != 0 || !strings.Contains(out, "sk-sy-") {
		t.Errorf("rotate: got %d %q, want a new secret", code, out)
	}
	if code, _, errs := run("revoke", id); code != 0 {
		t.Errorf("revoke: got %d %q, want 0", code, errs)
	}
	if code, _, errs := run("create", "--tenant", "nope"); code != 1 || !strings.Contains(errs, "not_found") {
		t.Errorf("create in unknown tenant: got %d %q, want 1 and not_found", code, errs)
	}
	t.Setenv("SWITCHYARD_ADMIN_KEY", "")
	if code, _, _ := run("list"); code != 2 {
		t.Errorf("got %d without an admin key, want 2", code)
	}
}
