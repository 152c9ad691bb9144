// Package batch is the OpenAI Files and Batch APIs, run by the gateway
// itself: a client uploads a JSONL file of requests (POST /v1/files),
// creates a batch over it (POST /v1/batches), and downloads the answers
// when the batch completes. Each line goes through the gateway's own
// request path in-process, as the key that created the batch: its routes,
// rate limits and budgets apply, and every line gets its own usage record.
//
// A Queue hands batches to workers: Embedded runs them in the replica
// that accepted them (resuming unfinished ones after a restart); NATS
// hands each to one replica through a JetStream work queue, and to
// another if that replica dies. Each line's result is stored as it
// finishes, so a batch that is picked up again skips the lines it has.
package batch

import (
	"encoding/json"
	"time"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// Purposes of files. Clients upload PurposeBatch files; the gateway writes
// PurposeOutput files.
const (
	PurposeBatch  = "batch"
	PurposeOutput = "batch_output"
)

// ID prefixes of the OpenAI API's files and batches; the Anthropic
// Message Batches API's have their own, so neither API lists the other's.
const (
	filePrefix  = "file-"
	batchPrefix = "batch_"
)

// endpointList is the endpoints a batch may run, as errors list them.
var endpointList = []string{"/v1/chat/completions", "/v1/embeddings", "/v1/completions", "/v1/responses", "/v1/moderations", "/v1/images/generations"}

// Endpoints a batch may run.
var endpoints = func() map[string]bool {
	m := make(map[string]bool, len(endpointList))
	for _, e := range endpointList {
		m[e] = true
	}
	return m
}()

// completionWindow is the only window the API offers.
const completionWindow = 24 * time.Hour

// fileObject is the Files API's file object.
type fileObject struct {
	ID        string `json:"id"`
	Object    string `json:"object"`
	Bytes     int64  `json:"bytes"`
	CreatedAt int64  `json:"created_at"`
	Filename  string `json:"filename"`
	Purpose   string `json:"purpose"`
	Status    string `json:"status"`
	ExpiresAt *int64 `json:"expires_at"`
}

// fileObj is f as the Files API shows it; it is deleted retention after
// its creation, or at its own expiry when that comes first.
func fileObj(f store.File, retention time.Duration) fileObject {
	o := fileObject{ID: f.ID, Object: "file", Bytes: f.Bytes, CreatedAt: f.Created.Unix(), Filename: f.Filename, Purpose: f.Purpose, Status: "processed"}
	if at, ok := expiresAt(f, retention); ok {
		o.ExpiresAt = unix(at)
	}
	return o
}

// object is the Batch API's batch object; it is also what the store keeps
// in Batch.Doc (ID and Status come from the store's columns).
type object struct {
	ID               string            `json:"id"`
	Object           string            `json:"object"`
	Endpoint         string            `json:"endpoint"`
	Errors           *errorList        `json:"errors"`
	InputFileID      string            `json:"input_file_id"`
	CompletionWindow string            `json:"completion_window"`
	Status           string            `json:"status"`
	OutputFileID     *string           `json:"output_file_id"`
	ErrorFileID      *string           `json:"error_file_id"`
	CreatedAt        int64             `json:"created_at"`
	InProgressAt     *int64            `json:"in_progress_at"`
	ExpiresAt        *int64            `json:"expires_at"`
	FinalizingAt     *int64            `json:"finalizing_at"`
	CompletedAt      *int64            `json:"completed_at"`
	FailedAt         *int64            `json:"failed_at"`
	ExpiredAt        *int64            `json:"expired_at"`
	CancellingAt     *int64            `json:"cancelling_at"`
	CancelledAt      *int64            `json:"cancelled_at"`
	RequestCounts    requestCounts     `json:"request_counts"`
	Metadata         map[string]string `json:"metadata"`
	// Model is the model every line names, or "" when they differ.
	Model string `json:"model,omitempty"`
	// Usage is the tokens of the lines answered, set when the batch ends.
	Usage *batchUsage `json:"usage,omitempty"`
	// OutputExpiresAfter is the expiry of the output and error files,
	// as the batch was created with (output_expires_after).
	OutputExpiresAfter *expiresAfter `json:"output_expires_after,omitempty"`
	// ExpiredRequests counts the lines of an expired batch that never
	// ran (also counted in RequestCounts.Failed, as OpenAI does); the
	// Message Batches API reports them apart.
	ExpiredRequests int `json:"expired_requests,omitempty"`
}

type requestCounts struct {
	Total     int `json:"total"`
	Completed int `json:"completed"`
	Failed    int `json:"failed"`
}

// batchUsage is the Batch API's usage: the lines' token counts summed,
// from whichever API's usage shape the endpoint answers with.
type batchUsage struct {
	InputTokens        int64 `json:"input_tokens"`
	InputTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokens        int64 `json:"output_tokens"`
	OutputTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
	TotalTokens int64 `json:"total_tokens"`
}

// add counts one answer's usage object: Chat Completions, Completions and
// embeddings (prompt_tokens, completion_tokens), the Responses API and
// Anthropic Messages (input_tokens, output_tokens).
func (u *batchUsage) add(usage gjson.Result) {
	first := func(paths ...string) int64 {
		for _, p := range paths {
			if v := usage.Get(p); v.Exists() {
				return v.Int()
			}
		}
		return 0
	}
	in := first("prompt_tokens", "input_tokens")
	out := first("completion_tokens", "output_tokens")
	u.InputTokens += in
	u.OutputTokens += out
	u.InputTokensDetails.CachedTokens += first("prompt_tokens_details.cached_tokens", "input_tokens_details.cached_tokens", "cache_read_input_tokens")
	u.OutputTokensDetails.ReasoningTokens += first("completion_tokens_details.reasoning_tokens", "output_tokens_details.reasoning_tokens")
	u.TotalTokens += in + out
}

// errorList is a failed batch's validation errors.
type errorList struct {
	Object string      `json:"object"`
	Data   []lineError `json:"data"`
}

type lineError struct {
	Code    string  `json:"code"`
	Message string  `json:"message"`
	Param   *string `json:"param"`
	Line    *int    `json:"line"`
}

// decode reads a stored batch.
func decode(b store.Batch) (*object, error) {
	o := &object{}
	if err := json.Unmarshal(b.Doc, o); err != nil {
		return nil, err
	}
	o.ID, o.Status, o.Object = b.ID, b.Status, "batch"
	return o, nil
}

// encode is o as the store keeps it.
func (o *object) encode(tenantID, keyID string, created time.Time) store.Batch {
	doc, _ := json.Marshal(o) // plain data: cannot fail
	return store.Batch{ID: o.ID, TenantID: tenantID, KeyID: keyID, Status: o.Status, Created: created, Doc: doc}
}

func unix(t time.Time) *int64 {
	v := t.Unix()
	return &v
}

// inputLine is one line of a batch's input file.
type inputLine struct {
	CustomID string          `json:"custom_id"`
	Method   string          `json:"method"`
	URL      string          `json:"url"`
	Body     json.RawMessage `json:"body"`
}

// outputLine is one line of a batch's output or error file.
type outputLine struct {
	ID       string          `json:"id"`
	CustomID string          `json:"custom_id"`
	Response *outputResponse `json:"response"`
	Error    *outputError    `json:"error"`
}

type outputResponse struct {
	StatusCode int             `json:"status_code"`
	RequestID  string          `json:"request_id"`
	Body       json.RawMessage `json:"body"`
}

type outputError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}
