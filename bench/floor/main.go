// Command floor is the benchmark floor: a bare httputil.ReverseProxy to one
// upstream, with nothing else in the request path. bench/run.sh measures
// Switchyard against it in the same run, because ratios to a floor hold on
// a noisy machine where absolute times do not.
//
// The request body is read whole before proxying, as any LLM gateway does
// (it must parse it). Streaming it instead breaks a few percent of fast SSE
// answers: the HTTP/1 server closes the inbound body when the response
// headers go out, the transport's final read of that body then fails and
// the upstream connection is torn down mid-stream (golang/go#40747).
//
//	go run ./bench/floor --listen 127.0.0.1:8081 --upstream http://127.0.0.1:9090
package main

import (
	"bytes"
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

// maxBody bounds the buffered request body, like Switchyard's default.
const maxBody = 8 << 20

// bufferBody reads the request body whole, then hands the request on.
func bufferBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			http.Error(w, "floor: read request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
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
	srv := &http.Server{Handler: bufferBody(proxy), ReadHeaderTimeout: 10 * time.Second}
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
