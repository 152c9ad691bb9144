package router

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/config"
)

// TestRoutingDocExamples loads every example of docs/routing.md: the first
// yaml block is the shared head, each later one adds its routes.
func TestRoutingDocExamples(t *testing.T) {
	t.Chdir("../..") // router_file paths are relative to the repository
	data, err := os.ReadFile("docs/routing.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(data), "```yaml\n")[1:]
	if len(blocks) < 10 {
		t.Fatalf("got %d yaml blocks, want the head and one per policy", len(blocks))
	}
	head, _, _ := strings.Cut(blocks[0], "```")
	for i, b := range blocks[1:] {
		t.Run(strconv.Itoa(i+1), func(t *testing.T) {
			src, _, _ := strings.Cut(b, "```")
			cfg, err := config.Parse([]byte(head+src), func(string) string { return "" })
			if err != nil {
				t.Fatalf("got %v, want the example to load", err)
			}
			if _, err := New(cfg, Options{}); err != nil {
				t.Errorf("got %v, want a router", err)
			}
		})
	}
}
