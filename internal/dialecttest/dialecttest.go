// Package dialecttest holds what the tests of the inbound dialects
// (openaiapi, anthropicapi) share: the checks both must pass (request
// parsing, answers, errors, raw stream frames), which each dialect's tests
// run with their own wire-format data, the provider streams both stream
// writers are fed, and benchmarks of the response writers. Only tests
// import it.
package dialecttest

import (
	"net/http"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// Dialect is the inbound dialect under test: its package's functions, with
// whatever a test needs to fix (clock, ids) already in place.
type Dialect struct {
	// Name is the dialect the package speaks: ParseChat stamps it on the
	// requests it returns, and WriteResponse passes answers in it through.
	Name llm.Dialect

	ParseChat func(body []byte) (*llm.Request, error)
	// BadRequest returns the param and message of err when it is the
	// package's *BadRequestError, and ok false otherwise.
	BadRequest func(err error) (param, message string, ok bool)
	// MinMaxTokens is the least MaxTokens of a request ParseChat accepts:
	// 1 where max_tokens is required, 0 where it is optional.
	MinMaxTokens int

	WriteResponse func(w http.ResponseWriter, resp *llm.Response) error
	KindStatus    func(k provider.Kind) (status int, code string)
	WriteErrorFor func(w http.ResponseWriter, err error)
	// DecodeError decodes an error response body with the dialect's
	// official SDK.
	DecodeError func(body []byte) error

	// NewStreamWriter returns the package's StreamWriter for req, fed with
	// events of a provider speaking src, with fixed ids and clock.
	NewStreamWriter func(w http.ResponseWriter, req *llm.Request, src llm.Dialect) StreamWriter
}

// StreamWriter is the part of a dialect's StreamWriter the shared checks
// use.
type StreamWriter interface {
	WriteEvent(ev llm.Event) error
	Finish() error
	WriteError(err error)
	Started() bool
	Usage() llm.Usage
	Model() string
}
