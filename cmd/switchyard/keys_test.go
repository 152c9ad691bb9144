package main

import (
	"bytes"
	"context"
	"io"
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
	// The key id may come before the flags, as the usage writes it.
	var out2, errb2 bytes.Buffer
	if code := cmdKeys([]string{"revoke", id, "--admin-url", srv.URL}, &out2, &errb2); code != 0 || !strings.Contains(out2.String(), "revoked key") {
		t.Errorf("revoke KEY_ID --admin-url: got %d %q %q, want 0", code, out2.String(), errb2.String())
	}
	if code, _, errs := run("create", "--tenant", "nope"); code != 1 || !strings.Contains(errs, "not_found") {
		t.Errorf("create in unknown tenant: got %d %q, want 1 and not_found", code, errs)
	}
	t.Setenv("SWITCHYARD_ADMIN_KEY", "")
	if code, _, _ := run("list"); code != 2 {
		t.Errorf("got %d without an admin key, want 2", code)
	}
}

// fakePurger counts purges, for the cache command's test.
type fakePurger struct{ tenant, all []string }

func (f *fakePurger) Purge(_ context.Context, tenant string, all bool) (int, error) {
	if all {
		f.all = append(f.all, tenant)
		return 7, nil
	}
	f.tenant = append(f.tenant, tenant)
	return 3, nil
}

func TestCmdCache(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p := &fakePurger{}
	srv := httptest.NewServer(admin.New(admin.Options{Store: st, AdminKey: "adm-cli", ResponseCache: p}))
	defer srv.Close()
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := cmdCache(append(args[:1:1], append([]string{"--admin-url", srv.URL, "--admin-key", "adm-cli"}, args[1:]...)...), &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, out, errs := run("purge", "--tenant", "acme"); code != 0 || out != "purged 3 cached answers (tenant acme)\n" || len(p.tenant) != 1 || p.tenant[0] != "acme" {
		t.Errorf("purge --tenant acme: %d %q %q, purges %+v", code, out, errs, p)
	}
	if code, out, _ := run("purge"); code != 0 || !strings.Contains(out, "purged 7") || len(p.all) != 1 {
		t.Errorf("purge: %d %q, purges %+v", code, out, p)
	}
	var errb bytes.Buffer
	if code := cmdCache([]string{"purge", "--admin-url", srv.URL, "--admin-key", "wrong"}, io.Discard, &errb); code != 1 || !strings.Contains(errb.String(), "unauthorized") {
		t.Errorf("wrong key: %d %q, want 1 and unauthorized", code, errb.String())
	}
	if code := cmdCache(nil, io.Discard, io.Discard); code != 2 {
		t.Errorf("no subcommand: %d, want 2", code)
	}
}
