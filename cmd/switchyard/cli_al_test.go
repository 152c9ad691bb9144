package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/sim"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

// Bad flag values are usage errors (exit 2) naming the flag, before any
// request is sent or any data read (AL4, AL5, AL8).
func TestFlagValuesAreUsageErrors(t *testing.T) {
	dir := t.TempDir()
	admin := []string{"--admin-url", "http://127.0.0.1:1", "--admin-key", "k"}
	keys := func(extra ...string) []string {
		return append(append([]string{"keys", "create", "--tenant", "t"}, admin...), extra...)
	}
	train := func(extra ...string) []string {
		return append([]string{"route", "train", "--data", filepath.Join(dir, "nodata")}, extra...)
	}
	tests := []struct {
		args []string
		want string
	}{
		{keys("--budget-daily", "NaN"), "--budget-daily"},
		{keys("--budget-monthly", "Inf"), "--budget-monthly"},
		{keys("--budget-daily", "-Inf"), "--budget-daily"},
		{keys("--meta", "novalue"), "--meta"},
		{keys("--meta", "a=1,=v"), "--meta"},
		{[]string{"bench", "--url", "http://127.0.0.1:1/v1", "--duration", "-1s", "--requests", "1"}, "--duration"},
		{[]string{"bench", "--url", "http://127.0.0.1:1/v1", "--timeout", "-1s", "--requests", "1"}, "--timeout"},
		{[]string{"route", "export", "--store", "sqlite://" + filepath.Join(dir, "none.db"), "--out", filepath.Join(dir, "o"), "--since", "-1h"}, "--since"},
		{train("--kind", "bogus"), "--kind"},
		{train("--kind", "difficulty", "--target", "bogus"), "--target"},
		{train("--target=bogus"), "--target"},
		{train("--cv", "bogus"), "--cv"},
		{train("--trees", "-1"), "--trees"},
		{train("--min-leaf", "-5"), "--min-leaf"},
		{train("--min-leaf", "0"), "--min-leaf"},
		{train("--shrink", "-1"), "--shrink"},
		{train("--shrink", "0"), "--shrink"},
		{train("--shrink", "NaN"), "--shrink"},
		{train("--l2-emb", "-1"), "--l2-emb"},
		{train("--l2-dev", "-1"), "--l2-dev"},
		{train("--l2-task", "-0.5"), "--l2-task"},
		{train("--ridge", "-1"), "--ridge"},
		{train("--no-centre", "--within", "--kind", "nope"), "--kind"},
		{train("--out", dir), "is a directory"},
		{train("--out", filepath.Join(dir, "missing", "r.json")), "does not exist"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, stderr := runCLI(tt.args...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Errorf("got exit %d, stderr %q; want 2 naming %s", code, stderr, tt.want)
			}
		})
	}
	// Valid values still reach the data (which is missing here: exit 1).
	for _, args := range [][]string{
		train(),
		train("--kind", "difficulty", "--target", "irt", "--trees", "0", "--shrink", "0.5", "--min-leaf", "1", "--l2-task", "0", "--out", filepath.Join(dir, "r.json")),
		train("--cv", "both", "--out", dir),
	} {
		if code, _, stderr := runCLI(args...); code != 1 || !strings.Contains(stderr, "nodata") {
			t.Errorf("%v: got exit %d, stderr %q; want 1 about the missing data", args, code, stderr)
		}
	}
}

// bench masks a password in --url on its target line (AL3).
func TestBenchMasksTheURLPassword(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"choices":[{"message":{"content":"hi"}}]}`)
	}))
	defer srv.Close()
	u := strings.Replace(srv.URL, "http://", "http://user:S3cretPW@", 1) + "/v1"
	code, stdout, stderr := runCLI("bench", "--url", u, "--requests", "1")
	if code != 0 || strings.Contains(stdout+stderr, "S3cretPW") || !strings.Contains(stdout, "user:***@") {
		t.Errorf("got exit %d, stdout %q, stderr %q; want the password masked as ***", code, stdout, stderr)
	}
	if got := redactURL("http://127.0.0.1:1/v1"); got != "http://127.0.0.1:1/v1" {
		t.Errorf("redactURL without a password: got %q", got)
	}
}

// route explain says a body over max_body_bytes is too large, not that it
// is not JSON (AL7).
func TestRouteExplainTooLargeBody(t *testing.T) {
	var body bytes.Buffer
	body.WriteString(`{"model":"auto","messages":[{"role":"user","content":"`)
	body.WriteString(strings.Repeat("a", 9<<20))
	body.WriteString(`"}]}`)
	var out, errb bytes.Buffer
	code := cmdRouteExplain(nil, &body, &out, &errb)
	if code != 2 || !strings.Contains(errb.String(), "max_body_bytes") || strings.Contains(errb.String(), "not valid JSON") {
		t.Errorf("got exit %d, stderr %q; want 2 saying the body is over max_body_bytes", code, errb.String())
	}
}

// sim prints its banner only once it listens, with the bound address (AL2).
func TestSimBannerAfterListen(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	var out bytes.Buffer
	err = runSim(context.Background(), held.Addr().String(), sim.DefaultConfig(), &out, newLogger(io.Discard, slog.LevelInfo))
	if err == nil || out.Len() != 0 {
		t.Errorf("port in use: got error %v and stdout %q, want an error and no banner", err, out.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runSim(ctx, "127.0.0.1:0", sim.DefaultConfig(), pw, newLogger(io.Discard, slog.LevelInfo))
		pw.Close()
	}()
	line := make([]byte, 200)
	n, _ := pr.Read(line)
	cancel()
	go io.Copy(io.Discard, pr)
	<-done
	banner := string(line[:n])
	if !strings.HasPrefix(banner, "simulated provider on http://127.0.0.1:") || strings.HasPrefix(banner, "simulated provider on http://127.0.0.1:0 ") {
		t.Errorf("got banner %q, want the bound port", banner)
	}
}

// adminStub answers the admin API calls the CLI makes.
func adminStub(t *testing.T, h http.HandlerFunc) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func writeAPIErr(w http.ResponseWriter, status int, code, msg string) {
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// cache purge reports the scope the key purged: a tenant admin's key purges
// its own tenant, not all of them (AL9).
func TestCachePurgeReportsTheKeysTenant(t *testing.T) {
	u := adminStub(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/admin/cache":
			io.WriteString(w, `{"purged":3}`)
		case "/admin/whoami":
			io.WriteString(w, `{"role":"tenant_admin","tenant_id":"t1","key_id":"k1"}`)
		default:
			http.NotFound(w, r)
		}
	})
	code, stdout, stderr := runCLI("cache", "purge", "--admin-url", u, "--admin-key", "k")
	if code != 0 || !strings.Contains(stdout, "purged 3 cached answers (tenant t1)") {
		t.Errorf("got exit %d, stdout %q, stderr %q; want tenant t1", code, stdout, stderr)
	}
	u = adminStub(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/admin/cache":
			io.WriteString(w, `{"purged":5}`)
		case "/admin/whoami":
			io.WriteString(w, `{"role":"global_admin"}`)
		}
	})
	if code, stdout, _ := runCLI("cache", "purge", "--admin-url", u, "--admin-key", "k"); code != 0 || !strings.Contains(stdout, "(all tenants)") {
		t.Errorf("global admin: got exit %d, stdout %q; want all tenants", code, stdout)
	}
}

// keys create for a tenant that does not exist says so (AL12); a 404 for
// another reason is reported as it is.
func TestKeysCreateMissingTenant(t *testing.T) {
	u := adminStub(t, func(w http.ResponseWriter, r *http.Request) {
		writeAPIErr(w, http.StatusNotFound, "not_found", "no such object")
	})
	code, _, stderr := runCLI("keys", "create", "--admin-url", u, "--admin-key", "k", "--tenant", "acme")
	if code != 1 || !strings.Contains(stderr, `tenant "acme" does not exist`) || !strings.Contains(stderr, "POST /admin/tenants") {
		t.Errorf("got exit %d, stderr %q; want the tenant named as missing", code, stderr)
	}
	u = adminStub(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/admin/tenants/acme" {
			io.WriteString(w, `{"id":"acme"}`)
			return
		}
		writeAPIErr(w, http.StatusNotFound, "not_found", "no such object")
	})
	if code, _, stderr := runCLI("keys", "create", "--admin-url", u, "--admin-key", "k", "--tenant", "acme"); code != 1 || strings.Contains(stderr, "does not exist") || !strings.Contains(stderr, "no such object (404 not_found)") {
		t.Errorf("tenant exists: got exit %d, stderr %q; want the API's own error", code, stderr)
	}
}
