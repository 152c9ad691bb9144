package tenancy

import "testing"

func TestUSD(t *testing.T) {
	for v, want := range map[float64]string{5: "$5.00", 12.5: "$12.50", 0.01: "$0.01", 0.0001: "$0.0001", 0.125: "$0.125", 1.005: "$1.005", 0: "$0", 0.30000000000000004: "$0.30", 0.1234567: "$0.123457"} {
		if got := usd(v); got != want {
			t.Errorf("usd(%v) = %q, want %q", v, got, want)
		}
	}
}
