package gateway

import (
	"context"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/tokens"
)

// TestRealtimeOverlappingResponsesEstimated: the text a response passed
// on is counted for it alone, so when two run at once (an out-of-band
// response beside the default one) and the session is cut after the
// first's response.done, the second is billed for its text, estimated;
// a delta naming no response is the only open response's.
func TestRealtimeOverlappingResponsesEstimated(t *testing.T) {
	delta := func(id, text string) string {
		if id == "" {
			return `{"type":"response.output_text.delta","delta":"` + text + `"}`
		}
		return `{"type":"response.output_text.delta","response_id":"` + id + `","delta":"` + text + `"}`
	}
	text := strings.Repeat("x", 40)
	for _, tc := range []struct {
		name   string
		events []string
		want   int
	}{
		{"overlapping", append(append([]string{
			`{"type":"response.created","response":{"id":"resp_a"}}`,
			`{"type":"response.created","response":{"id":"resp_b"}}`,
			delta("resp_a", "abcd"),
		}, strings.Split(strings.Repeat(delta("resp_b", text)+"\n", 40), "\n")[:40]...),
			`{"type":"response.done","response":{"id":"resp_a","usage":{"input_tokens":10,"output_tokens":10}}}`,
		), 10 + tokens.FromBytes(40*40)},
		{"one, deltas without an id", []string{
			`{"type":"response.created","response":{"id":"resp_a"}}`,
			delta("", text),
			delta("", text),
		}, tokens.FromBytes(80)},
		{"one done, then another cut", []string{
			`{"type":"response.created","response":{"id":"resp_a"}}`,
			delta("resp_a", text),
			`{"type":"response.done","response":{"id":"resp_a","usage":{"input_tokens":10,"output_tokens":10}}}`,
			`{"type":"response.created","response":{"id":"resp_b"}}`,
			delta("resp_b", text),
		}, 10 + tokens.FromBytes(40)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &session{g: New(Options{}), x: &exchange{}, rt: &runtime{deployments: map[string]*deployment{}}, deployment: "rt"}
			for _, ev := range tc.events {
				if _, pass := s.observe(context.Background(), []byte(ev)); !pass {
					t.Fatalf("%s: not passed on", ev)
				}
			}
			s.unfinished("session_closed")
			if u := s.x.usage; u.OutputTokens != tc.want || !u.Estimated || !s.x.partial {
				t.Errorf("got output tokens %d (estimated %v, partial %v), want %d, estimated, partial", u.OutputTokens, u.Estimated, s.x.partial, tc.want)
			}
		})
	}
}
