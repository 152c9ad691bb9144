package openaiapi

import "github.com/tidwall/gjson"

// Untranslated lists, in body order, the top-level fields of a Chat
// Completions body that a translation for a deployment of another API
// does not carry (seed, penalties, logit_bias, and fields this gateway
// does not know); reasoning says whether the target takes reasoning
// settings. Null fields count as unset. Only a translated request calls
// it: a relayed body keeps every field.
func Untranslated(raw []byte, reasoning bool) []string {
	return untranslated(raw, func(key string) bool {
		switch key {
		case "model", "messages", "stream", "stream_options", "temperature", "top_p", "stop",
			"max_tokens", "max_completion_tokens", "tools", "functions", "tool_choice",
			"response_format", "user", "parallel_tool_calls",
			// Refused unless they ask for what any API answers (one
			// choice, no log probabilities).
			"n", "logprobs", "top_logprobs":
			return true
		case "reasoning_effort":
			return reasoning
		}
		return false
	})
}

// UntranslatedResponses is Untranslated for a Responses API body.
// previous_response_id and store are the gateway's to serve for a
// translated response.
func UntranslatedResponses(raw []byte, reasoning bool) []string {
	return untranslated(raw, func(key string) bool {
		switch key {
		case "model", "input", "instructions", "stream", "temperature", "top_p", "max_output_tokens",
			"tools", "tool_choice", "text", "user", "previous_response_id", "store", "parallel_tool_calls":
			return true
		case "reasoning":
			return reasoning
		}
		return false
	})
}

// UntranslatedCompletions is Untranslated for a legacy Completions body
// (what has no counterpart elsewhere is refused, not dropped: suffix,
// echo, logprobs, n, best_of).
func UntranslatedCompletions(raw []byte, _ bool) []string {
	return untranslated(raw, func(key string) bool {
		switch key {
		case "model", "prompt", "stream", "stream_options", "max_tokens", "temperature", "top_p", "stop", "user",
			"suffix", "echo", "logprobs", "n", "best_of":
			return true
		}
		return false
	})
}

func untranslated(raw []byte, carried func(string) bool) []string {
	var out []string
	gjson.ParseBytes(raw).ForEach(func(k, v gjson.Result) bool {
		if v.Type != gjson.Null && !carried(k.Str) {
			out = append(out, k.Str)
		}
		return true
	})
	return out
}
