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

// maxCharGramWords caps the words that contribute character n-grams, so a
// very long prompt costs a bounded time; the words are taken from the end
// of the prompt, where the actual question usually is.
const maxCharGramWords = 600

// numDense is the number of dense prompt features; see denseFeatures.
const numDense = 18

// sparseFeatures calls emit(bucket) once per hashed gram occurrence: word
// unigrams and bigrams (numbers folded to a digit-count class, so "17" and
// "42" are one word), single symbol characters, and character 3-grams of
// the last maxCharGramWords words (fastText-style, with word boundaries).
// It returns the number of emitted grams.
func sparseFeatures(text string, dim uint64, emit func(bucket uint32)) int {
	n := 0
	var prev uint64
	havePrev := false
	var words [][2]int // word byte spans, for the char grams
	var buf [64]byte
	i := 0
	for i < len(text) {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			j := i
			digits := 0
			for j < len(text) {
				r2, s2 := utf8.DecodeRuneInString(text[j:])
				if !(unicode.IsLetter(r2) || unicode.IsDigit(r2)) {
					break
				}
				if unicode.IsDigit(r2) {
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
		case unicode.IsSpace(r):
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
	lower := strings.ToLower(text)
	count := func(subs ...string) float64 {
		var c int
		for _, s := range subs {
			c += strings.Count(lower, s)
		}
		return float64(c)
	}
	frac := func(a float64) float64 { return a / math.Max(chars, 1) }
	out[0] = math.Log1p(chars)
	out[1] = math.Log1p(words)
	out[2] = math.Log1p(lines)
	out[3] = frac(digits)
	out[4] = frac(upper)
	out[5] = frac(nonASCII)
	out[6] = frac(punct)
	out[7] = frac(cjk)
	out[8] = math.Log1p(count("def ", "return", "```", "import ", "function", "=>", "print(", "class ", "();", "{\n", "#include", "public ", "int "))
	out[9] = math.Log1p(count("+", "=", "^", "\\frac", "$", "sqrt", "√", "×", "÷", "%", "equation", "solve", "calculate", "how many", "how much"))
	out[10] = math.Log1p(count("\na)", "\na.", "\n(a)", "\na:", "\nb)", "\nb.", "\n(b)", "\nb:", "option", "choice"))
	out[11] = math.Log1p(count("answer:", "\nq:", "question:", "\na:"))
	out[12] = math.Log1p(qmarks)
	out[13] = wordLen / math.Max(words, 1)
	out[14] = math.Log1p(float64(longest))
	out[15] = indented / lines
	out[16] = math.Log1p(count("explain", "write", "describe", "essay", "story", "poem", "summar", "why"))
	out[17] = math.Log1p(count("translate", "step by step", "reason", "prove", "derive"))
}
