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

func TestBadUTF8(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int
	}{
		{`{"a":"plain"}`, -1},
		{`{"a":"é 日本 🚂"}`, -1},
		{"{\"a\":\"\xff\"}", 6},
		{"{\"a\":\"ok é\xc3\"}", 11},    // a truncated sequence
		{"{\"a\":\"\xed\xa0\x80\"}", 6}, // a surrogate encoded in UTF-8
		{"{\"a\":\"\xc0\xaf\"}", 6},     // an overlong encoding
		{`{"a":"\ud800"}`, -1},          // an escape is ASCII; the JSON grammar's concern
	} {
		if got := BadUTF8([]byte(tt.in)); got != tt.want {
			t.Errorf("BadUTF8(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
