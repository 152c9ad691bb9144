package llm

import (
	"math"
	"testing"
)

// TestUsageClamped: each count a provider reports is kept within
// [0, MaxReportedTokens], whatever the provider sent.
func TestUsageClamped(t *testing.T) {
	got := Usage{InputTokens: -1_000_000, CachedInputTokens: math.MaxInt64, CacheWriteTokens: 7, OutputTokens: MaxReportedTokens + 1, Estimated: true}.Clamped()
	want := Usage{InputTokens: 0, CachedInputTokens: MaxReportedTokens, CacheWriteTokens: 7, OutputTokens: MaxReportedTokens, Estimated: true}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for _, tt := range []struct{ in, want float64 }{{-7, 0}, {math.NaN(), 0}, {8.5, 8.5}, {math.Inf(1), MaxReportedTokens}} {
		if got := ReportedSeconds(tt.in); got != tt.want {
			t.Errorf("ReportedSeconds(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
