package gateway

import "testing"

// TestLocalHost: the Hosts an open gateway serves keyless requests at.
func TestLocalHost(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1:8080": true, "[::1]:8080": true, "::1": true, "localhost:8080": true, "LOCALHOST": true,
		"app.localhost:80": true, "localhost.": true, "10.0.0.7": true, "": true,
		"evil.example:8080": false, "localhost.evil.example": false, "127.0.0.1.nip.io": false,
	} {
		if got := localHost(host); got != want {
			t.Errorf("localHost(%q) = %v, want %v", host, got, want)
		}
	}
}
