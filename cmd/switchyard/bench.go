package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	neturl "net/url"
	"os"
	"strings"
	"time"

	"github.com/switchyard-gw/switchyard/internal/loadgen"
)

const benchUsage = `usage: switchyard bench --url URL [flags]

Sends chat completion requests to any OpenAI-compatible endpoint and reports
latency percentiles, throughput and errors.

Open loop (default): requests are scheduled at a fixed --rate whatever the
server does, and latency counts from each request's scheduled time, so a
slow server cannot hide latency by slowing the load (coordinated omission).
Closed loop (--max): --connections workers send back to back, for maximum
throughput. Both stop at --duration or after --requests, whichever is first.

flags:
`

// redactURL is raw with a password in it masked as Go's HTTP client masks it
// in its errors (user:***@host); a URL that does not parse is not printed.
func redactURL(raw string) string {
	u, err := neturl.Parse(raw)
	if err != nil {
		return "(a URL that does not parse)"
	}
	if _, has := u.User.Password(); has {
		return strings.Replace(u.String(), u.User.String()+"@", u.User.Username()+":***@", 1)
	}
	return raw
}

// cmdBench runs `switchyard bench`.
func cmdBench(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, benchUsage)
		fs.PrintDefaults()
	}
	url := fs.String("url", "http://127.0.0.1:8080/v1", "base URL of the OpenAI-compatible API (…/v1) or the full chat completions URL")
	model := fs.String("model", "auto", "model (or Switchyard route) to request; with --body, overrides the body's model unless empty")
	rate := fs.Float64("rate", 100, "open-loop requests per second")
	maxMode := fs.Bool("max", false, "closed loop: --connections workers back to back, for maximum throughput")
	conns := fs.Int("connections", loadgen.DefaultConnections, "closed-loop workers (with --max)")
	inFlight := fs.Int("max-in-flight", loadgen.DefaultMaxInFlight, "open loop: requests outstanding at most; more are dropped and counted as errors")
	duration := fs.Duration("duration", 10*time.Second, "how long to send")
	requests := fs.Int("requests", 0, "send at most this many requests (0: no count limit)")
	timeout := fs.Duration("timeout", loadgen.DefaultTimeout, "per-request timeout")
	stream := fs.Bool("stream", false, "request SSE streams; measures time to first token and checks for [DONE]")
	apiKey := fs.String("api-key", "", "sent as Authorization: Bearer (default: $SWITCHYARD_BENCH_API_KEY)")
	bodyPath := fs.String("body", "", "JSON request body file (default: a short one-message chat request); its stream field is set from --stream")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := fs.Parse(args); err != nil {
		return usageCode(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "switchyard bench: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"duration", *duration}, {"timeout", *timeout}} {
		if d.v < 0 {
			fmt.Fprintf(stderr, "switchyard bench: --%s %v must not be negative\n", d.name, d.v)
			return 2
		}
	}
	opts := loadgen.Options{
		URL: *url, Model: *model, Stream: *stream, Duration: *duration, Requests: *requests,
		Timeout: *timeout, MaxInFlight: *inFlight, Connections: *conns, APIKey: *apiKey,
	}
	if opts.APIKey == "" {
		opts.APIKey = os.Getenv("SWITCHYARD_BENCH_API_KEY")
	}
	if !*maxMode {
		if !(*rate > 0) || math.IsInf(*rate, 0) { // NaN fails the first test
			fmt.Fprintln(stderr, "switchyard bench: --rate must be a positive number (or use --max)")
			return 2
		}
		opts.Rate = *rate
	}
	if *bodyPath != "" {
		b, err := os.ReadFile(*bodyPath)
		if err != nil {
			fmt.Fprintf(stderr, "switchyard bench: %v\n", err)
			return 2
		}
		if !json.Valid(b) {
			fmt.Fprintf(stderr, "switchyard bench: %s is not valid JSON\n", *bodyPath)
			return 2
		}
		opts.Body = b
	}
	ctx, stop := signalContext()
	defer stop()
	res, err := loadgen.Run(ctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "switchyard bench: %v\n", err)
		return 2
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			fmt.Fprintf(stderr, "switchyard bench: %v\n", err)
			return 1
		}
	} else {
		loadgen.Format(stdout, redactURL(loadgen.Endpoint(*url)), res)
	}
	if res.Interrupted {
		fmt.Fprintf(stderr, "switchyard bench: interrupted: the figures cover the run until the signal; %d requests in flight were cut off (not counted as errors)\n", res.CutOff)
	}
	if res.OK == 0 {
		return 1
	}
	return 0
}
