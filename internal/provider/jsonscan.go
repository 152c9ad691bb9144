package provider

import (
	"math/bits"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// This file is JSONObject's validator: the grammar of gjson.Valid (which
// JSONObject used to call, and which the tests and the fuzz target hold it
// to), in one pass that skips eight bytes of a string at a time, and that
// can note on the way where some quoted texts first occur (see Marks), so
// that a stream adapter finds the keys it looks for without another scan.

// Marks is a set of up to eight texts whose first occurrences in a JSON
// object ScanObject records. A Quoted text is looked for right after a
// quote (the opening quote of a key or a string, or an escaped quote in a
// string), as a key is found by its name and closing quote; a Closing text
// is looked for at the end of a string, right before its closing quote.
// In valid JSON every occurrence of `"`+Quoted text, and of Closing
// text+`"`, is one of these, so the positions are those that
// strings.Index would give (see the tests).
type Marks struct {
	quoted  []string
	closing []string
	first   [256]uint8 // byte → the quoted texts that start with it, as bits
	last    [256]bool  // byte → whether a closing text ends with it
}

// NewMarks returns the marks for quoted and closing texts (eight in all at
// most, none empty). ScanObject records quoted[i] at at[i] and closing[j] at
// at[len(quoted)+j]. A text holds no backslash, and no quote but a quoted
// text's last byte: so each occurrence lies inside one string, its closing
// quote included, which ChunkScanner relies on.
func NewMarks(quoted, closing []string) *Marks {
	if len(quoted)+len(closing) > 8 {
		panic("provider: more than eight marks")
	}
	for _, q := range quoted {
		if strings.ContainsAny(q[:len(q)-1], `"\`) || q[len(q)-1] == '\\' {
			panic("provider: a quoted mark holds a backslash or an inner quote")
		}
	}
	for _, c := range closing {
		if strings.ContainsAny(c, `"\`) {
			panic("provider: a closing mark holds a quote or a backslash")
		}
	}
	m := &Marks{quoted: quoted, closing: closing}
	for i, q := range quoted {
		m.first[q[0]] |= 1 << i
	}
	for _, c := range closing {
		m.last[c[len(c)-1]] = true
	}
	return m
}

// ScanObject reports what JSONObject reports. When m is not nil and data is
// a JSON object, at[i] is then the index in data of the first occurrence
// of m's i-th text (quoted texts first, then closing ones; see Marks), the
// index of the text itself, or -1 when it does not occur. at must have room
// for every text of m; when it has room for twice as many, at[n+i] is the
// index of the i-th text's last occurrence (n texts in all), so that a
// caller can tell a text that occurs once. When ScanObject returns false,
// at means nothing.
func ScanObject(data string, m *Marks, at []int) bool {
	return scanObject(&scanner{data: data, m: m, at: at})
}

// scanObject is ScanObject over sc, which may also record its strings
// (see scanner.spans).
func scanObject(sc *scanner) bool {
	data, m, at := sc.data, sc.m, sc.at
	if m != nil {
		sc.n = len(m.quoted) + len(m.closing)
		sc.last = len(at) >= 2*sc.n
		for i := range sc.n {
			at[i] = -1
		}
		if sc.last {
			for i := range sc.n {
				at[sc.n+i] = -1
			}
		}
	}
	i := 0
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	if i == len(data) || data[i] != '{' {
		return false // gjson.Valid, then Parse(data).IsObject()
	}
	sc.deeper()
	i, ok := sc.object(i + 1)
	if !ok {
		return false
	}
	for ; i < len(data); i++ {
		if !isSpace(data[i]) {
			return false
		}
	}
	return true
}

type scanner struct {
	data  string
	m     *Marks
	at    []int
	depth int  // arrays and objects open; at most wirejson.MaxDepth
	n     int  // m's texts
	last  bool // at has room for the last occurrences too

	// spans, when not nil, gets every string's span (keys and values, in
	// order) until it is full; over counts those that did not fit.
	spans *[]strSpan
	over  int
}

// strSpan is where a string is in a chunk: its first byte after the
// opening quote, and its closing quote.
type strSpan struct{ start, end int32 }

// deeper enters an array or object: false when that nests it beyond
// wirejson.MaxDepth, which is refused, as the recursion would otherwise
// overflow the stack on a few megabytes of '[' (a fatal error, found by
// audit T with one upstream frame). The caller leaves it (depth--).
func (sc *scanner) deeper() bool {
	sc.depth++
	return sc.depth <= wirejson.MaxDepth
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// mark notes the quoted texts that start at p, right after a quote.
func (sc *scanner) mark(p int) {
	if p >= len(sc.data) {
		return
	}
	for set := sc.m.first[sc.data[p]]; set != 0; set &= set - 1 {
		k := bits.TrailingZeros8(set)
		if (sc.at[k] < 0 || sc.last) && strings.HasPrefix(sc.data[p:], sc.m.quoted[k]) {
			sc.note(k, p)
		}
	}
}

// note records an occurrence of text k at p: the first, and the last so
// far when asked for.
func (sc *scanner) note(k, p int) {
	if sc.at[k] < 0 {
		sc.at[k] = p
	}
	if sc.last {
		sc.at[sc.n+k] = p
	}
}

// markClosing notes the closing texts that end at q, a closing quote.
func (sc *scanner) markClosing(q int) {
	if q == 0 || !sc.m.last[sc.data[q-1]] {
		return // no closing text ends with the byte before q
	}
	for j, c := range sc.m.closing {
		k := len(sc.m.quoted) + j
		if (sc.at[k] < 0 || sc.last) && q >= len(c) && sc.data[q-len(c):q] == c {
			sc.note(k, q-len(c))
		}
	}
}

// value is gjson's validany: one value, leading white space skipped.
func (sc *scanner) value(i int) (int, bool) {
	data := sc.data
	for ; i < len(data); i++ {
		switch data[i] {
		default:
			return i, false
		case ' ', '\t', '\n', '\r':
			continue
		case '{', '[':
			if !sc.deeper() {
				return i, false
			}
			var ok bool
			if data[i] == '{' {
				i, ok = sc.object(i + 1)
			} else {
				i, ok = sc.array(i + 1)
			}
			sc.depth--
			return i, ok
		case '"':
			return sc.str(i + 1)
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			return validNumber(data, i+1)
		case 't':
			return literal(data, i+1, "rue")
		case 'f':
			return literal(data, i+1, "alse")
		case 'n':
			return literal(data, i+1, "ull")
		}
	}
	return i, false
}

// object is gjson's validobject: i is just after the '{'.
func (sc *scanner) object(i int) (int, bool) {
	data := sc.data
	for ; i < len(data); i++ {
		switch data[i] {
		default:
			return i, false
		case ' ', '\t', '\n', '\r':
			continue
		case '}':
			return i + 1, true
		case '"':
			for {
				var ok bool
				if i, ok = sc.str(i + 1); !ok {
					return i, false
				}
				if i, ok = punct(data, i, ':', ':'); !ok {
					return i, false
				}
				i++
				if i, ok = sc.value(i); !ok {
					return i, false
				}
				if i, ok = punct(data, i, ',', '}'); !ok {
					return i, false
				}
				if data[i] == '}' {
					return i + 1, true
				}
				for i++; i < len(data) && isSpace(data[i]); i++ {
				}
				if i == len(data) || data[i] != '"' {
					return i, false
				}
			}
		}
	}
	return i, false
}

// array is gjson's validarray: i is just after the '['.
func (sc *scanner) array(i int) (int, bool) {
	data := sc.data
	for ; i < len(data); i++ {
		switch data[i] {
		default:
			for ; i < len(data); i++ {
				var ok bool
				if i, ok = sc.value(i); !ok {
					return i, false
				}
				if i, ok = punct(data, i, ',', ']'); !ok {
					return i, false
				}
				if data[i] == ']' {
					return i + 1, true
				}
			}
		case ' ', '\t', '\n', '\r':
			continue
		case ']':
			return i + 1, true
		}
	}
	return i, false
}

// punct skips white space up to a or b (gjson's validcolon and
// validcomma), and returns its index.
func punct(data string, i int, a, b byte) (int, bool) {
	for ; i < len(data); i++ {
		switch c := data[i]; {
		case c == a || c == b:
			return i, true
		case !isSpace(c):
			return i, false
		}
	}
	return i, false
}

const (
	lo7   = 0x0101010101010101
	hi7   = 0x8080808080808080
	quote = '"' * lo7
	bslsh = '\\' * lo7
	ctl   = 0x20 * lo7
)

// special has the high bit set in each byte of x (little-endian) that is a
// quote, a backslash or a control character, and perhaps in some bytes
// after the first such one, never before it: the lowest bit set is exact.
func special(x uint64) uint64 {
	q, b := x^quote, x^bslsh
	return ((q-lo7)&^q | (b-lo7)&^b | (x-ctl)&^x) & hi7
}

// str is gjson's validstring: i is just after the opening quote; it
// returns the index after the closing one. Runs of plain bytes are skipped
// eight at a time.
func (sc *scanner) str(i int) (int, bool) {
	data, start := sc.data, i
	if sc.m != nil {
		sc.mark(i)
	}
	for i < len(data) {
		if i+8 <= len(data) {
			w := data[i : i+8]
			x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
				uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
			s := special(x)
			if s == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(s) / 8
		}
		switch c := data[i]; {
		case c < ' ':
			return i, false
		case c == '\\':
			i++
			if i == len(data) {
				return i, false
			}
			switch data[i] {
			default:
				return i, false
			case '"':
				if sc.m != nil {
					sc.mark(i + 1)
				}
			case '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				for range 4 {
					i++
					if i >= len(data) || !isHex(data[i]) {
						return i, false
					}
				}
			}
		case c == '"':
			if sc.m != nil && len(sc.m.closing) > 0 {
				sc.markClosing(i)
			}
			if sc.spans != nil {
				sc.span(start, i)
			}
			return i + 1, true
		}
		i++
	}
	return i, false
}

// span records the string from start to its closing quote q.
func (sc *scanner) span(start, q int) {
	if s := *sc.spans; len(s) < cap(s) && q <= maxSpanPos {
		*sc.spans = append(s, strSpan{int32(start), int32(q)})
		return
	}
	sc.over++
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// literal checks the rest of true, false or null.
func literal(data string, i int, rest string) (int, bool) {
	if strings.HasPrefix(data[i:], rest) {
		return i + len(rest), true
	}
	return i, false
}

// validNumber is gjson's validnumber: i is just after the number's first
// byte (a '-' or a digit).
func validNumber(data string, i int) (int, bool) {
	i--
	if data[i] == '-' {
		i++
		if i == len(data) || data[i] < '0' || data[i] > '9' {
			return i, false
		}
	}
	if data[i] == '0' {
		i++
	} else {
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
	}
	if i == len(data) {
		return i, true
	}
	if data[i] == '.' {
		i++
		if i == len(data) || data[i] < '0' || data[i] > '9' {
			return i, false
		}
		for i++; i < len(data) && data[i] >= '0' && data[i] <= '9'; i++ {
		}
	}
	if i == len(data) {
		return i, true
	}
	if data[i] == 'e' || data[i] == 'E' {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i == len(data) || data[i] < '0' || data[i] > '9' {
			return i, false
		}
		for i++; i < len(data) && data[i] >= '0' && data[i] <= '9'; i++ {
		}
	}
	return i, true
}
