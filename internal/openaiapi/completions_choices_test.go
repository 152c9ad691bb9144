package openaiapi

import (
	"errors"
	"testing"
)

// TestCompletionsChoicesAndGenerations: a legacy Completions request's
// answer has n choices per prompt, made from best_of generations per
// prompt, which budgets reserve (Choices, Generations); n and best_of
// above OpenAI's bounds (128, 20) are a 400 naming them.
func TestCompletionsChoicesAndGenerations(t *testing.T) {
	for _, tt := range []struct {
		body                 string
		choices, generations int
	}{
		{`{"model":"m","prompt":"x"}`, 0, 0},
		{`{"model":"m","prompt":"x","n":1,"best_of":1}`, 0, 0},
		{`{"model":"m","prompt":"x","n":3}`, 3, 0},
		{`{"model":"m","prompt":"x","best_of":5}`, 0, 5},
		{`{"model":"m","prompt":"x","n":2,"best_of":5}`, 2, 5},
		{`{"model":"m","prompt":["a","b","c"],"n":2,"best_of":4}`, 6, 12},
		{`{"model":"m","prompt":[[1,2],[3]],"n":null}`, 2, 0},
		{`{"model":"m","prompt":[1,2,3],"n":4}`, 4, 0},
	} {
		req, err := ParseCompletions([]byte(tt.body))
		if err != nil {
			t.Fatalf("%s: %v", tt.body, err)
		}
		if req.Choices != tt.choices || req.Generations != tt.generations {
			t.Errorf("%s: choices %d generations %d, want %d and %d", tt.body, req.Choices, req.Generations, tt.choices, tt.generations)
		}
	}
	for _, tt := range []struct{ body, param string }{
		{`{"model":"m","prompt":"x","n":129}`, "n"},
		{`{"model":"m","prompt":"x","n":2147483647,"max_tokens":100000}`, "n"},
		{`{"model":"m","prompt":"x","n":0}`, "n"},
		{`{"model":"m","prompt":"x","n":"2"}`, "n"},
		{`{"model":"m","prompt":"x","best_of":21}`, "best_of"},
		{`{"model":"m","prompt":"x","best_of":1.5}`, "best_of"},
	} {
		_, err := ParseCompletions([]byte(tt.body))
		var bre *BadRequestError
		if !errors.As(err, &bre) || bre.Param != tt.param {
			t.Errorf("%s: got %v, want a 400 naming %s", tt.body, err, tt.param)
		}
	}
}
