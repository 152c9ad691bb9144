package batch

import (
	"net/http"
	"testing"
)

// A rate limit's refusal is tried again however long its minute-bounded
// Retry-After (a key of rpm 1 is told 60 s; its lines went to the error
// file, found by audit Y); a spent budget's, hours away, is not.
func TestRetryableRetryAfter(t *testing.T) {
	rateLimit := `{"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}}`
	for _, tt := range []struct {
		retryAfter string
		want       bool
	}{
		{"1", true}, {"30", true}, {"60", true}, {"120", true}, {"3600", false}, {"50000", false},
	} {
		rec := &recorder{header: http.Header{"Retry-After": {tt.retryAfter}}}
		rec.WriteHeader(http.StatusTooManyRequests)
		rec.Write([]byte(rateLimit))
		if got := retryable(rec); got != tt.want {
			t.Errorf("Retry-After %s: retryable %v, want %v", tt.retryAfter, got, tt.want)
		}
	}
}
