package provider

import (
	"maps"
	"slices"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// ToolArgs tracks a stream's tool calls that have had no argument text
// yet, so that each ends with arguments that parse as JSON. Anthropic and
// Bedrock stream a call of a tool without parameters as an empty input,
// which OpenAI clients would get as arguments "", which their SDKs' tool
// helpers cannot parse. The zero value is ready to use.
type ToolArgs struct {
	pending map[int]pendingArgs // content block index → its call
}

type pendingArgs struct {
	ordinal int    // the call's index among the answer's tool calls
	args    string // what it ends with if no argument text comes
}

// Start notes the tool call that block idx starts, the ordinal-th of the
// answer; whole is its input when the start carries it whole (a non-empty
// JSON object), else "" for "{}".
func (t *ToolArgs) Start(idx, ordinal int, whole string) {
	if t.pending == nil {
		t.pending = map[int]pendingArgs{}
	}
	if whole == "" {
		whole = "{}"
	}
	t.pending[idx] = pendingArgs{ordinal: ordinal, args: whole}
}

// Saw notes an argument delta of block idx: one with text needs nothing
// more at the end.
func (t *ToolArgs) Saw(idx int, delta string) {
	if strings.TrimSpace(delta) != "" {
		delete(t.pending, idx)
	}
}

// Stop is the arguments delta that ends block idx when it had no argument
// text; ok is false otherwise.
func (t *ToolArgs) Stop(idx int) (d llm.ToolCallDelta, ok bool) {
	p, ok := t.pending[idx]
	if !ok {
		return llm.ToolCallDelta{}, false
	}
	delete(t.pending, idx)
	return llm.ToolCallDelta{Index: p.ordinal, Arguments: p.args}, true
}

// StopAll ends every block still waiting, in index order: for the end of
// an answer that left a tool block open.
func (t *ToolArgs) StopAll() []llm.ToolCallDelta {
	var out []llm.ToolCallDelta
	for _, idx := range slices.Sorted(maps.Keys(t.pending)) {
		d, _ := t.Stop(idx)
		out = append(out, d)
	}
	return out
}
