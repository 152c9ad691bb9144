package provider

import (
	"fmt"
	"testing"
)

// chunk is an OpenAI chat chunk of the given delta and finish_reason.
func chunk(delta, finish string) string {
	return fmt.Sprintf(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"bench","choices":[{"index":0,"delta":%s,"finish_reason":%s}],"obfuscation":"x9"}`, delta, finish)
}

// chunkPairs are a kept chunk and the next one: each is checked against
// ScanObject, with and without marks.
var chunkPairs = []struct{ name, prev, next string }{
	{"same", chunk(`{"content":"a"}`, "null"), chunk(`{"content":"a"}`, "null")},
	{"text", chunk(`{"content":" alpha"}`, "null"), chunk(`{"content":" beta gamma delta"}`, "null")},
	{"shorter text", chunk(`{"content":" alpha beta"}`, "null"), chunk(`{"content":"a"}`, "null")},
	{"empty text", chunk(`{"content":"x"}`, "null"), chunk(`{"content":""}`, "null")},
	{"text and obfuscation", chunk(`{"content":"a"}`, "null"), `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"bench","choices":[{"index":0,"delta":{"content":"bcd"},"finish_reason":null}],"obfuscation":"longer one"}`},
	{"escapes", chunk(`{"content":"a"}`, "null"), chunk(`{"content":"\"q\" \\ \n \u00e9"}`, "null")},
	{"text is a mark", chunk(`{"content":"a"}`, "null"), chunk(`{"content":"usage"}`, "null")},
	{"text holds marks", chunk(`{"content":"a"}`, "null"), chunk(`{"content":"\"finish_reason\" \"usage\" my tool_calls"}`, "null")},
	{"text ends with a closing mark", chunk(`{"content":"a"}`, "null"), chunk(`{"content":"tool_calls"}`, "null")},
	{"kept text holds a mark", chunk(`{"content":"reasoning"}`, "null"), chunk(`{"content":"x"}`, "null")},
	{"kept text holds a mark, next too", chunk(`{"content":"\"usage\""}`, "null"), chunk(`{"content":"y \"usage\""}`, "null")},
	{"finish", chunk(`{"content":"a"}`, "null"), chunk(`{}`, `"stop"`)},
	{"role then text", chunk(`{"role":"assistant","content":""}`, "null"), chunk(`{"content":"a"}`, "null")},
	{"key renamed", chunk(`{"content":"a"}`, "null"), chunk(`{"contenu":"a"}`, "null")},
	{"key renamed to a mark", chunk(`{"refusal":"a"}`, "null"), chunk(`{"content":"a"}`, "null")},
	{"unterminated text", chunk(`{"content":"a"}`, "null"), `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"bench","choices":[{"index":0,"delta":{"content":"abc`},
	{"cut after text", chunk(`{"content":"a"}`, "null"), `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"bench","choices":[{"index":0,"delta":{"content":"abc"}`},
	{"bad escape", chunk(`{"content":"a"}`, "null"), chunk(`{"content":"\x"}`, "null")},
	{"control byte", chunk(`{"content":"a"}`, "null"), chunk("{\"content\":\"\x01\"}", "null")},
	{"quote closes early", chunk(`{"content":"a"}`, "null"), chunk(`{"content":"a"b"}`, "null")},
	{"trailing bytes", chunk(`{"content":"a"}`, "null"), chunk(`{"content":"a"}`, "null") + "x"},
	{"trailing space", chunk(`{"content":"a"}`, "null"), chunk(`{"content":"a"}`, "null") + " "},
	{"number changed", chunk(`{"content":"a"}`, "null"), `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000001,"model":"bench","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}],"obfuscation":"x9"}`},
	{"two texts before a mark", `{"a":"1","b":"2","content":"x"}`, `{"a":"111","b":"","content":"x"}`},
	{"a long text shrinks before a short one grows", `{"a":"123456789","b":"","content":"x"}`, `{"a":"","b":"1","content":"x"}`},
	{"a new last mark", chunk(`{"content":"a"}`, "null"), chunk(`{"content":"\"finish_reason\""}`, "null")},
	{"kept last mark in a new string", `{"usage":null,"x":"\"usage\""}`, `{"usage":null,"x":"y"}`},
	{"five strings differ", `{"a":"1","b":"2","c":"3","d":"4","e":"5"}`, `{"a":"6","b":"7","c":"8","d":"9","e":"0"}`},
	{"kept invalid", `{"a":"1"`, `{"a":"2"}`},
	{"empty", ``, `{}`},
	{"to empty", `{"a":"1"}`, ``},
	{"string to number", `{"a":"1"}`, `{"a":1}`},
	{"escaped quote at the difference", `{"a":"x\"y"}`, `{"a":"x\"z"}`},
	{"backslash before the difference", `{"a":"x\\y"}`, `{"a":"x\\"}`},
}

func TestChunkScanner(t *testing.T) {
	for _, tt := range chunkPairs {
		t.Run(tt.name, func(t *testing.T) {
			checkChunkScanner(t, tt.prev, tt.next)
		})
	}
}

// TestChunkScannerSkips checks that a stream's text chunks are checked
// against the kept one (no full scan), which is the point of it.
func TestChunkScannerSkips(t *testing.T) {
	var c ChunkScanner
	var at [5]int
	if !c.Scan(chunk(`{"content":"a"}`, "null"), testMarks, at[:]) || !c.keep {
		t.Fatal("first chunk: refused or not kept")
	}
	kept := c.prev
	for _, text := range []string{"b", " gamma", `\"q\"`, ""} {
		if !c.Scan(chunk(fmt.Sprintf(`{"content":"%s"}`, text), "null"), testMarks, at[:]) {
			t.Fatalf("text %q: refused", text)
		}
		if c.prev != kept {
			t.Errorf("text %q: scanned in full, want checked against the kept chunk", text)
		}
	}
}

// checkChunkScanner: after prev, next gets ScanObject's answer and marks,
// with marks and without; and again, against whichever chunk is kept.
func checkChunkScanner(t *testing.T, prev, next string) {
	t.Helper()
	for _, m := range []*Marks{testMarks, nil} {
		for _, n := range []int{10, 5} { // last occurrences too, or not
			var c ChunkScanner
			var got, want [10]int
			c.Scan(prev, m, got[:n])
			for range 2 {
				g := c.Scan(next, m, got[:n])
				w := ScanObject(next, m, want[:n])
				if g != w {
					t.Fatalf("after %q, Scan(%q) = %v, ScanObject says %v", prev, next, g, w)
				}
				if g && m != nil && got != want {
					t.Fatalf("after %q, Scan(%q) marks %v, ScanObject's %v", prev, next, got[:n], want[:n])
				}
			}
		}
	}
}

func FuzzChunkScanner(f *testing.F) {
	for _, tt := range chunkPairs {
		f.Add(tt.prev, tt.next)
	}
	f.Fuzz(func(t *testing.T, prev, next string) {
		checkChunkScanner(t, prev, next)
	})
}

func BenchmarkChunkScanner(b *testing.B) {
	texts := []string{" alpha", " beta", " gamma", " delta", " epsilon"}
	chunks := make([]string, len(texts))
	for i, s := range texts {
		chunks[i] = fmt.Sprintf(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"bench","choices":[{"index":0,"delta":{"content":%q},"finish_reason":null}]}`, s)
	}
	var at [5]int
	b.Run("scan", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			ScanObject(chunks[i%len(chunks)], testMarks, at[:])
		}
	})
	b.Run("against", func(b *testing.B) {
		var c ChunkScanner
		for i := 0; b.Loop(); i++ {
			c.Scan(chunks[i%len(chunks)], testMarks, at[:])
		}
	})
}
