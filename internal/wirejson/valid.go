package wirejson

import (
	"bytes"

	"github.com/tidwall/gjson"
)

// MaxDepth is the deepest nesting of arrays and objects Valid accepts, as
// encoding/json's decoder does. A validator that recurses per level (gjson's)
// would otherwise overflow the goroutine's stack on a few megabytes of '[',
// a fatal error no recover catches: one request, or one upstream frame,
// would stop the process.
const MaxDepth = 10_000

// Valid reports whether b is valid JSON nested no deeper than MaxDepth:
// gjson.ValidBytes, safe for a body or an upstream answer of any shape.
func Valid(b []byte) bool {
	return shallow(b) && gjson.ValidBytes(b)
}

// ValidString is Valid for a string.
func ValidString(s string) bool {
	return shallowString(s) && gjson.Valid(s)
}

// shallow reports whether b nests no deeper than MaxDepth. Deeper nesting
// needs more than MaxDepth opening brackets, which bytes.Count finds fast,
// so only such a document is walked.
func shallow(b []byte) bool {
	if bytes.Count(b, []byte{'['})+bytes.Count(b, []byte{'{'}) <= MaxDepth {
		return true
	}
	return depthWithin(b)
}

func shallowString(s string) bool {
	if len(s) <= MaxDepth {
		return true
	}
	return shallow([]byte(s))
}

// depthWithin walks b's brackets outside strings.
func depthWithin(b []byte) bool {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case '[', '{':
			if depth++; depth > MaxDepth {
				return false
			}
		case ']', '}':
			depth--
		}
	}
	return true
}
