package gateway_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/gateway"
	"github.com/switchyard-gw/switchyard/internal/sim"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// gwConfig is a small config over the simulated provider at {{SIM}}.
const gwConfig = `
server:
  max_body_bytes: 2048
executor:
  backoff_base: 1ms
  backoff_max: 2ms
providers:
  - {name: sim-openai, kind: openai, base_url: "{{SIM}}/v1"}
  - {name: sim-anthropic, kind: anthropic, base_url: "{{SIM}}"}
deployments:
  - {name: medium, provider: sim-openai, model: sim-medium}
  - {name: claude, provider: sim-anthropic, model: sim-large}
routes:
  - {name: auto, targets: [medium, claude]}
`

// instantSim is the demo simulator with no artificial latency.
func instantSim() sim.Config {
	cfg := sim.DefaultConfig()
	for i := range cfg.Models {
		cfg.Models[i].Latency, cfg.Models[i].FirstToken, cfg.Models[i].TokensPerSecond = 0, 0, 0
	}
	return cfg
}

// startInstantSim runs instantSim on loopback until the test ends and
// returns its base URL.
func startInstantSim(t *testing.T) string {
	t.Helper()
	_, simURL, stop, err := sim.Start(instantSim())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return simURL
}

// fixture is a gateway behind a real loopback server, the simulator behind it.
type fixture struct {
	t    testing.TB
	gw   *gateway.Gateway
	sim  *sim.Server
	url  string
	hc   *http.Client
	conf func(text string) *config.Config
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	sm, simURL, stopSim, err := sim.Start(instantSim())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopSim)
	f := &fixture{t: t, sim: sm}
	f.conf = func(text string) *config.Config {
		t.Helper()
		c, err := config.Parse([]byte(strings.ReplaceAll(text, "{{SIM}}", simURL)), func(string) string { return "" })
		if err != nil {
			t.Fatalf("config: %v", err)
		}
		return c
	}
	f.gw = gateway.New(gateway.Options{Executor: executor.New(executor.Options{})})
	srv := httptest.NewServer(f.gw.Handler())
	t.Cleanup(srv.Close)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	f.url, f.hc = srv.URL, &http.Client{Transport: tr}
	return f
}

func (f *fixture) do(method, path string, body io.Reader) (*http.Response, []byte) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.url+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.hc.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatalf("read: %v", err)
	}
	return resp, b
}

func (f *fixture) post(path, body string) (*http.Response, []byte) {
	f.t.Helper()
	return f.do("POST", path, strings.NewReader(body))
}

// errShape decodes either dialect's error body.
type errShape struct {
	Type  string `json:"type"`
	Error struct {
		Type    string  `json:"type"`
		Code    *string `json:"code"`
		Message string  `json:"message"`
	} `json:"error"`
}

const (
	oaPath = "/v1/chat/completions"
	anPath = "/v1/messages"
	ctPath = "/v1/messages/count_tokens"
	oaChat = `{"model":"auto","messages":[{"role":"user","content":"hi"}]}`
	anChat = `{"model":"auto","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}`
)

// checkShape asserts the dialect's error envelope: OpenAI's error.code, or
// Anthropic's {"type":"error","error":{"type":...}}.
func checkShape(t *testing.T, path string, b []byte, want string) {
	t.Helper()
	var e errShape
	if err := json.Unmarshal(b, &e); err != nil || e.Error.Message == "" {
		t.Fatalf("body: got %s (%v), want a JSON error with a message", b, err)
	}
	if path == anPath || path == ctPath {
		if e.Type != "error" || e.Error.Type != want {
			t.Errorf("anthropic error: got type %q error.type %q, want error and %q", e.Type, e.Error.Type, want)
		}
		return
	}
	if e.Type != "" || e.Error.Code == nil || *e.Error.Code != want {
		t.Errorf("openai error: got %s, want code %q and no top-level type", b, want)
	}
}

func TestNotReadyBeforeApply(t *testing.T) {
	f := newFixture(t)
	if f.gw.Ready() || f.gw.Config() != nil {
		t.Fatal("Ready before Apply: got true, want false")
	}
	for _, tt := range []struct{ name, path, body, want string }{
		{name: "openai", path: oaPath, body: oaChat, want: "not_ready"},
		{name: "anthropic", path: anPath, body: anChat, want: "api_error"},
		{name: "embeddings", path: "/v1/embeddings", body: `{"model":"e","input":"x"}`, want: "not_ready"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := f.post(tt.path, tt.body)
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("status: got %d, want 503; %s", resp.StatusCode, b)
			}
			checkShape(t, tt.path, b, tt.want)
		})
	}
	if resp, _ := f.do("GET", "/v1/models", nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("models: got %d, want 503", resp.StatusCode)
	}
}

func TestApplySwapsConfig(t *testing.T) {
	f := newFixture(t)
	first := f.conf(gwConfig)
	if err := f.gw.Apply(first); err != nil {
		t.Fatal(err)
	}
	if !f.gw.Ready() || f.gw.Config() != first {
		t.Fatal("after Apply: not ready or another config")
	}
	resp, b := f.post(oaPath, oaChat)
	if resp.StatusCode != 200 || resp.Header.Get(gateway.HeaderDeployment) != "medium" {
		t.Fatalf("first config: got %d via %q; %s", resp.StatusCode, resp.Header.Get(gateway.HeaderDeployment), b)
	}
	second := f.conf(strings.Replace(gwConfig, "targets: [medium, claude]", "targets: [claude]", 1))
	if err := f.gw.Apply(second); err != nil {
		t.Fatal(err)
	}
	resp, b = f.post(oaPath, oaChat)
	if resp.StatusCode != 200 || resp.Header.Get(gateway.HeaderDeployment) != "claude" {
		t.Errorf("second config: got %d via %q, want claude; %s", resp.StatusCode, resp.Header.Get(gateway.HeaderDeployment), b)
	}
	resp, b = f.do("GET", "/v1/models", nil)
	var list struct {
		Data []struct{ ID string } `json:"data"`
	}
	_ = json.Unmarshal(b, &list)
	var ids []string
	for _, m := range list.Data {
		ids = append(ids, m.ID)
	}
	if got := strings.Join(ids, ","); resp.StatusCode != 200 || got != "auto,claude,medium" {
		t.Errorf("models: got %d %q, want auto,claude,medium", resp.StatusCode, got)
	}
}

func TestLimitsAndErrorShapes(t *testing.T) {
	f := newFixture(t)
	if err := f.gw.Apply(f.conf(gwConfig)); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 4096)
	tests := []struct {
		name, method, path, body string
		chunked                  bool // hide the length so only the reader limit catches it
		wantStatus               int
		wantCode                 string // OpenAI error.code, or Anthropic error.type
	}{
		{name: "openai too large", path: oaPath, body: `{"model":"auto","messages":[{"role":"user","content":"` + big + `"}]}`, wantStatus: 413, wantCode: "request_too_large"},
		{name: "openai too large chunked", path: oaPath, chunked: true, body: `{"model":"auto","messages":[{"role":"user","content":"` + big + `"}]}`, wantStatus: 413, wantCode: "request_too_large"},
		{name: "anthropic too large", path: anPath, body: `{"model":"claude","max_tokens":5,"messages":[{"role":"user","content":"` + big + `"}]}`, wantStatus: 413, wantCode: "request_too_large"},
		{name: "anthropic too large chunked", path: anPath, chunked: true, body: `{"model":"claude","max_tokens":5,"messages":[{"role":"user","content":"` + big + `"}]}`, wantStatus: 413, wantCode: "request_too_large"},
		{name: "openai bad json", path: oaPath, body: `{"model":`, wantStatus: 400, wantCode: "invalid_request"},
		{name: "openai not an object", path: oaPath, body: `[1]`, wantStatus: 400, wantCode: "invalid_request"},
		{name: "openai missing model", path: oaPath, body: `{"messages":[{"role":"user","content":"hi"}]}`, wantStatus: 400, wantCode: "invalid_request"},
		{name: "openai missing messages", path: oaPath, body: `{"model":"auto"}`, wantStatus: 400, wantCode: "invalid_request"},
		{name: "openai unknown model", path: oaPath, body: `{"model":"nope","messages":[{"role":"user","content":"hi"}]}`, wantStatus: 404, wantCode: "model_not_found"},
		{name: "anthropic bad json", path: anPath, body: `[1,`, wantStatus: 400, wantCode: "invalid_request_error"},
		{name: "anthropic missing model", path: anPath, body: `{"max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, wantStatus: 400, wantCode: "invalid_request_error"},
		{name: "anthropic missing messages", path: anPath, body: `{"model":"claude","max_tokens":5}`, wantStatus: 400, wantCode: "invalid_request_error"},
		{name: "anthropic unknown model", path: anPath, body: `{"model":"nope","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, wantStatus: 404, wantCode: "not_found_error"},
		{name: "count_tokens bad json", path: ctPath, body: `{"model":`, wantStatus: 400, wantCode: "invalid_request_error"},
		{name: "count_tokens missing messages", path: ctPath, body: `{"model":"claude"}`, wantStatus: 400, wantCode: "invalid_request_error"},
		{name: "count_tokens unknown model", path: ctPath, body: `{"model":"nope","messages":[{"role":"user","content":"hi"}]}`, wantStatus: 404, wantCode: "not_found_error"},
		{name: "count_tokens too large", path: ctPath, body: `{"model":"claude","messages":[{"role":"user","content":"` + big + `"}]}`, wantStatus: 413, wantCode: "request_too_large"},
		{name: "openai wrong method", method: "DELETE", path: oaPath, wantStatus: 405},
		{name: "anthropic wrong method", method: "PUT", path: anPath, body: "{}", wantStatus: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = "POST"
			}
			var body io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				body = io.MultiReader(body) // unknown length: sent chunked
			}
			resp, b := f.do(method, tt.path, body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status: got %d, want %d; %s", resp.StatusCode, tt.wantStatus, b)
			}
			if tt.wantCode != "" {
				checkShape(t, tt.path, b, tt.wantCode)
			}
		})
	}
	// None of the refused requests reached a provider.
	for _, m := range []string{"sim-medium", "sim-large", ""} {
		if n := len(f.sim.Calls(m)); n != 0 {
			t.Errorf("calls to %q: got %d, want 0", m, n)
		}
	}
}

// A client that sends its headers and then stops sending its body gets a
// 408 in the API's error format once the server's read timeout passes, not
// a 400 blaming the body (the request was fine, it was slow).
func TestTrickledBodyIs408(t *testing.T) {
	f := newFixture(t)
	if err := f.gw.Apply(f.conf(gwConfig)); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(f.gw.Handler())
	srv.Config.ReadTimeout = 300 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	for _, tt := range []struct{ path, header, wantType string }{
		{oaPath, "", `"code":"request_timeout"`},
		{anPath, "anthropic-version: 2023-06-01\r\n", `"type":"timeout_error"`},
	} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(20 * time.Second)) // only against a hang
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n%sContent-Length: 100\r\n\r\n{\"model\":", tt.path, tt.header)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		conn.Close()
		if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(b), tt.wantType) {
			t.Errorf("%s: got %d %s, want 408 with %s", tt.path, resp.StatusCode, b, tt.wantType)
		}
	}
}

// A translated answer whose provider reported no usage shows the client
// the estimate it is billed (X-Switchyard-Cost), not zeros.
func TestTranslatedAnswerWithoutUsageShowsTheEstimate(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"Hello there, traveller."}],"stop_reason":"end_turn"}`)
	}))
	defer up.Close()
	f := newFixture(t)
	if err := f.gw.Apply(f.conf(`
providers:
  - {name: an, kind: anthropic, base_url: "` + up.URL + `"}
deployments:
  - {name: claude, provider: an, model: m, price: {input_per_mtok: 1, output_per_mtok: 1}}
`)); err != nil {
		t.Fatal(err)
	}
	resp, b := f.post(oaPath, `{"model":"claude","messages":[{"role":"user","content":"Say hello to the traveller please"}]}`)
	var out struct {
		Usage struct {
			Prompt     int `json:"prompt_tokens"`
			Completion int `json:"completion_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(b, &out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("got %d %s (%v)", resp.StatusCode, b, err)
	}
	if out.Usage.Prompt == 0 || out.Usage.Completion == 0 || resp.Header.Get(gateway.HeaderCost) == "0" {
		t.Errorf("got usage %+v, cost %s; want the billed estimate, not zeros", out.Usage, resp.Header.Get(gateway.HeaderCost))
	}
}

// A request no deployment of its route can serve is a 400 that still says
// which route refused it and why (its skips), as every answer does.
func TestNoCapableDeploymentCarriesRouteHeaders(t *testing.T) {
	f := newFixture(t)
	if err := f.gw.Apply(f.conf(gwConfig)); err != nil {
		t.Fatal(err)
	}
	resp, b := f.post(oaPath, `{"model":"auto","messages":[{"role":"user","content":[{"type":"text","text":"what is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]}`)
	if resp.StatusCode != 400 || !strings.Contains(string(b), "no_capable_deployment") {
		t.Fatalf("got %d %s, want 400 no_capable_deployment", resp.StatusCode, b)
	}
	if resp.Header.Get(gateway.HeaderRoute) != "auto" || !strings.Contains(resp.Header.Get(gateway.HeaderReason), "vision") {
		t.Errorf("route %q, reason %q: want auto, and a reason naming the missing vision", resp.Header.Get(gateway.HeaderRoute), resp.Header.Get(gateway.HeaderReason))
	}
}

// An explanation is recorded under no route (reason explain, no cost): it
// is not a request of the route it explains, whose counts it would swell.
func TestExplainIsNotARequestOfItsRoute(t *testing.T) {
	url, rec := recordedGateway(t)
	resp, err := http.Post(url+"/v1/route/explain", "application/json", strings.NewReader(oaChat))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"route":"auto"`) {
		t.Fatalf("got %d %s, want the plan of auto", resp.StatusCode, b)
	}
	clocktest.WaitFor(t, "the explanation's usage record", func() bool { return len(rec.all()) > 0 })
	got := rec.all()
	if len(got) != 1 || got[0].Route != "" || got[0].Reason != "explain" || got[0].CostUSD != 0 {
		t.Errorf("records %+v, want one under no route, reason explain, no cost", got)
	}
}

// A client that hangs up during its upload is recorded as a client that
// left (499 client_cancelled), not as a malformed body (400).
func TestClientGoneDuringUploadIs499(t *testing.T) {
	url, rec := recordedGateway(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"model\":", oaPath)
	conn.Close()
	clocktest.WaitFor(t, "the request's usage record", func() bool { return len(rec.all()) > 0 })
	if r := rec.all()[0]; r.Status != 499 || r.ErrorCode != "client_cancelled" {
		t.Errorf("got status %d error %q, want 499 client_cancelled", r.Status, r.ErrorCode)
	}
}

// recordedGateway is gwConfig over the simulator, served by a gateway whose
// usage records the test reads.
func recordedGateway(t *testing.T) (string, *recs) {
	t.Helper()
	simURL := startInstantSim(t)
	rec := &recs{}
	return gw(t, strings.ReplaceAll(gwConfig, "{{SIM}}", simURL), rec), rec
}
