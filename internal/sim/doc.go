// Package sim is Switchyard's simulated LLM provider: a real HTTP server
// that speaks the OpenAI Chat Completions, Anthropic Messages and Amazon
// Bedrock Converse wire formats, with configurable latency, time to first token, token rate and
// scripted faults. Demos (`switchyard sim`, the demo mode of `switchyard
// serve`), tests and benchmarks point the gateway's real provider adapters
// at it, so they exercise the real code paths without a network.
//
// # Endpoints
//
//	POST /v1/chat/completions        OpenAI chat, JSON or SSE (stream: true); store: true keeps
//	                                 the completion as answered (a stream's: the chat.completion
//	                                 its chunks add up to, usage included, kept once its last token
//	                                 is sent) with the request's messages, model and metadata (16
//	                                 keys of at most 64 characters, values of at most 512; else a
//	                                 400 on param metadata, store or not)
//	GET  /v1/chat/completions        stored completions, oldest first: model, metadata[k]=v (all
//	                                 must match), limit (20, up to 100), after (a completion id),
//	                                 order asc|desc; a cursor page
//	GET  /v1/chat/completions/{id}   a stored completion with its metadata ({} when none); 404
//	                                 "Completion with id 'X' not found."
//	POST /v1/chat/completions/{id}   replaces its metadata (required)
//	DELETE /v1/chat/completions/{id} forgets it (chat.completion.deleted)
//	GET  /v1/chat/completions/{id}/messages  the request's messages, oldest first, paged as the
//	                                 list: id "<completion id>-<index>", name (null when none), a
//	                                 string content as is (content_parts null), an array content
//	                                 as content_parts (content null), other fields as sent. Stored
//	                                 completion calls are not recorded; X-Sim-Fault applies as on
//	                                 conversations. The newest 10000 completions are kept (see
//	                                 stored_chat.go)
//	POST /v1/responses               OpenAI Responses API, JSON or typed SSE
//	                                 events ending in response.completed;
//	                                 conversation ("conv_..." or {id}; not with
//	                                 previous_response_id: 400) reads the
//	                                 conversation's items before the input (its
//	                                 text counts in the answer and the input
//	                                 tokens), then adds the input (a string as a
//	                                 user message) and the output to it; the
//	                                 response carries conversation {id}, and no
//	                                 conversation field without one
//	POST /v1/responses/input_tokens  the usage.input_tokens POST /v1/responses would report for
//	                                 the same body ({"object": "response.input_tokens",
//	                                 "input_tokens"}); model optional, else as that endpoint: its
//	                                 400s, 404 for an unknown model. Not recorded, no faults
//	POST /v1/responses/compact       OpenAI compaction {model, input, instructions,
//	                                 previous_response_id; others ignored} of previous_response_id's
//	                                 conversation (each response's input and output items, oldest
//	                                 first) then the input: a response.compaction (resp_ id) whose
//	                                 output is the user messages (ids, status completed), then one
//	                                 compaction item (cmp_ id; encrypted_content a "simcmp1." token,
//	                                 base64 JSON of a summary: a "role: text" line per other item,
//	                                 checksummed); usage as a response's (input: the whole
//	                                 conversation; output: the model's OutputTokens). Recorded (path
//	                                 /v1/responses/compact), faults apply as to a non-streamed
//	                                 response; not stored. Sent back in a Responses (or count)
//	                                 input, a compaction item reads as an assistant message holding
//	                                 its summary; one the simulator cannot read is a 400 on param
//	                                 input[i].encrypted_content (code invalid_encrypted_content)
//	POST /v1/completions             OpenAI legacy completions, JSON or SSE
//	POST /v1/messages                Anthropic Messages, JSON or SSE
//	POST /v1/messages/count_tokens   Anthropic token count (not recorded, no faults)
//	POST /model/{m}/converse[-stream] Bedrock Converse (SigV4 or API key), JSON or event stream;
//	                                 under a guardrailConfig, a prompt holding "forbidden" gets
//	                                 the guardrail's message (stopReason guardrail_intervened)
//	POST /model/{m}/count-tokens     Bedrock token count of a Converse input (not recorded)
//	POST /model/{m}/invoke           Bedrock InvokeModel of an embedding model, in the model's
//	                                 own body: Amazon Titan Text Embeddings when the name holds
//	                                 "titan-embed", Cohere Embed when it holds "cohere.embed"
//	POST /v1/embeddings              OpenAI embeddings (float or base64)
//	POST /v1/moderations             OpenAI moderations; text holding "forbidden" is flagged violence
//	POST /v1/images/generations      OpenAI image generation: 8x8 PNGs, b64_json with usage when the
//	                                 model name holds "image", else DALL·E style (url or b64_json);
//	                                 a prompt holding "forbidden" gets content_policy_violation;
//	                                 stream: true (GPT image models only) streams, per image,
//	                                 partial_images (0..3) image_generation.partial_image events
//	                                 (the top rows drawn), then image_generation.completed with the
//	                                 whole answer's image and its share of the usage
//	POST /v1/images/edits            OpenAI image edit (multipart image/image[], mask): a generation's
//	                                 answer, coloured by the input images too; bodies over 25 MiB get
//	                                 413; stream=true streams as a generation does, in
//	                                 image_edit.partial_image and image_edit.completed events
//	POST /v1/images/variations       OpenAI image variation (multipart image: one square PNG under
//	                                 4 MB; n, size 256x256/512x512/1024x1024, response_format, user):
//	                                 DALL·E only, url or b64_json, no usage; n images coloured by the
//	                                 input image; no model means dall-e-2 when configured; GPT image
//	                                 models refuse it (400 on param model); no stream
//	GET  /v1/images/files/{id}.png   an image answered by url (not recorded)
//	POST /v1/audio/speech            OpenAI text to speech: a RIFF/WAVE file (24 kHz 16-bit mono,
//	                                 the input in its ICMT chunk) for wav, else a SIMAUDIO1 container
//	                                 (format, duration, input); one second per 15 characters;
//	                                 stream_format "sse" (any speech model) streams the same bytes
//	                                 as speech.audio.delta events (base64), then speech.audio.done
//	POST /v1/audio/transcriptions    OpenAI speech to text (multipart): reads back the simulator's
//	POST /v1/audio/translations      audio; json, text, srt, vtt, verbose_json (whisper models);
//	                                 usage by duration when the model name holds "whisper", else
//	                                 by tokens; bodies over 25 MiB get 413; a transcription with
//	                                 stream=true from a tokens model streams transcript.text.delta
//	                                 events (a word each), then transcript.text.done (json or text
//	                                 only); whisper models ignore stream; translations refuse it
//	GET  /v1/realtime?model=M        OpenAI Realtime API (GA) over a WebSocket, models whose name
//	                                 holds "realtime" (else 400); one Call per session. Session,
//	                                 conversation items, input audio buffer (sim speech gives its
//	                                 transcript), responses answering the last user text as chat
//	                                 does, in text or audio deltas paced as stream tokens, cancel.
//	                                 Usage per response: input text = estimate of instructions and
//	                                 every item's role and texts; input audio = 10/s of all input
//	                                 audio (bytes/48000 s, a sim WAV by its duration), rounded up;
//	                                 output text = tokens sent; output audio = 10/s of audio sent.
//	                                 Mid-stream faults hit the first response (see realtime.go)
//	POST /v1/videos                  OpenAI Videos API (Sora) job, multipart or JSON: prompt, model
//	                                 (default sim-video), seconds 4/8/12, size 720x1280/1280x720/
//	                                 1024x1792/1792x1024, input_reference; models whose name holds
//	                                 "video" or "sora" (else 400); bodies over 25 MiB get 413. The
//	                                 job takes Latency per second of video on the server's clock
//	                                 (none: done at once): queued for the first tenth, then
//	                                 in_progress with progress in percent, then completed (expires a
//	                                 day later); a prompt holding "forbidden" fails
//	                                 (moderation_blocked). Recorded, faults apply (see videos.go)
//	GET  /v1/videos/{id}             a job as it stands (404 code video_not_found); not recorded
//	GET  /v1/videos/{id}/content     a completed job's variant: video (default) video/mp4 whose free
//	                                 box holds the model, seconds, size and prompt; thumbnail
//	                                 image/webp; spritesheet image/jpeg; else 400 (not recorded)
//	POST /v1/videos/{id}/remix       a new job from a completed one, {prompt}: same model, seconds
//	                                 and size, remixed_from_video_id set; recorded, faults apply
//	GET  /v1/videos                  jobs, newest first: limit (20, up to 100), after, order asc|desc;
//	                                 a cursor page (first_id, last_id, has_more); not recorded
//	DELETE /v1/videos/{id}           forgets a job (video.deleted); not recorded. The newest 1000
//	                                 jobs are kept
//	POST /v1/conversations           OpenAI Conversations API: a conversation (conv_ and 48 hex)
//	                                 from items (at most 20) and metadata (16 keys of at most 64
//	                                 characters, values of at most 512); an item keeps its id or
//	                                 gets one by its type (msg_, fc_, fco_, rs_, ...; item_ for
//	                                 others); a message gets status completed, and a string content
//	                                 one input_text part (output_text for the assistant); other
//	                                 fields pass through
//	GET  /v1/conversations/{id}      the conversation (404 "Conversation with id 'X' not found.")
//	POST /v1/conversations/{id}      replaces its metadata (required)
//	DELETE /v1/conversations/{id}    forgets it (conversation.deleted)
//	GET  /v1/conversations/{id}/items  items, newest first: limit (20, up to 100), after (an item
//	                                 id), order asc|desc; include ignored; a cursor page
//	POST /v1/conversations/{id}/items  adds 1 to 20 items; answers the list of them
//	GET  /v1/conversations/{id}/items/{item}  an item (404 when unknown)
//	DELETE /v1/conversations/{id}/items/{item}  forgets an item; answers the conversation.
//	                                 Conversations API calls are not recorded; X-Sim-Fault
//	                                 applies to them (not a model's faults). The newest 10000
//	                                 conversations are kept (a new one forgets the oldest), 1000
//	                                 items each: an add past that is a 400, while a response's
//	                                 items are added and the oldest forgotten
//	GET  /v1/models[/{model}]        OpenAI list; Anthropic list when the
//	                                 request has an anthropic-version header
//
// The base URL returned by Start has no path: OpenAI clients use
// baseURL+"/v1", Anthropic clients use baseURL. Authorization, x-api-key and
// anthropic-version headers are accepted and never required. An unknown
// model gets the dialect's 404 error JSON; undecodable JSON or a missing
// required field gets the dialect's 400 (Anthropic requires max_tokens, as
// the real API does). Any other path gets OpenAI's "Invalid URL" 404.
//
// # Answers
//
// Answers are deterministic: the same prompt (all message text, system
// text, tool definitions and the image count) gives the same answer on
// every model and run. Only ids differ between calls.
//
//   - Text: OutputTokens words from a fixed vocabulary, one token per word
//     (streamed as "word", " word", ...). With image parts the answer starts
//     "I see N image(s)." and those words count as tokens too.
//   - Tools: when the request offers tools and the last message is the
//     user's (not a tool result), or the tool choice is required/any/named,
//     the answer is one call to the first (or named) tool, with arguments
//     built from its JSON schema (every property; strings are two words,
//     enums their first value); tool_choice none disables it. Arguments
//     stream in four-byte pieces, each a token. finish_reason tool_calls /
//     stop_reason tool_use.
//   - JSON: response_format json_object or json_schema (Anthropic
//     output_config.format or output_format json_schema) makes the content
//     a JSON object, {"answer": "..."} or one built from the schema, in
//     four-byte tokens.
//   - max_tokens (OpenAI max_completion_tokens or max_tokens) truncates the
//     tokens: finish_reason length / stop_reason max_tokens.
//   - Usage: input tokens are ceil(bytes / 4) of the prompt text (role
//     names, message and system text, tool calls and results, tool
//     definitions, one separator byte per part) plus 85 per image; output
//     tokens are the tokens produced. OpenAI streams carry a
//     final usage chunk (choices: []) only with stream_options.include_usage;
//     Anthropic streams carry usage in message_start and message_delta.
//   - Reasoning models (Model.Reasoning): OpenAI's reasoning_effort is
//     refused by other models, and a reasoning model refuses max_tokens
//     (max_completion_tokens instead) and a temperature other than 1, as
//     OpenAI's o-series do; it spends 8/16/32 reasoning tokens for
//     low/medium (the default)/high, reported in
//     completion_tokens_details.reasoning_tokens and counted in
//     completion_tokens. Anthropic's thinking is refused by other models,
//     and checked as the real API does (budget_tokens ≥ 1024, max_tokens
//     above it, no temperature); the answer starts with a thinking block
//     (index 0 in a stream) of 16 output tokens.
//   - Prompt caching, per model: an OpenAI-format prompt of at least 1,024
//     tokens that starts with a prefix the model saw before (remembered
//     at 128-token steps) reports the longest such prefix as cached_tokens
//     (prompt_tokens_details, or the Responses API's input_tokens_details). An Anthropic prompt whose prefix up to
//     its last cache_control block is at least 1,024 tokens writes that
//     prefix the first time (cache_creation_input_tokens) and reads it
//     after (cache_read_input_tokens); input_tokens counts the rest.
//
// If input tokens plus max_tokens exceed ContextWindow the answer is the
// dialect's context-length error: OpenAI 400 code context_length_exceeded;
// Anthropic 400 invalid_request_error "prompt is too long: N tokens > M
// maximum" when the input alone is too long, else "input length and
// `max_tokens` exceed context limit: N + K > M, ...", both as the real API.
//
// # Timing
//
// A request waits Latency, then a stream sends its headers and opening
// events (OpenAI role chunk; Anthropic message_start, content_block_start,
// ping), waits FirstToken, sends the first token, and one token every
// 1/TokensPerSecond after that. A non-streaming answer is sent when the
// stream would have finished. Streamed transcriptions and speech pace
// their delta events as tokens, streamed images every event; their
// non-streamed answers wait Latency alone. Every event is flushed. Anthropic streams send
// a ping whenever they would otherwise be silent for the ping interval (see
// WithPingInterval). Errors (faults, 404, 400) are answered at once.
// Every wait ends when the client goes away or the server stops, so no
// goroutine outlives its request. Faults that must not answer (reset, hang,
// stall, cut) end the handler with panic(http.ErrAbortHandler), which
// net/http turns into a closed connection; use Handler under an
// http.Server (Start, Run, Serve, httptest.Server), not a ResponseRecorder.
//
// # Faults
//
// Each Model lists Faults; a request gets the first one that matches it and
// has Times left (Times 0 = always). Mid-stream faults (stall, cut,
// malformed, missing_done, stream_error) match streaming requests only
// (chat streams of every dialect, streamed transcriptions, speech and
// images), so a non-streaming request to the same model is served
// normally and does not use up Times. In an audio stream, after counts
// delta events and the done event is the terminator: cut aborts after
// After deltas, missing_done sends every delta and no done event,
// stream_error sends OpenAI's {"error":...} data frame after After deltas
// and ends. In an image stream, after counts events, partial and
// completed alike, and the last completed event is the terminator: cut
// aborts after After events (before the terminator when After is the
// number of events or more), missing_done sends every event but the
// terminator, stream_error sends an error event ({"type":"error",
// "error":...}) after After events and ends, malformed sends the next
// event cut off inside its image. A "down" fault answers 503 until For
// has elapsed since the model's first request, on the clock given to
// WithClock. SetConfig swaps the models at run time and resets fault
// state.
//
// A request may pick its own fault with the header
//
//	X-Sim-Fault: type[;status=429][;retry_after=2s][;after=3][;delay=1s]
//
// which overrides the config for that request (Times does not apply).
//
// # Observing
//
// Calls(model) lists every request the server saw for a model, with its
// arrival time, path, stream flag, status and injected fault, so tests can
// count attempts and measure the gaps between them.
//
// # Config
//
// Config decodes strictly from YAML (see LoadConfig), for example:
//
//	models:
//	  - name: sim-small
//	    context_window: 8192
//	    latency: 20ms
//	    first_token: 60ms
//	    tokens_per_second: 200
//	    output_tokens: 16
//	    faults:
//	      - {type: status, status: 429, retry_after: 1s, times: 2}
//	      - {type: stall, after: 3, times: 1}
//	      - {type: down, for: 30s}
package sim
