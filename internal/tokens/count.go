package tokens

import (
	"sync"

	"github.com/pkoukk/tiktoken-go"
	tiktokenloader "github.com/pkoukk/tiktoken-go-loader"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// DefaultExactLimit is the longest text, in bytes, that Counter.Count runs
// through the real BPE tokenizer; longer texts use Estimate. BPE on the
// regexp2 pre-tokenizer costs about a microsecond per token, which would
// dominate a routing decision on long prompts; the estimate is within
// about 15% of cl100k on English prose, code and JSON (see the tests).
const DefaultExactLimit = 256

// Counter counts tokens the way OpenAI's cl100k_base tokenizer does (GPT-4,
// GPT-3.5 and their OpenAI-compatible peers): exactly for short texts, by
// Estimate beyond ExactLimit bytes. The BPE tables (embedded, no network) are
// loaded on first exact count. Safe for concurrent use.
type Counter struct {
	// ExactLimit overrides DefaultExactLimit; negative means never exact.
	ExactLimit int
}

// NewCounter returns a counter with the default exact limit.
func NewCounter() *Counter { return &Counter{ExactLimit: DefaultExactLimit} }

// cl100k is the process-wide cl100k_base encoder. tiktoken-go keeps its
// loader in a package variable, so setting it to the offline loader must
// happen once per process, not once per Counter (two gateways in one
// process would race); the encoder is immutable once built.
var cl100k = sync.OnceValues(func() (*tiktoken.Tiktoken, error) {
	tiktoken.SetBpeLoader(tiktokenloader.NewOfflineLoader())
	return tiktoken.GetEncoding("cl100k_base")
})

// encoder returns the cl100k_base encoder, loaded from the embedded tables.
func (c *Counter) encoder() (*tiktoken.Tiktoken, error) { return cl100k() }

// Count returns the tokens of text under cl100k_base, exactly when text is
// at most ExactLimit bytes, else by Estimate.
func (c *Counter) Count(text string) int {
	if text == "" {
		return 0
	}
	if len(text) > c.ExactLimit {
		return Estimate(text)
	}
	enc, err := c.encoder()
	if err != nil {
		return Estimate(text)
	}
	return len(enc.EncodeOrdinary(text))
}

// Estimate approximates the cl100k_base token count of text in one pass over
// its bytes, following the tokenizer's pre-split: a run of letters (with its
// leading space) is one token per started 6 letters, a run of digits one per
// 3 digits, punctuation about one token per 2 characters (a single mark before a word joins it), each line break one,
// other whitespace free (it joins the next word), and non-ASCII text about one
// token per 2 bytes.
func Estimate(text string) int {
	n := 0
	cur, run := int(clSpace), 0
	for i := 0; i < len(text); i++ {
		cl := int(byteClass[text[i]])
		if cl == cur && cl != clNewline {
			run++
			continue
		}
		if cl == clLetter && cur == clPunct && run == 1 && text[i-1] != '"' {
			run = 0 // ".Request", "(ctx": one token with the word
		}
		n += runCost(cur, run)
		cur, run = cl, 1
	}
	return n + runCost(cur, run)
}

// Byte classes of Estimate.
const (
	clSpace = iota
	clNewline
	clLetter
	clDigit
	clPunct
	clOther
)

// byteClass maps each byte to its class; a constant table, never written.
var byteClass = func() (t [256]uint8) {
	for i := range t {
		c := byte(i)
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			t[i] = clLetter
		case c >= '0' && c <= '9':
			t[i] = clDigit
		case c == ' ' || c == '\t' || c == '\r':
			t[i] = clSpace
		case c == '\n':
			t[i] = clNewline
		case c >= 0x80:
			t[i] = clOther
		default:
			t[i] = clPunct
		}
	}
	return t
}()

func runCost(cl, run int) int {
	switch cl {
	case clLetter:
		return (run + 9) / 10
	case clDigit:
		return (run + 2) / 3
	case clPunct, clOther:
		return (run + 1) / 2
	case clNewline:
		return run
	}
	return 0
}

// Input estimates the input tokens of a chat request from its light fields:
// the system prompt and the last user message are counted with c, the rest
// of the text (TextBytes minus those two) by FromBytes, plus the framing of
// each message and a flat charge for images.
func (c *Counter) Input(req *llm.Request) int {
	counted := len(req.SystemText) + len(req.LastUserText)
	n := c.Count(req.SystemText) + c.Count(req.LastUserText)
	if rest := req.TextBytes - counted; rest > 0 {
		n += FromBytes(rest)
	}
	n += perMessage * req.NumMessages
	if req.HasImages {
		n += imageTokens
	}
	return n
}
