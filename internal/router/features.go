package router

import (
	"net/http"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/router/rules"
	"github.com/switchyard-gw/switchyard/internal/tokens"
)

// Info is what the gateway knows about a request beyond its body: the
// authenticated caller and the HTTP headers.
type Info struct {
	Tier, TenantID, KeyID string
	Headers               http.Header
}

// Features are the request facts every policy uses; see rules.Features.
type Features = rules.Features

// HeaderTask names the request's task type (coding, analysis, ...).
const HeaderTask = "X-Switchyard-Task"

// FeaturesOf computes a request's features from its light fields, without
// decoding the body. counter may be nil (then input tokens are estimated
// from bytes, as tokens.Input does).
func FeaturesOf(req *llm.Request, info Info, counter *tokens.Counter) *Features {
	f := &Features{
		Model:     req.Model,
		MaxTokens: req.MaxTokens,
		Messages:  req.NumMessages,
		Images:    req.HasImages,
		Tools:     req.HasTools,
		JSONMode:  req.JSONMode,
		Stream:    req.Stream,
		System:    req.SystemText,
		LastUser:  req.LastUserText,
		Tenant:    info.TenantID,
		Key:       info.KeyID,
		Tier:      info.Tier,
		Headers:   info.Headers,
		Metadata:  req.Metadata,
	}
	if counter != nil {
		f.InputTokens = counter.Input(req)
	} else {
		f.InputTokens = tokens.Input(req)
	}
	if info.Headers != nil {
		f.Task = info.Headers.Get(HeaderTask)
	}
	if f.Task == "" {
		f.Task = req.Metadata["task"]
	}
	return f
}
