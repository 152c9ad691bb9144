package openaiapi

import (
	"errors"
	"fmt"
	"testing"
)

// A reasoning effort a translation does not know is a 400 naming the
// param, as OpenAI answers, not a silent "no thinking"; every effort the
// SDKs offer decodes; and parsing alone (all a relay to an OpenAI
// deployment does) leaves the value to the upstream (found by audit A).
func TestTranslatedEffortIsChecked(t *testing.T) {
	for _, tc := range []struct {
		name, body, param string
	}{
		{"chat", `{"model":"m","reasoning_effort":%q,"messages":[{"role":"user","content":"x"}]}`, "reasoning_effort"},
		{"responses", `{"model":"m","reasoning":{"effort":%q},"input":"x"}`, "reasoning.effort"},
	} {
		parse := ParseChat
		if tc.name == "responses" {
			parse = ParseResponses
		}
		for _, effort := range []string{"none", "minimal", "low", "medium", "high", "xhigh", "max", "hgih", "HIGH"} {
			req, err := parse(fmt.Appendf(nil, tc.body, effort))
			if err != nil {
				t.Fatalf("%s %s: parse: %v", tc.name, effort, err)
			}
			b, err := req.Body()
			known := effort != "hgih" && effort != "HIGH"
			if known {
				if err != nil || b.ReasoningEffort != effort {
					t.Errorf("%s %s: Body() = %+v, %v", tc.name, effort, b, err)
				}
				continue
			}
			var bre *BadRequestError
			if !errors.As(err, &bre) || bre.Param != tc.param {
				t.Errorf("%s %s: Body() error %v, want a bad request naming %s", tc.name, effort, err, tc.param)
			}
		}
	}
}
