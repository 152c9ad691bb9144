// Command switchyard is the Switchyard LLM gateway: one OpenAI- and
// Anthropic-compatible endpoint in front of many model deployments.
//
// Usage:
//
//	switchyard serve [--config FILE] [--listen ADDR]   run the gateway (demo mode without --config)
//	switchyard check --config FILE                     validate a config file
//	switchyard sim [--listen ADDR] [--config FILE]     run the simulated provider
//	switchyard route train|eval|explain|export ...     train, evaluate the learned router; explain a decision; export rated traffic
//	switchyard bench --url URL [--rate N --duration D | --max --connections N]  load generator
//	switchyard keys create|list|revoke|rotate ...      manage virtual API keys
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/switchyard-gw/switchyard/internal/app"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/learned"
	"github.com/switchyard-gw/switchyard/internal/redisbacked"
	"github.com/switchyard-gw/switchyard/internal/sim"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: switchyard <command> [flags]

commands:
  serve   run the gateway (demo mode with simulated models when --config is not given)
  check   validate a config file without serving
  sim     run the simulated provider on its own
  bench   load-test any OpenAI-compatible endpoint (open-loop at a fixed rate, or max throughput)
  keys    manage virtual API keys through the admin API (keys create|list|revoke|rotate)
  cache   empty the response cache through the admin API (cache purge [--tenant T])
  route   train or evaluate the learned router, explain a routing decision, or export rated traffic
          as training data (route train|eval|explain|export)
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return cmdServe(args[1:], stdout, stderr)
	case "check":
		return cmdCheck(args[1:], stdout, stderr)
	case "sim":
		return cmdSim(args[1:], stdout, stderr)
	case "route":
		return cmdRoute(args[1:], stdout, stderr)
	case "keys":
		return cmdKeys(args[1:], stdout, stderr)
	case "cache":
		return cmdCache(args[1:], stdout, stderr)
	case "bench":
		return cmdBench(args[1:], stdout, stderr)
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "switchyard: unknown command %q\n%s", args[0], usage)
	return 2
}

func newLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// signalContext ends on SIGINT or SIGTERM, which start a graceful drain.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func cmdServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "config file (YAML); without it, demo mode with simulated models")
	listen := fs.String("listen", "", "listen address, overrides server.listen")
	if err := fs.Parse(args); err != nil {
		return usageCode(err)
	}
	if extraArgs(fs, stderr, "serve") {
		return 2
	}
	ctx, stop := signalContext()
	defer stop()
	level := new(slog.LevelVar) // set from log.level once the config is read
	log := app.NewLogger(stderr, level)
	redisbacked.LogTo(log)
	var started atomic.Bool
	err := app.Serve(ctx, app.Options{
		ConfigPath: *cfgPath,
		Listen:     *listen,
		Stdout:     stdout,
		Logger:     log,
		LogLevel:   level,
		Signals:    true,
		Started:    func(string) { started.Store(true) },
	})
	if err != nil {
		// Why serve stopped is a JSON log line like the others (a store,
		// queue or port it could not reach would otherwise leave a log
		// pipeline a crash-looping process and no parsed reason), then
		// the same words in plain text for a person at a terminal. The
		// error masks passwords in URLs already.
		msg := "start-up failed"
		if started.Load() {
			msg = "serve failed"
		}
		log.Error(msg, "err", err.Error())
		fmt.Fprintf(stderr, "switchyard: %v\n", err)
		return 1
	}
	return 0
}

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "config file to validate")
	if err := fs.Parse(args); err != nil {
		return usageCode(err)
	}
	if extraArgs(fs, stderr, "check") {
		return 2
	}
	if *cfgPath == "" {
		fmt.Fprintln(stderr, "switchyard check: --config is required")
		return 2
	}
	cfg, err := config.Load(*cfgPath)
	if err == nil {
		// What serve would refuse at start-up without connecting: a
		// router file that does not load, a store, Redis or NATS URL its
		// client cannot take, an open gateway off loopback.
		err = app.Check(cfg)
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: invalid\n%v\n", *cfgPath, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok (%d providers, %d deployments, %d routes)\n", *cfgPath, len(cfg.Providers), len(cfg.Deployments), len(cfg.Routes))
	return 0
}

func cmdSim(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:9090", "listen address")
	cfgPath := fs.String("config", "", "simulated models and faults (YAML); default: the demo models")
	if err := fs.Parse(args); err != nil {
		return usageCode(err)
	}
	if extraArgs(fs, stderr, "sim") {
		return 2
	}
	cfg := sim.DefaultConfig()
	if *cfgPath != "" {
		c, err := sim.LoadConfig(*cfgPath)
		if err != nil {
			fmt.Fprintf(stderr, "switchyard sim: %v\n", err)
			return 1
		}
		cfg = c
	}
	ctx, stop := signalContext()
	defer stop()
	if err := runSim(ctx, *listen, cfg, stdout, newLogger(stderr, slog.LevelInfo)); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "switchyard sim: %v\n", err)
		return 1
	}
	return 0
}

// runSim is sim.Run that prints the banner once the listener is bound,
// with the address bound (a port in use or a bad address prints none; :0
// prints the port chosen), as serve does.
func runSim(ctx context.Context, addr string, cfg sim.Config, stdout io.Writer, log *slog.Logger) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("sim: listen: %w", err)
	}
	log.Info("sim: serving", "addr", ln.Addr().String(), "models", len(cfg.Models))
	fmt.Fprintf(stdout, "simulated provider on http://%s (OpenAI: /v1/chat/completions, Anthropic: /v1/messages)\n", ln.Addr())
	return sim.New(cfg, sim.WithLogger(log)).Serve(ctx, ln)
}

const routeUsage = `usage: switchyard route <train|eval|explain|export> [flags]

  train    train a learned router from per-prompt results (--data DIR ... --out FILE)
  eval     evaluate a router on a data set (--router FILE --data DIR)
  explain  show how a config routes a request (--config FILE, the request on stdin)
  export   write rated, captured traffic as training data (--config FILE --out DIR)

switchyard route <subcommand> --help shows a subcommand's flags.
`

func cmdRoute(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, routeUsage)
		return 2
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, routeUsage)
		return 0
	}
	switch args[0] {
	case "train":
		return learned.TrainMain(args[1:], stdout, stderr)
	case "eval":
		return learned.EvalMain(args[1:], stdout, stderr)
	case "explain":
		return cmdRouteExplain(args[1:], os.Stdin, stdout, stderr)
	case "export":
		return cmdRouteExport(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "switchyard route: unknown subcommand %q\n", args[0])
	return 2
}

// extraArgs reports (on stderr) an argument left after cmd's flags, which
// the command takes none of: the flag package stops at the first one, so
// flags after it would be dropped silently.
func extraArgs(fs *flag.FlagSet, stderr io.Writer, cmd string) bool {
	if fs.NArg() == 0 {
		return false
	}
	fmt.Fprintf(stderr, "switchyard %s: unexpected argument %q (flags go before arguments; this command takes none)\n", cmd, fs.Arg(0))
	return true
}

// usageCode is the exit status of a command whose flags did not parse: 0
// for -h/--help (the usage was asked for, and printed), 2 otherwise.
// isHelp reports whether arg asks for a command's usage.
func isHelp(arg string) bool {
	switch arg {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}

func usageCode(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}
