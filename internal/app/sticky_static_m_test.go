package app

import (
	"strings"
	"testing"
)

// TestWeightedStickyStaticKeys: a weighted route sticky on key keeps each
// static key (server.api_keys, which have no key id) on one arm, whether it
// comes as a bearer token or x-api-key; it was random for every request.
func TestWeightedStickyStaticKeys(t *testing.T) {
	cfg := strings.Replace(baseConfig, "  listen: 127.0.0.1:0\n",
		"  listen: 127.0.0.1:0\n  api_keys: [\"sk-static-one-aaaaaaaa\", \"sk-static-two-bbbbbbbb\", \"sk-static-three-cccc\"]\n", 1) + `
  - name: ab
    policy: weighted
    sticky: key
    arms:
      - {name: control, target: medium, weight: 50}
      - {name: candidate, target: small, weight: 50}
`
	s := startStack(t, fastSim(), cfg)
	body := routeBody("ab", "hi", "")
	for _, key := range []string{"sk-static-one-aaaaaaaa", "sk-static-two-bbbbbbbb", "sk-static-three-cccc"} {
		arms := map[string]int{}
		for i := range 12 {
			hdr := []string{"Authorization", "Bearer " + key}
			if i%2 == 1 {
				hdr = []string{"x-api-key", key}
			}
			h := s.served(body, hdr...)
			arms[h.Get("X-Switchyard-Arm")]++
			r := h.Get("X-Switchyard-Reason")
			if !strings.Contains(r, "(sticky key)") {
				t.Fatalf("key %s: got reason %q, want the arm picked by sticky key", key[:13], r)
			}
			if strings.Contains(r, key) {
				t.Fatalf("reason %q shows the key", r)
			}
		}
		if len(arms) != 1 {
			t.Errorf("key %s: got arms %v over 12 requests, want one arm", key[:13], arms)
		}
	}
}
