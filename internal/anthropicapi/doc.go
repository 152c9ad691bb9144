// Package anthropicapi is the inbound Anthropic Messages dialect of the
// gateway: it parses /v1/messages requests from clients (only the fields
// routing needs, lazily decoding the rest), and writes answers, streams and
// errors in Anthropic's exact wire format. It does not route or call
// providers; package gateway calls it.
//
// Answers from an Anthropic-dialect provider pass through verbatim; answers
// and streams from other dialects are translated from the canonical llm
// types (finish reasons map stop→end_turn, length→max_tokens,
// tool_calls→tool_use, content_filter→refusal).
//
// # Errors
//
// Errors use Anthropic's envelope {"type":"error","error":{"type","message"}}.
// The status and error type are stable:
//
//	400  invalid_request_error  validation failed here or upstream, the input
//	                            is longer than the context window, or the
//	                            provider refused the content (message says why)
//	429  rate_limit_error       an upstream rate limit (Retry-After when known)
//	529  overloaded_error       the provider is down or overloaded
//	504  timeout_error          the provider did not answer in time
//	502  api_error              the provider could not be reached, rejected
//	                            Switchyard's credential, did not know the
//	                            deployment's model (404), or failed otherwise
//	503  api_error              Switchyard's quota at the provider is used up
//	500  api_error              a failure inside Switchyard
//
// A failure after a stream started is sent in-band as a final
// "event: error" with the same error object and no message_stop, which the
// official SDKs raise as an error.
package anthropicapi
