package openaiapi

import (
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// CompletionsDefaultMaxTokens is the legacy Completions API's max_tokens
// when a request sets none (or null).
const CompletionsDefaultMaxTokens = 16

// ParseCompletions reads the routing features of a legacy Completions API
// request (POST /v1/completions): model, prompt, stream, stream_options
// and max_tokens (CompletionsDefaultMaxTokens when unset) are checked; everything else (suffix, echo, logprobs, n,
// best_of, ...) passes through untouched to an OpenAI deployment. For a
// deployment of another API it is translated (see decodeCompletions),
// unless it uses what only a completion model does (a suffix, echo,
// logprobs, n or best_of above 1, a prompt of token ids or several
// prompts): Request.RelayOnly then says so, and the gateway keeps the
// route's deployments that relay it.
func ParseCompletions(body []byte) (*llm.Request, error) {
	root, err := parseObject(body)
	if err != nil {
		return nil, err
	}
	req := &llm.Request{Raw: body, Dialect: llm.DialectOpenAICompletions}
	req.SetDecoder(decodeCompletions)
	seenModel, seenPrompt := false, false
	n, bestOf := 0, 0
	root.ForEach(func(key, v gjson.Result) bool {
		switch key.Str {
		case "model":
			seenModel = true
			req.Model, err = modelValue(v)
		case "prompt":
			seenPrompt = true
			err = parsePrompt(v, req)
		case "suffix":
			req.TextBytes += len(v.Str)
			if v.Str != "" {
				markRelayOnly(req, "suffix", "suffix (fill in the middle)")
			}
		case "echo":
			if v.Type == gjson.True {
				markRelayOnly(req, "echo", "echo")
			}
		case "logprobs":
			if v.Type != gjson.Null {
				markRelayOnly(req, "logprobs", "logprobs")
			}
		case "n":
			n, err = boundedInt("n", v, MaxChoices)
			if n > 1 {
				markRelayOnly(req, "n", "n above 1")
			}
		case "best_of":
			bestOf, err = boundedInt("best_of", v, MaxBestOf)
			if bestOf > 1 {
				markRelayOnly(req, "best_of", "best_of above 1")
			}
		case "stream":
			req.Stream, err = optionalBool("stream", v)
		case "stream_options":
			if v.Type == gjson.Null {
				break
			}
			if !v.IsObject() {
				err = badRequest("stream_options", "stream_options must be an object")
			}
			req.IncludeUsage = v.Get("include_usage").Bool()
		case "max_tokens":
			req.MaxTokens, err = positiveInt("max_tokens", v)
		default:
			err = caseVariant(key.Str, completionsFields)
		}
		return err == nil
	})
	switch {
	case err != nil:
		return nil, err
	case !seenModel:
		return nil, badRequest("model", "missing required parameter: 'model'")
	case !seenPrompt:
		return nil, badRequest("prompt", "missing required parameter: 'prompt'")
	}
	if req.MaxTokens == 0 {
		// The API's default, which an OpenAI deployment applies to the
		// relayed body: a translation sends it too, not the deployment's
		// max_output_tokens, and budgets reserve it.
		req.MaxTokens = CompletionsDefaultMaxTokens
	}
	// The answer has n choices per prompt, and the upstream makes (and
	// bills) best_of per prompt to pick them: what the stream's finishes
	// are checked against, and what budgets and rate limits reserve.
	prompts := max(req.NumMessages, 1)
	if n > 1 || prompts > 1 {
		req.Choices = max(n, 1) * prompts
	}
	if bestOf > max(n, 1) {
		req.Generations = bestOf * prompts
	}
	return req, nil
}

// MaxBestOf is the largest best_of of a legacy Completions request, as
// OpenAI allows.
const MaxBestOf = 20

// boundedInt reads an optional integer from 1 to most.
func boundedInt(param string, v gjson.Result, most int) (int, error) {
	i, err := positiveInt(param, v)
	if err == nil && i > most {
		err = badRequest(param, param+" must be an integer from 1 to "+strconv.Itoa(most))
	}
	return i, err
}

// parsePrompt reads prompt: a string, an array of strings, or token ids
// (an array of integers, or of such arrays). Only one string translates.
func parsePrompt(v gjson.Result, req *llm.Request) error {
	invalid := badRequest("prompt", "prompt must be a string, an array of strings, or an array of token arrays")
	switch {
	case v.Type == gjson.String:
		req.NumMessages, req.LastUserText, req.TextBytes = 1, v.Str, req.TextBytes+len(v.Str)
		return nil
	case !v.IsArray():
		return invalid
	}
	var err error
	v.ForEach(func(_, p gjson.Result) bool {
		switch {
		case p.Type == gjson.String:
			req.NumMessages++
			req.LastUserText = p.Str
			req.TextBytes += len(p.Str)
		case p.Type == gjson.Number:
			req.TextBytes += 4 // about one token
		case p.IsArray():
			req.NumMessages++
			req.TextBytes += 4 * len(p.Array())
		default:
			err = invalid
		}
		return err == nil
	})
	if err == nil && (req.NumMessages != 1 || v.Get("0").Type != gjson.String) {
		markRelayOnly(req, "prompt", "a prompt of token ids, or several prompts")
	}
	return err
}
