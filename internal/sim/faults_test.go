package sim

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
)

// dialects are the two chat endpoints with a request builder each.
var dialects = []struct {
	name string
	path string
	body func(model, text string) map[string]any
}{
	{"openai", "/v1/chat/completions", oaChat},
	{"anthropic", "/v1/messages", anChat},
}

func TestStatusFaults(t *testing.T) {
	s, url, c := startSim(t, Config{Models: []Model{testModel("m")}})
	tests := []struct {
		name       string
		fault      Fault
		status     int
		retryAfter string
		oaWant     string // error.code, else error.type
		anWant     string // error.type
		oaMsg      string
		anMsg      string
	}{
		{"429 with retry-after", Fault{Type: FaultStatus, Status: 429, RetryAfter: 1500 * time.Millisecond}, 429, "2",
			"rate_limit_exceeded", "rate_limit_error", "Rate limit", "rate limit"},
		{"529 overloaded", Fault{Type: FaultStatus, Status: 529}, 529, "", "server_error", "overloaded_error", "", "Overloaded"},
		{"default 500", Fault{Type: FaultStatus}, 500, "", "server_error", "api_error", "", ""},
		{"401", Fault{Type: FaultStatus, Status: 401}, 401, "", "invalid_api_key", "authentication_error", "API key", "x-api-key"},
		{"context length", Fault{Type: FaultContextLength}, 400, "", "context_length_exceeded", "invalid_request_error",
			"maximum context length is 1000 tokens", "prompt is too long: 1001 tokens > 1000 maximum"},
		{"content policy", Fault{Type: FaultContentPolicy}, 400, "", "content_policy_violation", "invalid_request_error", "safety system", "content filtering"},
	}
	for _, tt := range tests {
		for _, d := range dialects {
			for _, streamReq := range []bool{false, true} {
				name := tt.name + "/" + d.name
				if streamReq {
					name += "/stream"
				}
				t.Run(name, func(t *testing.T) {
					m := testModel("m")
					m.Faults = []Fault{tt.fault}
					s.SetConfig(Config{Models: []Model{m}})
					resp := post(t, t.Context(), c, url+d.path, with(d.body("m", "x"), "stream", streamReq))
					if resp.StatusCode != tt.status {
						t.Errorf("got status %d, want %d", resp.StatusCode, tt.status)
					}
					if got := resp.Header.Get("Retry-After"); got != tt.retryAfter {
						t.Errorf("got Retry-After %q, want %q", got, tt.retryAfter)
					}
					body := decode(t, resp)
					want, got := tt.anWant, get(body, "error", "type")
					if d.name == "openai" {
						want = tt.oaWant
						if code := get(body, "error", "code"); code != nil {
							got = code
						}
					}
					if got != want {
						t.Errorf("got error %v, want %s (body %v)", got, want, body)
					}
					msg, _ := get(body, "error", "message").(string)
					wantMsg := tt.anMsg
					if d.name == "openai" {
						wantMsg = tt.oaMsg
					}
					if !strings.Contains(msg, wantMsg) {
						t.Errorf("got message %q, want it to contain %q", msg, wantMsg)
					}
				})
			}
		}
	}
}

func TestConnectionFaults(t *testing.T) {
	s, url, c := startSim(t, Config{Models: []Model{testModel("m")}})
	tests := []struct {
		name  string
		fault FaultType
	}{
		{"reset", FaultReset},
		{"hang", FaultHang},
	}
	for _, tt := range tests {
		for _, d := range dialects {
			t.Run(tt.name+"/"+d.name, func(t *testing.T) {
				s.Reset()
				m := testModel("m")
				m.Faults = []Fault{{Type: tt.fault}}
				s.SetConfig(Config{Models: []Model{m}})
				ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
				defer cancel()
				b, _ := json.Marshal(d.body("m", "x"))
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+d.path, strings.NewReader(string(b)))
				resp, err := c.Do(req)
				if err == nil {
					resp.Body.Close()
					t.Fatalf("got status %d, want a transport error", resp.StatusCode)
				}
				if tt.fault == FaultHang && !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("got %v, want a deadline error", err)
				}
				if tt.fault == FaultReset && errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("got %v, want a connection error", err)
				}
				calls := s.Calls("m")
				if len(calls) != 1 || calls[0].Status != 0 || calls[0].Fault != tt.fault {
					t.Errorf("got calls %+v, want one with status 0 and fault %s", calls, tt.fault)
				}
			})
		}
	}
}

func TestMidStreamFaults(t *testing.T) {
	s, url, c := startSim(t, Config{Models: []Model{testModel("m")}})
	tests := []struct {
		name  string
		fault Fault
		// check gets the events and the read error.
		check func(t *testing.T, dialect string, evs []event, err error)
	}{
		{"stall", Fault{Type: FaultStall, After: 2}, func(t *testing.T, d string, evs []event, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("got read error %v, want a deadline", err)
			}
			if n := tokens(evs); n != 2 {
				t.Errorf("got %d tokens, want 2", n)
			}
		}},
		{"cut", Fault{Type: FaultCut, After: 3}, func(t *testing.T, d string, evs []event, err error) {
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("got read error %v, want unexpected EOF", err)
			}
			if n := tokens(evs); n != 3 || terminated(evs) {
				t.Errorf("got %d tokens, terminated %v; want 3, false", n, terminated(evs))
			}
		}},
		{"malformed", Fault{Type: FaultMalformed, After: 1}, func(t *testing.T, d string, evs []event, err error) {
			bad := 0
			for _, e := range evs {
				if e.data != "[DONE]" && !json.Valid([]byte(e.data)) {
					bad++
				}
			}
			if err != nil || bad != 1 || !terminated(evs) || tokens(evs) != 8 {
				t.Errorf("got err %v, %d malformed, terminated %v, %d tokens; want nil, 1, true, 8", err, bad, terminated(evs), tokens(evs))
			}
		}},
		{"missing_done", Fault{Type: FaultMissingDone}, func(t *testing.T, d string, evs []event, err error) {
			last := evs[len(evs)-1]
			want := "message_delta"
			if d == "openai" {
				want = ""
				if !strings.Contains(last.data, `"finish_reason":"stop"`) {
					t.Errorf("got last event %q, want the finish_reason chunk", last.data)
				}
			}
			if err != nil || terminated(evs) || last.name != want || tokens(evs) != 8 {
				t.Errorf("got err %v, terminated %v, last event %q; want nil, false, %q", err, terminated(evs), last.name, want)
			}
		}},
		{"stream_error", Fault{Type: FaultStreamError, After: 2}, func(t *testing.T, d string, evs []event, err error) {
			last := evs[len(evs)-1]
			if err != nil || tokens(evs) != 2 || terminated(evs) {
				t.Errorf("got err %v, %d tokens, terminated %v; want nil, 2, false", err, tokens(evs), terminated(evs))
			}
			var m map[string]any
			_ = json.Unmarshal([]byte(last.data), &m)
			want := "server_error"
			if d == "anthropic" {
				want = "overloaded_error"
				if last.name != "error" {
					t.Errorf("got last event %q, want error", last.name)
				}
			}
			if got := get(m, "error", "type"); got != want {
				t.Errorf("got error type %v, want %s", got, want)
			}
		}},
	}
	for _, tt := range tests {
		for _, d := range dialects {
			t.Run(tt.name+"/"+d.name, func(t *testing.T) {
				m := testModel("m")
				m.Faults = []Fault{tt.fault}
				s.SetConfig(Config{Models: []Model{m}})
				ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
				defer cancel()
				resp, evs, err := stream(t, ctx, c, url+d.path, d.body("m", "x"))
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("got status %d, want 200", resp.StatusCode)
				}
				tt.check(t, d.name, evs, err)
			})
		}
	}
}

// tokens counts content events of either dialect.
func tokens(evs []event) int {
	n := 0
	for _, e := range evs {
		var m map[string]any
		if json.Unmarshal([]byte(e.data), &m) != nil {
			continue
		}
		if e.name == "content_block_delta" {
			n++
		}
		if s, ok := get(m, "choices", 0, "delta", "content").(string); ok && s != "" {
			n++
		}
	}
	return n
}

// terminated reports whether the stream ended with its dialect's terminator.
func terminated(evs []event) bool {
	if len(evs) == 0 {
		return false
	}
	last := evs[len(evs)-1]
	return last.data == "[DONE]" || last.name == "message_stop"
}

func TestSlowFirstToken(t *testing.T) {
	m := testModel("m")
	m.Faults = []Fault{{Type: FaultSlowFirstToken, Delay: 80 * time.Millisecond, Times: 1}}
	_, url, c := startSim(t, Config{Models: []Model{m}})
	ttft := func() time.Duration {
		start := time.Now()
		resp := post(t, t.Context(), c, url+"/v1/chat/completions", with(oaChat("m", "x"), "stream", true))
		defer resp.Body.Close()
		buf := make([]byte, 1)
		first := time.Duration(0)
		evs := 0
		for {
			// the role chunk comes at once; the first content chunk after the delay
			line, err := readLine(resp.Body, buf)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(line, "data: ") {
				evs++
				if evs == 2 {
					first = time.Since(start)
					break
				}
			}
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		return first
	}
	if got := ttft(); got < 80*time.Millisecond {
		t.Errorf("first call: got time to first token %v, want >= 80ms", got)
	}
	if got := ttft(); got >= 80*time.Millisecond {
		t.Errorf("second call (Times 1 used up): got time to first token %v, want < 80ms", got)
	}
}

// readLine reads one line byte by byte, so nothing past it is consumed.
func readLine(r io.Reader, buf []byte) (string, error) {
	var b strings.Builder
	for {
		if _, err := io.ReadFull(r, buf); err != nil {
			return b.String(), err
		}
		if buf[0] == '\n' {
			return b.String(), nil
		}
		b.WriteByte(buf[0])
	}
}

func TestTimesAndCalls(t *testing.T) {
	clock := clocktest.New(time.Unix(1000, 0))
	m := testModel("m")
	m.Faults = []Fault{
		{Type: FaultStall, Times: 1}, // streams only: must not use up Times on non-streams
		{Type: FaultStatus, Status: 500, Times: 2},
	}
	s, url, c := startSim(t, Config{Models: []Model{m}}, WithClock(clock.Now))
	ctx := t.Context()
	var statuses []int
	for range 3 {
		resp := post(t, ctx, c, url+"/v1/chat/completions", oaChat("m", "x"))
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
		clock.Advance(time.Second)
	}
	if want := []int{500, 500, 200}; !equalInts(statuses, want) {
		t.Errorf("got statuses %v, want %v", statuses, want)
	}
	calls := s.Calls("m")
	if len(calls) != 3 {
		t.Fatalf("got %d calls, want 3", len(calls))
	}
	for i, call := range calls {
		wantFault := FaultStatus
		if i == 2 {
			wantFault = ""
		}
		if call.Status != statuses[i] || call.Path != "/v1/chat/completions" || call.Stream || call.Fault != wantFault {
			t.Errorf("call %d: got %+v, want status %d, fault %q", i, call, statuses[i], wantFault)
		}
		if want := time.Unix(1000+int64(i), 0); !call.Time.Equal(want) {
			t.Errorf("call %d: got time %v, want %v", i, call.Time, want)
		}
	}
	// SetConfig resets Times.
	s.SetConfig(Config{Models: []Model{m}})
	resp := post(t, ctx, c, url+"/v1/messages", anChat("m", "x"))
	resp.Body.Close()
	if resp.StatusCode != 500 {
		t.Errorf("after SetConfig: got status %d, want 500", resp.StatusCode)
	}
	if got := len(s.Calls("m")); got != 4 {
		t.Errorf("got %d calls after SetConfig, want 4 (calls are kept)", got)
	}
	if got := s.Calls("unknown"); got != nil {
		t.Errorf("got calls %v for an unused model, want none", got)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDown(t *testing.T) {
	clock := clocktest.New(time.Unix(5000, 0))
	m := testModel("m")
	m.Faults = []Fault{{Type: FaultDown, For: 10 * time.Second}}
	_, url, c := startSim(t, Config{Models: []Model{m}}, WithClock(clock.Now))
	steps := []struct {
		name    string
		advance time.Duration
		path    string
		want    int
	}{
		{"first request starts the outage", 0, "/v1/chat/completions", 503},
		{"still down", 5 * time.Second, "/v1/messages", 503},
		{"embeddings too", 4 * time.Second, "/v1/embeddings", 503},
		{"healthy after For", time.Second, "/v1/chat/completions", 200},
		{"stays healthy", time.Hour, "/v1/messages", 200},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			clock.Advance(st.advance)
			body := oaChat("m", "x")
			switch st.path {
			case "/v1/messages":
				body = anChat("m", "x")
			case "/v1/embeddings":
				body = map[string]any{"model": "m", "input": "x"}
			}
			resp := post(t, t.Context(), c, url+st.path, body)
			resp.Body.Close()
			if resp.StatusCode != st.want {
				t.Errorf("got status %d, want %d", resp.StatusCode, st.want)
			}
		})
	}
}

func TestFaultHeader(t *testing.T) {
	s, url, c := startSim(t, Config{Models: []Model{testModel("m")}})
	tests := []struct {
		name       string
		header     string
		stream     bool
		status     int
		retryAfter string
	}{
		{"status with params", "status;status=503;retry_after=1500ms", false, 503, "2"},
		{"mid-stream type on non-stream is ignored", "cut", false, 200, ""},
		{"unknown type", "explode", false, 400, ""},
		{"unknown key", "status;color=red", false, 400, ""},
		{"content policy", "content_policy", true, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := post(t, t.Context(), c, url+"/v1/chat/completions", with(oaChat("m", "x"), "stream", tt.stream), "X-Sim-Fault", tt.header)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("got status %d, want %d", resp.StatusCode, tt.status)
			}
			if got := resp.Header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("got Retry-After %q, want %q", got, tt.retryAfter)
			}
		})
	}
	if calls := s.Calls("m"); len(calls) != len(tests) {
		t.Errorf("got %d calls, want %d", len(calls), len(tests))
	}
}

func TestServeShutdownEndsHangs(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := testModel("m")
	m.Faults = []Fault{{Type: FaultHang}}
	s := New(Config{Models: []Model{m}})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()

	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	reqErr := make(chan error, 1)
	go func() {
		b, _ := json.Marshal(oaChat("m", "x"))
		resp, err := c.Post("http://"+ln.Addr().String()+"/v1/chat/completions", "application/json", strings.NewReader(string(b)))
		if err == nil {
			resp.Body.Close()
		}
		reqErr <- err
	}()
	clocktest.WaitFor(t, "the call to be recorded", func() bool { return len(s.Calls("m")) > 0 })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("got Serve error %v, want nil", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Serve did not return within 3s of cancel with a hung request")
	}
	if err := <-reqErr; err == nil {
		t.Error("got a response from a hung request, want an error")
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	err := Run(t.Context(), "127.0.0.1:0", Config{Models: []Model{{Name: ""}}}, nil)
	if err == nil || !strings.Contains(err.Error(), "models[0].name: required") {
		t.Errorf("got %v, want a validation error", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := Run(ctx, "127.0.0.1:0", DefaultConfig(), nil); err != nil {
		t.Errorf("got %v from a cancelled Run, want nil", err)
	}
}
