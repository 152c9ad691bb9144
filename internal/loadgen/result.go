package loadgen

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"
)

// Result is the outcome of one run. Durations marshal to JSON as
// nanoseconds; the Summary fields also carry millisecond figures.
type Result struct {
	// Mode is "open" (fixed rate) or "closed" (Connections workers).
	Mode        string  `json:"mode"`
	Stream      bool    `json:"stream"`
	Rate        float64 `json:"rate,omitempty"`
	Connections int     `json:"connections,omitempty"`
	// Scheduled is the number of requests due in the window; Sent the ones
	// sent; OK the ones answered 200 with a complete answer.
	Scheduled int `json:"scheduled"`
	Sent      int `json:"sent"`
	OK        int `json:"ok"`
	// Errors counts failed requests, dropped ones included; ErrorKinds
	// splits them by kind ("status_503", "timeout", "dropped", ...).
	Errors int `json:"errors"`
	// Interrupted is set when the run's context ended before the run did
	// (Ctrl-C or SIGTERM in switchyard bench): the figures cover the run
	// up to then. CutOff is the requests in flight that it ended; they are
	// in Sent but neither OK nor Errors (nor timeouts: the server did not
	// fail them).
	Interrupted bool           `json:"interrupted,omitempty"`
	CutOff      int            `json:"cut_off,omitempty"`
	ErrorKinds  map[string]int `json:"error_kinds,omitempty"`
	// ErrorSamples holds the first error text of each transport or
	// timeout kind, to tell a refused connection from a reset.
	ErrorSamples map[string]string `json:"error_samples,omitempty"`
	// Elapsed is the wall time from the first scheduled request to the
	// last completion.
	Elapsed time.Duration `json:"elapsed_ns"`
	// Throughput is OK answers per second of Elapsed.
	Throughput float64 `json:"throughput_rps"`
	// Latency of successful requests, from the scheduled send time (open
	// loop) or the send time (closed loop) to the end of the answer.
	Latency Summary `json:"latency"`
	// TTFT is the time to the first content token of successful streams.
	TTFT *Summary `json:"ttft,omitempty"`
	// MaxSendLag is how late, at worst, the open-loop sender sent a
	// request after its scheduled time; a large one means the generator
	// itself could not keep up (its latency figures still include it).
	MaxSendLag time.Duration `json:"max_send_lag_ns"`
	// Bytes is the response bytes read.
	Bytes int64 `json:"bytes"`
}

// Summary describes a set of durations by exact order statistics.
type Summary struct {
	Count int           `json:"count"`
	Mean  time.Duration `json:"mean_ns"`
	Min   time.Duration `json:"min_ns"`
	P50   time.Duration `json:"p50_ns"`
	P90   time.Duration `json:"p90_ns"`
	P99   time.Duration `json:"p99_ns"`
	P999  time.Duration `json:"p999_ns"`
	Max   time.Duration `json:"max_ns"`
}

// Summarize sorts d in place and returns its summary.
func Summarize(d []time.Duration) Summary {
	if len(d) == 0 {
		return Summary{}
	}
	slices.Sort(d)
	var sum time.Duration
	for _, v := range d {
		sum += v
	}
	return Summary{
		Count: len(d), Mean: sum / time.Duration(len(d)), Min: d[0], Max: d[len(d)-1],
		P50: Quantile(d, 0.50), P90: Quantile(d, 0.90), P99: Quantile(d, 0.99), P999: Quantile(d, 0.999),
	}
}

// Quantile returns the q-quantile (0..1) of sorted d by the nearest-rank
// method: the smallest value with at least q of the samples at or below it.
func Quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(q*float64(len(sorted)) + 0.999999999)
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// recorder collects outcomes from concurrent requests.
type recorder struct {
	mu        sync.Mutex
	latencies []time.Duration
	ttfts     []time.Duration
	kinds     map[string]int
	samples   map[string]string
	sent      int
	cutOff    int
	bytes     int64
	maxLag    time.Duration
}

func newRecorder(o Options) *recorder {
	n := o.Requests
	if o.Rate > 0 && o.Duration > 0 {
		n = min(max(n, 0)+int(o.Rate*o.Duration.Seconds())+1, 1<<22)
	}
	return &recorder{latencies: make([]time.Duration, 0, min(max(n, 64), 1<<22)), kinds: map[string]int{}, samples: map[string]string{}}
}

func (r *recorder) record(o outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent++
	r.bytes += o.bytes
	if o.kind == kindCutOff {
		r.cutOff++
		return
	}
	if o.kind != "" {
		r.kinds[o.kind]++
		if _, ok := r.samples[o.kind]; !ok && o.detail != "" {
			r.samples[o.kind] = o.detail
		}
		return
	}
	r.latencies = append(r.latencies, o.latency)
	if o.ttft > 0 {
		r.ttfts = append(r.ttfts, o.ttft)
	}
}

func (r *recorder) drop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kinds[KindDropped]++
}

func (r *recorder) sendLag(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.maxLag = max(r.maxLag, d)
}

func (r *recorder) result(o Options, elapsed time.Duration) *Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := &Result{
		Mode: "closed", Stream: o.Stream, Connections: o.Connections,
		Sent: r.sent, OK: len(r.latencies), CutOff: r.cutOff, Elapsed: elapsed,
		Latency: Summarize(r.latencies), MaxSendLag: r.maxLag, Bytes: r.bytes,
	}
	if o.Rate > 0 {
		res.Mode, res.Rate, res.Connections = "open", o.Rate, 0
	}
	for k, n := range r.kinds {
		res.Errors += n
		if res.ErrorKinds == nil {
			res.ErrorKinds = map[string]int{}
		}
		res.ErrorKinds[k] = n
	}
	if len(r.samples) > 0 {
		res.ErrorSamples = maps.Clone(r.samples)
	}
	res.Scheduled = res.Sent + r.kinds[KindDropped]
	if elapsed > 0 {
		res.Throughput = float64(res.OK) / elapsed.Seconds()
	}
	if o.Stream {
		s := Summarize(r.ttfts)
		res.TTFT = &s
	}
	return res
}

// Format writes a human-readable report of res.
func Format(w io.Writer, target string, res *Result) {
	mode := fmt.Sprintf("closed loop, %d connections", res.Connections)
	if res.Mode == "open" {
		mode = fmt.Sprintf("open loop, %.0f req/s", res.Rate)
	}
	kind := "non-streaming"
	if res.Stream {
		kind = "streaming"
	}
	fmt.Fprintf(w, "target      %s\n", target)
	fmt.Fprintf(w, "load        %s, %s, %s\n", mode, kind, res.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "requests    %d scheduled, %d sent, %d ok, %d errors\n", res.Scheduled, res.Sent, res.OK, res.Errors)
	if res.Interrupted {
		fmt.Fprintf(w, "interrupted the run was stopped early; %d requests in flight were cut off (not counted as errors)\n", res.CutOff)
	}
	fmt.Fprintf(w, "throughput  %.1f req/s\n", res.Throughput)
	writeSummary(w, "latency", res.Latency)
	if res.TTFT != nil {
		writeSummary(w, "ttft", *res.TTFT)
	}
	if res.Mode == "open" {
		fmt.Fprintf(w, "send lag    max %s (how late the generator itself sent)\n", ms(res.MaxSendLag))
	}
	if len(res.ErrorKinds) > 0 {
		keys := slices.Collect(maps.Keys(res.ErrorKinds))
		sort.Strings(keys)
		fmt.Fprintf(w, "errors     ")
		for _, k := range keys {
			fmt.Fprintf(w, " %s=%d", k, res.ErrorKinds[k])
		}
		fmt.Fprintln(w)
		for _, k := range keys {
			if s, ok := res.ErrorSamples[k]; ok {
				fmt.Fprintf(w, "  %s: %s\n", k, s)
			}
		}
	}
}

func writeSummary(w io.Writer, name string, s Summary) {
	if s.Count == 0 {
		fmt.Fprintf(w, "%-11s none\n", name)
		return
	}
	fmt.Fprintf(w, "%-11s p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  mean %s\n",
		name, ms(s.P50), ms(s.P90), ms(s.P99), ms(s.P999), ms(s.Max), ms(s.Mean))
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.3fms", float64(d)/float64(time.Millisecond))
}
