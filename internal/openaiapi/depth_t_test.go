package openaiapi

import (
	"errors"
	"strings"
	"testing"
)

// A body nested deeper than wirejson.MaxDepth is a 400, not a validation
// that recurses until the stack overflows (found by audit T: 7 MB of '['
// under the 8 MiB body limit killed the process).
func TestParseRefusesDeepNesting(t *testing.T) {
	body := `{"model":"m","messages":[{"role":"user","content":"hi"}],"x":` + strings.Repeat("[", 7<<20) + `}`
	for name, parse := range map[string]func([]byte) error{
		"chat":        func(b []byte) error { _, err := ParseChat(b); return err },
		"responses":   func(b []byte) error { _, err := ParseResponses(b); return err },
		"completions": func(b []byte) error { _, err := ParseCompletions(b); return err },
	} {
		var bre *BadRequestError
		if err := parse([]byte(body)); !errors.As(err, &bre) {
			t.Errorf("%s: got %v, want a bad request", name, err)
		}
	}
}
