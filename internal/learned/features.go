package learned

import (
	"math"
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

// maxCharGramWords caps the words that contribute character n-grams, so a
// very long prompt costs a bounded time; the words are taken from the end
// of the prompt, where the actual question usually is.
const maxCharGramWords = 256

// numDense is the number of dense prompt features; see denseFeatures.
const numDense = 18

// sparseFeatures calls emit(bucket) once per hashed gram occurrence: word
// unigrams and bigrams (numbers folded to a digit-count class, so "17" and
// "42" are one word), single symbol characters, and character 3-grams of
// the last maxCharGramWords words (fastText-style, with word boundaries).
// Prompts over 4 KB contribute their first 1 KB and last 3 KB. It returns
// the number of emitted grams.
func sparseFeatures(text string, dim uint64, emit func(bucket uint32)) int {
	if len(text) <= sparseHead+sparseTail {
		return sparseSegment(text, dim, emit)
	}
	// Long prompts: the head (instructions) and the tail (the question)
	// carry the signal; the middle is usually context or examples.
	h, t := sparseHead, len(text)-sparseTail
	for h > 0 && !utf8.RuneStart(text[h]) {
		h--
	}
	for t < len(text) && !utf8.RuneStart(text[t]) {
		t++
	}
	return sparseSegment(text[:h], dim, emit) + sparseSegment(text[t:], dim, emit)
}

// sparseHead and sparseTail bound the bytes of a prompt that feed the
// hashed n-grams, so a decision costs the same for any prompt length.
const (
	sparseHead = 1024
	sparseTail = 3072
)

func sparseSegment(text string, dim uint64, emit func(bucket uint32)) int {
	n := 0
	var prev uint64
	havePrev := false
	var words [][2]int // word byte spans, for the char grams
	var buf [64]byte
	i := 0
	for i < len(text) {
		r, size := rune(text[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(text[i:])
		}
		switch {
		case isWordRune(r):
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
			var h uint64
			if digits > 0 {
				h = mix(seedWord, uint64(min(digits, 8))+0x51ed)
			} else {
				h = hashLower(seedWord, text[i:j], buf[:])
				words = append(words, [2]int{i, j})
			}
			emit(uint32(h % dim))
			n++
			if havePrev {
				emit(uint32(mix(seedBigram^prev, h) % dim))
				n++
			}
			prev, havePrev = h, true
			i = j
		case r == ' ' || r == '\n' || r == '\t' || r == '\r' || (r >= utf8.RuneSelf && unicode.IsSpace(r)):
			i += size
		default:
			h := mix(seedSymbol, uint64(r))
			emit(uint32(h % dim))
			n++
			if havePrev {
				emit(uint32(mix(seedBigram^prev, h) % dim))
				n++
			}
			prev, havePrev = h, true
			i += size
		}
	}
	start := max(0, len(words)-maxCharGramWords)
	for _, w := range words[start:] {
		s := text[w[0]:w[1]]
		if len(s) > 24 {
			continue
		}
		// Boundary-marked lower-case bytes: "<word>".
		b := buf[:0]
		b = append(b, '<')
		for k := 0; k < len(s); k++ {
			c := s[k]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
		}
		b = append(b, '>')
		for k := 0; k+3 <= len(b); k++ {
			h := uint64(seedChar)
			h = (h ^ uint64(b[k])) * 0x100000001b3
			h = (h ^ uint64(b[k+1])) * 0x100000001b3
			h = (h ^ uint64(b[k+2])) * 0x100000001b3
			emit(uint32(mix(h, 3) % dim))
			n++
		}
	}
	return n
}

// hashLower is FNV-1a over the ASCII-lower-cased bytes of s.
func hashLower(seed uint64, s string, _ []byte) uint64 {
	h := seed
	for k := 0; k < len(s); k++ {
		c := s[k]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		h = (h ^ uint64(c)) * 0x100000001b3
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

// denseFeatures fills out (len numDense) with unscaled prompt statistics:
// length, shape, and markers of code, maths, multiple choice, few-shot
// examples, open-ended requests and script (language).
func denseFeatures(text string, out []float64) {
	var chars, digits, upper, nonASCII, punct, letters, cjk, lines, indented, qmarks float64
	var words, wordLen float64
	longest, cur := 0, 0
	inWord := false
	atLineStart := true
	for _, r := range text {
		chars++
		if r == '\n' {
			lines++
			longest = max(longest, cur)
			cur = 0
			atLineStart = true
			inWord = false
			continue
		}
		cur++
		if atLineStart && (r == ' ' || r == '\t') {
			indented++
		}
		atLineStart = false
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if !inWord {
				words++
				inWord = true
			}
			wordLen++
			if unicode.IsDigit(r) {
				digits++
			} else {
				letters++
			}
			if unicode.IsUpper(r) {
				upper++
			}
		default:
			inWord = false
			if unicode.IsPunct(r) || unicode.IsSymbol(r) {
				punct++
			}
			if r == '?' {
				qmarks++
			}
		}
		if r > 127 {
			nonASCII++
			if unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r) {
				cjk++
			}
		}
	}
	longest = max(longest, cur)
	lines++
	var groups [len(markerGroups)]float64
	countMarkers(text, &groups)
	count := func(g int) float64 { return groups[g] }
	frac := func(a float64) float64 { return a / math.Max(chars, 1) }
	out[0] = math.Log1p(chars)
	out[1] = math.Log1p(words)
	out[2] = math.Log1p(lines)
	out[3] = frac(digits)
	out[4] = frac(upper)
	out[5] = frac(nonASCII)
	out[6] = frac(punct)
	out[7] = frac(cjk)
	out[8] = math.Log1p(count(0))
	out[9] = math.Log1p(count(1))
	out[10] = math.Log1p(count(2))
	out[11] = math.Log1p(count(3))
	out[12] = math.Log1p(qmarks)
	out[13] = wordLen / math.Max(words, 1)
	out[14] = math.Log1p(float64(longest))
	out[15] = indented / lines
	out[16] = math.Log1p(count(4))
	out[17] = math.Log1p(count(5))
}

// markerGroups are the case-insensitive substrings counted by denseFeatures:
// code, maths, multiple choice, few-shot, open-ended, reasoning requests.
var markerGroups = [...][]string{
	{"def ", "return", "```", "import ", "function", "=>", "print(", "class ", "();", "{\n", "#include", "public ", "int "},
	{"+", "=", "^", "\\frac", "$", "sqrt", "√", "×", "÷", "%", "equation", "solve", "calculate", "how many", "how much"},
	{"\na)", "\na.", "\n(a)", "\na:", "\nb)", "\nb.", "\n(b)", "\nb:", "option", "choice"},
	{"answer:", "\nq:", "question:", "\na:"},
	{"explain", "write", "describe", "essay", "story", "poem", "summar", "why"},
	{"translate", "step by step", "reason", "prove", "derive"},
}

// countMarkers counts every markerGroups pattern in text (ASCII case folded)
// in one pass, dispatching on the first byte.
func countMarkers(text string, out *[len(markerGroups)]float64) {
	type pat struct {
		s string
		g int
	}
	var first [256][]pat
	for g, ps := range markerGroups {
		for _, p := range ps {
			first[p[0]] = append(first[p[0]], pat{p, g})
		}
	}
	for i := 0; i < len(text); i++ {
		c := lowerByte(text[i])
		for _, p := range first[c] {
			if hasPrefixFold(text[i:], p.s) {
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
