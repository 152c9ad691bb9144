package openai

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// passthroughStream is every kind of OpenAI chunk, with the spacing styles
// servers use.
const passthroughStream = `data: {"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null}

data: {"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":null,"reasoning_content":"Think"},"finish_reason":null}],"usage":null}

data: {"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"reasoning":" more"},"finish_reason":null}]}

data: {"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}],"usage":null}

data: {"id":"c1","choices":[{"index":0,"delta":{"content":" \"usage\": {} finish_reason"},"finish_reason": null}]}

data: {"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"t1","function":{"name":"f","arguments":"{}"}}]},"finish_reason":null}]}

data: {"id":"c1","choices":[{"index":0,"delta":{},"finish_reason": "stop"}],"usage":null}

data: {"id":"c1","choices":[],"usage": {"prompt_tokens":3,"completion_tokens":5}}

data: [DONE]

`

func decodeAll(t *testing.T, passthrough bool) []llm.Event {
	t.Helper()
	s := newStream(New(provider.Config{Model: "m"}), io.NopCloser(strings.NewReader(passthroughStream)), 0)
	if passthrough {
		s.SetPassthrough()
	}
	var evs []llm.Event
	for {
		ev, err := s.Next()
		if err == io.EOF {
			return evs
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		evs = append(evs, ev)
		if ev.Done {
			if _, err := s.Next(); err != io.EOF {
				t.Fatalf("after [DONE]: got %v, want io.EOF", err)
			}
			return evs
		}
	}
}

// TestPassthroughKeepsWhatRelaysNeed: in passthrough mode every event keeps
// its Raw frame, text, thinking, finish reason, usage and end; only ID, Model (after
// the first chunk) and tool calls of plain deltas may be left out.
func TestPassthroughKeepsWhatRelaysNeed(t *testing.T) {
	full := decodeAll(t, false)
	lite := decodeAll(t, true)
	if len(full) != len(lite) {
		t.Fatalf("events: got %d in passthrough, want %d", len(lite), len(full))
	}
	if full[1].Thinking == nil || full[1].Thinking.Text != "Think" || full[2].Thinking == nil || full[2].Thinking.Text != " more" {
		t.Errorf("reasoning deltas decoded as %+v, %+v", full[1].Thinking, full[2].Thinking)
	}
	for i := range full {
		f, l := full[i], lite[i]
		if !bytes.Equal(f.Raw, l.Raw) {
			t.Errorf("event %d: Raw differs", i)
		}
		type kept struct {
			Text     string
			Finish   llm.FinishReason
			Usage    *llm.Usage
			Done     bool
			Tools    int
			Thinking *llm.ThinkingDelta
		}
		if d := cmp.Diff(kept{f.Text, f.FinishReason, f.Usage, f.Done, len(f.ToolCalls), f.Thinking}, kept{l.Text, l.FinishReason, l.Usage, l.Done, len(l.ToolCalls), l.Thinking}); d != "" {
			t.Errorf("event %d (-full +passthrough):\n%s", i, d)
		}
	}
}

func TestPlainDelta(t *testing.T) {
	tests := []struct {
		name, data string
		want       bool
	}{
		{"content delta", `{"choices":[{"delta":{"content":"x"},"finish_reason":null}],"usage":null}`, true},
		{"spaced nulls", `{"choices":[{"delta":{"content":"x"},"finish_reason" : null}],"usage": null}`, true},
		{"no usage key", `{"choices":[{"delta":{"content":"x"},"finish_reason":null}]}`, true},
		{"no finish_reason key", `{"choices":[{"delta":{"content":"x"}}]}`, false},
		{"error with choices", `{"object":"error","message":"boom"}`, false},
		{"finish", `{"choices":[{"delta":{},"finish_reason":"stop"}]}`, false},
		{"usage", `{"choices":[],"usage":{"prompt_tokens":1}}`, false},
		{"tool call", `{"choices":[{"delta":{"tool_calls":[]},"finish_reason":null}]}`, false},
		{"error", `{"error":{"message":"x"}}`, false},
		{"usage as a value is unsure", `{"choices":[{"delta":{"content":"usage"},"finish_reason":null}]}`, false},
		// The first key found may not be the choice's own: a chunk with
		// another is decoded in full (found by audit T).
		{"nested finish_reason first", `{"x":{"finish_reason":null},"choices":[{"delta":{},"finish_reason":"stop"}]}`, false},
		{"duplicate finish_reason", `{"choices":[{"delta":{},"finish_reason":null,"finish_reason":"stop"}]}`, false},
		{"nested usage first", `{"x":{"usage":null},"choices":[{"delta":{"content":"x"},"finish_reason":null}],"usage":{"prompt_tokens":1}}`, false},
		{"finish_reason quoted in a string", `{"choices":[{"delta":{"content":"say \"finish_reason\""},"finish_reason":null}]}`, true},
		{"keys in sorted order (the simulator's)", `{"choices":[{"delta":{"content":"x"},"finish_reason":null,"index":0,"logprobs":null}],"created":1,"id":"c","model":"m","object":"chat.completion.chunk","usage":null}`, true},
		// A key's name quoted in a text is not the key: `"usage"` does not
		// occur in `\"usage\"`.
		{"usage quoted in a string after the key", `{"usage":null,"choices":[{"delta":{"content":"\"usage\""},"finish_reason":null}]}`, true},
		{"finish_reason quoted in a string after the key", `{"choices":[{"finish_reason":null,"delta":{"content":"\"finish_reason\""}}]}`, true},
		{"a text ending with a key's name after the key", `{"choices":[{"finish_reason":null,"delta":{"content":"\"finish_reason"}}]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := marksOf(tt.data)
			if got := at.plainDelta(tt.data); got != tt.want {
				t.Errorf("plainDelta(%s): got %v, want %v", tt.data, got, tt.want)
			}
			if got := plainDeltaByScans(tt.data); got != tt.want {
				t.Errorf("plainDeltaByScans(%s): got %v, want %v", tt.data, got, tt.want)
			}
		})
	}
}

// TestDeltaContent: the scan agrees with a full decode on every shape of
// plain delta, falling back to the decoder where it cannot be sure.
func TestDeltaContent(t *testing.T) {
	for _, data := range []string{
		`{"choices":[{"delta":{"content":"x"},"finish_reason":null}]}`,
		`{"choices":[{"delta":{"content" : "spaced"},"finish_reason":null}]}`,
		`{"choices":[{"delta":{"content":"esc \"q\" \\ \n"},"finish_reason":null}]}`,
		`{"choices":[{"delta":{"content":"\u00e9t\u00e9"},"finish_reason":null}]}`,
		`{"choices":[{"delta":{"role":"assistant","content":null},"finish_reason":null}]}`,
		`{"choices":[{"delta":{"role":"assistant"},"finish_reason":null}]}`,
		`{"choices":[{"delta":{"content":""},"finish_reason":null}]}`,
		`{"model":"content","choices":[{"delta":{"content":"after a value named content"},"finish_reason":null}]}`,
		`{"choices":[{"logprobs":{"content":[{"token":"a"}]},"delta":{"content":"a"},"finish_reason":null}]}`,
		`{"choices":[{"index":0,"delta":{"content":"first"},"finish_reason":null},{"index":1,"delta":{"content":"second"},"finish_reason":null}]}`,
	} {
		want := gjson.Get(data, "choices.0.delta.content").String()
		at := marksOf(data)
		if got := at.deltaContent(data); got != want {
			t.Errorf("deltaContent(%s) = %q, want %q", data, got, want)
		}
	}
}

// BenchmarkPlainDelta is the per-token cost of a relayed plain delta:
// the check that it is a JSON object, which notes where its keys are, then
// the plain-delta test and its text.
func BenchmarkPlainDelta(b *testing.B) {
	const chunk = `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"bench","choices":[{"index":0,"delta":{"content":" gamma"},"finish_reason":null}]}`
	for b.Loop() {
		var at keyMarks
		if !provider.ScanObject(chunk, chunkMarks, at[:]) || !at.plainDelta(chunk) || at.deltaContent(chunk) != " gamma" {
			b.Fatal("not a plain delta with its text")
		}
	}
}

// plainDeltaByScans is plainDelta as it was, with a scan of its own for
// each key (the marks are where these scans find the keys; see
// TestMarksAgreeWithScans).
func plainDeltaByScans(data string) bool {
	return isNullAt(data, keyIndex(data, `finish_reason"`), `finish_reason"`, false) &&
		isNullAt(data, keyIndex(data, `usage"`), `usage"`, true) && !strings.Contains(data, `tool_calls"`)
}

// isNullAt is keyMarks.isNull as it was, with a scan for a second key:
// whether key, first found at i in data as a quoted key (i is -1 when it
// does not occur), has the value null and does not occur again, or, when
// absentOK, whether key does not occur.
func isNullAt(data string, i int, key string, absentOK bool) bool {
	v, found := valueAt(data, i, key)
	if !found {
		return absentOK
	}
	return strings.HasPrefix(v, "null") && !strings.Contains(data[i+len(key):], `"`+key)
}

// keyIndex is the index in data of the first occurrence of key (given
// without its opening quote) that follows a quote, or -1.
func keyIndex(data, key string) int {
	for off := 0; ; {
		i := strings.Index(data[off:], key)
		if i < 0 {
			return -1
		}
		i += off
		if i > 0 && data[i-1] == '"' {
			return i
		}
		off = i + 1
	}
}

// marksByScans is where the scans of plainDeltaByScans find the marks.
func marksByScans(data string) [nMarks]int {
	return [nMarks]int{
		markFinish:    keyIndex(data, `finish_reason"`),
		markUsage:     keyIndex(data, `usage"`),
		markContent:   keyIndex(data, `content"`),
		markReasoning: keyIndex(data, `reasoning`),
		markToolCalls: strings.Index(data, `tool_calls"`),
	}
}

// TestMarksAgreeWithScans: in a JSON object, the marks ScanObject notes
// are where a scan for each key finds it.
func TestMarksAgreeWithScans(t *testing.T) {
	for _, data := range []string{
		`{"choices":[{"delta":{"content":"x"},"finish_reason":null}],"usage":null}`,
		`{"choices":[{"delta":{"content":"usage"},"finish_reason":null}]}`,
		`{"model":"content","choices":[{"delta":{"content":"a \"content\" b"},"finish_reason":null}]}`,
		`{"choices":[{"delta":{"reasoning_content":"r"},"finish_reason":null}]}`,
		`{"choices":[{"delta":{"reasoning":"r","content":""},"finish_reason":null}]}`,
		`{"a":"x\"usage\"","b":"\"finish_reason\"","c":"mytool_calls"}`,
		`{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"content\":1}"}}]},"finish_reason":null}]}`,
		`{"choices":[],"usage":{"prompt_tokens":1}}`,
		`{"error":{"message":"x"}}`,
	} {
		if got, want := marksOf(data), marksByScans(data); [nMarks]int(got[:nMarks]) != want {
			t.Errorf("%s: marks %v, scans find %v", data, got, want)
		}
	}
}

func FuzzMarks(f *testing.F) {
	f.Add(`{"choices":[{"delta":{"content":"x"},"finish_reason":null}],"usage":null}`)
	f.Add(`{"a":"x\"usage\"","b":"\"finish_reason\"","c":"mytool_calls"}`)
	f.Fuzz(func(t *testing.T, data string) {
		var at keyMarks
		if !provider.ScanObject(data, chunkMarks, at[:]) {
			return
		}
		if want := marksByScans(data); [nMarks]int(at[:nMarks]) != want {
			t.Fatalf("%s: marks %v, scans find %v", data, at, want)
		}
		if got, want := at.plainDelta(data), plainDeltaByScans(data); got != want {
			t.Fatalf("%s: plainDelta %v, by scans %v", data, got, want)
		}
	})
}
