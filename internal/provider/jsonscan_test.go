package provider

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// gjsonObject is what JSONObject was (gjson's verdict, within the nesting
// wirejson allows): ScanObject must agree with it on every input.
func gjsonObject(data string) bool {
	return wirejson.ValidString(data) && gjson.Parse(data).IsObject()
}

var scanCases = []string{
	``, ` `, `{}`, ` { } `, "\t{\n}\r\n", `[]`, `"x"`, `1`, `null`, `{`, `}`, `{}}`, `{} x`, `{}{}`,
	`{"a":1}`, `{"a":1,}`, `{"a" 1}`, `{"a":}`, `{a:1}`, `{"a":1 "b":2}`, `{"a":[1,2,3]}`, `{"a":[1,2,]}`,
	`{"a":[,]}`, `{"a":[ ]}`, `{"a":[[],{}]}`, `{"a":{"b":{"c":[true,false,null]}}}`, `{"a":tru}`, `{"a":nul}`,
	`{"a":falsey}`, `{"a":-}`, `{"a":-0}`, `{"a":01}`, `{"a":1.}`, `{"a":1.5e}`, `{"a":1.5e+}`, `{"a":1.5E-7}`,
	`{"a":-12.25e10}`, `{"a":.5}`, `{"a":+1}`, `{"a":1e5}`, `{"a":"\u00e9"}`, `{"a":"\u00g9"}`, `{"a":"\u00"}`,
	`{"a":"\x"}`, `{"a":"\"\\\/\b\f\n\r\t"}`, "{\"a\":\"\x01\"}", "{\"a\":\"\x7f\xff\xfe\"}", `{"a":"unterminated}`,
	`{"a":"12345678901234567890\"abcdefgh\\ijklmnop"}`, `{"a":"1234567\"`, `{"a":"abcdefg\`,
	`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"bench","choices":[{"index":0,"delta":{"content":" gamma"},"finish_reason":null}]}`,
}

func TestScanObjectAgreesWithGJSON(t *testing.T) {
	for _, c := range scanCases {
		if got, want := JSONObject(c), gjsonObject(c); got != want {
			t.Errorf("JSONObject(%q) = %v, gjson says %v", c, got, want)
		}
		// Every prefix too: a chunk cut anywhere.
		for i := range len(c) {
			if got, want := JSONObject(c[:i]), gjsonObject(c[:i]); got != want {
				t.Errorf("JSONObject(%q) = %v, gjson says %v", c[:i], got, want)
			}
		}
	}
}

var testMarks = NewMarks([]string{`finish_reason"`, `usage"`, `content"`, `reasoning`}, []string{`tool_calls`})

// checkMarks: for a JSON object, each mark is where strings.Index puts
// the text after a quote (or before one, for a closing mark), and its last
// occurrence where strings.LastIndex does; asked for first occurrences
// only, ScanObject gives the same ones.
func checkMarks(t *testing.T, data string) {
	t.Helper()
	var at [10]int
	if !ScanObject(data, testMarks, at[:]) {
		return
	}
	n := len(testMarks.quoted) + len(testMarks.closing)
	for k, q := range testMarks.quoted {
		first, last := -1, -1
		for off := 0; ; {
			i := strings.Index(data[off:], q)
			if i < 0 {
				break
			}
			if i += off; i > 0 && data[i-1] == '"' {
				if first < 0 {
					first = i
				}
				last = i
			}
			off = i + 1
		}
		if at[k] != first || at[n+k] != last {
			t.Errorf("%s: mark %q first at %d, last at %d, want %d, %d", data, q, at[k], at[n+k], first, last)
		}
	}
	for j, c := range testMarks.closing {
		k := len(testMarks.quoted) + j
		if first, last := strings.Index(data, c+`"`), strings.LastIndex(data, c+`"`); at[k] != first || at[n+k] != last {
			t.Errorf("%s: closing mark %q first at %d, last at %d, want %d, %d", data, c, at[k], at[n+k], first, last)
		}
	}
	var firsts [5]int
	if !ScanObject(data, testMarks, firsts[:]) || firsts != [5]int(at[:5]) {
		t.Errorf("%s: first marks alone %v, want %v", data, firsts, at[:5])
	}
}

// A chunk nested beyond wirejson.MaxDepth is refused, not recursed into
// until the stack overflows (found by audit T: one 7 MB upstream frame of
// '[' killed the process).
func TestScanObjectDepth(t *testing.T) {
	nest := func(n int) string { return `{"a":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}` }
	if !JSONObject(nest(wirejson.MaxDepth - 1)) {
		t.Error("an object nested to the limit: refused")
	}
	if JSONObject(nest(wirejson.MaxDepth)) {
		t.Error("an object nested beyond the limit: accepted")
	}
	if JSONObject(`{"a":` + strings.Repeat("[", 7<<20)) {
		t.Error("7 MB of '[': accepted")
	}
}

func TestScanObjectMarks(t *testing.T) {
	for _, c := range append(scanCases,
		`{"choices":[{"delta":{"content":"usage"},"finish_reason":null}]}`,
		`{"a":"x\"usage\" \"usage","usage":null}`,
		`{"a":"mytool_calls","tool_calls":[]}`,
		`{"reasoning_content":"r","content":"c","finish_reason":"stop"}`,
		`{"content":"\"content\""}`,
		`{"x":"finish_reason"}`,
		`{"a":{"finish_reason":null},"finish_reason":"stop","b":"tool_calls","tool_calls":[]}`,
		`{"usage":null,"x":"\"usage\"","usage":{"a":1}}`,
	) {
		checkMarks(t, c)
	}
}

func FuzzScanObject(f *testing.F) {
	for _, c := range scanCases {
		f.Add(c)
	}
	f.Add(`{"choices":[{"delta":{"tool_calls":[{"index":0}]},"finish_reason":null}],"usage":{"a":1}}`)
	f.Fuzz(func(t *testing.T, data string) {
		if got, want := JSONObject(data), gjsonObject(data); got != want {
			t.Fatalf("JSONObject(%q) = %v, gjson says %v", data, got, want)
		}
		checkMarks(t, data)
	})
}

func BenchmarkJSONObject(b *testing.B) {
	const chunk = `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"bench","choices":[{"index":0,"delta":{"content":" gamma"},"finish_reason":null}]}`
	b.Run("scan", func(b *testing.B) {
		for b.Loop() {
			if !JSONObject(chunk) {
				b.Fatal("not an object")
			}
		}
	})
	b.Run("gjson", func(b *testing.B) {
		for b.Loop() {
			if !gjsonObject(chunk) {
				b.Fatal("not an object")
			}
		}
	})
}
