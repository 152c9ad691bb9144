package learned

import (
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Hash seeds keep the gram kinds apart in the shared hashed space.
const (
	seedWord   = 0x9e3779b97f4a7c15
	seedBigram = 0xc2b2ae3d27d4eb4f
	seedChar   = 0x165667b19e3779f9
	seedSymbol = 0x27d4eb2f165667c5
)

// The bytes of a prompt that feed the features: prompts over
// windowHead+windowTail bytes contribute their first windowHead bytes (the
// instructions) and their last windowTail bytes (the question), so a
// decision costs the same for any prompt length. Only the overall length
// features look at the whole prompt (with SIMD byte counts).
const (
	windowHead = 256
	windowTail = 1280
)

// maxCharGramWords caps the words that contribute character 3-grams: the
// last ones of the prompt, where the actual question usually is.
const maxCharGramWords = 64

// maxGrams bounds the grams one prompt can emit (every window byte emits
// at most two, plus the character grams).
const maxGrams = 2*(windowHead+windowTail) + maxCharGramWords*26

// window splits text into the (at most two) segments that feed the
// features, cut at rune boundaries.
func window(text string) (head, tail string) {
	if len(text) <= windowHead+windowTail {
		return text, ""
	}
	h, t := windowHead, len(text)-windowTail
	for h > 0 && !utf8.RuneStart(text[h]) {
		h--
	}
	for t < len(text) && !utf8.RuneStart(text[t]) {
		t++
	}
	return text[:h], text[t:]
}

// escapedBreak reports whether text[i:] starts with a literal backslash
// escape "\n", "\r" or "\t": several published data sets store prompts as
// quoted Python strings, and reading those escapes as white space makes
// them look like the raw prompts the gateway sees.
func escapedBreak(text string, i int) bool {
	if text[i] != '\\' || i+1 >= len(text) {
		return false
	}
	c := text[i+1]
	return c == 'n' || c == 'r' || c == 't'
}

// sparseFeatures appends to buf one hashed bucket per gram occurrence of
// the prompt's window and returns it: word unigrams and bigrams (numbers
// folded to a digit-count class, so "17" and "42" are one word), symbol
// characters and their bigrams with neighbours, and character 3-grams
// (fastText-style, with word boundaries) of the last maxCharGramWords
// words. It does not allocate when buf has room for maxGrams.
func sparseFeatures(text string, dim uint64, buf []uint32) []uint32 {
	head, tail := window(text)
	buf = sparseSegment(head, dim, buf, tail == "")
	if tail != "" {
		buf = sparseSegment(tail, dim, buf, true)
	}
	return buf
}

func sparseSegment(text string, dim uint64, buf []uint32, charGrams bool) []uint32 {
	var prev uint64
	havePrev := false
	// ring holds the byte spans of the last maxCharGramWords words.
	var ring [maxCharGramWords][2]int32
	nw := 0
	i := 0
	for i < len(text) {
		c := text[i]
		if c == ' ' || c == '\n' || c == '\t' || c == '\r' {
			i++
			continue
		}
		if escapedBreak(text, i) {
			i += 2
			continue
		}
		r, size := rune(c), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(text[i:])
			if unicode.IsSpace(r) {
				i += size
				continue
			}
		}
		var h uint64
		if isWordRune(r) {
			j := i
			digits := 0
			for j < len(text) {
				r2, s2 := rune(text[j]), 1
				if r2 >= utf8.RuneSelf {
					r2, s2 = utf8.DecodeRuneInString(text[j:])
				}
				if !isWordRune(r2) {
					break
				}
				if r2 >= '0' && r2 <= '9' || (r2 >= utf8.RuneSelf && unicode.IsDigit(r2)) {
					digits++
				}
				j += s2
			}
			if digits > 0 {
				h = mix(seedWord, uint64(min(digits, 8))+0x51ed)
			} else {
				h = hashLower(seedWord, text[i:j])
				if j-i <= 24 {
					ring[nw%maxCharGramWords] = [2]int32{int32(i), int32(j)}
					nw++
				}
			}
			i = j
		} else {
			h = mix(seedSymbol, uint64(r))
			i += size
		}
		buf = append(buf, uint32(h%dim))
		if havePrev {
			buf = append(buf, uint32(mix(seedBigram^prev, h)%dim))
		}
		prev, havePrev = h, true
	}
	if !charGrams {
		return buf
	}
	for k := max(0, nw-maxCharGramWords); k < nw; k++ {
		w := ring[k%maxCharGramWords]
		buf = charGramsOf(text[w[0]:w[1]], dim, buf)
	}
	return buf
}

// charGramsOf appends the 3-grams of "<word>" (ASCII lower-cased), hashed
// in place over a rolling window of three bytes.
func charGramsOf(s string, dim uint64, buf []uint32) []uint32 {
	at := func(k int) uint64 { // byte k of "<s>"
		switch {
		case k == 0:
			return '<'
		case k == len(s)+1:
			return '>'
		}
		return uint64(lowerByte(s[k-1]))
	}
	for k := 0; k+3 <= len(s)+2; k++ {
		h := uint64(seedChar)
		h = (h ^ at(k)) * 0x100000001b3
		h = (h ^ at(k+1)) * 0x100000001b3
		h = (h ^ at(k+2)) * 0x100000001b3
		buf = append(buf, uint32(mix(h, 3)%dim))
	}
	return buf
}

// hashLower is FNV-1a over the ASCII-lower-cased bytes of s.
func hashLower(seed uint64, s string) uint64 {
	h := seed
	for k := 0; k < len(s); k++ {
		h = (h ^ uint64(lowerByte(s[k]))) * 0x100000001b3
	}
	return mix(h, uint64(len(s)))
}

// mix is a 64-bit finaliser (splitmix64) of a combined with b.
func mix(a, b uint64) uint64 {
	z := a ^ (b * 0x9e3779b97f4a7c15)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// numDense is the number of dense prompt features; see denseFeatures.
const numDense = 8 + numMarkerGroups + 6

// denseFeatures fills out (len numDense) with unscaled, task-agnostic
// prompt statistics: overall length, shape of the window, and counts of
// markers of code, maths, multiple choice, few-shot examples, open-ended
// and reasoning requests, question words, constraints, and script
// (language).
func denseFeatures(text string, mk *markerTable, out []float64) {
	var st segStats
	head, tail := window(text)
	st.scan(head)
	st.scan(tail)
	var groups [numMarkerGroups]float64
	mk.count(head, &groups)
	mk.count(tail, &groups)
	chars := math.Max(st.chars, 1)
	lines := float64(strings.Count(text, "\n")+strings.Count(text, `\n`)) + 1
	out[0] = math.Log1p(float64(len(text)))
	out[1] = math.Log1p(st.words)
	out[2] = math.Log1p(lines)
	out[3] = st.digits / chars
	out[4] = st.upper / chars
	out[5] = st.nonASCII / chars
	out[6] = st.punct / chars
	out[7] = st.cjk / chars
	for g := range numMarkerGroups {
		out[8+g] = math.Log1p(groups[g])
	}
	out[8+numMarkerGroups] = math.Log1p(st.qmarks)
	out[9+numMarkerGroups] = st.wordLen / math.Max(st.words, 1)
	out[10+numMarkerGroups] = math.Log1p(st.longest)
	out[11+numMarkerGroups] = st.indented / math.Max(st.lineStarts, 1)
	out[12+numMarkerGroups] = math.Log1p(st.numbers)
	last := tail
	if last == "" {
		last = head
	}
	out[13+numMarkerGroups] = math.Log1p(float64(len(lastBlock(last))))
}

// lastBlock is the text after the last blank line (real or escaped) of the
// window's last segment: in a few-shot prompt, the question actually asked.
func lastBlock(text string) string {
	for i := len(text) - 2; i >= 0; i-- {
		switch {
		case text[i] == '\n' && text[i+1] == '\n':
			return text[i+2:]
		case text[i] == '\\' && strings.HasPrefix(text[i:], `\n\n`):
			return text[i+4:]
		}
	}
	return text
}

// segStats are character statistics of the window.
type segStats struct {
	chars, digits, upper, nonASCII, punct, cjk, qmarks float64
	words, wordLen, numbers, indented, lineStarts      float64
	longest                                            float64
}

func (st *segStats) scan(text string) {
	cur := 0.0
	inWord, wordHasDigit, atLineStart := false, false, true
	endWord := func() {
		if inWord && wordHasDigit {
			st.numbers++
		}
		inWord, wordHasDigit = false, false
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c == '\n' || escapedBreak(text, i) && text[i+1] == 'n' {
			st.longest = math.Max(st.longest, cur)
			cur = 0
			atLineStart = true
			endWord()
			i += 1 + int(b2i(c == '\\'))
			continue
		}
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(text[i:])
		}
		i += size
		st.chars++
		cur++
		if atLineStart {
			st.lineStarts++
			if r == ' ' || r == '\t' {
				st.indented++
			}
		}
		atLineStart = false
		var letter, digit, upper bool
		if r < utf8.RuneSelf {
			digit = c >= '0' && c <= '9'
			upper = c >= 'A' && c <= 'Z'
			letter = upper || c >= 'a' && c <= 'z'
		} else {
			digit = unicode.IsDigit(r)
			letter = unicode.IsLetter(r)
			upper = unicode.IsUpper(r)
			st.nonASCII++
			if unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) {
				st.cjk++
			}
		}
		if letter || digit {
			if !inWord {
				st.words++
				inWord = true
			}
			wordHasDigit = wordHasDigit || digit
			st.wordLen++
			if digit {
				st.digits++
			}
			if upper {
				st.upper++
			}
			continue
		}
		endWord()
		if r < utf8.RuneSelf {
			if c > ' ' && c < 0x7f {
				st.punct++
			}
		} else if unicode.IsPunct(r) || unicode.IsSymbol(r) {
			st.punct++
		}
		if r == '?' {
			st.qmarks++
		}
	}
	endWord()
	st.longest = math.Max(st.longest, cur)
}

func b2i(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// markerGroups are the case-insensitive substrings counted by
// denseFeatures: code, maths, multiple choice, few-shot, open-ended,
// reasoning requests, question words, constraints. A pattern with a line
// break also matches with the escaped form "\n".
var markerGroups = [...][]string{
	{"def ", "return", "```", "import ", "function", "=>", "print(", "class ", "();", "{\n", "#include", "public ", "int ", "python", "code", "program"},
	{"+", "=", "^", "\\frac", "$", "sqrt", "√", "×", "÷", "%", "equation", "solve", "calculate", "how many", "how much", "total", "number", "sum"},
	{"\na)", "\na.", "\n(a)", "\na:", "\nb)", "\nb.", "\n(b)", "\nb:", "option", "choice", "choose", "which of the following"},
	{"answer:", "\nq:", "question:", "\na:", "example"},
	{"explain", "write", "describe", "essay", "story", "poem", "summar", "why", "discuss", "compare"},
	{"translate", "step by step", "reason", "prove", "derive", "show that", "justify", "therefore", "implies"},
	{"what ", "which ", "who ", "when ", "where ", "how "},
	{"must", "should", "at least", "at most", "exactly", "no more than", "without", "only", "ensure", "format", "each "},
}

const numMarkerGroups = len(markerGroups)

// markerTable dispatches markerGroups patterns on their first byte, after
// a bit-set test of their first two bytes (most positions match none).
type markerTable struct {
	pair  [1 << 16 / 64]uint64 // bit b0<<8|b1 set when a pattern starts so
	first [256][]marker
}

func (t *markerTable) setPair(b0, b1 byte) {
	k := uint(b0)<<8 | uint(b1)
	t.pair[k/64] |= 1 << (k % 64)
}

func (t *markerTable) add(p string, g int) {
	t.first[p[0]] = append(t.first[p[0]], marker{p, g})
	if len(p) == 1 {
		for b1 := range 256 {
			t.setPair(p[0], byte(b1))
		}
		return
	}
	t.setPair(p[0], p[1])
	if c := p[1]; c >= 'a' && c <= 'z' {
		t.setPair(p[0], c-'a'+'A')
	}
}

type marker struct {
	s string
	g int
}

func newMarkerTable() *markerTable {
	t := &markerTable{}
	for g, ps := range markerGroups {
		for _, p := range ps {
			t.add(p, g)
			if strings.Contains(p, "\n") {
				t.add(strings.ReplaceAll(p, "\n", `\n`), g)
			}
		}
	}
	return t
}

// count adds the occurrences of every pattern in text (ASCII case folded).
func (t *markerTable) count(text string, out *[numMarkerGroups]float64) {
	for i := 0; i+1 < len(text); i++ {
		c := lowerByte(text[i])
		if k := uint(c)<<8 | uint(text[i+1]); t.pair[k/64]&(1<<(k%64)) == 0 {
			continue
		}
		for _, p := range t.first[c] {
			if hasPrefixFold(text[i:], p.s) {
				out[p.g]++
			}
		}
	}
	if n := len(text); n > 0 {
		for _, p := range t.first[lowerByte(text[n-1])] {
			if len(p.s) == 1 {
				out[p.g]++
			}
		}
	}
}

func lowerByte(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func hasPrefixFold(s, p string) bool {
	if len(s) < len(p) {
		return false
	}
	for k := 0; k < len(p); k++ {
		if lowerByte(s[k]) != p[k] {
			return false
		}
	}
	return true
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}
