package openaiapi

import (
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// The top-level fields of each API's request body that the gateway reads
// (its parser, a translation, routing, pricing, the stored response). A
// key that differs from one of them only in case is refused
// (caseVariant): the gateway does not read it, but an upstream whose JSON
// decoder matches names case-insensitively (Go's encoding/json: the
// built-in simulator, Ollama) does, and would serve another model, stream
// or limit than the one the gateway routed, allowed and priced.
var (
	chatFields = []string{"model", "messages", "stream", "stream_options", "n", "max_tokens",
		"max_completion_tokens", "tools", "functions", "tool_choice", "response_format", "metadata",
		"store", "temperature", "top_p", "stop", "user", "reasoning_effort", "parallel_tool_calls",
		"service_tier", "logprobs", "top_logprobs"}
	responsesFields = []string{"model", "input", "instructions", "stream", "max_output_tokens", "tools",
		"tool_choice", "conversation", "background", "prompt", "text", "metadata", "previous_response_id",
		"store", "temperature", "top_p", "user", "reasoning", "parallel_tool_calls", "service_tier", "truncation"}
	completionsFields = []string{"model", "prompt", "suffix", "stream", "stream_options", "max_tokens",
		"echo", "logprobs", "n", "best_of", "temperature", "top_p", "stop", "user"}
	embeddingsFields  = []string{"model", "input", "encoding_format", "dimensions", "input_type"}
	imagesFields      = []string{"model", "prompt", "n", "stream", "size", "quality", "partial_images"}
	moderationsFields = []string{"model", "input"}
	speechFields      = []string{"model", "input", "stream_format"}
	videoFields       = []string{"model", "prompt", "seconds"}
)

// caseVariant is the error for key, a top-level key that is not exactly
// one of fields, when it is one of them but for case
// (wirejson.FoldedField); nil otherwise. Parsers call it only for the
// keys their switch did not take, so a body of known keys costs nothing,
// and it allocates only for the error.
func caseVariant(key string, fields []string) error {
	if f := wirejson.FoldedField(key, fields); f != "" {
		return badRequest(key, "unknown field "+strconv.Quote(key)+": field names are case-sensitive; did you mean "+strconv.Quote(f)+"?")
	}
	return nil
}

// refuseCaseVariants checks each top-level key of root, an object, with
// caseVariant: for the parsers that read their fields with Get rather than
// one pass over the keys.
func refuseCaseVariants(root gjson.Result, fields []string) error {
	var err error
	root.ForEach(func(k, _ gjson.Result) bool {
		err = caseVariant(k.Str, fields)
		return err == nil
	})
	return err
}
