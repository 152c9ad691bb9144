package wirejson

import (
	"strings"
	"testing"
)

// A document nested deeper than MaxDepth is refused without recursing
// (found by audit T: 7 MB of '[' in a request body overflowed gjson's
// validator's stack and killed the process); one within it, and brackets
// inside strings, are not.
func TestValidDepth(t *testing.T) {
	nest := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	tests := []struct {
		name string
		doc  string
		want bool
	}{
		{"flat", `{"a":[1,2,{"b":null}]}`, true},
		{"at the limit", nest(MaxDepth), true},
		{"over the limit", nest(MaxDepth + 1), false},
		{"very deep", `{"model":"m","x":` + nest(2_000_000) + `}`, false},
		{"many brackets, shallow", "[" + strings.Repeat("[],", MaxDepth*2) + "[]]", true},
		{"brackets in a string", `{"a":"` + strings.Repeat("[", MaxDepth*2) + `\"[["}`, true},
		{"invalid", `{"a":`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Valid([]byte(tt.doc)); got != tt.want {
				t.Errorf("Valid = %v, want %v", got, tt.want)
			}
			if got := ValidString(tt.doc); got != tt.want {
				t.Errorf("ValidString = %v, want %v", got, tt.want)
			}
		})
	}
}
