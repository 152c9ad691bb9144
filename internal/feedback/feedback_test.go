package feedback

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchyard-gw/switchyard/internal/gateway"
	"github.com/switchyard-gw/switchyard/internal/store"
)

type fakeAuth struct{ authErr, admitErr error }

type noAdmission struct{}

func (noAdmission) Settle(int, int, float64) {}

func (a fakeAuth) Authenticate(context.Context, http.Header) (*gateway.Principal, error) {
	return &gateway.Principal{TenantID: "t"}, a.authErr
}

func (a fakeAuth) Admit(context.Context, *gateway.Principal, string, int, float64) (gateway.Admission, error) {
	return noAdmission{}, a.admitErr
}

type failingStore struct{ store.LearningStore }

func (failingStore) PutFeedback(context.Context, store.Feedback) error {
	return errors.New("disk full")
}

// TestFailures: a store that fails, a key store that cannot be asked and
// a rate limit each answer in OpenAI's error shape with the right status,
// and are counted as failed or refused.
func TestFailures(t *testing.T) {
	body := `{"request_id":"req_1","quality":1}`
	for _, tc := range []struct {
		name   string
		auth   fakeAuth
		status int
		code   string
		result string
	}{
		{"store down", fakeAuth{}, 503, "store_unavailable", resultFailed},
		{"key store down", fakeAuth{authErr: errors.New("dial tcp: refused")}, 503, "auth_unavailable", resultFailed},
		{"rate limited", fakeAuth{admitErr: &gateway.Denied{Status: 429, Code: "rate_limit_exceeded", Message: "slow down", RetryAfter: 1500 * time.Millisecond}},
			429, "rate_limit_exceeded", resultRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := New(Options{Store: failingStore{}, Auth: tc.auth})
			w := httptest.NewRecorder()
			a.ServeHTTP(w, httptest.NewRequest("POST", Path, strings.NewReader(body)))
			if w.Code != tc.status || !strings.Contains(w.Body.String(), `"code":"`+tc.code+`"`) || strings.Contains(w.Body.String(), "disk full") {
				t.Errorf("%d %s, want %d %s without the cause", w.Code, w.Body, tc.status, tc.code)
			}
			if tc.status == 429 && w.Header().Get("Retry-After") != "2" {
				t.Errorf("Retry-After %q, want 2 (1.5 s rounded up)", w.Header().Get("Retry-After"))
			}
			if got := testutil.ToFloat64(a.results.WithLabelValues(tc.result)); got != 1 {
				t.Errorf("%s counted %v times, want 1", tc.result, got)
			}
		})
	}
}
