package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/store/sqlite"
)

// TestCmdKeysListEscapesNames: `switchyard keys list` prints one row per
// key, whatever its name holds: a name stored with a newline and an ESC
// sequence (before the admin API refused them) is printed quoted, so it
// can neither forge a row nor write to the terminal; a plain name is
// printed as it is (found by audit C).
func TestCmdKeysListEscapesNames(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.CreateTenant(ctx, store.Tenant{ID: "acme", Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	forged := "ci\nkey_forged                       globex           sk-sy-zzzz   tenant_admin active   \x1b[31mroot"
	now := time.Now().UTC()
	for i, name := range []string{forged, "plain name — déjà 🚀"} {
		k := store.Key{ID: "key_" + string(rune('a'+i)), TenantID: "acme", Name: name, Prefix: "sk-sy-abcd", Role: store.RoleUser, Created: now}
		k.Hash[0] = byte(i + 1)
		if err := st.CreateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(admin.New(admin.Options{Store: st, AdminKey: "adm-cli"}))
	defer srv.Close()
	t.Setenv("SWITCHYARD_ADMIN_KEY", "adm-cli")
	var out, errb bytes.Buffer
	if code := cmdKeys([]string{"list", "--admin-url", srv.URL}, &out, &errb); code != 0 {
		t.Fatalf("list: got %d %q", code, errb.String())
	}
	text := out.String()
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) != 3 || strings.ContainsAny(text, "\x1b\r") {
		t.Fatalf("list printed %d lines, want a header and 2 rows, the forged name quoted:\n%s", len(lines), text)
	}
	if !strings.Contains(text, `"ci\nkey_forged`) || !strings.Contains(text, `\x1b[31mroot"`) {
		t.Errorf("the name with control characters is not quoted:\n%s", text)
	}
	if !strings.Contains(text, " plain name — déjà 🚀\n") {
		t.Errorf("a plain name is not printed as it is:\n%s", text)
	}
}
