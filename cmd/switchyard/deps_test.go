package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The provider SDKs check compatibility in tests only: linked into the
// gateway binary they add tens of MB to it and to its resident memory
// (docs/benchmarks.md, the session-3 re-check).
func TestBinaryDoesNotLinkProviderSDKs(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/openai/openai-go") || strings.HasPrefix(p, "github.com/anthropics/anthropic-sdk-go") {
			t.Errorf("the switchyard binary links %s, want the SDKs in tests only", p)
		}
	}
}
