package providertest

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// PassthroughCase is a Chat request in the adapter's own dialect, which must
// reach the upstream with only its model rewritten.
type PassthroughCase struct {
	// Fixture is the upstream's answer, a file in testdata.
	Fixture string
	// Config changes the deployment's config; nil for none.
	Config  func(*provider.Config)
	Request *llm.Request
	// WantBody is the body the upstream must receive, byte for byte.
	WantBody string
	WantPath string
	// WantHeader maps each header to the value the upstream must receive;
	// "" means the header must be absent.
	WantHeader map[string]string
	// Want is the response Chat must return.
	Want *llm.Response
}

// ChatPassthrough sends tc.Request with Chat and checks the upstream got a
// POST of tc.WantBody to tc.WantPath with tc.WantHeader, and that Chat
// returned tc.Want.
func ChatPassthrough(t *testing.T, a Adapter, tc PassthroughCase) {
	t.Helper()
	srv, got := Upstream(t, Reply{Fixture: tc.Fixture})
	resp, err := a.New(srv, tc.Config).Chat(context.Background(), tc.Request)
	if err != nil {
		t.Fatalf("got error %v, want nil", err)
	}
	up := Receive(t, got)
	if string(up.Body) != tc.WantBody {
		t.Errorf("got body %s, want %s", up.Body, tc.WantBody)
	}
	if up.Method != http.MethodPost {
		t.Errorf("method: got %q, want %q", up.Method, http.MethodPost)
	}
	if up.Path != tc.WantPath {
		t.Errorf("path: got %q, want %q", up.Path, tc.WantPath)
	}
	for _, name := range slices.Sorted(maps.Keys(tc.WantHeader)) {
		if g, w := up.Header.Get(name), tc.WantHeader[name]; g != w {
			t.Errorf("header %s: got %q, want %q", name, g, w)
		}
	}
	if diff := cmp.Diff(tc.Want, resp); diff != "" {
		t.Errorf("response mismatch (-want +got):\n%s", diff)
	}
}
