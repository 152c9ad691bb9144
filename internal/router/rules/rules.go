// Package rules compiles and evaluates the CEL conditions of "rules" routes
// over a request's routing features. Config validation compiles every
// condition (so a bad expression is reported with its YAML path when the
// file loads) and the router compiles them again into programs it evaluates
// per request. It imports nothing of Switchyard's own so that config can use
// it.
package rules

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/interpreter"
)

// Features are the facts about one request that every routing policy can
// use; rules conditions see them as the CEL variables listed by Variables.
// They are computed once per request from the parsed request's light fields
// (see router.FeaturesOf), never from a second decode of the body.
type Features struct {
	// Model is the route or deployment the client named.
	Model string
	// InputTokens is the estimated input size (see package tokens).
	InputTokens int
	// MaxTokens is the requested output limit; 0 when unset.
	MaxTokens int
	// Messages is the number of messages.
	Messages int
	Images   bool // some message has an image part
	Tools    bool // the request offers tools
	JSONMode bool // JSON mode or a response_format schema
	Stream   bool
	// System and LastUser are the system prompt and the last user message.
	System   string
	LastUser string
	// Task is the x-switchyard-task header, else metadata "task".
	Task string
	// Tenant, Key and Tier identify the caller (from authentication).
	Tenant, Key, Tier string
	// Headers are the request's HTTP headers; Metadata its string metadata.
	Headers  http.Header
	Metadata map[string]string
}

// Variable is one CEL variable a condition may use.
type Variable struct{ Name, Type, Doc string }

// Variables lists the CEL variables and their types, for documentation and
// for the compiler's declarations.
func Variables() []Variable {
	return []Variable{
		{"model", "string", "the route or deployment the client named"},
		{"input_tokens", "int", "estimated input tokens"},
		{"max_tokens", "int", "requested output limit, 0 when unset"},
		{"messages", "int", "number of messages"},
		{"images", "bool", "some message has an image"},
		{"tools", "bool", "the request offers tools"},
		{"json_mode", "bool", "JSON mode or a response_format schema"},
		{"stream", "bool", "the client asked for a stream"},
		{"system", "string", "the system prompt"},
		{"prompt", "string", "the last user message"},
		{"task", "string", "x-switchyard-task header, else metadata.task"},
		{"tenant", "string", "the caller's tenant"},
		{"key", "string", "the caller's key id"},
		{"tier", "string", "the caller's key tier"},
		{"headers", "map(string, string)", "request headers, names in lower case"},
		{"metadata", "map(string, string)", "the request's string metadata"},
	}
}

// ResolveName implements CEL's activation: it returns the variable's value
// straight from the struct, building the headers map only when a condition
// reads it.
func (f *Features) ResolveName(name string) (any, bool) {
	switch name {
	case "model":
		return f.Model, true
	case "input_tokens":
		return int64(f.InputTokens), true
	case "max_tokens":
		return int64(f.MaxTokens), true
	case "messages":
		return int64(f.Messages), true
	case "images":
		return f.Images, true
	case "tools":
		return f.Tools, true
	case "json_mode":
		return f.JSONMode, true
	case "stream":
		return f.Stream, true
	case "system":
		return f.System, true
	case "prompt":
		return f.LastUser, true
	case "task":
		return f.Task, true
	case "tenant":
		return f.Tenant, true
	case "key":
		return f.Key, true
	case "tier":
		return f.Tier, true
	case "headers":
		m := make(map[string]string, len(f.Headers))
		for k, v := range f.Headers {
			if len(v) > 0 {
				m[strings.ToLower(k)] = v[0]
			}
		}
		return m, true
	case "metadata":
		if f.Metadata == nil {
			return map[string]string{}, true
		}
		return f.Metadata, true
	}
	return nil, false
}

// Parent implements CEL's activation; there is none.
func (f *Features) Parent() interpreter.Activation { return nil }

// Compiler type-checks conditions against the feature variables. Building
// one costs about a millisecond; reuse it for every condition of a config.
// Safe for concurrent use.
type Compiler struct {
	env *cel.Env
}

// NewCompiler returns a compiler whose environment declares Variables.
func NewCompiler() (*Compiler, error) {
	vars := Variables()
	opts := make([]cel.EnvOption, 0, len(vars))
	for _, v := range vars {
		var t *cel.Type
		switch v.Type {
		case "string":
			t = cel.StringType
		case "int":
			t = cel.IntType
		case "bool":
			t = cel.BoolType
		default:
			t = cel.MapType(cel.StringType, cel.StringType)
		}
		opts = append(opts, cel.Variable(v.Name, t))
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, fmt.Errorf("rules: cel environment: %w", err)
	}
	return &Compiler{env: env}, nil
}

// Condition is a compiled, type-checked boolean expression.
type Condition struct {
	src string
	prg cel.Program
}

// ErrNotBool is returned for an expression that is not of type bool.
var ErrNotBool = errors.New("rules: condition must be a bool expression")

// Compile parses and type-checks expr; the error says what is wrong and
// where in the expression.
func (c *Compiler) Compile(expr string) (*Condition, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, errors.New("rules: empty condition")
	}
	ast, iss := c.env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		msgs := make([]string, 0, len(iss.Errors()))
		for _, e := range iss.Errors() {
			msgs = append(msgs, fmt.Sprintf("column %d: %s", e.Location.Column()+1, e.Message))
		}
		return nil, fmt.Errorf("rules: %s", strings.Join(msgs, "; "))
	}
	if ast.OutputType() != cel.BoolType {
		return nil, fmt.Errorf("%w, got %s", ErrNotBool, ast.OutputType())
	}
	prg, err := c.env.Program(ast, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, fmt.Errorf("rules: program: %w", err)
	}
	return &Condition{src: expr, prg: prg}, nil
}

// String returns the source expression.
func (c *Condition) String() string { return c.src }

// Eval evaluates the condition over f. A runtime error (such as reading a
// metadata key that is absent) is returned and the condition counts as false.
func (c *Condition) Eval(f *Features) (bool, error) {
	out, _, err := c.prg.Eval(f)
	if err != nil {
		return false, fmt.Errorf("rules: %q: %w", c.src, err)
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("rules: %q: %w", c.src, ErrNotBool)
	}
	return b, nil
}
