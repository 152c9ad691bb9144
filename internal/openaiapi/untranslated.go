package openaiapi

import (
	"slices"

	"github.com/tidwall/gjson"
)

// carried lists, per OpenAI API, the top-level fields a translation for a
// deployment of another API carries over (or refuses, when it cannot:
// those are never dropped silently); reasoning names the field that only a
// reasoning deployment takes.
type carried struct {
	fields    map[string]bool
	reasoning string
	// within lists, for a carried object field, the members carried: the
	// others are named "field.member".
	within map[string][]string
}

func carries(reasoning string, fields ...string) carried {
	c := carried{fields: make(map[string]bool, len(fields)), reasoning: reasoning}
	for _, f := range fields {
		c.fields[f] = true
	}
	return c
}

var (
	chatCarried = carries("reasoning_effort",
		"model", "messages", "stream", "stream_options", "temperature", "top_p", "stop",
		"max_tokens", "max_completion_tokens", "tools", "functions", "tool_choice",
		"response_format", "user", "parallel_tool_calls",
		// Refused unless they ask for what any API answers (one choice, no
		// log probabilities).
		"n", "logprobs", "top_logprobs")
	// previous_response_id and store are the gateway's to serve for a
	// translated response.
	responsesCarried = carries("reasoning",
		"model", "input", "instructions", "stream", "temperature", "top_p", "max_output_tokens",
		"tools", "tool_choice", "text", "user", "previous_response_id", "store", "parallel_tool_calls").
		carriesWithin("text", "format") // not verbosity
	// What only a completion model does is refused: suffix, echo,
	// logprobs, n, best_of.
	completionsCarried = carries("",
		"model", "prompt", "stream", "stream_options", "max_tokens", "temperature", "top_p", "stop", "user",
		"suffix", "echo", "logprobs", "n", "best_of")
)

// Untranslated lists, in body order, the top-level fields of a Chat
// Completions body that a translation for a deployment of another API
// does not carry (seed, penalties, logit_bias, and fields this gateway
// does not know); reasoning says whether the target takes reasoning
// settings. Null fields count as unset. Only a translated request calls
// it: a relayed body keeps every field.
func Untranslated(raw []byte, reasoning bool) []string {
	return chatCarried.missing(raw, reasoning)
}

// UntranslatedResponses is Untranslated for a Responses API body.
func UntranslatedResponses(raw []byte, reasoning bool) []string {
	return responsesCarried.missing(raw, reasoning)
}

// UntranslatedCompletions is Untranslated for a legacy Completions body.
func UntranslatedCompletions(raw []byte, reasoning bool) []string {
	return completionsCarried.missing(raw, reasoning)
}

// carriesWithin says that of field, an object, only members are carried.
func (c carried) carriesWithin(field string, members ...string) carried {
	if c.within == nil {
		c.within = make(map[string][]string)
	}
	c.within[field] = members
	return c
}

// missing lists raw's non-null top-level fields that c does not carry,
// and the members of a carried object that it does not carry within it.
func (c carried) missing(raw []byte, reasoning bool) []string {
	var out []string
	gjson.ParseBytes(raw).ForEach(func(k, v gjson.Result) bool {
		switch {
		case v.Type == gjson.Null, reasoning && k.Str != "" && k.Str == c.reasoning:
		case !c.fields[k.Str]:
			out = append(out, k.Str)
		case c.within[k.Str] != nil && v.IsObject():
			v.ForEach(func(m, mv gjson.Result) bool {
				if mv.Type != gjson.Null && !slices.Contains(c.within[k.Str], m.Str) {
					out = append(out, k.Str+"."+m.Str)
				}
				return true
			})
		}
		return true
	})
	return out
}
