package postgres

import (
	"strings"
	"testing"
	"time"
)

// TestParseURLConnectTimeoutOverflow: a connect_timeout (or
// PGCONNECT_TIMEOUT) too large for a time.Duration is refused by name
// instead of wrapping to a negative or tiny timeout; the largest one that
// fits is kept as it is.
func TestParseURLConnectTimeoutOverflow(t *testing.T) {
	t.Setenv("PGCONNECT_TIMEOUT", "")
	for _, bad := range []string{"9223372037", "18446744074", "9223372036854775807"} {
		_, err := parseURL("postgres://u:pw@127.0.0.1:5432/db?connect_timeout=" + bad)
		if err == nil || !strings.Contains(err.Error(), "connect_timeout") || strings.Contains(err.Error(), "pw") {
			t.Errorf("connect_timeout=%s: got %v, want an error naming it", bad, err)
		}
	}
	o, err := parseURL("postgres://u@127.0.0.1:5432/db?connect_timeout=9223372036")
	if err != nil || o.cfg.ConnectTimeout != 9223372036*time.Second {
		t.Errorf("connect_timeout=9223372036: got %v, %v", o.cfg.ConnectTimeout, err)
	}
	t.Setenv("PGCONNECT_TIMEOUT", "9223372037")
	if _, err := parseURL("postgres://u@127.0.0.1:5432/db"); err == nil || !strings.Contains(err.Error(), "PGCONNECT_TIMEOUT") {
		t.Errorf("PGCONNECT_TIMEOUT=9223372037: got %v, want an error naming it", err)
	}
	if o, err := parseURL("postgres://u@127.0.0.1:5432/db?connect_timeout=5"); err != nil || o.cfg.ConnectTimeout != 5*time.Second {
		t.Errorf("URL over env: got %v, %v; want 5s", o.cfg.ConnectTimeout, err)
	}
}
