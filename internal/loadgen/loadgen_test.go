package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tidwall/gjson"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const chatJSON = `{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}`

// chatServer answers OpenAI chat requests: JSON, or an SSE stream of
// three words ended by [DONE]. The header X-Test selects faults.
func chatServer(t *testing.T, mode string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if mode == "503" {
			http.Error(w, `{"error":{"message":"down"}}`, http.StatusServiceUnavailable)
			return
		}
		if !gjson.GetBytes(body, "stream").Bool() {
			w.Header().Set("Content-Type", "application/json")
			if mode == "notchat" {
				io.WriteString(w, `{"object":"list"}`)
				return
			}
			io.WriteString(w, chatJSON)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n")
		for _, word := range []string{"one", " two", " three"} {
			fmt.Fprintf(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", word)
		}
		switch mode {
		case "missing_done":
			return
		case "stream_error":
			io.WriteString(w, "data: {\"error\":{\"message\":\"overloaded\"}}\n\n")
		}
		io.WriteString(w, "data: [DONE]\n\n")
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRunOutcomes(t *testing.T) {
	tests := []struct {
		name      string
		mode      string
		stream    bool
		wantOK    int
		wantKinds map[string]int
	}{
		{name: "json", mode: "", wantOK: 10},
		{name: "stream", mode: "", stream: true, wantOK: 10},
		{name: "status", mode: "503", wantKinds: map[string]int{"status_503": 10}},
		{name: "not a chat completion", mode: "notchat", wantKinds: map[string]int{KindBadBody: 10}},
		{name: "missing done", mode: "missing_done", stream: true, wantKinds: map[string]int{KindMissingDone: 10}},
		{name: "in-band error", mode: "stream_error", stream: true, wantKinds: map[string]int{KindStreamError: 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := chatServer(t, tt.mode)
			res, err := Run(context.Background(), Options{
				URL: srv.URL + "/v1", Model: "m", Stream: tt.stream,
				Rate: 2000, Requests: 10, Duration: 10 * time.Second,
			})
			if err != nil {
				t.Fatalf("Run: got error %v, want nil", err)
			}
			if res.OK != tt.wantOK || res.Sent != 10 || res.Scheduled != 10 {
				t.Errorf("got ok=%d sent=%d scheduled=%d, want ok=%d sent=10 scheduled=10", res.OK, res.Sent, res.Scheduled, tt.wantOK)
			}
			if diff := cmp.Diff(tt.wantKinds, res.ErrorKinds); diff != "" {
				t.Errorf("error kinds (-want +got):\n%s", diff)
			}
			if res.Errors != 10-tt.wantOK {
				t.Errorf("got %d errors, want %d", res.Errors, 10-tt.wantOK)
			}
			if tt.stream && tt.wantOK > 0 {
				if res.TTFT == nil || res.TTFT.Count != tt.wantOK || res.TTFT.Max > res.Latency.Max {
					t.Errorf("got ttft %+v with latency max %v, want %d samples at most the latency", res.TTFT, res.Latency.Max, tt.wantOK)
				}
			}
			if !tt.stream && res.TTFT != nil {
				t.Errorf("got ttft %+v for a non-streaming run, want nil", res.TTFT)
			}
		})
	}
}

func TestRunSendsRequest(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []*http.Request
		body []byte
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen, body = append(seen, r), b
		mu.Unlock()
		io.WriteString(w, chatJSON)
	}))
	defer srv.Close()
	_, err := Run(context.Background(), Options{URL: srv.URL + "/v1/", Model: "auto", APIKey: "sk-test", Requests: 1})
	if err != nil {
		t.Fatalf("Run: got error %v, want nil", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 {
		t.Fatalf("got %d requests, want 1", len(seen))
	}
	r := seen[0]
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		t.Errorf("got %s %s, want POST /v1/chat/completions", r.Method, r.URL.Path)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer sk-test" {
		t.Errorf("got Authorization %q, want %q", got, "Bearer sk-test")
	}
	if got := gjson.GetBytes(body, "model").String(); got != "auto" {
		t.Errorf("got model %q, want auto", got)
	}
}

// TestLatencyFromScheduleTime shows coordinated omission is corrected: the
// server answers one request at a time (one connection) in 20ms each while
// the schedule asks for one every 5ms. Every request's service time is
// 20ms, but request i is due at 5i ms and done at about 20(i+1) ms, so the
// latency from the schedule grows to about 20+15i ms.
func TestLatencyFromScheduleTime(t *testing.T) {
	const service = 20 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		timer := time.NewTimer(service) // the simulated slow upstream
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, chatJSON)
	}))
	defer srv.Close()
	tr := NewTransport(1)
	tr.MaxConnsPerHost = 1
	defer tr.CloseIdleConnections()
	res, err := Run(context.Background(), Options{
		URL: srv.URL, Rate: 200, Requests: 8, Client: &http.Client{Transport: tr},
	})
	if err != nil {
		t.Fatalf("Run: got error %v, want nil", err)
	}
	if res.OK != 8 {
		t.Fatalf("got %d ok, want 8 (kinds %v)", res.OK, res.ErrorKinds)
	}
	// Request 7 is due at 35ms and cannot finish before 8*20 = 160ms.
	if want := 8*service - 35*time.Millisecond; res.Latency.Max < want {
		t.Errorf("got max latency %v, want at least %v (latency must count from the scheduled time)", res.Latency.Max, want)
	}
	if want := 2 * service; res.Latency.P50 < want {
		t.Errorf("got p50 latency %v, want at least %v", res.Latency.P50, want)
	}
}

// fakeClock advances only when the generator sleeps; stall is added to the
// first sleep to model a sender that was paused.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	stall time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(_ context.Context, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d + c.stall)
	c.stall = 0
}

func TestOpenLoopSchedule(t *testing.T) {
	srv := chatServer(t, "")
	tests := []struct {
		name          string
		rate          float64
		duration      time.Duration
		requests      int
		stall         time.Duration
		wantScheduled int
		wantLag       time.Duration
	}{
		{name: "duration bound", rate: 100, duration: time.Second, wantScheduled: 100},
		{name: "request bound", rate: 100, duration: time.Second, requests: 7, wantScheduled: 7},
		{name: "fractional rate", rate: 2.5, duration: 2 * time.Second, wantScheduled: 5},
		{name: "stalled sender", rate: 100, duration: 100 * time.Millisecond, stall: 50 * time.Millisecond, wantScheduled: 10, wantLag: 50 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{now: time.Unix(1000, 0), stall: tt.stall}
			res, err := Run(context.Background(), Options{
				URL: srv.URL, Rate: tt.rate, Duration: tt.duration, Requests: tt.requests,
				Now: clock.Now, Sleep: clock.Sleep,
			})
			if err != nil {
				t.Fatalf("Run: got error %v, want nil", err)
			}
			if res.Scheduled != tt.wantScheduled || res.OK != tt.wantScheduled {
				t.Errorf("got scheduled=%d ok=%d, want %d", res.Scheduled, res.OK, tt.wantScheduled)
			}
			if res.MaxSendLag != tt.wantLag {
				t.Errorf("got max send lag %v, want %v", res.MaxSendLag, tt.wantLag)
			}
			if tt.stall > 0 && res.Latency.Max < tt.stall {
				t.Errorf("got max latency %v, want at least the stall %v", res.Latency.Max, tt.stall)
			}
		})
	}
}

func TestOpenLoopDropsAtInFlightCap(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // so the server notices when the client goes away
		<-r.Context().Done()        // hold the only slot until the request times out
	}))
	defer srv.Close()
	clock := &fakeClock{now: time.Unix(1000, 0)}
	res, err := Run(context.Background(), Options{
		URL: srv.URL, Rate: 1000, Requests: 5, MaxInFlight: 1, Timeout: 300 * time.Millisecond,
		Now: clock.Now, Sleep: clock.Sleep,
	})
	if err != nil {
		t.Fatalf("Run: got error %v, want nil", err)
	}
	want := map[string]int{KindDropped: 4, KindTimeout: 1}
	if diff := cmp.Diff(want, res.ErrorKinds); diff != "" {
		t.Errorf("error kinds (-want +got):\n%s", diff)
	}
	if res.Sent != 1 || res.Scheduled != 5 || res.Errors != 5 {
		t.Errorf("got sent=%d scheduled=%d errors=%d, want 1, 5, 5", res.Sent, res.Scheduled, res.Errors)
	}
}

func TestClosedLoop(t *testing.T) {
	var cur, peak atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := cur.Add(1)
		defer cur.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		io.WriteString(w, chatJSON)
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Options{URL: srv.URL, Connections: 4, Requests: 200, Duration: 10 * time.Second})
	if err != nil {
		t.Fatalf("Run: got error %v, want nil", err)
	}
	if res.Mode != "closed" || res.Sent != 200 || res.OK != 200 || res.Connections != 4 {
		t.Errorf("got mode=%s sent=%d ok=%d connections=%d, want closed 200 200 4", res.Mode, res.Sent, res.OK, res.Connections)
	}
	if p := peak.Load(); p > 4 {
		t.Errorf("got %d concurrent requests, want at most 4", p)
	}
	if res.Throughput <= 0 {
		t.Errorf("got throughput %v, want > 0", res.Throughput)
	}
}

func TestClosedLoopDurationBound(t *testing.T) {
	srv := chatServer(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	res, err := Run(ctx, Options{URL: srv.URL, Connections: 2, Duration: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("Run: got error %v, want nil", err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("got run time %v, want it to stop soon after 100ms", el)
	}
	if res.OK == 0 || res.Errors != 0 {
		t.Errorf("got ok=%d errors=%d, want ok > 0 and no errors", res.OK, res.Errors)
	}
}

func TestRunOptionErrors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want error
	}{
		{name: "no bound", opts: Options{URL: "http://127.0.0.1:1"}, want: ErrNoBound},
		{name: "no url", opts: Options{Requests: 1}},
		{name: "negative rate", opts: Options{URL: "http://127.0.0.1:1", Requests: 1, Rate: -1}},
		{name: "negative duration", opts: Options{URL: "http://127.0.0.1:1", Requests: 1, Duration: -time.Second}},
		{name: "negative timeout", opts: Options{URL: "http://127.0.0.1:1", Requests: 1, Timeout: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), tt.opts)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("got error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestTransportErrorCounted(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	res, err := Run(context.Background(), Options{URL: url, Requests: 3, Connections: 1})
	if err != nil {
		t.Fatalf("Run: got error %v, want nil", err)
	}
	if res.ErrorKinds[KindTransport] != 3 || res.OK != 0 {
		t.Errorf("got kinds %v ok=%d, want transport=3 ok=0", res.ErrorKinds, res.OK)
	}
}

func TestRequestBody(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		model  string
		stream bool
		want   map[string]string
	}{
		{name: "default", model: "auto", want: map[string]string{"model": "auto", "stream": "false", "max_tokens": "16", "messages.0.role": "user"}},
		{name: "default stream", model: "m", stream: true, want: map[string]string{"model": "m", "stream": "true"}},
		{name: "custom keeps model", body: `{"model":"x","messages":[],"stream":true}`, want: map[string]string{"model": "x", "stream": "false"}},
		{name: "custom model override", body: `{"model":"x","messages":[]}`, model: "y", stream: true, want: map[string]string{"model": "y", "stream": "true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RequestBody([]byte(tt.body), tt.model, tt.stream)
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if !json.Valid(got) {
				t.Fatalf("got invalid JSON %s", got)
			}
			for path, want := range tt.want {
				if g := gjson.GetBytes(got, path).String(); g != want {
					t.Errorf("%s: got %q, want %q", path, g, want)
				}
			}
		})
	}
}

func TestEndpoint(t *testing.T) {
	tests := []struct{ name, base, want string }{
		{name: "v1", base: "http://h/v1", want: "http://h/v1/chat/completions"},
		{name: "slash", base: "http://h/v1/", want: "http://h/v1/chat/completions"},
		{name: "full", base: "http://h/v1/chat/completions", want: "http://h/v1/chat/completions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Endpoint(tt.base); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	got := Summarize(d)
	want := Summary{Count: 100, Mean: 50500 * time.Microsecond, Min: time.Millisecond,
		P50: 50 * time.Millisecond, P90: 90 * time.Millisecond, P99: 99 * time.Millisecond,
		P999: 100 * time.Millisecond, Max: 100 * time.Millisecond}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if got := Summarize(nil); got != (Summary{}) {
		t.Errorf("got %+v for no samples, want zero", got)
	}
}

func TestFormat(t *testing.T) {
	res := &Result{Mode: "open", Rate: 500, Stream: true, Scheduled: 10, Sent: 9, OK: 8, Errors: 2,
		ErrorKinds: map[string]int{"status_503": 1, KindDropped: 1}, Throughput: 8,
		Latency: Summary{Count: 8, P50: time.Millisecond}, TTFT: &Summary{Count: 8}}
	var b strings.Builder
	Format(&b, "http://127.0.0.1:1/v1", res)
	for _, want := range []string{"open loop, 500 req/s", "streaming", "10 scheduled, 9 sent, 8 ok, 2 errors", "p50 1.000ms", "ttft", "dropped=1 status_503=1"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("got report\n%s\nwant it to contain %q", b.String(), want)
		}
	}
}

// tickingClock advances by step on every reading: a sender slower than
// its schedule.
type tickingClock struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

func (c *tickingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(c.step)
	return c.now
}

func (c *tickingClock) Sleep(_ context.Context, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestOpenLoopRateBeyondTheSender: a rate far faster than requests can be
// sent still ends when the duration is over by the clock, not after the
// billions of requests its schedule holds.
func TestOpenLoopRateBeyondTheSender(t *testing.T) {
	srv := chatServer(t, "")
	clock := &tickingClock{now: time.Unix(1000, 0), step: time.Millisecond}
	res, err := Run(context.Background(), Options{URL: srv.URL, Rate: 1e9, Duration: 100 * time.Millisecond, Now: clock.Now, Sleep: clock.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	if res.Scheduled == 0 || res.Scheduled > 200 {
		t.Errorf("scheduled %d requests in 100ms of a 1ms-per-send clock, want at most about 100", res.Scheduled)
	}
}
