// Package loadgen is Switchyard's HTTP load generator for OpenAI-compatible
// chat endpoints; `switchyard bench` and the benchmark scripts in bench/
// use it.
//
// It runs in one of two modes:
//
//   - Open loop (Rate > 0): request i is scheduled at start + i/Rate no
//     matter how many earlier requests have completed, and its latency is
//     measured from that scheduled time, not from when it was actually
//     sent. A slow server or a late sender therefore shows up in the
//     latency figures instead of silently lowering the offered load
//     (coordinated omission). At most MaxInFlight requests are outstanding;
//     a request scheduled while the cap is reached is not sent and counts
//     as dropped.
//   - Closed loop (Rate == 0): Connections workers each send their next
//     request as soon as the previous one completes, which measures
//     maximum throughput.
//
// Both modes stop at Duration or after Requests requests, whichever comes
// first, and then wait (at most Timeout) for requests in flight. Streaming
// requests (Stream) read the SSE answer, record the time to the first
// content token and fail when the stream does not end with "data: [DONE]".
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/sjson"
)

// Defaults applied to zero Options fields.
const (
	DefaultConnections = 50
	DefaultMaxInFlight = 1024
	DefaultTimeout     = 30 * time.Second
	DefaultMaxTokens   = 16
)

// Options configure one load run.
type Options struct {
	// URL is the endpoint's base URL, such as http://127.0.0.1:8080/v1;
	// requests go to URL + "/chat/completions" unless URL already ends in
	// "/chat/completions".
	URL string
	// Model is the "model" of every request; when Body is set and Model is
	// not empty, it replaces the body's model.
	Model string
	// APIKey, when set, is sent as "Authorization: Bearer APIKey". It is
	// never printed or stored in the Result.
	APIKey string
	// Body is the JSON request body; nil sends a short one-message chat
	// request. Its "stream" field is always set to Stream.
	Body []byte
	// Stream asks for SSE answers and measures time to first token.
	Stream bool
	// Rate is the open-loop request rate per second; 0 runs closed loop.
	Rate float64
	// Connections is the number of closed-loop workers; default 50.
	Connections int
	// MaxInFlight caps outstanding open-loop requests; default 1024.
	MaxInFlight int
	// Duration bounds the run's sending time. Requests bounds the number
	// of requests sent. At least one of them must be set.
	Duration time.Duration
	Requests int
	// Timeout bounds each request; default 30s.
	Timeout time.Duration
	// Client sends the requests; nil uses a client whose transport keeps
	// enough idle connections for the load.
	Client *http.Client
	// Now and Sleep are the clock; nil uses time.Now and a timer that ends
	// with ctx.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration)
}

// ErrNoBound is returned when neither Duration nor Requests is set.
var ErrNoBound = errors.New("loadgen: set a duration or a request count")

func (o *Options) setDefaults() error {
	if o.URL == "" {
		return errors.New("loadgen: url is required")
	}
	if o.Duration < 0 || o.Timeout < 0 {
		return errors.New("loadgen: duration and timeout must not be negative")
	}
	if o.Duration <= 0 && o.Requests <= 0 {
		return ErrNoBound
	}
	if o.Rate < 0 || o.Connections < 0 || o.MaxInFlight < 0 || o.Requests < 0 {
		return errors.New("loadgen: rate, connections, max in-flight and requests must not be negative")
	}
	if o.Connections == 0 {
		o.Connections = DefaultConnections
	}
	if o.MaxInFlight == 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleepCtx
	}
	if o.Client == nil {
		conns := o.Connections
		if o.Rate > 0 {
			conns = o.MaxInFlight
		}
		o.Client = &http.Client{Transport: NewTransport(conns)}
	}
	return nil
}

// NewTransport returns an HTTP transport for load: keep-alive with up to
// conns idle connections per host, no proxy from the environment and no
// transparent compression, so that it measures the server and not itself.
func NewTransport(conns int) *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Endpoint returns the chat completions URL for a base URL.
func Endpoint(base string) string {
	base = strings.TrimRight(base, "/")
	if strings.HasSuffix(base, "/chat/completions") {
		return base
	}
	return base + "/chat/completions"
}

// RequestBody returns the body sent for opts: Body (or a default chat
// request) with "stream" set and "model" replaced when Model is set.
func RequestBody(body []byte, model string, stream bool) ([]byte, error) {
	if len(body) == 0 {
		body = fmt.Appendf(nil, `{"model":%q,"messages":[{"role":"user","content":"Say hello in a few words."}],"max_tokens":%d}`, model, DefaultMaxTokens)
	} else if model != "" {
		var err error
		if body, err = sjson.SetBytes(body, "model", model); err != nil {
			return nil, fmt.Errorf("loadgen: set model: %w", err)
		}
	}
	out, err := sjson.SetBytes(body, "stream", stream)
	if err != nil {
		return nil, fmt.Errorf("loadgen: set stream: %w", err)
	}
	return out, nil
}

// Run sends the load opts describe and returns its figures. It returns an
// error only for bad options; failed requests are counted in the Result.
func Run(ctx context.Context, opts Options) (*Result, error) {
	own := opts.Client == nil
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	if own {
		defer opts.Client.CloseIdleConnections()
	}
	body, err := RequestBody(opts.Body, opts.Model, opts.Stream)
	if err != nil {
		return nil, err
	}
	r := &runner{opts: opts, url: Endpoint(opts.URL), body: body, rec: newRecorder(opts)}
	start := opts.Now()
	if opts.Rate > 0 {
		r.openLoop(ctx, start)
	} else {
		r.closedLoop(ctx, start)
	}
	res := r.rec.result(opts, opts.Now().Sub(start))
	res.Interrupted = ctx.Err() != nil
	return res, nil
}

type runner struct {
	opts Options
	url  string
	body []byte
	rec  *recorder
}

// deadline is the end of the sending window, or the zero time when only
// Requests bounds the run.
func (r *runner) deadline(start time.Time) time.Time {
	if r.opts.Duration <= 0 {
		return time.Time{}
	}
	return start.Add(r.opts.Duration)
}

// ScheduleAt returns the time request i is due in an open-loop run.
func ScheduleAt(start time.Time, i int, rate float64) time.Time {
	return start.Add(time.Duration(float64(i) * float64(time.Second) / rate))
}

func (r *runner) openLoop(ctx context.Context, start time.Time) {
	end := r.deadline(start)
	slots := make(chan struct{}, r.opts.MaxInFlight)
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := 0; r.opts.Requests <= 0 || i < r.opts.Requests; i++ {
		due := ScheduleAt(start, i, r.opts.Rate)
		// Past the end by the schedule, or by the clock: a rate faster
		// than requests can be sent must not outlast the duration.
		if !end.IsZero() && (!due.Before(end) || !r.opts.Now().Before(end)) {
			return
		}
		if wait := due.Sub(r.opts.Now()); wait > 0 {
			r.opts.Sleep(ctx, wait)
		}
		if ctx.Err() != nil {
			return
		}
		r.rec.sendLag(r.opts.Now().Sub(due))
		select {
		case slots <- struct{}{}:
		default:
			r.rec.drop()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			r.rec.record(r.do(ctx, due))
		}()
	}
}

func (r *runner) closedLoop(ctx context.Context, start time.Time) {
	end := r.deadline(start)
	var (
		mu   sync.Mutex
		sent int
	)
	// take reserves the next request, or reports that the run is over.
	take := func() bool {
		if ctx.Err() != nil || (!end.IsZero() && !r.opts.Now().Before(end)) {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		if r.opts.Requests > 0 && sent >= r.opts.Requests {
			return false
		}
		sent++
		return true
	}
	var wg sync.WaitGroup
	for range r.opts.Connections {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for take() {
				r.rec.record(r.do(ctx, r.opts.Now()))
			}
		}()
	}
	wg.Wait()
}
