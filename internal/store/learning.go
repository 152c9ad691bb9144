package store

import (
	"context"
	"time"
)

// LearningStore keeps what trains a learned router on a gateway's own
// traffic: the routing text of requests on routes that capture it, and
// the quality clients report for requests (feedback). Both are per
// tenant; an export joins them with the usage records.
type LearningStore interface {
	// PutPrompt keeps the routing text of request p.RequestID; a request
	// already kept is left as it is.
	PutPrompt(ctx context.Context, p CapturedPrompt) error
	// PutFeedback records the quality of request f.RequestID for tenant
	// f.TenantID; later feedback of the tenant for the same request
	// replaces earlier. A request another tenant has rated is ErrNotFound
	// (its rating stays).
	PutFeedback(ctx context.Context, f Feedback) error
	// TrainingExamples calls fn, in request-id order, for each request
	// with a captured prompt created at or after since, feedback and a
	// usage record, all of the same tenant. An error from fn stops it and
	// is returned.
	TrainingExamples(ctx context.Context, since time.Time, fn func(TrainingExample) error) error
	// DeleteLearningBefore deletes the captured prompts and feedback
	// created before before, and reports how many rows went.
	DeleteLearningBefore(ctx context.Context, before time.Time) (int64, error)
	// PurgeLearning deletes the captured prompts and feedback of tenant
	// tenantID (of every tenant for ""), and reports how many rows went.
	PurgeLearning(ctx context.Context, tenantID string) (int64, error)
}

// CapturedPrompt is the text a route's policy routed one request on (its
// last user message), kept for training.
type CapturedPrompt struct {
	RequestID string
	TenantID  string
	Route     string
	Text      string
	Created   time.Time
}

// Feedback is a client's judgement of one answer: Quality in [0,1].
type Feedback struct {
	RequestID string
	TenantID  string
	Quality   float64
	Created   time.Time
}

// TrainingExample is one request's captured prompt, its feedback, and
// from its usage record the deployment that answered and what it cost.
type TrainingExample struct {
	RequestID    string
	TenantID     string
	Route        string
	Text         string
	Deployment   string
	Quality      float64
	CostUSD      float64
	OutputTokens int
	Created      time.Time
}
