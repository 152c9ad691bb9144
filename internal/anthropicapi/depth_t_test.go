package anthropicapi

import (
	"errors"
	"strings"
	"testing"
)

// A body nested deeper than wirejson.MaxDepth is a 400, not a validation
// that recurses until the stack overflows (found by audit T).
func TestParseRefusesDeepNesting(t *testing.T) {
	body := `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"x":` + strings.Repeat("[", 7<<20) + `}`
	var bre *BadRequestError
	if _, err := ParseChat([]byte(body)); !errors.As(err, &bre) {
		t.Errorf("got %v, want a bad request", err)
	}
}
