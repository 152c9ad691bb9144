package wirejson

import (
	"bytes"
	"strconv"
	"unicode/utf8"

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

// BadUTF8 returns the offset of the first byte of b that is not part of
// valid UTF-8, or -1 when b is all UTF-8. JSON text exchanged between
// systems must be UTF-8 (RFC 8259, section 8.1); gjson does not check it.
func BadUTF8(b []byte) int {
	if utf8.Valid(b) {
		return -1
	}
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// UTF8Problem says where b is not UTF-8 ("it must be UTF-8, and byte N
// is not"), for the error of an endpoint that refuses such a body; "" when
// b is all UTF-8.
func UTF8Problem(b []byte) string {
	at := BadUTF8(b)
	if at < 0 {
		return ""
	}
	return "it must be UTF-8, and byte " + strconv.Itoa(at) + " is not"
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
