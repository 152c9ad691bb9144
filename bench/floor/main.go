// Command floor is the benchmark floor: a bare httputil.ReverseProxy to one
// upstream, with nothing else in the request path. bench/run.sh measures
// Switchyard against it in the same run, because ratios to a floor hold on
// a noisy machine where absolute times do not.
//
//	go run ./bench/floor --listen 127.0.0.1:8081 --upstream http://127.0.0.1:9090
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8081", "listen address")
	upstream := fs.String("upstream", "http://127.0.0.1:9090", "upstream base URL")
	conns := fs.Int("conns", 1024, "idle upstream connections kept per host")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	target, err := url.Parse(*upstream)
	if err != nil || target.Host == "" {
		fmt.Fprintf(stderr, "floor: bad --upstream %q\n", *upstream)
		return 2
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
		},
		Transport: &http.Transport{
			MaxIdleConns:        *conns,
			MaxIdleConnsPerHost: *conns,
			IdleConnTimeout:     90 * time.Second,
		},
		// Flush every write, so SSE passes through as it arrives.
		FlushInterval: -1,
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "floor: %v\n", err)
		return 1
	}
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	fmt.Fprintf(stderr, "floor: proxying http://%s -> %s\n", ln.Addr(), target)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "floor: %v\n", err)
		stop()
		<-done
		return 1
	}
	<-done
	return 0
}
