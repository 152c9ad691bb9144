package main

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"time"
)

const cacheUsage = `usage: switchyard cache purge [--tenant T]

  purge   empty the response cache: one tenant's answers with --tenant, else all of them

common flags: --admin-url (default http://127.0.0.1:8081), --admin-key (default $SWITCHYARD_ADMIN_KEY)
`

// cmdCache drives the admin API's response cache endpoint.
func cmdCache(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(stdout, cacheUsage)
		return 0
	}
	if len(args) == 0 || args[0] != "purge" {
		fmt.Fprint(stderr, cacheUsage)
		return 2
	}
	fs := flag.NewFlagSet("cache purge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conn := adminFlags(fs)
	tenant := fs.String("tenant", "", "tenant ID (default: every tenant; a tenant admin's key purges its own)")
	if err := fs.Parse(args[1:]); err != nil {
		return usageCode(err)
	}
	if extraArgs(fs, stderr, "cache purge") {
		return 2
	}
	c, ok := conn.client(5*time.Minute, "cache", stderr)
	if !ok {
		return 2
	}
	path := "/admin/cache"
	if *tenant != "" {
		path += "?tenant_id=" + url.QueryEscape(*tenant)
	}
	var out struct {
		Purged int
		Scope  string // if the API says what it purged
	}
	if err := c.do("DELETE", path, nil, &out); err != nil {
		fmt.Fprintf(stderr, "switchyard cache purge: %v\n", err)
		return 1
	}
	scope := "all tenants"
	switch {
	case *tenant != "":
		scope = "tenant " + *tenant
	case out.Scope != "":
		scope = out.Scope
	default:
		// A tenant admin's key purges its own tenant, whatever it names:
		// ask the API whose the key is.
		var who struct {
			TenantID string `json:"tenant_id"`
		}
		if err := c.do("GET", "/admin/whoami", nil, &who); err != nil {
			scope = "the tenants your key may purge"
		} else if who.TenantID != "" {
			scope = "tenant " + who.TenantID
		}
	}
	fmt.Fprintf(stdout, "purged %d cached answers (%s)\n", out.Purged, scope)
	return 0
}
