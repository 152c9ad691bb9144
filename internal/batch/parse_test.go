package batch

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

func TestParse(t *testing.T) {
	r := NewRunner(RunnerOptions{MaxRequests: 3})
	ok := `{"custom_id":"a","method":"POST","url":"/v1/embeddings","body":{"model":"m","input":"x"}}`
	tests := []struct {
		name, input string
		lines       int
		codes       []string // the problems' codes, in order
	}{
		{"one line, CRLF and blank lines", "\r\n" + ok + "\r\n\r\n", 1, nil},
		{"a leading UTF-8 byte order mark", "\xef\xbb\xbf" + ok + "\n", 1, nil},
		{"a byte order mark past the start", ok + "\n\xef\xbb\xbf" + strings.Replace(ok, `"a"`, `"b"`, 1), 1, []string{"invalid_json_line"}},
		{"empty", "\n \n", 0, []string{"empty_file"}},
		{"too many: the lines past the limit are not read", strings.Repeat(ok+"\n", 4), 3, []string{"duplicate_custom_id", "duplicate_custom_id", "too_many_requests"}},
		{"as many as the limit, blank lines between", ok + "\n\n" + strings.Replace(ok, `"a"`, `"b"`, 1) + "\n \n" + strings.Replace(ok, `"a"`, `"c"`, 1), 3, nil},
		{"not json", "{", 0, []string{"invalid_json_line"}},
		{"json but not an object", `[1]`, 0, []string{"invalid_json_line"}},
		{"not UTF-8", "{\"custom_id\":\"a\xff\",\"method\":\"POST\",\"url\":\"/v1/embeddings\",\"body\":{}}\n" +
			"{\"custom_id\":\"a\xfe\",\"method\":\"POST\",\"url\":\"/v1/embeddings\",\"body\":{}}", 0, []string{"invalid_json_line", "invalid_json_line"}},
		{"UTF-8 custom_ids", `{"custom_id":"aé","method":"POST","url":"/v1/embeddings","body":{}}` + "\n" +
			`{"custom_id":"a€","method":"POST","url":"/v1/embeddings","body":{}}`, 2, nil},
		{"no custom_id", `{"method":"POST","url":"/v1/embeddings","body":{}}`, 1, []string{"missing_required_parameter"}},
		{"GET", `{"custom_id":"a","method":"GET","url":"/v1/embeddings","body":{}}`, 1, []string{"invalid_method"}},
		{"other url", `{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{}}`, 1, []string{"mismatched_url"}},
		{"body not an object", `{"custom_id":"a","method":"POST","url":"/v1/embeddings","body":"hi"}`, 1, []string{"invalid_body"}},
		{"stream", `{"custom_id":"a","method":"POST","url":"/v1/embeddings","body":{"stream":true}}`, 1, []string{"invalid_body"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines, problems := r.parse([]byte(tt.input), "/v1/embeddings")
			var codes []string
			for _, p := range problems {
				codes = append(codes, p.Code)
			}
			if len(lines) != tt.lines || strings.Join(codes, ",") != strings.Join(tt.codes, ",") {
				t.Errorf("got %d lines and problems %v, want %d and %v", len(lines), codes, tt.lines, tt.codes)
			}
		})
	}
}

// allocated is how many bytes fn allocates.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestParseMemory: checking an input file costs memory in proportion to
// the requests it keeps, not to its lines: a file of millions of newlines
// made a slice of them all (24 bytes each: 0.5 GB for 20 MiB), and a file
// far past batch.max_requests was parsed to its end before it was refused.
func TestParseMemory(t *testing.T) {
	r := NewRunner(RunnerOptions{MaxRequests: 10})
	newlines := []byte(strings.Repeat("\n", 4<<20))
	var problems []lineError
	if n := allocated(func() { _, problems = r.parse(newlines, "/v1/embeddings") }); n > 64<<10 {
		t.Errorf("checking 4 MiB of newlines allocated %d bytes, want under 64 KiB", n)
	}
	if len(problems) != 1 || problems[0].Code != "empty_file" {
		t.Errorf("problems %+v, want empty_file", problems)
	}

	var many strings.Builder
	for i := range 100000 {
		fmt.Fprintf(&many, `{"custom_id":"r%d","method":"POST","url":"/v1/embeddings","body":{"model":"m","input":"x"}}`+"\n", i)
	}
	content := []byte(many.String())
	var lines []line
	if n := allocated(func() { lines, problems = r.parse(content, "/v1/embeddings") }); n > 256<<10 {
		t.Errorf("checking 100,000 requests with batch.max_requests 10 allocated %d bytes, want under 256 KiB", n)
	}
	if len(lines) != 10 || len(problems) != 1 || problems[0].Code != "too_many_requests" {
		t.Errorf("%d lines, problems %+v; want 10 and too_many_requests", len(lines), problems)
	}
}

// FuzzParse: any input file is either refused with problems or yields
// lines that are all servable: a unique custom_id, POST to the endpoint,
// an object body that does not stream.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":[]}}` + "\n"))
	f.Add([]byte("{\"custom_id\":\"\u0000\",\"method\":\"POST\"}\n\n{"))
	f.Add([]byte(`{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"stream":"yes"}}`))
	r := NewRunner(RunnerOptions{MaxRequests: 100})
	f.Fuzz(func(t *testing.T, content []byte) {
		lines, problems := r.parse(content, "/v1/chat/completions")
		if len(problems) > 0 {
			return
		}
		if len(lines) == 0 {
			t.Fatal("no lines and no problems")
		}
		seen := map[string]bool{}
		for _, l := range lines {
			if l.in.CustomID == "" || seen[l.in.CustomID] || l.in.Method != "POST" || l.in.URL != "/v1/chat/completions" ||
				!gjson.ParseBytes(l.in.Body).IsObject() || gjson.GetBytes(l.in.Body, "stream").Bool() {
				t.Fatalf("accepted an unservable line: %+v", l.in)
			}
			seen[l.in.CustomID] = true
		}
	})
}

func TestOwns(t *testing.T) {
	for path, want := range map[string]bool{
		"/v1/files": true, "/v1/files/file-1/content": true, "/files": true, "/v1/batches": true, "/batches/b/cancel": true,
		"/v1/messages/batches": true, "/v1/messages/batches/m/results": true,
		"/v1/messages": false, "/messages/batches": false, "/v1/messages/count_tokens": false, "/v1/chat/completions": false,
		"/v1/filesystem": false, "/v1/batchesx": false, "/": false, "/v1/messages/batchesx": false,
	} {
		if got := Owns(path); got != want {
			t.Errorf("Owns(%q) = %v, want %v", path, got, want)
		}
	}
}
