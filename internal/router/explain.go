package router

import (
	"context"
	"errors"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// Explain returns the decision for req as Plan would, without calling any
// model: a classify route uses a cached label if it has one and otherwise
// reports what the classifier would choose between and takes its default.
func (r *Router) Explain(ctx context.Context, req *llm.Request, info Info) (Decision, error) {
	f := FeaturesOf(req, info, r.opts.Tokens)
	return r.plan(ctx, f, Needs(req), true)
}

// Explanation is the JSON form of a decision, for POST /v1/route/explain and
// `switchyard route explain`. It holds no prompt text.
type Explanation struct {
	Route       string              `json:"route"`
	Policy      string              `json:"policy,omitempty"`
	Reason      string              `json:"reason,omitempty"`
	Deployments []string            `json:"deployments"`
	Skipped     []string            `json:"skipped,omitempty"`
	Arm         string              `json:"arm,omitempty"`
	Cascade     *CascadeExplanation `json:"cascade,omitempty"`
	Features    *FeatureExplanation `json:"features,omitempty"`
	Error       *ExplanationError   `json:"error,omitempty"`
}

// CascadeExplanation lists a cascade's stages and checks.
type CascadeExplanation struct {
	Stages []string `json:"stages"`
	Checks []string `json:"checks"`
}

// FeatureExplanation is the request features without any text.
type FeatureExplanation struct {
	InputTokens int    `json:"input_tokens"`
	MaxTokens   int    `json:"max_tokens"`
	Messages    int    `json:"messages"`
	Images      bool   `json:"images"`
	Tools       bool   `json:"tools"`
	JSONMode    bool   `json:"json_mode"`
	Stream      bool   `json:"stream"`
	Task        string `json:"task,omitempty"`
	Tier        string `json:"tier,omitempty"`
	Tenant      string `json:"tenant,omitempty"`
}

// ExplanationError says why no plan could be made: code is
// "model_not_found" or "no_capable_deployment".
type ExplanationError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Explain turns a decision and its error into its JSON form.
func (d Decision) Explain(err error) Explanation {
	ex := Explanation{Route: d.Route, Policy: d.Policy, Reason: d.Reason, Deployments: d.Deployments, Skipped: d.Skipped, Arm: d.Arm}
	if ex.Deployments == nil {
		ex.Deployments = []string{}
	}
	if c := d.Cascade; c != nil {
		ex.Cascade = &CascadeExplanation{Stages: c.Stages, Checks: c.Checks()}
	}
	if f := d.Features; f != nil {
		ex.Features = &FeatureExplanation{InputTokens: f.InputTokens, MaxTokens: f.MaxTokens, Messages: f.Messages,
			Images: f.Images, Tools: f.Tools, JSONMode: f.JSONMode, Stream: f.Stream, Task: f.Task, Tier: f.Tier, Tenant: f.Tenant}
	}
	if err != nil {
		var nc *NoCapableError
		switch {
		case errors.As(err, &nc) && nc.Window > 0:
			ex.Error = &ExplanationError{Code: "context_length_exceeded", Message: nc.WindowMessage()}
		case errors.As(err, &nc):
			ex.Error = &ExplanationError{Code: "no_capable_deployment", Message: err.Error()}
		case errors.Is(err, ErrUnknownModel):
			ex.Error = &ExplanationError{Code: "model_not_found", Message: err.Error()}
		default:
			ex.Error = &ExplanationError{Code: "internal_error", Message: err.Error()}
		}
	}
	return ex
}
