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

func (a fakeAuth) AdmitRate(context.Context, *gateway.Principal) (gateway.Admission, error) {
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

// TestBodyCheckedBeforeLimits: a malformed rating is a 400 even when the
// caller's limits would refuse it, and takes nothing from them; a valid
// one is admitted, here refused by the rate limit.
func TestBodyCheckedBeforeLimits(t *testing.T) {
	limited := &countingAuth{err: &gateway.Denied{Status: 429, Code: "budget_exceeded", Message: "spent", RetryAfter: time.Hour}}
	a := New(Options{Store: failingStore{}, Auth: limited})
	for _, body := range []string{`{"request_id":"req_1","quality":1.5}`, `{"request_id":"a b","quality":1}`, `{"request_id":"req_1"}`, `not json`} {
		w := httptest.NewRecorder()
		a.ServeHTTP(w, httptest.NewRequest("POST", Path, strings.NewReader(body)))
		if w.Code != 400 || !strings.Contains(w.Body.String(), `"invalid_request_error"`) {
			t.Errorf("%s: got %d %s, want 400 invalid_request_error", body, w.Code, w.Body)
		}
	}
	if limited.admits != 0 {
		t.Errorf("malformed ratings admitted %d times, want none: they count against no limit", limited.admits)
	}
	w := httptest.NewRecorder()
	a.ServeHTTP(w, httptest.NewRequest("POST", Path, strings.NewReader(`{"request_id":"req_1","quality":1}`)))
	if w.Code != 429 || limited.admits != 1 {
		t.Errorf("a valid rating: got %d %s after %d admissions, want the limits' 429 after 1", w.Code, w.Body, limited.admits)
	}
}

// countingAuth authenticates everyone and refuses every admission with err,
// counting them.
type countingAuth struct {
	err    error
	admits int
}

func (a *countingAuth) Authenticate(context.Context, http.Header) (*gateway.Principal, error) {
	return &gateway.Principal{TenantID: "t", KeyID: "k"}, nil
}

func (a *countingAuth) AdmitRate(context.Context, *gateway.Principal) (gateway.Admission, error) {
	a.admits++
	return nil, a.err
}
