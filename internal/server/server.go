// Package server runs Switchyard's client-facing HTTP server: the HTTP-wide
// middleware (panic recovery, request ids, in-flight gauge, refusing
// bodies in a content coding, ending the requests of clients that left
// unanswered), health and readiness probes, the metrics endpoint, and
// graceful shutdown. The LLM endpoints themselves are the gateway's
// handler, mounted here by main.
package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchyard-gw/switchyard/internal/anthropicapi"
	"github.com/switchyard-gw/switchyard/internal/httpmux"
	"github.com/switchyard-gw/switchyard/internal/openaiapi"
	"github.com/switchyard-gw/switchyard/internal/reqid"
)

// Options configure a Server.
type Options struct {
	// API is the handler for everything that is not a probe or /metrics.
	API http.Handler
	// Ready reports whether the process can take traffic (config loaded).
	Ready func() bool
	// Gatherer serves /metrics; nil disables the endpoint.
	Gatherer prometheus.Gatherer
	// InFlight, if set, counts requests being served.
	InFlight prometheus.Gauge
	Logger   *slog.Logger
	// ReadHeaderTimeout and IdleTimeout protect against slow clients.
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	// ReadTimeout bounds reading a whole request, body included; 0 means
	// 60s. net/http lifts the connection's read deadline once the body is
	// read, so it never cuts a long answer or stream.
	ReadTimeout time.Duration
	// ShutdownTimeout is how long Serve waits for in-flight requests and
	// streams after its context ends.
	ShutdownTimeout time.Duration
	// ShutdownDelay, if positive, is how long Serve keeps serving, with
	// /readyz answering 503, after its context ends and before it stops
	// accepting connections: time for load balancers to take the replica
	// out of rotation, so no client is refused a connection meanwhile.
	ShutdownDelay time.Duration
	// SendTimeout, if positive, ends the writes to a client that stopped
	// reading: a write to a connection that makes no progress for that
	// long fails, as if the client had hung up (nginx's send_timeout).
	SendTimeout time.Duration
	// Drain, if set, ends the connections handlers took over from the
	// server (Realtime API WebSockets), which its shutdown does not wait
	// for, and waits for their handlers to finish or ctx to end.
	Drain func(ctx context.Context) error
	// Refused, if set, is told of each client request refused before any
	// endpoint ran (a wrong method, a body in a content coding), which
	// nothing else accounts for, after its request log line: the app
	// writes its usage record and requests_total sample.
	Refused func(r *http.Request, status int, code string, start time.Time)
	// AbortCause, if set, ends the requests still running when
	// ShutdownTimeout has passed: their contexts are cancelled with it as
	// the cause (context.Cause), so a handler can tell its client why in a
	// way it can read (an in-band error), and they get AbortGrace more to
	// write it before the connections close.
	AbortCause error
}

// Server is the HTTP server.
type Server struct {
	opts  Options
	srv   *http.Server
	base  context.Context         // every request's context derives from it
	abort context.CancelCauseFunc // ends base (see Options.AbortCause)
	// handlers counts the handlers running, so that Serve returns after
	// those whose connections it closed have accounted for their requests.
	handlers inflight
	// closeWait bounds that wait (CloseWait).
	closeWait time.Duration
	// stopping is set once Serve's context ended: /readyz then answers
	// 503 whatever Ready says.
	stopping atomic.Bool
}

// inflight counts handlers and tells when none is left.
type inflight struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to 0; nil until waited on
}

func (r *inflight) enter() {
	r.mu.Lock()
	r.n++
	r.mu.Unlock()
}

func (r *inflight) leave() {
	r.mu.Lock()
	if r.n--; r.n == 0 && r.idle != nil {
		close(r.idle)
		r.idle = nil
	}
	r.mu.Unlock()
}

// wait waits until no handler is running or ctx ends, and returns how
// many are still running.
func (r *inflight) wait(ctx context.Context) int {
	r.mu.Lock()
	if r.n == 0 {
		r.mu.Unlock()
		return 0
	}
	if r.idle == nil {
		r.idle = make(chan struct{})
	}
	idle := r.idle
	r.mu.Unlock()
	select {
	case <-idle:
	case <-ctx.Done():
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// New returns a server; call Serve to run it.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Ready == nil {
		opts.Ready = func() bool { return true }
	}
	if opts.ReadHeaderTimeout <= 0 {
		opts.ReadHeaderTimeout = 10 * time.Second
	}
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = 60 * time.Second
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 30 * time.Second
	}
	s := &Server{opts: opts, closeWait: CloseWait}
	// A wrong method the API's mux refuses (httpmux.HandleWrongMethods)
	// gets its request line here, as a refused content coding does.
	s.base, s.abort = context.WithCancelCause(httpmux.WithRefusals(context.Background(), s.methodRefused))
	s.srv = &http.Server{
		BaseContext:       func(net.Listener) context.Context { return s.base },
		Handler:           s.Handler(),
		ReadHeaderTimeout: opts.ReadHeaderTimeout,
		ReadTimeout:       opts.ReadTimeout,
		IdleTimeout:       opts.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
	}
	return s
}

// Handler returns the full handler: probes, metrics and the API behind the
// middleware.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeProbe(w, true)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		writeProbe(w, !s.stopping.Load() && s.opts.Ready())
	})
	probes := []string{"/healthz", "/readyz"}
	if s.opts.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.opts.Gatherer, promhttp.HandlerOpts{}))
		probes = append(probes, "/metrics")
	}
	for _, p := range probes {
		// Another method is answered here, in the probes' plain text,
		// not by the API's 404. One method-less pattern per path: a
		// pattern per method would grow the tree every API request
		// walks (ServeMux allocates as it matches them).
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		})
	}
	var h http.Handler = mux
	if s.opts.API != nil {
		// Only client requests are in flight: not probes and scrapes
		// (a scrape would always see itself).
		api := s.identityOnly(s.count(s.opts.API))
		mux.Handle("/", api)
		// A path ServeMux would clean (//, /./, /../) is the API's to
		// answer (an error in its format), not a redirect that has the
		// client send its POST again elsewhere.
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if httpmux.Unclean(r.URL.Path) {
				api.ServeHTTP(w, r)
				return
			}
			mux.ServeHTTP(w, r)
		})
	}
	return s.track(reqid.Middleware(s.abandon(s.recover(h))))
}

// track counts the handler running in s.handlers.
func (s *Server) track(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.handlers.enter()
		defer s.handlers.leave()
		next.ServeHTTP(w, r)
	})
}

func writeProbe(w http.ResponseWriter, ok bool) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// identityOnly refuses a request whose body comes in a content coding
// (Content-Encoding gzip, deflate, br, ...) with a 415 that names it and,
// as RFC 7694 asks, Accept-Encoding: identity. Nothing behind the server
// decodes one: the body would be refused as malformed JSON or multipart,
// sending the client after a bug it does not have. The error is in the
// API's format: Anthropic's for its paths and clients (anthropic-version
// or x-api-key, as the gateway tells them), else OpenAI's. The refusal
// gets its request log line.
func (s *Server) identityOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		coding := httpmux.ContentCoding(r)
		if coding == "" {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		w.Header().Set("Accept-Encoding", "identity")
		msg := httpmux.CodingRefusal(coding)
		const code = "unsupported_content_encoding"
		if anthropicRequest(r) {
			anthropicapi.WriteError(w, http.StatusUnsupportedMediaType, "invalid_request_error", msg)
			s.logRefusal(r, "anthropic", http.StatusUnsupportedMediaType, code, start)
			return
		}
		openaiapi.WriteError(w, http.StatusUnsupportedMediaType, code, msg)
		s.logRefusal(r, "openai", http.StatusUnsupportedMediaType, code, start)
	})
}

// methodRefused logs a wrong method the API refused (httpmux.Refusals).
// Its answer is in Anthropic's format on the Messages API's paths and for
// Anthropic's clients, else OpenAI's (gateway.Handler).
func (s *Server) methodRefused(r *http.Request, status int, code string, start time.Time) {
	dialect := "openai"
	if anthropicRequest(r) {
		dialect = "anthropic"
	}
	s.logRefusal(r, dialect, status, code, start)
}

// anthropicRequest reports whether r's refusal is in Anthropic's format:
// on the Messages API's paths, and for Anthropic's clients (anthropic-version
// or x-api-key), as the gateway tells them.
func anthropicRequest(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/v1/messages") || r.Header["Anthropic-Version"] != nil || r.Header["X-Api-Key"] != nil
}

// logRefusal writes the request log line (operations.md) of a client
// request refused before any endpoint ran, so nothing else accounts for
// it: the gateway's line (gateway/account.go), field for field, with
// what such a request has (no key checked, no model read, nothing
// routed); then Options.Refused accounts for it.
func (s *Server) logRefusal(r *http.Request, dialect string, status int, code string, start time.Time) {
	ctx := r.Context()
	if s.opts.Refused != nil {
		defer s.opts.Refused(r, status, code, start)
	}
	s.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "request",
		slog.String("request_id", reqid.From(ctx)),
		slog.String("client_request_id", reqid.Client(ctx)),
		slog.String("dialect", dialect),
		slog.String("tenant", ""),
		slog.String("key_id", ""),
		slog.String("route", ""),
		slog.String("policy", ""),
		slog.String("reason", ""),
		slog.String("arm", ""),
		slog.String("deployment", ""),
		slog.String("model", ""),
		slog.Int("attempts", 0),
		slog.Int("status", status),
		slog.String("error", code),
		slog.Bool("stream", false),
		slog.Bool("cache_hit", false),
		slog.Bool("partial", false),
		slog.Float64("latency_ms", float64(time.Since(start).Microseconds())/1000),
		slog.Float64("ttft_ms", 0),
		slog.Int("input_tokens", 0),
		slog.Int("cached_input_tokens", 0),
		slog.Int("cache_write_tokens", 0),
		slog.Int("output_tokens", 0),
		slog.Bool("tokens_estimated", false),
		slog.Float64("cost_usd", 0),
	)
}

func (s *Server) count(next http.Handler) http.Handler {
	if s.opts.InFlight == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.opts.InFlight.Inc()
		defer s.opts.InFlight.Dec()
		next.ServeHTTP(w, r)
	})
}

// recover turns a handler panic into a 500 (if nothing was written yet) and a
// log line, instead of a dead connection with no trace. http.ErrAbortHandler
// is the deliberate way to abort a response and passes through.
func (s *Server) recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.opts.Logger.Error("panic serving request", "request_id", reqid.From(r.Context()), "client_request_id", reqid.Client(r.Context()), "path", r.URL.Path, "panic", fmt.Sprint(v))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"error":{"message":"internal error","type":"api_error","code":"internal_error"}}`))
		}()
		next.ServeHTTP(w, r)
	})
}

// abandon ends the connection of a request whose client went away before
// anything was written, instead of completing its response. Its handler,
// finding nobody listening, accounts for it (499 client_cancelled) and
// writes nothing, which net/http would complete as an implicit 200 OK
// with an empty body: a client that had only half-closed its side, as
// nc -N and some proxies do, would read that as a success. The abort
// comes once the handler has returned, its usage record and log line
// written, and as http.ErrAbortHandler, which net/http does not log. A
// request the server itself ended at shutdown (Options.AbortCause) is
// left as its handler answered it.
func (s *Server) abandon(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		aw := &answered{ResponseWriter: w}
		next.ServeHTTP(aw, r)
		if !aw.begun && r.Context().Err() != nil && s.base.Err() == nil {
			panic(http.ErrAbortHandler)
		}
	})
}

// answered is a ResponseWriter that notes whether its response was begun
// (a final status, a byte of body or a flush) or its connection taken
// over. What it does not implement itself (deadlines, full duplex) a
// ResponseController finds through Unwrap.
type answered struct {
	http.ResponseWriter
	begun bool
}

var (
	_ http.Flusher  = (*answered)(nil)
	_ http.Hijacker = (*answered)(nil)
)

func (w *answered) WriteHeader(code int) {
	// A 1xx other than 101 is informational: the response is still to
	// come.
	if code >= 200 || code == http.StatusSwitchingProtocols {
		w.begun = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *answered) Write(p []byte) (int, error) {
	w.begun = true
	return w.ResponseWriter.Write(p)
}

func (w *answered) Flush() { _ = w.FlushError() }

// FlushError is what a ResponseController's Flush calls.
func (w *answered) FlushError() error {
	w.begun = true
	return http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *answered) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.begun = true
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

func (w *answered) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// AbortGrace is how long requests ended by Options.Abort have to write
// their last bytes before their connections are closed.
const AbortGrace = 2 * time.Second

// CloseWait is how long Serve waits, once it has closed the connections
// left after the shutdown deadline, for their handlers to return: a
// handler blocked writing to a client slow to read finds its write failed
// and still has its usage record and log line to write, which must reach
// the usage ledger before the caller stops it.
const CloseWait = 5 * time.Second

// Serve serves on ln until ctx ends, then stops accepting, waits up to
// ShutdownTimeout for in-flight requests and streams to finish, and closes
// whatever is left. It returns once the handlers of the connections it
// closed have returned (up to CloseWait), so that what they account for
// is done when Serve returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.opts.SendTimeout > 0 {
		g := newStallGuard(s.opts.SendTimeout, func(remote net.Addr) {
			s.opts.Logger.Warn("client stopped reading; ending its response", "remote", remote.String(), "send_timeout", s.opts.SendTimeout.String())
		})
		done := make(chan struct{})
		defer close(done)
		go g.run(done)
		ln = g.listener(ln)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.stopping.Store(true)
	if d := s.opts.ShutdownDelay; d > 0 {
		s.opts.Logger.Info("shutting down: /readyz answers 503; serving on until the delay has passed", "shutdown_delay", d.String())
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case err := <-errc:
			t.Stop()
			return err
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	var drained chan error
	if s.opts.Drain != nil {
		drained = make(chan error, 1)
		go func() { drained <- s.opts.Drain(sctx) }()
	}
	err := s.srv.Shutdown(sctx)
	if drained != nil {
		if derr := <-drained; derr != nil && err == nil {
			err = derr
		}
	}
	if err != nil && s.opts.AbortCause != nil {
		s.opts.Logger.Warn("shutdown deadline passed; ending the remaining requests", "err", err)
		s.abort(s.opts.AbortCause)
		actx, cancel := context.WithTimeout(context.Background(), AbortGrace)
		err = s.srv.Shutdown(actx)
		cancel()
	}
	if err != nil {
		s.opts.Logger.Warn("shutdown deadline passed; closing remaining connections", "err", err)
		_ = s.srv.Close()
		// Close does not wait for the handlers of the connections it
		// closed.
		wctx, cancel := context.WithTimeout(context.Background(), s.closeWait)
		n := s.handlers.wait(wctx)
		cancel()
		if n > 0 {
			s.opts.Logger.Warn("requests still running after their connections were closed; not waiting for them", "requests", n, "waited", s.closeWait.String())
		}
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return nil
}

// IsLoopback reports whether addr (host:port) binds only loopback addresses.
// An empty host binds every interface and is not loopback.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
