package rules

import (
	"net/http"
	"strings"
	"testing"
)

func TestCompileAndEval(t *testing.T) {
	c, err := NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	f := &Features{
		Model: "chat", InputTokens: 1200, Task: "coding", Tier: "pro", Images: true,
		Headers:  http.Header{"X-Team": {"search"}},
		Metadata: map[string]string{"user": "u1"},
	}
	tests := []struct {
		name string
		expr string
		want bool
	}{
		{"task", `task == "coding"`, true},
		{"band", `input_tokens < 2000 && input_tokens >= 500`, true},
		{"images", `images`, true},
		{"tier", `tier in ["basic", "free"]`, false},
		{"header", `headers["x-team"] == "search"`, true},
		{"metadata has", `has(metadata.user) && metadata.user == "u1"`, true},
		{"prompt", `prompt.contains("sql")`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cond, err := c.Compile(tt.expr)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			got, err := cond.Eval(f)
			if err != nil {
				t.Fatalf("eval: %v", err)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	c, err := NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, expr, want string
	}{
		{"syntax", `task ==`, "Syntax error"},
		{"unknown variable", `tsk == "coding"`, "undeclared reference to 'tsk'"},
		{"type", `input_tokens == "big"`, "no matching overload"},
		{"not bool", `input_tokens + 1`, "must be a bool expression"},
		{"empty", ` `, "empty condition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Compile(tt.expr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestEvalMissingKeyIsError(t *testing.T) {
	c, _ := NewCompiler()
	cond, err := c.Compile(`metadata.user == "u1"`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := cond.Eval(&Features{})
	if got || err == nil {
		t.Errorf("got %v, %v; want false and an error", got, err)
	}
}
