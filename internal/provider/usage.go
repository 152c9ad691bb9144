package provider

import (
	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// CacheUsage reads a usage object whose input count leaves out the tokens
// read from and written to the prompt cache, as Anthropic's and Bedrock's
// do, under the given member names; the canonical input count includes
// them.
func CacheUsage(u gjson.Result, input, read, written, output string) llm.Usage {
	r := u.Get(read).Int()
	w := u.Get(written).Int()
	return llm.Usage{
		InputTokens:       int(u.Get(input).Int() + r + w),
		CachedInputTokens: int(r),
		CacheWriteTokens:  int(w),
		OutputTokens:      int(u.Get(output).Int()),
	}
}
