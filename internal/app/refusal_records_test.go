package app

import (
	"strings"
	"testing"
)

// TestEarlyRefusalsAreAccounted: a request refused before any endpoint
// ran, for its method (405) or its body's content coding (415), has its
// usage record and its switchyard_requests_total sample, as a 401 has
// (they had only their log line; a carried-over limitation).
func TestEarlyRefusalsAreAccounted(t *testing.T) {
	extra := sqliteExtra(t, "")
	s := startTenantStack(t, startSim(t, fastSim()), extra)
	for _, tt := range []struct {
		method, path, encoding string
		status                 int
	}{
		{"PUT", "/v1/chat/completions", "", 405},
		{"POST", "/v1/chat/completions", "gzip", 415},
	} {
		if got := sendRaw(t, s.hc, tt.method, s.base+tt.path, tt.encoding, "{}"); got != tt.status {
			t.Fatalf("%s %s: got %d, want %d", tt.method, tt.path, got, tt.status)
		}
	}
	scrape := s.scrape()
	for _, want := range []string{
		`switchyard_requests_total{deployment="",route="",status="405"} 1`,
		`switchyard_requests_total{deployment="",route="",status="415"} 1`,
	} {
		if !strings.Contains(scrape, want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
	s.stop()
	got := map[int]string{}
	for _, r := range usageRecords(t, storeOf(t, extra)) {
		if r.RequestID == "" || r.TenantID != "" || r.Deployment != "" {
			t.Errorf("record %+v: want a request id and no tenant or deployment", r)
		}
		got[r.Status] = r.ErrorCode
	}
	if got[405] != "method_not_allowed" || got[415] != "unsupported_content_encoding" || len(got) != 2 {
		t.Errorf("usage records by status: got %v, want 405 method_not_allowed and 415 unsupported_content_encoding", got)
	}
}
