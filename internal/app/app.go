// Package app wires Switchyard's parts into a running gateway: config (or the
// demo), the simulated provider in demo mode, the executor, the gateway, the
// HTTP server, metrics, hot reload and graceful shutdown. main calls Serve;
// end-to-end tests call it too, on 127.0.0.1:0.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/gateway"
	"github.com/switchyard-gw/switchyard/internal/reqid"
	"github.com/switchyard-gw/switchyard/internal/server"
	"github.com/switchyard-gw/switchyard/internal/sim"
	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/telemetry"
)

// Options say what to serve.
type Options struct {
	// ConfigPath is the YAML file; empty runs the demo (simulated provider
	// on a loopback port and the demo config).
	ConfigPath string
	// Listen overrides server.listen when set.
	Listen string
	// Stdout receives the human-readable banner; Logger the JSON logs.
	Stdout io.Writer
	Logger *slog.Logger
	// Started, if set, receives the gateway's base URL once it listens.
	Started func(baseURL string)
	// Signals enables SIGHUP reload (caught from the start of Serve, so
	// one sent during start-up does not end the process); tests leave it
	// off and call nothing.
	Signals bool
	// LogLevel, if set, is the level of Logger; Serve sets it from the
	// config's log.level (and again on reload).
	LogLevel *slog.LevelVar
}

// setLevel applies the config's log level to v.
func setLevel(v *slog.LevelVar, level string) {
	if v == nil {
		return
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err == nil {
		v.Set(l)
	}
}

// Serve runs the gateway until ctx ends, then drains and returns.
func Serve(ctx context.Context, opts Options) error {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	// SIGHUP is caught before anything else: its default action ends the
	// process, and a deploy script may send it as soon as it has written
	// the file. One that comes during start-up waits in the channel and
	// reloads the file once the gateway runs; the demo has none to reload.
	var hup chan os.Signal
	if opts.Signals {
		hup = make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := telemetry.NewMetrics(reg)

	var cfg *config.Config
	demo := opts.ConfigPath == ""
	// applyConfig takes each reloaded config once the gateway exists; the
	// first load (below) only keeps it.
	var applyConfig func(*config.Config) error
	var watcher *config.Watcher
	if demo {
		simSrv, simURL, stopSim, err := sim.Start(sim.DefaultConfig())
		if err != nil {
			return fmt.Errorf("app: start simulated provider: %w", err)
		}
		_ = simSrv
		defer stopSim()
		cfg = config.Demo(simURL)
		// The demo's admin API and dashboard: loopback, a port of its
		// own, and a key made for this run (printed in the banner).
		// Clients still need no key: the demo stays open.
		key, err := demoAdminKey()
		if err != nil {
			return err
		}
		cfg.Admin.Key, cfg.Admin.Listen = config.Secret(key), "127.0.0.1:0"
	} else {
		// Load through the watcher, so an edit made between this load and
		// the watch starting is still noticed.
		watcher = config.NewWatcher(opts.ConfigPath, log, func(c *config.Config) error {
			if applyConfig == nil {
				// The level applies before the watcher's "config
				// loaded" line, which it then governs like any other.
				cfg = c
				setLevel(opts.LogLevel, c.Log.Level)
				return nil
			}
			return applyConfig(c)
		})
		watcher.OnError = func(error) { metrics.ConfigLoad.WithLabelValues("error").Inc() }
		if err := watcher.Reload(); err != nil {
			return err
		}
	}
	metrics.ConfigLoad.WithLabelValues("ok").Inc()
	setLevel(opts.LogLevel, cfg.Log.Level)
	listen := cfg.Server.Listen
	if opts.Listen != "" {
		listen = opts.Listen
		if !demo {
			// The file's rules for server.listen hold for the flag that
			// overrides it (admin.listen must differ from it), or the
			// admin API would take the port first and serving fail with
			// a bare "address already in use".
			c := *cfg
			c.Server.Listen = listen
			if err := c.Validate(); err != nil {
				return fmt.Errorf("app: --listen %s: %w", listen, err)
			}
		}
	}
	open := demo || openGateway(cfg)
	rc, err := buildCache(cfg, log)
	if err != nil {
		return err
	}
	defer rc.close()
	ten, err := buildTenancyOpen(ctx, cfg, log, open, rc)
	if err != nil {
		return err
	}
	defer ten.Close()
	reg.MustRegister(ten.Collectors()...)
	if open {
		if err := checkOpenListen(listen); err != nil {
			return err
		}
		log.Warn("no API key configured: serving without authentication on loopback only", "listen", listen)
	}

	tracing, err := telemetry.NewTracing(ctx, cfg.Telemetry)
	if err != nil {
		return err
	}
	tracing.LogErrors(log)
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := tracing.Shutdown(sctx); err != nil {
			log.Warn("flush traces", "err", err)
		}
	}()
	start, startCache := cfg, cfg.Cache
	exec := executor.New(gateway.ExecutorOptions(cfg))
	gw := gateway.New(gateway.Options{Logger: log, Metrics: metrics, Executor: exec, Guard: ten.Guard, Recorder: ten.Recorder, Tracer: tracing, Cache: rc.store, Semantic: rc.semantic, Affinity: rc.affinity})
	if err := gw.Apply(cfg); err != nil {
		return err
	}
	bat, err := buildBatches(ctx, cfg, ten, gw.Handler(), metrics, log)
	if err != nil {
		return err
	}
	defer bat.Close()
	srv := server.New(server.Options{
		API:               gw.RefuseBrowsers(bat.Handler, ten.Open),
		Ready:             gw.Ready,
		Gatherer:          reg,
		InFlight:          metrics.InFlight,
		Logger:            log,
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout.D(),
		ReadTimeout:       cfg.Server.ReadTimeout.D(),
		IdleTimeout:       cfg.Server.IdleTimeout.D(),
		ShutdownTimeout:   cfg.Server.ShutdownTimeout.D(),
		SendTimeout:       cfg.Server.SendTimeout.D(),
		ShutdownDelay:     cfg.Server.ShutdownDelay.D(),
		Drain:             gw.CloseSessions,
		AbortCause:        gateway.ErrShuttingDown,
		Refused:           accountRefusal(metrics, ten.Recorder, gw),
	})
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("app: listen: %w", err)
	}
	base := "http://" + ln.Addr().String()
	printBanner(opts.Stdout, base, demo, cfg)
	switch {
	case demo && ten.AdminAddr != "":
		fmt.Fprintf(opts.Stdout, "Dashboard on http://%s/dashboard/ (admin key for this run: %s)\n", ten.AdminAddr, cfg.Admin.Key.Value())
	case ten.AdminAddr != "":
		fmt.Fprintf(opts.Stdout, "Admin API and dashboard on http://%s (/dashboard/)\n", ten.AdminAddr)
	}
	if opts.Started != nil {
		opts.Started(base)
	}

	// The tenancy layer (admin API, usage ledger) outlives the server's
	// drain, so the last requests' usage records are written on SIGTERM.
	tctx, tcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer tcancel()
	tdone := make(chan error, 1)
	go func() { tdone <- ten.Run(tctx) }()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Batch workers stop with the server; their last lines' usage records
	// reach the ledger before it stops (below).
	bdone := make(chan error, 1)
	go func() { bdone <- bat.Run(ctx) }()
	circuitsDone := shareCircuits(ctx, ten, exec, log)
	semanticDone := rc.shareSemantic(ctx, semanticOn(gw))
	done := make(chan struct{})
	if !demo {
		w := watcher
		applyConfig = func(c *config.Config) error {
			if err := ten.Check(c); err != nil {
				return err
			}
			if err := gw.Apply(c); err != nil {
				return err
			}
			ten.Apply(c)
			warnCacheRestart(log, startCache, c.Cache)
			warnRestart(log, start, c, opts.Listen != "")
			if changed, err := tracing.Apply(ctx, c.Telemetry); err != nil {
				log.Error("tracing reconfiguration failed; keeping the running exporter", "err", err)
			} else if changed {
				log.Info("tracing reconfigured", "enabled", c.Telemetry.OTLPEndpoint != "")
			}
			setLevel(opts.LogLevel, c.Log.Level)
			metrics.ConfigLoad.WithLabelValues("ok").Inc()
			return nil
		}
		go func() {
			defer close(done)
			if err := w.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				log.Error("config watcher stopped", "err", err)
			}
		}()
		if hup != nil {
			go func() {
				for {
					select {
					case <-ctx.Done():
						return
					case <-hup:
						_ = w.Reload() // OnError counts a rejected file
					}
				}
			}()
		}
	} else {
		close(done)
	}
	err = srv.Serve(ctx, ln)
	cancel()
	<-done
	<-bdone
	circuitsDone()
	semanticDone()
	gw.Close()
	tcancel()
	if terr := <-tdone; terr != nil && !errors.Is(terr, context.Canceled) {
		log.Error("tenancy stopped", "err", terr)
	}
	return err
}

// accountRefusal is server.Options.Refused: a request the server refused
// before any endpoint ran (405, 415) gets its usage record, its
// requests_total sample and its span, as the gateway gives a request
// refused before its key was read (a 401: no tenant, route or deployment).
func accountRefusal(m *telemetry.Metrics, rec gateway.Recorder, gw *gateway.Gateway) func(*http.Request, int, string, time.Time) {
	return func(r *http.Request, status int, code string, start time.Time) {
		m.Requests.WithLabelValues("", "", strconv.Itoa(status)).Inc()
		rec.Enqueue(store.UsageRecord{RequestID: reqid.From(r.Context()), Time: start, Status: status,
			ErrorCode: code, Latency: time.Since(start)})
		gw.TraceRefusal(r, status, code, start)
	}
}

// demoAdminKey is a random admin key for one demo run.
func demoAdminKey() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("app: demo admin key: %w", err)
	}
	return "sy-demo-" + hex.EncodeToString(b[:]), nil
}

func printBanner(w io.Writer, base string, demo bool, cfg *config.Config) {
	fmt.Fprintf(w, "Switchyard is serving on %s\n", base)
	if demo {
		fmt.Fprintf(w, "Demo mode: simulated models behind routes")
		for _, r := range cfg.Routes {
			fmt.Fprintf(w, " %s", r.Name)
		}
		fmt.Fprintf(w, " and deployments")
		for _, d := range cfg.Deployments {
			fmt.Fprintf(w, " %s", d.Name)
		}
		fmt.Fprintln(w)
	}
	// With client keys the request needs one: a placeholder, never a key.
	auth, keyNote := "", ""
	if !demo && !openGateway(cfg) {
		auth = ` -H "Authorization: Bearer $SWITCHYARD_API_KEY"`
		keyNote = "  (set SWITCHYARD_API_KEY to a client key: one of server.api_keys, or a virtual key from switchyard keys create)\n"
	}
	fmt.Fprintf(w, "Try:\n  curl %s/v1/chat/completions -H 'Content-Type: application/json'%s -d '{\"model\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}'\n%s", base, auth, firstRoute(cfg), keyNote)
	fmt.Fprintf(w, "OpenAI SDK base URL: %s/v1   Anthropic SDK base URL: %s\n", base, base)
}

func firstRoute(cfg *config.Config) string {
	if len(cfg.Routes) > 0 {
		return cfg.Routes[0].Name
	}
	if len(cfg.Deployments) > 0 {
		return cfg.Deployments[0].Name
	}
	return "auto"
}
