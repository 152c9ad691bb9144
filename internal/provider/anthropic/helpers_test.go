package anthropic

import (
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/switchyard-gw/switchyard/internal/provider"
)

// TestMain checks for leaked goroutines, except while fuzzing: goleak's
// exit handling stalls the fuzzing workers.
func TestMain(m *testing.M) {
	flag.Parse()
	for _, name := range []string{"test.fuzz", "test.fuzzworker"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" && f.Value.String() != "false" {
			os.Exit(m.Run())
		}
	}
	goleak.VerifyTestMain(m)
}

const testKey = "sk-ant-test-s3cret"

// captured is the request the fake upstream received.
type captured struct {
	Method, Path, Query string
	Header              http.Header
	Body                []byte
}

// reply is what the fake upstream answers.
type reply struct {
	status  int
	header  map[string]string
	fixture string // file in testdata
	body    string // used when fixture is empty
}

// upstream starts a server that records each request and answers with r.
func upstream(t *testing.T, r reply) (*httptest.Server, <-chan captured) {
	t.Helper()
	var body []byte
	if r.fixture != "" {
		body = fixture(t, r.fixture)
	} else {
		body = []byte(r.body)
	}
	got := make(chan captured, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		got <- captured{Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery, Header: req.Header.Clone(), Body: b}
		for k, v := range r.header {
			w.Header().Set(k, v)
		}
		status := r.status
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

// newClient returns a Client for srv with a fixed clock.
func newClient(srv *httptest.Server, mod func(*provider.Config)) *Client {
	cfg := provider.Config{BaseURL: srv.URL, APIKey: testKey, Model: "claude-sonnet-4-5", HTTPClient: srv.Client()}
	if mod != nil {
		mod(&cfg)
	}
	c := New(cfg)
	c.now = func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }
	return c
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// receive returns the captured request, failing if there is none.
func receive(t *testing.T, got <-chan captured) captured {
	t.Helper()
	select {
	case c := <-got:
		return c
	default:
		t.Fatal("got no upstream request, want one")
		return captured{}
	}
}

// jsonDiff compares two JSON texts structurally.
func jsonDiff(t *testing.T, want string, got []byte) string {
	t.Helper()
	var w, g any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want JSON: %v", err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %s: %v", got, err)
	}
	return cmp.Diff(w, g)
}
