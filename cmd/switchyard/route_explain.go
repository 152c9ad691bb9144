package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/anthropicapi"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/gateway"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/openaiapi"
	"github.com/switchyard-gw/switchyard/internal/router"
)

// headerFlags collects repeated --header "Name: value" flags.
type headerFlags http.Header

func (h headerFlags) String() string { return "" }

func (h headerFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("want \"Name: value\", got %q", v)
	}
	http.Header(h).Add(strings.TrimSpace(name), strings.TrimSpace(value))
	return nil
}

// cmdRouteExplain is `switchyard route explain`: it reads a chat request
// body from stdin and prints the routing decision as JSON, offline (no
// model is called; classify routes report their default). Exit status 0
// when a plan was made, 1 when the request cannot be routed, 2 on usage or
// input errors.
func cmdRouteExplain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("route explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "config file (YAML); without it, the demo config")
	dialect := fs.String("dialect", "openai", "request body dialect: openai or anthropic")
	tier := fs.String("tier", "", "the caller's key tier")
	tenant := fs.String("tenant", "", "the caller's tenant")
	key := fs.String("key", "", "the caller's key id (weighted routes stick to it)")
	headers := headerFlags(http.Header{})
	fs.Var(headers, "header", `a request header "Name: value" (repeatable), such as "X-Switchyard-Task: coding"`)
	if err := fs.Parse(args); err != nil {
		return usageCode(err)
	}
	if extraArgs(fs, stderr, "route explain") {
		return 2
	}
	var cfg *config.Config
	if *cfgPath == "" {
		cfg = config.Demo("http://127.0.0.1:8081")
	} else {
		var err error
		if cfg, err = config.Load(*cfgPath); err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
	}
	body, err := io.ReadAll(io.LimitReader(stdin, cfg.Server.MaxBodyBytes+1))
	if err != nil {
		fmt.Fprintf(stderr, "switchyard: read request: %v\n", err)
		return 2
	}
	if int64(len(body)) > cfg.Server.MaxBodyBytes {
		// Serving answers such a body 413; it is not malformed JSON.
		fmt.Fprintf(stderr, "switchyard: request: the body is larger than server.max_body_bytes (%d bytes); serving would refuse it (413)\n", cfg.Server.MaxBodyBytes)
		return 2
	}
	var req *llm.Request
	switch *dialect {
	case "openai":
		req, err = openaiapi.ParseChat(body)
	case "anthropic":
		req, err = anthropicapi.ParseChat(body)
	default:
		fmt.Fprintf(stderr, "switchyard: unknown dialect %q (want openai or anthropic)\n", *dialect)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "switchyard: request: %v\n", err)
		return 2
	}
	// The server's own explanation (POST /v1/route/explain): the plan
	// less the deployments serving would skip (require_params, a request
	// only its own API serves), refused as serving would refuse it.
	info := router.Info{Tier: *tier, TenantID: *tenant, KeyID: *key, Headers: http.Header(headers)}
	ex, routed, err := gateway.Explain(context.Background(), cfg, req.Dialect, req, info)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if werr := enc.Encode(ex); werr != nil {
		fmt.Fprintf(stderr, "switchyard: %v\n", werr)
		return 2
	}
	if !routed {
		return 1
	}
	return 0
}
