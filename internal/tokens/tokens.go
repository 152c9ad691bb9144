// Package tokens estimates token counts before a request is sent, for
// context-window checks, rate limits and budget reservations. Estimates are
// deliberately cheap: they run on every request.
package tokens

import "github.com/switchyard-gw/switchyard/internal/llm"

// perMessage is the framing overhead each chat message costs (role markers
// and separators); OpenAI documents 3-4 tokens per message.
const perMessage = 4

// bytesPerToken is the average UTF-8 bytes per token of English text and
// code under the BPE tokenizers of the major providers (about 4).
const bytesPerToken = 4

// FromBytes estimates the tokens of n bytes of text, rounding up.
func FromBytes(n int) int {
	return (n + bytesPerToken - 1) / bytesPerToken
}

// imageTokens is a flat charge per request with images: a low-detail image
// costs 85 tokens with OpenAI and a 512px image ~350 with Anthropic.
const imageTokens = 512

// Input estimates the input tokens of a chat request.
func Input(req *llm.Request) int {
	n := FromBytes(req.TextBytes) + perMessage*req.NumMessages
	if req.HasImages {
		n += imageTokens
	}
	return n
}
