package provider

import "math/bits"

// ChunkScanner is ScanObject for the chunks of one stream, which mostly
// differ from each other only inside strings (the token's text; the
// position in an id): it keeps the last chunk it scanned in full, with
// where its strings and marks are, and checks a chunk against it first.
// Where the two differ only inside strings, the chunk is the kept one with
// other strings in their places, so it is a JSON object exactly when the
// kept one is (the grammar sees a string token either way): only the
// differing strings are scanned, with a compare of the rest. Anything else
// (a difference outside a string, a kept mark inside a differing string) is
// scanned in full, which then becomes the kept chunk. The answers, the
// marks included, are ScanObject's (FuzzChunkScanner holds it to that).
//
// A ChunkScanner is used with one Marks, by one goroutine. The zero value
// is ready.
type ChunkScanner struct {
	m     *Marks
	prev  string // the kept chunk; valid when keep
	keep  bool
	last  bool    // at holds last occurrences too (see ScanObject)
	at    [16]int // the kept chunk's marks
	spans []strSpan
	buf   [maxSpans]strSpan
}

// maxSpans is the most strings a kept chunk may have: a token's chunk has
// about twenty. A larger chunk is scanned in full and not kept.
const maxSpans = 48

// maxSpanPos bounds a kept string's offsets (they are int32).
const maxSpanPos = 1<<31 - 1

// maxReplaced is the most strings a chunk may differ in from the kept one
// and still be checked against it.
const maxReplaced = 4

// Scan reports what ScanObject(data, m, at) reports and fills at as it
// does.
func (c *ChunkScanner) Scan(data string, m *Marks, at []int) bool {
	if c.keep && c.m == m && c.against(data, at) {
		return true
	}
	c.m, c.keep = m, false
	c.spans = c.buf[:0]
	sc := scanner{data: data, m: m, at: at, spans: &c.spans}
	if !scanObject(&sc) {
		return false
	}
	if sc.over == 0 {
		c.prev, c.keep, c.last = data, true, sc.last
		copy(c.at[:], at[:marks(sc.n, sc.last)])
	}
	return true
}

// replaced is a string of the kept chunk that differs in the new one: the
// kept string's closing quote, and how much longer the new one is.
type replaced struct{ end, delta int }

// against checks data against the kept chunk: true when data differs from
// it only inside strings, which are valid, and then at holds data's marks.
// False says nothing about data: it is then scanned in full.
func (c *ChunkScanner) against(data string, at []int) bool {
	p := c.prev
	sc := scanner{data: data, m: c.m, at: at}
	if c.m != nil {
		sc.n = len(c.m.quoted) + len(c.m.closing)
		sc.last = len(at) >= 2*sc.n
	}
	if sc.last != c.last {
		return false
	}
	nmarks := marks(sc.n, sc.last)
	// The marks found in the new strings, scanned into at.
	for k := range nmarks {
		at[k] = -1
	}
	var rep [maxReplaced]replaced
	nrep := 0
	i, j, k := 0, 0, 0 // i in p, j in data, k the first span not behind i
	for {
		n := commonPrefix(p[i:], data[j:])
		i, j = i+n, j+n
		if i == len(p) && j == len(data) {
			break
		}
		// p and data differ at i: that must be inside a string of p
		// (from its first byte to its closing quote).
		k = spanAt(c.spans, k, i)
		if k == len(c.spans) || i < int(c.spans[k].start) || nrep == maxReplaced {
			return false
		}
		s := c.spans[k]
		start, end := int(s.start), int(s.end)
		for m := range nmarks {
			if c.at[m] >= start && c.at[m] <= end {
				return false // the kept first mark is gone: where is the next?
			}
		}
		// data has p's bytes up to i, so its string starts where p's does
		// (shifted by what came before); scan it to its closing quote.
		ds := j - (i - start)
		q, ok := sc.str(ds)
		if !ok {
			return false
		}
		rep[nrep] = replaced{end: end, delta: (q - 1 - ds) - (end - start)}
		nrep++
		i, j, k = end, q-1, k+1 // both at the closing quote
	}
	// The kept marks, where they are in data, unless a new string has the
	// text first (or last, for a last occurrence).
	for m := range nmarks {
		pm := c.at[m]
		if pm < 0 {
			continue
		}
		shift := 0
		for _, r := range rep[:nrep] {
			if r.end < pm {
				shift += r.delta
			}
		}
		pm += shift
		if at[m] < 0 || (m < sc.n) == (pm < at[m]) {
			at[m] = pm
		}
	}
	return true
}

// marks is how many entries of at ScanObject fills for n texts.
func marks(n int, last bool) int {
	if last {
		return 2 * n
	}
	return n
}

// spanAt is the index of the first of spans[k:] whose closing quote is
// not before i (len(spans) when none): spans are in order.
func spanAt(spans []strSpan, k, i int) int {
	hi := len(spans)
	for k < hi {
		mid := int(uint(k+hi) >> 1)
		if int(spans[mid].end) < i {
			k = mid + 1
		} else {
			hi = mid
		}
	}
	return k
}

// commonPrefix is the length of the longest common prefix of a and b.
func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	i := 0
	for ; i+8 <= n; i += 8 {
		if x := load64(a, i) ^ load64(b, i); x != 0 {
			return i + bits.TrailingZeros64(x)/8
		}
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}

// load64 is the eight bytes of s at i, little-endian (one load).
func load64(s string, i int) uint64 {
	w := s[i : i+8]
	return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
}
