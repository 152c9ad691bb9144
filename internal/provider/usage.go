package provider

import (
	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// CacheUsage reads a usage object whose input count leaves out the tokens
// read from and written to the prompt cache, as Anthropic's and Bedrock's
// do, under the given member names; the canonical input count includes
// them. Each count is clamped (llm.ReportedTokens) before they are added.
func CacheUsage(u gjson.Result, input, read, written, output string) llm.Usage {
	r := llm.ReportedTokens(u.Get(read).Int())
	w := llm.ReportedTokens(u.Get(written).Int())
	return llm.Usage{
		InputTokens:       llm.ReportedTokens(u.Get(input).Int()) + r + w,
		CachedInputTokens: r,
		CacheWriteTokens:  w,
		OutputTokens:      llm.ReportedTokens(u.Get(output).Int()),
	}.Clamped()
}
