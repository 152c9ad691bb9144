// Package openaiapi is the inbound OpenAI dialect of the gateway: it parses
// Chat Completions and Embeddings requests from clients (only the fields
// routing needs, lazily decoding the rest), and writes answers, streams,
// model lists and errors in OpenAI's exact wire format. It does not route or
// call providers; package gateway calls it.
//
// Answers from an OpenAI-dialect provider pass through verbatim; answers
// and streams from other dialects are translated from the canonical llm
// types.
//
// # Errors
//
// Errors use OpenAI's envelope {"error":{"message","type","param","code"}}.
// The type follows from the status (400 invalid_request_error, 401
// authentication_error, 403 permission_error, 404 not_found_error, 429
// rate_limit_exceeded, 5xx server_error). The codes are stable:
//
//	invalid_request             400  the request failed validation here or upstream
//	context_length_exceeded     400  the input does not fit the model's context window
//	content_policy_violation    400  the provider refused the content; message says why
//	rate_limit_exceeded         429  an upstream rate limit (Retry-After when known)
//	upstream_unavailable        503  the provider is down or overloaded
//	upstream_timeout            504  the provider did not answer in time
//	upstream_connection_failed  502  the provider could not be reached
//	upstream_auth_failed        502  the provider rejected Switchyard's credential
//	upstream_quota_exhausted    503  Switchyard's quota at the provider is used up
//	upstream_not_found          502  the provider does not know the deployment's model or path
//	upstream_error              502  any other upstream failure
//	internal_error              500  a failure inside Switchyard
//
// A failure after a stream started is sent in-band as a final
// data: {"error":{...}} frame without data: [DONE], which the official SDKs
// raise as an error.
package openaiapi
