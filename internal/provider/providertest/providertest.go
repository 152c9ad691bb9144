// Package providertest holds what the provider adapters' tests share: a fake
// upstream that records each request and answers with a canned reply from
// testdata, small helpers around it, and the checks every adapter must pass
// (passthrough, error classification, transport failures, stream decoding),
// which each adapter's tests run with its own wire-format data. Only tests
// import it.
package providertest

import (
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/switchyard-gw/switchyard/internal/provider"
)

// Adapter is how the shared checks build the adapter under test.
type Adapter struct {
	// New returns the adapter for the deployment behind the fake upstream
	// srv: srv's URL and HTTP client, the API key Key and a fixed clock, with
	// mod applied to the config when mod is not nil.
	New func(srv *httptest.Server, mod func(*provider.Config)) provider.Provider
	// Key is the API key New configures; no error may ever contain it.
	Key string
}

// VerifyTestMain runs the tests and fails them when goroutines leak, except
// while fuzzing: goleak's exit handling stalls the fuzzing workers. Call it
// from TestMain.
func VerifyTestMain(m *testing.M) {
	flag.Parse()
	for _, name := range []string{"test.fuzz", "test.fuzzworker"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" && f.Value.String() != "false" {
			os.Exit(m.Run())
		}
	}
	goleak.VerifyTestMain(m)
}

// Received is a request the fake upstream received.
type Received struct {
	Method, Path, Query string
	Header              http.Header
	Body                []byte
}

// Reply is what the fake upstream answers.
type Reply struct {
	Status  int               // 200 when zero
	Header  map[string]string // set on the response
	Fixture string            // file in the calling package's testdata
	Body    string            // used when Fixture is empty
}

// Upstream starts a fake upstream that records each request on the returned
// channel (up to 8 unread) and answers every one with r. It is closed when
// the test ends.
func Upstream(t testing.TB, r Reply) (*httptest.Server, <-chan Received) {
	t.Helper()
	var body []byte
	if r.Fixture != "" {
		body = Fixture(t, r.Fixture)
	} else {
		body = []byte(r.Body)
	}
	got := make(chan Received, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		got <- Received{Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery, Header: req.Header.Clone(), Body: b}
		for k, v := range r.Header {
			w.Header().Set(k, v)
		}
		status := r.Status
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

// Fixture returns the contents of testdata/name in the calling package.
func Fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Receive returns the request the fake upstream received, failing the test
// if there is none.
func Receive(t testing.TB, got <-chan Received) Received {
	t.Helper()
	select {
	case c := <-got:
		return c
	default:
		t.Fatal("got no upstream request, want one")
		return Received{}
	}
}

// JSONDiff compares two JSON texts structurally and returns cmp.Diff's
// report (-want +got), empty when they are equal.
func JSONDiff(t testing.TB, want string, got []byte) string {
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
