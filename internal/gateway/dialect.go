package gateway

import (
	"github.com/switchyard-gw/switchyard/internal/config"
	"net/http"

	"github.com/switchyard-gw/switchyard/internal/anthropicapi"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/openaiapi"
)

// streamWriter is what both inbound dialects' stream writers provide.
type streamWriter interface {
	WriteEvent(ev llm.Event) error
	WriteError(err error)
	Finish() error
	Started() bool
	Batch()
	Flush() error
}

// dialect bundles one inbound wire format's parse and write functions.
type dialect struct {
	name          llm.Dialect
	cacheEndpoint string // the chat endpoint's name in cache keys
	// noCascade: a cascade route, which compares and replays answers in
	// the canonical form, does not serve this dialect.
	noCascade bool
	// title names the dialect in errors.
	title string
	// relayers names, in errors, the deployments that serve a request of
	// this dialect that only they can (llm.Request.RelayOnly); default
	// OpenAI deployments.
	relayers      string
	parse         func(body []byte) (*llm.Request, error)
	writeResponse func(w http.ResponseWriter, resp *llm.Response) error
	newStream     func(w http.ResponseWriter, req *llm.Request, src llm.Dialect) streamWriter
	// writeErrorFor writes err (bad request, provider failure) in the dialect.
	writeErrorFor func(w http.ResponseWriter, err error)
	// statusOf is the status writeErrorFor answers err with.
	statusOf func(err error) int
	// capabilityParams names, per capability, the request field that asks
	// for it, for the param of a no_capable_deployment error (the
	// capability every deployment lacked); nil where errors have no param.
	capabilityParams map[string]string
	// writeError writes a gateway-made error (see the apiError codes).
	writeError func(w http.ResponseWriter, e *apiError)
	// untranslated lists the top-level fields of a body that a
	// translation for another API does not carry (reasoning: the target
	// takes reasoning settings).
	untranslated func(raw []byte, reasoning bool) []string
}

// apiError is an error the gateway itself produces, with its code in each
// dialect.
type apiError struct {
	status        int
	code          string // OpenAI error code
	anthropicType string // Anthropic error type
	message       string
	param         string // the request field at fault, for OpenAI's param; may be empty
}

var openAIDialect = &dialect{
	untranslated:  openaiapi.Untranslated,
	name:          llm.DialectOpenAI,
	cacheEndpoint: cacheOpenAIChat,
	title:         "Chat Completions API",
	capabilityParams: map[string]string{
		config.CapStreaming: "stream", config.CapTools: "tools", config.CapJSONMode: "response_format", config.CapVision: "messages",
	},
	parse:         openaiapi.ParseChat,
	writeResponse: openaiapi.WriteResponse,
	newStream: func(w http.ResponseWriter, req *llm.Request, src llm.Dialect) streamWriter {
		return openaiapi.NewStreamWriter(w, req, src)
	},
	writeErrorFor: openaiapi.WriteErrorFor,
	statusOf: func(err error) int {
		s, _, _, _ := openaiapi.ErrorFor(err)
		return s
	},
	writeError: func(w http.ResponseWriter, e *apiError) {
		openaiapi.WriteErrorParam(w, e.status, e.code, e.param, e.message)
	},
}

// openAIResponsesDialect is the OpenAI Responses API: relayed verbatim to
// deployments that serve it, translated for the others when the request
// uses only what Chat Completions can say (else RelayOnly says why not).
var openAIResponsesDialect = &dialect{
	untranslated:  openaiapi.UntranslatedResponses,
	name:          llm.DialectOpenAIResponses,
	cacheEndpoint: cacheOpenAIResponses,
	noCascade:     true,
	title:         "Responses API",
	capabilityParams: map[string]string{
		config.CapStreaming: "stream", config.CapTools: "tools", config.CapJSONMode: "text.format", config.CapVision: "input",
	},
	parse:         openaiapi.ParseResponses,
	writeResponse: openaiapi.WriteResponsesResponse,
	newStream: func(w http.ResponseWriter, req *llm.Request, src llm.Dialect) streamWriter {
		return openaiapi.NewResponsesStreamWriter(w, req, src)
	},
	writeErrorFor: openAIDialect.writeErrorFor,
	statusOf:      openAIDialect.statusOf,
	writeError:    openAIDialect.writeError,
}

// openAICompletionsDialect is OpenAI's legacy Completions API: relayed
// verbatim to an OpenAI provider, translated for the others (the prompt
// as one user message).
var openAICompletionsDialect = &dialect{
	untranslated:     openaiapi.UntranslatedCompletions,
	name:             llm.DialectOpenAICompletions,
	cacheEndpoint:    cacheOpenAICompletions,
	noCascade:        true,
	title:            "legacy Completions API",
	capabilityParams: map[string]string{config.CapStreaming: "stream"},
	parse:            openaiapi.ParseCompletions,
	writeResponse:    openaiapi.WriteCompletionsResponse,
	newStream: func(w http.ResponseWriter, req *llm.Request, src llm.Dialect) streamWriter {
		return openaiapi.NewCompletionsStreamWriter(w, req, src)
	},
	writeErrorFor: openAIDialect.writeErrorFor,
	statusOf:      openAIDialect.statusOf,
	writeError:    openAIDialect.writeError,
}

var anthropicDialect = &dialect{
	untranslated:  anthropicapi.Untranslated,
	name:          llm.DialectAnthropic,
	cacheEndpoint: cacheAnthropicMessages,
	title:         "Messages API",
	relayers:      "Anthropic deployments",
	parse:         anthropicapi.ParseChat,
	writeResponse: anthropicapi.WriteResponse,
	newStream: func(w http.ResponseWriter, req *llm.Request, src llm.Dialect) streamWriter {
		return anthropicapi.NewStreamWriter(w, req, src)
	},
	writeErrorFor: anthropicapi.WriteErrorFor,
	statusOf: func(err error) int {
		s, _, _ := anthropicapi.ErrorFor(err)
		return s
	},
	writeError: func(w http.ResponseWriter, e *apiError) {
		anthropicapi.WriteError(w, e.status, e.anthropicType, e.message)
	},
}
