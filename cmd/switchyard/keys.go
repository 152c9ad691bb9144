package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchyard-gw/switchyard/internal/admin"
)

const keysUsage = `usage: switchyard keys <create|list|revoke|rotate> [flags]

  create --tenant T [--name N] [--role user|tenant_admin] [--routes a,b] [--rpm N] [--tpm N]
         [--max-concurrent N] [--budget-daily USD] [--budget-monthly USD] [--expires 720h]
         [--tier T] [--meta k=v,...]       prints the new key's secret once
  list   [--tenant T]
  revoke KEY_ID
  rotate KEY_ID                           prints the new secret once

common flags: --admin-url (default http://127.0.0.1:8081), --admin-key (default $SWITCHYARD_ADMIN_KEY)
`

// cmdKeys drives the admin API's key endpoints.
func cmdKeys(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, keysUsage)
		return 2
	}
	sub := args[0]
	switch {
	case isHelp(sub):
		fmt.Fprint(stdout, keysUsage)
		return 0
	case sub != "create" && sub != "list" && sub != "revoke" && sub != "rotate":
		fmt.Fprintf(stderr, "switchyard keys: unknown subcommand %q\n%s", sub, keysUsage)
		return 2
	}
	fs := flag.NewFlagSet("keys "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	conn := adminFlags(fs)
	tenant := fs.String("tenant", "", "tenant ID")
	var in admin.KeyCreate
	var routes, meta, expires string
	if sub == "create" {
		fs.StringVar(&in.Name, "name", "", "key name")
		fs.StringVar(&in.Role, "role", "", "user (default) or tenant_admin")
		fs.StringVar(&routes, "routes", "", "allowed routes, comma-separated")
		fs.IntVar(&in.Limits.RPM, "rpm", 0, "requests per minute (0 unlimited)")
		fs.IntVar(&in.Limits.TPM, "tpm", 0, "tokens per minute")
		fs.IntVar(&in.Limits.MaxConcurrent, "max-concurrent", 0, "requests in flight")
		fs.Float64Var(&in.Limits.BudgetDailyUSD, "budget-daily", 0, "USD per UTC day")
		fs.Float64Var(&in.Limits.BudgetMonthlyUSD, "budget-monthly", 0, "USD per UTC month")
		fs.StringVar(&expires, "expires", "", "lifetime such as 720h")
		fs.StringVar(&in.Tier, "tier", "", "tier for routing")
		fs.StringVar(&meta, "meta", "", "metadata k=v,...")
	}
	rest, keyID := args[1:], ""
	if (sub == "revoke" || sub == "rotate") && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		keyID, rest = rest[0], rest[1:] // KEY_ID first, flags after it
	}
	if err := fs.Parse(rest); err != nil {
		return usageCode(err)
	}
	if (sub == "revoke" || sub == "rotate") && keyID == "" && fs.NArg() > 0 {
		keyID = fs.Arg(0) // flags first, and maybe more after it
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return usageCode(err)
		}
	}
	if extraArgs(fs, stderr, "keys "+sub) {
		return 2
	}
	c, ok := conn.client(30*time.Second, "keys", stderr)
	if !ok {
		return 2
	}
	switch sub {
	case "create":
		in.TenantID = *tenant
		if routes != "" {
			for _, rt := range strings.Split(routes, ",") {
				in.AllowedRoutes = append(in.AllowedRoutes, strings.TrimSpace(rt))
			}
		}
		for _, b := range []struct {
			flag string
			v    float64
		}{{"budget-daily", in.Limits.BudgetDailyUSD}, {"budget-monthly", in.Limits.BudgetMonthlyUSD}} {
			if math.IsNaN(b.v) || math.IsInf(b.v, 0) {
				fmt.Fprintf(stderr, "switchyard keys: --%s %v: want a number of US dollars\n", b.flag, b.v)
				return 2
			}
		}
		if meta != "" {
			in.Metadata = map[string]string{}
			for _, kv := range strings.Split(meta, ",") {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || strings.TrimSpace(k) == "" {
					fmt.Fprintf(stderr, "switchyard keys: --meta: %q is not key=value (want k=v,k2=v2)\n", kv)
					return 2
				}
				in.Metadata[k] = v
			}
		}
		if expires != "" {
			d, err := time.ParseDuration(expires)
			if err != nil {
				fmt.Fprintf(stderr, "switchyard keys: --expires: %v\n", err)
				return 2
			}
			t := time.Now().Add(d).UTC()
			in.ExpiresAt = &t
		}
		var v admin.KeyView
		if err := c.do("POST", "/admin/keys", in, &v); err != nil {
			if c.missingTenant(err, in.TenantID) {
				err = fmt.Errorf("tenant %q does not exist (404 not_found): create it first (POST /admin/tenants with {\"id\":%q}, see docs/operations.md), then the key", in.TenantID, in.TenantID)
			}
			fmt.Fprintf(stderr, "switchyard keys create: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "created key %s in tenant %s\nsecret (shown once): %s\n", v.ID, v.TenantID, v.Secret)
	case "list":
		var out struct{ Keys []admin.KeyView }
		path := "/admin/keys"
		if *tenant != "" {
			path += "?tenant_id=" + url.QueryEscape(*tenant)
		}
		if err := c.do("GET", path, nil, &out); err != nil {
			fmt.Fprintf(stderr, "switchyard keys list: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "%-32s %-16s %-12s %-12s %-8s %s\n", "ID", "TENANT", "PREFIX", "ROLE", "STATE", "NAME")
		for _, k := range out.Keys {
			fmt.Fprintf(stdout, "%-32s %-16s %-12s %-12s %-8s %s\n", shown(k.ID), shown(k.TenantID), shown(k.Prefix), shown(k.Role), keyState(k), shown(k.Name))
		}
	case "revoke", "rotate":
		if keyID == "" {
			fmt.Fprintf(stderr, "switchyard keys %s: want exactly one KEY_ID\n", sub)
			return 2
		}
		var v admin.KeyView
		if err := c.do("POST", "/admin/keys/"+url.PathEscape(keyID)+"/"+sub, nil, &v); err != nil {
			fmt.Fprintf(stderr, "switchyard keys %s: %v\n", sub, err)
			return 1
		}
		if sub == "revoke" {
			fmt.Fprintf(stdout, "revoked key %s (stops working within auth.key_cache_ttl)\n", v.ID)
		} else {
			fmt.Fprintf(stdout, "rotated: old key %s revoked, new key %s\nsecret (shown once): %s\n", keyID, v.ID, v.Secret)
		}
	}
	return 0
}

func keyState(k admin.KeyView) string {
	switch {
	case k.RevokedAt != nil:
		return "revoked"
	case k.ExpiresAt != nil && k.ExpiresAt.Before(time.Now()):
		return "expired"
	}
	return "active"
}

// adminConn is the admin API flags every admin command takes.
type adminConn struct{ url, key *string }

// adminFlags defines --admin-url and --admin-key on fs.
func adminFlags(fs *flag.FlagSet) adminConn {
	return adminConn{
		url: fs.String("admin-url", "http://127.0.0.1:8081", "admin API base URL"),
		key: fs.String("admin-key", "", "admin key (default $SWITCHYARD_ADMIN_KEY)"),
	}
}

// client is the admin API client the flags name, with the key from
// $SWITCHYARD_ADMIN_KEY when --admin-key is not given; false (and a line
// on stderr) when there is no key.
func (a adminConn) client(timeout time.Duration, cmd string, stderr io.Writer) (*adminClient, bool) {
	key := *a.key
	if key == "" {
		key = os.Getenv("SWITCHYARD_ADMIN_KEY")
	}
	if key == "" {
		fmt.Fprintf(stderr, "switchyard %s: --admin-key or SWITCHYARD_ADMIN_KEY is required\n", cmd)
		return nil, false
	}
	return &adminClient{base: strings.TrimRight(*a.url, "/"), key: key, hc: &http.Client{Timeout: timeout}}, true
}

// adminClient calls the admin API.
type adminClient struct {
	base, key string
	hc        *http.Client
}

func (c *adminClient) do(method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct{ Code, Message string }
		}
		if json.Unmarshal(data, &e) == nil && e.Error.Code != "" {
			return &apiError{status: resp.StatusCode, code: e.Error.Code, msg: e.Error.Message}
		}
		return fmt.Errorf("admin API answered %s", resp.Status)
	}
	return json.Unmarshal(data, out)
}

// apiError is an error the admin API answered.
type apiError struct {
	status    int
	code, msg string
}

func (e *apiError) Error() string { return fmt.Sprintf("%s (%d %s)", e.msg, e.status, e.code) }

// isNotFound reports whether err is the admin API's 404 not_found.
func isNotFound(err error) bool {
	var e *apiError
	return errors.As(err, &e) && e.status == http.StatusNotFound && e.code == "not_found"
}

// missingTenant reports whether err, the admin API's answer to a request
// naming tenant, is a 404 because that tenant does not exist (the API's
// own answer names no object).
func (c *adminClient) missingTenant(err error, tenant string) bool {
	if tenant == "" || !isNotFound(err) {
		return false
	}
	var t json.RawMessage
	return isNotFound(c.do("GET", "/admin/tenants/"+url.PathEscape(tenant), nil, &t))
}

// shown is a field of a listing as printed: as it is when every character
// of it prints (letters, marks, numbers, punctuation, symbols, the ASCII
// space), else Go-quoted, so that a name stored with a newline or an
// escape sequence (the admin API refuses them since, but one stored
// before may have one) can neither begin a forged row nor write to the
// terminal.
func shown(s string) string {
	for _, r := range s {
		if r == utf8.RuneError || !strconv.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
